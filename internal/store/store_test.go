package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"mailnet/internal/auth"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// Open returns a migrated store on a fresh file in t.TempDir().
func Open(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), store.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenMigratesAndReopens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	ctx := context.Background()
	s, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	applied, err := store.Migrate(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Errorf("second migrate applied %v, want nothing", applied)
	}
}

func TestTokenRoundTrip(t *testing.T) {
	s := Open(t)
	ctx := context.Background()
	tok := mailnet.Token{Name: "ci", Role: mailnet.RoleAdmin}
	secret := auth.NewSecret()
	if err := s.Write(ctx, func(tx *store.Tx) error { return tx.InsertToken(ctx, &tok, auth.HashSecret(secret)) }); err != nil {
		t.Fatal(err)
	}
	got, err := s.TokenByHash(ctx, auth.HashSecret(secret))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != tok.ID || got.Role != "admin" {
		t.Errorf("got %+v, want %+v", got, tok)
	}
	if _, err := s.TokenByHash(ctx, auth.HashSecret(secret+"x")); err == nil {
		t.Error("a wrong secret was accepted")
	}
}
