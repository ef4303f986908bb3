package web_test

import (
	"regexp"
	"testing"
)

var backRE = regexp.MustCompile(`<a href="([^"]*)">← Back</a>`)

// TestErrorPageBackStaysInside: the error page's Back link is the page the
// browser came from only when that is a path of this console; any other
// Referer gives the Global Server Report.
func TestErrorPageBackStaysInside(t *testing.T) {
	e := newEnv(t)
	self := e.HTTP.URL
	for _, tc := range []struct{ referer, want string }{
		{"", "/servers"},
		{"https://evil.example/", "/servers"},
		{"https://evil.example/duplicates", "/servers"},
		{self + `/\evil.example`, "/servers"},
		{self + "//evil.example/x", "/servers"},
		{self + "/%5Cevil.example", "/servers"},
		{"javascript:alert(1)", "/servers"},
		{self + "/duplicates?site=2&q=x", "/duplicates?site=2&amp;q=x"},
		{self + "/login?next=/x", "/servers"},
	} {
		var hdr []string
		if tc.referer != "" {
			hdr = []string{"Referer", tc.referer}
		}
		res, body := send(t, e, "GET", "/servers/999999", e.Viewer, hdr...)
		if res.StatusCode != 404 {
			t.Fatalf("status %d, want 404", res.StatusCode)
		}
		m := backRE.FindSubmatch(body)
		if m == nil {
			t.Fatalf("no Back link in %s", body)
		}
		if got := string(m[1]); got != tc.want {
			t.Errorf("Referer %q: Back to %q, want %q", tc.referer, got, tc.want)
		}
	}
}
