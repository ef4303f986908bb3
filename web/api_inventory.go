package web

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"mailnet/internal/actions"
	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"mailnet/internal/store"
)

// apiPathID reads the path value name as an id; anything else is a 404
// naming what was looked for.
func apiPathID(r *http.Request, name, what string) (int64, error) {
	id, ok := parseID(r.PathValue(name))
	if !ok || id <= 0 {
		return 0, mailnet.NotFound(what, r.PathValue(name))
	}
	return id, nil
}

// queryInt reads an optional integer query parameter, written canonically
// (parseID: "01" and "+1" are refused): def when absent, a 422 naming it
// when it is not an integer within [lo, hi] (lo >= 0).
func queryInt(r *http.Request, name string, def, lo, hi int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, ok := parseID(s)
	if !ok || n < lo || n > hi {
		return 0, mailnet.Invalid(name, "%s must be an integer from %d to %d, not %q", name, lo, hi, s)
	}
	return n, nil
}

// Page sizes of the listing endpoints that page by after_id.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// pageParams reads limit (default 100, from 1 to 1000; anything else is a
// 422 naming limit) and after_id.
func pageParams(r *http.Request) (limit int, afterID int64, err error) {
	l, err := queryLimit(r)
	if err != nil {
		return 0, 0, err
	}
	afterID, err = queryInt(r, "after_id", 0, 0, 1<<62)
	if err != nil {
		return 0, 0, err
	}
	return l, afterID, nil
}

// queryLimit reads limit: default 100, from 1 to 1000.
func queryLimit(r *http.Request) (int, error) {
	l, err := queryInt(r, "limit", defaultPageSize, 1, maxPageSize)
	return int(l), err
}

// pageByID cuts one page out of items sorted by ascending id: the first
// limit items whose id is above after, and the id to continue after (0
// on the last page).
func pageByID[T any](items []T, id func(T) int64, after int64, limit int) (page []T, next int64) {
	i := sort.Search(len(items), func(i int) bool { return id(items[i]) > after })
	items = items[i:]
	if len(items) > limit {
		return items[:limit], id(items[limit-1])
	}
	return items, 0
}

// pageBody is a list answer: the items under name and, while more remain,
// next_after_id.
func pageBody(name string, items any, next int64) map[string]any {
	body := map[string]any{name: items}
	if next != 0 {
		body["next_after_id"] = next
	}
	return body
}

