package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"mailnet/internal/mailnet"
)

// The events table is written by the ingest writer (internal/ingest) in
// group-committed transactions and read by the event query and the
// websocket replay, both keyset-paginated on id.

// EventQuery selects events; zero fields select everything: those after
// AfterID (and before BeforeID, when set), at most Limit of them.
type EventQuery struct {
	AfterID  int64
	BeforeID int64
	Server   string // the name as stored (ingest stores the inventory's spelling)
	SiteID   int64  // events of servers at this site
	Source   string
	EventID  int // -1 or less: any
	Severity string
	// Severities, when not empty, selects any of them (Severity is ignored).
	Severities []string
	Since      time.Time // time >= Since
	Until      time.Time // time < Until
	Limit      int
}

const eventCols = `id, time, server, server_id, source, event_id, category, severity, description, subject, fields, unknown_server`

func scanEvent(sc rowScanner) (mailnet.Event, error) {
	var ev mailnet.Event
	var at, fields string
	var serverID sql.NullInt64
	var unknown int
	if err := sc.Scan(&ev.ID, &at, &ev.Server, &serverID, &ev.Source, &ev.EventID, &ev.Category,
		&ev.Severity, &ev.Description, &ev.Subject, &fields, &unknown); err != nil {
		return ev, err
	}
	ev.Time = parseTime(at).UTC()
	ev.ServerID = serverID.Int64
	ev.Unknown = unknown != 0
	if fields != "" && fields != "{}" {
		_ = json.Unmarshal([]byte(fields), &ev.Fields)
	}
	return ev, nil
}

// Events returns the events matching q in ascending id order.
func (s *Store) Events(ctx context.Context, q EventQuery) ([]mailnet.Event, error) {
	return s.events(ctx, q, "ASC")
}

// RecentEvents returns the events matching q, newest (highest id) first:
// the event log page and the NOC wall screen read them so.
func (s *Store) RecentEvents(ctx context.Context, q EventQuery) ([]mailnet.Event, error) {
	return s.events(ctx, q, "DESC")
}

// events runs q in the given id order; every filter is a keyset or index
// condition, so a page costs the same wherever it starts.
func (s *Store) events(ctx context.Context, q EventQuery, order string) ([]mailnet.Event, error) {
	where := []string{"id > ?"}
	args := []any{q.AfterID}
	add := func(cond string, v ...any) {
		where = append(where, cond)
		args = append(args, v...)
	}
	if q.BeforeID > 0 {
		add("id < ?", q.BeforeID)
	}
	if q.Server != "" {
		add("server = ?", q.Server)
	}
	if q.SiteID != 0 {
		add("server_id IN (SELECT id FROM servers WHERE site_id = ?)", q.SiteID)
	}
	if q.Source != "" {
		add("source = ?", q.Source)
	}
	if q.EventID >= 0 {
		add("event_id = ?", q.EventID)
	}
	switch {
	case len(q.Severities) > 0:
		sev := make([]any, len(q.Severities))
		for i, v := range q.Severities {
			sev[i] = v
		}
		add("severity IN (?"+strings.Repeat(",?", len(sev)-1)+")", sev...)
	case q.Severity != "":
		add("severity = ?", q.Severity)
	}
	if !q.Since.IsZero() {
		add("time >= ?", fmtTime(q.Since))
	}
	if !q.Until.IsZero() {
		add("time < ?", fmtTime(q.Until))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, `SELECT `+eventCols+` FROM events WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	defer rows.Close()
	out := make([]mailnet.Event, 0, min(limit, 256))
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// EventSiteID returns the id of the site named name (compared under
// FoldName), or a not-found error.
func (s *Store) EventSiteID(ctx context.Context, name string) (int64, error) {
	var id int64
	err := s.r.QueryRowContext(ctx, `SELECT id FROM sites WHERE name_key = ? OR name = ? ORDER BY name_key IS NULL LIMIT 1`, FoldName(name), name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, mailnet.NotFound("site", name)
	}
	if err != nil {
		return 0, fmt.Errorf("site %q: %w", name, err)
	}
	return id, nil
}

// ServerRef is what ingest needs to know of a server by name.
type ServerRef struct {
	Name   string // the inventory's spelling
	ID     int64
	SiteID int64
}

// EventNames is the name index ingest resolves events with: servers by
// folded name (FoldName, the key names are unique under), requestors by
// folded NETWORK/POSTOFFICE.
type EventNames struct {
	Servers    map[string]ServerRef
	Requestors map[string]int64
}

// EventNameIndex reads the whole name index in one snapshot.
func (s *Store) EventNameIndex(ctx context.Context) (EventNames, error) {
	idx := EventNames{Servers: map[string]ServerRef{}, Requestors: map[string]int64{}}
	err := s.Read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, site_id, name FROM servers`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r ServerRef
			if err := rows.Scan(&r.ID, &r.SiteID, &r.Name); err != nil {
				return err
			}
			idx.Servers[FoldName(r.Name)] = r
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rq, err := tx.QueryContext(ctx, `SELECT id, network, postoffice FROM requestors`)
		if err != nil {
			return err
		}
		defer rq.Close()
		for rq.Next() {
			var id int64
			var network, po string
			if err := rq.Scan(&id, &network, &po); err != nil {
				return err
			}
			idx.Requestors[FoldName(network+"/"+po)] = id
		}
		return rq.Err()
	})
	if err != nil {
		return idx, fmt.Errorf("event name index: %w", err)
	}
	return idx, nil
}

