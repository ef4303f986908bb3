package store_test

import (
	"context"
	"testing"
	"time"

	"mailnet/internal/auth"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// The rules of accounts, tokens and sessions are tested in
// internal/actions; these test the typed queries.

// insertToken stores a token with its audit row and returns it and its
// secret.
func insertToken(t *testing.T, ctx context.Context, s *store.Store, name string, role mailnet.Role) (mailnet.Token, string) {
	t.Helper()
	tok := mailnet.Token{Name: name, Role: role, CreatedBy: mailnet.ActorName(ctx)}
	secret := auth.NewSecret()
	if err := s.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertToken(ctx, &tok, auth.HashSecret(secret)); err != nil {
			return err
		}
		return tx.Audit(ctx, "token.create", "token", tok.ID, nil, tok, "")
	}); err != nil {
		t.Fatal(err)
	}
	return tok, secret
}

func TestAccountQueries(t *testing.T) {
	s := Open(t)
	ctx := context.Background()
	var a mailnet.Account
	err := s.Write(ctx, func(tx *store.Tx) error {
		var err error
		a, err = tx.InsertAccount(ctx, "Alice", mailnet.RoleAdmin, "$argon2id$fake")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.InsertAccount(ctx, "alice", mailnet.RoleViewer, "x")
		return err
	})
	if e, ok := mailnet.AsError(err); !ok || e.Kind != mailnet.KindConflict || e.Field != "name" {
		t.Errorf("duplicate name (other case): got %v, want a conflict on name", err)
	}
	got, hash, err := s.AccountForLogin(ctx, "ALICE")
	if err != nil || got.ID != a.ID || hash != "$argon2id$fake" || got.Role != mailnet.RoleAdmin || !got.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("AccountForLogin: got %+v %q %v, want %+v and her hash", got, hash, err, a)
	}
	if _, _, err := s.AccountForLogin(ctx, "nobody"); err != mailnet.ErrNotFound {
		t.Errorf("unknown name: got %v, want ErrNotFound", err)
	}
}

