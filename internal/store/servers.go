package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"mailnet/internal/mailnet"
)

const serverCols = `id, name, site_id, kind, version, serial, addresses, status, user_count, message_count, last_event_id, last_event_at`

type rowScanner interface{ Scan(dst ...any) error }

func scanServer(sc rowScanner) (mailnet.Server, error) {
	var sv mailnet.Server
	var addrs string
	var lastID sql.NullInt64
	var lastAt sql.NullString
	err := sc.Scan(&sv.ID, &sv.Name, &sv.SiteID, &sv.Kind, &sv.Version, &sv.Serial, &addrs, &sv.Status,
		&sv.UserCount, &sv.MessageCount, &lastID, &lastAt)
	if err != nil {
		return sv, err
	}
	sv.Addresses = unmarshalList(addrs)
	sv.LastEventID = lastID.Int64
	sv.LastEventAt = parseNullTime(lastAt)
	return sv, nil
}

// Servers returns every server (decommissioned ones too), by id.
func (s *Store) Servers(ctx context.Context) ([]mailnet.Server, error) {
	return queryServers(ctx, s.r, `SELECT `+serverCols+` FROM servers ORDER BY id`)
}

// ServerByID returns the server, or a not-found error.
func (s *Store) ServerByID(ctx context.Context, id int64) (mailnet.Server, error) {
	return serverByID(ctx, s.r, id)
}

// ServerByID returns the server as the transaction sees it.
func (tx *Tx) ServerByID(ctx context.Context, id int64) (mailnet.Server, error) {
	return serverByID(ctx, tx, id)
}

