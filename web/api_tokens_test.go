package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailnet/internal/auth"
	"mailnet/internal/store"
)

func TestTokensAPI(t *testing.T) {
	e, clk := newAuthEnv(t, nil)
	var created struct {
		Token struct {
			ID         int64
			Name, Role string
			CreatedBy  string  `json:"created_by"`
			CreatedAt  string  `json:"created_at"`
			LastUsedAt *string `json:"last_used_at"`
			RevokedAt  *string `json:"revoked_at"`
		} `json:"token"`
		Secret string `json:"secret"`
	}
	e.json("POST", "/api/v1/tokens", e.Admin, map[string]string{"name": "ci", "role": "viewer"}, 201, &created)
	// The wire form is what it was when the store kept times as text:
	// fixed-width nanoseconds in UTC, unused times left out.
	if created.Token.CreatedAt != "2026-03-01T09:00:00.000000000Z" || created.Token.LastUsedAt != nil || created.Token.RevokedAt != nil {
		t.Errorf("token JSON %+v: want created_at 2026-03-01T09:00:00.000000000Z and no last_used_at or revoked_at", created.Token)
	}
	if len(created.Secret) < 43 || created.Token.Role != "viewer" || created.Token.CreatedBy != "token:admin-token" {
		t.Fatalf("created %+v: want a 256-bit secret, role viewer, made by the admin token", created)
	}
	// 43 base64url characters = 256 bits, after the mna_ prefix.
	if got := len(strings.TrimPrefix(created.Secret, auth.TokenPrefix)); got != 43 {
		t.Errorf("secret has %d random characters, want 43", got)
	}

	status, body := e.do("GET", "/api/v1/tokens", e.Admin, nil)
	if status != 200 || strings.Contains(string(body), created.Secret) || strings.Contains(string(body), "hash") {
		t.Errorf("list: got %d %s; want 200 without secrets or hashes", status, body)
	}
	for _, tc := range []struct {
		method, path, token string
		body                any
		want                int
	}{
		{"GET", "/api/v1/tokens", e.Viewer, nil, 403},
		{"GET", "/api/v1/tokens", e.Agent, nil, 403},
		{"POST", "/api/v1/tokens", e.Viewer, map[string]string{"name": "x", "role": "admin"}, 403},
		{"POST", "/api/v1/tokens", e.Agent, map[string]string{"name": "x", "role": "admin"}, 403},
		{"POST", "/api/v1/tokens", "", map[string]string{"name": "x", "role": "admin"}, 401},
		{"POST", "/api/v1/tokens", e.Admin, map[string]string{"name": "x", "role": "root"}, 422},
		{"POST", "/api/v1/tokens", e.Admin, map[string]string{"name": "", "role": "agent"}, 422},
		{"POST", "/api/v1/tokens", e.Admin, `{"name":"x","role":"agent","admin":true}`, 400},
		{"POST", "/api/v1/tokens", e.Admin, `{"name":7}`, 400},
		{"POST", "/api/v1/tokens", e.Admin, `{"name":"` + strings.Repeat("a", 2<<20) + `"}`, 413},
		{"POST", "/api/v1/tokens/999/revoke", e.Admin, nil, 404},
		{"POST", fmt.Sprintf("/api/v1/tokens/%d/revoke", created.Token.ID), e.Viewer, nil, 403},
	} {
		if got, out := e.do(tc.method, tc.path, tc.token, tc.body); got != tc.want {
			t.Errorf("%s %s: got %d, want %d; %.200s", tc.method, tc.path, got, tc.want, out)
		}
	}
	status, body = e.do("POST", "/api/v1/tokens", e.Admin, `{"name":"x","role":"agent","admin":true}`)
	if !strings.Contains(string(body), `"field":"admin"`) {
		t.Errorf("unknown field: got %d %s, want the field named", status, body)
	}

	// The new token works, records its use, and stops at revocation.
	e.json("GET", "/api/v1/audit", created.Secret, nil, 200, nil)
	tok, _ := e.Store.TokenByHash(context.Background(), auth.HashSecret(created.Secret))
	if tok.LastUsedAt.IsZero() {
		t.Error("last_used_at not recorded on first use")
	}
	clk.Add(10 * time.Second)
	e.json("GET", "/api/v1/audit", created.Secret, nil, 200, nil)
	again, _ := e.Store.TokenByHash(context.Background(), auth.HashSecret(created.Secret))
	if !again.LastUsedAt.Equal(tok.LastUsedAt) {
		t.Errorf("last_used_at rewritten 10 s later (%s -> %s); want at most once a minute", tok.LastUsedAt, again.LastUsedAt)
	}
	e.json("POST", fmt.Sprintf("/api/v1/tokens/%d/revoke", created.Token.ID), e.Admin, nil, 200, nil)
	if got, _ := e.do("GET", "/api/v1/audit", created.Secret, nil); got != 401 {
		t.Errorf("revoked token: got %d, want 401", got)
	}
	if got := e.auditActions(store.AuditFilter{ObjectType: "token", ObjectID: created.Token.ID}); strings.Join(got, ",") != "token.revoke,token.create" {
		t.Errorf("audit of the token: %v, want revoke then create", got)
	}
}

