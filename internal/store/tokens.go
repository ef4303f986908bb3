package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"mailnet/internal/mailnet"
)

// Tokens are created and revoked by internal/actions (tokens.go), which
// holds the rules. These are the typed queries; a token is found by the
// SHA-256 hash of its secret (auth.HashSecret), never by the secret.

const tokenColumns = `id, name, role, created_by, created_at, last_used_at, revoked_at`

func scanToken(sc interface{ Scan(...any) error }) (mailnet.Token, error) {
	var t mailnet.Token
	var role, created string
	var used, revoked sql.NullString
	err := sc.Scan(&t.ID, &t.Name, &role, &t.CreatedBy, &created, &used, &revoked)
	t.Role, t.CreatedAt, t.LastUsedAt, t.RevokedAt = mailnet.Role(role), parseTime(created), parseNullTime(used), parseNullTime(revoked)
	return t, err
}

// InsertToken stores a new token under the hash of its secret, created by
// t.CreatedBy at the transaction's time, and sets t's id and creation time.
func (tx *Tx) InsertToken(ctx context.Context, t *mailnet.Token, hash []byte) error {
	t.CreatedAt = tx.now
	res, err := tx.ExecContext(ctx, `INSERT INTO tokens (name, role, hash, created_by, created_at) VALUES (?, ?, ?, ?, ?)`,
		t.Name, string(t.Role), hash, t.CreatedBy, fmtTime(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert token: %w", err)
	}
	t.ID, _ = res.LastInsertId()
	return nil
}

// TokenByHash returns the live (not revoked) token with that secret hash,
// or ErrNotFound.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (mailnet.Token, error) {
	return liveTokenByHash(ctx, s.r, hash)
}

// LiveTokenByHash is TokenByHash inside a write.
func (tx *Tx) LiveTokenByHash(ctx context.Context, hash []byte) (mailnet.Token, error) {
	return liveTokenByHash(ctx, tx, hash)
}

func liveTokenByHash(ctx context.Context, q querier, hash []byte) (mailnet.Token, error) {
	t, err := scanToken(q.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = ? AND revoked_at IS NULL`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return mailnet.Token{}, mailnet.ErrNotFound
	}
	if err != nil {
		return mailnet.Token{}, fmt.Errorf("token: %w", err)
	}
	return t, nil
}

// TokenByID returns the token with that id, revoked or not, or a
// not-found error naming it.
func (tx *Tx) TokenByID(ctx context.Context, id int64) (mailnet.Token, error) {
	t, err := scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return mailnet.Token{}, mailnet.NotFound("token", id)
	}
	if err != nil {
		return mailnet.Token{}, fmt.Errorf("token %d: %w", id, err)
	}
	return t, nil
}

// Tokens lists every token, newest first, revoked ones included.
func (s *Store) Tokens(ctx context.Context) ([]mailnet.Token, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	defer rows.Close()
	out := []mailnet.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// SetTokenRevoked marks the token revoked at the transaction's time.
func (tx *Tx) SetTokenRevoked(ctx context.Context, id int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE id = ?`, fmtTime(tx.now), id); err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	return nil
}

// TouchToken records that the token was used at now, unless its last use
// recorded is later than notAfter (so a busy agent does not turn every
// request into a write).
func (tx *Tx) TouchToken(ctx context.Context, id int64, now, notAfter time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
		fmtTime(now), id, fmtTime(notAfter)); err != nil {
		return fmt.Errorf("touch token %d: %w", id, err)
	}
	return nil
}
