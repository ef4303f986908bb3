package store

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"

	"mailnet/internal/mailnet"
)

// InventoryChanges is what changed, since a seq of inventory_changes, in
// the rows the X.400 check reads (migration 0012 has the triggers that
// log them). Rows are as they are now.
type InventoryChanges struct {
	Seq int64 // the newest change logged: pass it to the next call
	// Lost: changes after since are no longer kept (the log holds the
	// last 10,000), so read everything again.
	Lost bool
	// Connectors is every changed connector that is an x400 connector
	// now; GoneConnectors every changed id that is not (deleted, or of
	// another kind).
	Connectors     []mailnet.Connector
	GoneConnectors []int64
	// Servers is every changed server that exists now, GoneServers every
	// changed id that does not.
	Servers     map[int64]mailnet.Server
	GoneServers []int64
	// Facts: a cluster, RAS pool or connector transport changed (read
	// MTAFacts again).
	Facts bool
}

// Empty says nothing changed.
func (c *InventoryChanges) Empty() bool {
	return !c.Lost && !c.Facts && len(c.Connectors)+len(c.GoneConnectors)+len(c.Servers)+len(c.GoneServers) == 0
}

// InventorySeq is the newest change logged in the rows the X.400 check
// reads (0 for none). Unlike InventoryVersion it sees every process's
// writes, and only writes that changed such a row. Read it before the
// rows it keys.
func (s *Store) InventorySeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM inventory_changes`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("inventory seq: %w", err)
	}
	return seq, nil
}

// ReportX400Changes returns what changed after since, read in one
// snapshot: the changes and the rows they name agree.
func (s *Store) ReportX400Changes(ctx context.Context, since int64) (InventoryChanges, error) {
	var ch InventoryChanges
	err := s.Read(ctx, func(tx *sql.Tx) error {
		var first int64
		// Two subqueries: min and max in one SELECT scan the table.
		if err := tx.QueryRowContext(ctx, `SELECT coalesce((SELECT min(seq) FROM inventory_changes), 0),
			coalesce((SELECT max(seq) FROM inventory_changes), 0)`).Scan(&first, &ch.Seq); err != nil {
			return err
		}
		if ch.Seq <= since {
			ch.Seq = since
			return nil
		}
		if first > since+1 {
			ch.Lost = true
			return nil
		}
		changed := map[string]map[int64]bool{"connectors": {}, "servers": {}}
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT tbl, row_id FROM inventory_changes WHERE seq > ?`, since)
		if err != nil {
			return err
		}
		for rows.Next() {
			var tbl string
			var id int64
			if err := rows.Scan(&tbl, &id); err != nil {
				rows.Close()
				return err
			}
			if ids, ok := changed[tbl]; ok {
				ids[id] = true
			} else {
				ch.Facts = true
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if len(changed["connectors"]) > 0 {
			if ch.Connectors, err = changedX400Connectors(ctx, tx, since); err != nil {
				return err
			}
			for i := range ch.Connectors {
				delete(changed["connectors"], ch.Connectors[i].ID)
			}
			ch.GoneConnectors = slices.Sorted(maps.Keys(changed["connectors"]))
		}
		if len(changed["servers"]) > 0 {
			if ch.Servers, err = changedServers(ctx, tx, since); err != nil {
				return err
			}
			for id := range ch.Servers {
				delete(changed["servers"], id)
			}
			ch.GoneServers = slices.Sorted(maps.Keys(changed["servers"]))
		}
		return nil
	})
	if err != nil {
		return InventoryChanges{}, fmt.Errorf("inventory changes: %w", err)
	}
	return ch, nil
}

// changedX400Connectors reads the x400 connectors changed after since, in
// id order, as ReportX400Connectors reads them.
func changedX400Connectors(ctx context.Context, tx *sql.Tx, since int64) ([]mailnet.Connector, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+x400ConnectorColumns+` FROM connectors WHERE kind = 'x400'
		AND id IN (SELECT row_id FROM inventory_changes WHERE seq > ? AND tbl = 'connectors') ORDER BY id`, since)
	if err != nil {
		return nil, err
	}
	return scanX400Connectors(rows)
}

// changedServers reads the servers changed after since, as
// ReportAllServers reads them.
func changedServers(ctx context.Context, tx *sql.Tx, since int64) (map[int64]mailnet.Server, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+reportServerColumns+` FROM servers
		WHERE id IN (SELECT row_id FROM inventory_changes WHERE seq > ? AND tbl = 'servers')`, since)
	if err != nil {
		return nil, err
	}
	out := map[int64]mailnet.Server{}
	err = scanReportServers(rows, func(sv mailnet.Server) { out[sv.ID] = sv })
	return out, err
}
