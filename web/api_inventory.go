package web

import (
	"fmt"
	"net/http"

	"mailnet/internal/actions"
	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
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

// pageParams reads limit (default 100, at most 1000: larger asks get 1000)
// and after_id.
func pageParams(r *http.Request) (limit int, afterID int64, err error) {
	l, err := queryInt(r, "limit", defaultPageSize, 1, 1<<31)
	if err != nil {
		return 0, 0, err
	}
	afterID, err = queryInt(r, "after_id", 0, 0, 1<<62)
	if err != nil {
		return 0, 0, err
	}
	return int(min(l, maxPageSize)), afterID, nil
}

func (s *Server) apiSites(w http.ResponseWriter, r *http.Request) {
	sites, err := s.store.Sites(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sites": sites})
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
}

func newServerView(sv mailnet.Server, c reports.Conflicts) serverView {
	if sv.Addresses == nil {
		sv.Addresses = []string{}
	}
	return serverView{Server: sv, UserCount: sv.UserCount, MessageCount: sv.MessageCount,
		DuplicateSerial: c.InGroup(sv.ID), Impacted: c.IsImpacted(sv.ID)}
}

func (s *Server) apiServers(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	servers, err := s.store.Servers(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	c := reports.FindConflicts(servers)
	out := make([]serverView, len(servers))
	for i, sv := range servers {
		out[i] = newServerView(sv, c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"servers": out})
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
	writeJSON(w, http.StatusOK, newServerView(sv, c))
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
	var p actions.ServerPatch
	if err := s.decodeJSON(w, r, &p); err != nil {
		s.error(w, r, err)
		return
	}
	if _, err := s.actions.UpdateServer(ctx, id, p); err != nil {
		s.error(w, r, err)
		return
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

func (s *Server) apiRoutes(w http.ResponseWriter, r *http.Request) {
	serverID, err := queryInt(r, "server_id", 0, 1, 1<<62)
	if err != nil {
		s.error(w, r, err)
		return
	}
	routes, err := reports.Routes(r.Context(), s.store, serverID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"routes": routes})
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