func (s *Server) apiSites(w http.ResponseWriter, r *http.Request) {
	limit, after, err := pageParams(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	sites, err := s.store.Sites(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	slices.SortFunc(sites, func(a, b mailnet.Site) int { return cmp.Compare(a.ID, b.ID) })
	page, next := pageByID(sites, func(x mailnet.Site) int64 { return x.ID }, after, limit)
	writeJSON(w, http.StatusOK, pageBody("sites", page, next))
}

func (s *Server) apiSiteCreate(w http.ResponseWriter, r *http.Request) {
	var in actions.SiteInput
	if err := s.decodeJSON(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	st, warnings, err := s.actions.CreateSiteWarned(r.Context(), in)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		mailnet.Site
		Warnings []string `json:"warnings,omitempty"`
	}{st, warnings})
}

// serverView is a server as the API shows it: the contract's fields, the
// kept counters, and whether its serial is shared (Q99393).
type serverView struct {
	mailnet.Server
	UserCount       int64  `json:"user_count"`
	MessageCount    int64  `json:"message_count"`
	DuplicateSerial bool   `json:"duplicate_serial"`
	Impacted        bool   `json:"serial_conflict_impact,omitempty"`
	Warning         string `json:"warning,omitempty"`
	// Warnings are every warning of a create (a shared serial, a
	// look-alike name); the create succeeded all the same.
	Warnings []string `json:"warnings,omitempty"`
	// The cluster and RAS facts (Q169113, Q256844): null when not set.
	factsView
}

func newServerView(sv mailnet.Server, c reports.Conflicts) serverView {
	if sv.Addresses == nil {
		sv.Addresses = []string{}
	}
	return serverView{Server: sv, UserCount: sv.UserCount, MessageCount: sv.MessageCount,
		DuplicateSerial: c.InGroup(sv.ID), Impacted: c.IsImpacted(sv.ID)}
}

// apiServers lists servers by id, a page at a time (limit, after_id).
func (s *Server) apiServers(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	limit, after, err := pageParams(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	servers, err := s.store.Servers(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	c := reports.FindConflicts(servers)
	facts, err := s.store.MTAFacts(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	page, next := pageByID(servers, func(x mailnet.Server) int64 { return x.ID }, after, limit)
	out := make([]serverView, len(page))
	for i, sv := range page {
		out[i] = newServerView(sv, c)
		out[i].factsView = newFactsView(facts.Servers[sv.ID])
	}
	writeJSON(w, http.StatusOK, pageBody("servers", out, next))
}

func (s *Server) apiServer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := apiPathID(r, "id", "server")
	if err != nil {
		s.error(w, r, err)
		return
	}
	sv, err := s.store.ServerByID(ctx, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	c, err := reports.LoadConflicts(ctx, s.store)
	if err != nil {
		s.error(w, r, err)
		return
	}
	facts, err := s.store.ServerMTAFacts(ctx, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	v := newServerView(sv, c)
	v.factsView = newFactsView(facts)
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiServerCreate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var in actions.ServerInput
	if err := s.decodeJSON(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	res, err := s.actions.CreateServer(ctx, in)
	if err != nil {
		s.error(w, r, err)
		return
	}
	c, err := reports.LoadConflicts(ctx, s.store)
	if err != nil {
		s.error(w, r, err)
		return
	}
	v := newServerView(res.Server, c)
	v.DuplicateSerial = len(res.Duplicates) > 0
	v.Warning = res.Warning
	v.Warnings = res.Warnings
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) apiServerUpdate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := apiPathID(r, "id", "server")
	if err != nil {
		s.error(w, r, err)
		return
	}
	var p struct {
		actions.ServerPatch
		serverMTAPatch // cluster, ras_pool
	}
	if err := s.decodeJSON(w, r, &p); err != nil {
		s.error(w, r, err)
		return
	}
	// The facts are checked first, so that a refusal of either part
	// changes nothing; each part writes its own audit row.
	if p.serverMTAPatch.set() {
		if err := s.checkServerFacts(ctx, id, p.serverMTAPatch); err != nil {
			s.error(w, r, err)
			return
		}
	}
	if !p.serverMTAPatch.set() || anyPatchField(p.ServerPatch) {
		if _, err := s.actions.UpdateServer(ctx, id, p.ServerPatch); err != nil {
			s.error(w, r, err)
			return
		}
	}
	if p.serverMTAPatch.set() {
		if err := s.updateServerFacts(ctx, id, p.serverMTAPatch); err != nil {
			s.error(w, r, err)
			return
		}
	}
	s.apiServer(w, r)
}

func (s *Server) apiServerDelete(w http.ResponseWriter, r *http.Request) {
	id, err := apiPathID(r, "id", "server")
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.actions.DeleteServer(r.Context(), id); err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiRoutes lists routing entries in (from_server_id, to_server_id) order,
// a page at a time: limit (default 100, at most 1000) and the cursor
// after=FROM:TO, which the answer names as next_after while more remain.
// server_id= keeps the entries from or to one server.
func (s *Server) apiRoutes(w http.ResponseWriter, r *http.Request) {
	serverID, err := queryInt(r, "server_id", 0, 1, 1<<62)
	if err != nil {
		s.error(w, r, err)
		return
	}
	limit, err := queryLimit(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	after, err := parseRouteCursor(r.URL.Query().Get("after"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	// One more than the page tells whether another page follows.
	routes, err := reports.RoutesPage(r.Context(), s.store, store.RouteFilter{ServerID: serverID, After: after, Limit: limit + 1})
	if err != nil {
		s.error(w, r, err)
		return
	}
	body := map[string]any{}
	if len(routes) > limit {
		routes = routes[:limit]
		last := routes[limit-1]
		body["next_after"] = formatRouteCursor(store.RouteCursor{From: last.FromServerID, To: last.ToServerID})
	}
	body["routes"] = routes
	writeJSON(w, http.StatusOK, body)
}

// parseRouteCursor reads a routes cursor, FROM:TO (two server ids); empty
// is the start.
func parseRouteCursor(s string) (store.RouteCursor, error) {
	if s == "" {
		return store.RouteCursor{}, nil
	}
	from, to, ok := strings.Cut(s, ":")
	f, err1 := strconv.ParseInt(from, 10, 64)
	t, err2 := strconv.ParseInt(to, 10, 64)
	if !ok || err1 != nil || err2 != nil || f < 0 || t < 0 {
		return store.RouteCursor{}, mailnet.Invalid("after", "after must be FROM:TO, two server ids (the next_after of the previous page), not %q", s)
	}
	return store.RouteCursor{From: f, To: t}, nil
}

func formatRouteCursor(c store.RouteCursor) string {
	return strconv.FormatInt(c.From, 10) + ":" + strconv.FormatInt(c.To, 10)
}

func (s *Server) apiRouteSet(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var in actions.RouteInput
	if err := s.decodeJSON(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	rt, created, err := s.actions.SetRoute(ctx, in)
	if err != nil {
		s.error(w, r, err)
		return
	}
	routes, err := reports.Routes(ctx, s.store, rt.FromServerID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	for _, got := range routes {
		if got.FromServerID == rt.FromServerID && got.ToServerID == rt.ToServerID {
			rt = got
		}
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, rt)
}

// hiddenReason says why a user does not show in the All listing.
func hiddenReason(u mailnet.User, c reports.Conflicts, names map[int64]string) string {
	if !u.InAllListing {
		return "the user is configured not to show in the All listing"
	}
	serial, ok := c.Impacted[u.ServerID]
	if !ok {
		return ""
	}
	name := names[u.ServerID]
	if name == "" {
		name = fmt.Sprintf("server %d", u.ServerID)
	}
	return fmt.Sprintf("home server %s shares serial number %s with a server at another site; its users disappear from the All listing (Q99393)", name, serial)
}
