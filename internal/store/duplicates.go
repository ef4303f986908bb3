package store

import (
	"context"
	"fmt"
	"strings"

	"mailnet/internal/mailnet"
)

// DuplicateSerialServers returns the servers, not decommissioned, whose
// serial number is shared with at least one other such server of the same
// kind (a serial identifies a server among its own product's), ordered by
// serial, kind, then id; empty serials share nothing. Candidate serials
// come from serial_counts (sharedSerials), then only their servers are
// read; those decommissioned are dropped here, and a serial left with one
// server is dropped too. It never scans servers, users or messages.
func (s *Store) DuplicateSerialServers(ctx context.Context) ([]mailnet.Server, error) {
	shared, err := s.sharedSerials(ctx)
	if err != nil {
		return nil, err
	}
	if len(shared) == 0 {
		return nil, nil
	}
	q, args := `
		SELECT id, name, site_id, kind, version, serial, addresses, status, user_count, message_count
		FROM servers
		WHERE serial IN (SELECT serial FROM serial_counts WHERE n > 1)
		ORDER BY serial, kind, id`, []any(nil)
	if len(shared) <= 500 { // else one join beats that many parameters
		args = make([]any, len(shared))
		for i, sr := range shared {
			args[i] = sr
		}
		in := strings.TrimSuffix(strings.Repeat("?,", len(shared)), ",")
		q = `
		SELECT id, name, site_id, kind, version, serial, addresses, status, user_count, message_count
		FROM servers WHERE serial IN (` + in + `) ORDER BY serial, kind, id`
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("duplicate serials: %w", err)
	}
	defer rows.Close()
	var all []mailnet.Server
	for rows.Next() {
		var sv mailnet.Server
		var addrs string
		if err := rows.Scan(&sv.ID, &sv.Name, &sv.SiteID, &sv.Kind, &sv.Version, &sv.Serial, &addrs, &sv.Status, &sv.UserCount, &sv.MessageCount); err != nil {
			return nil, fmt.Errorf("duplicate serials: %w", err)
		}
		if sv.Status == mailnet.StatusDecommissioned {
			continue
		}
		sv.Addresses = reportAddressList(addrs)
		all = append(all, sv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("duplicate serials: %w", err)
	}
	out := all[:0]
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].Serial == all[i].Serial && all[j].Kind == all[i].Kind {
			j++
		}
		if j-i > 1 {
			out = append(out, all[i:j]...)
		}
		i = j
	}
	return out, nil
}

// sharedSerials returns, sorted, the non-empty serials that two or more
// servers hold, of any kind or status: the serial_counts rows whose
// count is over one (migration 0013's triggers keep them), read from a
// partial index that holds only those.
func (s *Store) sharedSerials(ctx context.Context) (shared []string, err error) {
	rows, err := s.r.QueryContext(ctx, `SELECT serial FROM serial_counts WHERE n > 1 ORDER BY serial`)
	if err != nil {
		return nil, fmt.Errorf("duplicate serials: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var serial string
		if err := rows.Scan(&serial); err != nil {
			return nil, fmt.Errorf("duplicate serials: %w", err)
		}
		shared = append(shared, serial)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("duplicate serials: %w", err)
	}
	return shared, nil
}
