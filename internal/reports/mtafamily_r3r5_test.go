package reports

import (
	"slices"
	"strings"
	"testing"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/mta"
	"mailnet/internal/store"
)

// The articles' own texts.
const (
	// q169113_9301 is Event 9301 as Q169113 quotes it, wrapped as it is
	// there: the address 4E434F5354455354 is "NCOSTEST", the cluster
	// node's name, and the stack names the receiving server "servername".
	q169113_9301 = `The message transfer gateway that uses the network address
  4E434F5354455354 and the transport stack
  /o=Microsoft/ou=sitename/cn=Configuration/cn=Servers
  /cn=servername/cn=TCP (mtaname) could not be found. Check the
  configuration of the mail gateway. [BASE IL TCP/IP DRVR 36 218] (10)`
	// q256844_9301 is the 9301 warning as Q256844 quotes it: "%2 is the
	// hexadecimal representation of an Internet Protocol (IP) address
	// that is pulled from the IP RAS pool on the receiving server" and %1
	// the transport stack.
	q256844_9301 = `The message transfer gateway that uses the network address %2 and the
  transport stack %1 could not be found. Check the configuration of the mail
  gateway.`
)

// q169113From is Q169113's event with the node's IP address for its name.
func q169113From(ip string) string {
	return strings.Replace(q169113_9301, "4E434F5354455354", mta.EncodeAddress(ip), 1)
}

// q256844At fills Q256844's placeholders: the pool address and the
// receiving server's stack.
func q256844At(poolIP, org, site, receiver string) string {
	return strings.NewReplacer("%2", mta.EncodeAddress(poolIP), "%1", mta.StackDN(org, site, receiver)).Replace(q256844_9301)
}

