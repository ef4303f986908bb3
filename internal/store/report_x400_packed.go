package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"mailnet/internal/mailnet"
)

// ReportX400Inventory returns what the X.400 check reads from the
// inventory, from one snapshot: every x400 connector by id (as
// ReportX400Connectors) and every server by id (as ReportAllServers).
// Each table comes back as one packed value (fields joined by 0x1f, rows
// by 0x1e) instead of thousands of rows: stepping rows one by one costs
// more than the check itself on a 10,000-server network. A value holding
// a separator of its own is caught by the field count, and that table is
// read row by row instead.
func (s *Store) ReportX400Inventory(ctx context.Context) ([]mailnet.Connector, map[int64]mailnet.Server, error) {
	var conns []mailnet.Connector
	var servers map[int64]mailnet.Server
	err := s.Read(ctx, func(tx *sql.Tx) error {
		var err error
		if conns, err = packedX400Connectors(ctx, tx); err != nil {
			return err
		}
		servers, err = packedReportServers(ctx, tx)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if conns == nil {
		if conns, err = s.ReportX400Connectors(ctx); err != nil {
			return nil, nil, err
		}
	}
	if servers == nil {
		if servers, err = s.ReportAllServers(ctx); err != nil {
			return nil, nil, err
		}
	}
	return conns, servers, nil
}

// packed reads one packed table: n rows of cols fields each. ok is false
// when the packing is ambiguous (a value held a separator).
func packed(ctx context.Context, tx *sql.Tx, query string, cols int) (rows [][]string, ok bool, err error) {
	var n int
	var text sql.NullString
	if err := tx.QueryRowContext(ctx, query).Scan(&n, &text); err != nil {
		return nil, false, err
	}
	if n == 0 {
		return [][]string{}, true, nil
	}
	if strings.Count(text.String, packRow) != n-1 || strings.Count(text.String, packField) != n*(cols-1) {
		return nil, false, nil
	}
	rows = make([][]string, 0, n)
	fields := make([]string, n*cols) // one backing array for every row
	i := 0
	for line := range strings.SplitSeq(text.String, packRow) {
		row := fields[i*cols : (i+1)*cols : (i+1)*cols]
		for j := range cols - 1 {
			k := strings.IndexByte(line, 0x1f)
			if k < 0 {
				return nil, false, nil
			}
			row[j], line = line[:k], line[k+1:]
		}
		if strings.IndexByte(line, 0x1f) >= 0 {
			return nil, false, nil
		}
		row[cols-1] = line
		rows = append(rows, row)
		i++
	}
	return rows, true, nil
}

// packedX400Connectors is ReportX400Connectors from one packed value; nil
// when it must be read row by row.
func packedX400Connectors(ctx context.Context, tx *sql.Tx) ([]mailnet.Connector, error) {
	rows, ok, err := packed(ctx, tx, `
		SELECT count(*), group_concat(id || char(31) || server_id || char(31) || coalesce(remote_server_id, 0) || char(31) ||
			name || char(31) || stack_addresses || char(31) || coalesce(override_address, ''), char(30))
		FROM (SELECT * FROM connectors WHERE kind = 'x400' ORDER BY id)`, 6)
	if err != nil {
		return nil, fmt.Errorf("x400 connectors: %w", err)
	}
	if !ok {
		return nil, nil
	}
	out := make([]mailnet.Connector, len(rows))
	var prev int64
	for i, f := range rows {
		c := &out[i]
		var e1, e2, e3 error
		c.ID, e1 = strconv.ParseInt(f[0], 10, 64)
		c.ServerID, e2 = strconv.ParseInt(f[1], 10, 64)
		c.RemoteServerID, e3 = strconv.ParseInt(f[2], 10, 64)
		if e1 != nil || e2 != nil || e3 != nil || c.ID <= prev {
			return nil, nil
		}
		prev = c.ID
		c.Kind, c.Name = mailnet.ConnectorX400, f[3]
		c.StackAddresses = reportAddressList(f[4])
		c.OverrideAddress = f[5]
	}
	return out, nil
}

// packedReportServers is ReportAllServers from one packed value; nil when
// it must be read row by row.
func packedReportServers(ctx context.Context, tx *sql.Tx) (map[int64]mailnet.Server, error) {
	rows, ok, err := packed(ctx, tx, `
		SELECT count(*), group_concat(id || char(31) || site_id || char(31) || name || char(31) || kind || char(31) ||
			version || char(31) || serial || char(31) || addresses || char(31) || status, char(30))
		FROM servers`, 8)
	if err != nil {
		return nil, fmt.Errorf("servers: %w", err)
	}
	if !ok {
		return nil, nil
	}
	out := make(map[int64]mailnet.Server, len(rows))
	for _, f := range rows {
		var sv mailnet.Server
		var e1, e2 error
		sv.ID, e1 = strconv.ParseInt(f[0], 10, 64)
		sv.SiteID, e2 = strconv.ParseInt(f[1], 10, 64)
		if e1 != nil || e2 != nil {
			return nil, nil
		}
		sv.Name, sv.Kind, sv.Version, sv.Serial = f[2], f[3], f[4], f[5]
		sv.Addresses = reportAddressList(f[6])
		sv.Status = f[7]
		out[sv.ID] = sv
	}
	return out, nil
}
