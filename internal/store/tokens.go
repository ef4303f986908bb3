package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"

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
	if name == "" {
		return Token{}, "", mailnet.Invalid("name", "a token needs a name")
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
