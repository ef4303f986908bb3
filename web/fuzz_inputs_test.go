package web

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"mailnet/internal/mailnet"
)

// FuzzDecodeStrict: the strict JSON decoder never panics, and every error
// it returns is a domain error with a kind the web layer maps to 400 or
// 413 (never a bare error that would become a 500).
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{"name":"x","role":"agent"}`, `{"name":1}`, `{"nope":1}`, `{}`, `[]`, `{"name":"x"} {}`, ``, `{"name":"\ud800"}`, `nul`, `{"role":null}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var dst tokenRequest
		err := DecodeStrict(strings.NewReader(body), &dst)
		if err == nil {
			return
		}
		e, ok := mailnet.AsError(err)
		if !ok {
			t.Fatalf("DecodeStrict(%q) = %v, not a domain error", body, err)
		}
		if e.Kind != mailnet.KindMalformed && e.Kind != mailnet.KindTooLarge {
			t.Fatalf("DecodeStrict(%q): kind %d, want malformed or too large", body, e.Kind)
		}
		if e.Message == "" {
			t.Fatalf("DecodeStrict(%q): empty message", body)
		}
	})
}

// FuzzLoginForm: the sign-in form parser never panics, returns bounded
// UTF-8 fields or a domain error, and localPath only ever yields a path on
// this console.
func FuzzLoginForm(f *testing.F) {
	for _, s := range []string{"name=alice&password=secret&next=%2Faudit", "name=a&name=b", "password=%ff", "next=//evil", "%zz", "name=" + strings.Repeat("a", 300)} {
		f.Add(s, "application/x-www-form-urlencoded")
	}
	f.Add("name=a", "text/plain")
	f.Fuzz(func(t *testing.T, body, ct string) {
		form, err := parseLoginForm(ct, strings.NewReader(body))
		if err != nil {
			if _, ok := mailnet.AsError(err); !ok {
				t.Fatalf("parseLoginForm(%q) = %v, not a domain error", body, err)
			}
			return
		}
		if len(form.Name) > 256 || len(form.Password) > 1024 || !utf8.ValidString(form.Name) || !utf8.ValidString(form.Password) {
			t.Fatalf("parseLoginForm(%q) accepted unbounded or invalid fields", body)
		}
		next := localPath(form.Next)
		u, err := url.Parse(next)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
			t.Fatalf("localPath(%q) = %q, not a local path", form.Next, next)
		}
	})
}

// FuzzAuditFilter: the audit query parser never panics and refuses with a
// domain error naming a field.
func FuzzAuditFilter(f *testing.F) {
	for _, s := range []string{"actor=a&object_id=3&from=2026-01-01&to=2026-01-02T00:00:00Z&before=10&limit=5", "limit=501", "object_id=-1", "from=x", "actor=a&actor=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flt, err := parseAuditFilter(q)
		if err != nil {
			e, ok := mailnet.AsError(err)
			if !ok || e.Field == "" {
				t.Fatalf("parseAuditFilter(%q) = %v, want a domain error naming a field", raw, err)
			}
			return
		}
		if flt.Limit < 0 || flt.Limit > 500 || flt.ObjectID < 0 || flt.Before < 0 {
			t.Fatalf("parseAuditFilter(%q) = %+v out of bounds", raw, flt)
		}
	})
}
