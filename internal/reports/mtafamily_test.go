package reports

import (
	"slices"
	"strings"
	"testing"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// The articles' own texts.
const (
	q243632_9156 = `A resource limit has been reached while attempting to open an association. There are
    no free control blocks available for network type 1. The configured count is 70. [BASE IL MAIN BASE 1
    282] (10)`
	q306959_4282 = `An interoperability error occurred. Interface protocol 131 was violated. Error code=8453 [POP4
    MAIN BASE 1 18] (14)`
)

func TestBuildMTAFindings(t *testing.T) {
	now := time.Now()
	ex := mailnet.ServerKindExchange
	x := mailnet.Server{ID: 1, Name: "EXCH-X", Kind: ex, Version: "5.0 (build 1457.8)", Addresses: []string{"10.0.0.1"}}
	y := mailnet.Server{ID: 2, Name: "EXCH-Y", Kind: ex, Version: "5.5 SP3", Addresses: []string{"10.0.0.2"}}
	z := mailnet.Server{ID: 3, Name: "EXCH-Z", Kind: ex, Version: "5.5 SP3", Addresses: []string{"10.0.0.3"}}
	servers := map[int64]mailnet.Server{1: x, 2: y, 3: z}
	conn := func(id, from, to int64, stack ...string) mailnet.Connector {
		return mailnet.Connector{ID: id, Kind: mailnet.ConnectorX400, Name: "c", ServerID: from, RemoteServerID: to, StackAddresses: stack}
	}
	tests := []struct {
		name  string
		conns []mailnet.Connector
		ev    X400Evidence
		mev   MTAEvidence
		rule  string // "" for no finding
		words []string
	}{
		{"Q254909: 9301 from an unknown address, then 9202",
			[]mailnet.Connector{conn(10, 1, 2, "10.0.0.2")},
			X400Evidence{
				Events9301: []store.ReportEvent{{ServerID: 2, Time: now, Description: gateway9301("C0A80101", "EXCH-Y")}}, // 192.168.1.1
				Events9202: []store.ReportEvent{{ServerID: 2, Time: now.Add(time.Second), Description: q193380_9202}},
			}, MTAEvidence{}, RuleProxySource, []string{"192.168.1.1", "Mspclnt.ini", "Disable=1"}},
		{"an unknown caller without a 9202 is only an unknown caller",
			[]mailnet.Connector{conn(10, 1, 2, "10.0.0.2")},
			X400Evidence{Events9301: []store.ReportEvent{{ServerID: 2, Time: now, Description: gateway9301("C0A80101", "EXCH-Y")}}},
			MTAEvidence{}, "", nil},
		{"Q200588: two connectors to one address on Exchange 5.0",
			[]mailnet.Connector{conn(10, 1, 2, "10.0.0.2"), conn(11, 1, 3, "10.0.0.2")},
			X400Evidence{}, MTAEvidence{}, RuleDuplicateTarget, []string{"10.0.0.2", "Q198772"}},
		{"the same on 5.5 SP1 and later is allowed",
			[]mailnet.Connector{conn(10, 2, 1, "10.0.0.1"), conn(11, 2, 3, "10.0.0.1")},
			X400Evidence{}, MTAEvidence{}, "", nil},
		{"Q243632: 70 control blocks for seven connectors (80 needed)",
			[]mailnet.Connector{conn(10, 2, 1), conn(11, 2, 3), conn(12, 2, 1), conn(13, 2, 3), conn(14, 2, 1), conn(15, 2, 3), conn(16, 2, 1)},
			X400Evidence{}, MTAEvidence{Events9156: []store.ReportEvent{{ServerID: 2, EventID: 9156, Time: now, Description: q243632_9156}}},
			RuleControlBlocks, []string{"only 70", "= 80", "TCP/IP Control blocks to 80"}},
		{"70 control blocks are enough for six connectors",
			[]mailnet.Connector{conn(10, 2, 1), conn(11, 2, 3), conn(12, 2, 1), conn(13, 2, 3), conn(14, 2, 1), conn(15, 2, 3)},
			X400Evidence{}, MTAEvidence{Events9156: []store.ReportEvent{{ServerID: 2, EventID: 9156, Time: now, Description: q243632_9156}}},
			"", nil},
		{"Q306959: 4282 on a link that names its peer by host",
			[]mailnet.Connector{conn(10, 2, 3, "exch-z.org.com"), conn(11, 3, 2, "10.0.0.2")},
			X400Evidence{}, MTAEvidence{StallEvents: []store.ReportEvent{{ServerID: 2, EventID: 4282, Time: now, Description: q306959_4282}}},
			RuleBidirectionalHalt, []string{"EXCH-Y <-> EXCH-Z", "Event 4282", "restart both MTAs"}},
		{"4282 on a link with IP addresses at both ends is not Q306959",
			[]mailnet.Connector{conn(10, 2, 3, "10.0.0.3"), conn(11, 3, 2, "10.0.0.2")},
			X400Evidence{}, MTAEvidence{StallEvents: []store.ReportEvent{{ServerID: 2, EventID: 4282, Time: now, Description: q306959_4282}}},
			"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := BuildX400(tt.conns, servers, tt.ev)
			got := BuildMTAFindings(tt.conns, servers, nil, tt.ev, tt.mev, res.UnknownCallers)
			if tt.rule == "" {
				if len(got) != 0 {
					t.Fatalf("findings %+v, want none", got)
				}
				return
			}
			i := slices.IndexFunc(got, func(f Finding) bool { return f.Rule == tt.rule })
			if i < 0 {
				t.Fatalf("findings %+v, want %s", got, tt.rule)
			}
			for _, w := range tt.words {
				if !strings.Contains(got[i].Finding+" "+got[i].Fix, w) {
					t.Errorf("finding %q / fix %q lacks %q", got[i].Finding, got[i].Fix, w)
				}
			}
		})
	}
}
