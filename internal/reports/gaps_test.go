package reports

import (
	"strings"
	"testing"

	"mailnet/internal/mailnet"
)

func TestFindGaps(t *testing.T) {
	srv := func(id int64, status string) mailnet.Server {
		return mailnet.Server{ID: id, Name: "S" + string(rune('0'+id)), Status: status, SiteID: id, Kind: mailnet.ServerKindExchange, Serial: "X" + string(rune('0'+id))}
	}
	running := []mailnet.Server{srv(1, "running"), srv(2, "running"), srv(3, "running"), srv(4, "running")}
	direct := func(a, b int64) mailnet.Route {
		return mailnet.Route{FromServerID: a, ToServerID: b, Configured: mailnet.RouteDirect}
	}
	via := func(a, b, v int64) mailnet.Route {
		return mailnet.Route{FromServerID: a, ToServerID: b, Configured: mailnet.RouteIndirect, ViaServerID: v}
	}
	with := func(sv []mailnet.Server, id int64, f func(*mailnet.Server)) []mailnet.Server {
		out := append([]mailnet.Server(nil), sv...)
		for i := range out {
			if out[i].ID == id {
				f(&out[i])
			}
		}
		return out
	}
	cases := []struct {
		name    string
		servers []mailnet.Server
		routes  []mailnet.Route
		want    []string // "from>to: reason substring"
	}{
		{"direct routes work", running, []mailnet.Route{direct(1, 2), direct(2, 1)}, nil},
		{"a relay that runs and reaches on", running, []mailnet.Route{direct(1, 3), direct(3, 2), via(1, 2, 3)}, nil},
		{"a relay with no entry onward, joined by direct entries", running,
			[]mailnet.Route{direct(1, 3), direct(3, 4), direct(4, 2), via(1, 2, 3)}, nil},
		{"a relay with no way onward", running, []mailnet.Route{direct(1, 3), via(1, 2, 3)},
			[]string{"1>2: no route from the relay S3 onward to S2"}},
		{"a decommissioned relay", with(running, 3, func(s *mailnet.Server) { s.Status = mailnet.StatusDecommissioned }),
			[]mailnet.Route{direct(1, 2), via(2, 1, 3)}, []string{"2>1: its relay S3 is decommissioned"}},
		{"a stopped relay", with(running, 3, func(s *mailnet.Server) { s.Status = mailnet.StatusStopped }),
			[]mailnet.Route{via(1, 2, 3), direct(1, 3), direct(3, 2)}, []string{"1>2: its relay S3 is stopped"}},
		{"an entry to a stopped server is no gap", with(running, 2, func(s *mailnet.Server) { s.Status = mailnet.StatusStopped }),
			[]mailnet.Route{direct(1, 2)}, nil},
		{"No Connection configured is the admin's choice", running,
			[]mailnet.Route{{FromServerID: 1, ToServerID: 2, Configured: mailnet.RouteNone}}, nil},
		{"a loop of relays", running, []mailnet.Route{via(1, 2, 3), via(1, 3, 2)},
			[]string{"1>2: ", "1>3: "}},
		{"an AppleTalk duplicate across sites cuts its routes (Q99393)",
			with(with(running, 1, func(s *mailnet.Server) { s.Kind, s.Serial = mailnet.ServerKindMSMailMac, "DUP" }),
				2, func(s *mailnet.Server) { s.Kind, s.Serial = mailnet.ServerKindMSMailMac, "DUP" }),
			[]mailnet.Route{direct(1, 2), via(3, 4, 1)},
			[]string{"1>2: shares serial number DUP", "3>4: its relay S1 shares serial number DUP"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := FindGaps(c.servers, c.routes, FindConflicts(c.servers))
			if len(got) != len(c.want) {
				t.Fatalf("got %d gaps %+v, want %d", len(got), got, len(c.want))
			}
			for i, g := range got {
				pair := string(rune('0'+g.FromServerID)) + ">" + string(rune('0'+g.ToServerID)) + ": "
				if !strings.HasPrefix(c.want[i], pair) || !strings.Contains(g.Reason, strings.TrimPrefix(c.want[i], pair)) {
					t.Errorf("gap %d: got %s%s, want %s", i, pair, g.Reason, c.want[i])
				}
			}
		})
	}
}
