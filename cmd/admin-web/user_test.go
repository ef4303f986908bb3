package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"mailnet/internal/auth"
	"mailnet/internal/store"
)

// cli runs admin-web with args against db, with stdin, and returns stdout,
// stderr and the error.
func cli(t *testing.T, db, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if k == "MAILNET_DB" {
			return db
		}
		return ""
	}
	err := run(context.Background(), args, getenv, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

func TestUserAddListDisable(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cli.db")
	for _, tc := range []struct {
		name, stdin string
		args        []string
		wantErr     string
	}{
		{"empty password", "\n", []string{"user", "add", "alice", "--role", "admin"}, "empty"},
		{"no stdin", "", []string{"user", "add", "alice", "--role", "admin"}, "empty"},
		{"short password", "1234567\n", []string{"user", "add", "alice", "--role", "admin"}, "at least 8"},
		{"agent role", "long enough pw\n", []string{"user", "add", "alice", "--role", "agent"}, "admin or viewer"},
		{"no name", "long enough pw\n", []string{"user", "add", "--role", "admin"}, "usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := cli(t, db, tc.stdin, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
	out, _, err := cli(t, db, "correct horse battery\r\n", "user", "add", "alice", "--role", "admin")
	if err != nil || !strings.Contains(out, "account alice (admin) created") {
		t.Fatalf("user add: %q %v", out, err)
	}
	if _, _, err := cli(t, db, "another password\n", "user", "add", "--db", db, "vera", "--role", "viewer"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cli(t, db, "correct horse battery\n", "user", "add", "ALICE", "--role", "viewer"); err == nil {
		t.Error("a second alice (other case) was accepted")
	}

	st, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, hash, err := st.AccountForLogin(context.Background(), "alice")
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := auth.Verify("correct horse battery", hash); !ok || err != nil {
		t.Errorf("the stored hash does not verify the password typed (CRLF stripped): %v %v", ok, err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q: want argon2id PHC with the default parameters", hash)
	}

	if out, _, _ = cli(t, db, "", "user", "list"); !strings.Contains(out, "alice") || !strings.Contains(out, "vera") || strings.Contains(out, "argon2") {
		t.Errorf("user list: %q, want both accounts and no hashes", out)
	}
	if _, _, err := cli(t, db, "", "user", "disable", "vera"); err != nil {
		t.Fatal(err)
	}
	if out, _, _ = cli(t, db, "", "user", "list"); !strings.Contains(out, "disabled") {
		t.Errorf("user list after disable: %q", out)
	}
	if _, _, err := cli(t, db, "", "user", "disable", "nobody"); err == nil {
		t.Error("disabling an unknown account succeeded")
	}
}

func TestTokenAddListRevoke(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cli.db")
	out, errOut, err := cli(t, db, "", "token", "add", "agent-1", "--role", "agent")
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(out)
	if !strings.HasPrefix(secret, auth.TokenPrefix) || len(secret) != len(auth.TokenPrefix)+43 || !strings.Contains(errOut, "only time") {
		t.Fatalf("token add: stdout %q stderr %q; want the secret alone on stdout", out, errOut)
	}
	if _, _, err := cli(t, db, "", "token", "add", "x", "--role", "root"); err == nil {
		t.Error("token with role root accepted")
	}
	out, _, err = cli(t, db, "", "token", "list")
	if err != nil || !strings.Contains(out, "agent-1") || strings.Contains(out, secret) {
		t.Errorf("token list: %q %v; want the token without its secret", out, err)
	}
	if _, _, err := cli(t, db, "", "token", "revoke", "1"); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.TokenByHash(context.Background(), auth.HashSecret(secret)); err == nil {
		t.Error("the revoked token still authenticates")
	}
	if _, _, err := cli(t, db, "", "token", "revoke", "abc"); err == nil {
		t.Error("revoke abc succeeded")
	}
	page, _ := st.AuditLog(context.Background(), store.AuditFilter{ObjectType: "token"})
	if len(page.Entries) != 2 || page.Entries[0].Actor != "cli" {
		t.Errorf("audit %+v: want create and revoke by cli", page.Entries)
	}
}

func TestEnsureDemoAdmin(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "d.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out bytes.Buffer
	for range 2 {
		if err := ensureDemoAdmin(context.Background(), st, &out); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("output %q: want one line per start", out.String())
	}
	pw := strings.Fields(strings.SplitN(lines[1], "password ", 2)[1])[0]
	_, hash, err := st.AccountForLogin(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := auth.Verify(pw, hash); !ok {
		t.Errorf("the printed password %q does not sign in", pw)
	}
	if n, _ := st.CountAccounts(context.Background()); n != 1 {
		t.Errorf("got %d accounts, want 1", n)
	}
}
