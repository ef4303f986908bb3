package store_test

import (
	"context"
	"fmt"
	"testing"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// TestDuplicateSerialServersPacked: the shared serials name the servers
// of each kind that hold them, whatever bytes a serial holds (one with
// 0x1e, the separator the packed read once used, among them).
func TestDuplicateSerialServersPacked(t *testing.T) {
	for _, odd := range []string{"PC-0002", "PC\x1e0002"} {
		t.Run(fmt.Sprintf("%q", odd), func(t *testing.T) {
			ctx := context.Background()
			st := Open(t)
			err := st.Write(ctx, func(tx *store.Tx) error {
				site, err := tx.InsertSite(ctx, "HQ")
				if err != nil {
					return err
				}
				for i, serial := range []string{"MA-1", "MA-1", odd, odd, "", "", "UNIQUE", "MA-1"} {
					sv := mailnet.Server{Name: fmt.Sprintf("S%d", i), SiteID: site.ID, Kind: mailnet.ServerKindMSMailMac, Serial: serial, Addresses: []string{}, Status: "running"}
					if i == 7 {
						sv.Kind = mailnet.ServerKindExchange // the same text, another product
					}
					if err := tx.InsertServer(ctx, &sv); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := st.DuplicateSerialServers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, sv := range got {
				names = append(names, sv.Name+"="+sv.Serial)
			}
			// By serial, kind, id; the Exchange server's MA-1 is alone of its kind.
			want := fmt.Sprintf("[S0=MA-1 S1=MA-1 S2=%s S3=%s]", odd, odd)
			if fmt.Sprint(names) != want {
				t.Errorf("got %v, want %s", names, want)
			}
		})
	}
}

// TestSerialCountsFollowEveryWrite: after inserts, serial changes and
// deletes, through plain statements and through INSERT OR IGNORE and OR
// REPLACE (whose conflict policy a trigger's statements take), the
// triggers' serial_counts equal a GROUP BY of the servers.
func TestSerialCountsFollowEveryWrite(t *testing.T) {
	ctx := context.Background()
	st := Open(t)
	exec := func(q string, args ...any) {
		t.Helper()
		if err := st.Write(ctx, func(tx *store.Tx) error { _, err := tx.ExecContext(ctx, q, args...); return err }); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var site int64
	if err := st.Write(ctx, func(tx *store.Tx) error {
		s, err := tx.InsertSite(ctx, "HQ")
		site = s.ID
		return err
	}); err != nil {
		t.Fatal(err)
	}
	same := func(what string) {
		t.Helper()
		var got, want string
		if err := st.DB().QueryRow(`SELECT coalesce(group_concat(serial || '=' || n, ' '), '') FROM (SELECT * FROM serial_counts ORDER BY serial)`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if err := st.DB().QueryRow(`SELECT coalesce(group_concat(serial || '=' || n, ' '), '') FROM (SELECT serial, count(*) AS n FROM servers WHERE serial > '' GROUP BY serial ORDER BY serial)`).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: serial_counts %q, servers %q", what, got, want)
		}
	}
	ins := `INSERT INTO servers (id, name, site_id, kind, serial, created_at, updated_at) VALUES (?, ?, ?, 'msmail-mac', ?, '', '')`
	for i, serial := range []string{"MA-1", "MA-1", "", "PC-2", "MA-1", "PC\x1e2"} {
		exec(ins, i+1, fmt.Sprint("S", i+1), site, serial)
	}
	same("inserts")
	exec(`INSERT OR IGNORE INTO servers (id, name, site_id, kind, serial, created_at, updated_at) VALUES (1, 'S1', ?, 'msmail-mac', 'IGNORED', '', '')`, site)
	exec(`INSERT OR IGNORE INTO servers (id, name, site_id, kind, serial, created_at, updated_at) VALUES (7, 'S7', ?, 'msmail-mac', 'PC-2', '', '')`, site)
	same("INSERT OR IGNORE")
	exec(`INSERT OR REPLACE INTO servers (id, name, site_id, kind, serial, created_at, updated_at) VALUES (2, 'S2', ?, 'msmail-mac', 'PC-2', '', '')`, site)
	same("INSERT OR REPLACE")
	exec(`UPDATE servers SET serial = 'MA-1' WHERE id = 3`)
	exec(`UPDATE servers SET serial = '' WHERE id = 4`)
	exec(`UPDATE servers SET serial = serial WHERE id = 5`)
	exec(`UPDATE servers SET name = 'renamed' WHERE id = 6`)
	same("updates")
	exec(`DELETE FROM servers WHERE id IN (1, 3)`)
	same("deletes")
	exec(`DELETE FROM servers`)
	same("all deleted")
	var rows int
	if err := st.DB().QueryRow(`SELECT count(*) FROM serial_counts`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("%d serial_counts rows left (%v)", rows, err)
	}
}
