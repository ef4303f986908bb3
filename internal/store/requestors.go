package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"mailnet/internal/mailnet"
)

const requestorCols = `id, network, postoffice, dx_server_id, requestor_sync, server_sync, imports,
	export_on_next_cycle, last_reqtx, last_reqtx_at, last_srvtx, last_srvtx_at, anomalies`

func scanRequestor(sc rowScanner) (mailnet.Requestor, error) {
	var r mailnet.Requestor
	var export int
	var reqtx, reqtxAt, srvtx, srvtxAt sql.NullString
	var anomalies string
	err := sc.Scan(&r.ID, &r.Network, &r.Postoffice, &r.DXServerID, &r.RequestorSync, &r.ServerSync, &r.Imports,
		&export, &reqtx, &reqtxAt, &srvtx, &srvtxAt, &anomalies)
	if err != nil {
		return r, err
	}
	r.ExportOnNextCycle = export != 0
	r.LastReqTx, r.LastReqTxAt = reqtx.String, parseNullTime(reqtxAt)
	r.LastSrvTx, r.LastSrvTxAt = srvtx.String, parseNullTime(srvtxAt)
	r.Anomalies = unmarshalList(anomalies)
	return r, nil
}

// RequestorFilter selects requestors; zero fields select everything.
// IDs, when set, selects exactly those ids (and the other fields narrow).
type RequestorFilter struct {
	IDs        []int64
	Network    string // case-insensitive
	DXServerID int64
}

