package actions

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"mailnet/internal/auth"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// PasswordHasher hashes and verifies passwords; *auth.Hasher is the one
// the console uses. Tests wrap it to count or hold the hashes.
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
	Verify(ctx context.Context, password, phc string) (bool, error)
}

// MaxAccountName bounds account and token names, in bytes.
const MaxAccountName = 64

// checkAccountName refuses an empty, overlong or unprintable account or
// token name, and one that starts or ends with spaces (which would make
// two names look alike).
func checkAccountName(field, name string) error {
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

// checkAccountRole: people are admins or viewers; agents are tokens.
func checkAccountRole(role mailnet.Role) error {
	if role != mailnet.RoleAdmin && role != mailnet.RoleViewer {
		return mailnet.Invalid("role", "an account's role must be admin or viewer")
	}
	return nil
}

// checkPassword is the password policy (auth.CheckPassword), as an error
// naming the field.
func checkPassword(pw string) error {
	if err := auth.CheckPassword(pw); err != nil {
		return mailnet.Invalid("password", "%s", err.Error())
	}
	return nil
}

// AccountInput is an account to create.
type AccountInput struct {
	Name     string
	Role     mailnet.Role
	Password string
}

// CreateAccount checks the name, the role and the password, hashes the
// password and stores the account with its audit row. A name taken (in
// any case) is a conflict.
func (a *Actions) CreateAccount(ctx context.Context, in AccountInput) (mailnet.Account, error) {
	if err := checkAccountName("name", in.Name); err != nil {
		return mailnet.Account{}, err
	}
	if err := checkAccountRole(in.Role); err != nil {
		return mailnet.Account{}, err
	}
	if err := checkPassword(in.Password); err != nil {
		return mailnet.Account{}, err
	}
	hash, err := a.Passwords.Hash(ctx, in.Password)
	if err != nil {
		return mailnet.Account{}, err
	}
	var acct mailnet.Account
	err = a.Store.Write(ctx, func(tx *store.Tx) error {
		var err error
		if acct, err = tx.InsertAccount(ctx, in.Name, in.Role, hash); err != nil {
			return err
		}
		return tx.Audit(ctx, "account.create", "account", acct.ID, nil, acct, "")
	})
	return acct, err
}

// keepAnAdmin refuses a change that would leave no enabled admin account:
// nobody could sign in to manage the console any more.
func keepAnAdmin(ctx context.Context, tx *store.Tx, acct mailnet.Account, what string) error {
	if acct.Role != mailnet.RoleAdmin || acct.Disabled {
		return nil
	}
	n, err := tx.CountActiveAdmins(ctx)
	if err != nil {
		return err
	}
	if n <= 1 {
		return mailnet.Conflict("%s is the last enabled admin account and cannot be %s: make another account an admin first", acct.Name, what)
	}
	return nil
}

// DisableAccount disables the account named name and ends its sessions,
// with its audit row, in one transaction. The last enabled admin cannot be
// disabled (409).
func (a *Actions) DisableAccount(ctx context.Context, name string) (mailnet.Account, error) {
	var acct mailnet.Account
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		var err error
		if acct, err = tx.AccountByName(ctx, name); err != nil {
			return err
		}
		if err := keepAnAdmin(ctx, tx, acct, "disabled"); err != nil {
			return err
		}
		before := acct
		if err := tx.SetAccountDisabled(ctx, acct.ID, true); err != nil {
			return err
		}
		n, err := tx.DeleteAccountSessions(ctx, acct.ID)
		if err != nil {
			return err
		}
		acct.Disabled = true
		return tx.Audit(ctx, "account.disable", "account", acct.ID, before, acct, fmt.Sprintf("%d sessions ended", n))
	})
	return acct, err
}

// SetPassword checks and hashes a new password for the account named
// name, replaces its hash and ends its sessions, with its audit row (no
// hash is logged).
func (a *Actions) SetPassword(ctx context.Context, name, password string) (mailnet.Account, error) {
	if err := checkPassword(password); err != nil {
		return mailnet.Account{}, err
	}
	hash, err := a.Passwords.Hash(ctx, password)
	if err != nil {
		return mailnet.Account{}, err
	}
	var acct mailnet.Account
	err = a.Store.Write(ctx, func(tx *store.Tx) error {
		var err error
		if acct, err = tx.AccountByName(ctx, name); err != nil {
			return err
		}
		if err := tx.SetPasswordHash(ctx, acct.ID, hash); err != nil {
			return err
		}
		if _, err := tx.DeleteAccountSessions(ctx, acct.ID); err != nil {
			return err
		}
		return tx.Audit(ctx, "account.password_reset", "account", acct.ID, nil, nil, "password replaced; sessions ended")
	})
	return acct, err
}

// EnableAccount enables the account named name again, with its audit row.
func (a *Actions) EnableAccount(ctx context.Context, name string) (mailnet.Account, error) {
	var acct mailnet.Account
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		var err error
		if acct, err = tx.AccountByName(ctx, name); err != nil {
			return err
		}
		if !acct.Disabled {
			return mailnet.Conflict("account %s is already enabled", acct.Name)
		}
		before := acct
		if err := tx.SetAccountDisabled(ctx, acct.ID, false); err != nil {
			return err
		}
		acct.Disabled = false
		return tx.Audit(ctx, "account.enable", "account", acct.ID, before, acct, "")
	})
	return acct, err
}

// SetAccountRole makes the account named name an admin or a viewer, with
// its audit row; a demoted account's sessions end, so its next request
// carries the new role. The last enabled admin cannot be demoted (409).
func (a *Actions) SetAccountRole(ctx context.Context, name string, role mailnet.Role) (mailnet.Account, error) {
	if err := checkAccountRole(role); err != nil {
		return mailnet.Account{}, err
	}
	var acct mailnet.Account
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		var err error
		if acct, err = tx.AccountByName(ctx, name); err != nil {
			return err
		}
		if acct.Role == role {
			return mailnet.Errorf(mailnet.KindConflict, "role", "account %s is already %s", acct.Name, role)
		}
		if role != mailnet.RoleAdmin {
			if err := keepAnAdmin(ctx, tx, acct, "demoted"); err != nil {
				return err
			}
		}
		before := acct
		if err := tx.SetAccountRole(ctx, acct.ID, role); err != nil {
			return err
		}
		detail := ""
		if role != mailnet.RoleAdmin {
			n, err := tx.DeleteAccountSessions(ctx, acct.ID)
			if err != nil {
				return err
			}
			detail = fmt.Sprintf("%d sessions ended", n)
		}
		acct.Role = role
		return tx.Audit(ctx, "account.role", "account", acct.ID, before, acct, detail)
	})
	return acct, err
}
