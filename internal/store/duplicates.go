package store

import (
	"context"
	"fmt"

	"mailnet/internal/mailnet"
)

// DuplicateSerialServers returns the servers, not decommissioned, whose
// serial number is shared with at least one other such server, ordered by
// serial then id. Uses the serial index; it never scans users or messages.
func (s *Store) DuplicateSerialServers(ctx context.Context) ([]mailnet.Server, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT id, name, site_id, kind, version, serial, addresses, status, user_count, message_count
		FROM servers
		WHERE status <> 'decommissioned' AND serial IN (
			SELECT serial FROM servers WHERE status <> 'decommissioned'
			GROUP BY serial HAVING count(*) > 1)
		ORDER BY serial, id`)
	if err != nil {
		return nil, fmt.Errorf("duplicate serials: %w", err)
	}
	defer rows.Close()
	var out []mailnet.Server
	for rows.Next() {
		var sv mailnet.Server
		var addrs string
		if err := rows.Scan(&sv.ID, &sv.Name, &sv.SiteID, &sv.Kind, &sv.Version, &sv.Serial, &addrs, &sv.Status, &sv.UserCount, &sv.MessageCount); err != nil {
			return nil, fmt.Errorf("duplicate serials: %w", err)
		}
		sv.Addresses = unmarshalList(addrs)
		out = append(out, sv)
	}
	return out, rows.Err()
}
