package store_test

import (
	"fmt"
	"slices"
	"testing"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// The routing page's SQL: the site pairs count direct and cut-off entries
// per pair of sites (an entry without a via server counts too: its NULL
// via must not make the pair's sums NULL), and the table's filters select
// what the Go filter of the old page did: from, to or via a server; cut
// off, i.e. configured other than "No Connection" and touching a cut-off
// server.
func TestRouteTableAndSitePairs(t *testing.T) {
	s := Open(t)
	a, b := seedSite(t, s, "A"), seedSite(t, s, "B")
	a1, a2 := seedServer(t, s, a, "A1", "1"), seedServer(t, s, a, "A2", "2")
	b1, b2 := seedServer(t, s, b, "B1", "3"), seedServer(t, s, b, "B2", "4")
	routes := []mailnet.Route{
		{FromServerID: a1.ID, ToServerID: b1.ID, Configured: mailnet.RouteDirect},
		{FromServerID: a1.ID, ToServerID: a2.ID, Configured: mailnet.RouteDirect},                       // same site: no pair
		{FromServerID: a2.ID, ToServerID: b2.ID, Configured: mailnet.RouteIndirect, ViaServerID: b1.ID}, // cut via B1
		{FromServerID: b2.ID, ToServerID: a1.ID, Configured: mailnet.RouteNone},                         // none: never cut
		{FromServerID: b1.ID, ToServerID: a2.ID, Configured: mailnet.RouteDirect},                       // cut from B1
		{FromServerID: b2.ID, ToServerID: a2.ID, Configured: mailnet.RouteDirect},
	}
	write(t, s, func(tx *store.Tx) error {
		for _, rt := range routes {
			if err := tx.UpsertRoute(adminCtx, rt); err != nil {
				return err
			}
		}
		return nil
	})
	cut := []int64{b1.ID}

	pairs, err := s.RouteSitePairs(adminCtx, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.RouteSitePair{{FromSite: a, ToSite: b, Direct: 1}, {FromSite: b, ToSite: a, Direct: 2}}
	if !slices.Equal(pairs, want) {
		t.Errorf("pairs without cut-off servers: %+v, want %+v", pairs, want)
	}
	pairs, err = s.RouteSitePairs(adminCtx, cut)
	if err != nil {
		t.Fatal(err)
	}
	want = []store.RouteSitePair{{FromSite: a, ToSite: b, Direct: 0, Cut: 2}, {FromSite: b, ToSite: a, Direct: 1, Cut: 1}}
	if !slices.Equal(pairs, want) {
		t.Errorf("pairs with B1 cut off: %+v, want %+v", pairs, want)
	}

	key := func(rs []mailnet.Route) []string {
		var out []string
		for _, r := range rs {
			out = append(out, fmt.Sprintf("%d>%d", r.FromServerID, r.ToServerID))
		}
		return out
	}
	for _, c := range []struct {
		name string
		f    store.RouteTableFilter
		want []mailnet.Route
	}{
		{"all", store.RouteTableFilter{}, routes},
		{"server B1 (from, to or via)", store.RouteTableFilter{ServerID: b1.ID}, []mailnet.Route{routes[0], routes[2], routes[4]}},
		{"cut off", store.RouteTableFilter{CutOnly: true, CutBy: cut}, []mailnet.Route{routes[0], routes[2], routes[4]}},
		{"cut off and A2", store.RouteTableFilter{ServerID: a2.ID, CutOnly: true, CutBy: cut}, []mailnet.Route{routes[2], routes[4]}},
		{"cut off with none cut", store.RouteTableFilter{CutOnly: true}, nil},
	} {
		got, err := s.RouteTable(adminCtx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		wantKeys := key(c.want)
		slices.Sort(wantKeys)
		gotKeys := key(got) // compared as sets: the order is tested by the page below
		slices.Sort(gotKeys)
		if !slices.Equal(gotKeys, wantKeys) {
			t.Errorf("%s: %v, want %v", c.name, gotKeys, wantKeys)
		}
		n, err := s.CountRouteTable(adminCtx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(c.want) {
			t.Errorf("%s: count %d, want %d", c.name, n, len(c.want))
		}
	}
	page, err := s.RouteTable(adminCtx, store.RouteTableFilter{Offset: 2, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	all, _ := s.RouteTable(adminCtx, store.RouteTableFilter{})
	if !slices.Equal(key(page), key(all[2:4])) {
		t.Errorf("offset 2 limit 2: %v, want %v", key(page), key(all[2:4]))
	}
}
