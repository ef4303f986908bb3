package e2e

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mailnet/internal/actions"
	"mailnet/internal/demo"
	ingestpkg "mailnet/internal/ingest"
	"mailnet/internal/live"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
	"mailnet/web"
)

// console is the real console on a real SQLite file seeded with the demo
// network, with one administrator account.
type console struct {
	URL      string
	Store    *store.Store
	Name     string
	Password string
	HTTP     *httptest.Server
}

func startConsole(t *testing.T) *console {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "e2e.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := demo.Seed(ctx, st); err != nil {
		t.Fatalf("seed demo: %v", err)
	}
	c := &console{Store: st, Name: "alice", Password: "correct horse battery"}
	actx := mailnet.WithPrincipal(ctx, &mailnet.Principal{Name: "e2e", Role: mailnet.RoleAdmin})
	if _, err := actions.New(st, nil, nil).CreateAccount(actx, actions.AccountInput{Name: c.Name, Role: mailnet.RoleAdmin, Password: c.Password}); err != nil {
		t.Fatal(err)
	}
	hub := live.NewHub()
	t.Cleanup(hub.Close)
	acts := actions.New(st, hub, nil)
	runner := acts.NewRunner(actions.RunnerOptions{Workers: 2})
	runner.Start()
	t.Cleanup(runner.Stop)
	w := ingestpkg.New(st, hub, nil, ingestpkg.Options{})
	t.Cleanup(w.Close)
	srv, err := web.New(web.Config{Store: st, Actions: acts, Live: live.Tee(hub, live.PublisherFunc(w.Observe)), Hub: hub, Ingest: w,
		Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(), Now: func() time.Time { return time.Now().UTC() }})
	if err != nil {
		t.Fatal(err)
	}
	c.HTTP = httptest.NewServer(srv)
	t.Cleanup(c.HTTP.Close)
	c.URL = c.HTTP.URL
	return c
}
