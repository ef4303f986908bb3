package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"mailnet/internal/mailnet"
)

// routes lists every route of the console, grouped by area. Each area's
// function registers its routes with s.handle, which records the role the
// route requires; a route without a declared role cannot be registered,
// and the route table test fails if one slips past.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	r.Use(s.recoverer)
	r.Use(s.observe)
	r.Use(s.limitBodies) // body deadline and slots (web/bodylimit.go)
	r.Use(s.securityHeaders)
	r.Use(s.authenticate)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.error(w, r, mailnet.Errorf(mailnet.KindNotFound, "", "no such page: %s", r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "method " + r.Method + " not allowed here"})
	})

	s.opsRoutes(r)      // health, metrics, static assets
	s.authRoutes(r)     // sign-in, sign-out, NOC device sessions, tokens, accounts, audit
	s.inventoryAPI(r)   // sites, servers, users, messages, routes, connectors, requestors
	s.reportsAPI(r)     // the read models as JSON and CSV
	s.pageRoutes(r)     // server-rendered pages
	s.liveRoutes(r)     // event ingest and query, the websocket stream, the event log and NOC pages
	s.livePageRoutes(r) // the event log page and the NOC wall screen
	s.moveRoutes(r)     // move jobs, decommission, and their pages
	s.movePageRoutes(r) // pages of moves, jobs and decommission
	return r
}

// handle registers h for method and pattern behind a check that the
// principal's role allows role.
func (s *Server) handle(r chi.Router, role mailnet.Role, method, pattern string, h http.HandlerFunc) {
	key := method + " " + pattern
	if _, dup := s.roles[key]; dup {
		panic("route registered twice: " + key)
	}
	s.roles[key] = role
	r.With(s.require(role)).Method(method, pattern, h)
}
