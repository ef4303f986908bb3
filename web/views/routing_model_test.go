package views

import (
	"strconv"
	"strings"
	"testing"

	"mailnet/internal/mailnet"
)

func TestBuildMap(t *testing.T) {
	sites := []mailnet.Site{{ID: 1, Name: "Redmond"}, {ID: 2, Name: "Paris"}}
	servers := func(n int) []mailnet.Server {
		var out []mailnet.Server
		for i := 1; i <= n; i++ {
			out = append(out, mailnet.Server{ID: int64(i), Name: "S" + strconv.Itoa(i), SiteID: int64(1 + i%2), Serial: strconv.Itoa(i), Status: mailnet.StatusRunning})
		}
		return out
	}
	dup := func(id int64) bool { return id == 1 || id == 2 }
	routes := []mailnet.Route{
		{FromServerID: 1, ToServerID: 3, Configured: mailnet.RouteDirect, Effective: mailnet.RouteNone},
		{FromServerID: 3, ToServerID: 4, Configured: mailnet.RouteDirect, Effective: mailnet.RouteDirect},
		{FromServerID: 4, ToServerID: 5, Configured: mailnet.RouteIndirect, ViaServerID: 3, Effective: mailnet.RouteIndirect},
	}
	tests := []struct {
		name                 string
		servers              int
		wantNodes, wantSites int
		wantSitesOnly        bool
		wantNone, wantDirect int
	}{
		{"small network draws servers", 5, 5, 2, false, 1, 1},
		{"large network draws sites only", maxMapServers + 1, 0, 2, true, 0, 1}, // 1->3 is within a site
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := BuildMap(MapInput{Sites: sites, Servers: servers(tc.servers), Routes: routes, Dup: dup})
			if len(m.Nodes) != tc.wantNodes || len(m.Sites) != tc.wantSites || m.SitesOnly != tc.wantSitesOnly {
				t.Fatalf("nodes %d, sites %d, sites only %v; want %d, %d, %v", len(m.Nodes), len(m.Sites), m.SitesOnly, tc.wantNodes, tc.wantSites, tc.wantSitesOnly)
			}
			if tc.wantSitesOnly && m.Note == "" {
				t.Errorf("sites-only map has no note")
			}
			none, direct := 0, 0
			for _, l := range m.Lines {
				switch l.Class {
				case "link none":
					none++
				case "link direct":
					direct++
				}
				if l.D == "" {
					t.Errorf("line %+v has no path", l)
				}
			}
			if none != tc.wantNone || direct != tc.wantDirect {
				t.Errorf("lines: %d none, %d direct; want %d, %d", none, direct, tc.wantNone, tc.wantDirect)
			}
			for _, nd := range m.Nodes {
				if want := dup(nd.ID); (nd.Class == "srv dup") != want {
					t.Errorf("node %d class %q, duplicate %v", nd.ID, nd.Class, want)
				}
			}
		})
	}
}

func TestSerialAnchor(t *testing.T) {
	for in, want := range map[string]string{"31-0042": "serial-31-0042", "A B/C": "serial-A-B-C", `"><x`: "serial----x"} {
		if got := SerialAnchor(in); got != want {
			t.Errorf("SerialAnchor(%q) = %q, want %q", in, got, want)
		}
	}
}

// A sites-only map of a near mesh draws at most maxSiteLines lines:
// every red one, then the busiest pairs.
func TestSiteMapCapsLines(t *testing.T) {
	var sites []mailnet.Site
	var servers []mailnet.Server
	for i := 1; i <= 60; i++ {
		sites = append(sites, mailnet.Site{ID: int64(i), Name: "S" + strconv.Itoa(100+i)})
		for j := 0; j < 3; j++ {
			id := int64(i*10 + j)
			servers = append(servers, mailnet.Server{ID: id, Name: "X" + strconv.FormatInt(id, 10), SiteID: int64(i), Status: mailnet.StatusRunning})
		}
	}
	var routes []mailnet.Route
	for a := 1; a <= 60; a++ {
		for b := a + 1; b <= 60; b++ {
			routes = append(routes, mailnet.Route{FromServerID: int64(a * 10), ToServerID: int64(b * 10), Configured: mailnet.RouteDirect, Effective: mailnet.RouteDirect})
		}
	}
	// One red route, and one pair with three routes.
	routes = append(routes, mailnet.Route{FromServerID: 591, ToServerID: 601, Configured: mailnet.RouteDirect, Effective: mailnet.RouteNone},
		mailnet.Route{FromServerID: 11, ToServerID: 21, Configured: mailnet.RouteDirect, Effective: mailnet.RouteDirect},
		mailnet.Route{FromServerID: 12, ToServerID: 22, Configured: mailnet.RouteDirect, Effective: mailnet.RouteDirect})
	m := BuildMap(MapInput{Sites: sites, Servers: servers, Routes: routes})
	if !m.SitesOnly || len(m.Lines) != maxSiteLines {
		t.Fatalf("sites only %v, %d lines; want a sites map of %d lines", m.SitesOnly, len(m.Lines), maxSiteLines)
	}
	var red, busy bool
	for _, l := range m.Lines {
		red = red || l.Class == "link none"
		busy = busy || (l.A == 1 && l.B == 2)
	}
	if !red || !busy {
		t.Errorf("red line kept %v, busiest pair kept %v; want both", red, busy)
	}
	if !strings.Contains(m.Note, "1,770 site pairs") {
		t.Errorf("note %q does not say how many pairs there are", m.Note)
	}
}
