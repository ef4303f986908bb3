package views

import (
	"sort"
	"strings"

	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
)

// ServerDetail is the page of one server.
type ServerDetail struct {
	Server   mailnet.Server
	SiteName string
	// Serial sharing (Q99393): the other live servers with this serial,
	// and whether the group spans sites (routing and listing cut off).
	Duplicate bool
	Impacted  bool
	Sharing   []mailnet.Server
	SiteNames map[int64]string

	Users        []mailnet.User // one page, matching Q
	UsersMatched int            // users matching Q, on every page
	UserPager    Pager
	UsersOpen    bool // the users section starts unfolded
	Q            string

	Routes       []mailnet.Route // one page, configured and effective, to or from the server
	RoutesTotal  int
	RoutesCutOff int // entries effectively "No Connection" because of the serial
	RoutePager   Pager
	RoutesOpen   bool

	Connectors []mailnet.Connector
	// X400 are the X.400 check's findings (KB197378) by connector id.
	X400 map[int64]reports.X400Finding
	// DX is set when the server is a directory-synchronization server.
	DX *mailnet.DXServer

	Names map[int64]string // server names by id
}

// X400Problems are the findings of this server's connectors whose status
// is not ok, in connector order.
func (d *ServerDetail) X400Problems() []reports.X400Finding {
	var out []reports.X400Finding
	for _, c := range d.Connectors {
		if f, ok := d.X400[c.ID]; ok && f.Status != reports.X400OK {
			out = append(out, f)
		}
	}
	return out
}

// x400Problem is the connector's finding when it is a problem.
func (d *ServerDetail) x400Problem(id int64) (reports.X400Finding, bool) {
	f, ok := d.X400[id]
	return f, ok && f.Status != reports.X400OK
}

// X400Href links to a finding on the X.400 page.
func X400Href(f reports.X400Finding) string {
	return "/x400?server_id=" + itoa(f.ServerID) + "#c-" + itoa(f.ConnectorID)
}

func (d *ServerDetail) name(id int64) string {
	if id == 0 {
		return "—"
	}
	if n, ok := d.Names[id]; ok {
		return n
	}
	return "server " + itoa(id)
}

func (d *ServerDetail) siteOf(sv mailnet.Server) string {
	if n, ok := d.SiteNames[sv.SiteID]; ok {
		return n
	}
	return "site " + itoa(sv.SiteID)
}

// routesNone counts the routes whose effective connection is none while
// configured otherwise.
func routesNone(rs []mailnet.Route) int {
	n := 0
	for _, r := range rs {
		if r.Effective == mailnet.RouteNone && r.Configured != mailnet.RouteNone {
			n++
		}
	}
	return n
}

func joinList(xs []string) string {
	if len(xs) == 0 {
		return "—"
	}
	return strings.Join(xs, ", ")
}

// loggingPairs lists a connector's logging categories and levels, by
// category.
func loggingPairs(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+": "+v)
	}
	sort.Strings(out)
	return out
}

func routeRowClass(r mailnet.Route) string {
	if r.Effective == mailnet.RouteNone && r.Configured != mailnet.RouteNone {
		return "eff-none"
	}
	return ""
}

func nameOf(names map[int64]string, id int64) string {
	if n, ok := names[id]; ok {
		return n
	}
	return "server " + itoa(id)
}

// routeLabel is how the Mail Network Administrator names a connection.
func routeLabel(c string) string {
	switch c {
	case mailnet.RouteNone:
		return "No Connection"
	case mailnet.RouteDirect:
		return "direct"
	case mailnet.RouteIndirect:
		return "indirect"
	}
	return c
}
