package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

var adminCtx = mailnet.WithPrincipal(context.Background(), &mailnet.Principal{Name: "store-test", Role: mailnet.RoleAdmin})

// write runs fn in a write transaction and fails the test on error.
func write(t *testing.T, s *store.Store, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := s.Write(adminCtx, fn); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// seedServer adds a site (if name is new) and a server on it.
func seedServer(t *testing.T, s *store.Store, site int64, name, serial string, addrs ...string) mailnet.Server {
	t.Helper()
	sv := mailnet.Server{Name: name, SiteID: site, Kind: mailnet.ServerKindExchange, Serial: serial, Addresses: addrs, Status: mailnet.StatusRunning}
	write(t, s, func(tx *store.Tx) error { return tx.InsertServer(adminCtx, &sv) })
	return sv
}

func seedSite(t *testing.T, s *store.Store, name string) int64 {
	t.Helper()
	var st mailnet.Site
	write(t, s, func(tx *store.Tx) (err error) { st, err = tx.InsertSite(adminCtx, name); return err })
	return st.ID
}

func TestSitesAndServersRoundTrip(t *testing.T) {
	s := Open(t)
	hq := seedSite(t, s, "HQ")
	a := seedServer(t, s, hq, "EXCH-A", "111", "10.0.0.5", "10.0.0.6")
	got, err := s.ServerByID(adminCtx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "EXCH-A" || got.Serial != "111" || !slices.Equal(got.Addresses, []string{"10.0.0.5", "10.0.0.6"}) || got.Status != "running" {
		t.Errorf("got %+v, want EXCH-A serial 111 with two addresses, running", got)
	}
	sites, err := s.Sites(adminCtx)
	if err != nil || len(sites) != 1 || sites[0].Name != "HQ" {
		t.Errorf("sites: got %v, %v; want [HQ]", sites, err)
	}
	if _, err := s.ServerByID(adminCtx, 999); mailnet.ErrorKind(err) != mailnet.KindNotFound {
		t.Errorf("missing server: got %v, want not found", err)
	}
}

func TestUniqueNamesAreConflictsNamingTheField(t *testing.T) {
	s := Open(t)
	hq := seedSite(t, s, "HQ")
	seedServer(t, s, hq, "MAC-A", "1")
	tests := []struct {
		name  string
		fn    func(tx *store.Tx) error
		field string
	}{
		{"site name, other case", func(tx *store.Tx) error { _, err := tx.InsertSite(adminCtx, "hq"); return err }, "name"},
		{"server name", func(tx *store.Tx) error {
			return tx.InsertServer(adminCtx, &mailnet.Server{Name: "mac-a", SiteID: hq, Kind: "msmail-mac", Serial: "2", Status: "running"})
		}, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Write(adminCtx, tt.fn)
			e, ok := mailnet.AsError(err)
			if !ok || e.Kind != mailnet.KindConflict || e.Field != tt.field {
				t.Errorf("got %v, want a conflict on %s", err, tt.field)
			}
		})
	}
}

func TestDuplicateSerialsAreStored(t *testing.T) {
	s := Open(t)
	hq, br := seedSite(t, s, "HQ"), seedSite(t, s, "Branch")
	a := seedServer(t, s, hq, "MAC-A", "4711")
	b := seedServer(t, s, br, "MAC-B", "4711")
	var got []mailnet.Server
	write(t, s, func(tx *store.Tx) (err error) { got, err = tx.ServersWithSerial(adminCtx, "4711"); return err })
	if len(got) != 2 || got[0].ID != a.ID || got[1].ID != b.ID {
		t.Errorf("servers with serial 4711: got %v, want %d and %d", got, a.ID, b.ID)
	}
}

func TestCountersKeptByWrites(t *testing.T) {
	s := Open(t)
	hq := seedSite(t, s, "HQ")
	sv := seedServer(t, s, hq, "EXCH-A", "1")
	u := mailnet.User{Alias: "ann", DisplayName: "Ann", ServerID: sv.ID, InAllListing: true}
	write(t, s, func(tx *store.Tx) error { return tx.InsertUser(adminCtx, &u) })
	at := time.Date(2024, 5, 1, 9, 30, 0, 0, time.UTC)
	msgs := make([]mailnet.Message, 250)
	for i := range msgs {
		msgs[i] = mailnet.Message{Folder: "Inbox", Subject: "hello", Size: int64(i), ReceivedAt: at}
	}
	write(t, s, func(tx *store.Tx) error { return tx.DeliverMessages(adminCtx, u.ID, sv.ID, msgs) })
	for i := 1; i < len(msgs); i++ {
		if msgs[i].ID <= msgs[i-1].ID {
			t.Fatalf("message ids not ascending at %d: %d after %d", i, msgs[i].ID, msgs[i-1].ID)
		}
	}
	gotSv, _ := s.ServerByID(adminCtx, sv.ID)
	gotU, _ := s.UserByID(adminCtx, u.ID)
	if gotSv.UserCount != 1 || gotSv.MessageCount != 250 || gotU.MessageCount != 250 {
		t.Errorf("counters: server users %d messages %d, user messages %d; want 1, 250, 250", gotSv.UserCount, gotSv.MessageCount, gotU.MessageCount)
	}
	page, err := s.MessagesOnServer(adminCtx, u.ID, sv.ID, msgs[99].ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 100 || page[0].ID != msgs[100].ID || !page[0].ReceivedAt.Equal(at) || page[0].Size != 100 {
		t.Errorf("second page: got %d messages starting %+v, want 100 starting at id %d", len(page), page[0], msgs[100].ID)
	}
}

func TestUsersFilterAndKeyset(t *testing.T) {
	s := Open(t)
	hq := seedSite(t, s, "HQ")
	a := seedServer(t, s, hq, "A", "1")
	b := seedServer(t, s, hq, "B", "2")
	for i, alias := range []string{"ann", "bob", "annette", "carl_x", "dora"} {
		sv := a.ID
		if i%2 == 1 {
			sv = b.ID
		}
		u := mailnet.User{Alias: alias, DisplayName: "User " + alias, ServerID: sv, InAllListing: true}
		write(t, s, func(tx *store.Tx) error { return tx.InsertUser(adminCtx, &u) })
	}
	aliases := func(us []mailnet.User) []string {
		var out []string
		for _, u := range us {
			out = append(out, u.Alias)
		}
		return out
	}
	tests := []struct {
		name string
		f    store.UserFilter
		want []string
	}{
		{"all", store.UserFilter{}, []string{"ann", "bob", "annette", "carl_x", "dora"}},
		{"server A", store.UserFilter{ServerID: a.ID}, []string{"ann", "annette", "dora"}},
		{"q on alias, any case", store.UserFilter{Q: "ANN"}, []string{"ann", "annette"}},
		{"q on display name", store.UserFilter{Q: "user d"}, []string{"dora"}},
		{"underscore is literal", store.UserFilter{Q: "_"}, []string{"carl_x"}},
		{"limit", store.UserFilter{Limit: 2}, []string{"ann", "bob"}},
		{"after id", store.UserFilter{AfterID: 2, Limit: 2}, []string{"annette", "carl_x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Users(adminCtx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(aliases(got), tt.want) {
				t.Errorf("got %v, want %v", aliases(got), tt.want)
			}
		})
	}
}

func TestServerDependentsAndDelete(t *testing.T) {
	s := Open(t)
	hq := seedSite(t, s, "HQ")
	a := seedServer(t, s, hq, "A", "1")
	b := seedServer(t, s, hq, "B", "2")
	c := seedServer(t, s, hq, "C", "3")
	write(t, s, func(tx *store.Tx) error {
		if err := tx.UpsertRoute(adminCtx, mailnet.Route{FromServerID: a.ID, ToServerID: b.ID, Configured: "direct"}); err != nil {
			return err
		}
		return tx.UpsertRoute(adminCtx, mailnet.Route{FromServerID: b.ID, ToServerID: c.ID, Configured: "indirect", ViaServerID: a.ID})
	})
	conn := mailnet.Connector{Kind: "x400", Name: "TCP to B", ServerID: b.ID, RemoteServerID: a.ID}
	write(t, s, func(tx *store.Tx) error { return tx.InsertConnector(adminCtx, &conn) })
	var deps []string
	write(t, s, func(tx *store.Tx) (err error) { deps, err = tx.ServerDependents(adminCtx, a.ID); return err })
	if !slices.Equal(deps, []string{"1 connector"}) {
		t.Errorf("dependents of A: got %v, want [1 connector]", deps)
	}
	write(t, s, func(tx *store.Tx) (err error) { deps, err = tx.ServerDependents(adminCtx, c.ID); return err })
	if len(deps) != 0 {
		t.Errorf("dependents of C: got %v, want none", deps)
	}
	var n int64
	write(t, s, func(tx *store.Tx) (err error) { n, err = tx.DeleteServer(adminCtx, c.ID); return err })
	if n != 1 {
		t.Errorf("routes removed with C: got %d, want 1", n)
	}
	routes, _ := s.Routes(adminCtx, 0)
	if len(routes) != 1 || routes[0].ToServerID != b.ID {
		t.Errorf("routes left: got %v, want only A->B", routes)
	}
}

func TestConnectorDNAndRemote(t *testing.T) {
	s := Open(t)
	hq, br := seedSite(t, s, "HQ"), seedSite(t, s, "Branch")
	a := seedServer(t, s, hq, "A", "1", "10.0.0.5", "10.0.0.6")
	b := seedServer(t, s, br, "B", "2", "10.1.0.5")
	ab := mailnet.Connector{Kind: "x400", Name: "TCP to MTA B", ServerID: a.ID, RemoteServerID: b.ID, StackAddresses: []string{"10.1.0.5"},
		OverrideAddress: "10.0.0.6", Logging: map[string]string{"X.400 Service": "maximum"}}
	ba := mailnet.Connector{Kind: "x400", Name: "TCP to MTA A", ServerID: b.ID, RemoteServerID: a.ID, StackAddresses: []string{"10.0.0.5"}}
	write(t, s, func(tx *store.Tx) error {
		if err := tx.InsertConnector(adminCtx, &ab); err != nil {
			return err
		}
		return tx.InsertConnector(adminCtx, &ba)
	})
	if want := "/o=Mailnet/ou=HQ/cn=Configuration/cn=Connections/cn=TCP to MTA B"; ab.DN != want {
		t.Errorf("dn: got %q, want %q", ab.DN, want)
	}
	got, err := s.ConnectorByID(adminCtx, ab.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.OverrideAddress != "10.0.0.6" || got.Logging["X.400 Service"] != "maximum" || !slices.Equal(got.StackAddresses, []string{"10.1.0.5"}) {
		t.Errorf("connector read back: got %+v", got)
	}
	var remote mailnet.Connector
	write(t, s, func(tx *store.Tx) (err error) { remote, err = tx.RemoteX400Connector(adminCtx, b.ID, a.ID); return err })
	if remote.ID != ba.ID {
		t.Errorf("remote connector: got %d, want %d", remote.ID, ba.ID)
	}
}

func TestRequestorsFilterAndExportFlag(t *testing.T) {
	s := Open(t)
	hq := seedSite(t, s, "HQ")
	dx := seedServer(t, s, hq, "DX", "1")
	for _, po := range []string{"PO1", "PO2"} {
		r := mailnet.Requestor{Network: "ACME", Postoffice: po, DXServerID: dx.ID}
		write(t, s, func(tx *store.Tx) error { return tx.InsertRequestor(adminCtx, &r, 0) })
	}
	r := mailnet.Requestor{Network: "acme", Postoffice: "po1", DXServerID: dx.ID}
	err := s.Write(adminCtx, func(tx *store.Tx) error { return tx.InsertRequestor(adminCtx, &r, 0) })
	if e, ok := mailnet.AsError(err); !ok || e.Kind != mailnet.KindConflict || e.Field != "postoffice" {
		t.Errorf("duplicate pair: got %v, want a conflict on postoffice", err)
	}
	got, err := s.Requestors(adminCtx, store.RequestorFilter{Network: "acme"})
	if err != nil || len(got) != 2 {
		t.Fatalf("network acme: got %v, %v; want 2", got, err)
	}
	write(t, s, func(tx *store.Tx) error { return tx.SetExportOnNextCycle(adminCtx, got[1].ID, true) })
	one, _ := s.RequestorByID(adminCtx, got[1].ID)
	if !one.ExportOnNextCycle {
		t.Errorf("export on next cycle: got false, want true")
	}
	if ids, _ := s.Requestors(adminCtx, store.RequestorFilter{IDs: []int64{got[0].ID}}); len(ids) != 1 || ids[0].ID != got[0].ID {
		t.Errorf("by id: got %v, want one", ids)
	}
}
