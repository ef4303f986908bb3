package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"

	"mailnet/internal/actions"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// demoAdmin is the account serve --demo signs in with.
const demoAdmin = "demo"

// ensureDemoAdmin gives the demo admin account a fresh random password and
// prints it once to stdout: creating the account on the first --demo
// start, resetting its password on later ones (the previous one was shown
// only once and is gone). Both are audited.
func ensureDemoAdmin(ctx context.Context, st *store.Store, stdout io.Writer) error {
	ctx = mailnet.WithPrincipal(ctx, &mailnet.Principal{Name: "demo", Role: mailnet.RoleAdmin})
	pw := rand.Text() // 26 base32 characters: 130 random bits
	act := actions.New(st, nil, nil)
	_, err := act.CreateAccount(ctx, actions.AccountInput{Name: demoAdmin, Role: mailnet.RoleAdmin, Password: pw})
	if mailnet.ErrorKind(err) == mailnet.KindConflict {
		_, err = act.SetPassword(ctx, demoAdmin, pw)
	}
	if err != nil {
		return fmt.Errorf("demo admin: %w", err)
	}
	fmt.Fprintf(stdout, "Demo admin account: name %q, password %s (shown once; a new one at every --demo start)\n", demoAdmin, pw)
	return nil
}

// noteSignIn tells whoever started the console how to get in: with no
// account yet, exactly how to create one; otherwise where to sign in.
func noteSignIn(ctx context.Context, st *store.Store, log *slog.Logger, stdout io.Writer, db, url string) error {
	n, err := st.CountAccounts(ctx)
	if err != nil {
		return fmt.Errorf("count accounts: %w", err)
	}
	if n == 0 {
		cmd := fmt.Sprintf("admin-web user add NAME --role admin --db %s", db)
		log.Warn("no accounts yet: nobody can sign in. Create the first admin with this command, typing the password (8 characters or more) on standard input: "+cmd,
			"command", cmd)
		return nil
	}
	fmt.Fprintf(stdout, "Sign in at %s/login\n", url)
	return nil
}
