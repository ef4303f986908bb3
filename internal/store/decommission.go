package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"mailnet/internal/mailnet"
)

// Dependents is mailnet.Dependents, kept here for the queries that fill it.
type Dependents = mailnet.Dependents

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

// ServerState is mailnet.ServerState, kept here for the queries that fill it.
type ServerState = mailnet.ServerState

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
// remove), what blocks it, and the other servers' indirect routes that
// relay through it (which the decommission must re-home).
type DecommissionPlan struct {
	State ServerState `json:"server"`
	Deps  Dependents  `json:"blocked_by"`
	// Relays are the routing entries between two other servers that relay
	// through this one, by from and to server.
	Relays []mailnet.Route `json:"relays"`
	// Jobs are the unfinished jobs holding an active move from or to the
	// server, oldest first, at most 50.
	Jobs []int64 `json:"jobs"`
	// ID identifies the plan's inputs (state, dependents, relays): a
	// decommission that carries it is refused if they changed since.
	ID string `json:"plan"`
}

// Blocked reports whether the decommission would be refused now whatever
// the re-homing of its relays.
func (p DecommissionPlan) Blocked() bool {
	return p.State.Status == "decommissioned" || p.Deps.Any()
}

// planID hashes what a decommission plan was computed from.
func planID(st ServerState, d Dependents, relays []mailnet.Route) string {
	b, _ := json.Marshal(struct {
		S ServerState
		D Dependents
		R []mailnet.Route
	}{st, d, relays})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// decommissionPlan computes the plan of server id on q (without Jobs).
func decommissionPlan(ctx context.Context, q querier, id int64) (DecommissionPlan, error) {
	var p DecommissionPlan
	var err error
	if p.State, err = serverState(ctx, q, id); err != nil {
		return p, err
	}
	if p.Deps, err = decommissionDependents(ctx, q, id); err != nil {
		return p, err
	}
	if p.Relays, err = relaysThrough(ctx, q, id); err != nil {
		return p, err
	}
	p.ID = planID(p.State, p.Deps, p.Relays)
	return p, nil
}

// DecommissionPlan computes, inside the transaction, the plan the action
// checks and carries out.
func (tx *Tx) DecommissionPlan(ctx context.Context, id int64) (DecommissionPlan, error) {
	return decommissionPlan(ctx, tx, id)
}

// relaysThrough lists the routing entries between two other servers that
// relay through server id.
func relaysThrough(ctx context.Context, q querier, id int64) ([]mailnet.Route, error) {
	rows, err := q.QueryContext(ctx, `SELECT from_server_id, to_server_id, configured, via_server_id FROM routes
		WHERE via_server_id = ?1 AND from_server_id <> ?1 AND to_server_id <> ?1
		ORDER BY from_server_id, to_server_id`, id)
	if err != nil {
		return nil, fmt.Errorf("routes via server %d: %w", id, err)
	}
	defer rows.Close()
	out := []mailnet.Route{}
	for rows.Next() {
		rt, err := scanRoute(rows)
		if err != nil {
			return nil, fmt.Errorf("routes via server %d: %w", id, err)
		}
		out = append(out, rt)
	}
	return out, rows.Err()
}

// DecommissionPreview returns the plan of decommissioning server id, on
// one read snapshot, counted by the queries the action runs in its write
// transaction: a page and the POST that follows count the same way.
func (s *Store) DecommissionPreview(ctx context.Context, id int64) (DecommissionPlan, error) {
	var p DecommissionPlan
	err := s.Read(ctx, func(tx *sql.Tx) error {
		var err error
		if p, err = decommissionPlan(ctx, tx, id); err != nil {
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

// RerouteRelays re-homes the routing entries between other servers that
// relay through server id: via server via, or direct when via is 0 (or is
// the entry's own source or destination).
func (tx *Tx) RerouteRelays(ctx context.Context, id, via int64) error {
	now := fmtTime(tx.now)
	if via == 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE routes SET configured = 'direct', via_server_id = NULL, updated_at = ?2
			WHERE via_server_id = ?1 AND from_server_id <> ?1 AND to_server_id <> ?1`, id, now); err != nil {
			return fmt.Errorf("reroute via server %d: %w", id, err)
		}
	} else {
		if _, err := tx.ExecContext(ctx, `UPDATE routes SET
				configured = CASE WHEN ?2 IN (from_server_id, to_server_id) THEN 'direct' ELSE 'indirect' END,
				via_server_id = CASE WHEN ?2 IN (from_server_id, to_server_id) THEN NULL ELSE ?2 END,
				updated_at = ?3
			WHERE via_server_id = ?1 AND from_server_id <> ?1 AND to_server_id <> ?1`, id, via, now); err != nil {
			return fmt.Errorf("reroute via server %d: %w", id, err)
		}
	}
	return nil
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
