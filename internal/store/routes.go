package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"mailnet/internal/mailnet"
)

func scanRoute(sc rowScanner) (mailnet.Route, error) {
	var rt mailnet.Route
	var via sql.NullInt64
	err := sc.Scan(&rt.FromServerID, &rt.ToServerID, &rt.Configured, &via)
	rt.ViaServerID = via.Int64
	return rt, err
}

// Routes returns the configured routing entries, by from and to server;
// with serverID set, only those from or to it. Effective is left empty:
// reports.EffectiveRoute derives it.
func (s *Store) Routes(ctx context.Context, serverID int64) ([]mailnet.Route, error) {
	query := `SELECT from_server_id, to_server_id, configured, via_server_id FROM routes ORDER BY from_server_id, to_server_id`
	var args []any
	if serverID != 0 {
		query = `SELECT from_server_id, to_server_id, configured, via_server_id FROM routes
			WHERE from_server_id = ?1 OR to_server_id = ?1 ORDER BY from_server_id, to_server_id`
		args = append(args, serverID)
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("routes: %w", err)
	}
	defer rows.Close()
	out := []mailnet.Route{}
	for rows.Next() {
		rt, err := scanRoute(rows)
		if err != nil {
			return nil, fmt.Errorf("routes: %w", err)
		}
		out = append(out, rt)
	}
	return out, rows.Err()
}

// Route returns the configured entry from one server to another, or a
// not-found error.
func (tx *Tx) Route(ctx context.Context, from, to int64) (mailnet.Route, error) {
	rt, err := scanRoute(tx.QueryRowContext(ctx, `SELECT from_server_id, to_server_id, configured, via_server_id
		FROM routes WHERE from_server_id = ? AND to_server_id = ?`, from, to))
	if errors.Is(err, sql.ErrNoRows) {
		return rt, mailnet.NotFound("route", fmt.Sprintf("%d->%d", from, to))
	}
	if err != nil {
		return rt, fmt.Errorf("route %d->%d: %w", from, to, err)
	}
	return rt, nil
}

// UpsertRoute writes the configured entry for rt's pair of servers.
func (tx *Tx) UpsertRoute(ctx context.Context, rt mailnet.Route) error {
	var via any
	if rt.ViaServerID != 0 {
		via = rt.ViaServerID
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO routes (from_server_id, to_server_id, configured, via_server_id, updated_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (from_server_id, to_server_id) DO UPDATE SET
			configured = excluded.configured, via_server_id = excluded.via_server_id, updated_at = excluded.updated_at`,
		rt.FromServerID, rt.ToServerID, rt.Configured, via, fmtTime(tx.now))
	if err != nil {
		return fmt.Errorf("route %d->%d: %w", rt.FromServerID, rt.ToServerID, err)
	}
	return nil
}

// RouteCursor is a position in the routes' (from_server_id, to_server_id)
// order; the zero cursor is before the first route.
type RouteCursor struct{ From, To int64 }

// RouteFilter selects one page of routes: with ServerID set, those from or
// to it; with Configured set, those configured so; the Limit routes after
// After (and then past Offset more) in (from_server_id, to_server_id)
// order. Limit 0 means all.
type RouteFilter struct {
	ServerID   int64
	Configured string
	After      RouteCursor
	Offset     int
	Limit      int
}

// RoutesPage returns one page of configured routing entries (Effective
// left empty, as Routes does). It walks the primary key, so a page costs
// its own rows whatever the network's size.
func (s *Store) RoutesPage(ctx context.Context, f RouteFilter) ([]mailnet.Route, error) {
	query := `SELECT from_server_id, to_server_id, configured, via_server_id FROM routes
		WHERE (from_server_id, to_server_id) > (?, ?)`
	args := []any{f.After.From, f.After.To}
	if f.ServerID != 0 {
		query += ` AND (from_server_id = ? OR to_server_id = ?)`
		args = append(args, f.ServerID, f.ServerID)
	}
	if f.Configured != "" {
		query += ` AND configured = ?`
		args = append(args, f.Configured)
	}
	query += ` ORDER BY from_server_id, to_server_id`
	if f.Limit > 0 {
		query += ` LIMIT ? OFFSET ?`
		args = append(args, f.Limit, f.Offset)
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("routes: %w", err)
	}
	defer rows.Close()
	out := []mailnet.Route{}
	for rows.Next() {
		rt, err := scanRoute(rows)
		if err != nil {
			return nil, fmt.Errorf("routes: %w", err)
		}
		out = append(out, rt)
	}
	return out, rows.Err()
}

// CountRoutes counts the configured entries the filter selects (ignoring
// its cursor and limit).
func (s *Store) CountRoutes(ctx context.Context, f RouteFilter) (int64, error) {
	query := `SELECT count(*) FROM routes WHERE 1`
	var args []any
	if f.ServerID != 0 {
		query += ` AND (from_server_id = ? OR to_server_id = ?)`
		args = append(args, f.ServerID, f.ServerID)
	}
	if f.Configured != "" {
		query += ` AND configured = ?`
		args = append(args, f.Configured)
	}
	var n int64
	if err := s.r.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count routes: %w", err)
	}
	return n, nil
}
