package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"mailnet/internal/mailnet"
)

// ReportX400Connectors returns every x400 connector, by id, with its stack
// addresses and override (DN, poll interval and logging are left empty).
func (s *Store) ReportX400Connectors(ctx context.Context) ([]mailnet.Connector, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT `+x400ConnectorColumns+` FROM connectors WHERE kind = 'x400' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("x400 connectors: %w", err)
	}
	out, err := scanX400Connectors(rows)
	if err != nil {
		return nil, fmt.Errorf("x400 connectors: %w", err)
	}
	return out, nil
}

// x400ConnectorColumns are the columns scanX400Connectors reads.
const x400ConnectorColumns = `id, kind, name, server_id, remote_server_id, stack_addresses, override_address`

// scanX400Connectors reads rows of x400ConnectorColumns, and closes them.
func scanX400Connectors(rows *sql.Rows) ([]mailnet.Connector, error) {
	defer rows.Close()
	var out []mailnet.Connector
	for rows.Next() {
		var c mailnet.Connector
		var remote sql.NullInt64
		var stack string
		var override sql.NullString
		if err := rows.Scan(&c.ID, &c.Kind, &c.Name, &c.ServerID, &remote, &stack, &override); err != nil {
			return nil, err
		}
		c.RemoteServerID = remote.Int64
		c.StackAddresses = reportAddressList(stack)
		c.OverrideAddress = override.String
		out = append(out, c)
	}
	return out, rows.Err()
}

