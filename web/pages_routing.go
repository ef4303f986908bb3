package web

import (
	"net/http"
	"strings"

	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"mailnet/web/views"
)

// routeTableLimit caps the routing table; a server filter shows the rest.
const routeTableLimit = 1000

// pageRouting shows configured versus effective routing as a map and a
// table, optionally for one server.
func (s *Server) pageRouting(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	p := &views.RoutingPage{RouteLimit: routeTableLimit, Server: strings.TrimSpace(q.Get("server")), NoneOnly: q.Get("none") == "1"}

	servers, err := s.store.Servers(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p.Names = make(map[int64]string, len(servers))
	for _, sv := range servers {
		p.Names[sv.ID] = sv.Name
	}
	if p.Server != "" {
		if id, ok := parseID(p.Server); ok && p.Names[id] != "" {
			p.ServerID = id
		} else {
			for _, sv := range servers {
				if strings.EqualFold(sv.Name, p.Server) {
					p.ServerID = sv.ID
					break
				}
			}
		}
		if p.ServerID == 0 {
			s.error(w, r, mailnet.Invalid("server", "no server is named %q", p.Server))
			return
		}
	}
	routes, err := reports.Routes(ctx, s.store, 0)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p.TotalRoutes = len(routes)
	for _, rt := range routes {
		if p.ServerID != 0 && rt.FromServerID != p.ServerID && rt.ToServerID != p.ServerID && rt.ViaServerID != p.ServerID {
			continue
		}
		if p.NoneOnly && !(rt.Effective == mailnet.RouteNone && rt.Configured != mailnet.RouteNone) {
			continue
		}
		p.Matched++
		if len(p.Routes) < routeTableLimit {
			p.Routes = append(p.Routes, rt)
		}
	}

	sites, err := s.store.Sites(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	var conns []mailnet.Connector // drawn only when the map shows servers
	if views.MapShowsServers(len(servers)) {
		if conns, err = s.store.Connectors(ctx, 0); err != nil {
			s.error(w, r, err)
			return
		}
	}
	c, err := reports.LoadConflicts(ctx, s.store)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p.Map = views.BuildMap(views.MapInput{Sites: sites, Servers: servers, Routes: routes, Connectors: conns, Dup: c.InGroup})
	s.render(w, r, http.StatusOK, s.pageFor(ctx, "Routing: configured versus effective", "routing"), views.RoutingPageBody(p))
}
