package store

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestReportAddressList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`[]`, []string{}},
		{`["10.0.0.1"]`, []string{"10.0.0.1"}},
		{`["10.0.0.1", "10.0.0.2"]`, []string{"10.0.0.1", "10.0.0.2"}},
		{`["a,b","c"]`, []string{"a,b", "c"}},
		{`["q\"x"]`, []string{`q"x`}},
		{`not json`, []string{}},
	}
	for _, tt := range tests {
		if got := reportAddressList(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("reportAddressList(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The packed read must give what the plain read gives, and give up when a
// value holds a separator.
func TestReportServersPackedMatchesPlain(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "r.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := fmtTime(time.Now())
	err = s.Write(ctx, func(tx *Tx) error {
		for _, q := range []string{
			`INSERT INTO sites (id, name, created_at) VALUES (1, 'East', '` + now + `'), (2, 'Wëst', '` + now + `')`,
			`INSERT INTO servers (id, name, site_id, kind, version, serial, addresses, status, user_count, message_count, last_event_id, last_event_at, created_at, updated_at)
			 VALUES (3, 'b', 2, 'exchange', '5.5', 'S1', '["10.0.0.1","10.0.0.2"]', 'running', 4, 40, 9, '` + now + `', '` + now + `', '` + now + `'),
			        (1, 'a', 1, 'msmail-mac', '', '', '[]', 'stopped', 0, 0, NULL, NULL, '` + now + `', '` + now + `')`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	packed, ok, err := s.reportServersPacked(ctx)
	if err != nil || !ok {
		t.Fatalf("packed read: ok %v err %v, want ok", ok, err)
	}
	plain, err := s.reportServersPlain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(packed, plain) {
		t.Errorf("packed %+v\nplain  %+v", packed, plain)
	}
	for _, name := range []string{"x\x1fy", "x\x1ey", "a\x1e1\x1f1\x1f0\x1f0\x1f0\x1fz\x1fEast\x1fexchange\x1f\x1f\x1f[]\x1frunning\x1f"} {
		if _, err := s.w.ExecContext(ctx, `UPDATE servers SET name = ? WHERE id = 1`, name); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.reportServersPacked(ctx); ok || err != nil {
			t.Errorf("name %q: packed read ok %v err %v, want it to give up", name, ok, err)
		}
		rows, err := s.ReportServers(ctx)
		if err != nil || len(rows) != 2 || rows[0].Name != name {
			t.Errorf("name %q: ReportServers = %+v, %v, want the plain read's rows", name, rows, err)
		}
	}
}
