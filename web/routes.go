package web

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"mailnet/internal/mailnet"
)

// Roles, short for the table below.
const (
	public = mailnet.RolePublic
	agent  = mailnet.RoleAgent
	viewer = mailnet.RoleViewer
	admin  = mailnet.RoleAdmin
)

// routes is the console's route table: every route, the role it requires
// and its handler, grouped by area. Registering a route has no side
// effect beyond the router: the state handlers share is built in New.
// Every GET route answers HEAD too, and a 405 says in Allow what the path
// does support.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	r.Use(s.recoverer)
	r.Use(s.observe)
	r.Use(s.limitBodies) // body deadline and slots (web/bodylimit.go)
	r.Use(s.securityHeaders)
	r.Use(s.checkHost)
	r.Use(compress())
	r.Use(s.authenticate)
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.methodNotAllowed)
	t := table{s: s, r: r}

	// Operations: health, metrics and the content-hashed static assets.
	t.group(func(t table) {
		t.get(public, "/healthz", s.healthz)
		t.get(public, "/metrics", s.serveMetrics)
		t.get(public, "/static/{name}", s.serveStatic)
	})

	// Sign-in and sign-out, and the NOC wall screen's device sign-in.
	t.group(func(t table) {
		t.get(public, "/login", s.loginPage)
		t.post(public, "/login", s.loginSubmit)
		t.get(public, "/logout", s.logoutPage)
		t.post(public, "/logout", s.logoutSubmit)
		t.get(public, "/noc/login", s.nocLoginPage)
		t.post(public, "/noc/login", s.nocLoginSubmit)
	})

	// Pages: the inventory and the read models.
	t.group(func(t table) {
		t.get(viewer, "/", s.pageOverview)
		t.get(viewer, "/servers", s.pageServers)
		t.get(viewer, "/servers/{id}", s.pageServer)
		t.get(viewer, "/duplicates", s.pageDuplicates)
		t.get(viewer, "/routing", s.pageRouting)
		t.get(viewer, "/x400", s.pageX400)
		t.get(viewer, "/dirsync", s.pageDirSync)
		t.get(viewer, "/dirsync/requestors/{id}", s.pageRequestor)
		t.get(viewer, "/dirsync/runbook", s.pageRunbook)
		t.get(viewer, "/dirsync/runs/{id}", s.pageRun)
		t.get(viewer, "/dirsync/runs/{id}/ticks", s.pageRunTicks)
		t.get(viewer, "/tracking", s.pageTracking)
		t.get(viewer, "/tracking/trace", s.pageTrackingTrace)
	})

	// Pages: the dir-sync forms post as admins.
	t.group(func(t table) {
		t.post(admin, "/dirsync/export", s.pageDirSyncExport)
		t.post(admin, "/dirsync/findings/{id}/acknowledge", s.pageDirSyncAck)
		t.post(admin, "/dirsync/dx/{id}", s.pageDirSyncDX)
		t.post(admin, "/dirsync/runs", s.pageRunStart)
		t.post(admin, "/dirsync/runbook/fix", s.pageRunbookFix)
		t.post(admin, "/dirsync/runs/{id}/finish", s.pageRunFinish)
	})

	// Pages: moves, jobs and decommission; the forms post as admins.
	t.group(func(t table) {
		t.get(viewer, "/duplicates/resolve", s.pageResolve)
		t.post(admin, "/duplicates/resolve", s.pageResolveStart)
		t.get(viewer, "/servers/{id}/move", s.pageMove)
		t.post(admin, "/servers/{id}/move", s.pageMoveStart)
		t.get(viewer, "/servers/{id}/decommission", s.pageDecommission)
		t.post(admin, "/servers/{id}/decommission", s.pageDecommissionDo)
		t.get(viewer, "/jobs", s.pageJobs)
		t.get(viewer, "/jobs/{id}", s.pageJob)
		t.post(admin, "/jobs/{id}/cancel", s.pageJobCancel)
		t.get(viewer, "/x400/fix/{id}", s.pageX400Fix)
		t.post(admin, "/x400/fix/{id}", s.pageX400FixApply)
		t.get(viewer, "/connectors/{id}", s.pageConnector)
		t.post(admin, "/connectors/{id}/poll", s.pageConnectorPoll)
		t.post(admin, "/connectors/{id}/logging", s.pageConnectorLogging)
		t.post(admin, "/connectors/{id}/transport", s.pageConnectorTransport) // Q256844
		t.post(admin, "/servers/{id}/mta", s.pageServerMTA)                   // Q169113, Q256844
	})

	// Pages: the event log, the NOC wall screen and the live stream.
	t.group(func(t table) {
		t.get(viewer, "/events", s.pageEvents)
		t.get(viewer, "/noc", s.pageNOC)
		t.get(viewer, "/noc/tiles", s.nocTiles)
		t.get(viewer, "/ws", s.serveWS)
	})

	// Pages: tokens and the audit log.
	t.group(func(t table) {
		t.get(admin, "/tokens", s.tokensPage)
		t.post(admin, "/tokens", s.tokensCreatePage)
		t.get(admin, "/tokens/{id}/revoke", s.tokensRevokeConfirmPage)
		t.post(admin, "/tokens/{id}/revoke", s.tokensRevokePage)
		t.get(viewer, "/audit", s.auditPage)
		t.get(admin, "/accounts", s.accountsPage)
		t.post(admin, "/accounts", s.accountsCreatePage)
		t.post(admin, "/accounts/{id}/{action}", s.accountsActionPage)
	})

	// The JSON API, described by its OpenAPI document.
	t.route("/api/v1", func(t table) {
		t.get(public, "/openapi.json", s.apiOpenAPI)

		// Inventory: reads for viewers, writes for admins.
		t.get(viewer, "/sites", s.apiSites)
		t.post(admin, "/sites", s.apiSiteCreate)

		t.get(viewer, "/servers", s.apiServers)
		t.post(admin, "/servers", s.apiServerCreate)
		t.get(viewer, "/servers/{id}", s.apiServer)
		t.patch(admin, "/servers/{id}", s.apiServerUpdate)
		t.delete(admin, "/servers/{id}", s.apiServerDelete)
		t.post(admin, "/servers/{id}/decommission", s.apiServerDecommission)

		t.get(viewer, "/users", s.apiUsers)
		t.post(admin, "/users", s.apiUserCreate)
		t.get(viewer, "/users/{id}", s.apiUser)
		t.get(viewer, "/users/{id}/messages", s.apiMessages)
		t.post(admin, "/users/{id}/messages", s.apiMessagesDeliver)

		t.get(viewer, "/routes", s.apiRoutes)
		t.post(admin, "/routes", s.apiRouteSet)

		t.get(viewer, "/connectors", s.apiConnectors)
		t.post(admin, "/connectors", s.apiConnectorCreate)
		t.get(viewer, "/connectors/{id}", s.apiConnector)
		t.patch(admin, "/connectors/{id}", s.apiConnectorUpdate)

		t.get(viewer, "/requestors", s.apiRequestors)
		t.post(admin, "/requestors", s.apiRequestorCreate)
		t.post(admin, "/requestors/export-on-next-cycle", s.apiExportOnNextCycle)
		t.patch(admin, "/requestors/{id}/facts", s.apiRequestorUpdate)
		t.get(viewer, "/requestors/{id}/history", s.apiRequestorHistory)
		t.get(viewer, "/dirsync/findings", s.apiDirSyncFindings)
		t.post(admin, "/dirsync/findings/{id}/acknowledge", s.apiDirSyncFindingAck)
		t.get(viewer, "/dirsync/changes", s.apiDirSyncChanges)
		t.get(viewer, "/dirsync/runs", s.apiDirSyncRuns)
		t.post(admin, "/dirsync/runs", s.apiDirSyncRunStart)
		t.get(viewer, "/dirsync/runs/{id}", s.apiDirSyncRun)
		t.post(admin, "/dirsync/runs/{id}/finish", s.apiDirSyncRunFinish)

		t.get(viewer, "/dx-servers", s.apiDXServers)
		t.put(admin, "/dx-servers/{server_id}", s.apiDXUpdate)
		t.patch(admin, "/dx-servers/{server_id}", s.apiDXUpdate)

		// Reports: the read models as JSON (the server report also as CSV).
		t.get(viewer, "/reports/servers", s.apiReportServers)
		t.get(viewer, "/reports/duplicate-serials", s.apiReportDuplicates)
		t.get(viewer, "/reports/x400", s.apiReportX400)
		t.get(viewer, "/reports/serials", s.apiReportSerials)
		t.get(viewer, "/reports/dirsync", s.apiReportDirSync)

		// Moves and their jobs.
		t.post(admin, "/moves", s.apiMoveCreate)
		t.get(viewer, "/jobs", s.apiJobList)
		t.get(viewer, "/jobs/{id}", s.apiJobGet)
		t.post(admin, "/jobs/{id}/cancel", s.apiJobCancel)

		// Events: agents post, viewers read.
		t.post(agent, "/events", s.postEvents)
		t.get(viewer, "/events", s.getEvents)

		// Message tracking: agents post records (or an Exchange log as
		// written), viewers search and trace; subjects need a grant.
		t.post(agent, "/tracking", s.postTracking)
		t.post(agent, "/tracking/exchange-log", s.postExchangeLog)
		t.get(viewer, "/tracking/exchange-log", s.getExchangeLogEvents)
		t.get(viewer, "/tracking", s.getTracking)
		t.get(viewer, "/tracking/export", s.getTrackingExport)
		t.get(viewer, "/tracking/{message_id}", s.getTrackingTrace)
		t.get(admin, "/tracking/subject-grants", s.getSubjectGrants)
		t.post(admin, "/tracking/subject-grants", s.postSubjectGrant)

		// Tokens and the audit log.
		t.get(admin, "/tokens", s.apiTokensList)
		t.post(admin, "/tokens", s.apiTokensCreate)
		t.post(admin, "/tokens/{id}/revoke", s.apiTokensRevoke)
		t.get(viewer, "/audit", s.apiAudit)
	})
	return r
}

