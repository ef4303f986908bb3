package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailnet/internal/actions"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

func TestBackupWhileWriting(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "live.db")
	ctx := mailnet.WithPrincipal(context.Background(), &mailnet.Principal{Name: "test", Role: mailnet.RoleAdmin})
	st, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range 200 {
		if _, _, err := actions.New(st, nil, nil).CreateToken(ctx, fmt.Sprint("before-", i), "agent"); err != nil {
			t.Fatal(err)
		}
	}

	// Writers keep committing while the backup runs.
	var written atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := actions.New(st, nil, nil).CreateToken(ctx, fmt.Sprintf("during-%d-%d", w, i), "viewer"); err != nil {
					t.Errorf("write during backup: %v", err)
					return
				}
				written.Add(1)
			}
		}()
	}
	for written.Load() < 20 {
		time.Sleep(time.Millisecond)
	}
	to := filepath.Join(dir, "backup.db")
	out, _, err := cli(t, db, "", "backup", "--to", to)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if !strings.Contains(out, "integrity_check ok") || !strings.Contains(out, to) {
		t.Errorf("backup said %q; want what it did and the check", out)
	}
	if written.Load() == 0 {
		t.Fatal("no writes ran during the backup")
	}

	// Refuses to overwrite.
	if _, _, err := cli(t, db, "", "backup", "--to", to); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second backup to the same file: got %v, want a refusal", err)
	}
	if _, _, err := cli(t, filepath.Join(dir, "missing.db"), "", "backup", "--to", filepath.Join(dir, "b2.db")); err == nil {
		t.Error("backup of a missing database succeeded")
	}

	// Restore: stop, copy the backup over the db file, remove -wal/-shm, start.
	restored := filepath.Join(dir, "restored.db")
	data, err := os.ReadFile(to)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(restored, data, 0o600); err != nil {
		t.Fatal(err)
	}
	rs, err := store.Open(context.Background(), restored, store.Options{})
	if err != nil {
		t.Fatalf("open the restored copy: %v", err)
	}
	defer rs.Close()
	toks, err := rs.Tokens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	before := 0
	for _, tk := range toks {
		if strings.HasPrefix(tk.Name, "before-") {
			before++
		}
	}
	if before != 200 {
		t.Errorf("restored copy holds %d of the 200 tokens written before the backup", before)
	}
	// A consistent snapshot: every token has its audit row.
	page, err := rs.AuditLog(context.Background(), store.AuditFilter{Action: "token.create", Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	n := len(page.Entries)
	for page.Next != 0 {
		page, _ = rs.AuditLog(context.Background(), store.AuditFilter{Action: "token.create", Limit: 500, Before: page.Next})
		n += len(page.Entries)
	}
	if n != len(toks) {
		t.Errorf("restored copy: %d tokens but %d audit rows; want one per token", len(toks), n)
	}
	t.Logf("backup taken with %d tokens in the copy while %d were written", len(toks), written.Load())
}
