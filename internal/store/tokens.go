package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"mailnet/internal/mailnet"
)

// Token is a bearer token as listed; the secret itself is never stored.
type Token struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Role       string `json:"role"`
	CreatedBy  string `json:"created_by"`
	CreatedAt  string `json:"created_at"`
	LastUsedAt string `json:"last_used_at,omitempty"`
	RevokedAt  string `json:"revoked_at,omitempty"`
}

// TokenPrefix marks Mailnet Admin tokens so they are recognizable in logs
// and secret scanners.
const TokenPrefix = "mna_"

// HashSecret is how token and session secrets are kept: SHA-256, since the
// secrets are 256 random bits and need no slow hash.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// NewSecret returns a random secret of 256 bits, URL-safe.
func NewSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// CreateToken stores a new token and returns its secret, which is shown
// once and never again.
func (s *Store) CreateToken(ctx context.Context, name, role string) (Token, string, error) {
	if err := CheckName("name", name); err != nil {
		return Token{}, "", err
	}
	if !mailnet.ValidRole(role) {
		return Token{}, "", mailnet.Invalid("role", "role must be admin, viewer or agent")
	}
	secret := TokenPrefix + NewSecret()
	var t Token
	err := s.Write(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO tokens (name, role, hash, created_by, created_at) VALUES (?, ?, ?, ?, ?)`,
			name, role, HashSecret(secret), mailnet.ActorName(ctx), fmtTime(tx.now))
		if err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		id, _ := res.LastInsertId()
		t = Token{ID: id, Name: name, Role: role, CreatedBy: mailnet.ActorName(ctx), CreatedAt: fmtTime(tx.now)}
		return tx.Audit(ctx, "token.create", "token", id, nil, t, "")
	})
	return t, secret, err
}

// TokenBySecret returns the live (not revoked) token with that secret.
func (s *Store) TokenBySecret(ctx context.Context, secret string) (Token, error) {
	var t Token
	var used, revoked sql.NullString
	err := s.r.QueryRowContext(ctx, `SELECT id, name, role, created_by, created_at, last_used_at, revoked_at
		FROM tokens WHERE hash = ? AND revoked_at IS NULL`, HashSecret(secret)).
		Scan(&t.ID, &t.Name, &t.Role, &t.CreatedBy, &t.CreatedAt, &used, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, mailnet.ErrNotFound
	}
	if err != nil {
		return Token{}, fmt.Errorf("token: %w", err)
	}
	t.LastUsedAt, t.RevokedAt = used.String, revoked.String
	return t, nil
}

// Tokens lists every token, newest first, revoked ones included.
func (s *Store) Tokens(ctx context.Context) ([]Token, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, role, created_by, created_at, last_used_at, revoked_at
		FROM tokens ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	defer rows.Close()
	out := []Token{}
	for rows.Next() {
		var t Token
		var used, revoked sql.NullString
		if err := rows.Scan(&t.ID, &t.Name, &t.Role, &t.CreatedBy, &t.CreatedAt, &used, &revoked); err != nil {
			return nil, fmt.Errorf("tokens: %w", err)
		}
		t.LastUsedAt, t.RevokedAt = used.String, revoked.String
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes the token and deletes the NOC device sessions it
// signed in, with its audit row, in one transaction. Revoking a revoked
// token is a conflict.
func (s *Store) RevokeToken(ctx context.Context, id int64) (Token, error) {
	var t Token
	err := s.Write(ctx, func(tx *Tx) error {
		var used, revoked sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT id, name, role, created_by, created_at, last_used_at, revoked_at FROM tokens WHERE id = ?`, id).
			Scan(&t.ID, &t.Name, &t.Role, &t.CreatedBy, &t.CreatedAt, &used, &revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return mailnet.NotFound("token", id)
		}
		if err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		t.LastUsedAt, t.RevokedAt = used.String, revoked.String
		if revoked.Valid {
			return mailnet.Conflict("token %d was already revoked at %s", id, revoked.String)
		}
		before := t
		t.RevokedAt = fmtTime(tx.now)
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE id = ?`, t.RevokedAt, id); err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_id = ?`, id)
		if err != nil {
			return fmt.Errorf("revoke token sessions: %w", err)
		}
		n, _ := res.RowsAffected()
		return tx.Audit(ctx, "token.revoke", "token", id, before, t, fmt.Sprintf("%d device sessions ended", n))
	})
	return t, err
}

// TouchToken records that the token was used at now, unless it was already
// recorded less than a minute before: a busy agent must not turn every
// request into a write.
func (s *Store) TouchToken(ctx context.Context, t Token, now time.Time) error {
	if t.LastUsedAt != "" {
		if last := parseTime(t.LastUsedAt); !last.IsZero() && now.Sub(last) < time.Minute {
			return nil
		}
	}
	return s.Write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
			fmtTime(now), t.ID, fmtTime(now.Add(-time.Minute)))
		return err
	})
}
