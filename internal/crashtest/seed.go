// Package crashtest builds test networks for moves and checks the
// invariants a move must keep whatever happens to the process: every
// message present exactly once on its user's home server, users homed
// where their move items say, counters equal to the rows they count. Its
// test kills the real binary at failpoints and checks them after each
// restart.
package crashtest

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// Spec describes a network to seed: servers S1..Sn on one site, Users[i]
// users on server i+1 (missing entries: none), each with Messages
// messages whose subjects are unique.
type Spec struct {
	Servers  int
	Users    []int
	Messages int
}

// Network is what Seed made: server ids in order, and the users of each.
type Network struct {
	Servers []int64
	Users   [][]int64
}

// Seed fills an empty store with spec, generating messages in SQL so a
// million rows take seconds. Counters are set from the rows.
func Seed(ctx context.Context, st *store.Store, spec Spec) (Network, error) {
	var nw Network
	now := time.Now().UTC().Format(time.RFC3339Nano)
	err := st.Write(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO sites (name, created_at) VALUES ('Crash Site', ?)`, now)
		if err != nil {
			return err
		}
		site, _ := res.LastInsertId()
		for i := 1; i <= spec.Servers; i++ {
			res, err := tx.ExecContext(ctx, `INSERT INTO servers (name, site_id, kind, version, serial, addresses, created_at, updated_at)
				VALUES (?, ?, 'exchange', '5.5', ?, '["10.0.0.1"]', ?, ?)`, fmt.Sprintf("S%d", i), site, fmt.Sprintf("SN-%04d", i), now, now)
			if err != nil {
				return err
			}
			id, _ := res.LastInsertId()
			nw.Servers = append(nw.Servers, id)
		}
		nw.Users = make([][]int64, spec.Servers)
		for i, n := range spec.Users {
			for k := 0; k < n; k++ {
				res, err := tx.ExecContext(ctx, `INSERT INTO users (alias, display_name, server_id, created_at) VALUES (?, ?, ?, ?)`,
					fmt.Sprintf("u%d-%d", i+1, k+1), fmt.Sprintf("User %d-%d", i+1, k+1), nw.Servers[i], now)
				if err != nil {
					return err
				}
				id, _ := res.LastInsertId()
				nw.Users[i] = append(nw.Users[i], id)
			}
		}
		if spec.Messages > 0 {
			if _, err := tx.ExecContext(ctx, `
				WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?)
				INSERT INTO messages (user_id, server_id, folder, subject, size, received_at)
				SELECT u.id, u.server_id,
					CASE n % 3 WHEN 0 THEN 'Inbox' WHEN 1 THEN 'Sent Items' ELSE 'Archive' END,
					'message ' || u.alias || ' #' || n, 1000 + (n * 37) % 50000,
					strftime('%Y-%m-%dT%H:%M:%fZ', '2024-01-01', '+' || n || ' minutes')
				FROM users u, seq ORDER BY u.id, n`, spec.Messages); err != nil {
				return err
			}
		}
		return Recount(ctx, tx.Tx)
	})
	return nw, err
}

// Recount sets every counter from the rows it counts, by the rule that
// store.BulkCounterMismatches checks: a server counts the messages stored
// on it, copies included; a user its messages on its home server.
func Recount(ctx context.Context, tx *sql.Tx) error {
	for _, q := range []string{
		`UPDATE users SET message_count = (SELECT count(*) FROM messages m WHERE m.user_id = users.id AND m.server_id = users.server_id)`,
		`UPDATE servers SET user_count = (SELECT count(*) FROM users u WHERE u.server_id = servers.id),
			message_count = (SELECT count(*) FROM messages m WHERE m.server_id = servers.id)`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// Check verifies the invariants on db once no move is active: each of the
// listed users has exactly perUser messages, all distinct, all on the
// user's home server, none both an original and its copy (copy_of stays
// set after a move, pointing at a released row); each user is homed where its last
// move item says (done: target; cancelled or failed: source); counters
// equal the rows. It returns the first violation.
func Check(ctx context.Context, db *sql.DB, users []int64, perUser int) error {
	var active int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM move_items WHERE state IN ('queued', 'copying', 'verified', 'switched')`).Scan(&active); err != nil {
		return err
	}
	if active > 0 {
		return fmt.Errorf("%d move items still active", active)
	}
	if err := checkForeignKeys(ctx, db); err != nil {
		return err
	}
	var stray, pairs int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM messages m JOIN users u ON u.id = m.user_id WHERE m.server_id <> u.server_id`).Scan(&stray); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM messages c JOIN messages o ON o.id = c.copy_of`).Scan(&pairs); err != nil {
		return err
	}
	if stray > 0 || pairs > 0 {
		return fmt.Errorf("%d messages away from their user's home server, %d both original and copy; want 0 and 0", stray, pairs)
	}
	for _, u := range users {
		var n, distinct int
		if err := db.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT subject) FROM messages WHERE user_id = ?`, u).Scan(&n, &distinct); err != nil {
			return err
		}
		if n != perUser || distinct != perUser {
			return fmt.Errorf("user %d has %d messages (%d distinct), want %d exactly once", u, n, distinct, perUser)
		}
		var state string
		var from, to, home int64
		err := db.QueryRowContext(ctx, `SELECT m.state, m.from_server_id, m.to_server_id, u.server_id FROM move_items m
			JOIN users u ON u.id = m.user_id WHERE m.user_id = ? ORDER BY m.id DESC LIMIT 1`, u).Scan(&state, &from, &to, &home)
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return err
		}
		want := from
		if state == mailnet.ItemDone {
			want = to
		}
		if home != want {
			return fmt.Errorf("user %d is on server %d but its move item is %s (from %d to %d)", u, home, state, from, to)
		}
	}
	var badServers, badUsers int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM servers s WHERE
		s.user_count <> (SELECT count(*) FROM users u WHERE u.server_id = s.id) OR
		s.message_count <> (SELECT count(*) FROM messages m WHERE m.server_id = s.id)`).Scan(&badServers); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM users u WHERE
		u.message_count <> (SELECT count(*) FROM messages m WHERE m.user_id = u.id AND m.server_id = u.server_id)`).Scan(&badUsers); err != nil {
		return err
	}
	if badServers > 0 || badUsers > 0 {
		return fmt.Errorf("counters wrong on %d servers and %d users", badServers, badUsers)
	}
	return nil
}

// checkForeignKeys reports the first row whose foreign key has no parent:
// moves write without enforcement (store.WriteMove).
func checkForeignKeys(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return err
		}
		return fmt.Errorf("foreign key broken: %s row %d references a missing %s", table, rowid.Int64, parent)
	}
	return rows.Err()
}
