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

func TestNOCLogin(t *testing.T) {
	e, _ := newAuthEnv(t, nil)
	ctx := mailnet.WithPrincipal(context.Background(), &mailnet.Principal{Name: "test", Role: mailnet.RoleAdmin})
	wall, wallSecret, _ := e.Store.CreateToken(ctx, "wall", "viewer")

	for _, tc := range []struct {
		name, query string
		want        int
	}{
		{"no token", "", 400},
		{"unknown token", "?token=mna_nothing", 401},
		{"admin token", "?token=" + url.QueryEscape(e.Admin), 403},
		{"agent token", "?token=" + url.QueryEscape(e.Agent), 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser()
			res := b.do("GET", "/noc/login"+tc.query, nil, "Accept", "application/json")
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

	b := e.browser()
	res := b.do("GET", "/noc/login?token="+url.QueryEscape(wallSecret), nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/noc" {
		t.Fatalf("viewer token: got %d to %q, want 303 to /noc", res.StatusCode, res.Header.Get("Location"))
	}
	if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("headers %v: want no-store and no-referrer", res.Header)
	}
	if b.sessionCookie() == "" {
		t.Fatal("no session cookie after the device sign-in")
	}
	sess, err := e.Store.SessionBySecret(ctx, b.sessionCookie())
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
	if s, _ := e.browser().text("GET", "/noc/login?token="+url.QueryEscape(wallSecret), nil, "Accept", "application/json"); s != 401 {
		t.Errorf("revoked token at /noc/login: got %d, want 401", s)
	}
	got := strings.Join(e.auditActions(storeFilterToken(wall.ID)), ",")
	if got != "token.revoke,auth.device_login,token.create" {
		t.Errorf("audit of the wall token: %s", got)
	}
}
