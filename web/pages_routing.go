package web

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"mailnet/internal/store"
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

	sum, err := s.routing.Get(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if p.Server != "" {
		if id, ok := parseID(p.Server); ok {
			if _, err := s.store.ServerByID(ctx, id); err == nil {
				p.ServerID = id
			}
		}
		if p.ServerID == 0 {
			if p.ServerID, err = s.store.ServerIDByName(ctx, p.Server); err != nil {
				s.error(w, r, err)
				return
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

	// The table: one page, read in SQL by the filter.
	p.TotalRoutes, p.NoneCount = sum.Total, sum.Cut
	f := store.RouteTableFilter{ServerID: p.ServerID, CutOnly: p.NoneOnly, CutBy: sum.CutBy}
	if p.ServerID == 0 && !p.NoneOnly {
		p.Matched = sum.Total
	} else if p.Matched, err = s.store.CountRouteTable(ctx, f); err != nil {
		s.error(w, r, err)
		return
	}
	page, lo, _ := views.PageBounds(page, routeTablePage, p.Matched)
	f.Offset, f.Limit = lo, routeTablePage
	if p.Routes, err = s.store.RouteTable(ctx, f); err != nil {
		s.error(w, r, err)
		return
	}
	for i := range p.Routes {
		p.Routes[i] = sum.Effective(p.Routes[i])
	}
	p.Pager = views.Pager{Page: page, PerPage: routeTablePage, Total: p.Matched,
		Href: func(n int) string { return views.RoutingHref(p.Server, p.NoneOnly, p.SiteID, n) + "#table" }}
	ids := []int64{p.ServerID}
	for _, rt := range p.Routes {
		ids = append(ids, rt.FromServerID, rt.ToServerID, rt.ViaServerID)
	}
	if p.Names, err = s.store.ReportServerNames(ctx, ids); err != nil {
		s.error(w, r, err)
		return
	}

	// The map: a large network as sites, from the summary's aggregates;
	// a small one, or one site's drill-down, server by server.
	siteHref := func(id int64) string { return views.RoutingHref("", p.NoneOnly, id, 0) + "#map" }
	if p.SiteID == 0 && !views.MapShowsServers(sum.Servers) {
		p.Map = views.BuildSiteMap(siteMapInput(sum, sites, siteHref))
		s.render(w, r, http.StatusOK, s.pageFor(ctx, "Routing: configured versus effective", "routing"), views.RoutingPageBody(p))
		return
	}
	var servers []mailnet.Server
	var routes []mailnet.Route
	if p.SiteID == 0 {
		if servers, err = s.store.Servers(ctx); err == nil {
			routes, err = s.store.Routes(ctx, 0)
		}
	} else {
		servers, routes, err = s.siteServersAndRoutes(ctx, p.SiteID)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	for i := range routes {
		routes[i] = sum.Effective(routes[i])
	}
	in := views.MapInput{Sites: sites, Servers: servers, Routes: routes, Dup: sum.Conflicts.InGroup, Selected: p.ServerID,
		SiteHref: siteHref,
		NodeHref: func(id int64) string {
			return views.RoutingHref(strconv.FormatInt(id, 10), p.NoneOnly, p.SiteID, 0) + "#map"
		}}
	if p.SiteID != 0 {
		siteOf := make(map[int64]int64, len(servers))
		for _, sv := range servers {
			siteOf[sv.ID] = sv.SiteID
		}
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

// siteMapInput is the sites-only map of the summary's aggregates.
func siteMapInput(sum *reports.RoutingSummary, sites []mailnet.Site, href func(int64) string) views.SiteMapInput {
	in := views.SiteMapInput{Sites: sites, SiteServers: sum.SiteServers, SiteDups: sum.SiteDups, Servers: sum.Servers, SiteHref: href}
	for _, pr := range sum.Pairs {
		in.Pairs = append(in.Pairs, views.SitePair{A: pr.FromSite, B: pr.ToSite, Routes: pr.Direct + pr.Cut, Cut: pr.Cut > 0})
	}
	return in
}

// siteServersAndRoutes reads what a site's drill-down draws from: the
// site's servers and every server they have routes with, and those routes
// (not the whole network's).
func (s *Server) siteServersAndRoutes(ctx context.Context, site int64) ([]mailnet.Server, []mailnet.Route, error) {
	local, err := s.store.ServersAtSite(ctx, site)
	if err != nil {
		return nil, nil, err
	}
	routes, err := s.store.RoutesOfSite(ctx, site)
	if err != nil {
		return nil, nil, err
	}
	have := make(map[int64]bool, len(local))
	for _, sv := range local {
		have[sv.ID] = true
	}
	var other []int64
	for _, rt := range routes {
		for _, id := range []int64{rt.FromServerID, rt.ToServerID} {
			if !have[id] {
				have[id] = true
				other = append(other, id)
			}
		}
	}
	more, err := s.store.ServersByIDs(ctx, other)
	if err != nil {
		return nil, nil, err
	}
	servers := append(local, more...)
	slices.SortFunc(servers, func(a, b mailnet.Server) int { return cmp.Compare(a.ID, b.ID) })
	return servers, routes, nil
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
