// Package web is the HTTP layer: the chi router with every route and its
// role in one place (routes.go), handlers for pages and the JSON API, templ
// components (web/views) and embedded static assets. Handlers parse and
// validate input, call internal/reports or internal/actions, and render;
// they hold no SQL and no business rule.
package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"mailnet/internal/actions"
	"mailnet/internal/ingest"
	"mailnet/internal/live"
	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"mailnet/internal/store"
	"mailnet/internal/tracking"
)

// Config is everything the web layer needs, wired by cmd/admin-web. Every
// dependency is required: New refuses a Config that lacks one rather than
// building a stand-in of its own.
type Config struct {
	Store   *store.Store
	Actions *actions.Actions
	Live    live.Publisher // where writes publish their frames (usually Hub teed with Ingest.Observe)
	Hub     *live.Hub      // fans live frames out to websocket clients
	Ingest  *ingest.Writer // the event writer behind POST /api/v1/events
	// Tracking is the message tracking store (internal/tracking); nil
	// builds the default, SQLite in Store's database (never closed: serve
	// passes its own and closes it).
	Tracking *tracking.SQLite
	// X400 is the console's X.400 check (reports.X400Cache), shared with
	// Tracking's evidence; nil builds one.
	X400     *reports.X400Cache
	Log      *slog.Logger
	Registry *prometheus.Registry // metrics, served at /metrics
	Now      func() time.Time

	// PublicURLs are the addresses (scheme://host[:port]) the console is
	// reached at. A request whose Host names none of them is refused with
	// 421 Misdirected Request, so a DNS-rebound name cannot reach it. The
	// loopback names (localhost, 127.0.0.1, [::1]; any port) are always
	// accepted: a rebinding page never sends them. When PublicURLs is
	// empty, only loopback names are accepted. Their origins are trusted
	// for cross-origin checks, as Origins are.
	PublicURLs []string
	// Origins are extra origins (scheme://host:port) allowed to open the
	// websocket and post forms, besides the console's own.
	Origins []string
	// TrustedProxies are the addresses (CIDR) whose X-Forwarded-For is
	// believed; anyone else's is ignored.
	TrustedProxies []string
	// MaxBody caps request bodies; 0 means DefaultMaxBody.
	MaxBody int64
	// BodyTimeout is how long a request body may take to arrive (0:
	// DefaultBodyTimeout); MaxBodies how many may be arriving at once (0:
	// DefaultMaxBodies). See web/bodylimit.go.
	BodyTimeout time.Duration
	MaxBodies   int

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

	// metricsHandler serves the registry (GET /metrics).
	metricsHandler http.Handler

	// roles records the role declared for every registered route, keyed
	// "METHOD /pattern" with the full pattern; the route table test walks
	// the router against it, and observe labels requests by its patterns.
	roles map[string]mailnet.Role
	// patterns is the set of registered route patterns: the only values
	// the route label of the request metrics takes, besides "unmatched".
	patterns map[string]bool

	auth *authState // sessions, throttles, proxies, cross-origin checks (web/auth.go)
	// hosts are the Host names (and ports) requests may carry (web/security.go).
	hosts []allowedHost

	ws wsPump // the websocket writer shards (web/ws.go)

	tracking *tracking.SQLite // message tracking (web/api_tracking.go)

	serverReports *reports.ServerReportCache    // encoded Global Server Reports by store version
	noc           *reports.NOCCache             // the NOC's costly tiles, shared by every screen
	duplicates    *reports.Memo[*duplicatesDoc] // the duplicate-serial detector, encoded and for the page, by inventory version
	x400          *reports.X400Cache            // the X.400 check, by inventory version and its events' marks

	bodies   *bodyLimiter           // request-body deadline and slots (web/bodylimit.go)
	overview *reports.OverviewCache // the overview's figures by store version (web/pages_overview.go)
	routing  *reports.RoutingCache  // the routing page's network-wide figures by audit head (web/pages_routing.go)
}

// New builds the server: its state (authentication, metrics, caches) and
// then its router. It returns an error naming the first missing
// dependency or bad setting.
func New(cfg Config) (*Server, error) {
	missing := func(name string) error { return fmt.Errorf("web: Config.%s is required", name) }
	switch {
	case cfg.Store == nil:
		return nil, missing("Store")
	case cfg.Actions == nil:
		return nil, missing("Actions")
	case cfg.Live == nil:
		return nil, missing("Live")
	case cfg.Hub == nil:
		return nil, missing("Hub")
	case cfg.Ingest == nil:
		return nil, missing("Ingest")
	case cfg.Log == nil:
		return nil, missing("Log")
	case cfg.Registry == nil:
		return nil, missing("Registry")
	case cfg.Now == nil:
		return nil, missing("Now")
	case cfg.MaxBody < 0:
		return nil, errors.New("web: Config.MaxBody must not be negative")
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	hosts, publicOrigins, err := parsePublicURLs(cfg.PublicURLs)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		store:    cfg.Store,
		actions:  cfg.Actions,
		log:      cfg.Log,
		reg:      cfg.Registry,
		now:      cfg.Now,
		roles:    map[string]mailnet.Role{},
		patterns: map[string]bool{},
		hosts:    hosts,
	}
	s.auth = newAuthState(cfg, cfg.Log)
	if s.tracking = cfg.Tracking; s.tracking == nil {
		s.tracking = tracking.NewSQLite(cfg.Store, tracking.Options{})
	}
	if err := s.trustOrigins(publicOrigins); err != nil {
		return nil, err
	}
	if s.metrics, err = newMetrics(cfg.Registry); err != nil {
		return nil, err
	}
	if err := cfg.Registry.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("web: register Go metrics: %w", err)
	}
	if err := cfg.Registry.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("web: register process metrics: %w", err)
	}
	s.registerLiveMetrics()
	s.metricsHandler = promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{Registry: cfg.Registry})
	s.serverReports = reports.NewServerReportCache(cfg.Store, 0, 0)
	s.noc = reports.NewNOCCache(cfg.Store, 0)
	s.duplicates = reports.NewInventoryMemo(cfg.Store, duplicatesBuild(cfg.Store))
	if s.x400 = cfg.X400; s.x400 == nil {
		s.x400 = reports.NewX400Cache(cfg.Store)
	}
	s.bodies = newBodyLimiter(cfg.BodyTimeout, cfg.MaxBodies)
	s.overview = reports.NewOverviewCache(cfg.Store, s.now, s.x400)
	s.routing = reports.NewRoutingCache(cfg.Store)
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP serves the console.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Roles returns the role declared for every route, keyed "METHOD /pattern".
func (s *Server) Roles() map[string]mailnet.Role { return s.roles }
