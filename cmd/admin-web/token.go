package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"mailnet/internal/actions"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
	"mailnet/web/views"
)

const tokenUsage = "usage: admin-web token add NAME --role admin|viewer|agent [--servers NAME[,NAME...]] | list | revoke ID"

func cmdToken(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(tokenUsage)
	}
	ctx = mailnet.WithPrincipal(ctx, cliActor)
	switch args[0] {
	case "add":
		fs := newFlags("token add", stderr)
		db := dbFlag(fs, getenv)
		role := fs.String("role", "", "admin, viewer or agent")
		servers := fs.String("servers", "", "an agent's servers, by name, comma-separated (none: network-wide)")
		pos, err := parseInterspersed(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return errors.New("usage: admin-web token add NAME --role admin|viewer|agent [--servers NAME[,NAME...]]")
		}
		st, err := store.Open(ctx, *db, store.Options{})
		if err != nil {
			return err
		}
		defer st.Close()
		var ids []int64
		if strings.TrimSpace(*servers) != "" {
			idx, err := st.EventNameIndex(ctx)
			if err != nil {
				return err
			}
			for _, n := range strings.Split(*servers, ",") {
				ref, ok := idx.Servers[store.FoldName(strings.TrimSpace(n))]
				if !ok {
					return fmt.Errorf("--servers: no server named %q", strings.TrimSpace(n))
				}
				ids = append(ids, ref.ID)
			}
		}
		t, secret, err := actions.New(st, nil, nil).CreateBoundToken(ctx, pos[0], *role, ids)
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			fmt.Fprintf(stderr, "bound to %s: it may post events only for these servers and their requestors\n", *servers)
		} else if t.Role == mailnet.RoleAgent {
			fmt.Fprintln(stderr, "no --servers: a network-wide collector")
		}
		// The secret alone on stdout, so scripts can capture it; the
		// explanation on stderr.
		fmt.Fprintf(stderr, "token %d (%s, %s) created; this is the only time its secret is shown:\n", t.ID, t.Name, t.Role)
		fmt.Fprintln(stdout, secret)
		return nil
	case "list":
		fs := newFlags("token list", stderr)
		db := dbFlag(fs, getenv)
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		st, err := store.Open(ctx, *db, store.Options{})
		if err != nil {
			return err
		}
		defer st.Close()
		toks, err := st.Tokens(ctx)
		if err != nil {
			return err
		}
		bound, err := st.TokenServerNames(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tSCOPE\tSERVERS\tCREATED\tBY\tLAST USED\tREVOKED")
		for _, t := range toks {
			servers := strings.Join(bound[t.ID], ",")
			switch {
			case servers != "":
			case t.Role == mailnet.RoleAgent:
				servers = "all"
			default:
				servers = "-"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, views.TokenScope(t.Role, len(bound[t.ID])), servers,
				cliTime(t.CreatedAt), t.CreatedBy, cliTime(t.LastUsedAt), cliTime(t.RevokedAt))
		}
		return tw.Flush()
	case "revoke":
		fs := newFlags("token revoke", stderr)
		db := dbFlag(fs, getenv)
		pos, err := parseInterspersed(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return errors.New("usage: admin-web token revoke ID")
		}
		id, err := strconv.ParseInt(pos[0], 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("token revoke: %q is not a token id (see admin-web token list)", pos[0])
		}
		st, err := store.Open(ctx, *db, store.Options{})
		if err != nil {
			return err
		}
		defer st.Close()
		t, err := actions.New(st, nil, nil).RevokeToken(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token %d (%s) revoked; its NOC screens are signed out\n", t.ID, t.Name)
		return nil
	}
	return fmt.Errorf("unknown token command %q; %s", args[0], tokenUsage)
}
