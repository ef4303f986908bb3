package web_test

import (
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"mailnet/internal/mailnet"
	"mailnet/web"
)

// route is one registered route and the role it declared.
type route struct {
	method, pattern string
	role            mailnet.Role
}

// walkRoutes lists every route the router serves with its declared role,
// failing the test for a route that declared none (registered around
// s.handle) and for a declared role whose route the router lacks.
func walkRoutes(t *testing.T, e *env) []route {
	t.Helper()
	roles := e.Server.Roles()
	used := map[string]bool{}
	var out []route
	err := chi.Walk(e.Server.Router(), func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		key, ok := roleKey(roles, method, pattern)
		if !ok {
			t.Errorf("route %s %s declares no role: register it with s.handle", method, pattern)
			return nil
		}
		used[key] = true
		out = append(out, route{method, pattern, roles[key]})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for key := range roles {
		if !used[key] {
			t.Errorf("role declared for %s, but the router has no such route", key)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pattern+out[i].method < out[j].pattern+out[j].method })
	return out
}

// roleKey finds the roles entry of a walked route: the table records
// each route under its full pattern, prefix included.
func roleKey(roles map[string]mailnet.Role, method, pattern string) (string, bool) {
	_, ok := roles[method+" "+pattern]
	return method + " " + pattern, ok
}

func TestEveryRouteDeclaresARole(t *testing.T) {
	e := newEnv(t)
	if n := len(walkRoutes(t, e)); n < 10 {
		t.Errorf("walked %d routes, want the whole router", n)
	}
}

// publicWrites are the only state-changing routes open without a role:
// signing in and out, and a NOC screen signing in (all behind the
// cross-origin check).
var publicWrites = map[string]bool{"POST /login": true, "POST /logout": true, "POST /noc/login": true}

func TestNothingChangesStateOnGet(t *testing.T) {
	e := newEnv(t)
	for _, rt := range walkRoutes(t, e) {
		key := rt.method + " " + rt.pattern
		if rt.method == http.MethodGet || rt.method == http.MethodHead || publicWrites[key] {
			continue
		}
		if rt.role != mailnet.RoleAdmin && rt.role != mailnet.RoleAgent {
			t.Errorf("%s changes state but requires %q; want admin or agent", key, rt.role)
		}
	}
}

// contractRoutes are the roles DESIGN.md's API contract implies, written by
// hand so that a change to a route's role is a deliberate act.
var contractRoutes = map[string]mailnet.Role{
	"GET /api/v1/sites":                            mailnet.RoleViewer,
	"POST /api/v1/sites":                           mailnet.RoleAdmin,
	"GET /api/v1/servers":                          mailnet.RoleViewer,
	"POST /api/v1/servers":                         mailnet.RoleAdmin,
	"GET /api/v1/servers/{id}":                     mailnet.RoleViewer,
	"PATCH /api/v1/servers/{id}":                   mailnet.RoleAdmin,
	"DELETE /api/v1/servers/{id}":                  mailnet.RoleAdmin,
	"GET /api/v1/users":                            mailnet.RoleViewer,
	"POST /api/v1/users":                           mailnet.RoleAdmin,
	"GET /api/v1/users/{id}":                       mailnet.RoleViewer,
	"GET /api/v1/users/{id}/messages":              mailnet.RoleViewer,
	"POST /api/v1/users/{id}/messages":             mailnet.RoleAdmin,
	"GET /api/v1/connectors":                       mailnet.RoleViewer,
	"POST /api/v1/connectors":                      mailnet.RoleAdmin,
	"PATCH /api/v1/connectors/{id}":                mailnet.RoleAdmin,
	"GET /api/v1/requestors":                       mailnet.RoleViewer,
	"POST /api/v1/requestors":                      mailnet.RoleAdmin,
	"GET /api/v1/routes":                           mailnet.RoleViewer,
	"POST /api/v1/routes":                          mailnet.RoleAdmin,
	"GET /api/v1/reports/servers":                  mailnet.RoleViewer,
	"GET /api/v1/reports/duplicate-serials":        mailnet.RoleViewer,
	"GET /api/v1/reports/x400":                     mailnet.RoleViewer,
	"GET /api/v1/reports/dirsync":                  mailnet.RoleViewer,
	"POST /api/v1/moves":                           mailnet.RoleAdmin,
	"GET /api/v1/jobs/{id}":                        mailnet.RoleViewer,
	"POST /api/v1/jobs/{id}/cancel":                mailnet.RoleAdmin,
	"POST /api/v1/servers/{id}/decommission":       mailnet.RoleAdmin,
	"POST /api/v1/requestors/export-on-next-cycle": mailnet.RoleAdmin,
	"POST /api/v1/events":                          mailnet.RoleAgent,
	"GET /api/v1/events":                           mailnet.RoleViewer,
	"GET /ws":                                      mailnet.RoleViewer,
	"GET /healthz":                                 mailnet.RolePublic,
	"GET /api/v1/tokens":                           mailnet.RoleAdmin,
	"POST /api/v1/tokens":                          mailnet.RoleAdmin,
	"POST /api/v1/tokens/{id}/revoke":              mailnet.RoleAdmin,
	"GET /api/v1/audit":                            mailnet.RoleViewer,
	"GET /audit":                                   mailnet.RoleViewer,
	"GET /tokens":                                  mailnet.RoleAdmin,
	"GET /login":                                   mailnet.RolePublic,
	"POST /login":                                  mailnet.RolePublic,
	"POST /logout":                                 mailnet.RolePublic,
	"GET /noc/login":                               mailnet.RolePublic,
}

func TestContractRouteRoles(t *testing.T) {
	e := newEnv(t)
	got := map[string]mailnet.Role{}
	for _, rt := range walkRoutes(t, e) {
		got[rt.method+" "+rt.pattern] = rt.role
	}
	for key, want := range contractRoutes {
		role, ok := got[key]
		switch {
		case !ok:
			t.Errorf("contract route %s is not registered", key)
		case role != want:
			t.Errorf("%s requires %q, want %q", key, role, want)
		}
	}
}

var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// concrete turns a pattern into a path that names nothing that exists
// (ids far past anything created), so permitted requests answer 404 or
// 422 and change nothing.
func concrete(pattern string) string {
	p := pathParam.ReplaceAllString(pattern, "999999")
	return strings.ReplaceAll(p, "*", "x")
}

// TestRouteRoleTable sends every route, generated from the router, with no
// credential and with a token of each role, and checks the answer against
// the route's declared role: none -> 401 (a page GET redirects to the
// login page), a role too weak -> 403, a role enough -> neither 401 nor 403
// nor a 5xx. New routes are covered without touching this test.
func TestRouteRoleTable(t *testing.T) {
	e := newEnv(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	callers := []struct {
		name  string
		role  mailnet.Role
		token string
	}{{"none", "", ""}, {"agent", mailnet.RoleAgent, e.Agent}, {"viewer", mailnet.RoleViewer, e.Viewer}, {"admin", mailnet.RoleAdmin, e.Admin}}
	for _, rt := range walkRoutes(t, e) {
		for _, c := range callers {
			t.Run(rt.method+" "+rt.pattern+" as "+c.name, func(t *testing.T) {
				path := concrete(rt.pattern)
				var body io.Reader
				if rt.method != http.MethodGet && rt.method != http.MethodHead {
					body = strings.NewReader("{}")
				}
				req, _ := http.NewRequest(rt.method, e.HTTP.URL+path, body)
				if body != nil {
					req.Header.Set("Content-Type", "application/json")
				}
				if c.token != "" {
					req.Header.Set("Authorization", "Bearer "+c.token)
				}
				res, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				got := res.StatusCode
				switch {
				case rt.role == mailnet.RolePublic || (c.token != "" && c.role.Allows(rt.role)):
					if got == 401 || got == 403 || got >= 500 {
						t.Errorf("got %d, want the route to answer (not 401, 403 or 5xx)", got)
					}
				case c.token == "":
					page := (rt.method == http.MethodGet || rt.method == http.MethodHead) && !strings.HasPrefix(path, "/api/")
					if page && rt.pattern != "/ws" {
						if got != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login?next=") {
							t.Errorf("got %d to %q, want 303 to the login page", got, res.Header.Get("Location"))
						}
					} else if got != 401 && !(page && got == http.StatusSeeOther) {
						t.Errorf("got %d, want 401", got)
					}
				default:
					if got != 403 {
						t.Errorf("got %d, want 403", got)
					}
				}
			})
		}
	}
}

// TestRoleExpectations spells out, for a few routes of each kind, what each
// caller gets: the table above derives these, this states them.
func TestRoleExpectations(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		method, path string
		want         map[string]int // caller -> status
	}{
		{"GET", "/api/v1/servers", map[string]int{"none": 401, "agent": 403, "viewer": 200, "admin": 200}},
		{"POST", "/api/v1/servers", map[string]int{"none": 401, "agent": 403, "viewer": 403}},
		{"GET", "/api/v1/events", map[string]int{"none": 401, "agent": 403, "viewer": 200, "admin": 200}},
		{"POST", "/api/v1/events", map[string]int{"none": 401, "viewer": 403}},
		{"GET", "/api/v1/audit", map[string]int{"none": 401, "agent": 403, "viewer": 200, "admin": 200}},
		{"GET", "/api/v1/tokens", map[string]int{"none": 401, "agent": 403, "viewer": 403, "admin": 200}},
		{"POST", "/api/v1/moves", map[string]int{"none": 401, "agent": 403, "viewer": 403}},
		{"GET", "/healthz", map[string]int{"none": 200, "agent": 200, "viewer": 200, "admin": 200}},
	} {
		for caller, want := range tc.want {
			tok := map[string]string{"none": "", "agent": e.Agent, "viewer": e.Viewer, "admin": e.Admin}[caller]
			var body any
			if tc.method == "POST" {
				body = "{}"
			}
			if got, out := e.do(tc.method, tc.path, tok, body); got != want {
				t.Errorf("%s %s as %s: got %d, want %d; %.120s", tc.method, tc.path, caller, got, want, out)
			}
		}
	}
}