func TestBuildMTAFindingsClusterAndRAS(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ex := mailnet.ServerKindExchange
	// R3: servername (Q169113's receiver) and EXCLUSTER, a virtual server
	// on the nodes NCOSTEST and NODE2.
	x := mailnet.Server{ID: 1, Name: "servername", Kind: ex, Version: "5.5 SP3", Addresses: []string{"10.0.0.1"}}
	c := mailnet.Server{ID: 2, Name: "EXCLUSTER", Kind: ex, Version: "5.5 SP3", Addresses: []string{"10.0.0.50"}}
	// R5: HUB has the RAS pool; BRANCH dials it.
	hub := mailnet.Server{ID: 3, Name: "HUB", Kind: ex, Version: "5.5 SP3", Addresses: []string{"10.1.0.1"}}
	branch := mailnet.Server{ID: 4, Name: "BRANCH", Kind: ex, Version: "5.5 SP3", Addresses: []string{"10.2.0.9"}}
	branchSP1 := branch
	branchSP1.Version = "5.5.2232.18"
	cluster := &mta.Cluster{VirtualAddress: "10.0.0.50", Nodes: []mta.ClusterNode{{Name: "NCOSTEST", Address: "10.0.0.51"}, {Name: "NODE2", Address: "10.0.0.52"}}}
	pool, err := mta.ParseRASPool("192.168.50.0/24")
	if err != nil {
		t.Fatal(err)
	}
	clusterFacts := mta.Facts{Servers: map[int64]mta.ServerFacts{2: {Cluster: cluster}}}
	rasFacts := func(transports map[int64]string) mta.Facts {
		return mta.Facts{Servers: map[int64]mta.ServerFacts{3: {RASPool: &pool}}, Transports: transports}
	}
	conn := func(id, from, to int64, override string, stack ...string) mailnet.Connector {
		return mailnet.Connector{ID: id, Kind: mailnet.ConnectorX400, Name: "TCP to MTA " + string(rune('A'+id%26)), ServerID: from, RemoteServerID: to, OverrideAddress: override, StackAddresses: stack}
	}
	ev9301 := func(server int64, desc string) store.ReportEvent {
		return store.ReportEvent{ServerID: server, EventID: 9301, Time: now, Description: desc}
	}
	tests := []struct {
		name     string
		servers  []mailnet.Server
		conns    []mailnet.Connector
		facts    mta.Facts
		ev       X400Evidence
		rule     string // "" for no finding of R3 or R5
		severity string
		words    []string
	}{
		{"Q169113: 9301 from the node NCOSTEST on servername, whose connector lists the virtual IP",
			[]mailnet.Server{x, c},
			[]mailnet.Connector{conn(10, 1, 2, "", "10.0.0.50"), conn(11, 2, 1, "", "10.0.0.1")},
			clusterFacts,
			// The article's event, with no server: the stack names it.
			X400Evidence{Events9301: []store.ReportEvent{ev9301(0, q169113_9301)}},
			RuleClusterNode, mailnet.SeverityError,
			[]string{"EXCLUSTER runs on a Microsoft Cluster", "calling servername from its node NCOSTEST instead of its virtual IP 10.0.0.50", "INADDR_ANY", "Remote Host Name", "This will need to be done on both servers"}},
		{"Q169113: the same from the node's IP address",
			[]mailnet.Server{x, c},
			[]mailnet.Connector{conn(10, 1, 2, "", "10.0.0.50"), conn(11, 2, 1, "", "10.0.0.1")},
			clusterFacts,
			X400Evidence{Events9301: []store.ReportEvent{ev9301(1, q169113From("10.0.0.52"))}},
			RuleClusterNode, mailnet.SeverityError,
			[]string{"from its node 10.0.0.52 (node NODE2) instead of its virtual IP 10.0.0.50"}},
		{"Q169113 static: a cluster peer lists only the IP address on the Stack",
			[]mailnet.Server{x, c},
			[]mailnet.Connector{conn(10, 1, 2, "", "10.0.0.50"), conn(11, 2, 1, "", "servername")},
			clusterFacts, X400Evidence{},
			RuleClusterNode, mailnet.SeverityWarning,
			[]string{"message flow will not occur if you just list the IP address on the Stack tab", `"TCP to MTA K" on servername`}},
		{"Q169113's workaround in place: Remote Host Name on both servers",
			[]mailnet.Server{x, c},
			[]mailnet.Connector{conn(10, 1, 2, "", "EXCLUSTER"), conn(11, 2, 1, "", "servername")},
			clusterFacts, X400Evidence{}, "", "", nil},
		{"the cluster sends from its virtual IP by the override (5.5 SP2 and later)",
			[]mailnet.Server{x, c},
			[]mailnet.Connector{conn(10, 1, 2, "", "10.0.0.50"), conn(11, 2, 1, "10.0.0.50", "10.0.0.1")},
			clusterFacts, X400Evidence{}, "", "", nil},
		{"no cluster recorded: Q169113's event is an unknown caller, not R3",
			[]mailnet.Server{x, c},
			[]mailnet.Connector{conn(10, 1, 2, "", "10.0.0.50")},
			mta.Facts{},
			X400Evidence{Events9301: []store.ReportEvent{ev9301(0, q169113_9301)}}, "", "", nil},
		{"Q256844: HUB logs 9301 for a pool address; BRANCH dials over RRAS without an override",
			[]mailnet.Server{hub, branch},
			[]mailnet.Connector{conn(20, 4, 3, "", "10.1.0.1"), conn(21, 3, 4, "", "10.2.0.9")},
			rasFacts(map[int64]string{20: mta.TransportRRAS}),
			X400Evidence{Events9301: []store.ReportEvent{ev9301(3, q256844At("192.168.50.7", "Org", "Site", "HUB"))}},
			RuleRASPool, mailnet.SeverityError,
			[]string{"BRANCH dials HUB over Routing and RAS and presents the pool address 192.168.50.7; HUB's connector expects 10.2.0.9",
				"has no Stack IP Address Override", "generates the 9301 warning", `Stack IP Address Override of connector "TCP to MTA U" to 10.2.0.9`, "in standard dot notation", "restart the MTA on BRANCH"}},
		{"Q256844 static: a dial-up connector without an override",
			[]mailnet.Server{hub, branch},
			[]mailnet.Connector{conn(20, 4, 3, "", "10.1.0.1"), conn(21, 3, 4, "", "10.2.0.9")},
			rasFacts(map[int64]string{20: mta.TransportRRAS}), X400Evidence{},
			RuleRASPool, mailnet.SeverityWarning,
			[]string{"will come from an address of HUB's RAS pool (192.168.50.0-192.168.50.255)", "expects 10.2.0.9"}},
		{"Q256844's resolution in place: the override is the address HUB lists",
			[]mailnet.Server{hub, branch},
			[]mailnet.Connector{conn(20, 4, 3, "10.2.0.9", "10.1.0.1"), conn(21, 3, 4, "", "10.2.0.9")},
			rasFacts(map[int64]string{20: mta.TransportRRAS}),
			X400Evidence{Events9301: []store.ReportEvent{ev9301(3, q256844At("192.168.50.7", "Org", "Site", "HUB"))}},
			"", "", nil},
		{"an override on 5.5 SP1 is ignored: install SP2 first (the seed over Q256844)",
			[]mailnet.Server{hub, branchSP1},
			[]mailnet.Connector{conn(20, 4, 3, "10.2.0.9", "10.1.0.1"), conn(21, 3, 4, "", "10.2.0.9")},
			rasFacts(map[int64]string{20: mta.TransportRRAS}), X400Evidence{},
			RuleRASPool, mailnet.SeverityWarning,
			[]string{"which its MTA (5.5.2232.18 · SP1) ignores", "1. Install Exchange Server 5.5 Service Pack 2 or later on BRANCH first"}},
		{"a pool address calls HUB and no dial-up connector is recorded",
			[]mailnet.Server{hub, branch},
			[]mailnet.Connector{conn(20, 4, 3, "", "10.1.0.1"), conn(21, 3, 4, "", "10.2.0.9")},
			rasFacts(nil),
			X400Evidence{Events9301: []store.ReportEvent{ev9301(3, q256844At("192.168.50.7", "Org", "Site", "HUB"))}},
			RuleRASPool, mailnet.SeverityError,
			[]string{"pulled from the IP RAS pool on the receiving server", "192.168.50.7", "mark its X.400 connector's transport as rras"}},
		{"a network connector and no pool: nothing of Q256844",
			[]mailnet.Server{hub, branch},
			[]mailnet.Connector{conn(20, 4, 3, "", "10.1.0.1"), conn(21, 3, 4, "", "10.2.0.9")},
			mta.Facts{}, X400Evidence{}, "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			servers := map[int64]mailnet.Server{}
			for _, s := range tt.servers {
				servers[s.ID] = s
			}
			res := BuildX400(tt.conns, servers, tt.ev)
			got := BuildMTAFindings(tt.conns, servers, nil, tt.ev, MTAEvidence{Facts: tt.facts}, res.UnknownCallers)
			var mine []Finding
			for _, f := range got {
				if f.Rule == RuleClusterNode || f.Rule == RuleRASPool {
					mine = append(mine, f)
				}
			}
			if tt.rule == "" {
				if len(mine) != 0 {
					t.Fatalf("findings %+v, want none of R3 or R5", mine)
				}
				return
			}
			if len(mine) != 1 || mine[0].Rule != tt.rule {
				t.Fatalf("findings %+v, want one %s", got, tt.rule)
			}
			f := mine[0]
			if f.Severity != tt.severity {
				t.Errorf("severity %q, want %q", f.Severity, tt.severity)
			}
			if want := map[string]string{RuleClusterNode: "Q169113", RuleRASPool: "Q256844"}[tt.rule]; !strings.Contains(f.Article, want) || !strings.Contains(f.Finding, want) {
				t.Errorf("article %q / finding %q do not cite %s", f.Article, f.Finding, want)
			}
			if f.Fix == "" {
				t.Errorf("no fix")
			}
			for _, w := range tt.words {
				if !strings.Contains(f.Finding+" "+f.Fix, w) {
					t.Errorf("finding %q / fix %q lacks %q", f.Finding, f.Fix, w)
				}
			}
		})
	}
}

