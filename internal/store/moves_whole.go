package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"mailnet/internal/mailnet"
)

// MoveWhole moves a small mailbox in the caller's transaction, inside a
// savepoint: it checks that the target holds none of the user's rows,
// copies every message, verifies the copies field by field against the
// originals, switches the user guarded by the expected source, records the
// forward, deletes the originals and marks the item done. Server counters
// are the caller's (AddServerCounts once per group), as are the job's
// counts and the audit row. On ErrVerify or ErrSwitchGuard (wrapped)
// nothing of the user has changed: the savepoint was rolled back. It
// returns the forward's address and how many messages moved.
func (tx *Tx) MoveWhole(ctx context.Context, it *mailnet.MoveItem) (address string, n int64, err error) {
	m := tx.NewWholeMover()
	defer m.Close()
	return m.Move(ctx, it)
}

// WholeMover is MoveWhole for many users in one transaction: it prepares
// each statement once for all of them (preparing costs about as much as
// running the small statements of one user). Close it before the
// transaction ends.
type WholeMover struct {
	tx    *Tx
	sp    *Savepoint
	stmts map[string]*sql.Stmt
}

// NewWholeMover returns a WholeMover over tx.
func (tx *Tx) NewWholeMover() *WholeMover {
	return &WholeMover{tx: tx, sp: tx.NewSavepoint("move_whole"), stmts: map[string]*sql.Stmt{}}
}

// Close closes the prepared statements.
func (m *WholeMover) Close() {
	m.sp.Close()
	for _, st := range m.stmts {
		st.Close()
	}
	clear(m.stmts)
}

func (m *WholeMover) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st := m.stmts[query]; st != nil {
		return st, nil
	}
	st, err := m.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	m.stmts[query] = st
	return st, nil
}

func (m *WholeMover) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := m.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (m *WholeMover) scan(ctx context.Context, query string, args []any, dst ...any) error {
	st, err := m.stmt(ctx, query)
	if err != nil {
		return err
	}
	return st.QueryRowContext(ctx, args...).Scan(dst...)
}

// Move is MoveWhole.
func (m *WholeMover) Move(ctx context.Context, it *mailnet.MoveItem) (address string, n int64, err error) {
	err = m.sp.Run(ctx, func() error {
		address, n, err = m.move(ctx, it)
		return err
	})
	if err != nil {
		return "", 0, err
	}
	return address, n, nil
}

func (m *WholeMover) move(ctx context.Context, it *mailnet.MoveItem) (string, int64, error) {
	// Every row above base is made by this transaction from here on.
	var base, k int64
	if err := m.scan(ctx, `SELECT (SELECT coalesce(max(id), 0) FROM messages),
		(SELECT count(*) FROM messages WHERE user_id = ? AND server_id = ?)`,
		[]any{it.UserID, it.ToServerID}, &base, &k); err != nil {
		return "", 0, fmt.Errorf("copy user %d: %w", it.UserID, err)
	}
	if k > 0 {
		return "", 0, fmt.Errorf("%w: the target already holds %d messages of the user", ErrVerify, k)
	}
	res, err := m.exec(ctx, `
		INSERT INTO messages (user_id, server_id, folder, subject, size, received_at, copy_of)
		SELECT user_id, ?, folder, subject, size, received_at, id FROM messages
		WHERE user_id = ? AND server_id = ? ORDER BY id`, it.ToServerID, it.UserID, it.FromServerID)
	if err != nil {
		return "", 0, fmt.Errorf("copy user %d: %w", it.UserID, err)
	}
	n, _ := res.RowsAffected()
	// Verify: the target held none of the user's rows and now holds n, the
	// rows above base; the DELETE below must remove n originals; copies of
	// one server have distinct copy_of (messages_copy); so n copies each
	// paired with an identical original of the user on the source is a
	// complete check. It reads the new rows in rowid order (the unary +
	// keeps SQLite off messages_user) and each original by its primary key
	// (CROSS JOIN keeps that order).
	var matched int64
	if err := m.scan(ctx, `SELECT count(*) FROM messages c CROSS JOIN messages s ON s.id = c.copy_of
		WHERE c.id > ?4 AND +c.user_id = ?1 AND +c.server_id = ?3
		AND s.user_id = ?1 AND s.server_id = ?2 AND c.folder = s.folder AND c.subject = s.subject
		AND c.size = s.size AND c.received_at = s.received_at`,
		[]any{it.UserID, it.FromServerID, it.ToServerID, base}, &matched); err != nil {
		return "", 0, fmt.Errorf("verify user %d: %w", it.UserID, err)
	}
	if matched != n {
		return "", 0, fmt.Errorf("%w: %d copies made, %d of them identical to their original", ErrVerify, n, matched)
	}
	now := fmtTime(m.tx.now)
	// The forward first: it reads the user's alias only while the user is
	// still on the source, and the guarded update below refuses otherwise.
	var address string
	err = m.scan(ctx, `INSERT INTO forwards (user_id, from_server_id, to_server_id, address, created_at)
		SELECT u.id, ?2, ?3, u.alias || '@' || s.name, ?4 FROM users u, servers s
		WHERE u.id = ?1 AND u.server_id = ?2 AND s.id = ?2 RETURNING address`,
		[]any{it.UserID, it.FromServerID, it.ToServerID, now}, &address)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, ErrSwitchGuard
	}
	if err != nil {
		return "", 0, fmt.Errorf("switch user %d: %w", it.UserID, err)
	}
	if res, err = m.exec(ctx, `UPDATE users SET server_id = ? WHERE id = ? AND server_id = ?`,
		it.ToServerID, it.UserID, it.FromServerID); err != nil {
		return "", 0, fmt.Errorf("switch user %d: %w", it.UserID, err)
	}
	if k, _ := res.RowsAffected(); k != 1 {
		return "", 0, ErrSwitchGuard
	}
	if res, err = m.exec(ctx, `DELETE FROM messages WHERE user_id = ? AND server_id = ?`, it.UserID, it.FromServerID); err != nil {
		return "", 0, fmt.Errorf("release user %d: %w", it.UserID, err)
	}
	if k, _ := res.RowsAffected(); k != n {
		return "", 0, fmt.Errorf("release user %d: %w: %d originals but %d copies", it.UserID, ErrVerify, k, n)
	}
	total := max(it.Total, n)
	if _, err := m.exec(ctx, `UPDATE move_items SET state = 'done', total = ?, copied = ?, error = '', updated_at = ? WHERE id = ?`,
		total, n, now, it.ID); err != nil {
		return "", 0, fmt.Errorf("move item %d: %w", it.ID, err)
	}
	it.State, it.Total, it.Copied = mailnet.ItemDone, total, n
	return address, n, nil
}
