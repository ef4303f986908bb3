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

// DisableAccount disables the account named name and ends its sessions,
// with its audit row, in one transaction.
func (a *Actions) DisableAccount(ctx context.Context, name string) (mailnet.Account, error) {
	var acct mailnet.Account
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		var err error
		if acct, err = tx.AccountByName(ctx, name); err != nil {
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