// ReportServersByID returns the servers ids (those that exist), keyed by
// id, with their addresses and version; counters are left zero.
func (s *Store) ReportServersByID(ctx context.Context, ids []int64) (map[int64]mailnet.Server, error) {
	out := make(map[int64]mailnet.Server, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	return s.reportServers(ctx, ids)
}

// ReportAllServers returns every server, keyed by id, with its addresses
// and version; counters are left zero.
func (s *Store) ReportAllServers(ctx context.Context) (map[int64]mailnet.Server, error) {
	return s.reportServers(ctx, nil)
}

// reportServers reads the servers ids, or all of them for nil ids.
func (s *Store) reportServers(ctx context.Context, ids []int64) (map[int64]mailnet.Server, error) {
	out := make(map[int64]mailnet.Server, len(ids))
	// A long id list reads every server instead: one table scan beats
	// thousands of bound parameters.
	q, args := `SELECT `+reportServerColumns+` FROM servers`, []any(nil)
	if ids != nil && len(ids) <= 500 {
		var in string
		in, args = reportInList(ids)
		q += ` WHERE id IN (` + in + `)`
	}
	want := make(map[int64]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("servers by id: %w", err)
	}
	err = scanReportServers(rows, func(sv mailnet.Server) {
		if ids == nil || want[sv.ID] {
			out[sv.ID] = sv
		}
	})
	if err != nil {
		return nil, fmt.Errorf("servers by id: %w", err)
	}
	return out, nil
}

// reportServerColumns are the columns scanReportServers reads.
const reportServerColumns = `id, name, site_id, kind, version, serial, addresses, status`

// scanReportServers reads rows of reportServerColumns into keep, and
// closes them.
func scanReportServers(rows *sql.Rows, keep func(mailnet.Server)) error {
	defer rows.Close()
	for rows.Next() {
		var sv mailnet.Server
		var addrs string
		if err := rows.Scan(&sv.ID, &sv.Name, &sv.SiteID, &sv.Kind, &sv.Version, &sv.Serial, &addrs, &sv.Status); err != nil {
			return err
		}
		sv.Addresses = reportAddressList(addrs)
		keep(sv)
	}
	return rows.Err()
}

// ReportEvent is the part of a logged event that the X.400 check matches.
type ReportEvent struct {
	ID          int64
	EventID     int
	Time        time.Time
	ServerID    int64 // 0: unknown server
	Description string
	Subject     string
	Fields      map[string]string
}

// ReportEventsByID returns the events with event_id logged at or after
// since, by id (the events_event_id index).
func (s *Store) ReportEventsByID(ctx context.Context, eventID int, since time.Time) ([]ReportEvent, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT id, time, server_id, description, subject, fields FROM events
		WHERE event_id = ? AND time >= ? ORDER BY id`, eventID, fmtTime(since))
	if err != nil {
		return nil, fmt.Errorf("events %d: %w", eventID, err)
	}
	defer rows.Close()
	var out []ReportEvent
	for rows.Next() {
		var e ReportEvent
		var at, fields string
		var server sql.NullInt64
		if err := rows.Scan(&e.ID, &at, &server, &e.Description, &e.Subject, &fields); err != nil {
			return nil, fmt.Errorf("events %d: %w", eventID, err)
		}
		e.Time = parseTime(at)
		e.EventID = eventID
		e.ServerID = server.Int64
		_ = json.Unmarshal([]byte(fields), &e.Fields)
		out = append(out, e)
	}
	return out, rows.Err()
}

// ReportLatestEvents returns, per server, the newest event with one of
// eventIDs (the MTA's startup events carry its build), by server id.
func (s *Store) ReportLatestEvents(ctx context.Context, eventIDs ...int) (map[int64]ReportEvent, error) {
	out := map[int64]ReportEvent{}
	if len(eventIDs) == 0 {
		return out, nil
	}
	in, args := reportInList(toInt64s(eventIDs))
	// The newest row per server by the (event_id, id) index: a window over
	// the few startup events, not a scan of the log.
	rows, err := s.r.QueryContext(ctx, `
		SELECT id, time, server_id, description FROM (
			SELECT id, time, server_id, description,
			       row_number() OVER (PARTITION BY server_id ORDER BY id DESC) AS n
			FROM events WHERE event_id IN (`+in+`) AND server_id IS NOT NULL)
		WHERE n = 1`, args...)
	if err != nil {
		return nil, fmt.Errorf("latest events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e ReportEvent
		var at string
		if err := rows.Scan(&e.ID, &at, &e.ServerID, &e.Description); err != nil {
			return nil, fmt.Errorf("latest events: %w", err)
		}
		e.Time = parseTime(at)
		out[e.ServerID] = e
	}
	return out, rows.Err()
}

func toInt64s(ns []int) []int64 {
	out := make([]int64, len(ns))
	for i, n := range ns {
		out[i] = int64(n)
	}
	return out
}

// EventMark is the count and the lowest and highest id of the stored
// events with one event id (all 0 when there is none). Marks taken before
// and after a change differ when an event with that id was added (a new
// highest id) or removed (a lower count).
type EventMark struct {
	EventID         int
	Count, Min, Max int64
}

// EventMarks returns the mark of each event id, in the order given, from
// the (event_id, id) index alone, so that a read model built from those
// events can tell cheaply whether they changed.
func (s *Store) EventMarks(ctx context.Context, eventIDs ...int) ([]EventMark, error) {
	out := make([]EventMark, len(eventIDs))
	if len(eventIDs) == 0 {
		return out, nil
	}
	var q strings.Builder
	args := make([]any, 0, len(eventIDs))
	for i, id := range eventIDs {
		if i > 0 {
			q.WriteString(" UNION ALL ")
		}
		q.WriteString(`SELECT event_id, count(*), coalesce(min(id), 0), coalesce(max(id), 0) FROM events INDEXED BY events_event_id WHERE event_id = ?`)
		args = append(args, id)
	}
	rows, err := s.r.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("event marks: %w", err)
	}
	defer rows.Close()
	for i := 0; rows.Next() && i < len(out); i++ {
		var id sql.NullInt64 // NULL when no row has the id
		if err := rows.Scan(&id, &out[i].Count, &out[i].Min, &out[i].Max); err != nil {
			return nil, fmt.Errorf("event marks: %w", err)
		}
		out[i].EventID = eventIDs[i]
	}
	return out, rows.Err()
}
