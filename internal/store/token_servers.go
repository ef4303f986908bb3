package store

import (
	"context"
	"fmt"
	"strconv"
)

// SetTokenServers binds token tokenID to the servers (none: network-wide).
func (tx *Tx) SetTokenServers(ctx context.Context, tokenID int64, serverIDs []int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM token_servers WHERE token_id = ?`, tokenID); err != nil {
		return fmt.Errorf("token %d servers: %w", tokenID, err)
	}
	for _, id := range serverIDs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO token_servers (token_id, server_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, tokenID, id); err != nil {
			return fmt.Errorf("token %d servers: %w", tokenID, err)
		}
	}
	return nil
}

// TokenServers returns the servers each bound token speaks for, by token id.
func (s *Store) TokenServers(ctx context.Context) (map[int64][]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT token_id, server_id FROM token_servers ORDER BY token_id, server_id`)
	if err != nil {
		return nil, fmt.Errorf("token servers: %w", err)
	}
	defer rows.Close()
	out := map[int64][]int64{}
	for rows.Next() {
		var t, sv int64
		if err := rows.Scan(&t, &sv); err != nil {
			return nil, err
		}
		out[t] = append(out[t], sv)
	}
	return out, rows.Err()
}

// AgentScope returns the folded names token tokenID may post events for:
// its servers, and the requestors (NET/PO) whose postoffice server or DX
// server is one of them. bound is false for a network-wide token.
func (s *Store) AgentScope(ctx context.Context, tokenID int64) (names map[string]bool, bound bool, err error) {
	rows, err := s.r.QueryContext(ctx, `SELECT s.name FROM token_servers t JOIN servers s ON s.id = t.server_id WHERE t.token_id = ?
		UNION ALL
		SELECT r.network || '/' || r.postoffice FROM requestors r
		WHERE r.server_id IN (SELECT server_id FROM token_servers WHERE token_id = ?)
		   OR r.dx_server_id IN (SELECT server_id FROM token_servers WHERE token_id = ?)`, tokenID, tokenID, tokenID)
	if err != nil {
		return nil, false, fmt.Errorf("agent scope: %w", err)
	}
	defer rows.Close()
	names = map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, false, err
		}
		names[FoldName(n)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	var count int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM token_servers WHERE token_id = ?`, tokenID).Scan(&count); err != nil {
		return nil, false, fmt.Errorf("agent scope: %w", err)
	}
	return names, count > 0, nil
}

// TokenServerNames are the names of the servers each bound token speaks
// for, by token id, in the order TokenServers gives (a server since
// removed shows as "#id"), read with one names query.
func (s *Store) TokenServerNames(ctx context.Context) (map[int64][]string, error) {
	bound, err := s.TokenServers(ctx)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, sv := range bound {
		ids = append(ids, sv...)
	}
	names, err := s.ReportServerNames(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64][]string, len(bound))
	for tok, sv := range bound {
		for _, id := range sv {
			n, ok := names[id]
			if !ok {
				n = "#" + strconv.FormatInt(id, 10)
			}
			out[tok] = append(out[tok], n)
		}
	}
	return out, nil
}
