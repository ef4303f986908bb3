package reports

import (
	"slices"
	"strings"
	"testing"
	"time"

	"mailnet/internal/mailnet"
)

func TestBuildSerialFindings(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	run := mailnet.StatusRunning
	pc, mac, ex := mailnet.ServerKindMSMailPC, mailnet.ServerKindMSMailMac, mailnet.ServerKindExchange
	sites := map[int64]string{1: "Local", 2: "Engineering"}
	tests := []struct {
		name    string
		servers []mailnet.Server
		conns   []mailnet.Connector
		rule    string // the finding expected; "" for none at all
		ids     []int64
		words   []string
	}{
		{"Q142196: the BackOffice serial 0799-99992",
			[]mailnet.Server{{ID: 1, Name: "PO-A", Kind: pc, Serial: "0799-99992", Status: run}},
			nil, RuleWGPOSerial, []int64{1}, []string{"0799-99992", "Q209486"}},
		// 99992 is also past Q194712's 64,536, so both findings stand.
		{"the BackOffice serial is also past the gateway's range",
			[]mailnet.Server{{ID: 1, Name: "PO-A", Kind: pc, Serial: "0799-99992", Status: run}},
			nil, RuleGatewaySerialRange, []int64{1}, nil},
		{"Q132560 written without the zero",
			[]mailnet.Server{{ID: 1, Name: "PO-A", Kind: pc, Serial: "799-99992", Status: run}},
			nil, RuleWGPOSerial, []int64{1}, nil},
		{"Q194712: 32-64537 exceeds 64,536",
			[]mailnet.Server{{ID: 1, Name: "PO-A", Kind: pc, Serial: "32-64537", Status: run}},
			nil, RuleGatewaySerialRange, []int64{1}, []string{"64,536", "X400gate.exe 3.2.1"}},
		{"two postoffices share a serial (Q151228's 4188)",
			[]mailnet.Server{{ID: 1, Name: "PO-A", Kind: pc, Serial: "22-12345", Status: run}, {ID: 2, Name: "PO-B", Kind: pc, Serial: "22- 12345", Status: run}},
			nil, RulePCDuplicateSerial, []int64{1, 2}, []string{"Event 4188", "Q209486"}},
		{"a postoffice and an Exchange server with one serial string are no pair",
			[]mailnet.Server{{ID: 1, Name: "PO-A", Kind: pc, Serial: "22-12345", Status: run}, {ID: 2, Name: "EX-B", Kind: ex, Serial: "22-12345", Status: run}},
			nil, "", nil, nil},
		{"Q99164: an AppleTalk server without a serial",
			[]mailnet.Server{{ID: 1, Name: "MAC-NEW", Kind: mac, Status: run}},
			nil, RuleUnscannedServer, []int64{1}, []string{"upgrade server"}},
		{"Q105542: named after its serial, one user",
			[]mailnet.Server{{ID: 1, Name: "31-0042", Kind: mac, Serial: "31-0042", UserCount: 1, Status: run}},
			nil, RuleDataFileReset, []int64{1}, []string{"System 7", "Extensions"}},
		{"Q71216: Mail 2.0 in Local, 3.0 in another site",
			[]mailnet.Server{{ID: 1, Name: "MAC-OLD", SiteID: 1, Kind: mac, Version: "2.0", Serial: "20-1", Status: run}, {ID: 2, Name: "MAC-ENG", SiteID: 2, Kind: mac, Version: "3.1", Serial: "31-1", Status: run}},
			nil, RuleMail20SiteIsolation, []int64{1, 2}, []string{"Engineering"}},
		{"Q101931: not heard from for two scans",
			[]mailnet.Server{{ID: 1, Name: "MAC-FAR", Kind: mac, Serial: "31-7", Status: run, LastEventAt: now.Add(-13 * time.Hour)}},
			nil, RuleServerNotSeen, []int64{1}, []string{"13h0m0s"}},
		{"heard from within a scan",
			[]mailnet.Server{{ID: 1, Name: "MAC-NEAR", Kind: mac, Serial: "31-7", Status: run, LastEventAt: now.Add(-5 * time.Hour)}},
			nil, "", nil, nil},
		{"Q151228: two Exchange servers over the MS Mail Connector",
			[]mailnet.Server{{ID: 1, Name: "EX-A", Kind: ex, Serial: "E1", Status: run}, {ID: 2, Name: "EX-B", Kind: ex, Serial: "E2", Status: run}},
			[]mailnet.Connector{{Kind: mailnet.ConnectorMSMail, ServerID: 1, RemoteServerID: 2}, {Kind: mailnet.ConnectorMSMail, ServerID: 2, RemoteServerID: 1}},
			RuleConnectorPOSerial, []int64{1, 2}, []string{"22-28798", "backbone"}},
		{"decommissioned servers are left out",
			[]mailnet.Server{{ID: 1, Name: "PO-A", Kind: pc, Serial: "0799-99992", Status: mailnet.StatusDecommissioned}},
			nil, "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BuildSerialFindings(tt.servers, sites, tt.conns, now)
			if tt.rule == "" {
				if len(got) != 0 {
					t.Fatalf("findings %+v, want none", got)
				}
				return
			}
			i := slices.IndexFunc(got, func(f Finding) bool { return f.Rule == tt.rule })
			if i < 0 {
				t.Fatalf("findings %+v, want one %s", got, tt.rule)
			}
			f := got[i]
			if f.Rule != tt.rule || !slices.Equal(f.ServerIDs, tt.ids) || f.Fix == "" || f.Article == "" {
				t.Errorf("finding %+v, want rule %s for %v with an article and a fix", f, tt.rule, tt.ids)
			}
			for _, w := range tt.words {
				if !strings.Contains(f.Finding+" "+f.Fix, w) {
					t.Errorf("finding %q / fix %q lacks %q", f.Finding, f.Fix, w)
				}
			}
		})
	}
}