func serverByID(ctx context.Context, q rowQuerier, id int64) (mailnet.Server, error) {
	sv, err := scanServer(q.QueryRowContext(ctx, `SELECT `+serverCols+` FROM servers WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return sv, mailnet.NotFound("server", id)
	}
	if err != nil {
		return sv, fmt.Errorf("server %d: %w", id, err)
	}
	return sv, nil
}

func queryServers(ctx context.Context, q rowQuerier, query string, args ...any) ([]mailnet.Server, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("servers: %w", err)
	}
	defer rows.Close()
	out := []mailnet.Server{}
	for rows.Next() {
		sv, err := scanServer(rows)
		if err != nil {
			return nil, fmt.Errorf("servers: %w", err)
		}
		out = append(out, sv)
	}
	return out, rows.Err()
}

// ServersWithSerial returns the servers, not decommissioned, that carry
// serial, by id. Uses the serial index.
func (tx *Tx) ServersWithSerial(ctx context.Context, serial string) ([]mailnet.Server, error) {
	return queryServers(ctx, tx, `SELECT `+serverCols+` FROM servers
		WHERE serial = ? AND status <> 'decommissioned' ORDER BY id`, serial)
}

// InsertServer stores sv (counters start at zero) and sets its ID. Serial
// numbers may repeat; a name in use under FoldName is a conflict naming
// the field.
func (tx *Tx) InsertServer(ctx context.Context, sv *mailnet.Server) error {
	now := fmtTime(tx.now)
	res, err := tx.ExecContext(ctx, `INSERT INTO servers (name, name_key, site_id, kind, version, serial, addresses, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sv.Name, FoldName(sv.Name), sv.SiteID, sv.Kind, sv.Version, sv.Serial, marshalList(sv.Addresses), sv.Status, now, now)
	if IsUnique(err) {
		return tx.nameTaken(ctx, "servers", "server", sv.Name, 0)
	}
	if err != nil {
		return fmt.Errorf("insert server: %w", err)
	}
	sv.ID, _ = res.LastInsertId()
	return nil
}

// UpdateServer writes sv's name, site, version, serial, addresses and
// status; the kind is fixed at registration. Whether a serial may change
// is the actions' rule (a PC postoffice's can, Q209486).
func (tx *Tx) UpdateServer(ctx context.Context, sv mailnet.Server) error {
	res, err := tx.ExecContext(ctx, `UPDATE servers SET name = ?, name_key = ?, site_id = ?, version = ?, serial = ?, addresses = ?, status = ?, updated_at = ?
		WHERE id = ?`, sv.Name, FoldName(sv.Name), sv.SiteID, sv.Version, sv.Serial, marshalList(sv.Addresses), sv.Status, fmtTime(tx.now), sv.ID)
	if IsUnique(err) {
		return tx.nameTaken(ctx, "servers", "server", sv.Name, sv.ID)
	}
	if err != nil {
		return fmt.Errorf("update server %d: %w", sv.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return mailnet.NotFound("server", sv.ID)
	}
	return nil
}

// ServerDependents names what still refers to server id and would stop
// its removal ("3 users", "1 connector"), in a fixed order; empty when
// nothing does. Every count uses an index or a kept counter.
func (tx *Tx) ServerDependents(ctx context.Context, id int64) ([]string, error) {
	checks := []struct {
		what  string
		query string
	}{
		{"user", `SELECT count(*) FROM users WHERE server_id = ?1`},
		{"message", `SELECT message_count FROM servers WHERE id = ?1`},
		{"connector", `SELECT (SELECT count(*) FROM connectors WHERE server_id = ?1) + (SELECT count(*) FROM connectors WHERE remote_server_id = ?1)`},
		{"dir-sync requestor", `SELECT count(*) FROM requestors WHERE dx_server_id = ?1 OR server_id = ?1`},
		{"move item", `SELECT count(*) FROM move_items WHERE from_server_id = ?1 OR to_server_id = ?1`},
		{"move job", `SELECT count(*) FROM jobs WHERE to_server_id = ?1`},
		{"forwarding address", `SELECT count(*) FROM forwards WHERE from_server_id = ?1 OR to_server_id = ?1`},
	}
	var out []string
	for _, c := range checks {
		var n int64
		if err := tx.QueryRowContext(ctx, c.query, id).Scan(&n); err != nil {
			return nil, fmt.Errorf("server %d dependents (%s): %w", id, c.what, err)
		}
		if n > 0 {
			what := c.what
			if n > 1 {
				what += "s"
			}
			out = append(out, fmt.Sprintf("%d %s", n, what))
		}
	}
	return out, nil
}

// DeleteServer removes server id, its routing entries (to, from and via
// it) and its DX settings, and reports how many routing entries went. The
// caller checks ServerDependents first; the foreign keys refuse the rest.
func (tx *Tx) DeleteServer(ctx context.Context, id int64) (routes int64, err error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM routes WHERE from_server_id = ?1 OR to_server_id = ?1 OR via_server_id = ?1`, id)
	if err != nil {
		return 0, fmt.Errorf("delete routes of server %d: %w", id, err)
	}
	routes, _ = res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `DELETE FROM dx_servers WHERE server_id = ?`, id); err != nil {
		return 0, fmt.Errorf("delete dx settings of server %d: %w", id, err)
	}
	res, err = tx.ExecContext(ctx, `DELETE FROM servers WHERE id = ?`, id)
	if IsForeignKey(err) {
		return 0, mailnet.Conflict("server %d is still referred to by other objects", id)
	}
	if err != nil {
		return 0, fmt.Errorf("delete server %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return 0, mailnet.NotFound("server", id)
	}
	return routes, nil
}

// InsertConsoleEvent records an event the console itself raises (such as a
// duplicate serial at registration) and makes it the server's last event.
// It sets ev.ID and, when unset, ev.Time to the transaction's time.
func (tx *Tx) InsertConsoleEvent(ctx context.Context, ev *mailnet.Event) error {
	if ev.Time.IsZero() {
		ev.Time = tx.now
	}
	fields := "{}"
	if len(ev.Fields) > 0 {
		b, err := json.Marshal(ev.Fields)
		if err != nil {
			return fmt.Errorf("event fields: %w", err)
		}
		fields = string(b)
	}
	var serverID any
	if ev.ServerID != 0 {
		serverID = ev.ServerID
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO events (time, server, server_id, source, event_id, category, severity, description, subject, fields)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		fmtTime(ev.Time), ev.Server, serverID, ev.Source, ev.EventID, ev.Category, ev.Severity, ev.Description, ev.Subject, fields)
	if err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	ev.ID, _ = res.LastInsertId()
	if ev.ServerID != 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE servers SET last_event_id = ?, last_event_at = ? WHERE id = ?`,
			ev.ID, fmtTime(ev.Time), ev.ServerID); err != nil {
			return fmt.Errorf("server last event: %w", err)
		}
	}
	return nil
}

// likePattern escapes s for a LIKE ... ESCAPE '\' substring match.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// ServerNameMap maps every server id to its name.
func (s *Store) ServerNameMap(ctx context.Context) (map[int64]string, error) {
	return s.serverNames(ctx, `SELECT id, name FROM servers`)
}

// serverNames maps the id to the name of each server that query (selecting
// id, name) returns.
func (s *Store) serverNames(ctx context.Context, query string, args ...any) (map[int64]string, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("server names: %w", err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("server names: %w", err)
		}
		out[id] = name
	}
	return out, rows.Err()
}