// methodsByPattern groups the walked routes' methods by pattern.
func methodsByPattern(routes []route) map[string][]string {
	out := map[string][]string{}
	for _, rt := range routes {
		out[rt.pattern] = append(out[rt.pattern], rt.method)
	}
	return out
}

// send makes one request as the bearer token (none if empty), with the
// headers given as name, value pairs ("Host" sets the request's Host), and
// returns the response with its body read.
func send(t *testing.T, e *env, method, path, token string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequest(method, e.HTTP.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

// TestHeadOnEveryGetRoute sends HEAD beside GET to every GET route of the
// table, signed out and as an admin: the same status, and no body.
func TestHeadOnEveryGetRoute(t *testing.T) {
	e := newEnv(t)
	routes := walkRoutes(t, e)
	methods := methodsByPattern(routes)
	n := 0
	for pattern, ms := range methods {
		if !slices.Contains(ms, http.MethodGet) {
			continue
		}
		n++
		if !slices.Contains(ms, http.MethodHead) {
			t.Errorf("GET %s has no HEAD route", pattern)
		}
		path := concrete(pattern)
		for _, tok := range []string{"", e.Admin} {
			get, _ := send(t, e, http.MethodGet, path, tok)
			head, body := send(t, e, http.MethodHead, path, tok)
			if head.StatusCode != get.StatusCode {
				t.Errorf("HEAD %s (token %v): status %d, GET gives %d", path, tok != "", head.StatusCode, get.StatusCode)
			}
			if len(body) != 0 {
				t.Errorf("HEAD %s: %d bytes of body, want none", path, len(body))
			}
		}
	}
	if n < 20 {
		t.Errorf("checked %d GET routes, want the whole table", n)
	}
}

// TestMethodNotAllowedListsAllow sends every path of the table a method it
// does not serve (GET to POST-only paths, OPTIONS to all): 405 with Allow
// naming exactly the methods the table routes for the path. A path can
// match more than one pattern: PATCH /api/v1/requestors/{id} also takes
// /api/v1/requestors/export-on-next-cycle.
func TestMethodNotAllowedListsAllow(t *testing.T) {
	e := newEnv(t)
	routes := walkRoutes(t, e)
	var methods []string
	for _, rt := range routes {
		if !slices.Contains(methods, rt.method) {
			methods = append(methods, rt.method)
		}
	}
	for pattern, ms := range methodsByPattern(routes) {
		path := concrete(pattern)
		want := slices.Clone(ms)
		for _, m := range methods {
			if !slices.Contains(want, m) && e.Server.Router().Match(chi.NewRouteContext(), m, path) {
				want = append(want, m)
			}
		}
		slices.Sort(want)
		probes := []string{http.MethodOptions}
		if !slices.Contains(ms, http.MethodGet) {
			probes = append(probes, http.MethodGet)
		}
		for _, m := range probes {
			res, _ := send(t, e, m, path, e.Admin)
			if res.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: status %d, want 405", m, pattern, res.StatusCode)
				continue
			}
			var got []string
			for _, v := range strings.Split(res.Header.Get("Allow"), ",") {
				if v = strings.TrimSpace(v); v != "" {
					got = append(got, v)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: Allow %q, want %q", m, pattern, got, want)
			}
		}
	}
	// Stated for one route: a POST-only API path.
	res, body := send(t, e, http.MethodGet, "/api/v1/moves", e.Admin)
	if res.StatusCode != 405 || res.Header.Get("Allow") != "POST" || !strings.Contains(string(body), `"error"`) {
		t.Errorf("GET /api/v1/moves: %d, Allow %q, body %s; want 405, Allow POST and a JSON error", res.StatusCode, res.Header.Get("Allow"), body)
	}
}

// TestUnknownMethodOnUnknownPath is a 404, not a 405 with an empty Allow.
func TestUnknownMethodOnUnknownPath(t *testing.T) {
	e := newEnv(t)
	if res, _ := send(t, e, "BREW", "/no/such/path", ""); res.StatusCode != 404 {
		t.Errorf("BREW /no/such/path: %d, want 404", res.StatusCode)
	}
	if res, _ := send(t, e, "BREW", "/healthz", ""); res.StatusCode != 405 || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("BREW /healthz: %d, Allow %q; want 405, Allow GET, HEAD", res.StatusCode, res.Header.Get("Allow"))
	}
}

// TestNewRequiresDependencies: web.New builds no stand-in for a missing
// dependency; it names what is missing.
func TestNewRequiresDependencies(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		drop func(*web.Config)
	}{
		{"Store", func(c *web.Config) { c.Store = nil }},
		{"Actions", func(c *web.Config) { c.Actions = nil }},
		{"Live", func(c *web.Config) { c.Live = nil }},
		{"Hub", func(c *web.Config) { c.Hub = nil }},
		{"Ingest", func(c *web.Config) { c.Ingest = nil }},
		{"Log", func(c *web.Config) { c.Log = nil }},
		{"Registry", func(c *web.Config) { c.Registry = nil }},
		{"Now", func(c *web.Config) { c.Now = nil }},
	} {
		cfg := testConfig(t, e.Store)
		tc.drop(&cfg)
		srv, err := web.New(cfg)
		if err == nil || srv != nil || !strings.Contains(err.Error(), "Config."+tc.name) {
			t.Errorf("without %s: got %v, %v; want an error naming Config.%s", tc.name, srv, err, tc.name)
		}
	}
	if _, err := web.New(testConfig(t, e.Store)); err != nil {
		t.Errorf("with every dependency: %v", err)
	}
}

// TestNewRegistersMetricsOnce: metrics are registered by New, not by
// route registration, and a registry that already holds them is an error
// from New rather than a panic.
func TestNewRegistersMetricsOnce(t *testing.T) {
	e := newEnv(t)
	cfg := testConfig(t, e.Store)
	if _, err := web.New(cfg); err != nil {
		t.Fatal(err)
	}
	mfs, err := cfg.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, want := range []string{"mailnet_ws_clients", "mailnet_ingest_queued_events", "go_goroutines"} {
		if !names[want] {
			t.Errorf("after New, metric %s is not registered", want)
		}
	}
	if _, err := web.New(cfg); err == nil || !strings.Contains(err.Error(), "register") {
		t.Errorf("second New on one registry: %v, want a registration error", err)
	}
}
