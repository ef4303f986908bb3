package web_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
	"mailnet/web"
)

// bodyEnv is the real router with short body bounds, and an agent token.
func bodyEnv(t *testing.T, timeout time.Duration, maxBodies int) (*web.Server, *httptest.Server, string) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "body.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := testConfig(t, st)
	cfg.BodyTimeout, cfg.MaxBodies = timeout, maxBodies
	srv := newServer(t, cfg)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	ctx := mailnet.WithPrincipal(context.Background(), &mailnet.Principal{Name: "test", Role: mailnet.RoleAdmin})
	_, agent, err := cfg.Actions.CreateToken(ctx, "agent", "agent")
	if err != nil {
		t.Fatal(err)
	}
	return srv, hs, agent
}

// slowPost opens a connection and sends a POST's headers and the first
// byte of a body it announces as 1,000 bytes, and no more.
func slowPost(t *testing.T, hs *httptest.Server, agent string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST /api/v1/events HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[",
		hs.Listener.Addr(), agent)
	return c
}

// TestSlowBodyIsCutOff: a client that sends one byte of its body and then
// nothing gets an answer (and its connection closed) once the configured
// body timeout passes; before, it held the connection indefinitely. The
// client's own read deadline only keeps a failure from hanging the test.
func TestSlowBodyIsCutOff(t *testing.T) {
	_, hs, agent := bodyEnv(t, 150*time.Millisecond, 0)
	c := slowPost(t, hs, agent)
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a body that stopped arriving: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "in time") {
		t.Errorf("status %d %s, want 400 saying the body did not arrive in time", res.StatusCode, body)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Errorf("connection still open after the refusal")
	}
}

// waitBodies spins (no sleep) until n bodies are in progress.
func waitBodies(t *testing.T, srv *web.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for srv.BodiesInProgress() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d bodies in progress, want %d", srv.BodiesInProgress(), n)
		}
		runtime.Gosched()
	}
}

// TestSlowBodiesAreBounded: with two bodies trickling in, a third request
// with a body is refused at once with 429 and Retry-After; requests
// without a body are not held up, and a freed slot is taken again.
func TestSlowBodiesAreBounded(t *testing.T) {
	srv, hs, agent := bodyEnv(t, time.Minute, 2)
	a := slowPost(t, hs, agent)
	slowPost(t, hs, agent)
	waitBodies(t, srv, 2)

	post := func() *http.Response {
		req, _ := http.NewRequest("POST", hs.URL+"/api/v1/events", strings.NewReader(`[]`))
		req.Header.Set("Authorization", "Bearer "+agent)
		res, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	if res := post(); res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Errorf("third body: status %d, Retry-After %q; want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	res, err := hs.Client().Get(hs.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET without a body while the slots are full: %d, want 200", res.StatusCode)
	}
	a.Close()
	waitBodies(t, srv, 1)
	if res := post(); res.StatusCode != http.StatusAccepted {
		t.Errorf("after a slot was freed: status %d, want 202", res.StatusCode)
	}
}