// EventInserter inserts events in one write transaction with a prepared
// statement; Close releases it.
type EventInserter struct {
	tx   *Tx
	stmt *sql.Stmt
}

// EventInserter prepares the insert for a batch of events.
func (tx *Tx) EventInserter(ctx context.Context) (*EventInserter, error) {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO events
		(time, server, server_id, requestor_id, source, event_id, category, severity, description, subject, fields, idempotency_key, unknown_server, token_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (token_id, idempotency_key) DO NOTHING`)
	if err != nil {
		return nil, fmt.Errorf("prepare event insert: %w", err)
	}
	return &EventInserter{tx: tx, stmt: stmt}, nil
}

// Close releases the prepared statement.
func (in *EventInserter) Close() error { return in.stmt.Close() }

// Insert stores ev (its ServerID 0 = not in the inventory) and sets ev.ID.
// It reports false, storing nothing, when an event with the same
// idempotency key from the same token (tokenID; 0: none) exists: keys
// are the token's own, so two agents never swallow each other's events.
func (in *EventInserter) Insert(ctx context.Context, ev *mailnet.Event, key string, tokenID, requestorID int64) (bool, error) {
	fields := "{}"
	if len(ev.Fields) > 0 {
		b, err := json.Marshal(ev.Fields)
		if err != nil {
			return false, fmt.Errorf("event fields: %w", err)
		}
		fields = string(b)
	}
	var k any
	if key != "" {
		k = key
	}
	res, err := in.stmt.ExecContext(ctx, fmtTime(ev.Time), ev.Server, nullInt(ev.ServerID), nullInt(requestorID),
		ev.Source, ev.EventID, ev.Category, ev.Severity, ev.Description, ev.Subject, fields, k, boolInt(ev.Unknown), tokenID)
	if err != nil {
		return false, fmt.Errorf("insert event: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil // the key is taken: stored before
	}
	ev.ID, err = res.LastInsertId()
	return err == nil, err
}

// SetServerLastEvent records the server's latest event.
func (tx *Tx) SetServerLastEvent(ctx context.Context, serverID, eventID int64, at time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE servers SET last_event_id = ?, last_event_at = ? WHERE id = ? AND (last_event_id IS NULL OR last_event_id < ?)`,
		eventID, fmtTime(at), serverID, eventID)
	if err != nil {
		return fmt.Errorf("server %d last event: %w", serverID, err)
	}
	return nil
}

