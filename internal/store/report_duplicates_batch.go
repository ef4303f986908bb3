package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"mailnet/internal/mailnet"
)

// ReportUsersOnServers returns the ids of the users homed on each of the
// servers ids, ascending, and of those the ones configured to show in the
// All listing: one query by the users_server index for every server of
// the duplicate groups, instead of two per server.
func (s *Store) ReportUsersOnServers(ctx context.Context, ids []int64) (all, listed map[int64][]int64, err error) {
	all, listed = make(map[int64][]int64, len(ids)), make(map[int64][]int64, len(ids))
	for _, id := range ids {
		all[id], listed[id] = []int64{}, []int64{}
	}
	if len(ids) == 0 {
		return all, listed, nil
	}
	in, args := reportInList(ids)
	rows, err := s.r.QueryContext(ctx, `SELECT server_id, id, in_all_listing FROM users WHERE server_id IN (`+in+`) ORDER BY server_id, id`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("users on servers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var server, id int64
		var inAll bool
		if err := rows.Scan(&server, &id, &inAll); err != nil {
			return nil, nil, fmt.Errorf("users on servers: %w", err)
		}
		all[server] = append(all[server], id)
		if inAll {
			listed[server] = append(listed[server], id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("users on servers: %w", err)
	}
	return all, listed, nil
}

// ReportRunningServer returns the running server of lowest id that is not
// one of skip, of kind (any kind if empty) and at site (any site if 0);
// ok is false if there is none. One row at most is read: by the
// servers_site index for a site, else in id order.
func (s *Store) ReportRunningServer(ctx context.Context, kind string, site int64, skip []int64) (ReportServerBrief, bool, error) {
	q := `SELECT id, name, site_id, kind FROM servers WHERE status = 'running'`
	var args []any
	if kind != "" {
		q += ` AND kind = ?`
		args = append(args, kind)
	}
	if site != 0 {
		q += ` AND site_id = ?`
		args = append(args, site)
	}
	if len(skip) > 0 {
		in, ids := reportInList(skip)
		q += ` AND id NOT IN (` + in + `)`
		args = append(args, ids...)
	}
	var b ReportServerBrief
	err := s.r.QueryRowContext(ctx, q+` ORDER BY id LIMIT 1`, args...).Scan(&b.ID, &b.Name, &b.SiteID, &b.Kind)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return ReportServerBrief{}, false, nil
		}
		return ReportServerBrief{}, false, fmt.Errorf("running server: %w", err)
	}
	return b, true, nil
}

// ReportUsersByIDs returns the users ids that exist, keyed by id.
func (s *Store) ReportUsersByIDs(ctx context.Context, ids []int64) (map[int64]mailnet.User, error) {
	out := make(map[int64]mailnet.User, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	in, args := reportInList(ids)
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM users WHERE id IN (`+in+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("users by id: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("users by id: %w", err)
		}
		out[u.ID] = u
	}
	return out, rows.Err()
}
