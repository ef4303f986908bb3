package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"mailnet/internal/mailnet"
)

// Session is a server-side sign-in: a browser's (account) or a NOC
// screen's (device, from a viewer token). The cookie holds a random
// secret; the table holds only its SHA-256 hash.
type Session struct {
	Hash      []byte
	AccountID int64 // set for a browser sign-in
	TokenID   int64 // set for a NOC device session
	Role      string
	Name      string // the account's name, or "token:NAME" for a device
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time // absolute end; zero for a device session (until revoked)
}

// Device reports whether the session belongs to a NOC screen.
func (s Session) Device() bool { return s.TokenID != 0 }

// SignIn starts a session for the account (refusing one disabled since it
// was read), ends the session the browser held before (oldSecret, if any:
// a sign-in always gets a new session id), and audits the sign-in, in one
// transaction. It returns the new session's secret.
func (s *Store) SignIn(ctx context.Context, accountID int64, expires time.Time, oldSecret, address string) (string, Session, error) {
	secret := NewSecret()
	var sess Session
	err := s.Write(ctx, func(tx *Tx) error {
		var a Account
		err := tx.QueryRowContext(ctx, `SELECT id, name, role, disabled FROM accounts WHERE id = ?`, accountID).
			Scan(&a.ID, &a.Name, &a.Role, &a.Disabled)
		if errors.Is(err, sql.ErrNoRows) || a.Disabled {
			return mailnet.Errorf(mailnet.KindUnauthorized, "", "name or password is wrong")
		}
		if err != nil {
			return fmt.Errorf("sign in: %w", err)
		}
		if oldSecret != "" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, HashSecret(oldSecret)); err != nil {
				return fmt.Errorf("sign in: %w", err)
			}
		}
		sess = Session{Hash: HashSecret(secret), AccountID: a.ID, Role: a.Role, Name: a.Name,
			CreatedAt: tx.now, LastSeen: tx.now, ExpiresAt: expires.UTC()}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (hash, account_id, role, created_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			sess.Hash, a.ID, a.Role, fmtTime(tx.now), fmtTime(tx.now), fmtTime(sess.ExpiresAt)); err != nil {
			return fmt.Errorf("sign in: %w", err)
		}
		ctx := mailnet.WithPrincipal(ctx, &mailnet.Principal{Name: a.Name, Role: mailnet.Role(a.Role), AccountID: a.ID, Session: true})
		return tx.Audit(ctx, "auth.login", "account", a.ID, nil, map[string]string{"name": a.Name, "address": address}, "signed in from "+address)
	})
	return secret, sess, err
}

// AuditSignInFailure records a refused sign-in: the name tried and the
// client's address, never the password. accountID is 0 when no account has
// that name.
func (s *Store) AuditSignInFailure(ctx context.Context, name string, accountID int64, address string) error {
	return s.Write(ctx, func(tx *Tx) error {
		ctx := mailnet.WithPrincipal(ctx, &mailnet.Principal{Name: "anonymous"})
		return tx.Audit(ctx, "auth.login_failed", "account", accountID, nil,
			map[string]string{"name": name, "address": address}, fmt.Sprintf("sign-in as %q refused from %s", name, address))
	})
}