// table registers routes on r under prefix, recording each route's role.
type table struct {
	s      *Server
	r      chi.Router
	prefix string
}

// group lists an area's routes on a group of the router.
func (t table) group(fn func(table)) {
	t.r.Group(func(r chi.Router) { fn(table{s: t.s, r: r, prefix: t.prefix}) })
}

// route lists an area's routes under a path prefix.
func (t table) route(prefix string, fn func(table)) {
	t.r.Route(prefix, func(r chi.Router) { fn(table{s: t.s, r: r, prefix: t.prefix + prefix}) })
}

// get registers h for GET and HEAD (net/http drops a HEAD response's body).
func (t table) get(role mailnet.Role, pattern string, h http.HandlerFunc) {
	t.handle(role, http.MethodGet, pattern, h)
	t.handle(role, http.MethodHead, pattern, h)
}

func (t table) post(role mailnet.Role, pattern string, h http.HandlerFunc) {
	t.handle(role, http.MethodPost, pattern, h)
}

func (t table) put(role mailnet.Role, pattern string, h http.HandlerFunc) {
	t.handle(role, http.MethodPut, pattern, h)
}

func (t table) patch(role mailnet.Role, pattern string, h http.HandlerFunc) {
	t.handle(role, http.MethodPatch, pattern, h)
}

