// Package web is the HTTP layer: the chi router with every route and its
// role in one place (routes.go), handlers for pages and the JSON API, templ
// components (web/views) and embedded static assets. Handlers parse and
// validate input, call internal/reports or internal/actions, and render;
// they hold no SQL and no business rule.
package web

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mailnet/internal/actions"
	"mailnet/internal/ingest"
	"mailnet/internal/live"
	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"mailnet/internal/store"
)

// Config is everything the web layer needs, wired by cmd/admin-web.
type Config struct {
	Store    *store.Store
	Actions  *actions.Actions
	Live     live.Publisher
	Log      *slog.Logger
	Registry *prometheus.Registry // metrics; nil makes a fresh one
	Now      func() time.Time

	// Origins are extra origins (scheme://host:port) allowed to open the
	// websocket and post forms, besides the console's own.
	Origins []string
	// TrustedProxies are the addresses (CIDR) whose X-Forwarded-For is
	// believed; anyone else's is ignored.
	TrustedProxies []string
	// PublicURLs are the console's own addresses (scheme://host[:port]), from --public-url.
	PublicURLs []string
	// MaxBody caps request bodies; 0 means DefaultMaxBody.
	MaxBody int64

	// Hub fans live frames out to websocket clients; nil makes one (and
	// then Live, when nil, publishes to it).
	Hub *live.Hub
	// Ingest is the event writer; nil makes one over Store publishing to
	// Live (its goroutine lives as long as the process).
	Ingest *ingest.Writer
	// WS tunes the websocket stream; zero values take the defaults.
	WS WSOptions
}

// DefaultMaxBody is the largest request body accepted by default.
const DefaultMaxBody = 1 << 20

// Server is the console's HTTP layer.
type Server struct {
	cfg     Config
	store   *store.Store
	actions *actions.Actions
	log     *slog.Logger
	reg     *prometheus.Registry
	metrics *metrics
	now     func() time.Time
	handler http.Handler

	// roles records the role declared for every registered route, keyed
	// "METHOD /pattern"; the route table test walks the router against it.
	roles map[string]mailnet.Role

	auth *authState // sessions, throttles, proxies, cross-origin checks (web/auth.go)

	ws wsPump // the websocket writer shards (web/ws.go)

	serverReports *reports.ServerReportCache // encoded Global Server Reports by store version
}

// New builds the server and its router.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Now().UTC() }
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Hub == nil {
		cfg.Hub = live.NewHub()
		if cfg.Live == nil {
			cfg.Live = cfg.Hub
		}
	}
	if cfg.Live == nil {
		cfg.Live = live.Nop{}
	}
	if cfg.Ingest == nil && cfg.Store != nil {
		w := ingest.New(cfg.Store, cfg.Live, cfg.Log, ingest.Options{})
		cfg.Ingest = w
		cfg.Live = live.Tee(cfg.Live, live.PublisherFunc(w.Observe))
	}
	if cfg.Actions == nil {
		cfg.Actions = actions.New(cfg.Store, cfg.Live, cfg.Log)
	}
	s := &Server{
		cfg:     cfg,
		store:   cfg.Store,
		actions: cfg.Actions,
		log:     cfg.Log,
		reg:     cfg.Registry,
		now:     cfg.Now,
		roles:   map[string]mailnet.Role{},
	}
	s.metrics = newMetrics(cfg.Registry)
	if cfg.Store != nil {
		s.serverReports = reports.NewServerReportCache(cfg.Store, 0, 0)
	}
	s.handler = s.routes()
	return s
}

// ServeHTTP serves the console.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Roles returns the role declared for every route, keyed "METHOD /pattern".
func (s *Server) Roles() map[string]mailnet.Role { return s.roles }
