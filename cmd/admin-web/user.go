package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

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
		if *role != string(mailnet.RoleAdmin) && *role != string(mailnet.RoleViewer) {
			return fmt.Errorf("--role must be admin or viewer, not %q", *role)
		}
		if err := store.CheckName("name", pos[0]); err != nil {
			return err
		}
		pw, err := readPassword(stdin)
		if err != nil {
			return err
		}
		hash, err := auth.Hash(pw, auth.DefaultParams)
		if err != nil {
			return err
		}
		st, err := store.Open(ctx, *db, store.Options{})
		if err != nil {
			return err
		}
		defer st.Close()
		a, err := st.CreateAccount(ctx, pos[0], *role, hash)
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
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", a.ID, a.Name, a.Role, status, a.CreatedAt)
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
		a, err := st.DisableAccount(ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "account %s disabled; its sessions have ended\n", a.Name)
		return nil
	}
	return fmt.Errorf("unknown user command %q; %s", args[0], userUsage)
}

// readPassword reads one line from stdin (without its line ending) and
// refuses an empty or short password. It never echoes it.
func readPassword(stdin io.Reader) (string, error) {
	if stdin == nil {
		return "", errors.New("the password is read from standard input, which is closed")
	}
	br := bufio.NewReaderSize(stdin, auth.MaxPasswordLen+2)
	line, err := br.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if err := auth.CheckPassword(line); err != nil {
		return "", fmt.Errorf("password refused: %w (type it on standard input, one line)", err)
	}
	return line, nil
}
