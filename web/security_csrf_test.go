package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"mailnet/web"
)

func TestCrossOriginFormPostRefused(t *testing.T) {
	e, _ := newAuthEnv(t, func(c *web.Config) { c.Origins = []string{"https://console.example"} })
	e.addAccount("alice", "admin", "correct horse battery")
	b := e.browser()
	b.login("alice", "correct horse battery")
	count := func() int { toks, _ := e.Store.Tokens(context.Background()); return len(toks) }
	before := count()

	form := url.Values{"name": {"evil"}, "role": {"admin"}}
	for _, tc := range []struct {
		name string
		hdr  []string
		want int
	}{
		{"cross-site form", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, 403},
		{"old browser, foreign Origin only", []string{"Origin", "https://evil.example"}, 403},
		{"same-site subdomain", []string{"Origin", "https://a.evil.example", "Sec-Fetch-Site", "same-site"}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s, _ := b.text("POST", "/tokens", form, tc.hdr...); s != tc.want {
				t.Errorf("got %d, want %d", s, tc.want)
			}
		})
	}
	if got := count(); got != before {
		t.Fatalf("refused requests changed state: %d tokens, want %d", got, before)
	}
	// Logout is a state change too.
	if s, _ := b.text("POST", "/logout", nil, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); s != 403 {
		t.Errorf("cross-site sign-out: got %d, want 403", s)
	}

	for _, tc := range []struct {
		name string
		hdr  []string
	}{
		{"same origin", []string{"Origin", e.HTTP.URL, "Sec-Fetch-Site", "same-origin"}},
		{"configured extra origin", []string{"Origin", "https://console.example", "Sec-Fetch-Site", "cross-site"}},
		{"curl with the cookie, no browser headers", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s, _ := b.text("POST", "/tokens", form, tc.hdr...); s != 201 {
				t.Errorf("got %d, want 201", s)
			}
		})
	}
}

func TestBearerRequestsNotSubjectToCSRF(t *testing.T) {
	e, _ := newAuthEnv(t, nil)
	// curl-style: no Origin, no Sec-Fetch-Site, no cookie.
	e.json("POST", "/api/v1/tokens", e.Admin, map[string]string{"name": "ci", "role": "agent"}, 201, nil)
}

func TestLoginCSRFRefused(t *testing.T) {
	e, _ := newAuthEnv(t, nil)
	e.addAccount("mallory", "viewer", "correct horse battery")
	b := e.browser()
	s, _ := b.text("POST", "/login", url.Values{"name": {"mallory"}, "password": {"correct horse battery"}}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if s != 403 || b.sessionCookie() != "" {
		t.Errorf("cross-site sign-in (login CSRF): got %d, cookie %q; want 403 and none", s, b.sessionCookie())
	}
}

func TestSecurityHeaders(t *testing.T) {
	e, _ := newAuthEnv(t, nil)
	e.addAccount("alice", "viewer", "correct horse battery")
	b := e.browser()
	b.login("alice", "correct horse battery")
	for _, path := range []string{"/login", "/audit", "/api/v1/audit", "/healthz"} {
		res := b.do("GET", path, nil)
		h := res.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
			t.Errorf("%s: nosniff %q, Referrer-Policy %q", path, h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"))
		}
		if path != "/healthz" && h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", path, h.Get("Cache-Control"))
		}
	}
}
