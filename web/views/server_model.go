package views

import (
	"sort"
	"strings"

	"mailnet/internal/mailnet"
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

	Users      []mailnet.User // the first page, matching Q
	UserLimit  int
	Q          string
	Routes     []mailnet.Route // configured and effective, to or from the server
	Connectors []mailnet.Connector
	Names      map[int64]string // server names by id
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