func TestBearerHeaderForms(t *testing.T) {
	e, _ := newAuthEnv(t, nil)
	for _, tc := range []struct {
		header string
		want   int
	}{
		{"Bearer " + e.Viewer, 200},
		{"bearer " + e.Viewer, 200},
		{"Basic dXNlcjpwYXNz", 401},
		{"Bearer", 401},
		{"Bearer " + e.Viewer + "x", 401},
	} {
		req, _ := http.NewRequest("GET", e.HTTP.URL+"/api/v1/audit", nil)
		req.Header.Set("Authorization", tc.header)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("Authorization %.20q: got %d, want %d", tc.header, res.StatusCode, tc.want)
		}
	}
}

func TestTokensPage(t *testing.T) {
	e, _ := newAuthEnv(t, nil)
	e.addAccount("alice", "admin", "correct horse battery")
	e.addAccount("vera", "viewer", "correct horse battery")
	b := e.browser()
	b.login("alice", "correct horse battery")
	same := []string{"Sec-Fetch-Site", "same-origin", "Origin", e.HTTP.URL}

	if s, body := b.text("GET", "/tokens", nil); s != 200 || !strings.Contains(body, `id="token-create"`) {
		t.Fatalf("GET /tokens: got %d, want 200 with the form", s)
	}
	s, body := b.text("POST", "/tokens", url.Values{"name": {"wall"}, "role": {"viewer"}}, same...)
	if s != http.StatusCreated || !strings.Contains(body, `id="token-secret"`) || !strings.Contains(body, auth.TokenPrefix) {
		t.Fatalf("POST /tokens: got %d, want 201 showing the secret once", s)
	}
	if s, body := b.text("GET", "/tokens", nil); strings.Contains(body, `id="token-secret"`) || s != 200 {
		t.Error("the secret is shown again on the list")
	}
	if s, body := b.text("POST", "/tokens", url.Values{"name": {""}, "role": {"viewer"}}, same...); s != 422 || !strings.Contains(body, `aria-invalid="true"`) {
		t.Errorf("POST /tokens without a name: got %d, want 422 with the field marked", s)
	}
	toks, _ := e.Store.Tokens(context.Background())
	res := b.do("POST", fmt.Sprintf("/tokens/%d/revoke", toks[0].ID), nil, same...)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/tokens" {
		t.Errorf("revoke: got %d to %q, want 303 to /tokens", res.StatusCode, res.Header.Get("Location"))
	}
	if toks, _ = e.Store.Tokens(context.Background()); !toks[0].Revoked() {
		t.Error("the token was not revoked")
	}

	v := e.browser()
	v.login("vera", "correct horse battery")
	if s, _ := v.text("GET", "/tokens", nil); s != 403 {
		t.Errorf("viewer GET /tokens: got %d, want 403", s)
	}
	if s, _ := v.text("POST", "/tokens", url.Values{"name": {"x"}, "role": {"admin"}}, same...); s != 403 {
		t.Errorf("viewer POST /tokens: got %d, want 403", s)
	}
}
