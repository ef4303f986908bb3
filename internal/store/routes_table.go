package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"mailnet/internal/mailnet"
)

// The routing page's reads: one page of its table, its counts and the
// site-level aggregate of its map, each in SQL, so that a request costs
// its own rows and not the network's 69,098 routes (issue 13).

// RouteTableFilter selects the routing page's table rows, in (from, to)
// order: with ServerID set, the entries from, to or via that server; with
// CutOnly, those configured other than "No Connection" from, to or via a
// server of CutBy (the servers a duplicate serial cuts off, Q99393: their
// entries are effectively "No Connection"). Offset and Limit cut one page
// out (Limit 0: all).
type RouteTableFilter struct {
	ServerID      int64
	CutOnly       bool
	CutBy         []int64
	Offset, Limit int
}

// touching is a condition on routes r: from, to or via one of ids (0 or
// 1, never NULL: an entry without a via server is not via any).
func touching(ids []int64) (string, []any) {
	in, args := reportInList(ids)
	all := append(append(append([]any{}, args...), args...), args...)
	return `(r.from_server_id IN (` + in + `) OR r.to_server_id IN (` + in + `) OR coalesce(r.via_server_id, 0) IN (` + in + `))`, all
}

// routeTableQuery is the FROM and WHERE of f, and its arguments; none
// when CutOnly has nothing to cut. A filtered table starts from the
// entries touching the server (or the cut-off servers), found by three
// index lookups (primary key, routes_to, routes_via), not a table scan.
func routeTableQuery(f RouteTableFilter) (string, []any, bool) {
	if f.CutOnly && len(f.CutBy) == 0 {
		return "", nil, false
	}
	var seed []int64
	switch {
	case f.ServerID != 0:
		seed = []int64{f.ServerID}
	case f.CutOnly:
		seed = f.CutBy
	default:
		return ` FROM routes r`, nil, true
	}
	in, args := reportInList(seed)
	all := append(append(append([]any{}, args...), args...), args...)
	q := ` FROM (SELECT from_server_id f, to_server_id t FROM routes WHERE from_server_id IN (` + in + `)
		UNION SELECT from_server_id, to_server_id FROM routes WHERE to_server_id IN (` + in + `)
		UNION SELECT from_server_id, to_server_id FROM routes WHERE via_server_id IN (` + in + `)) k
		JOIN routes r ON r.from_server_id = k.f AND r.to_server_id = k.t`
	if f.CutOnly {
		cond, cargs := touching(f.CutBy)
		q += ` WHERE r.configured <> 'none' AND ` + cond
		all = append(all, cargs...)
	}
	return q, all, true
}

