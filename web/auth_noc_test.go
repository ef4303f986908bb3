package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"mailnet/internal/mailnet"
)

// nocLogin posts the NOC sign-in form as the page's form does.
func (b *browser) nocLogin(token string, hdr ...string) *http.Response {
	b.e.t.Helper()
	h := append([]string{"Sec-Fetch-Site", "same-origin", "Origin", b.e.HTTP.URL}, hdr...)
	return b.do("POST", "/noc/login", url.Values{"token": {token}}, h...)
}

func TestNOCLogin(t *testing.T) {
	e, _ := newAuthEnv(t, nil)
	ctx := mailnet.WithPrincipal(context.Background(), &mailnet.Principal{Name: "test", Role: mailnet.RoleAdmin})
	wall, wallSecret, _ := e.acts().CreateToken(ctx, "wall", "viewer")

	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", 400},
		{"unknown token", "mna_nothing", 401},
		{"malformed token", "mna nothing", 401},
		{"admin token", e.Admin, 403},
		{"agent token", e.Agent, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser()
			res := b.nocLogin(tc.token, "Accept", "application/json")
			if res.StatusCode != tc.want {
				t.Errorf("got %d, want %d", res.StatusCode, tc.want)
			}
			if b.sessionCookie() != "" {
				t.Error("a refused token was turned into a cookie")
			}
		})
	}
	if n, _ := e.Store.CountSessions(ctx, 0); n != 0 {
		t.Fatalf("got %d sessions after refusals, want 0", n)
	}
	if s, _ := e.browser().text("POST", "/noc/login", url.Values{"token": {wallSecret}}, "Sec-Fetch-Site", "cross-site"); s != 403 {
		t.Errorf("cross-site post of a viewer token: got %d, want 403", s)
	}

	// The GET is a page: the token in a hidden field of a form that posts
	// it, and the static script that takes it out of the address bar.
	b := e.browser()
	res := b.do("GET", "/noc/login?token="+url.QueryEscape(wallSecret), nil)
	body := readAll(t, res)
	if res.StatusCode != 200 || !strings.Contains(body, `<form id="noc-login" method="post" action="/noc/login" data-autosubmit="true">`) ||
		!strings.Contains(body, `name="token" value="`+wallSecret+`"`) || !strings.Contains(body, `src="/static/noc-login.`) {
		t.Fatalf("GET /noc/login: got %d, want the page whose form posts the token; %s", res.StatusCode, body)
	}
	if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("headers %v: want no-store and no-referrer", res.Header)
	}
	if b.sessionCookie() != "" {
		t.Fatal("the GET set a session cookie")
	}
	res = b.nocLogin(wallSecret)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/noc" {
		t.Fatalf("viewer token: got %d to %q, want 303 to /noc", res.StatusCode, res.Header.Get("Location"))
	}
	if b.sessionCookie() == "" {
		t.Fatal("no session cookie after the device sign-in")
	}
	sess, err := e.session(b.sessionCookie())
	if err != nil || sess.TokenID != wall.ID || !sess.ExpiresAt.IsZero() || sess.Role != "viewer" {
		t.Fatalf("session %+v %v: want a viewer device session of the wall token with no end", sess, err)
	}
	same := []string{"Sec-Fetch-Site", "same-origin", "Origin", e.HTTP.URL}
	if s, _ := b.text("GET", "/api/v1/audit", nil); s != 200 {
		t.Errorf("NOC session reading: got %d, want 200", s)
	}
	if s, _ := b.text("POST", "/api/v1/tokens", `{"name":"x","role":"admin"}`, same...); s != 403 {
		t.Errorf("NOC session writing: got %d, want 403", s)
	}

	e.json("POST", fmt.Sprintf("/api/v1/tokens/%d/revoke", wall.ID), e.Admin, nil, 200, nil)
	if s, _ := b.text("GET", "/api/v1/audit", nil); s != 401 {
		t.Errorf("NOC session after its token is revoked: got %d, want 401", s)
	}
	if res := e.browser().nocLogin(wallSecret, "Accept", "application/json"); res.StatusCode != 401 {
		t.Errorf("revoked token at /noc/login: got %d, want 401", res.StatusCode)
	}
	got := strings.Join(e.auditActions(storeFilterToken(wall.ID)), ",")
	if got != "token.revoke,auth.device_login,token.create" {
		t.Errorf("audit of the wall token: %s", got)
	}
}

// A link to /noc/login opened by a signed-in admin must not end her
// session: the GET only shows a page, which asks before posting.
func TestNOCLoginGetKeepsTheCurrentSession(t *testing.T) {
	e, _ := newAuthEnv(t, nil)
	e.addAccount("alice", "admin", "correct horse battery")
	_, wallSecret, _ := e.acts().CreateToken(context.Background(), "wall", "viewer")
	b := e.browser()
	b.login("alice", "correct horse battery")
	adminCookie := b.sessionCookie()

	res := b.do("GET", "/noc/login?token="+url.QueryEscape(wallSecret), nil)
	body := readAll(t, res)
	if res.StatusCode != 200 || strings.Contains(body, "data-autosubmit") || !strings.Contains(body, `id="noc-login-warning"`) {
		t.Errorf("GET /noc/login signed in: got %d, want the page asking first (no autosubmit); %s", res.StatusCode, body)
	}
	if b.sessionCookie() != adminCookie {
		t.Fatal("the GET changed the browser's session cookie")
	}
	sess, err := e.session(adminCookie)
	if err != nil || sess.AccountID == 0 || sess.Role != mailnet.RoleAdmin {
		t.Fatalf("admin session after GET /noc/login: %+v %v; want it alive", sess, err)
	}
	if s, _ := b.text("GET", "/api/v1/tokens", nil); s != 200 {
		t.Errorf("admin reading tokens after GET /noc/login: got %d, want 200", s)
	}

	// Pressing the button is the exchange: the device session replaces it.
	if res := b.nocLogin(wallSecret); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /noc/login: got %d, want 303", res.StatusCode)
	}
	if _, err := e.session(adminCookie); err == nil {
		t.Error("the admin session survived the exchange; want it replaced by the device session")
	}
	if sess, err := e.session(b.sessionCookie()); err != nil || !sess.Device() {
		t.Errorf("after the POST: %+v %v, want a NOC device session", sess, err)
	}
}
