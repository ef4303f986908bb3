package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"mailnet/internal/mailnet"
)

// Accounts are written by internal/actions (accounts.go), which holds the
// rules: names, roles, passwords. These are the typed queries.

const accountColumns = `id, name, role, disabled, created_at`

func scanAccount(sc interface{ Scan(...any) error }, extra ...any) (mailnet.Account, error) {
	var a mailnet.Account
	var role, created string
	err := sc.Scan(append([]any{&a.ID, &a.Name, &role, &a.Disabled, &created}, extra...)...)
	a.Role, a.CreatedAt = mailnet.Role(role), parseTime(created)
	return a, err
}

// InsertAccount stores a new account with an already hashed password. A
// name already taken (names compare case-insensitively) is a conflict on
// the field name.
func (tx *Tx) InsertAccount(ctx context.Context, name string, role mailnet.Role, passwordHash string) (mailnet.Account, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO accounts (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)`,
		name, string(role), passwordHash, fmtTime(tx.now))
	if IsUnique(err) {
		return mailnet.Account{}, mailnet.Errorf(mailnet.KindConflict, "name", "an account named %q already exists", name)
	}
	if err != nil {
		return mailnet.Account{}, fmt.Errorf("insert account: %w", err)
	}
	id, _ := res.LastInsertId()
	return mailnet.Account{ID: id, Name: name, Role: role, CreatedAt: tx.now}, nil
}

// Accounts lists every account by name.
func (s *Store) Accounts(ctx context.Context) ([]mailnet.Account, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	defer rows.Close()
	out := []mailnet.Account{}
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
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
func (s *Store) AccountForLogin(ctx context.Context, name string) (mailnet.Account, string, error) {
	var hash string
	a, err := scanAccount(s.r.QueryRowContext(ctx, `SELECT `+accountColumns+`, password_hash FROM accounts WHERE name = ?`, name), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return mailnet.Account{}, "", mailnet.ErrNotFound
	}
	if err != nil {
		return mailnet.Account{}, "", fmt.Errorf("account %q: %w", name, err)
	}
	return a, hash, nil
}

// AccountByName returns the account named name (case-insensitive), or a
// not-found error naming it.
func (tx *Tx) AccountByName(ctx context.Context, name string) (mailnet.Account, error) {
	a, err := scanAccount(tx.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return mailnet.Account{}, mailnet.NotFound("account", name)
	}
	if err != nil {
		return mailnet.Account{}, fmt.Errorf("account %q: %w", name, err)
	}
	return a, nil
}

// AccountByID returns the account with that id, or ErrNotFound.
func (tx *Tx) AccountByID(ctx context.Context, id int64) (mailnet.Account, error) {
	a, err := scanAccount(tx.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return mailnet.Account{}, mailnet.ErrNotFound
	}
	if err != nil {
		return mailnet.Account{}, fmt.Errorf("account %d: %w", id, err)
	}
	return a, nil
}

// SetAccountDisabled marks the account disabled (or enabled).
func (tx *Tx) SetAccountDisabled(ctx context.Context, id int64, disabled bool) error {
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET disabled = ? WHERE id = ?`, boolInt(disabled), id); err != nil {
		return fmt.Errorf("disable account %d: %w", id, err)
	}
	return nil
}

// SetPasswordHash replaces the account's password hash.
func (tx *Tx) SetPasswordHash(ctx context.Context, id int64, passwordHash string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = ? WHERE id = ?`, passwordHash, id); err != nil {
		return fmt.Errorf("set password of account %d: %w", id, err)
	}
	return nil
}

// SetAccountRole changes the account's role.
func (tx *Tx) SetAccountRole(ctx context.Context, id int64, role mailnet.Role) error {
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET role = ? WHERE id = ?`, string(role), id); err != nil {
		return fmt.Errorf("set role of account %d: %w", id, err)
	}
	return nil
}

// CountActiveAdmins counts the enabled admin accounts, inside the
// transaction.
func (tx *Tx) CountActiveAdmins(ctx context.Context) (int, error) {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE role = 'admin' AND disabled = 0`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count admins: %w", err)
	}
	return n, nil
}
