package store_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// The triggers of migration 0012 log the rows the X.400 check reads, and
// only those: ReportX400Changes returns them as they are now, and says
// Lost once the log no longer holds a reader's changes.
func TestInventoryChangesLogWhatTheCheckReads(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "changes.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if err := st.Write(ctx, func(tx *store.Tx) error { _, err := tx.ExecContext(ctx, q, args...); return err }); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var a, b mailnet.Server
	var x, m mailnet.Connector
	err = st.Write(ctx, func(tx *store.Tx) error {
		site, err := tx.InsertSite(ctx, "HQ")
		if err != nil {
			return err
		}
		a = mailnet.Server{Name: "EXA", SiteID: site.ID, Kind: mailnet.ServerKindExchange, Version: "5.5 SP2", Serial: "1", Addresses: []string{"10.0.0.1"}, Status: "running"}
		b = mailnet.Server{Name: "EXB", SiteID: site.ID, Kind: mailnet.ServerKindExchange, Serial: "2", Addresses: []string{}, Status: "running"}
		if err := tx.InsertServer(ctx, &a); err != nil {
			return err
		}
		if err := tx.InsertServer(ctx, &b); err != nil {
			return err
		}
		x = mailnet.Connector{Kind: "x400", Name: "TCP to MTA B", ServerID: a.ID, RemoteServerID: b.ID, StackAddresses: []string{}}
		m = mailnet.Connector{Kind: "msmail", Name: "MS Mail", ServerID: a.ID, StackAddresses: []string{}, PollMinutes: 5}
		if err := tx.InsertConnector(ctx, &x); err != nil {
			return err
		}
		return tx.InsertConnector(ctx, &m)
	})
	if err != nil {
		t.Fatal(err)
	}
	seq, err := st.InventorySeq(ctx)
	if err != nil || seq == 0 {
		t.Fatalf("seq %d after four inserts (%v)", seq, err)
	}

	// Columns the check does not read: nothing is logged.
	exec(`UPDATE servers SET user_count = 5, message_count = 9, last_event_at = 'x', updated_at = 'y' WHERE id = ?`, a.ID)
	exec(`UPDATE connectors SET poll_minutes = 7, logging = '{"x":1}', updated_at = 'y' WHERE id = ?`, m.ID)
	if now, _ := st.InventorySeq(ctx); now != seq {
		t.Errorf("seq moved from %d to %d on columns the check does not read", seq, now)
	}
	if ch, err := st.ReportX400Changes(ctx, seq); err != nil || !ch.Empty() || ch.Seq != seq {
		t.Errorf("changes %+v (%v), want none", ch, err)
	}

	// What it reads: the rows as they are now, gone ones by id.
	exec(`UPDATE connectors SET override_address = '10.0.0.1' WHERE id = ?`, x.ID)
	exec(`UPDATE connectors SET kind = 'x400' WHERE id = ?`, m.ID)
	exec(`UPDATE connectors SET kind = 'msmail' WHERE id = ?`, m.ID) // changed, and no x400 connector now
	exec(`UPDATE servers SET addresses = '["10.0.0.9"]' WHERE id = ?`, b.ID)
	exec(`INSERT INTO server_ras_pools (server_id, first_address, last_address) VALUES (?, '10.9.0.1', '10.9.0.9')`, b.ID)
	ch, err := st.ReportX400Changes(ctx, seq)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Connectors) != 1 || ch.Connectors[0].ID != x.ID || ch.Connectors[0].OverrideAddress != "10.0.0.1" ||
		!slices.Equal(ch.GoneConnectors, []int64{m.ID}) || len(ch.Servers) != 1 || !slices.Equal(ch.Servers[b.ID].Addresses, []string{"10.0.0.9"}) ||
		len(ch.GoneServers) != 0 || !ch.Facts || ch.Lost || ch.Seq <= seq {
		t.Errorf("changes %+v", ch)
	}
	exec(`DELETE FROM connectors WHERE id = ?`, x.ID)
	exec(`DELETE FROM connectors WHERE id = ?`, m.ID)
	exec(`DELETE FROM servers WHERE id = ?`, b.ID)
	ch2, _ := st.ReportX400Changes(ctx, ch.Seq)
	if !slices.Equal(ch2.GoneConnectors, []int64{x.ID, m.ID}) || !slices.Equal(ch2.GoneServers, []int64{b.ID}) || !ch2.Facts {
		t.Errorf("after deletes %+v (the RAS pool goes with its server)", ch2)
	}

	// INSERT OR REPLACE that deletes another row (its name) logs it too.
	exec(`INSERT OR REPLACE INTO servers (name, site_id, kind, serial, created_at, updated_at) VALUES ('exa', ?, 'exchange', '9', '', '')`, a.SiteID)
	if ch4, _ := st.ReportX400Changes(ctx, ch2.Seq); !slices.Equal(ch4.GoneServers, []int64{a.ID}) || len(ch4.Servers) != 1 {
		t.Errorf("after a REPLACE of EXA: %+v, want EXA gone and one server added", ch4)
	}

	// 10,001 changes later (servers added in one statement) the first
	// ones are no longer kept.
	exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10001)
		INSERT INTO servers (name, site_id, kind, serial, created_at, updated_at)
		SELECT 'BULK' || i, ?, 'exchange', i, '', '' FROM n`, a.SiteID)
	if ch3, _ := st.ReportX400Changes(ctx, ch.Seq); !ch3.Lost {
		t.Errorf("10,001 changes on: %+v, want Lost", ch3)
	}
	var kept int
	if err := st.DB().QueryRow(`SELECT count(*) FROM inventory_changes`).Scan(&kept); err != nil || kept != 10_000 {
		t.Errorf("%d changes kept (%v), want the last 10,000", kept, err)
	}
}
