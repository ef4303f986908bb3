package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"mailnet/web"
)

// TestHostCheckedAgainstPublicURLs: a request naming another host (a DNS
// rebinding page) gets 421; loopback names and the public URL's host pass.
func TestHostCheckedAgainstPublicURLs(t *testing.T) {
	local := newEnv(t) // no PublicURLs: loopback only
	public, _ := newAuthEnv(t, func(c *web.Config) {
		c.PublicURLs = []string{"https://console.example", "http://noc.example:8080/"}
	})
	for _, tc := range []struct {
		e          *env
		host, path string
		want       int
	}{
		{local, "evil.example", "/healthz", 421},
		{local, "evil.example", "/api/v1/servers", 421},
		{local, "evil.example:" + port(local), "/login", 421},
		{local, "console.example", "/healthz", 421},
		{local, "", "/healthz", 200}, // the URL's own 127.0.0.1:port
		{local, "localhost:" + port(local), "/healthz", 200},
		{local, "LOCALHOST.", "/healthz", 200},
		{local, "[::1]:9999", "/healthz", 200},
		{local, "127.0.0.1", "/healthz", 200},
		{public, "evil.example", "/healthz", 421},
		{public, "console.example", "/healthz", 200},
		{public, "Console.Example:443", "/healthz", 200},
		{public, "console.example:8443", "/healthz", 421},
		{public, "noc.example:8080", "/healthz", 200},
		{public, "noc.example:80", "/healthz", 421},
		{public, "console.example.evil.example", "/healthz", 421},
		{public, "localhost:1", "/healthz", 200},
	} {
		var hdr []string
		if tc.host != "" {
			hdr = []string{"Host", tc.host}
		}
		res, body := send(t, tc.e, "GET", tc.path, "", hdr...)
		if res.StatusCode != tc.want {
			t.Errorf("GET %s with Host %q: %d, want %d; %.200s", tc.path, tc.host, res.StatusCode, tc.want, body)
		}
		if tc.want == 421 {
			if strings.HasPrefix(tc.path, "/api/") && !strings.Contains(string(body), `"error":`) {
				t.Errorf("GET %s with Host %q: %s, want a JSON error", tc.path, tc.host, body)
			}
			if !strings.HasPrefix(tc.path, "/api/") && !strings.Contains(string(body), "421") {
				t.Errorf("GET %s with Host %q: want the error page", tc.path, tc.host)
			}
		}
	}
}

func port(e *env) string {
	u, _ := url.Parse(e.HTTP.URL)
	return u.Port()
}

func TestBadPublicURLRefused(t *testing.T) {
	e := newEnv(t)
	for _, bad := range []string{"console.example", "ftp://console.example", "https://console.example/admin", "https://user@console.example", "https://"} {
		cfg := testConfig(t, e.Store)
		cfg.PublicURLs = []string{bad}
		if _, err := web.New(cfg); err == nil || !strings.Contains(err.Error(), "PublicURLs") {
			t.Errorf("PublicURLs %q: %v, want an error naming PublicURLs", bad, err)
		}
	}
}

// TestPublicURLOriginTrusted: a form posted from the public URL's origin
// (the console behind a proxy that keeps the inner Host) passes the
// cross-origin check, and another origin still does not.
func TestPublicURLOriginTrusted(t *testing.T) {
	e, _ := newAuthEnv(t, func(c *web.Config) { c.PublicURLs = []string{"https://console.example"} })
	for _, tc := range []struct {
		origin string
		want   bool
	}{{"https://console.example", true}, {"https://evil.example", false}, {"http://console.example", false}} {
		res, _ := send(t, e, "POST", "/logout", "", "Origin", tc.origin, "Sec-Fetch-Site", "cross-site")
		if refused := res.StatusCode == http.StatusForbidden; refused == tc.want {
			t.Errorf("POST /logout from %s: %d, want allowed %v", tc.origin, res.StatusCode, tc.want)
		}
	}
}
