package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mailnet/internal/actions"
	"mailnet/internal/auth"
	"mailnet/internal/reports"
	"mailnet/internal/store"
	"mailnet/web"
)

// serveConfig is everything serve is told, read once from its flags and
// their environment fallbacks and checked before anything starts.
type serveConfig struct {
	db             string
	addr           string
	demo           bool
	demoRate       float64
	origins        []string
	trustedProxies []string
	publicURLs     []string // empty: derived from the listen address
	logFormat      string
	live           liveConfig
	jobs           jobConfig
}

func parseServe(args []string, getenv env, stderr io.Writer) (serveConfig, error) {
	fs := newFlags("serve", stderr).withEnv(getenv)
	db := dbFlag(fs, getenv)
	addr := fs.str("addr", "MAILNET_ADDR", "127.0.0.1:8080", "listen address, HOST:PORT", listenAddr)
	publicURLs := fs.list("public-url", "MAILNET_PUBLIC_URL",
		"the addresses browsers use to reach the console, comma-separated http(s)://host[:port] (default: from --addr, such as http://127.0.0.1:8080)", webOrigin)
	demo := fs.boolean("demo", "MAILNET_DEMO", "seed an empty database with the demo network and run simulated agents")
	demoRate := fs.float("demo-rate", "MAILNET_DEMO_RATE", 5, 0, "events per second from the simulated agents of --demo; 0 turns them off")
	origins := fs.list("origins", "MAILNET_ORIGINS", "extra allowed origins, comma-separated scheme://host[:port]", webOrigin)
	proxies := fs.list("trusted-proxies", "MAILNET_TRUSTED_PROXIES", "addresses or CIDRs whose X-Forwarded-For is trusted, comma-separated", trustedProxy)
	logFormat := fs.str("log", "MAILNET_LOG", "text", "log format: text or json", oneOf("text", "json"))
	live := liveFlags(fs)
	jobs := jobFlags(fs)
	if err := fs.Parse(args); err != nil {
		return serveConfig{}, err
	}
	if fs.NArg() > 0 {
		return serveConfig{}, fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	cfg := serveConfig{
		db:             *db,
		addr:           *addr,
		demo:           *demo,
		demoRate:       *demoRate,
		origins:        *origins,
		trustedProxies: *proxies,
		logFormat:      *logFormat,
		live:           live.config(),
		jobs:           jobs.config(),
	}
	for _, u := range *publicURLs {
		cfg.publicURLs = append(cfg.publicURLs, normalURL(u))
	}
	return cfg, nil
}

func trustedProxy(s string) error {
	if _, err := auth.ParseProxies([]string{s}); err != nil {
		return errors.New("is not an address or CIDR")
	}
	return nil
}

// derivePublicURLs is the default of --public-url: the address the
// console listens on. One that listens on every interface is reached by
// a name only its operator knows, so it gets the loopback names and a
// warning.
func derivePublicURLs(ln net.Addr) (urls []string, wildcard bool) {
	host, port, err := net.SplitHostPort(ln.String())
	if err != nil {
		return []string{"http://" + ln.String()}, false
	}
	ip := net.ParseIP(host)
	if host == "" || (ip != nil && ip.IsUnspecified()) {
		return []string{"http://localhost:" + port, "http://127.0.0.1:" + port, "http://[::1]:" + port}, true
	}
	return []string{"http://" + net.JoinHostPort(host, port)}, false
}

// cmdServe runs the console. The order matters: the configuration is
// checked, the database locked and the port bound before anything is
// written or printed, so a second console or a busy port fails at once
// and changes nothing.
func cmdServe(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	cfg, err := parseServe(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg.logFormat, stderr)

	lock, err := lockDatabase(cfg.db, "serve")
	if err != nil {
		return err
	}
	defer lock.Release()

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	defer ln.Close()
	publicURLs := cfg.publicURLs
	if len(publicURLs) == 0 {
		var wildcard bool
		publicURLs, wildcard = derivePublicURLs(ln.Addr())
		if wildcard {
			log.Warn("listening on every interface: set --public-url to the address browsers use", "public_urls", publicURLs)
		}
	}

	st, err := store.Open(ctx, cfg.db, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	log.Info("database ready", "db", cfg.db)

	lv, err := startLive(ctx, st, log, cfg.live)
	if err != nil {
		return err
	}
	defer lv.stop()
	acts := actions.New(st, lv.pub, log)
	stopJobs, err := startJobs(ctx, st, acts, log, cfg.jobs)
	if err != nil {
		return err
	}
	defer stopJobs()
	if cfg.demo {
		if err := startDemo(ctx, st, acts, log, stdout); err != nil {
			return err
		}
		if err := ensureDemoAdmin(ctx, st, stdout); err != nil {
			return err
		}
		defer startAgents(ctx, st, lv, log, cfg.demoRate)()
	}

	// One X.400 check per console: the pages, the API, the overview and
	// the traces share it. Its first build reads the whole inventory
	// (about 130 ms at 10,000 servers); it is done now, so that no page
	// waits for it, and each one after reads only what changed.
	x400 := reports.NewX400Cache(st)
	go func() {
		if _, err := x400.Check(ctx); err != nil && ctx.Err() == nil {
			log.Warn("x400 check", "err", err)
		}
	}()
	tk, stopTracking := startTracking(ctx, st, x400, log, cfg.demo) // after the demo's seed: its traffic reads the inventory
	defer stopTracking()

	srv, err := web.New(web.Config{
		Store:          st,
		Actions:        acts,
		Live:           lv.pub,
		Hub:            lv.hub,
		Ingest:         lv.ingest,
		Tracking:       tk,
		X400:           x400,
		Log:            log,
		Registry:       prometheus.NewRegistry(),
		Now:            func() time.Time { return time.Now().UTC() },
		Origins:        cfg.origins,
		TrustedProxies: cfg.trustedProxies,
		PublicURLs:     publicURLs,
		BodyTimeout:    cfg.live.bodyWait,
		MaxBodies:      cfg.live.maxBodies,
	})
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	url := "http://" + ln.Addr().String()
	log.Info("serving", "url", url, "public_urls", publicURLs)
	fmt.Fprintf(stdout, "Mailnet Admin is listening on %s\n", url)
	if err := noteSignIn(ctx, st, log, stdout, cfg.db, publicURLs[0]); err != nil {
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

func cmdMigrate(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr)
	db := dbFlag(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("migrate: unexpected argument %q", fs.Arg(0))
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
