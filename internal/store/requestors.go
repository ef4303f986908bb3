package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

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

// SetExportOnNextCycle sets the Export on Next Cycle flag of requestor id.
func (tx *Tx) SetExportOnNextCycle(ctx context.Context, id int64, enabled bool) error {
	res, err := tx.ExecContext(ctx, `UPDATE requestors SET export_on_next_cycle = ?, updated_at = ? WHERE id = ?`,
		boolInt(enabled), fmtTime(tx.now), id)
	if err != nil {
		return fmt.Errorf("requestor %d export: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return mailnet.NotFound("requestor", id)
	}
	return nil
}
