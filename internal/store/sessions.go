package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"mailnet/internal/mailnet"
)

// Sessions are started, renewed and ended by internal/actions
// (sessions.go), which holds the rules: lifetimes, the limit per account,
// who may sign in. These are the typed queries; sessions are found by the
// SHA-256 hash of their cookie secret (auth.HashSecret).

// InsertSession stores a new session.
func (tx *Tx) InsertSession(ctx context.Context, s mailnet.Session) error {
	var acct, tok, expires any
	if s.AccountID != 0 {
		acct = s.AccountID
	}
	if s.TokenID != 0 {
		tok = s.TokenID
	}
	if !s.ExpiresAt.IsZero() {
		expires = fmtTime(s.ExpiresAt)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (hash, account_id, token_id, role, created_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		s.Hash, acct, tok, string(s.Role), fmtTime(s.CreatedAt), fmtTime(s.LastSeen), expires); err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	return nil
}

// SessionByHash returns the session with that hash, or ErrNotFound.
// Sessions of a disabled account or a revoked token are not found (their
// rows are deleted when that happens; this is a second lock).
func (s *Store) SessionByHash(ctx context.Context, hash []byte) (mailnet.Session, error) {
	var sess mailnet.Session
	var acct, tok sql.NullInt64
	var name sql.NullString
	var role, created, seen string
	var expires sql.NullString
	var disabled sql.NullBool
	var revoked sql.NullString
	err := s.r.QueryRowContext(ctx, `SELECT s.hash, s.account_id, s.token_id, s.role, s.created_at, s.last_seen, s.expires_at,
			COALESCE(a.name, 'token:' || t.name), a.disabled, t.revoked_at
		FROM sessions s LEFT JOIN accounts a ON a.id = s.account_id LEFT JOIN tokens t ON t.id = s.token_id
		WHERE s.hash = ?`, hash).
		Scan(&sess.Hash, &acct, &tok, &role, &created, &seen, &expires, &name, &disabled, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return mailnet.Session{}, mailnet.ErrNotFound
	}
	if err != nil {
		return mailnet.Session{}, fmt.Errorf("session: %w", err)
	}
	if !name.Valid || disabled.Bool || revoked.Valid || (acct.Valid == tok.Valid) {
		return mailnet.Session{}, mailnet.ErrNotFound
	}
	sess.AccountID, sess.TokenID, sess.Name, sess.Role = acct.Int64, tok.Int64, name.String, mailnet.Role(role)
	sess.CreatedAt, sess.LastSeen, sess.ExpiresAt = parseTime(created), parseTime(seen), parseNullTime(expires)
	return sess, nil
}

// TouchSession records that the session was used at now.
func (tx *Tx) TouchSession(ctx context.Context, hash []byte, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE hash = ?`, fmtTime(now), hash); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteSession deletes the session with that hash and reports whether
// there was one.
func (tx *Tx) DeleteSession(ctx context.Context, hash []byte) (bool, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
	if err != nil {
		return false, fmt.Errorf("delete session: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// DeleteAccountSessions deletes every session of the account and reports
// how many.
func (tx *Tx) DeleteAccountSessions(ctx context.Context, accountID int64) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = ?`, accountID)
	if err != nil {
		return 0, fmt.Errorf("delete sessions of account %d: %w", accountID, err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// DeleteTokenSessions deletes every device session the token signed in and
// reports how many.
func (tx *Tx) DeleteTokenSessions(ctx context.Context, tokenID int64) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_id = ?`, tokenID)
	if err != nil {
		return 0, fmt.Errorf("delete sessions of token %d: %w", tokenID, err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// TrimAccountSessions deletes the account's least recently used sessions
// so that at most keep remain, and reports how many it deleted.
func (tx *Tx) TrimAccountSessions(ctx context.Context, accountID int64, keep int) (int64, error) {
	return tx.trimSessions(ctx, "account_id", accountID, keep)
}

// TrimTokenSessions is TrimAccountSessions for a token's device sessions.
func (tx *Tx) TrimTokenSessions(ctx context.Context, tokenID int64, keep int) (int64, error) {
	return tx.trimSessions(ctx, "token_id", tokenID, keep)
}

func (tx *Tx) trimSessions(ctx context.Context, col string, id int64, keep int) (int64, error) {
	// col is one of two constants above, never input.
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE `+col+` = ? AND hash NOT IN
		(SELECT hash FROM sessions WHERE `+col+` = ? ORDER BY last_seen DESC, created_at DESC, hash LIMIT ?)`, id, id, max(0, keep))
	if err != nil {
		return 0, fmt.Errorf("trim sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// PurgeSessions deletes browser sessions past their absolute end or idle
// longer than idle at now, and reports how many. Device sessions have no
// end (expires_at is NULL) and are left alone.
func (tx *Tx) PurgeSessions(ctx context.Context, now time.Time, idle time.Duration) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at IS NOT NULL AND (expires_at <= ? OR last_seen <= ?)`,
		fmtTime(now), fmtTime(now.Add(-idle)))
	if err != nil {
		return 0, fmt.Errorf("purge sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// CountSessions is how many sessions exist for the account (0: all).
func (s *Store) CountSessions(ctx context.Context, accountID int64) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sessions WHERE ? = 0 OR account_id = ?`, accountID, accountID).Scan(&n)
	return n, err
}

// CountTokenSessions is how many device sessions the token has signed in.
func (s *Store) CountTokenSessions(ctx context.Context, tokenID int64) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sessions WHERE token_id = ?`, tokenID).Scan(&n)
	return n, err
}
