package store

import (
	"context"
	"fmt"

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
	rows, err := s.r.QueryContext(ctx, `
		SELECT id, name, site_id, kind, version, serial, addresses, status, user_count, message_count
		FROM servers
		WHERE serial IN (SELECT serial FROM servers WHERE serial <> '' GROUP BY serial HAVING count(*) > 1)
		ORDER BY serial, kind, id`)
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
