package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"mailnet/internal/mailnet"
)

// Account is a person who signs in with a name and password. The password
// hash never leaves the store except through AccountForLogin.
type Account struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	Disabled  bool   `json:"disabled"`
	CreatedAt string `json:"created_at"`
}

// MaxAccountName bounds account and token names.
const MaxAccountName = 64

// CheckName refuses an empty, overlong or unprintable account or token name.
func CheckName(field, name string) error {
	if strings.TrimSpace(name) == "" {
		return mailnet.Invalid(field, "%s is required", field)
	}
	if len(name) > MaxAccountName {
		return mailnet.Invalid(field, "%s must have at most %d bytes", field, MaxAccountName)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) || r == unicode.ReplacementChar {
			return mailnet.Invalid(field, "%s must be printable text", field)
		}
	}
	if name != strings.TrimSpace(name) {
		return mailnet.Invalid(field, "%s must not start or end with spaces", field)
	}
	return nil
}

// CreateAccount stores a new account with an already hashed password.
func (s *Store) CreateAccount(ctx context.Context, name, role, passwordHash string) (Account, error) {
	if err := CheckName("name", name); err != nil {
		return Account{}, err
	}
	if role != string(mailnet.RoleAdmin) && role != string(mailnet.RoleViewer) {
		return Account{}, mailnet.Invalid("role", "an account's role must be admin or viewer")
	}
	var a Account
	err := s.Write(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO accounts (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)`,
			name, role, passwordHash, fmtTime(tx.now))
		if IsUnique(err) {
			return mailnet.Errorf(mailnet.KindConflict, "name", "an account named %q already exists", name)
		}
		if err != nil {
			return fmt.Errorf("create account: %w", err)
		}
		id, _ := res.LastInsertId()
		a = Account{ID: id, Name: name, Role: role, CreatedAt: fmtTime(tx.now)}
		return tx.Audit(ctx, "account.create", "account", id, nil, a, "")
	})
	return a, err
}

// Accounts lists every account by name.
func (s *Store) Accounts(ctx context.Context) ([]Account, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, role, disabled, created_at FROM accounts ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	defer rows.Close()
	out := []Account{}
	for rows.Next() {
		var a Account
		if err := rows.Scan(&a.ID, &a.Name, &a.Role, &a.Disabled, &a.CreatedAt); err != nil {
			return nil, fmt.Errorf("accounts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// CountAccounts is how many accounts exist, disabled or not.
func (s *Store) CountAccounts(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM accounts`).Scan(&n)
	return n, err
}

// AccountForLogin returns the account named name (case-insensitive) and its
// password hash, or ErrNotFound.
func (s *Store) AccountForLogin(ctx context.Context, name string) (Account, string, error) {
	var a Account
	var hash string
	err := s.r.QueryRowContext(ctx, `SELECT id, name, role, disabled, created_at, password_hash FROM accounts WHERE name = ?`, name).
		Scan(&a.ID, &a.Name, &a.Role, &a.Disabled, &a.CreatedAt, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, "", mailnet.ErrNotFound
	}
	if err != nil {
		return Account{}, "", fmt.Errorf("account %q: %w", name, err)
	}
	return a, hash, nil
}

// DisableAccount disables the account named name and deletes its sessions,
// in one transaction with its audit row.
func (s *Store) DisableAccount(ctx context.Context, name string) (Account, error) {
	var a Account
	err := s.Write(ctx, func(tx *Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id, name, role, disabled, created_at FROM accounts WHERE name = ?`, name).
			Scan(&a.ID, &a.Name, &a.Role, &a.Disabled, &a.CreatedAt)
		if errors.Is(err, sql.ErrNoRows) {
			return mailnet.NotFound("account", name)
		}
		if err != nil {
			return fmt.Errorf("disable account: %w", err)
		}
		before := a
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET disabled = 1 WHERE id = ?`, a.ID); err != nil {
			return fmt.Errorf("disable account: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = ?`, a.ID)
		if err != nil {
			return fmt.Errorf("disable account sessions: %w", err)
		}
		n, _ := res.RowsAffected()
		a.Disabled = true
		return tx.Audit(ctx, "account.disable", "account", a.ID, before, a, fmt.Sprintf("%d sessions ended", n))
	})
	return a, err
}

// SetPassword replaces the password hash of the account named name and
// ends its sessions, with its audit row (the hashes are not logged).
func (s *Store) SetPassword(ctx context.Context, name, passwordHash string) (Account, error) {
	var a Account
	err := s.Write(ctx, func(tx *Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id, name, role, disabled, created_at FROM accounts WHERE name = ?`, name).
			Scan(&a.ID, &a.Name, &a.Role, &a.Disabled, &a.CreatedAt)
		if errors.Is(err, sql.ErrNoRows) {
			return mailnet.NotFound("account", name)
		}
		if err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = ? WHERE id = ?`, passwordHash, a.ID); err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = ?`, a.ID); err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		return tx.Audit(ctx, "account.password_reset", "account", a.ID, nil, nil, "password replaced; sessions ended")
	})
	return a, err
}
