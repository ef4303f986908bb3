package reports

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestKeepAndRemove(t *testing.T) {
	tests := []struct {
		name       string
		group      []DuplicateServer
		keep       int64
		removeWant []int64
	}{
		{"most users kept", []DuplicateServer{{ID: 1, UserCount: 2}, {ID: 2, UserCount: 9}, {ID: 3, UserCount: 5}}, 2, []int64{3, 1}},
		{"tie goes to the lowest id", []DuplicateServer{{ID: 7, UserCount: 4}, {ID: 3, UserCount: 4}}, 3, []int64{7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keep, remove := KeepAndRemove(tt.group)
			var ids []int64
			for _, r := range remove {
				ids = append(ids, r.ID)
			}
			if keep.ID != tt.keep || !slices.Equal(ids, tt.removeWant) {
				t.Errorf("keep %d remove %v, want keep %d remove %v", keep.ID, ids, tt.keep, tt.removeWant)
			}
		})
	}
}

func TestDuplicates(t *testing.T) {
	f := newFx(t)
	ctx := context.Background()
	east, west := f.site("East"), f.site("West")
	// Serial 100 at two sites: impacted. Serial 200 on one site: flagged only.
	m1 := f.server("MAC1", east, "msmail-mac", "3.1", "100")
	m2 := f.server("MAC2", west, "msmail-mac", "3.1", "100")
	s1 := f.server("MAC3", east, "msmail-mac", "3.1", "200")
	s2 := f.server("MAC4", east, "msmail-mac", "3.1", "200")
	ok1 := f.server("MAC5", west, "msmail-mac", "3.1", "300")
	ok2 := f.server("MAC6", east, "msmail-mac", "3.1", "400")
	f.server("PC1", east, "msmail-pc", "3.5", "500")

	u1 := f.user("ann", m1, true)
	f.user("bob", m1, true)
	f.user("cat", m1, false) // not listed as configured: not "hidden"
	u4 := f.user("dan", m2, true)
	f.user("eve", s1, true)

	f.route(m1, ok1, "direct", 0)
	f.route(ok1, m2, "direct", 0)
	f.route(ok1, ok2, "indirect", m1)
	f.route(ok1, ok2+1, "direct", 0) // unaffected
	f.route(s1, ok1, "direct", 0)    // single-site group: no impact

	groups, err := Duplicates(ctx, f.st)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 {
		t.Fatalf("%d groups, want 2", len(groups))
	}
	g := groups[0]
	if g.Serial != "100" || !slices.Equal(g.ServerIDs, []int64{m1, m2}) || g.SameSite || !g.Impacted {
		t.Errorf("group 100 = serial %q servers %v same_site %v impacted %v, want 100 [%d %d] false true", g.Serial, g.ServerIDs, g.SameSite, g.Impacted, m1, m2)
	}
	if len(g.RoutesNoConnection) != 3 {
		t.Errorf("routes_no_connection %+v, want the 3 routes to, from or via MAC1/MAC2", g.RoutesNoConnection)
	}
	for _, rt := range g.RoutesNoConnection {
		if rt.Effective != "none" || rt.Reason == "" {
			t.Errorf("route %d->%d effective %q reason %q, want none with a reason", rt.FromServerID, rt.ToServerID, rt.Effective, rt.Reason)
		}
	}
	if !slices.Equal(g.HiddenUserIDs, []int64{u1, u1 + 1, u4}) {
		t.Errorf("hidden_user_ids %v, want [%d %d %d]", g.HiddenUserIDs, u1, u1+1, u4)
	}
	rec := g.Recommendation
	if rec.KeepServerID != m1 || !slices.Equal(rec.RemoveServerIDs, []int64{m2}) || !slices.Equal(rec.MoveUserIDs, []int64{u4}) {
		t.Errorf("recommendation keep %d remove %v move %v, want keep %d remove [%d] move [%d]", rec.KeepServerID, rec.RemoveServerIDs, rec.MoveUserIDs, m1, m2, u4)
	}
	if rec.TargetServerID != ok1 {
		t.Errorf("target %d, want %d (running, same kind, the removed server's site, in no group)", rec.TargetServerID, ok1)
	}
	if !strings.Contains(rec.Text, "not possible to change the serial number") || !strings.Contains(rec.Text, "routing and user name propagation return to normal") {
		t.Errorf("recommendation text %q, want Q99393's resolution", rec.Text)
	}

	g2 := groups[1]
	if g2.Serial != "200" || !g2.SameSite || g2.Impacted || len(g2.RoutesNoConnection) != 0 || len(g2.HiddenUserIDs) != 0 {
		t.Errorf("group 200 = %+v, want same site, not impacted, no routes, no hidden users", g2)
	}
	if !strings.Contains(g2.Impact, "The server on this machine has been stopped") {
		t.Errorf("single-site impact %q, want the standard duplicate message explained", g2.Impact)
	}
	if g2.Recommendation.KeepServerID != s1 || !slices.Equal(g2.Recommendation.RemoveServerIDs, []int64{s2}) || g2.Recommendation.TargetServerID != ok2 {
		t.Errorf("group 200 keep %d target %d, want %d %d", g2.Recommendation.KeepServerID, g2.Recommendation.TargetServerID, s1, ok2)
	}

	// Resolve group 100: move dan, decommission MAC2. The group and its
	// routes' impact disappear.
	f.exec(`UPDATE users SET server_id = ? WHERE id = ?`, ok1, u4)
	f.exec(`UPDATE servers SET status = 'decommissioned' WHERE id = ?`, m2)
	groups, err = Duplicates(ctx, f.st)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || groups[0].Serial != "200" {
		t.Fatalf("after resolving: groups %+v, want only 200", groups)
	}
	c, err := LoadConflicts(ctx, f.st)
	if err != nil {
		t.Fatal(err)
	}
	if c.IsImpacted(m1) {
		t.Errorf("MAC1 still impacted after its duplicate was decommissioned")
	}
}

func TestDuplicatesNone(t *testing.T) {
	f := newFx(t)
	site := f.site("S")
	f.server("A", site, "exchange", "5.5", "1")
	groups, err := Duplicates(context.Background(), f.st)
	if err != nil {
		t.Fatal(err)
	}
	if groups == nil || len(groups) != 0 {
		t.Errorf("groups %v, want an empty list", groups)
	}
}
