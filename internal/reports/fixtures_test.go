package reports

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"mailnet/internal/store"
)

// fx writes test fixtures with direct SQL (the reports only read).
type fx struct {
	t   testing.TB
	st  *store.Store
	now string
}

func newFx(t testing.TB) *fx {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "reports.db"), store.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return &fx{t: t, st: st, now: time.Now().UTC().Format(store.TimeLayout)}
}

func (f *fx) exec(q string, args ...any) int64 {
	f.t.Helper()
	var id int64
	err := f.st.Write(context.Background(), func(tx *store.Tx) error {
		res, err := tx.ExecContext(context.Background(), q, args...)
		if err != nil {
			return err
		}
		id, _ = res.LastInsertId()
		return nil
	})
	if err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	return id
}

func (f *fx) site(name string) int64 {
	return f.exec(`INSERT INTO sites (name, created_at) VALUES (?, ?)`, name, f.now)
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (f *fx) server(name string, site int64, kind, version, serial string, addrs ...string) int64 {
	if addrs == nil {
		addrs = []string{}
	}
	return f.exec(`INSERT INTO servers (name, site_id, kind, version, serial, addresses, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, name, site, kind, version, serial, jsonText(addrs), f.now, f.now)
}

func (f *fx) user(alias string, server int64, listed bool) int64 {
	id := f.exec(`INSERT INTO users (alias, display_name, server_id, in_all_listing, created_at) VALUES (?, ?, ?, ?, ?)`,
		alias, alias, server, listed, f.now)
	f.exec(`UPDATE servers SET user_count = user_count + 1 WHERE id = ?`, server)
	return id
}

func (f *fx) route(from, to int64, configured string, via int64) {
	var v any
	if via != 0 {
		v = via
	}
	f.exec(`INSERT INTO routes (from_server_id, to_server_id, configured, via_server_id, updated_at) VALUES (?, ?, ?, ?, ?)`,
		from, to, configured, v, f.now)
}

func (f *fx) x400(name string, server, remote int64, override string, stack ...string) int64 {
	if stack == nil {
		stack = []string{}
	}
	var o, r any
	if override != "" {
		o = override
	}
	if remote != 0 {
		r = remote
	}
	return f.exec(`INSERT INTO connectors (kind, name, server_id, remote_server_id, stack_addresses, override_address, created_at, updated_at)
		VALUES ('x400', ?, ?, ?, ?, ?, ?, ?)`, name, server, r, jsonText(stack), o, f.now, f.now)
}

func (f *fx) event9301(server int64, at time.Time, description string, fields map[string]string) {
	if fields == nil {
		fields = map[string]string{}
	}
	var sv any = sql.NullInt64{}
	if server != 0 {
		sv = server
	}
	f.exec(`INSERT INTO events (time, server, server_id, source, event_id, severity, description, fields)
		VALUES (?, 'B', ?, 'MSExchangeMTA', 9301, 'warning', ?, ?)`, at.UTC().Format(store.TimeLayout), sv, description, jsonText(fields))
}
