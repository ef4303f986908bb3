package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"mailnet/internal/actions"
	"mailnet/internal/mailnet"
	"mailnet/internal/mta"
	"mailnet/internal/reports"
	"mailnet/internal/store"
	"mailnet/web/views"
)

// Page sizes of the server page's folded lists.
const (
	serverUserPage  = 100
	serverRoutePage = 50
)

// pageServer shows one server: first what is wrong with it (serial,
// X.400 connectors), then its actions, then its fields, connectors,
// routing and users, the last two paged in sections that fold.
func (s *Server) pageServer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, ok := pathID(r, "id")
	if !ok {
		s.error(w, r, mailnet.NotFound("server", r.PathValue("id")))
		return
	}
	sv, err := s.store.ServerByID(ctx, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	v := r.URL.Query()
	d := &views.ServerDetail{Server: sv, Q: strings.TrimSpace(v.Get("q"))}
	if len(d.Q) > 200 {
		s.error(w, r, mailnet.Invalid("q", "the search is longer than 200 characters"))
		return
	}
	upage, err := pageNumber(v, "upage")
	if err != nil {
		s.error(w, r, err)
		return
	}
	rpage, err := pageNumber(v, "rpage")
	if err != nil {
		s.error(w, r, err)
		return
	}
	d.UsersOpen = d.Q != "" || v.Has("upage")
	d.RoutesOpen = v.Has("rpage")

	sites, err := s.store.Sites(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	d.SiteNames = make(map[int64]string, len(sites))
	for _, st := range sites {
		d.SiteNames[st.ID] = st.Name
	}
	d.SiteName = d.SiteNames[sv.SiteID]

	c, err := reports.LoadConflicts(ctx, s.store)
	if err != nil {
		s.error(w, r, err)
		return
	}
	d.Duplicate, d.Impacted = c.InGroup(sv.ID), c.IsImpacted(sv.ID)
	if d.Duplicate {
		dups, err := s.store.DuplicateSerialServers(ctx)
		if err != nil {
			s.error(w, r, err)
			return
		}
		for _, o := range dups {
			if o.Serial == sv.Serial && o.ID != sv.ID {
				d.Sharing = append(d.Sharing, o)
			}
		}
	}

	// Users: one page, with the count of all that match.
	uf := store.UserFilter{ServerID: sv.ID, Q: d.Q}
	usersMatched := sv.UserCount
	if d.Q != "" {
		if usersMatched, err = s.store.CountUsers(ctx, uf); err != nil {
			s.error(w, r, err)
			return
		}
	}
	upage, ulo, _ := views.PageBounds(upage, serverUserPage, int(usersMatched))
	uf.Offset, uf.Limit = ulo, serverUserPage
	if d.Users, err = s.store.Users(ctx, uf); err != nil {
		s.error(w, r, err)
		return
	}
	d.UsersMatched = int(usersMatched)

	// Routes: one page, with the count of all and of those cut off.
	rf := store.RouteFilter{ServerID: sv.ID}
	routes, err := s.store.CountRoutes(ctx, rf)
	if err != nil {
		s.error(w, r, err)
		return
	}
	rpage, rlo, _ := views.PageBounds(rpage, serverRoutePage, int(routes))
	rf.Offset, rf.Limit = rlo, serverRoutePage
	if d.Routes, err = reports.RoutesPage(ctx, s.store, rf); err != nil {
		s.error(w, r, err)
		return
	}
	d.RoutesTotal = int(routes)
	if d.Impacted {
		// Every entry of an impacted server is effectively none.
		d.RoutesCutOff = d.RoutesTotal
	}

	if d.Connectors, err = s.store.Connectors(ctx, sv.ID); err != nil {
		s.error(w, r, err)
		return
	}
	// KB197378: the X.400 check's findings for this server's connectors.
	if d.X400, err = reports.X400ForServer(ctx, s.store, sv.ID); err != nil {
		s.error(w, r, err)
		return
	}
	dxs, err := s.store.DXServers(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	for _, dx := range dxs {
		if dx.ServerID == sv.ID {
			d.DX = &dx
		}
	}

	pageHref := func(up, rp int) string {
		q := url.Values{}
		if d.Q != "" {
			q.Set("q", d.Q)
		}
		if up > 1 {
			q.Set("upage", strconv.Itoa(up))
		}
		if rp > 1 {
			q.Set("rpage", strconv.Itoa(rp))
		}
		h := "/servers/" + strconv.FormatInt(sv.ID, 10)
		if e := q.Encode(); e != "" {
			h += "?" + e
		}
		return h
	}
	d.UserPager = views.Pager{Page: upage, PerPage: serverUserPage, Total: d.UsersMatched,
		Href: func(p int) string { return pageHref(p, rpage) + "#users" }}
	d.RoutePager = views.Pager{Page: rpage, PerPage: serverRoutePage, Total: d.RoutesTotal,
		Href: func(p int) string { return pageHref(upage, p) + "#routes" }}

	// Names of the servers the page links to, looked up by id rather than
	// loading every server of a large network.
	ids := []int64{sv.ID}
	for _, rt := range d.Routes {
		ids = append(ids, rt.FromServerID, rt.ToServerID, rt.ViaServerID)
	}
	for _, c := range d.Connectors {
		ids = append(ids, c.ServerID, c.RemoteServerID)
	}
	slices.Sort(ids)
	if d.Names, err = s.store.ReportServerNames(ctx, slices.Compact(ids)); err != nil {
		s.error(w, r, err)
		return
	}
	m, err := s.serverMTA(ctx, sv, v.Get("done") == "mta")
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, s.pageFor(ctx, "Server "+sv.Name, "servers"), views.ServerDetailPage(d, m))
}

// serverMTA is the server page's MTA part: the cluster and RAS facts
// (Q169113, Q256844) and the MTA findings (R3, R5-R9) that name it.
func (s *Server) serverMTA(ctx context.Context, sv mailnet.Server, done bool) (*views.ServerMTA, error) {
	m := &views.ServerMTA{ServerID: sv.ID, Exchange: sv.Kind == mailnet.ServerKindExchange, Done: done}
	facts, err := s.store.ServerMTAFacts(ctx, sv.ID)
	if err != nil {
		return nil, err
	}
	m.Cluster = facts.Cluster
	if facts.RASPool != nil {
		m.RASPool = facts.RASPool.String()
	}
	if pr := mailnet.PrincipalFrom(ctx); pr != nil {
		m.Admin = pr.Role.Allows(mailnet.RoleAdmin) && sv.Status != mailnet.StatusDecommissioned
	}
	if sv.Kind == mailnet.ServerKindExchange {
		if m.Findings, err = reports.MTAFindingsForServer(ctx, s.store, sv.ID); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// pageServerMTA sets an Exchange server's cluster and RAS pool from the
// server page's form (POST /servers/{id}/mta): an empty virtual IP with
// no nodes clears the cluster, an empty pool clears the pool. It goes
// through the API's checks and audit (server.mta_facts).
func (s *Server) pageServerMTA(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	if !ok {
		s.error(w, r, mailnet.NotFound("server", r.PathValue("id")))
		return
	}
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	p, err := serverMTAForm(r.PostForm)
	if err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	if err := s.checkServerFacts(ctx, id, p); err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.updateServerFacts(ctx, id, p); err != nil {
		s.error(w, r, err)
		return
	}
	http.Redirect(w, r, "/servers/"+strconv.FormatInt(id, 10)+"?done=mta#mta-facts", http.StatusSeeOther)
}

// serverMTAForm reads the form into the API's patch: the nodes are NAME
// ADDRESS, one a line.
func serverMTAForm(f url.Values) (serverMTAPatch, error) {
	var p serverMTAPatch
	virtual := strings.TrimSpace(f.Get("cluster_virtual_address"))
	nodes := []mta.ClusterNode{}
	for i, line := range strings.Split(strings.TrimSpace(f.Get("cluster_nodes")), "\n") {
		fields := strings.Fields(line)
		switch len(fields) {
		case 0:
			continue
		case 2:
			nodes = append(nodes, mta.ClusterNode{Name: fields[0], Address: fields[1]})
		default:
			return p, mailnet.Invalid("cluster.nodes", "line %d of the cluster nodes must be NAME ADDRESS, not %q", i+1, strings.TrimSpace(line))
		}
	}
	if virtual == "" && len(nodes) == 0 {
		p.Cluster = actions.Null[json.RawMessage]()
	} else {
		b, err := json.Marshal(mta.Cluster{VirtualAddress: virtual, Nodes: nodes})
		if err != nil {
			return p, err
		}
		p.Cluster = actions.Some(json.RawMessage(b))
	}
	if pool := strings.TrimSpace(f.Get("ras_pool")); pool == "" {
		p.RASPool = actions.Null[string]()
	} else {
		p.RASPool = actions.Some(pool)
	}
	return p, nil
}
