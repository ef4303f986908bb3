package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mailnet/internal/actions"
	"mailnet/internal/ingest"
	"mailnet/internal/live"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
	"mailnet/web"
)

// env is a console behind httptest with one token per role.
type env struct {
	t      testing.TB
	Store  *store.Store
	Server *web.Server
	HTTP   *httptest.Server
	Admin  string // bearer token secrets
	Viewer string
	Agent  string
}

// newEnv starts the real router on a fresh SQLite file.
func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvAt(t, filepath.Join(t.TempDir(), "web.db"))
}

// newEnvAt starts the real router on the SQLite file at path.
func newEnvAt(t testing.TB, path string) *env {
	t.Helper()
	e, _ := startEnv(t, envOptions{path: path})
	return e
}

// envOptions tunes startEnv; the zero value is the plain environment.
type envOptions struct {
	path   string           // the SQLite file; one in t.TempDir() when empty
	now    func() time.Time // the store's and the server's clock; the real one when nil
	ingest ingest.Options   // the ingest writer's bounds
	mutate func(*web.Config)
}

// startEnv is the one test environment of the web package: the real
// router behind httptest over a SQLite file, every dependency wired as
// serve wires them (testConfig), and an admin, a viewer and an agent
// token. newEnv, newAuthEnv and newLiveEnv are its presets. It returns
// the configuration it built, whose hub and ingest writer tests may use.
func startEnv(t testing.TB, o envOptions) (*env, web.Config) {
	t.Helper()
	path := o.path
	if path == "" {
		path = filepath.Join(t.TempDir(), "web.db")
	}
	st, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if o.now != nil {
		st.Now = o.now
	}
	cfg := testConfigWith(t, st, o.ingest)
	if o.now != nil {
		cfg.Now = o.now
	}
	if o.mutate != nil {
		o.mutate(&cfg)
	}
	srv := newServer(t, cfg)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	e := &env{t: t, Store: st, Server: srv, HTTP: hs}
	ctx := mailnet.WithPrincipal(context.Background(), &mailnet.Principal{Name: "test", Role: mailnet.RoleAdmin})
	for role, dst := range map[string]*string{"admin": &e.Admin, "viewer": &e.Viewer, "agent": &e.Agent} {
		_, secret, err := actions.New(st, nil, nil).CreateToken(ctx, role+"-token", role)
		if err != nil {
			t.Fatalf("token: %v", err)
		}
		*dst = secret
	}
	return e, cfg
}

// testConfig wires every dependency web.New requires over st, as serve
// does: a hub, an ingest writer publishing to it, actions and writes
// publishing to both, a fresh registry, a discarding log and the clock.
// The hub and writer are closed when the test ends (before st, which the
// caller registered earlier).
func testConfig(t testing.TB, st *store.Store) web.Config {
	t.Helper()
	return testConfigWith(t, st, ingest.Options{})
}

// testConfigWith is testConfig with the ingest writer's bounds.
func testConfigWith(t testing.TB, st *store.Store, io ingest.Options) web.Config {
	t.Helper()
	hub := live.NewHub()
	w := ingest.New(st, hub, nil, io)
	t.Cleanup(func() { hub.Close(); w.Close() })
	pub := live.Tee(hub, live.PublisherFunc(w.Observe))
	log := slog.New(slog.DiscardHandler)
	return web.Config{
		Store:    st,
		Actions:  actions.New(st, pub, log),
		Live:     pub,
		Hub:      hub,
		Ingest:   w,
		Log:      log,
		Registry: prometheus.NewRegistry(),
		Now:      func() time.Time { return time.Now().UTC() },
	}
}

// newServer is web.New, failing the test on error.
func newServer(t testing.TB, cfg web.Config) *web.Server {
	t.Helper()
	srv, err := web.New(cfg)
	if err != nil {
		t.Fatalf("web.New: %v", err)
	}
	return srv
}

// do sends a request with the token (none if empty) and a JSON body (none
// if nil; a string or []byte is sent as is), and returns the status and
// body.
func (e *env) do(method, path, token string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.t.Fatalf("marshal: %v", err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, e.HTTP.URL+path, rd)
	if err != nil {
		e.t.Fatalf("request: %v", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.HTTP.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

// json sends like do, checks the status and decodes the body into dst
// (unless nil).
func (e *env) json(method, path, token string, body any, want int, dst any) {
	e.t.Helper()
	got, out := e.do(method, path, token, body)
	if got != want {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, got, want, out)
	}
	if dst != nil {
		if err := json.Unmarshal(out, dst); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, out, err)
		}
	}
}

func TestHealthz(t *testing.T) {
	e := newEnv(t)
	var body map[string]string
	e.json("GET", "/healthz", "", nil, 200, &body)
	if body["status"] != "ok" {
		t.Errorf("status %q, want ok", body["status"])
	}
}