func (f RequestorFilter) where() (string, []any) {
	var where []string
	var args []any
	if len(f.IDs) > 0 {
		marks := strings.TrimSuffix(strings.Repeat("?,", len(f.IDs)), ",")
		where = append(where, "id IN ("+marks+")")
		for _, id := range f.IDs {
			args = append(args, id)
		}
	}
	if f.Network != "" {
		where = append(where, "network = ?")
		args = append(args, f.Network)
	}
	if f.DXServerID != 0 {
		where = append(where, "dx_server_id = ?")
		args = append(args, f.DXServerID)
	}
	if len(where) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

// Requestors returns the requestors matching f, by id.
func (s *Store) Requestors(ctx context.Context, f RequestorFilter) ([]mailnet.Requestor, error) {
	return queryRequestors(ctx, s.r, f)
}

// Requestors returns the requestors matching f as the transaction sees them.
func (tx *Tx) Requestors(ctx context.Context, f RequestorFilter) ([]mailnet.Requestor, error) {
	return queryRequestors(ctx, tx, f)
}

func queryRequestors(ctx context.Context, q rowQuerier, f RequestorFilter) ([]mailnet.Requestor, error) {
	where, args := f.where()
	rows, err := q.QueryContext(ctx, `SELECT `+requestorCols+` FROM requestors`+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("requestors: %w", err)
	}
	defer rows.Close()
	out := []mailnet.Requestor{}
	for rows.Next() {
		r, err := scanRequestor(rows)
		if err != nil {
			return nil, fmt.Errorf("requestors: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RequestorByID returns the requestor, or a not-found error.
func (s *Store) RequestorByID(ctx context.Context, id int64) (mailnet.Requestor, error) {
	r, err := scanRequestor(s.r.QueryRowContext(ctx, `SELECT `+requestorCols+` FROM requestors WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, mailnet.NotFound("requestor", id)
	}
	if err != nil {
		return r, fmt.Errorf("requestor %d: %w", id, err)
	}
	return r, nil
}

// InsertRequestor stores r and sets its ID; serverID is the postoffice's
// own server (0: unknown). A network/postoffice pair in use is a conflict.
func (tx *Tx) InsertRequestor(ctx context.Context, r *mailnet.Requestor, serverID int64) error {
	var sid any
	if serverID != 0 {
		sid = serverID
	}
	now := fmtTime(tx.now)
	res, err := tx.ExecContext(ctx, `INSERT INTO requestors (network, postoffice, dx_server_id, server_id, requestor_sync,
		server_sync, imports, export_on_next_cycle, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Network, r.Postoffice, r.DXServerID, sid, r.RequestorSync, r.ServerSync, r.Imports, boolInt(r.ExportOnNextCycle), now, now)
	if IsUnique(err) {
		return mailnet.Errorf(mailnet.KindConflict, "postoffice", "requestor %s/%s already exists", r.Network, r.Postoffice)
	}
	if err != nil {
		return fmt.Errorf("insert requestor: %w", err)
	}
	r.ID, _ = res.LastInsertId()
	r.Anomalies = []string{}
	return nil
}

// SetExportOnNextCycle sets the Export on Next Cycle flag of requestor id
// and, when set, remembers when: only a SrvTx logged after that clears it.
func (tx *Tx) SetExportOnNextCycle(ctx context.Context, id int64, enabled bool) error {
	var setAt any
	if enabled {
		setAt = fmtTime(tx.now)
	}
	res, err := tx.ExecContext(ctx, `UPDATE requestors SET export_on_next_cycle = ?, export_set_at = ?, updated_at = ? WHERE id = ?`,
		boolInt(enabled), setAt, fmtTime(tx.now), id)
	if err != nil {
		return fmt.Errorf("requestor %d export: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return mailnet.NotFound("requestor", id)
	}
	return nil
}

// DirSyncExtra is the requestor state that ingest keeps beside the sync
// numbers: when Export on Next Cycle was set, the count of unconfirmed
// T1s (R18) and whether a full export was announced (R20's 221).
type DirSyncExtra struct {
	ExportSetAt      time.Time
	Unconfirmed      int
	ExpectFullExport bool
}

// DirSyncExtra returns the requestor's ingest state.
func (tx *Tx) DirSyncExtra(ctx context.Context, id int64) (DirSyncExtra, error) {
	var e DirSyncExtra
	var at sql.NullString
	var expect int
	err := tx.QueryRowContext(ctx, `SELECT export_set_at, unconfirmed, expect_full_export FROM requestors WHERE id = ?`, id).
		Scan(&at, &e.Unconfirmed, &expect)
	if errors.Is(err, sql.ErrNoRows) {
		return e, mailnet.NotFound("requestor", id)
	}
	if err != nil {
		return e, fmt.Errorf("requestor %d: %w", id, err)
	}
	e.ExportSetAt, e.ExpectFullExport = parseNullTime(at), expect != 0
	return e, nil
}

// SaveDirSyncExtra writes the requestor's ingest state.
func (tx *Tx) SaveDirSyncExtra(ctx context.Context, id int64, e DirSyncExtra) error {
	_, err := tx.ExecContext(ctx, `UPDATE requestors SET export_set_at = ?, unconfirmed = ?, expect_full_export = ? WHERE id = ?`,
		nullTime(e.ExportSetAt), e.Unconfirmed, boolInt(e.ExpectFullExport), id)
	if err != nil {
		return fmt.Errorf("requestor %d: %w", id, err)
	}
	return nil
}

// DirSyncFinding is mailnet.DirSyncFinding, kept here for the queries that fill it.
type DirSyncFinding = mailnet.DirSyncFinding

// OpenDirSyncFinding records f (its ID, OpenedAt and lifecycle fields are
// ignored): an open finding of the same requestor and kind is seen again
// (its text, event and seen time updated), else a new one opens. It
// returns the finding's id and whether it is new.
func (tx *Tx) OpenDirSyncFinding(ctx context.Context, f DirSyncFinding, at time.Time) (int64, bool, error) {
	var rid any
	if f.RequestorID != 0 {
		rid = f.RequestorID
	}
	var ev any
	if f.EventID != 0 {
		ev = f.EventID
	}
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM dirsync_findings WHERE requestor_id IS ? AND kind = ? AND subject_name = ?
		AND resolved_at IS NULL ORDER BY id DESC LIMIT 1`, rid, f.Kind, f.SubjectName).Scan(&id)
	switch {
	case err == nil:
		_, err = tx.ExecContext(ctx, `UPDATE dirsync_findings SET text = ?, event_id = coalesce(?, event_id), seen_at = ?,
			seen_count = seen_count + 1 WHERE id = ?`, f.Text, ev, fmtTime(at), id)
		if err != nil {
			return 0, false, fmt.Errorf("dir-sync finding %d: %w", id, err)
		}
		return id, false, nil
	case !errors.Is(err, sql.ErrNoRows):
		return 0, false, fmt.Errorf("dir-sync findings: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO dirsync_findings (requestor_id, subject_name, rule, kind, severity, text, cause, fix,
		source, event_id, opened_at, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		rid, f.SubjectName, f.Rule, f.Kind, f.Severity, f.Text, f.Cause, f.Fix, f.Source, ev, fmtTime(at), fmtTime(at))
	if err != nil {
		return 0, false, fmt.Errorf("insert dir-sync finding: %w", err)
	}
	id, _ = res.LastInsertId()
	return id, true, nil
}

// ClearDirSyncFindings resolves the requestor's open findings of the
// given kinds: a later clean cycle (event eventID at at) shows their
// condition gone. It returns the ids resolved.
func (tx *Tx) ClearDirSyncFindings(ctx context.Context, requestorID int64, kinds []string, eventID int64, at time.Time) ([]int64, error) {
	if len(kinds) == 0 {
		return nil, nil
	}
	args := []any{requestorID}
	for _, k := range kinds {
		args = append(args, k)
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(kinds)), ",")
	rows, err := tx.QueryContext(ctx, `SELECT id FROM dirsync_findings WHERE requestor_id = ? AND kind IN (`+marks+`)
		AND resolved_at IS NULL AND opened_at <= ?`, append(args, fmtTime(at))...)
	if err != nil {
		return nil, fmt.Errorf("dir-sync findings: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	var ev any
	if eventID != 0 {
		ev = eventID
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `UPDATE dirsync_findings SET resolved_at = ?, resolution = 'cleared', resolved_event_id = ?
			WHERE id = ?`, fmtTime(at), ev, id); err != nil {
			return nil, fmt.Errorf("dir-sync finding %d: %w", id, err)
		}
	}
	return ids, nil
}

const findingCols = `f.id, coalesce(f.requestor_id, 0), coalesce(r.network || '/' || r.postoffice, ''), f.subject_name, f.rule, f.kind,
	f.severity, f.text, f.cause, f.fix, f.source, coalesce(f.event_id, 0), f.opened_at, f.seen_at, f.seen_count, f.resolved_at,
	f.resolution, coalesce(f.resolved_event_id, 0), f.ack_by, f.ack_note`

func scanFinding(sc rowScanner) (DirSyncFinding, error) {
	var f DirSyncFinding
	var opened, seen string
	var resolved sql.NullString
	err := sc.Scan(&f.ID, &f.RequestorID, &f.Requestor, &f.SubjectName, &f.Rule, &f.Kind, &f.Severity, &f.Text, &f.Cause, &f.Fix,
		&f.Source, &f.EventID, &opened, &seen, &f.SeenCount, &resolved, &f.Resolution, &f.ResolvedEventID, &f.AckBy, &f.AckNote)
	f.OpenedAt, f.SeenAt = parseTime(opened), parseTime(seen)
	if t := parseNullTime(resolved); !t.IsZero() {
		f.ResolvedAt = &t
	}
	return f, err
}

// FindingFilter selects findings: RequestorID 0 for all, Open for only
// those not resolved, Query a case-insensitive substring of the text,
// rule, kind or requestor.
type FindingFilter struct {
	RequestorID int64
	Open        bool
	Query       string
	Limit       int
}

// DirSyncFindings returns the findings matching f, newest first.
func (s *Store) DirSyncFindings(ctx context.Context, f FindingFilter) ([]DirSyncFinding, error) {
	where := []string{"1=1"}
	var args []any
	if f.RequestorID != 0 {
		where = append(where, "f.requestor_id = ?")
		args = append(args, f.RequestorID)
	}
	if f.Open {
		where = append(where, "f.resolved_at IS NULL")
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		where = append(where, `(instr(lower(f.text), lower(?)) > 0 OR instr(lower(f.rule), lower(?)) > 0 OR instr(lower(f.kind), lower(?)) > 0
			OR instr(lower(coalesce(r.network || '/' || r.postoffice, f.subject_name)), lower(?)) > 0)`)
		args = append(args, q, q, q, q)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+findingCols+` FROM dirsync_findings f LEFT JOIN requestors r ON r.id = f.requestor_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY f.id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("dir-sync findings: %w", err)
	}
	defer rows.Close()
	out := []DirSyncFinding{}
	for rows.Next() {
		fd, err := scanFinding(rows)
		if err != nil {
			return nil, fmt.Errorf("dir-sync findings: %w", err)
		}
		out = append(out, fd)
	}
	return out, rows.Err()
}

// DirSyncFinding returns one finding as the transaction sees it.
func (tx *Tx) DirSyncFinding(ctx context.Context, id int64) (DirSyncFinding, error) {
	f, err := scanFinding(tx.QueryRowContext(ctx, `SELECT `+findingCols+` FROM dirsync_findings f
		LEFT JOIN requestors r ON r.id = f.requestor_id WHERE f.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return f, mailnet.NotFound("finding", id)
	}
	return f, err
}

// AckDirSyncFinding resolves finding id as acknowledged by who, with note.
func (tx *Tx) AckDirSyncFinding(ctx context.Context, id int64, who, note string) error {
	_, err := tx.ExecContext(ctx, `UPDATE dirsync_findings SET resolved_at = ?, resolution = 'acknowledged', ack_by = ?, ack_note = ?
		WHERE id = ? AND resolved_at IS NULL`, fmtTime(tx.now), who, note, id)
	if err != nil {
		return fmt.Errorf("dir-sync finding %d: %w", id, err)
	}
	return nil
}

// DirSyncCycle is mailnet.DirSyncCycle, kept here for the queries that fill it.
type DirSyncCycle = mailnet.DirSyncCycle

// HistoryLimit bounds the cycles, evidence and changes kept per requestor.
const HistoryLimit = 200

// AddDirSyncCycle appends c to the requestor's history, keeping the last
// HistoryLimit.
func (tx *Tx) AddDirSyncCycle(ctx context.Context, c DirSyncCycle) error {
	var ev any
	if c.EventID != 0 {
		ev = c.EventID
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO dirsync_cycles (requestor_id, event_id, at, kind, r, was, s, i, sent, full_export, late)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.RequestorID, ev, fmtTime(c.At), c.Kind, c.R, c.Was, c.S, c.I, c.Sent,
		boolInt(c.FullExport), boolInt(c.Late)); err != nil {
		return fmt.Errorf("dir-sync cycle: %w", err)
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM dirsync_cycles WHERE requestor_id = ? AND id <= (SELECT id FROM dirsync_cycles
		WHERE requestor_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`, c.RequestorID, c.RequestorID, HistoryLimit)
	return err
}

// DirSyncCycles returns the requestor's last n cycles (n <= 0: all kept), oldest first.
func (s *Store) DirSyncCycles(ctx context.Context, requestorID int64, n int) ([]DirSyncCycle, error) {
	if n <= 0 {
		n = HistoryLimit
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, requestor_id, coalesce(event_id, 0), at, kind, r, was, s, i, sent, full_export, late
		FROM (SELECT * FROM dirsync_cycles WHERE requestor_id = ? ORDER BY id DESC LIMIT ?) ORDER BY id`, requestorID, n)
	if err != nil {
		return nil, fmt.Errorf("dir-sync cycles: %w", err)
	}
	defer rows.Close()
	out := []DirSyncCycle{}
	for rows.Next() {
		var c DirSyncCycle
		var at string
		if err := rows.Scan(&c.ID, &c.RequestorID, &c.EventID, &at, &c.Kind, &c.R, &c.Was, &c.S, &c.I, &c.Sent, &c.FullExport, &c.Late); err != nil {
			return nil, err
		}
		c.At = parseTime(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// AddDirSyncEvidence records that evidence of kind arrived for the
// requestor (event eventID at at).
func (tx *Tx) AddDirSyncEvidence(ctx context.Context, requestorID, eventID int64, kind string, at time.Time) error {
	var ev any
	if eventID != 0 {
		ev = eventID
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO dirsync_evidence (requestor_id, event_id, at, kind) VALUES (?, ?, ?, ?)`,
		requestorID, ev, fmtTime(at), kind)
	if err != nil {
		return fmt.Errorf("dir-sync evidence: %w", err)
	}
	return nil
}

// DirSyncEvidence is one piece of evidence seen for a requestor.
type DirSyncEvidence struct {
	RequestorID int64     `json:"requestor_id"`
	EventID     int64     `json:"event_id,omitempty"`
	At          time.Time `json:"at"`
	Kind        string    `json:"kind"`
}

// DirSyncEvidenceSince returns the evidence logged at or after since for
// the requestors, oldest first.
func (s *Store) DirSyncEvidenceSince(ctx context.Context, requestorIDs []int64, since time.Time) ([]DirSyncEvidence, error) {
	out := []DirSyncEvidence{}
	if len(requestorIDs) == 0 {
		return out, nil
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(requestorIDs)), ",")
	args := []any{}
	for _, id := range requestorIDs {
		args = append(args, id)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT requestor_id, coalesce(event_id, 0), at, kind FROM dirsync_evidence
		WHERE requestor_id IN (`+marks+`) AND at >= ? ORDER BY at, id`, append(args, fmtTime(since))...)
	if err != nil {
		return nil, fmt.Errorf("dir-sync evidence: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e DirSyncEvidence
		var at string
		if err := rows.Scan(&e.RequestorID, &e.EventID, &at, &e.Kind); err != nil {
			return nil, err
		}
		e.At = parseTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// RequestorChange is mailnet.RequestorChange, kept here for the queries that fill it.
type RequestorChange = mailnet.RequestorChange

// AddRequestorChange records a change ingest made to a requestor.
func (tx *Tx) AddRequestorChange(ctx context.Context, c RequestorChange) error {
	var ev any
	if c.EventID != 0 {
		ev = c.EventID
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO requestor_changes (requestor_id, event_id, at, field, before, after, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, c.RequestorID, ev, fmtTime(c.At), c.Field, c.Before, c.After, c.Detail)
	if err != nil {
		return fmt.Errorf("requestor change: %w", err)
	}
	return nil
}

// ChangeFilter selects requestor changes: RequestorID 0 for all; Query a
// case-insensitive substring of the field, values, detail or requestor.
type ChangeFilter struct {
	RequestorID int64
	Query       string
	Limit       int
}

// RequestorChanges returns the changes matching f, newest first.
func (s *Store) RequestorChanges(ctx context.Context, f ChangeFilter) ([]RequestorChange, error) {
	where := []string{"1=1"}
	var args []any
	if f.RequestorID != 0 {
		where = append(where, "c.requestor_id = ?")
		args = append(args, f.RequestorID)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		where = append(where, `instr(lower(c.field || ' ' || c.before || ' ' || c.after || ' ' || c.detail || ' ' ||
			coalesce(r.network || '/' || r.postoffice, '')), lower(?)) > 0`)
		args = append(args, q)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	rows, err := s.r.QueryContext(ctx, `SELECT c.id, c.requestor_id, coalesce(r.network || '/' || r.postoffice, ''), coalesce(c.event_id, 0),
		c.at, c.field, c.before, c.after, c.detail FROM requestor_changes c LEFT JOIN requestors r ON r.id = c.requestor_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY c.id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("requestor changes: %w", err)
	}
	defer rows.Close()
	out := []RequestorChange{}
	for rows.Next() {
		var c RequestorChange
		var at string
		if err := rows.Scan(&c.ID, &c.RequestorID, &c.Requestor, &c.EventID, &at, &c.Field, &c.Before, &c.After, &c.Detail); err != nil {
			return nil, err
		}
		c.At = parseTime(at)
		out = append(out, c)
	}
	return out, rows.Err()
}