// A cluster node's or a RAS pool's address that is followed by a 9202 is
// explained by R3 or R5, not taken for a WinSock proxy (R6).
func TestMTAFindingsExplainedCallersAreNoProxy(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ex := mailnet.ServerKindExchange
	x := mailnet.Server{ID: 1, Name: "servername", Kind: ex, Version: "5.5 SP3", Addresses: []string{"10.0.0.1"}}
	c := mailnet.Server{ID: 2, Name: "EXCLUSTER", Kind: ex, Version: "5.5 SP3", Addresses: []string{"10.0.0.50"}}
	servers := map[int64]mailnet.Server{1: x, 2: c}
	conns := []mailnet.Connector{{ID: 10, Kind: mailnet.ConnectorX400, Name: "to cluster", ServerID: 1, RemoteServerID: 2, StackAddresses: []string{"10.0.0.50"}}}
	ev := X400Evidence{
		Events9301: []store.ReportEvent{{ServerID: 1, Time: now, Description: q169113From("10.0.0.51")}},
		Events9202: []store.ReportEvent{{ServerID: 1, Time: now.Add(time.Second), Description: q193380_9202}},
	}
	res := BuildX400(conns, servers, ev)
	// Without the cluster recorded it is R6's unknown caller and 9202.
	before := BuildMTAFindings(conns, servers, nil, ev, MTAEvidence{}, res.UnknownCallers)
	if !slices.ContainsFunc(before, func(f Finding) bool { return f.Rule == RuleProxySource }) {
		t.Fatalf("without the cluster: findings %+v, want %s", before, RuleProxySource)
	}
	facts := mta.Facts{Servers: map[int64]mta.ServerFacts{2: {Cluster: &mta.Cluster{VirtualAddress: "10.0.0.50", Nodes: []mta.ClusterNode{{Name: "NCOSTEST", Address: "10.0.0.51"}}}}}}
	after := BuildMTAFindings(conns, servers, nil, ev, MTAEvidence{Facts: facts}, res.UnknownCallers)
	if slices.ContainsFunc(after, func(f Finding) bool { return f.Rule == RuleProxySource }) || !slices.ContainsFunc(after, func(f Finding) bool { return f.Rule == RuleClusterNode }) {
		t.Fatalf("with the cluster: findings %+v, want %s and no %s", after, RuleClusterNode, RuleProxySource)
	}
}

func TestParseRASPool(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"192.168.50.0/24", "192.168.50.0-192.168.50.255"},
		{"192.168.50.10 - 192.168.50.20", "192.168.50.10-192.168.50.20"},
		{"10.0.0.0/15", "10.0.0.0-10.1.255.255"},
	} {
		p, err := mta.ParseRASPool(tt.in)
		if err != nil || p.String() != tt.want {
			t.Errorf("ParseRASPool(%q) = %v, %v; want %s", tt.in, p, err, tt.want)
		}
	}
	for _, bad := range []string{"", "192.168.50.20-192.168.50.10", "fe80::/64", "192.168.50.1", "a-b"} {
		if _, err := mta.ParseRASPool(bad); err == nil {
			t.Errorf("ParseRASPool(%q) accepted", bad)
		}
	}
}