// RequestorSync returns the requestor's dir-sync state as the transaction
// sees it.
func (tx *Tx) RequestorSync(ctx context.Context, id int64) (mailnet.Requestor, error) {
	var r mailnet.Requestor
	var export int
	var reqtx, reqtxAt, srvtx, srvtxAt sql.NullString
	var anomalies string
	err := tx.QueryRowContext(ctx, `SELECT id, network, postoffice, dx_server_id, requestor_sync, server_sync, imports,
		export_on_next_cycle, last_reqtx, last_reqtx_at, last_srvtx, last_srvtx_at, anomalies FROM requestors WHERE id = ?`, id).
		Scan(&r.ID, &r.Network, &r.Postoffice, &r.DXServerID, &r.RequestorSync, &r.ServerSync, &r.Imports,
			&export, &reqtx, &reqtxAt, &srvtx, &srvtxAt, &anomalies)
	if errors.Is(err, sql.ErrNoRows) {
		return r, mailnet.NotFound("requestor", id)
	}
	if err != nil {
		return r, fmt.Errorf("requestor %d: %w", id, err)
	}
	r.ExportOnNextCycle = export != 0
	r.LastReqTx, r.LastReqTxAt = reqtx.String, parseNullTime(reqtxAt)
	r.LastSrvTx, r.LastSrvTxAt = srvtx.String, parseNullTime(srvtxAt)
	r.Anomalies = unmarshalList(anomalies)
	return r, nil
}

// SaveRequestorSync writes the requestor's dir-sync state back.
func (tx *Tx) SaveRequestorSync(ctx context.Context, r mailnet.Requestor) error {
	_, err := tx.ExecContext(ctx, `UPDATE requestors SET requestor_sync = ?, server_sync = ?, imports = ?,
		export_on_next_cycle = ?, last_reqtx = ?, last_reqtx_at = ?, last_srvtx = ?, last_srvtx_at = ?,
		anomalies = ?, updated_at = ? WHERE id = ?`,
		r.RequestorSync, r.ServerSync, r.Imports, boolInt(r.ExportOnNextCycle),
		nullString(r.LastReqTx), nullTime(r.LastReqTxAt), nullString(r.LastSrvTx), nullTime(r.LastSrvTxAt),
		marshalList(r.Anomalies), fmtTime(tx.now), r.ID)
	if err != nil {
		return fmt.Errorf("requestor %d sync: %w", r.ID, err)
	}
	return nil
}

// EventsPrunedThrough returns the highest event id below which every
// event is gone (0 when none is): the count limit removes a prefix of the
// id sequence, and an age-pruned event is one no client may still ask for.
// Events above it may have been removed by age too (an agent's clock, a
// late batch), never a young one.
func (s *Store) EventsPrunedThrough(ctx context.Context) (int64, error) {
	var lowest sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT min(id) FROM events`).Scan(&lowest); err != nil {
		return 0, fmt.Errorf("lowest event: %w", err)
	}
	if lowest.Valid {
		return lowest.Int64 - 1, nil
	}
	// Empty: everything ever stored (if anything) was pruned.
	var seq sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'events'`).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("event sequence: %w", err)
	}
	return seq.Int64, nil
}

// PruneEvents removes, in one short transaction, at most batch events:
// first the oldest by id beyond the newest keep (0: no count limit), then
// those older than cutoff (a zero cutoff: no age limit), oldest first
// through the time index. It reports how many it removed. Age is read
// from the index, not by walking ids, so one event dated in the future
// (or a late batch of old ones) never stops pruning.
func (s *Store) PruneEvents(ctx context.Context, cutoff time.Time, keep int64, batch int) (int64, error) {
	var n int64
	err := s.Write(ctx, func(tx *Tx) error {
		tx.EventLogOnly()
		if keep > 0 {
			var lo, hi sql.NullInt64
			if err := tx.QueryRowContext(ctx, `SELECT min(id), max(id) FROM events`).Scan(&lo, &hi); err != nil {
				return err
			}
			if lo.Valid && hi.Int64-lo.Int64+1 > keep {
				// Every id at or below hi-keep goes.
				through := min(hi.Int64-keep, lo.Int64+int64(batch)-1)
				res, err := tx.ExecContext(ctx, `DELETE FROM events WHERE id <= ?`, through)
				if err != nil {
					return err
				}
				n, _ = res.RowsAffected()
			}
		}
		if !cutoff.IsZero() && n < int64(batch) {
			res, err := tx.ExecContext(ctx, `DELETE FROM events WHERE id IN
				(SELECT id FROM events INDEXED BY events_time WHERE time < ? ORDER BY time LIMIT ?)`,
				fmtTime(cutoff), int64(batch)-n)
			if err != nil {
				return err
			}
			m, _ := res.RowsAffected()
			n += m
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	return n, nil
}
