package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"mailnet/internal/actions"
	"mailnet/internal/auth"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
	"mailnet/web"
)

// clock is a settable time shared by the store and the web layer.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newAuthEnv is newEnv with a configurable web.Config and a clock that the
// test moves.
func newAuthEnv(t testing.TB, mutate func(*web.Config)) (*env, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	e, _ := startEnv(t, envOptions{now: clk.Now, mutate: mutate})
	return e, clk
}

// cheap hashes keep sign-in tests fast; verification reads the
// parameters from the hash, so the login path is the production one.
var cheap = auth.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

var cheapHasher = sync.OnceValue(func() *auth.Hasher {
	h, err := auth.NewHasher(cheap, 4)
	if err != nil {
		panic(err)
	}
	return h
})

// acts is an Actions over e's store (its own login limiter), hashing
// new passwords cheaply, for fixtures.
func (e *env) acts() *actions.Actions {
	a := actions.New(e.Store, nil, nil)
	a.Passwords = cheapHasher()
	return a
}

// addAccount creates an account with password.
func (e *env) addAccount(name, role, password string) mailnet.Account {
	e.t.Helper()
	a, err := e.acts().CreateAccount(context.Background(), actions.AccountInput{Name: name, Role: mailnet.Role(role), Password: password})
	if err != nil {
		e.t.Fatalf("create account: %v", err)
	}
	return a
}

// session is the live session whose cookie secret is secret.
func (e *env) session(secret string) (mailnet.Session, error) {
	return e.Store.SessionByHash(context.Background(), auth.HashSecret(secret))
}

// browser is a client with a cookie jar that does not follow redirects
// (so tests see each 303) and sends what a same-origin browser form sends.
type browser struct {
	e      *env
	c      *http.Client
	header http.Header // added to every request
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, header: http.Header{}, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends a request; a url.Values body is sent as a form.
func (b *browser) do(method, path string, body any, hdr ...string) *http.Response {
	b.e.t.Helper()
	var rd io.Reader
	ct := ""
	switch v := body.(type) {
	case nil:
	case url.Values:
		rd, ct = strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
	case string:
		rd, ct = strings.NewReader(v), "application/json"
	}
	req, err := http.NewRequest(method, b.e.HTTP.URL+path, rd)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for k, vs := range b.header {
		req.Header[k] = vs
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	b.e.t.Cleanup(func() { res.Body.Close() })
	return res
}

// text sends like do and returns the status and body.
func (b *browser) text(method, path string, body any, hdr ...string) (int, string) {
	b.e.t.Helper()
	res := b.do(method, path, body, hdr...)
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}

// login signs in through the form, as a browser on this origin does, and
// fails the test unless it is redirected.
func (b *browser) login(name, password string) *http.Response {
	b.e.t.Helper()
	res := b.do("POST", "/login", url.Values{"name": {name}, "password": {password}}, "Sec-Fetch-Site", "same-origin", "Origin", b.e.HTTP.URL)
	if res.StatusCode != http.StatusSeeOther {
		out, _ := io.ReadAll(res.Body)
		b.e.t.Fatalf("sign in as %s: status %d, want 303; %s", name, res.StatusCode, out)
	}
	return res
}

// sessionCookie is the cookie the browser holds for the console, or "".
func (b *browser) sessionCookie() string {
	u, _ := url.Parse(b.e.HTTP.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if strings.HasSuffix(c.Name, "mailnet_session") {
			return c.Value
		}
	}
	return ""
}

// auditActions lists the audit log's actions, newest first.
func (e *env) auditActions(f store.AuditFilter) []string {
	e.t.Helper()
	p, err := e.Store.AuditLog(context.Background(), f)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, a := range p.Entries {
		out = append(out, a.Action)
	}
	return out
}

func storeFilterToken(id int64) store.AuditFilter {
	return store.AuditFilter{ObjectType: "token", ObjectID: id}
}

// readAll reads res's body.
func readAll(t testing.TB, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
