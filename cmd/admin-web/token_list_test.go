package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mailnet/internal/store"
)

// token list shows each token's scope and, for a bound agent, its servers
// by name.
func TestTokenListShowsScopeAndServers(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cli.db")
	if _, _, err := cli(t, db, "", "token", "add", "boot", "--role", "viewer"); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.ExecContext(context.Background(), `INSERT INTO sites (id, name, created_at) VALUES (1, 'HQ', '2026-01-01T00:00:00Z');
			INSERT INTO servers (id, name, site_id, kind, serial, created_at, updated_at) VALUES
			(1, 'EXCH1', 1, 'exchange', 'S1', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'),
			(2, 'PCPO1', 1, 'msmail-pc', 'S2', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`)
		return err
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"token", "add", "po-agent", "--role", "agent", "--servers", "EXCH1,PCPO1"},
		{"token", "add", "collector", "--role", "agent"},
		{"token", "add", "ops", "--role", "admin"},
	} {
		if _, _, err := cli(t, db, "", args...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	out, _, err := cli(t, db, "", "token", "list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "SCOPE") || !strings.Contains(out, "SERVERS") {
		t.Fatalf("no scope or servers column:\n%s", out)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^\d+\s+po-agent\s+agent\s+ingest for its servers only\s+EXCH1,PCPO1\s`),
		regexp.MustCompile(`(?m)^\d+\s+collector\s+agent\s+ingest, network-wide collector\s+all\s`),
		regexp.MustCompile(`(?m)^\d+\s+ops\s+admin\s+everything\s+-\s`),
		regexp.MustCompile(`(?m)^\d+\s+boot\s+viewer\s+read-only\s+-\s`),
	} {
		if !want.MatchString(out) {
			t.Errorf("token list lacks %s:\n%s", want, out)
		}
	}
}