func (t table) delete(role mailnet.Role, pattern string, h http.HandlerFunc) {
	t.handle(role, http.MethodDelete, pattern, h)
}

// handle registers h for method and pattern behind a check that the
// principal's role allows role.
func (t table) handle(role mailnet.Role, method, pattern string, h http.HandlerFunc) {
	full := t.prefix + pattern
	key := method + " " + full
	if _, dup := t.s.roles[key]; dup {
		panic("route registered twice: " + key)
	}
	t.s.roles[key] = role
	t.s.patterns[full] = true
	t.r.With(t.s.require(role)).Method(method, pattern, h)
}

// allowMethods are the methods a 405's Allow header may list.
var allowMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions}

// allowed lists the methods the router serves at path.
func (s *Server) allowed(path string) []string {
	rt, ok := s.handler.(chi.Routes)
	if !ok {
		return nil
	}
	var out []string
	for _, m := range allowMethods {
		if rt.Match(chi.NewRouteContext(), m, path) {
			out = append(out, m)
		}
	}
	return out
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.error(w, r, mailnet.Errorf(mailnet.KindNotFound, "", "no such page: %s", r.URL.Path))
}

// methodNotAllowed answers a method the path does not serve: 405 with the
// methods it does serve in Allow, or 404 when it serves none (an unknown
// method on an unknown path).
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	allow := s.allowed(r.URL.Path)
	if len(allow) == 0 {
		s.notFound(w, r)
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	m := "this method"
	if knownMethod(r.Method) != methodOther {
		m = r.Method
	}
	s.errorStatus(w, r, http.StatusMethodNotAllowed, m+" is not allowed here; use "+strings.Join(allow, ", "))
}
