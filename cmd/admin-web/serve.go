package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mailnet/internal/actions"
	"mailnet/internal/store"
	"mailnet/web"
)

func cmdServe(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	db := dbFlag(fs, getenv)
	addr := fs.String("addr", fallback(getenv("MAILNET_ADDR"), "127.0.0.1:8080"), "listen address (env MAILNET_ADDR)")
	demo := fs.Bool("demo", getenv("MAILNET_DEMO") == "1", "seed an empty database with the demo network and run simulated agents (env MAILNET_DEMO=1)")
	origins := fs.String("origins", getenv("MAILNET_ORIGINS"), "extra allowed origins, comma-separated (env MAILNET_ORIGINS)")
	proxies := fs.String("trusted-proxies", getenv("MAILNET_TRUSTED_PROXIES"), "CIDRs whose X-Forwarded-For is trusted, comma-separated (env MAILNET_TRUSTED_PROXIES)")
	logFormat := fs.String("log", fallback(getenv("MAILNET_LOG"), "text"), "log format: text or json (env MAILNET_LOG)")
	liveCfg := liveFlags(fs, getenv)
	demoRate := demoRateFlag(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := newLogger(*logFormat, stderr)

	st, err := store.Open(ctx, *db, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	log.Info("database ready", "db", *db)

	lv, err := startLive(ctx, st, log, liveCfg)
	if err != nil {
		return err
	}
	defer lv.stop()
	acts := actions.New(st, lv.pub, log)
	stopJobs, err := startJobs(ctx, st, acts, log, getenv)
	if err != nil {
		return err
	}
	defer stopJobs()
	if *demo {
		if err := startDemo(ctx, st, acts, log, stdout); err != nil {
			return err
		}
		if err := ensureDemoAdmin(ctx, st, stdout); err != nil {
			return err
		}
		defer startAgents(ctx, st, lv, log, *demoRate)()
	}

	srv, err := web.New(web.Config{
		Store:          st,
		Actions:        acts,
		Live:           lv.pub,
		Hub:            lv.hub,
		Ingest:         lv.ingest,
		Log:            log,
		Registry:       prometheus.NewRegistry(),
		Now:            func() time.Time { return time.Now().UTC() },
		Origins:        splitList(*origins),
		TrustedProxies: splitList(*proxies),
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	url := "http://" + ln.Addr().String()
	log.Info("serving", "url", url)
	fmt.Fprintf(stdout, "Mailnet Admin is listening on %s\n", url)
	if err := noteSignIn(ctx, st, log, stdout, *db, url); err != nil {
		return err
	}

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func cmdMigrate(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr)
	db := dbFlag(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	applied, err := store.Migrate(ctx, *db)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "%s is up to date\n", *db)
		return nil
	}
	for _, a := range applied {
		fmt.Fprintf(stdout, "applied %s\n", a)
	}
	return nil
}
