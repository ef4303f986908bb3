package store_test

import (
	"context"
	"maps"
	"path/filepath"
	"reflect"
	"testing"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// TestReportX400Inventory: the packed read gives what the row-by-row
// readers give.
func TestReportX400Inventory(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "x.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.Write(ctx, func(tx *store.Tx) error {
		site, err := tx.InsertSite(ctx, "HQ")
		if err != nil {
			return err
		}
		a := mailnet.Server{Name: "EXA", SiteID: site.ID, Kind: mailnet.ServerKindExchange, Version: "5.5 SP2", Serial: "1", Addresses: []string{"10.0.0.1", "10.0.0.2"}, Status: "running"}
		b := mailnet.Server{Name: "EXB", SiteID: site.ID, Kind: mailnet.ServerKindExchange, Serial: "2", Addresses: []string{}, Status: "running"}
		if err := tx.InsertServer(ctx, &a); err != nil {
			return err
		}
		if err := tx.InsertServer(ctx, &b); err != nil {
			return err
		}
		for _, c := range []mailnet.Connector{
			{Kind: "x400", Name: "TCP to MTA B", ServerID: a.ID, RemoteServerID: b.ID, StackAddresses: []string{}, OverrideAddress: "10.0.0.2"},
			{Kind: "x400", Name: "TCP to MTA A", ServerID: b.ID, RemoteServerID: a.ID, StackAddresses: []string{"exa.example.com"}},
			{Kind: "msmail", Name: "MS Mail", ServerID: a.ID, StackAddresses: []string{}, PollMinutes: 5},
		} {
			if err := tx.InsertConnector(ctx, &c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	conns, servers, err := st.ReportX400Inventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantConns, _ := st.ReportX400Connectors(ctx)
	wantServers, _ := st.ReportAllServers(ctx)
	if !reflect.DeepEqual(conns, wantConns) {
		t.Errorf("connectors:\n got %+v\nwant %+v", conns, wantConns)
	}
	if !maps.EqualFunc(servers, wantServers, func(a, b mailnet.Server) bool { return reflect.DeepEqual(a, b) }) {
		t.Errorf("servers:\n got %+v\nwant %+v", servers, wantServers)
	}
}
