package main

import (
	"context"
	"fmt"
	"io"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

func cmdToken(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: admin-web token add NAME --role admin|viewer|agent | list | revoke ID")
	}
	switch args[0] {
	case "add":
		fs := newFlags("token add", stderr)
		db := dbFlag(fs, getenv)
		role := fs.String("role", "", "admin, viewer or agent")
		pos, err := parseInterspersed(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return fmt.Errorf("usage: admin-web token add NAME --role admin|viewer|agent")
		}
		st, err := store.Open(ctx, *db, store.Options{})
		if err != nil {
			return err
		}
		defer st.Close()
		ctx = mailnet.WithPrincipal(ctx, &mailnet.Principal{Name: "cli", Role: mailnet.RoleAdmin})
		_, secret, err := st.CreateToken(ctx, pos[0], *role)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, secret)
		return nil
	}
	return fmt.Errorf("unknown token command %q", args[0])
}