func TestTrimSessionsKeepsTheMostRecentlyUsed(t *testing.T) {
	s := Open(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var hashes [][]byte
	err := s.Write(ctx, func(tx *store.Tx) error {
		a, err := tx.InsertAccount(ctx, "alice", mailnet.RoleViewer, "x")
		if err != nil {
			return err
		}
		for i := range 5 {
			h := auth.HashSecret(auth.NewSecret())
			hashes = append(hashes, h)
			// Session 0 was made first but used last.
			seen := t0.Add(time.Duration(i) * time.Minute)
			if i == 0 {
				seen = t0.Add(time.Hour)
			}
			if err := tx.InsertSession(ctx, mailnet.Session{Hash: h, AccountID: a.ID, Role: a.Role,
				CreatedAt: t0.Add(time.Duration(i) * time.Second), LastSeen: seen, ExpiresAt: t0.Add(12 * time.Hour)}); err != nil {
				return err
			}
		}
		n, err := tx.TrimAccountSessions(ctx, a.ID, 2)
		if n != 3 {
			t.Errorf("trimmed %d, want 3", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hashes {
		_, err := s.SessionByHash(ctx, h)
		if kept := err == nil; kept != (i == 0 || i == 4) {
			t.Errorf("session %d kept=%v; want only the two most recently used (0 and 4) kept", i, kept)
		}
	}
}

func TestTouchTokenOnlyMovesForward(t *testing.T) {
	s := Open(t)
	ctx := context.Background()
	tok, secret := insertToken(t, ctx, s, "agent", mailnet.RoleAgent)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	touch := func(at time.Time) time.Time {
		if err := s.Write(ctx, func(tx *store.Tx) error { return tx.TouchToken(ctx, tok.ID, at, at.Add(-time.Minute)) }); err != nil {
			t.Fatal(err)
		}
		got, err := s.TokenByHash(ctx, auth.HashSecret(secret))
		if err != nil {
			t.Fatal(err)
		}
		return got.LastUsedAt
	}
	first := touch(t0)
	if got := touch(t0.Add(30 * time.Second)); !got.Equal(first) {
		t.Errorf("30 s later last_used_at moved to %s, want it to stay %s", got, first)
	}
	if got := touch(t0.Add(61 * time.Second)); got.Equal(first) {
		t.Errorf("61 s later last_used_at stayed %s, want it moved", got)
	}
}

func TestPurgeSessions(t *testing.T) {
	s := Open(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tok, _ := insertToken(t, ctx, s, "wall", mailnet.RoleViewer)
	err := s.Write(ctx, func(tx *store.Tx) error {
		a, err := tx.InsertAccount(ctx, "alice", mailnet.RoleViewer, "x")
		if err != nil {
			return err
		}
		if err := tx.InsertSession(ctx, mailnet.Session{Hash: auth.HashSecret("b"), AccountID: a.ID, Role: a.Role,
			CreatedAt: t0, LastSeen: t0, ExpiresAt: t0.Add(12 * time.Hour)}); err != nil {
			return err
		}
		return tx.InsertSession(ctx, mailnet.Session{Hash: auth.HashSecret("d"), TokenID: tok.ID, Role: tok.Role, CreatedAt: t0, LastSeen: t0})
	})
	if err != nil {
		t.Fatal(err)
	}
	purge := func(now time.Time) (n int64) {
		if err := s.Write(ctx, func(tx *store.Tx) error {
			var err error
			n, err = tx.PurgeSessions(ctx, now, 30*time.Minute)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := purge(t0.Add(10 * time.Minute)); n != 0 {
		t.Errorf("purged %d live sessions, want 0", n)
	}
	if n := purge(t0.Add(31 * time.Minute)); n != 1 {
		t.Errorf("purged %d, want the 1 idle browser session (the device session stays)", n)
	}
}

func TestAuditAppendOnly(t *testing.T) {
	s := Open(t)
	ctx := context.Background()
	if err := s.Write(ctx, func(tx *store.Tx) error {
		a, err := tx.InsertAccount(ctx, "alice", mailnet.RoleAdmin, "x")
		if err != nil {
			return err
		}
		return tx.Audit(ctx, "account.create", "account", a.ID, nil, a, "")
	}); err != nil {
		t.Fatal(err)
	}
	// The store offers no way to edit audit rows; go around it with the
	// writer to prove the schema itself refuses.
	for _, q := range []string{`UPDATE audit SET actor = 'mallory'`, `DELETE FROM audit`} {
		err := s.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, q)
			return err
		})
		if err == nil {
			t.Errorf("%s succeeded, want the trigger to refuse it", q)
		}
	}
	page, _ := s.AuditLog(ctx, store.AuditFilter{})
	if len(page.Entries) != 1 || page.Entries[0].Actor != "system" {
		t.Errorf("got %+v, want the one untouched row", page.Entries)
	}
}

func TestAuditFiltersAndKeyset(t *testing.T) {
	s := Open(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 7 {
		s.Now = func() time.Time { return t0.Add(time.Duration(i) * time.Hour) }
		actor := "alice"
		if i%2 == 1 {
			actor = "bob"
		}
		c := mailnet.WithPrincipal(ctx, &mailnet.Principal{Name: actor})
		insertToken(t, c, s, "t", mailnet.RoleViewer)
	}
	all, _ := s.AuditLog(ctx, store.AuditFilter{})
	if len(all.Entries) != 7 || all.Next != 0 {
		t.Fatalf("got %d entries next %d, want 7 and no next page", len(all.Entries), all.Next)
	}
	var seen []int64
	f := store.AuditFilter{Limit: 3}
	for range 10 {
		p, err := s.AuditLog(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Entries {
			seen = append(seen, e.ID)
		}
		if p.Next == 0 {
			break
		}
		f.Before = p.Next
	}
	if len(seen) != 7 || seen[0] != 7 || seen[6] != 1 {
		t.Errorf("pages gave ids %v, want 7..1 once each", seen)
	}
	for _, tc := range []struct {
		name string
		f    store.AuditFilter
		want int
	}{
		{"actor", store.AuditFilter{Actor: "bob"}, 3},
		{"object", store.AuditFilter{ObjectType: "token", ObjectID: 2}, 1},
		{"action", store.AuditFilter{Action: "token.create"}, 7},
		{"from", store.AuditFilter{From: t0.Add(5 * time.Hour)}, 2},
		{"to", store.AuditFilter{To: t0.Add(2 * time.Hour)}, 2},
		{"nothing", store.AuditFilter{Action: "nope"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.AuditLog(ctx, tc.f)
			if err != nil || len(p.Entries) != tc.want {
				t.Errorf("got %d entries (%v), want %d", len(p.Entries), err, tc.want)
			}
		})
	}
}
