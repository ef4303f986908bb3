package actions_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"mailnet/internal/actions"
	"mailnet/internal/auth"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

func authFixture(t *testing.T) (*actions.Actions, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "auth.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a := actions.New(st, nil, nil)
	h, err := auth.NewHasher(auth.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}, 2)
	if err != nil {
		t.Fatal(err)
	}
	a.Passwords = h
	return a, st
}

var cliCtx = mailnet.WithPrincipal(context.Background(), &mailnet.Principal{Name: "cli", Role: mailnet.RoleAdmin})

func field(err error) string {
	if e, ok := mailnet.AsError(err); ok {
		return e.Field
	}
	return ""
}

func TestCreateAccountRules(t *testing.T) {
	a, st := authFixture(t)
	good := actions.AccountInput{Name: "Alice", Role: mailnet.RoleAdmin, Password: "correct horse battery"}
	for _, tc := range []struct {
		name  string
		in    actions.AccountInput
		field string
	}{
		{"empty name", actions.AccountInput{Name: " ", Role: "admin", Password: good.Password}, "name"},
		{"spaces around", actions.AccountInput{Name: " bob", Role: "admin", Password: good.Password}, "name"},
		{"long name", actions.AccountInput{Name: strings.Repeat("b", 65), Role: "admin", Password: good.Password}, "name"},
		{"unprintable", actions.AccountInput{Name: "b\x00b", Role: "admin", Password: good.Password}, "name"},
		{"agent", actions.AccountInput{Name: "bob", Role: "agent", Password: good.Password}, "role"},
		{"short password", actions.AccountInput{Name: "bob", Role: "admin", Password: "1234567"}, "password"},
		{"empty password", actions.AccountInput{Name: "bob", Role: "admin"}, "password"},
	} {
		if _, err := a.CreateAccount(cliCtx, tc.in); mailnet.ErrorKind(err) != mailnet.KindInvalid || field(err) != tc.field {
			t.Errorf("%s: got %v, want invalid %s", tc.name, err, tc.field)
		}
	}
	if n, _ := st.CountAccounts(context.Background()); n != 0 {
		t.Fatalf("refusals stored %d accounts", n)
	}
	acct, err := a.CreateAccount(cliCtx, good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateAccount(cliCtx, actions.AccountInput{Name: "alice", Role: "viewer", Password: good.Password}); mailnet.ErrorKind(err) != mailnet.KindConflict {
		t.Errorf("duplicate name (other case): got %v, want a conflict", err)
	}
	_, hash, err := st.AccountForLogin(context.Background(), "ALICE")
	if ok, _ := auth.Verify(good.Password, hash); err != nil || !ok {
		t.Errorf("the stored hash does not verify the password: %v", err)
	}
	page, _ := st.AuditLog(context.Background(), store.AuditFilter{ObjectType: "account", ObjectID: acct.ID})
	if len(page.Entries) != 1 || page.Entries[0].Action != "account.create" || page.Entries[0].Actor != "cli" ||
		strings.Contains(string(mustJSON(page.Entries[0].After)), "argon2") {
		t.Errorf("audit %+v: want one account.create by cli, without the hash", page.Entries)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestSignInDisableAndPassword(t *testing.T) {
	a, st := authFixture(t)
	acct, err := a.CreateAccount(cliCtx, actions.AccountInput{Name: "alice", Role: mailnet.RoleViewer, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	in, err := a.SignIn(ctx, actions.SignInInput{Name: " Alice ", Password: "correct horse battery", Address: "192.0.2.1"})
	if err != nil || in.Session.AccountID != acct.ID || in.Session.ExpiresAt.Sub(in.Session.CreatedAt) != actions.SessionMax {
		t.Fatalf("sign-in: %+v %v", in, err)
	}
	if _, err := a.Session(ctx, in.Secret); err != nil {
		t.Fatalf("session after sign-in: %v", err)
	}
	if _, err := a.SignIn(ctx, actions.SignInInput{Name: "alice", Password: "wrong password", Address: "192.0.2.1"}); mailnet.ErrorKind(err) != mailnet.KindUnauthorized {
		t.Errorf("wrong password: got %v, want unauthorized", err)
	}
	// A new password ends the sessions; the old password stops working.
	if _, err := a.SetPassword(cliCtx, "alice", "short"); field(err) != "password" {
		t.Errorf("short new password: got %v, want invalid password", err)
	}
	if _, err := a.SetPassword(cliCtx, "alice", "a new long password"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Session(ctx, in.Secret); !errors.Is(err, mailnet.ErrNotFound) {
		t.Errorf("session after a password reset: got %v, want not found", err)
	}
	if _, err := a.SignIn(ctx, actions.SignInInput{Name: "alice", Password: "correct horse battery", Address: "192.0.2.2"}); mailnet.ErrorKind(err) != mailnet.KindUnauthorized {
		t.Errorf("old password: got %v, want unauthorized", err)
	}
	in, err = a.SignIn(ctx, actions.SignInInput{Name: "alice", Password: "a new long password", Address: "192.0.2.2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.DisableAccount(cliCtx, "nobody"); mailnet.ErrorKind(err) != mailnet.KindNotFound {
		t.Errorf("disable an unknown account: got %v, want not found", err)
	}
	if _, err := a.DisableAccount(cliCtx, "alice"); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.CountSessions(ctx, acct.ID); n != 0 {
		t.Errorf("after disable: %d sessions, want 0", n)
	}
	if _, err := a.SignIn(ctx, actions.SignInInput{Name: "alice", Password: "a new long password", Address: "192.0.2.3"}); mailnet.ErrorKind(err) != mailnet.KindUnauthorized {
		t.Errorf("disabled account: got %v, want unauthorized", err)
	}
	page, _ := st.AuditLog(ctx, store.AuditFilter{ObjectType: "account", ObjectID: acct.ID})
	var got []string
	for _, e := range page.Entries {
		got = append(got, e.Action)
	}
	want := "auth.login_failed,account.disable,auth.login,auth.login_failed,account.password_reset,auth.login_failed,auth.login,account.create"
	if strings.Join(got, ",") != want {
		t.Errorf("audit:\n got %s\nwant %s", strings.Join(got, ","), want)
	}
}

func TestTokensAndDeviceSessions(t *testing.T) {
	a, st := authFixture(t)
	ctx := context.Background()
	if _, _, err := a.CreateToken(cliCtx, "x", "root"); field(err) != "role" {
		t.Errorf("unknown role: got %v, want invalid role", err)
	}
	viewer, vsecret, err := a.CreateToken(cliCtx, "wall", "viewer")
	if err != nil || viewer.CreatedBy != "cli" || !strings.HasPrefix(vsecret, auth.TokenPrefix) {
		t.Fatalf("create: %+v %q %v", viewer, vsecret, err)
	}
	_, asecret, _ := a.CreateToken(cliCtx, "ops", "admin")
	if _, err := a.DeviceSignIn(ctx, asecret, "", "192.0.2.1"); mailnet.ErrorKind(err) != mailnet.KindForbidden {
		t.Errorf("device sign-in with an admin token: got %v, want forbidden", err)
	}
	in, err := a.DeviceSignIn(ctx, vsecret, "", "192.0.2.1")
	if err != nil || !in.Session.ExpiresAt.IsZero() || in.Session.TokenID != viewer.ID {
		t.Fatalf("device sign-in: %+v %v, want a device session of token %d with no end", in, err, viewer.ID)
	}
	if _, err := a.RevokeToken(cliCtx, viewer.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Session(ctx, in.Secret); !errors.Is(err, mailnet.ErrNotFound) {
		t.Errorf("device session after revoke: got %v, want not found", err)
	}
	if _, err := a.DeviceSignIn(ctx, vsecret, "", "192.0.2.1"); mailnet.ErrorKind(err) != mailnet.KindUnauthorized {
		t.Errorf("revoked token: got %v, want unauthorized", err)
	}
	if _, err := a.RevokeToken(cliCtx, viewer.ID); mailnet.ErrorKind(err) != mailnet.KindConflict {
		t.Errorf("second revoke: got %v, want conflict", err)
	}
	if n, _ := st.CountSessions(ctx, 0); n != 0 {
		t.Errorf("got %d sessions, want 0", n)
	}
}
