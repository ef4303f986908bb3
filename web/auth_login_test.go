package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailnet/internal/store"
	"mailnet/web"
)

func TestLoginPageHasStableHooks(t *testing.T) {
	e, _ := newAuthEnv(t, nil)
	status, body := e.browser().text("GET", "/login?next=/audit", nil)
	if status != 200 {
		t.Fatalf("GET /login: got %d, want 200", status)
	}
	for _, want := range []string{`<form id="login" method="post" action="/login"`, `name="name"`, `name="password"`, `type="submit"`, `name="next" value="/audit"`} {
		if !strings.Contains(body, want) {
			t.Errorf("login page lacks %s", want)
		}
	}
}

func TestLoginLogout(t *testing.T) {
	e, _ := newAuthEnv(t, nil)
	e.addAccount("alice", "admin", "correct horse battery")
	b := e.browser()
	for _, tc := range []struct{ name, pw string }{{"alice", "wrong password"}, {"nobody", "correct horse battery"}, {"", ""}} {
		status, body := b.text("POST", "/login", url.Values{"name": {tc.name}, "password": {tc.pw}})
		if status != http.StatusUnauthorized || !strings.Contains(body, "name or password is wrong") {
			t.Errorf("sign in as %q/%q: got %d, want 401 with the generic message", tc.name, tc.pw, status)
		}
	}
	if b.sessionCookie() != "" {
		t.Fatal("a failed sign-in set a session cookie")
	}

	res := b.do("POST", "/login", url.Values{"name": {"Alice"}, "password": {"correct horse battery"}, "next": {"/audit?actor=x"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/audit?actor=x" {
		t.Fatalf("sign in: got %d to %q, want 303 to /audit?actor=x", res.StatusCode, res.Header.Get("Location"))
	}
	raw := res.Header.Get("Set-Cookie")
	for _, want := range []string{"mailnet_session=", "Path=/", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(raw, want) {
			t.Errorf("Set-Cookie %q lacks %s", raw, want)
		}
	}
	if strings.Contains(raw, "Secure") || strings.Contains(raw, "__Host-") {
		t.Errorf("Set-Cookie %q over plain HTTP: want neither Secure nor __Host-", raw)
	}
	secret := b.sessionCookie()
	if n, _ := e.Store.CountSessions(context.Background(), 0); n != 1 {
		t.Fatalf("got %d session rows, want 1", n)
	}
	// The table holds the hash, not the cookie's secret.
	if _, err := e.session(secret); err != nil {
		t.Fatalf("session by cookie secret: %v", err)
	}

	if status, _ := b.text("GET", "/api/v1/audit", nil); status != 200 {
		t.Errorf("GET /api/v1/audit signed in: got %d, want 200", status)
	}
	res = b.do("POST", "/logout", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Errorf("sign out: got %d to %q, want 303 to /login", res.StatusCode, res.Header.Get("Location"))
	}
	if n, _ := e.Store.CountSessions(context.Background(), 0); n != 0 {
		t.Errorf("after sign-out: %d session rows, want 0", n)
	}
	// Even a browser that kept the old cookie is out.
	req, _ := http.NewRequest("GET", e.HTTP.URL+"/api/v1/audit", nil)
	req.AddCookie(&http.Cookie{Name: "mailnet_session", Value: secret})
	old, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	old.Body.Close()
	if old.StatusCode != http.StatusUnauthorized {
		t.Errorf("old cookie after sign-out: got %d, want 401", old.StatusCode)
	}
	got := e.auditActions(store.AuditFilter{})
	want := []string{"auth.logout", "auth.login", "auth.login_failed", "auth.login_failed", "auth.login_failed"}
	if strings.Join(got[:5], ",") != strings.Join(want, ",") {
		t.Errorf("audit %v, want %v first", got, want)
	}
}

func TestLoginNextOnlyLocal(t *testing.T) {
	e, _ := newAuthEnv(t, nil)
	e.addAccount("alice", "viewer", "correct horse battery")
	for _, tc := range []struct{ next, want string }{
		{"", "/"},
		{"/servers?site=x", "/servers?site=x"},
		{"//evil.example/x", "/"},
		{"/\\evil.example", "/"},
		{"https://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"servers", "/"},
		{"/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"},
		{"/\x00", "/"},
		{"/login", "/"},
	} {
		res := e.browser().do("POST", "/login", url.Values{"name": {"alice"}, "password": {"correct horse battery"}, "next": {tc.next}})
		if got := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || got != tc.want {
			t.Errorf("next %q: got %d to %q, want 303 to %q", tc.next, res.StatusCode, got, tc.want)
		}
	}
}

func TestLoginGivesNewSessionID(t *testing.T) {
	e, _ := newAuthEnv(t, nil)
	e.addAccount("alice", "admin", "correct horse battery")
	b := e.browser()
	b.login("alice", "correct horse battery")
	first := b.sessionCookie()
	b.login("alice", "correct horse battery")
	second := b.sessionCookie()
	if first == "" || first == second {
		t.Fatalf("cookie before %q and after a second sign-in %q: want two different ids", first, second)
	}
	if _, err := e.session(first); err == nil {
		t.Error("the session from before the second sign-in still exists; want it deleted")
	}
	if n, _ := e.Store.CountSessions(context.Background(), 0); n != 1 {
		t.Errorf("got %d sessions, want 1", n)
	}
}

func TestSessionTimeouts(t *testing.T) {
	e, clk := newAuthEnv(t, nil)
	e.addAccount("alice", "viewer", "correct horse battery")
	ok := func(b *browser) int { s, _ := b.text("GET", "/api/v1/audit", nil); return s }

	// Sliding idle timeout: activity every 20 minutes keeps it alive...
	b := e.browser()
	b.login("alice", "correct horse battery")
	for i := range 5 {
		clk.Add(20 * time.Minute)
		if got := ok(b); got != 200 {
			t.Fatalf("request %d, 20 min after the last: got %d, want 200", i, got)
		}
	}
	// ...and 31 quiet minutes end it.
	clk.Add(31 * time.Minute)
	if got := ok(b); got != 401 {
		t.Errorf("after 31 idle minutes: got %d, want 401", got)
	}

	// Absolute timeout: 12 h after sign-in, however busy.
	b = e.browser()
	b.login("alice", "correct horse battery")
	for range 12 * 3 {
		clk.Add(20 * time.Minute)
		ok(b)
	}
	if got := ok(b); got != 401 {
		t.Errorf("12 h after sign-in: got %d, want 401", got)
	}
}

func TestSessionLastSeenWrittenAtMostOncePerMinute(t *testing.T) {
	e, clk := newAuthEnv(t, nil)
	e.addAccount("alice", "viewer", "correct horse battery")
	b := e.browser()
	b.login("alice", "correct horse battery")
	secret := b.sessionCookie()
	seen := func() time.Time {
		s, err := e.session(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s.LastSeen
	}
	start := seen()
	clk.Add(30 * time.Second)
	b.text("GET", "/api/v1/audit", nil)
	if got := seen(); !got.Equal(start) {
		t.Errorf("30 s later: last_seen %v, want unchanged %v", got, start)
	}
	clk.Add(31 * time.Second)
	b.text("GET", "/api/v1/audit", nil)
	if got := seen(); !got.After(start) {
		t.Errorf("61 s later: last_seen %v, want moved past %v", got, start)
	}
}

func TestSecureCookieBehindTrustedProxy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		proxies []string
		want    string
		secure  bool
	}{
		{"trusted proxy says https", []string{"127.0.0.1/32"}, "__Host-mailnet_session=", true},
		{"untrusted X-Forwarded-Proto ignored", []string{"10.0.0.0/8"}, "mailnet_session=", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newAuthEnv(t, func(c *web.Config) { c.TrustedProxies = tc.proxies })
			e.addAccount("alice", "admin", "correct horse battery")
			res := e.browser().do("POST", "/login", url.Values{"name": {"alice"}, "password": {"correct horse battery"}}, "X-Forwarded-Proto", "https")
			raw := res.Header.Get("Set-Cookie")
			if !strings.HasPrefix(raw, tc.want) || strings.Contains(raw, "Secure") != tc.secure {
				t.Errorf("Set-Cookie %q: want %s, Secure=%v", raw, tc.want, tc.secure)
			}
		})
	}
}

func TestLoginThrottle(t *testing.T) {
	e, clk := newAuthEnv(t, nil)
	e.addAccount("alice", "admin", "correct horse battery")
	e.addAccount("bob", "admin", "correct horse battery")
	b := e.browser()
	for i := range 5 {
		if s, _ := b.text("POST", "/login", url.Values{"name": {"alice"}, "password": {"nope"}}); s != 401 {
			t.Fatalf("failure %d: got %d, want 401", i+1, s)
		}
	}
	s, body := b.text("POST", "/login", url.Values{"name": {"alice"}, "password": {"correct horse battery"}})
	if s != http.StatusTooManyRequests || !strings.Contains(body, "too many failed sign-ins") {
		t.Errorf("6th try with the right password: got %d, want 429", s)
	}
	if s, _ := b.text("POST", "/login", url.Values{"name": {"bob"}, "password": {"correct horse battery"}}); s != 303 {
		t.Errorf("bob from the same address: got %d, want 303", s)
	}
	clk.Add(15 * time.Minute)
	if s, _ := b.text("POST", "/login", url.Values{"name": {"alice"}, "password": {"correct horse battery"}}); s != 303 {
		t.Errorf("alice after the 15 min window: got %d, want 303", s)
	}

	// Per address: 20 failures over many names lock the address out.
	e2, _ := newAuthEnv(t, nil)
	e2.addAccount("carol", "admin", "correct horse battery")
	b2 := e2.browser()
	for i := range 20 {
		b2.text("POST", "/login", url.Values{"name": {"guess" + string(rune('a'+i))}, "password": {"x"}})
	}
	if s, _ := b2.text("POST", "/login", url.Values{"name": {"carol"}, "password": {"correct horse battery"}}); s != http.StatusTooManyRequests {
		t.Errorf("after 20 failures from one address: got %d, want 429", s)
	}
}

func TestLoginAuditNeverHoldsPassword(t *testing.T) {
	e, _ := newAuthEnv(t, nil)
	e.addAccount("alice", "admin", "correct horse battery")
	e.browser().text("POST", "/login", url.Values{"name": {"alice"}, "password": {"Secret-Typo-123"}})
	var got struct {
		Audit []struct {
			Actor, Action string
			After         map[string]string
			Detail        string
		}
	}
	e.json("GET", "/api/v1/audit?action=auth.login_failed", e.Admin, nil, 200, &got)
	if len(got.Audit) != 1 {
		t.Fatalf("got %d failure rows, want 1", len(got.Audit))
	}
	row := got.Audit[0]
	if row.After["name"] != "alice" || row.After["address"] != "127.0.0.1" {
		t.Errorf("failure row %+v: want the name tried and the client address", row)
	}
	raw, _ := json.Marshal(got)
	if strings.Contains(string(raw), "Secret-Typo-123") {
		t.Error("the audit log holds the password tried")
	}
}

func TestDisableAccountEndsSessions(t *testing.T) {
	e, _ := newAuthEnv(t, nil)
	e.addAccount("alice", "admin", "correct horse battery")
	e.addAccount("root", "admin", "correct horse battery") // the last admin cannot be disabled
	b := e.browser()
	b.login("alice", "correct horse battery")
	if _, err := e.acts().DisableAccount(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	if s, _ := b.text("GET", "/api/v1/audit", nil); s != 401 {
		t.Errorf("after disable: got %d, want 401", s)
	}
	if s, body := b.text("POST", "/login", url.Values{"name": {"alice"}, "password": {"correct horse battery"}}); s != 401 || !strings.Contains(body, "name or password is wrong") {
		t.Errorf("disabled account signing in: got %d, want 401 with the generic message", s)
	}
}

func TestPageRedirectsToLogin(t *testing.T) {
	e, _ := newAuthEnv(t, nil)
	res := e.browser().do("GET", "/audit?actor=alice", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next="+url.QueryEscape("/audit?actor=alice") {
		t.Errorf("GET /audit signed out: got %d to %q, want 303 to the login page with next", res.StatusCode, res.Header.Get("Location"))
	}
}
