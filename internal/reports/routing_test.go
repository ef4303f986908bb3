package reports_test

import (
	"strings"
	"testing"

	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
)

func TestEffectiveRoute(t *testing.T) {
	// Servers 1 and 2 share serial 111 across two sites (impacted); 3 and 4
	// share 222 on one site (flagged, not impacted); 5 and 6 are unique.
	// 8 and 9 are Exchange servers whose serial strings match 5's and 1's
	// at other sites: serials compare only within a product.
	mac := mailnet.ServerKindMSMailMac
	c := reports.FindConflicts([]mailnet.Server{
		{ID: 1, SiteID: 10, Kind: mac, Serial: "111", Status: mailnet.StatusRunning},
		{ID: 2, SiteID: 20, Kind: mac, Serial: "111", Status: mailnet.StatusRunning},
		{ID: 3, SiteID: 10, Kind: mac, Serial: "222", Status: mailnet.StatusRunning},
		{ID: 4, SiteID: 10, Kind: mac, Serial: "222", Status: mailnet.StatusStopped},
		{ID: 5, SiteID: 10, Kind: mac, Serial: "333", Status: mailnet.StatusRunning},
		{ID: 6, SiteID: 20, Kind: mailnet.ServerKindExchange, Serial: "444", Status: mailnet.StatusRunning},
		{ID: 7, SiteID: 20, Kind: mac, Serial: "333", Status: mailnet.StatusDecommissioned},
		{ID: 8, SiteID: 20, Kind: mailnet.ServerKindExchange, Serial: "333", Status: mailnet.StatusRunning},
		{ID: 9, SiteID: 30, Kind: mailnet.ServerKindExchange, Serial: "111", Status: mailnet.StatusRunning},
	})
	names := map[int64]string{1: "MAC-A", 2: "MAC-B", 5: "HUB", 6: "EXCH"}
	tests := []struct {
		name          string
		rt            mailnet.Route
		wantEffective string
		wantReason    []string // substrings; none means the reason is empty
	}{
		{"direct between unique servers", mailnet.Route{FromServerID: 5, ToServerID: 6, Configured: "direct"}, "direct", nil},
		{"indirect between unique servers", mailnet.Route{FromServerID: 5, ToServerID: 6, Configured: "indirect", ViaServerID: 3}, "indirect", nil},
		{"none stays none", mailnet.Route{FromServerID: 5, ToServerID: 6, Configured: "none"}, "none", nil},
		{"from impacted", mailnet.Route{FromServerID: 1, ToServerID: 6, Configured: "direct"}, "none", []string{"MAC-A", "111", "No Connection"}},
		{"to impacted", mailnet.Route{FromServerID: 5, ToServerID: 2, Configured: "direct"}, "none", []string{"MAC-B", "111", "No Connection"}},
		{"via impacted", mailnet.Route{FromServerID: 5, ToServerID: 6, Configured: "indirect", ViaServerID: 2}, "none", []string{"MAC-B", "111"}},
		{"single-site group is not impacted", mailnet.Route{FromServerID: 3, ToServerID: 4, Configured: "direct"}, "direct", nil},
		{"decommissioned twin does not count", mailnet.Route{FromServerID: 5, ToServerID: 6, Configured: "direct"}, "direct", nil},
		{"an Exchange serial string is no AppleTalk twin", mailnet.Route{FromServerID: 8, ToServerID: 9, Configured: "direct"}, "direct", nil},
		{"impacted and configured none", mailnet.Route{FromServerID: 1, ToServerID: 5, Configured: "none"}, "none", []string{"MAC-A"}},
		{"unknown name", mailnet.Route{FromServerID: 6, ToServerID: 2, Configured: "direct"}, "none", []string{"MAC-B"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := reports.EffectiveRoute(tt.rt, c, names)
			if got.Effective != tt.wantEffective {
				t.Errorf("effective: got %q, want %q", got.Effective, tt.wantEffective)
			}
			if got.Configured != tt.rt.Configured || got.FromServerID != tt.rt.FromServerID || got.ViaServerID != tt.rt.ViaServerID {
				t.Errorf("configured entry changed: got %+v, want %+v", got, tt.rt)
			}
			if len(tt.wantReason) == 0 && got.Reason != "" {
				t.Errorf("reason: got %q, want empty", got.Reason)
			}
			for _, s := range tt.wantReason {
				if !strings.Contains(got.Reason, s) {
					t.Errorf("reason %q does not contain %q", got.Reason, s)
				}
			}
		})
	}
	t.Run("missing name reads server N", func(t *testing.T) {
		got := reports.EffectiveRoute(mailnet.Route{FromServerID: 1, ToServerID: 5, Configured: "direct"}, c, nil)
		if !strings.Contains(got.Reason, "server 1") {
			t.Errorf("reason %q does not contain %q", got.Reason, "server 1")
		}
	})
}
