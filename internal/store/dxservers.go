package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"mailnet/internal/mailnet"
)

const dxCols = `server_id, admin_account, paused, copy_admin, forward_to_admin, cycle_minutes`

func scanDX(sc rowScanner) (mailnet.DXServer, error) {
	var d mailnet.DXServer
	var paused, copyAdmin, forward int
	err := sc.Scan(&d.ServerID, &d.AdminAccount, &paused, &copyAdmin, &forward, &d.CycleMinutes)
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
	_, err := tx.ExecContext(ctx, `INSERT INTO dx_servers (server_id, admin_account, paused, copy_admin, forward_to_admin, cycle_minutes, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (server_id) DO UPDATE SET admin_account = excluded.admin_account, paused = excluded.paused,
			copy_admin = excluded.copy_admin, forward_to_admin = excluded.forward_to_admin,
			cycle_minutes = excluded.cycle_minutes, updated_at = excluded.updated_at`,
		d.ServerID, d.AdminAccount, boolInt(d.Paused), boolInt(d.CopyAdmin), boolInt(d.ForwardToAdmin), d.CycleMinutes, fmtTime(tx.now))
	if err != nil {
		return fmt.Errorf("dx server %d: %w", d.ServerID, err)
	}
	return nil
}
