package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"mailnet/internal/actions"
	"mailnet/internal/auth"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

const userUsage = "usage: admin-web user add NAME --role admin|viewer (password on stdin) | list | disable NAME"

// cliActor is who the audit log names for changes made on the command line.
var cliActor = &mailnet.Principal{Name: "cli", Role: mailnet.RoleAdmin}

func cmdUser(ctx context.Context, args []string, getenv env, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(userUsage)
	}
	ctx = mailnet.WithPrincipal(ctx, cliActor)
	switch args[0] {
	case "add":
		fs := newFlags("user add", stderr)
		db := dbFlag(fs, getenv)
		role := fs.String("role", "", "admin or viewer")
		pos, err := parseInterspersed(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return errors.New("usage: admin-web user add NAME --role admin|viewer (password on stdin)")
		}
		pw, err := readPassword(stdin)
		if err != nil {
			return err
		}
		st, err := store.Open(ctx, *db, store.Options{})
		if err != nil {
			return err
		}
		defer st.Close()
		a, err := actions.New(st, nil, nil).CreateAccount(ctx, actions.AccountInput{Name: pos[0], Role: mailnet.Role(*role), Password: pw})
		if e, ok := mailnet.AsError(err); ok && e.Field == "role" {
			return fmt.Errorf("--role must be admin or viewer, not %q", *role)
		}
		if e, ok := mailnet.AsError(err); ok && e.Field == "password" {
			return fmt.Errorf("password refused: %s (type it on standard input, one line)", e.Message)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "account %s (%s) created with id %d\n", a.Name, a.Role, a.ID)
		return nil
	case "list":
		fs := newFlags("user list", stderr)
		db := dbFlag(fs, getenv)
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		st, err := store.Open(ctx, *db, store.Options{})
		if err != nil {
			return err
		}
		defer st.Close()
		accts, err := st.Accounts(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tSTATUS\tCREATED")
		for _, a := range accts {
			status := "active"
			if a.Disabled {
				status = "disabled"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", a.ID, a.Name, a.Role, status, cliTime(a.CreatedAt))
		}
		return tw.Flush()
	case "disable":
		fs := newFlags("user disable", stderr)
		db := dbFlag(fs, getenv)
		pos, err := parseInterspersed(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return errors.New("usage: admin-web user disable NAME")
		}
		st, err := store.Open(ctx, *db, store.Options{})
		if err != nil {
			return err
		}
		defer st.Close()
		a, err := actions.New(st, nil, nil).DisableAccount(ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "account %s disabled; its sessions have ended\n", a.Name)
		return nil
	}
	return fmt.Errorf("unknown user command %q; %s", args[0], userUsage)
}

// readPassword reads one line from stdin (without its line ending); the
// password policy is actions'. It never echoes it.
func readPassword(stdin io.Reader) (string, error) {
	if stdin == nil {
		return "", errors.New("the password is read from standard input, which is closed")
	}
	br := bufio.NewReaderSize(stdin, auth.MaxPasswordLen+2)
	line, err := br.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), nil
}

// cliTime shows a stored time as the listings always have: RFC 3339 in
// UTC with fixed-width nanoseconds, "-" for none.
func cliTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(store.TimeLayout)
}
