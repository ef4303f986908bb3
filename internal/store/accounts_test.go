package store_test

import (
	"context"
	"testing"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

func TestAccountCreateDisable(t *testing.T) {
	s := Open(t)
	ctx := mailnet.WithPrincipal(context.Background(), &mailnet.Principal{Name: "cli", Role: mailnet.RoleAdmin})
	a, err := s.CreateAccount(ctx, "Alice", "admin", "$argon2id$fake")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAccount(ctx, "alice", "viewer", "x"); mailnet.ErrorKind(err) != mailnet.KindConflict {
		t.Errorf("duplicate name (other case): got %v, want a conflict", err)
	}
	if _, err := s.CreateAccount(ctx, "bob", "agent", "x"); mailnet.ErrorKind(err) != mailnet.KindInvalid {
		t.Errorf("agent account: got %v, want invalid", err)
	}
	got, hash, err := s.AccountForLogin(ctx, "ALICE")
	if err != nil || got.ID != a.ID || hash != "$argon2id$fake" {
		t.Fatalf("AccountForLogin: got %+v %q %v, want alice and her hash", got, hash, err)
	}
	if _, _, err := s.SignIn(ctx, a.ID, time.Now().Add(time.Hour), "", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountSessions(ctx, a.ID); n != 1 {
		t.Fatalf("got %d sessions, want 1", n)
	}
	if _, err := s.DisableAccount(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountSessions(ctx, a.ID); n != 0 {
		t.Errorf("after disable: got %d sessions, want 0", n)
	}
	if _, _, err := s.SignIn(ctx, a.ID, time.Now().Add(time.Hour), "", "127.0.0.1"); mailnet.ErrorKind(err) != mailnet.KindUnauthorized {
		t.Errorf("sign-in of a disabled account: got %v, want unauthorized", err)
	}
	page, err := s.Audit(ctx, store.AuditFilter{ObjectType: "account", ObjectID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range page.Entries {
		actions = append(actions, e.Action)
	}
	want := []string{"account.disable", "auth.login", "account.create"}
	if len(actions) != len(want) {
		t.Fatalf("audit actions %v, want %v", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Errorf("audit actions %v, want %v", actions, want)
			break
		}
	}
}

func TestAuditAppendOnly(t *testing.T) {
	s := Open(t)
	ctx := context.Background()
	if _, err := s.CreateAccount(ctx, "alice", "admin", "x"); err != nil {
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
	page, _ := s.Audit(ctx, store.AuditFilter{})
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
		if _, _, err := s.CreateToken(c, "t", "viewer"); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := s.Audit(ctx, store.AuditFilter{})
	if len(all.Entries) != 7 || all.Next != 0 {
		t.Fatalf("got %d entries next %d, want 7 and no next page", len(all.Entries), all.Next)
	}
	var seen []int64
	f := store.AuditFilter{Limit: 3}
	for range 10 {
		p, err := s.Audit(ctx, f)
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
			p, err := s.Audit(ctx, tc.f)
			if err != nil || len(p.Entries) != tc.want {
				t.Errorf("got %d entries (%v), want %d", len(p.Entries), err, tc.want)
			}
		})
	}
}

func TestSessionsAndTokens(t *testing.T) {
	s := Open(t)
	ctx := context.Background()
	viewer, vsecret, _ := s.CreateToken(ctx, "wall", "viewer")
	_, asecret, _ := s.CreateToken(ctx, "ops", "admin")
	if _, _, err := s.DeviceSignIn(ctx, asecret, "", "1.2.3.4"); mailnet.ErrorKind(err) != mailnet.KindForbidden {
		t.Errorf("device sign-in with an admin token: got %v, want forbidden", err)
	}
	sec, sess, err := s.DeviceSignIn(ctx, vsecret, "", "1.2.3.4")
	if err != nil {
		t.Fatal(err)
	}
	if !sess.ExpiresAt.IsZero() || sess.TokenID != viewer.ID {
		t.Errorf("got %+v, want a device session of token %d with no end", sess, viewer.ID)
	}
	got, err := s.SessionBySecret(ctx, sec)
	if err != nil || got.Role != "viewer" || got.Name != "token:wall" || !got.Device() {
		t.Fatalf("SessionBySecret: got %+v %v", got, err)
	}
	if _, err := s.RevokeToken(ctx, viewer.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionBySecret(ctx, sec); err != mailnet.ErrNotFound {
		t.Errorf("session after revoke: got %v, want not found", err)
	}
	if _, _, err := s.DeviceSignIn(ctx, vsecret, "", "1.2.3.4"); err != mailnet.ErrNotFound {
		t.Errorf("device sign-in with a revoked token: got %v, want not found", err)
	}
	if _, err := s.RevokeToken(ctx, viewer.ID); mailnet.ErrorKind(err) != mailnet.KindConflict {
		t.Errorf("second revoke: got %v, want conflict", err)
	}
	if n, _ := s.CountSessions(ctx, 0); n != 0 {
		t.Errorf("got %d sessions, want 0", n)
	}
}

func TestTouchTokenAtMostOncePerMinute(t *testing.T) {
	s := Open(t)
	ctx := context.Background()
	_, secret, _ := s.CreateToken(ctx, "agent", "agent")
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	touch := func(at time.Time) string {
		tok, err := s.TokenBySecret(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.TouchToken(ctx, tok, at); err != nil {
			t.Fatal(err)
		}
		tok, _ = s.TokenBySecret(ctx, secret)
		return tok.LastUsedAt
	}
	first := touch(t0)
	if got := touch(t0.Add(30 * time.Second)); got != first {
		t.Errorf("30 s later last_used_at moved to %s, want it to stay %s", got, first)
	}
	if got := touch(t0.Add(61 * time.Second)); got == first {
		t.Errorf("61 s later last_used_at stayed %s, want it moved", got)
	}
}

func TestPurgeSessions(t *testing.T) {
	s := Open(t)
	ctx := context.Background()
	a, _ := s.CreateAccount(ctx, "alice", "viewer", "x")
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return t0 }
	s.SignIn(ctx, a.ID, t0.Add(12*time.Hour), "", "")
	_, vs, _ := s.CreateToken(ctx, "wall", "viewer")
	s.DeviceSignIn(ctx, vs, "", "")
	if n, _ := s.PurgeSessions(ctx, t0.Add(10*time.Minute), 30*time.Minute); n != 0 {
		t.Errorf("purged %d live sessions, want 0", n)
	}
	if n, _ := s.PurgeSessions(ctx, t0.Add(31*time.Minute), 30*time.Minute); n != 1 {
		t.Errorf("purged %d, want the 1 idle browser session (the device session stays)", n)
	}
}
