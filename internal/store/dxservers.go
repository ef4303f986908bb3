package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"mailnet/internal/mailnet"
)

const dxCols = `server_id, admin_account, paused, copy_admin, forward_to_admin, cycle_minutes, keep_updates_days, requestor_of`

func scanDX(sc rowScanner) (mailnet.DXServer, error) {
	var d mailnet.DXServer
	var paused, copyAdmin, forward int
	var keep sql.NullInt64
	err := sc.Scan(&d.ServerID, &d.AdminAccount, &paused, &copyAdmin, &forward, &d.CycleMinutes, &keep, &d.RequestorOf)
	if keep.Valid {
		k := int(keep.Int64)
		d.KeepUpdatesDays = &k
	}
	d.Paused, d.CopyAdmin, d.ForwardToAdmin = paused != 0, copyAdmin != 0, forward != 0
	return d, err
}

// DXServers returns every directory synchronization server, by server id.
func (s *Store) DXServers(ctx context.Context) ([]mailnet.DXServer, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+dxCols+` FROM dx_servers ORDER BY server_id`)
	if err != nil {
		return nil, fmt.Errorf("dx servers: %w", err)
	}
	defer rows.Close()
	out := []mailnet.DXServer{}
	for rows.Next() {
		d, err := scanDX(rows)
		if err != nil {
			return nil, fmt.Errorf("dx servers: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DXServer returns the DX settings of server serverID, or a not-found
// error when it is not a DX server.
func (tx *Tx) DXServer(ctx context.Context, serverID int64) (mailnet.DXServer, error) {
	d, err := scanDX(tx.QueryRowContext(ctx, `SELECT `+dxCols+` FROM dx_servers WHERE server_id = ?`, serverID))
	if errors.Is(err, sql.ErrNoRows) {
		return d, mailnet.NotFound("dx server", serverID)
	}
	if err != nil {
		return d, fmt.Errorf("dx server %d: %w", serverID, err)
	}
	return d, nil
}

// EnsureDXServer makes server serverID a DX server with default settings
// unless it already is one, and reports whether it created the row.
func (tx *Tx) EnsureDXServer(ctx context.Context, serverID int64) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO dx_servers (server_id, updated_at) VALUES (?, ?)
		ON CONFLICT (server_id) DO NOTHING`, serverID, fmtTime(tx.now))
	if err != nil {
		return false, fmt.Errorf("dx server %d: %w", serverID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// UpsertDXServer writes d's settings, creating the DX row if needed.
func (tx *Tx) UpsertDXServer(ctx context.Context, d mailnet.DXServer) error {
	var keep any
	if d.KeepUpdatesDays != nil {
		keep = *d.KeepUpdatesDays
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO dx_servers (server_id, admin_account, paused, copy_admin, forward_to_admin, cycle_minutes,
			keep_updates_days, requestor_of, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (server_id) DO UPDATE SET admin_account = excluded.admin_account, paused = excluded.paused,
			copy_admin = excluded.copy_admin, forward_to_admin = excluded.forward_to_admin,
			cycle_minutes = excluded.cycle_minutes, keep_updates_days = excluded.keep_updates_days,
			requestor_of = excluded.requestor_of, updated_at = excluded.updated_at`,
		d.ServerID, d.AdminAccount, boolInt(d.Paused), boolInt(d.CopyAdmin), boolInt(d.ForwardToAdmin), d.CycleMinutes,
		keep, d.RequestorOf, fmtTime(tx.now))
	if err != nil {
		return fmt.Errorf("dx server %d: %w", d.ServerID, err)
	}
	return nil
}

// DXPauseKicks returns the PauseKicksDX setting of each DX server, by
// server id.
func (s *Store) DXPauseKicks(ctx context.Context) (map[int64]bool, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT server_id, pause_kicks_dx FROM dx_servers`)
	if err != nil {
		return nil, fmt.Errorf("dx servers: %w", err)
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		var v bool
		if err := rows.Scan(&id, &v); err != nil {
			return nil, err
		}
		out[id] = v
	}
	return out, rows.Err()
}

// DXPauseKicksOf returns the PauseKicksDX setting of DX server serverID.
func (tx *Tx) DXPauseKicksOf(ctx context.Context, serverID int64) (bool, error) {
	var v bool
	err := tx.QueryRowContext(ctx, `SELECT pause_kicks_dx FROM dx_servers WHERE server_id = ?`, serverID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, mailnet.NotFound("dx server", serverID)
	}
	return v, err
}

// SetDXPauseKicks records PauseKicksDX=1 (set) on DX server serverID.
func (tx *Tx) SetDXPauseKicks(ctx context.Context, serverID int64, set bool) error {
	_, err := tx.ExecContext(ctx, `UPDATE dx_servers SET pause_kicks_dx = ?, updated_at = ? WHERE server_id = ?`, boolInt(set), fmtTime(tx.now), serverID)
	if err != nil {
		return fmt.Errorf("dx server %d: %w", serverID, err)
	}
	return nil
}

// DirSyncRun is mailnet.DirSyncRun, kept here for the queries that fill it.
type DirSyncRun = mailnet.DirSyncRun

// InsertDirSyncRun stores run (started now by the actor) and sets its ID.
func (tx *Tx) InsertDirSyncRun(ctx context.Context, run *DirSyncRun) error {
	ids, _ := json.Marshal(run.RequestorIDs)
	run.StartedBy, run.StartedAt, run.Outcome = mailnet.ActorName(ctx), tx.now, "running"
	res, err := tx.ExecContext(ctx, `INSERT INTO dirsync_runs (started_by, started_at, requestor_ids, scope, drive) VALUES (?, ?, ?, ?, ?)`,
		run.StartedBy, fmtTime(tx.now), string(ids), run.Scope, run.Drive)
	if err != nil {
		return fmt.Errorf("insert dir-sync run: %w", err)
	}
	run.ID, _ = res.LastInsertId()
	return nil
}

const runCols = `id, started_by, started_at, requestor_ids, scope, drive, outcome, note, finished_at, finished_by`

func scanRun(sc rowScanner) (DirSyncRun, error) {
	var r DirSyncRun
	var started, ids string
	var finished sql.NullString
	err := sc.Scan(&r.ID, &r.StartedBy, &started, &ids, &r.Scope, &r.Drive, &r.Outcome, &r.Note, &finished, &r.FinishedBy)
	r.StartedAt = parseTime(started)
	if t := parseNullTime(finished); !t.IsZero() {
		r.FinishedAt = &t
	}
	r.RequestorIDs = []int64{}
	_ = json.Unmarshal([]byte(ids), &r.RequestorIDs)
	return r, err
}

// DirSyncRunByID returns one run, or a not-found error.
func (s *Store) DirSyncRunByID(ctx context.Context, id int64) (DirSyncRun, error) {
	r, err := scanRun(s.r.QueryRowContext(ctx, `SELECT `+runCols+` FROM dirsync_runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, mailnet.NotFound("run", id)
	}
	return r, err
}

// DirSyncRunTx returns one run as the transaction sees it.
func (tx *Tx) DirSyncRunTx(ctx context.Context, id int64) (DirSyncRun, error) {
	r, err := scanRun(tx.QueryRowContext(ctx, `SELECT `+runCols+` FROM dirsync_runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, mailnet.NotFound("run", id)
	}
	return r, err
}

// DirSyncRuns returns the last runs, newest first.
func (s *Store) DirSyncRuns(ctx context.Context, limit int) ([]DirSyncRun, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+runCols+` FROM dirsync_runs ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("dir-sync runs: %w", err)
	}
	defer rows.Close()
	out := []DirSyncRun{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// FinishDirSyncRun records the outcome of a running run.
func (tx *Tx) FinishDirSyncRun(ctx context.Context, id int64, outcome, note string) error {
	_, err := tx.ExecContext(ctx, `UPDATE dirsync_runs SET outcome = ?, note = ?, finished_at = ?, finished_by = ? WHERE id = ? AND outcome = 'running'`,
		outcome, note, fmtTime(tx.now), mailnet.ActorName(ctx), id)
	if err != nil {
		return fmt.Errorf("dir-sync run %d: %w", id, err)
	}
	return nil
}
