package views

import (
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"mailnet/internal/mailnet"
)

// RoutingPage is the routing table and map.
type RoutingPage struct {
	Routes      []mailnet.Route // one page of the filtered routes
	TotalRoutes int             // before the filter
	Matched     int             // after the filter, on every page
	NoneCount   int             // configured but effectively "No Connection", network-wide
	Pager       Pager
	Server      string // the filter: a server name ("" for all)
	ServerID    int64
	NoneOnly    bool
	SiteID      int64 // the map's drill-down: this site's servers (0: the whole network)
	SiteName    string
	Names       map[int64]string
	Map         *NetMap
}

// exportHref is the routes API with the page's server filter (every
// page of it: the answer pages by its own cursor).
func (p *RoutingPage) exportHref() string {
	if p.ServerID != 0 {
		return "/api/v1/routes?limit=1000&server_id=" + itoa(p.ServerID)
	}
	return "/api/v1/routes?limit=1000"
}

// RoutingHref is /routing with a server filter, the none-only filter, a
// drilled-down site and a table page (each left out when empty).
func RoutingHref(server string, none bool, site int64, page int) string {
	v := url.Values{}
	if server != "" {
		v.Set("server", server)
	}
	if none {
		v.Set("none", "1")
	}
	if site != 0 {
		v.Set("site", itoa(site))
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if q := v.Encode(); q != "" {
		return "/routing?" + q
	}
	return "/routing"
}

// NetMap is a server-rendered SVG picture of the network.
type NetMap struct {
	Width, Height int
	Sites         []MapSite
	Nodes         []MapNode
	Lines         []MapLine
	SitesOnly     bool
	Note          string
}

type MapSite struct {
	X, Y, W, H int
	ID         int64
	Href       string // the drill-down: the site's servers (sites-only maps)
	Name       string
	Sub        string
	Class      string // site-box, or site-box dup when it holds a duplicate-serial server
}

type MapNode struct {
	X, Y, W, H int
	ID         int64
	Href       string // what a click opens: this server's routes highlighted
	Label      string
	Title      string
	Class      string // srv, srv dup, srv decommissioned
}

type MapLine struct {
	X1, Y1, X2, Y2 int
	A, B           int64  // the servers (or sites, on a sites-only map) it joins
	D              string // the SVG path: an arc, so lines between neighbours stay visible
	Class          string // link direct|indirect|none|connector; "hl" added for the selected server
	Title          string
}

// arc returns a quadratic curve from (x1,y1) to (x2,y2) bowed slightly to
// one side (16 to 48px), so that a line between two servers in one row
// does not hide behind the servers between them.
func arc(x1, y1, x2, y2 int) string {
	dx, dy := float64(x2-x1), float64(y2-y1)
	l := math.Hypot(dx, dy)
	if l == 0 {
		return ""
	}
	off := min(max(l*0.08, 16), 48)
	cx := float64(x1+x2)/2 - dy/l*off
	cy := float64(y1+y2)/2 + dx/l*off
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	return "M" + strconv.Itoa(x1) + " " + strconv.Itoa(y1) + " Q" + f(cx) + " " + f(cy) + " " + strconv.Itoa(x2) + " " + strconv.Itoa(y2)
}

// Map geometry.
const (
	mapWidth      = 1320
	mapMargin     = 14
	siteGap       = 18
	sitePad       = 10
	siteHead      = 44
	nodeW         = 132
	nodeH         = 26
	nodeGap       = 22
	maxSiteCols   = 3
	siteOnlyW     = 190
	siteOnlyH     = 62
	maxMapServers = 120 // above this the map draws sites only
	maxMapSites   = 80  // and at most this many sites
)

// MapInput is what the map is drawn from.
type MapInput struct {
	Sites      []mailnet.Site
	Servers    []mailnet.Server
	Routes     []mailnet.Route // with Effective set
	Connectors []mailnet.Connector
	Dup        func(id int64) bool // in a duplicate-serial group
	// Selected is the server whose routes are highlighted (0: none).
	Selected int64
	// NodeHref and SiteHref are the links of a server and of a site
	// (nil: none).
	NodeHref func(id int64) string
	SiteHref func(id int64) string
}

type pairKey struct{ a, b int64 }

func pair(a, b int64) pairKey {
	if a > b {
		a, b = b, a
	}
	return pairKey{a, b}
}

// lineRank orders link classes by how much they matter on the picture.
func lineRank(class string) int {
	switch class {
	case "link none":
		return 4
	case "link indirect":
		return 2
	case "link direct":
		return 3
	case "link connector":
		return 1
	}
	return 0
}

// routeClass is how the map draws a route: red dashed when it is
// effectively "No Connection" although configured, green when direct.
// Indirect routes are left to the table: they travel over the direct
// routes to and from their via server, which are drawn already, and a
// full mesh of them would hide everything else.
func routeClass(r mailnet.Route) string {
	switch {
	case r.Effective == mailnet.RouteNone && r.Configured != mailnet.RouteNone:
		return "link none"
	case r.Effective == mailnet.RouteDirect:
		return "link direct"
	}
	return ""
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// BuildMap lays the network out: sites as boxes in rows, servers inside
// them, routes and connectors as lines between servers. A large network
// is drawn as sites only, with lines for the routes between sites.
func BuildMap(in MapInput) *NetMap {
	bySite := map[int64][]mailnet.Server{}
	for _, sv := range in.Servers {
		bySite[sv.SiteID] = append(bySite[sv.SiteID], sv)
	}
	sites := make([]mailnet.Site, 0, len(in.Sites))
	for _, st := range in.Sites {
		if len(bySite[st.ID]) > 0 {
			sites = append(sites, st)
		}
	}
	sort.Slice(sites, func(i, j int) bool { return sites[i].Name < sites[j].Name })
	if len(in.Servers) > maxMapServers {
		return buildSiteMap(in, sites, bySite)
	}
	m := &NetMap{}
	center := map[int64][2]int{}
	x, y, rowH := mapMargin, mapMargin, 0
	for _, st := range sites {
		svs := bySite[st.ID]
		cols := min(len(svs), maxSiteCols)
		rows := (len(svs) + cols - 1) / cols
		w := 2*sitePad + cols*nodeW + (cols-1)*nodeGap
		h := siteHead + rows*nodeH + (rows-1)*nodeGap + sitePad
		if x+w > mapWidth-mapMargin && x > mapMargin {
			x, y = mapMargin, y+rowH+siteGap
			rowH = 0
		}
		m.Sites = append(m.Sites, MapSite{X: x, Y: y, W: w, H: h, Name: truncate(st.Name, 40), Sub: plural(len(svs), "server", "servers"), Class: "site-box"})
		for i, sv := range svs {
			nx := x + sitePad + (i%cols)*(nodeW+nodeGap)
			ny := y + siteHead + (i/cols)*(nodeH+nodeGap)
			class := "srv"
			title := sv.Name + " · " + sv.Kind + " · serial " + sv.Serial + " · " + sv.Status
			if in.Dup != nil && in.Dup(sv.ID) {
				class = "srv dup"
				title += " · DUPLICATE SERIAL"
			} else if sv.Status == mailnet.StatusDecommissioned {
				class = "srv decommissioned"
			}
			if sv.ID == in.Selected {
				class += " sel"
			}
			href := serverHref(sv.ID)
			if in.NodeHref != nil {
				href = in.NodeHref(sv.ID)
			}
			m.Nodes = append(m.Nodes, MapNode{X: nx, Y: ny, W: nodeW, H: nodeH, ID: sv.ID, Href: href, Label: truncate(sv.Name, 18), Title: title, Class: class})
			center[sv.ID] = [2]int{nx + nodeW/2, ny + nodeH/2}
		}
		x += w + siteGap
		rowH = max(rowH, h)
	}
	m.Width = mapMargin
	for _, st := range m.Sites {
		m.Width = max(m.Width, st.X+st.W+mapMargin)
	}
	m.Height = y + rowH + mapMargin
	names := map[int64]string{}
	for _, sv := range in.Servers {
		names[sv.ID] = sv.Name
	}
	lines := map[pairKey]MapLine{}
	add := func(a, b int64, class, title string) {
		ca, okA := center[a]
		cb, okB := center[b]
		if !okA || !okB || class == "" || a == b {
			return
		}
		k := pair(a, b)
		if old, ok := lines[k]; ok && lineRank(old.Class) >= lineRank(class) {
			return
		}
		lines[k] = MapLine{X1: ca[0], Y1: ca[1], X2: cb[0], Y2: cb[1], A: k.a, B: k.b, D: arc(ca[0], ca[1], cb[0], cb[1]), Class: class, Title: title}
	}
	for _, r := range in.Routes {
		title := names[r.FromServerID] + " → " + names[r.ToServerID] + ": configured " + routeLabel(r.Configured) + ", effective " + routeLabel(r.Effective)
		add(r.FromServerID, r.ToServerID, routeClass(r), title)
	}
	for _, c := range in.Connectors {
		if c.RemoteServerID != 0 {
			add(c.ServerID, c.RemoteServerID, "link connector", c.Kind+" connector "+c.Name+": "+names[c.ServerID]+" → "+names[c.RemoteServerID])
		}
	}
	m.Lines = sortedLines(lines)
	if in.Selected != 0 {
		for i := range m.Lines {
			if m.Lines[i].A == in.Selected || m.Lines[i].B == in.Selected {
				m.Lines[i].Class += " hl"
			}
		}
	}
	return m
}

// sortedLines returns the lines in a stable order, the red ones last so
// they are drawn on top.
func sortedLines(lines map[pairKey]MapLine) []MapLine {
	keys := make([]pairKey, 0, len(lines))
	for k := range lines {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		li, lj := lines[keys[i]], lines[keys[j]]
		if ri, rj := lineRank(li.Class), lineRank(lj.Class); ri != rj {
			return ri < rj
		}
		if keys[i].a != keys[j].a {
			return keys[i].a < keys[j].a
		}
		return keys[i].b < keys[j].b
	})
	out := make([]MapLine, len(keys))
	for i, k := range keys {
		out[i] = lines[k]
	}
	return out
}

func buildSiteMap(in MapInput, sites []mailnet.Site, bySite map[int64][]mailnet.Server) *NetMap {
	sm := SiteMapInput{Sites: sites, SiteServers: map[int64]int{}, SiteDups: map[int64]int{}, Servers: len(in.Servers), SiteHref: in.SiteHref}
	siteOf := map[int64]int64{}
	for _, sv := range in.Servers {
		siteOf[sv.ID] = sv.SiteID
	}
	for site, svs := range bySite {
		sm.SiteServers[site] = len(svs)
		for _, sv := range svs {
			if in.Dup != nil && in.Dup(sv.ID) {
				sm.SiteDups[site]++
			}
		}
	}
	for _, r := range in.Routes {
		a, b := siteOf[r.FromServerID], siteOf[r.ToServerID]
		switch class := routeClass(r); {
		case a == b || class == "":
		case class == "link none":
			sm.Pairs = append(sm.Pairs, SitePair{A: a, B: b, Routes: 1, Cut: true})
		default:
			sm.Pairs = append(sm.Pairs, SitePair{A: a, B: b, Routes: 1})
		}
	}
	return BuildSiteMap(sm)
}

// SitePair is the routes between two sites, in either direction: how
// many are drawn (direct, or cut off), and whether any is cut off
// ("No Connection" although configured otherwise).
type SitePair struct {
	A, B   int64
	Routes int
	Cut    bool
}

// SiteMapInput is what a sites-only map is drawn from: aggregates, so a
// network of any size costs its sites, not its servers and routes.
type SiteMapInput struct {
	Sites       []mailnet.Site // sorted by name; those without servers are left out
	SiteServers map[int64]int  // servers per site
	SiteDups    map[int64]int  // duplicate-serial servers per site
	Servers     int            // servers in all
	Pairs       []SitePair     // several entries for one pair add up
	SiteHref    func(id int64) string
}

// BuildSiteMap draws the network as sites only, with a line wherever
// routes join two sites.
func BuildSiteMap(in SiteMapInput) *NetMap {
	m := &NetMap{SitesOnly: true}
	var sites []mailnet.Site
	for _, st := range in.Sites {
		if in.SiteServers[st.ID] > 0 {
			sites = append(sites, st)
		}
	}
	sort.SliceStable(sites, func(i, j int) bool { return sites[i].Name < sites[j].Name })
	drawn := sites
	if len(drawn) > maxMapSites {
		drawn = drawn[:maxMapSites]
	}
	m.Note = "This network has " + Count(in.Servers) + " servers, too many to draw one by one: the map shows sites, " +
		"with a line wherever routes join two sites (red dashed when any of them is effectively \"No Connection\"). " +
		"Sites outlined red hold a server with a duplicate serial. Click a site to see its servers and their routes."
	if len(sites) > len(drawn) {
		m.Note += " Only the first " + strconv.Itoa(len(drawn)) + " of " + strconv.Itoa(len(sites)) + " sites (by name) are drawn."
	}
	center := map[int64][2]int{}
	cols := (mapWidth - 2*mapMargin + siteGap) / (siteOnlyW + siteGap)
	for i, st := range drawn {
		x := mapMargin + (i%cols)*(siteOnlyW+siteGap)
		y := mapMargin + (i/cols)*(siteOnlyH+siteGap*2)
		dups := in.SiteDups[st.ID]
		sub := plural(in.SiteServers[st.ID], "server", "servers")
		if dups > 0 {
			sub += ", " + strconv.Itoa(dups) + " duplicate"
		}
		class := "site-box"
		if dups > 0 {
			class = "site-box dup"
		}
		href := ""
		if in.SiteHref != nil {
			href = in.SiteHref(st.ID)
		}
		m.Sites = append(m.Sites, MapSite{X: x, Y: y, W: siteOnlyW, H: siteOnlyH, ID: st.ID, Href: href, Name: truncate(st.Name, 24), Sub: sub, Class: class})
		center[st.ID] = [2]int{x + siteOnlyW/2, y + siteOnlyH/2}
	}
	rows := (len(drawn) + cols - 1) / cols
	m.Width = mapMargin + min(len(drawn), cols)*(siteOnlyW+siteGap)
	m.Height = 2*mapMargin + rows*(siteOnlyH+siteGap*2)
	lines := map[pairKey]MapLine{}
	routes := map[pairKey]int{} // routes between two sites
	for _, p := range in.Pairs {
		ca, okA := center[p.A]
		cb, okB := center[p.B]
		if p.A == p.B || p.Routes == 0 || !okA || !okB {
			continue
		}
		class := "link direct"
		if p.Cut {
			class = "link none"
		}
		k := pair(p.A, p.B)
		routes[k] += p.Routes
		if old, ok := lines[k]; ok && lineRank(old.Class) >= lineRank(class) {
			continue
		}
		lines[k] = MapLine{X1: ca[0], Y1: ca[1], X2: cb[0], Y2: cb[1], A: k.a, B: k.b, D: arc(ca[0], ca[1], cb[0], cb[1]), Class: class}
	}
	if len(lines) > maxSiteLines {
		// A near mesh of sites draws as a smudge and weighs hundreds of
		// kilobytes: keep every red line and the busiest of the others.
		var others []pairKey
		for k, l := range lines {
			if l.Class != "link none" {
				others = append(others, k)
			}
		}
		sort.Slice(others, func(i, j int) bool {
			if routes[others[i]] != routes[others[j]] {
				return routes[others[i]] > routes[others[j]]
			}
			if others[i].a != others[j].a {
				return others[i].a < others[j].a
			}
			return others[i].b < others[j].b
		})
		total := len(lines)
		keep := min(max(0, maxSiteLines-(total-len(others))), len(others))
		for _, k := range others[keep:] {
			delete(lines, k)
		}
		m.Note += " Of the " + Count(total) + " site pairs joined by routes, every red one and the " +
			Count(keep) + " with the most routes are drawn."
	}
	m.Lines = sortedLines(lines)
	return m
}

// maxSiteLines is the most lines a sites-only map draws.
const maxSiteLines = 300

// MapShowsServers reports whether a network of n servers is drawn server
// by server (and so needs its connectors); above the limit the map shows
// sites only.
func MapShowsServers(n int) bool { return n <= maxMapServers }

// mapClass marks a map with a selected server, so the other lines dim.
func mapClass(m *NetMap) string {
	for _, nd := range m.Nodes {
		if strings.Contains(nd.Class, "sel") {
			return "focus"
		}
	}
	return ""
}
