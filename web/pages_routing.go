package web

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"mailnet/web/views"
)

// routeTablePage is how many routing entries a page of the table shows.
const routeTablePage = 100

// pageRouting shows configured versus effective routing as a map and a
// paged table. The map draws a large network by site; ?site= drills down
// to one site's servers (and the servers they route to), ?server=
// highlights one server's routes and keeps the table to them.
func (s *Server) pageRouting(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	p := &views.RoutingPage{Server: strings.TrimSpace(q.Get("server")), NoneOnly: q.Get("none") == "1"}
	page, err := pageNumber(q, "page")
	if err != nil {
		s.error(w, r, err)
		return
	}
	if v := q.Get("site"); v != "" {
		id, ok := parseID(v)
		if !ok || id <= 0 {
			s.error(w, r, mailnet.Invalid("site", "site must be a site id"))
			return
		}
		p.SiteID = id
	}

	servers, err := s.store.Servers(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p.Names = make(map[int64]string, len(servers))
	siteOf := make(map[int64]int64, len(servers))
	for _, sv := range servers {
		p.Names[sv.ID] = sv.Name
		siteOf[sv.ID] = sv.SiteID
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
	sites, err := s.store.Sites(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if p.SiteID != 0 {
		for _, st := range sites {
			if st.ID == p.SiteID {
				p.SiteName = st.Name
			}
		}
		if p.SiteName == "" {
			s.error(w, r, mailnet.Invalid("site", "no site has id %d", p.SiteID))
			return
		}
	}
	routes, err := reports.Routes(ctx, s.store, 0)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p.TotalRoutes = len(routes)
	var matched []mailnet.Route
	for _, rt := range routes {
		cutOff := rt.Effective == mailnet.RouteNone && rt.Configured != mailnet.RouteNone
		if cutOff {
			p.NoneCount++
		}
		if p.ServerID != 0 && rt.FromServerID != p.ServerID && rt.ToServerID != p.ServerID && rt.ViaServerID != p.ServerID {
			continue
		}
		if p.NoneOnly && !cutOff {
			continue
		}
		matched = append(matched, rt)
	}
	p.Matched = len(matched)
	page, lo, hi := views.PageBounds(page, routeTablePage, len(matched))
	p.Routes = matched[lo:hi]
	p.Pager = views.Pager{Page: page, PerPage: routeTablePage, Total: len(matched),
		Href: func(n int) string { return views.RoutingHref(p.Server, p.NoneOnly, p.SiteID, n) + "#table" }}

	c, err := reports.LoadConflicts(ctx, s.store)
	if err != nil {
		s.error(w, r, err)
		return
	}
	in := views.MapInput{Sites: sites, Servers: servers, Routes: routes, Dup: c.InGroup, Selected: p.ServerID,
		SiteHref: func(id int64) string { return views.RoutingHref("", p.NoneOnly, id, 0) + "#map" },
		NodeHref: func(id int64) string {
			return views.RoutingHref(strconv.FormatInt(id, 10), p.NoneOnly, p.SiteID, 0) + "#map"
		}}
	if p.SiteID != 0 {
		in.Servers, in.Routes = drillDown(p.SiteID, servers, routes, siteOf)
	}
	if views.MapShowsServers(len(in.Servers)) {
		// Connectors are drawn only when the map shows servers: those
		// between two drawn servers, read server by server (an index
		// lookup each) rather than every connector of the network.
		keep := make(map[int64]bool, len(in.Servers))
		for _, sv := range in.Servers {
			keep[sv.ID] = true
		}
		seen := map[int64]bool{}
		for _, sv := range in.Servers {
			conns, err := s.store.Connectors(ctx, sv.ID)
			if err != nil {
				s.error(w, r, err)
				return
			}
			for _, cn := range conns {
				if !seen[cn.ID] && keep[cn.ServerID] && keep[cn.RemoteServerID] {
					seen[cn.ID] = true
					in.Connectors = append(in.Connectors, cn)
				}
			}
		}
		slices.SortFunc(in.Connectors, func(a, b mailnet.Connector) int { return cmp.Compare(a.ID, b.ID) })
	}
	p.Map = views.BuildMap(in)
	s.render(w, r, http.StatusOK, s.pageFor(ctx, "Routing: configured versus effective", "routing"), views.RoutingPageBody(p))
}

// drillDown keeps the servers of one site and the servers at other sites
// they have routes with (as many as the map draws one by one), and the
// routes among those.
func drillDown(site int64, servers []mailnet.Server, routes []mailnet.Route, siteOf map[int64]int64) ([]mailnet.Server, []mailnet.Route) {
	keep := map[int64]bool{}
	var out []mailnet.Server
	for _, sv := range servers {
		if sv.SiteID == site {
			keep[sv.ID] = true
			out = append(out, sv)
		}
	}
	byID := make(map[int64]mailnet.Server, len(servers))
	for _, sv := range servers {
		byID[sv.ID] = sv
	}
	for _, rt := range routes {
		if !views.MapShowsServers(len(out) + 1) {
			break
		}
		for _, pair := range [][2]int64{{rt.FromServerID, rt.ToServerID}, {rt.ToServerID, rt.FromServerID}} {
			if siteOf[pair[0]] == site && !keep[pair[1]] && views.MapShowsServers(len(out)+1) {
				keep[pair[1]] = true
				out = append(out, byID[pair[1]])
			}
		}
	}
	var rs []mailnet.Route
	for _, rt := range routes {
		if keep[rt.FromServerID] && keep[rt.ToServerID] && (siteOf[rt.FromServerID] == site || siteOf[rt.ToServerID] == site) {
			rs = append(rs, rt)
		}
	}
	return out, rs
}
