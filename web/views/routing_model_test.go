package views

import (
	"strconv"
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