// DeviceSignIn exchanges a live viewer token for a NOC device session that
// lasts until the token is revoked, and audits it. A token that is unknown
// or revoked is ErrNotFound; a token of another role is refused (403): an
// admin token must never become a cookie.
func (s *Store) DeviceSignIn(ctx context.Context, tokenSecret, oldSecret, address string) (string, Session, error) {
	secret := NewSecret()
	var sess Session
	err := s.Write(ctx, func(tx *Tx) error {
		var t Token
		err := tx.QueryRowContext(ctx, `SELECT id, name, role FROM tokens WHERE hash = ? AND revoked_at IS NULL`, HashSecret(tokenSecret)).
			Scan(&t.ID, &t.Name, &t.Role)
		if errors.Is(err, sql.ErrNoRows) {
			return mailnet.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("device sign-in: %w", err)
		}
		if t.Role != string(mailnet.RoleViewer) {
			return mailnet.Errorf(mailnet.KindForbidden, "token", "only a viewer token can sign in a NOC screen")
		}
		if oldSecret != "" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, HashSecret(oldSecret)); err != nil {
				return fmt.Errorf("device sign-in: %w", err)
			}
		}
		sess = Session{Hash: HashSecret(secret), TokenID: t.ID, Role: t.Role, Name: "token:" + t.Name, CreatedAt: tx.now, LastSeen: tx.now}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (hash, token_id, role, created_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?, NULL)`,
			sess.Hash, t.ID, t.Role, fmtTime(tx.now), fmtTime(tx.now)); err != nil {
			return fmt.Errorf("device sign-in: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, fmtTime(tx.now), t.ID); err != nil {
			return fmt.Errorf("device sign-in: %w", err)
		}
		ctx := mailnet.WithPrincipal(ctx, &mailnet.Principal{Name: sess.Name, Role: mailnet.RoleViewer, TokenID: t.ID, Session: true})
		return tx.Audit(ctx, "auth.device_login", "token", t.ID, nil, map[string]string{"address": address}, "NOC screen signed in from "+address)
	})
	return secret, sess, err
}

// SessionBySecret returns the session whose cookie secret is secret, or
// ErrNotFound. Sessions of a disabled account or a revoked token are not
// found (their rows are deleted when that happens; this is a second lock).
func (s *Store) SessionBySecret(ctx context.Context, secret string) (Session, error) {
	var sess Session
	var acct, tok sql.NullInt64
	var name sql.NullString
	var created, seen string
	var expires sql.NullString
	var disabled sql.NullBool
	var revoked sql.NullString
	err := s.r.QueryRowContext(ctx, `SELECT s.hash, s.account_id, s.token_id, s.role, s.created_at, s.last_seen, s.expires_at,
			COALESCE(a.name, 'token:' || t.name), a.disabled, t.revoked_at
		FROM sessions s LEFT JOIN accounts a ON a.id = s.account_id LEFT JOIN tokens t ON t.id = s.token_id
		WHERE s.hash = ?`, HashSecret(secret)).
		Scan(&sess.Hash, &acct, &tok, &sess.Role, &created, &seen, &expires, &name, &disabled, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, mailnet.ErrNotFound
	}
	if err != nil {
		return Session{}, fmt.Errorf("session: %w", err)
	}
	if !name.Valid || disabled.Bool || revoked.Valid || (acct.Valid == tok.Valid) {
		return Session{}, mailnet.ErrNotFound
	}
	sess.AccountID, sess.TokenID, sess.Name = acct.Int64, tok.Int64, name.String
	sess.CreatedAt, sess.LastSeen, sess.ExpiresAt = parseTime(created), parseTime(seen), parseNullTime(expires)
	return sess, nil
}

// TouchSession records that the session was used at now (the sliding idle
// timeout). Callers write at most once a minute per session.
func (s *Store) TouchSession(ctx context.Context, hash []byte, now time.Time) error {
	return s.Write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE hash = ?`, fmtTime(now), hash)
		return err
	})
}

// EndSession deletes an expired session; no audit row (nobody acted).
func (s *Store) EndSession(ctx context.Context, hash []byte) error {
	return s.Write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
		return err
	})
}

// SignOut deletes the session with that secret and audits it, as the
// session's owner. Signing out of no session does nothing.
func (s *Store) SignOut(ctx context.Context, secret, address string) error {
	sess, err := s.SessionBySecret(ctx, secret)
	if errors.Is(err, mailnet.ErrNotFound) {
		return s.EndSession(ctx, HashSecret(secret))
	}
	if err != nil {
		return err
	}
	return s.Write(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, sess.Hash)
		if err != nil {
			return fmt.Errorf("sign out: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		ctx := mailnet.WithPrincipal(ctx, &mailnet.Principal{Name: sess.Name, Role: mailnet.Role(sess.Role), AccountID: sess.AccountID, TokenID: sess.TokenID, Session: true})
		typ, id := "account", sess.AccountID
		if sess.Device() {
			typ, id = "token", sess.TokenID
		}
		return tx.Audit(ctx, "auth.logout", typ, id, nil, nil, "signed out from "+address)
	})
}

// PurgeSessions deletes browser sessions past their absolute end or idle
// longer than idle at now, and reports how many. Device sessions end only
// when their token is revoked.
func (s *Store) PurgeSessions(ctx context.Context, now time.Time, idle time.Duration) (int64, error) {
	var n int64
	err := s.Write(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at IS NOT NULL AND (expires_at <= ? OR last_seen <= ?)`,
			fmtTime(now), fmtTime(now.Add(-idle)))
		if err != nil {
			return fmt.Errorf("purge sessions: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

// CountSessions is how many sessions exist for the account (0: all).
func (s *Store) CountSessions(ctx context.Context, accountID int64) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sessions WHERE ? = 0 OR account_id = ?`, accountID, accountID).Scan(&n)
	return n, err
}

// AuditDeviceSignInFailure records a refused NOC sign-in (an unknown or
// revoked token) and the client's address.
func (s *Store) AuditDeviceSignInFailure(ctx context.Context, address string) error {
	return s.Write(ctx, func(tx *Tx) error {
		ctx := mailnet.WithPrincipal(ctx, &mailnet.Principal{Name: "anonymous"})
		return tx.Audit(ctx, "auth.device_login_failed", "token", 0, nil,
			map[string]string{"address": address}, "NOC sign-in with an unknown or revoked token from "+address)
	})
}
