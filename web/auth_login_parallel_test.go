package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mailnet/internal/actions"
	"mailnet/internal/auth"
	"mailnet/internal/store"
	"mailnet/web"
)

// gatedHasher counts the passwords verified and holds each verification
// until release is closed, so a test can look at the sign-ins in flight.
type gatedHasher struct {
	inner    *auth.Hasher
	verified atomic.Int64
	entered  chan struct{}
	release  chan struct{}
}

func (g *gatedHasher) Hash(ctx context.Context, pw string) (string, error) {
	return g.inner.Hash(ctx, pw)
}

func (g *gatedHasher) Verify(ctx context.Context, pw, phc string) (bool, error) {
	g.verified.Add(1)
	g.entered <- struct{}{}
	<-g.release
	return g.inner.Verify(ctx, pw, phc)
}

// postLogin posts the sign-in form from client address addr (through the
// trusted proxy 127.0.0.1); safe to call from any goroutine.
func postLogin(base, name, password, addr string) (int, error) {
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(url.Values{"name": {name}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("X-Forwarded-For", addr)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

// Forty wrong passwords for one name at once: only as many as the limiter
// allows for one (name, address) pair are ever verified, the right
// password sent while they are in flight (or after) is refused without
// being checked, and the owner from another address still signs in.
func TestLoginHoldsUnderParallelGuesses(t *testing.T) {
	g := &gatedHasher{inner: cheapHasher(), entered: make(chan struct{}, 100), release: make(chan struct{})}
	e, _ := newAuthEnv(t, func(c *web.Config) {
		c.TrustedProxies = []string{"127.0.0.1/32"}
		c.Actions = actions.New(c.Store, nil, nil)
		c.Actions.Passwords = g
	})
	e.addAccount("alice", "admin", "correct horse battery")
	const guesses, allowed = 40, 5 // allowed: auth.DefaultLoginLimits.PairFree
	const attacker, owner = "203.0.113.7", "198.51.100.9"

	statuses := make(chan int, guesses)
	for i := range guesses {
		go func() {
			s, err := postLogin(e.HTTP.URL, "alice", "guess-"+string(rune('a'+i)), attacker)
			if err != nil {
				s = -1
			}
			statuses <- s
		}()
	}
	released := false
	release := func() {
		if !released {
			close(g.release)
			released = true
		}
	}
	defer release()
	entered, answered := 0, 0
	for entered < allowed || answered < guesses-allowed {
		select {
		case <-g.entered:
			if entered++; entered > allowed {
				release()
				t.Fatalf("%d guesses for one name reached the password hash at once, want at most %d", entered, allowed)
			}
		case s := <-statuses:
			answered++
			if s != http.StatusTooManyRequests {
				release()
				t.Fatalf("a guess beyond the %d in flight got %d, want 429 without a hash", allowed, s)
			}
		}
	}
	// The five are still being verified: the right password now is
	// refused, not checked.
	if s, err := postLogin(e.HTTP.URL, "alice", "correct horse battery", attacker); err != nil || s != http.StatusTooManyRequests {
		t.Errorf("right password while %d guesses are in flight: got %d %v, want 429", allowed, s, err)
	}
	release()
	for range allowed {
		if s := <-statuses; s != http.StatusUnauthorized {
			t.Errorf("a verified wrong guess: got %d, want 401", s)
		}
	}
	if s, err := postLogin(e.HTTP.URL, "alice", "correct horse battery", attacker); err != nil || s != http.StatusTooManyRequests {
		t.Errorf("right password from the guessing address after %d failures: got %d %v, want 429", allowed, s, err)
	}
	if n := g.verified.Load(); n != allowed {
		t.Errorf("%d passwords verified, want %d", n, allowed)
	}
	if s, err := postLogin(e.HTTP.URL, "alice", "correct horse battery", owner); err != nil || s != http.StatusSeeOther {
		t.Errorf("the owner from another address: got %d %v, want 303 (signed in)", s, err)
	}
	if got := len(e.auditActions(store.AuditFilter{Action: "auth.login_failed"})); got != allowed {
		t.Errorf("%d failed sign-ins audited, want %d", got, allowed)
	}
}

// Past the limit of sessions per account, a sign-in ends the least
// recently used session (and says so in its audit row) instead of being
// refused.
func TestSessionsPerAccountBounded(t *testing.T) {
	e, clk := newAuthEnv(t, nil)
	a := e.addAccount("alice", "viewer", "correct horse battery")
	var browsers []*browser
	for range actions.MaxAccountSessions {
		b := e.browser()
		b.login("alice", "correct horse battery")
		browsers = append(browsers, b)
		clk.Add(2 * time.Minute)
	}
	// The first browser is used again: the second is now the least
	// recently used.
	if s, _ := browsers[0].text("GET", "/api/v1/audit", nil); s != 200 {
		t.Fatalf("first browser: got %d, want 200", s)
	}
	last := e.browser()
	last.login("alice", "correct horse battery")
	if n, _ := e.Store.CountSessions(context.Background(), a.ID); n != actions.MaxAccountSessions {
		t.Errorf("got %d sessions after %d sign-ins, want the limit %d", n, actions.MaxAccountSessions+1, actions.MaxAccountSessions)
	}
	for i, b := range append(browsers, last) {
		s, _ := b.text("GET", "/api/v1/audit", nil)
		if want := map[bool]int{true: 401, false: 200}[i == 1]; s != want {
			t.Errorf("browser %d: got %d, want %d (only the least recently used one ended)", i, s, want)
		}
	}
	p, err := e.Store.AuditLog(context.Background(), store.AuditFilter{Action: "auth.login", Limit: 1})
	if err != nil || len(p.Entries) != 1 || !strings.Contains(p.Entries[0].Detail, "1 least recently used sessions ended") {
		t.Errorf("audit of the sign-in past the limit: %+v %v; want it to say one session ended", p.Entries, err)
	}
}
