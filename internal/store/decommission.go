package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"mailnet/internal/mailnet"
)

// Dependents is what keeps a server from being decommissioned.
type Dependents struct {
	Users      int64 `json:"users"`      // users homed on it
	Moves      int64 `json:"moves"`      // active or queued move items from or to it
	Requestors int64 `json:"requestors"` // dir-sync requestors using it as DX or as their server
	Messages   int64 `json:"messages"`   // messages still stored on it (none once users and moves are gone)
}

// Any reports whether anything still depends on the server.
func (d Dependents) Any() bool { return d.Users+d.Moves+d.Requestors+d.Messages > 0 }

// DecommissionDependents counts, inside the transaction, what depends on server id.
func (tx *Tx) DecommissionDependents(ctx context.Context, id int64) (Dependents, error) {
	return decommissionDependents(ctx, tx, id)
}

// decommissionDependents is the one count of dependents, shared by the
// action (in its write transaction) and DecommissionPreview.
func decommissionDependents(ctx context.Context, q querier, id int64) (Dependents, error) {
	var d Dependents
	err := q.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM users WHERE server_id = ?1),
		(SELECT count(*) FROM move_items WHERE state IN ('queued', 'copying', 'verified', 'switched')
			AND (from_server_id = ?1 OR to_server_id = ?1)),
		(SELECT count(*) FROM requestors WHERE dx_server_id = ?1 OR server_id = ?1),
		(SELECT message_count FROM servers WHERE id = ?1)`, id).
		Scan(&d.Users, &d.Moves, &d.Requestors, &d.Messages)
	if err != nil {
		return d, fmt.Errorf("dependents of server %d: %w", id, err)
	}
	return d, nil
}

// ServerState is the part of a server that a decommission changes, as the
// audit log records it.
type ServerState struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Serial     string `json:"serial"`
	Status     string `json:"status"`
	Routes     int64  `json:"routes"`
	Connectors int64  `json:"connectors"`
}

// ServerStateForUpdate reads server id's state inside the transaction.
func (tx *Tx) ServerStateForUpdate(ctx context.Context, id int64) (ServerState, error) {
	return serverState(ctx, tx, id)
}

func serverState(ctx context.Context, q querier, id int64) (ServerState, error) {
	st := ServerState{ID: id}
	err := q.QueryRowContext(ctx, `SELECT name, serial, status,
		(SELECT count(*) FROM routes WHERE from_server_id = ?1 OR to_server_id = ?1 OR via_server_id = ?1),
		(SELECT count(*) FROM connectors WHERE server_id = ?1 OR remote_server_id = ?1)
		FROM servers WHERE id = ?1`, id).Scan(&st.Name, &st.Serial, &st.Status, &st.Routes, &st.Connectors)
	if errors.Is(err, sql.ErrNoRows) {
		return st, mailnet.NotFound("server", id)
	}
	if err != nil {
		return st, fmt.Errorf("server %d: %w", id, err)
	}
	return st, nil
}

// DecommissionPlan is what a decommission of a server would do now: the
// state it would change (with the routing entries and connectors it would
// remove) and what blocks it.
type DecommissionPlan struct {
	State ServerState `json:"server"`
	Deps  Dependents  `json:"blocked_by"`
	// Jobs are the unfinished jobs holding an active move from or to the
	// server, oldest first, at most 50.
	Jobs []int64 `json:"jobs"`
}

// Blocked reports whether the decommission would be refused now.
func (p DecommissionPlan) Blocked() bool {
	return p.State.Status == "decommissioned" || p.Deps.Any()
}

// DecommissionPreview returns the plan of decommissioning server id, on
// one read snapshot, counted by the queries the action runs in its write
// transaction: a page and the POST that follows count the same way.
func (s *Store) DecommissionPreview(ctx context.Context, id int64) (DecommissionPlan, error) {
	var p DecommissionPlan
	err := s.Read(ctx, func(tx *sql.Tx) error {
		var err error
		if p.State, err = serverState(ctx, tx, id); err != nil {
			return err
		}
		if p.Deps, err = decommissionDependents(ctx, tx, id); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT job_id FROM move_items
			WHERE state IN ('queued', 'copying', 'verified', 'switched') AND (from_server_id = ?1 OR to_server_id = ?1)
			ORDER BY job_id LIMIT 50`, id)
		if err != nil {
			return fmt.Errorf("moves of server %d: %w", id, err)
		}
		defer rows.Close()
		p.Jobs = []int64{}
		for rows.Next() {
			var j int64
			if err := rows.Scan(&j); err != nil {
				return fmt.Errorf("moves of server %d: %w", id, err)
			}
			p.Jobs = append(p.Jobs, j)
		}
		return rows.Err()
	})
	return p, err
}

// Decommission marks server id decommissioned and removes its routing
// entries (from, to or via it) and its connectors (local or remote end).
// The caller has checked the dependents in the same transaction.
func (tx *Tx) Decommission(ctx context.Context, id int64) error {
	now := fmtTime(tx.now)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM routes WHERE from_server_id = ?1 OR to_server_id = ?1 OR via_server_id = ?1`, []any{id}},
		{`DELETE FROM connectors WHERE server_id = ?1 OR remote_server_id = ?1`, []any{id}},
		{`UPDATE servers SET status = 'decommissioned', updated_at = ?2 WHERE id = ?1`, []any{id, now}},
	} {
		if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
			return fmt.Errorf("decommission server %d: %w", id, err)
		}
	}
	return nil
}