// RouteTable returns one page of the routing entries f selects (Effective
// left empty: reports.EffectiveRoute derives it).
func (s *Store) RouteTable(ctx context.Context, f RouteTableFilter) ([]mailnet.Route, error) {
	out := []mailnet.Route{}
	from, args, ok := routeTableQuery(f)
	if !ok {
		return out, nil
	}
	q := `SELECT r.from_server_id, r.to_server_id, r.configured, r.via_server_id` + from + ` ORDER BY r.from_server_id, r.to_server_id`
	if f.Limit > 0 {
		q += ` LIMIT ? OFFSET ?`
		args = append(args, f.Limit, max(f.Offset, 0))
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("route table: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		rt, err := scanRoute(rows)
		if err != nil {
			return nil, fmt.Errorf("route table: %w", err)
		}
		out = append(out, rt)
	}
	return out, rows.Err()
}

// CountRouteTable counts the routing entries f selects (its Offset and
// Limit ignored).
func (s *Store) CountRouteTable(ctx context.Context, f RouteTableFilter) (int, error) {
	from, args, ok := routeTableQuery(f)
	if !ok {
		return 0, nil
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*)`+from, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count route table: %w", err)
	}
	return n, nil
}

// RouteSitePair is what the routes from the servers of one site to those
// of another amount to on the routing map.
type RouteSitePair struct {
	FromSite, ToSite int64
	Direct           int // configured direct and not cut off
	Cut              int // configured other than "No Connection" but cut off (from, to or via a server of cutBy)
}

// RouteSitePairs aggregates the routing table by the sites of its from
// and to servers, in SQL (one pass over the routes, two primary-key
// lookups each), for the pairs of different sites with at least one
// direct or cut-off entry; cutBy are the servers a duplicate serial cuts
// off. By from site, then to site.
func (s *Store) RouteSitePairs(ctx context.Context, cutBy []int64) ([]RouteSitePair, error) {
	cut := `0`
	var args []any
	if len(cutBy) > 0 {
		var cond string
		cond, args = touching(cutBy)
		cut = `(r.configured <> 'none' AND ` + cond + `)`
	}
	rows, err := s.r.QueryContext(ctx, `
		SELECT a, b, sum(configured = 'direct' AND NOT cut), sum(cut) FROM (
			SELECT sf.site_id a, st.site_id b, r.configured configured, `+cut+` cut
			FROM routes r
			JOIN servers sf ON sf.id = r.from_server_id
			JOIN servers st ON st.id = r.to_server_id
			WHERE sf.site_id <> st.site_id)
		GROUP BY a, b
		HAVING sum(configured = 'direct' AND NOT cut) + sum(cut) > 0
		ORDER BY a, b`, args...)
	if err != nil {
		return nil, fmt.Errorf("route site pairs: %w", err)
	}
	defer rows.Close()
	var out []RouteSitePair
	for rows.Next() {
		var p RouteSitePair
		if err := rows.Scan(&p.FromSite, &p.ToSite, &p.Direct, &p.Cut); err != nil {
			return nil, fmt.Errorf("route site pairs: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// SiteServerCounts maps each site with servers to how many it has
// (decommissioned ones included, as the map draws them).
func (s *Store) SiteServerCounts(ctx context.Context) (map[int64]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT site_id, count(*) FROM servers GROUP BY site_id`)
	if err != nil {
		return nil, fmt.Errorf("site server counts: %w", err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var site int64
		var n int
		if err := rows.Scan(&site, &n); err != nil {
			return nil, fmt.Errorf("site server counts: %w", err)
		}
		out[site] = n
	}
	return out, rows.Err()
}

// ServersAtSite returns the servers of one site, by id (the servers_site
// index).
func (s *Store) ServersAtSite(ctx context.Context, site int64) ([]mailnet.Server, error) {
	return queryServers(ctx, s.r, `SELECT `+serverCols+` FROM servers WHERE site_id = ? ORDER BY id`, site)
}

// ServersByIDs returns the servers of ids that exist, by id.
func (s *Store) ServersByIDs(ctx context.Context, ids []int64) ([]mailnet.Server, error) {
	if len(ids) == 0 {
		return []mailnet.Server{}, nil
	}
	in, args := reportInList(ids)
	return queryServers(ctx, s.r, `SELECT `+serverCols+` FROM servers WHERE id IN (`+in+`) ORDER BY id`, args...)
}

// RoutesOfSite returns the routing entries from or to a server of site, by
// from and to server.
func (s *Store) RoutesOfSite(ctx context.Context, site int64) ([]mailnet.Route, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT from_server_id, to_server_id, configured, via_server_id FROM routes
		WHERE from_server_id IN (SELECT id FROM servers WHERE site_id = ?1)
		UNION
		SELECT from_server_id, to_server_id, configured, via_server_id FROM routes
		WHERE to_server_id IN (SELECT id FROM servers WHERE site_id = ?1)
		ORDER BY 1, 2`, site)
	if err != nil {
		return nil, fmt.Errorf("routes of site %d: %w", site, err)
	}
	defer rows.Close()
	out := []mailnet.Route{}
	for rows.Next() {
		rt, err := scanRoute(rows)
		if err != nil {
			return nil, fmt.Errorf("routes of site %d: %w", site, err)
		}
		out = append(out, rt)
	}
	return out, rows.Err()
}

// ServerIDByName returns the id of the server named name (compared as
// names are, FoldName, or case-insensitively), or 0.
func (s *Store) ServerIDByName(ctx context.Context, name string) (int64, error) {
	var id int64
	err := s.r.QueryRowContext(ctx, `SELECT id FROM servers WHERE name_key = ?1 OR name = ?2 COLLATE NOCASE ORDER BY name_key <> ?1, id LIMIT 1`,
		FoldName(strings.TrimSpace(name)), strings.TrimSpace(name)).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("server named %q: %w", name, err)
	}
	return id, nil
}

// ServerCount counts the servers (decommissioned ones included).
func (s *Store) ServerCount(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM servers`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count servers: %w", err)
	}
	return n, nil
}

// RoutingFingerprint changes whenever the routing table or the servers
// may have changed: the audit log's head (every action), and the count
// and newest updated_at of the routes and of the servers (writes that are
// no action: seeding, tests). Events leave it alone. Index lookups and
// two counts.
type RoutingFingerprint struct {
	AuditHead           int64
	Routes, Servers     int64
	RoutesAt, ServersAt string
}

// RoutingFingerprint reads the fingerprint.
func (s *Store) RoutingFingerprint(ctx context.Context) (RoutingFingerprint, error) {
	var f RoutingFingerprint
	err := s.r.QueryRowContext(ctx, `SELECT
		(SELECT coalesce(max(id), 0) FROM audit),
		(SELECT count(*) FROM routes), (SELECT coalesce(max(updated_at), '') FROM routes),
		(SELECT count(*) FROM servers), (SELECT coalesce(max(updated_at), '') FROM servers)`).
		Scan(&f.AuditHead, &f.Routes, &f.RoutesAt, &f.Servers, &f.ServersAt)
	if err != nil {
		return f, fmt.Errorf("routing fingerprint: %w", err)
	}
	return f, nil
}
