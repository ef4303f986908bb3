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

// AuditFilter selects audit rows. Zero fields select everything. Rows come
// newest first; Before is the keyset cursor (rows with id < Before).
type AuditFilter struct {
	Actor      string
	ObjectType string
	ObjectID   int64
	Action     string
	From, To   time.Time // From inclusive, To exclusive
	Before     int64
	Limit      int // default 50, at most 500
}

// AuditPage is one page of the audit log; Next is the cursor of the page
// after it (0 when there is none).
type AuditPage struct {
	Entries []mailnet.AuditEntry
	Next    int64
}

// Audit returns the audit rows that f selects, newest first.
func (s *Store) AuditLog(ctx context.Context, f AuditFilter) (AuditPage, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.ObjectType != "" {
		add("object_type = ?", f.ObjectType)
	}
	if f.ObjectID != 0 {
		add("object_id = ?", f.ObjectID)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if !f.From.IsZero() {
		add("time >= ?", fmtTime(f.From))
	}
	if !f.To.IsZero() {
		add("time < ?", fmtTime(f.To))
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	q := `SELECT id, time, actor, action, object_type, object_id, before, after, detail FROM audit`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit+1)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return AuditPage{}, fmt.Errorf("audit: %w", err)
	}
	defer rows.Close()
	page := AuditPage{Entries: []mailnet.AuditEntry{}}
	for rows.Next() {
		var e mailnet.AuditEntry
		var t string
		var oid sql.NullInt64
		var before, after sql.NullString
		if err := rows.Scan(&e.ID, &t, &e.Actor, &e.Action, &e.ObjectType, &oid, &before, &after, &e.Detail); err != nil {
			return AuditPage{}, fmt.Errorf("audit: %w", err)
		}
		e.Time, e.ObjectID = parseTime(t), oid.Int64
		e.Before, e.After = rawJSON(before), rawJSON(after)
		page.Entries = append(page.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return AuditPage{}, fmt.Errorf("audit: %w", err)
	}
	if len(page.Entries) > limit {
		page.Entries = page.Entries[:limit]
		page.Next = page.Entries[limit-1].ID
	}
	return page, nil
}

func rawJSON(s sql.NullString) any {
	if !s.Valid || s.String == "" || s.String == "null" {
		return nil
	}
	return json.RawMessage(s.String)
}

// AuditObject is mailnet.AuditObject, kept here for the queries that fill it.
type AuditObject = mailnet.AuditObject

// AuditName is mailnet.AuditName, kept here for the queries that fill it.
type AuditName = mailnet.AuditName

// auditNameQueries read the display name (and server) of each kind of
// audited object.
var auditNameQueries = map[string]string{
	"server":    `SELECT id, name, id FROM servers WHERE id IN (%s)`,
	"dx_server": `SELECT id, name, id FROM servers WHERE id IN (%s)`,
	"user":      `SELECT id, alias, server_id FROM users WHERE id IN (%s)`,
	"site":      `SELECT id, name, 0 FROM sites WHERE id IN (%s)`,
	"connector": `SELECT id, name, server_id FROM connectors WHERE id IN (%s)`,
	"requestor": `SELECT id, network || '/' || postoffice, dx_server_id FROM requestors WHERE id IN (%s)`,
	"account":   `SELECT id, name, 0 FROM accounts WHERE id IN (%s)`,
	"token":     `SELECT id, name, 0 FROM tokens WHERE id IN (%s)`,
}

// AuditNames returns the current names of the objects of entries (a
// user's alias, a server's name...), for the kinds that have one. An
// object deleted since has no name.
func (s *Store) AuditNames(ctx context.Context, entries []mailnet.AuditEntry) (map[AuditObject]AuditName, error) {
	byType := map[string][]int64{}
	for _, e := range entries {
		if e.ObjectID != 0 && auditNameQueries[e.ObjectType] != "" {
			byType[e.ObjectType] = append(byType[e.ObjectType], e.ObjectID)
		}
	}
	out := map[AuditObject]AuditName{}
	for typ, ids := range byType {
		in, args := reportInList(ids)
		rows, err := s.r.QueryContext(ctx, fmt.Sprintf(auditNameQueries[typ], in), args...)
		if err != nil {
			return nil, fmt.Errorf("audit names of %s: %w", typ, err)
		}
		for rows.Next() {
			var id int64
			var n AuditName
			if err := rows.Scan(&id, &n.Name, &n.ServerID); err != nil {
				rows.Close()
				return nil, fmt.Errorf("audit names of %s: %w", typ, err)
			}
			out[AuditObject{Type: typ, ID: id}] = n
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("audit names of %s: %w", typ, err)
		}
	}
	return out, nil
}

// AuditHead returns the id of the newest audit row (0 when none): every
// action writes one, so a read model of the inventory can cache by it.
func (s *Store) AuditHead(ctx context.Context) (int64, error) {
	var id int64
	if err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM audit`).Scan(&id); err != nil {
		return 0, fmt.Errorf("audit head: %w", err)
	}
	return id, nil
}
