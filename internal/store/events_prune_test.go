package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
	"mailnet/migrations"
)

// TestPruneByAgeIsNotStoppedByAFutureEvent: one event dated 9999-12-31,
// stored first, used to end every age-based round at once (the walk in id
// order stopped at the first young event), so nothing was ever pruned.
func TestPruneByAgeIsNotStoppedByAFutureEvent(t *testing.T) {
	st := Open(t)
	ctx := context.Background()
	insertEvents(t, st, 1, time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC))
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	insertEvents(t, st, 100, base)
	var total int64
	for range 10 {
		n, err := st.PruneEvents(ctx, base.Add(24*time.Hour), 0, 30)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if n < 30 {
			break
		}
	}
	if total != 100 {
		t.Errorf("pruned %d events, want the 100 old ones", total)
	}
	var left int
	var at string
	if err := st.DB().QueryRow(`SELECT count(*), max(time) FROM events`).Scan(&left, &at); err != nil {
		t.Fatal(err)
	}
	if left != 1 || at[:4] != "9999" {
		t.Errorf("%d events left (newest %s), want the one dated 9999", left, at)
	}
}

// TestMigrationKeepsEventsAndTheirSequence: migration 0003 rebuilds the
// events table; ids, keys and the AUTOINCREMENT high-water mark survive
// (a resuming client must never see an id again), and names written
// before it get their folded key.
func TestMigrationKeepsEventsAndTheirSequence(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	for _, q := range []string{
		`INSERT INTO sites (name, created_at) VALUES ('HQ', '` + now + `')`,
		`INSERT INTO servers (name, site_id, kind, serial, created_at, updated_at) VALUES ('EXCH1', 1, 'exchange', 'S1', '` + now + `', '` + now + `')`,
		`INSERT INTO events (time, server, source, event_id, severity, idempotency_key) VALUES ('` + now + `', 'EXCH1', 's', 1, 'info', 'k1')`,
		`INSERT INTO events (time, server, source, event_id, severity) VALUES ('` + now + `', 'EXCH1', 's', 2, 'info')`,
		`INSERT INTO events (time, server, source, event_id, severity) VALUES ('` + now + `', 'EXCH1', 's', 3, 'info')`,
		`DELETE FROM events WHERE id = 3`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if id, err := st.LastEventID(ctx); err != nil || id != 3 {
		t.Errorf("last event id %d (%v), want 3", id, err)
	}
	var key string
	if err := st.DB().QueryRow(`SELECT name_key FROM servers WHERE name = 'EXCH1'`).Scan(&key); err != nil || key != "exch1" {
		t.Errorf("name_key %q (%v), want exch1", key, err)
	}
	err = st.Write(ctx, func(tx *store.Tx) error {
		ins, err := tx.EventInserter(ctx)
		if err != nil {
			return err
		}
		defer ins.Close()
		ev := mailnet.Event{Time: time.Now(), Server: "EXCH1", Source: "s", Severity: "info"}
		if ok, err := ins.Insert(ctx, &ev, "k1", 0, 0); err != nil || ok {
			t.Errorf("old key k1 of no token: stored %v (%v), want a duplicate", ok, err)
		}
		if ok, err := ins.Insert(ctx, &ev, "k1", 7, 0); err != nil || !ok || ev.ID <= 3 {
			t.Errorf("key k1 of token 7: stored %v as id %d (%v), want stored above 3", ok, ev.ID, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
