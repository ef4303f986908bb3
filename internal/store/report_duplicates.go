package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"mailnet/internal/mailnet"
)

// reportInList returns "?,?,?" and the args for ids.
func reportInList(ids []int64) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return strings.TrimSuffix(strings.Repeat("?,", len(ids)), ","), args
}

// ReportRoutesTouching returns the configured routes from, to or via any of the
// servers ids, ordered by (from, to), each once. Effective and Reason are
// left empty. Three index lookups (the primary key, routes_to, routes_via).
func (s *Store) ReportRoutesTouching(ctx context.Context, ids []int64) ([]mailnet.Route, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	in, args := reportInList(ids)
	all := append(append(append([]any{}, args...), args...), args...)
	rows, err := s.r.QueryContext(ctx, `
		SELECT from_server_id, to_server_id, configured, via_server_id FROM routes WHERE from_server_id IN (`+in+`)
		UNION
		SELECT from_server_id, to_server_id, configured, via_server_id FROM routes WHERE to_server_id IN (`+in+`)
		UNION
		SELECT from_server_id, to_server_id, configured, via_server_id FROM routes WHERE via_server_id IN (`+in+`)
		ORDER BY 1, 2`, all...)
	if err != nil {
		return nil, fmt.Errorf("routes touching: %w", err)
	}
	defer rows.Close()
	var out []mailnet.Route
	for rows.Next() {
		var rt mailnet.Route
		var via sql.NullInt64
		if err := rows.Scan(&rt.FromServerID, &rt.ToServerID, &rt.Configured, &via); err != nil {
			return nil, fmt.Errorf("routes touching: %w", err)
		}
		rt.ViaServerID = via.Int64
		out = append(out, rt)
	}
	return out, rows.Err()
}

// ReportServerNames returns the names of the servers ids (those that exist).
func (s *Store) ReportServerNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	if len(ids) == 0 {
		return map[int64]string{}, nil
	}
	in, args := reportInList(ids)
	return s.serverNames(ctx, `SELECT id, name FROM servers WHERE id IN (`+in+`)`, args...)
}

// ReportUserIDsOnServer returns the ids of the users homed on server, ascending;
// with listedOnly, only those configured to show in the All listing. Reads
// the users_server index.
func (s *Store) ReportUserIDsOnServer(ctx context.Context, server int64, listedOnly bool) ([]int64, error) {
	q := `SELECT id FROM users WHERE server_id = ? ORDER BY id`
	if listedOnly {
		q = `SELECT id FROM users WHERE server_id = ? AND in_all_listing = 1 ORDER BY id`
	}
	rows, err := s.r.QueryContext(ctx, q, server)
	if err != nil {
		return nil, fmt.Errorf("users on server %d: %w", server, err)
	}
	defer rows.Close()
	out := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("users on server %d: %w", server, err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// ReportServerBrief is a server's id, name, site and kind.
type ReportServerBrief struct {
	ID     int64
	Name   string
	SiteID int64
	Kind   string
}

// ReportRunningServersAtSite returns the running servers of site, by id (the
// servers_site index).
func (s *Store) ReportRunningServersAtSite(ctx context.Context, site int64) ([]ReportServerBrief, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, site_id, kind FROM servers
		WHERE site_id = ? AND status = 'running' ORDER BY id`, site)
	if err != nil {
		return nil, fmt.Errorf("servers at site %d: %w", site, err)
	}
	defer rows.Close()
	var out []ReportServerBrief
	for rows.Next() {
		var b ReportServerBrief
		if err := rows.Scan(&b.ID, &b.Name, &b.SiteID, &b.Kind); err != nil {
			return nil, fmt.Errorf("servers at site %d: %w", site, err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// ReportFirstRunningServer returns the running server of lowest id, of kind
// (any kind if empty), that skip does not refuse; ok is false if there is
// none. It stops reading at the first match.
func (s *Store) ReportFirstRunningServer(ctx context.Context, kind string, skip func(id int64) bool) (ReportServerBrief, bool, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, site_id, kind FROM servers
		WHERE status = 'running' AND (? = '' OR kind = ?) ORDER BY id`, kind, kind)
	if err != nil {
		return ReportServerBrief{}, false, fmt.Errorf("running servers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b ReportServerBrief
		if err := rows.Scan(&b.ID, &b.Name, &b.SiteID, &b.Kind); err != nil {
			return ReportServerBrief{}, false, fmt.Errorf("running servers: %w", err)
		}
		if skip == nil || !skip(b.ID) {
			return b, true, nil
		}
	}
	return ReportServerBrief{}, false, rows.Err()
}

// ReportSiteNames returns the names of the sites ids.
func (s *Store) ReportSiteNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	in, args := reportInList(ids)
	rows, err := s.r.QueryContext(ctx, `SELECT id, name FROM sites WHERE id IN (`+in+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("site names: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("site names: %w", err)
		}
		out[id] = name
	}
	return out, rows.Err()
}
