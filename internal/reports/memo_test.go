package reports

import (
	"context"
	"testing"

	"mailnet/internal/store"
)

func TestMemoRebuildsAfterAWrite(t *testing.T) {
	f := newFx(t)
	builds := 0
	m := NewMemo(f.st, func(ctx context.Context) (int, error) {
		builds++
		return builds, nil
	})
	ctx := context.Background()
	a, _ := m.Get(ctx)
	b, _ := m.Get(ctx)
	if a != 1 || b != 1 || builds != 1 {
		t.Fatalf("two reads at one version: got %d %d after %d builds, want one build", a, b, builds)
	}
	f.site("After") // a write bumps the version
	c, _ := m.Get(ctx)
	if c != 2 {
		t.Errorf("after a write: got %d, want a fresh build (2)", c)
	}
}

// An inventory memo (the duplicate-serial detector's) stays built through
// event-log-only writes, and is built again after any other.
func TestInventoryMemoSurvivesEventIngest(t *testing.T) {
	f := newFx(t)
	builds := 0
	m := NewInventoryMemo(f.st, func(ctx context.Context) (int, error) {
		builds++
		return builds, nil
	})
	ctx := context.Background()
	m.Get(ctx)
	err := f.st.Write(ctx, func(tx *store.Tx) error {
		tx.EventLogOnly()
		_, err := tx.ExecContext(ctx, `INSERT INTO events (time, server, source, event_id, severity, description, fields)
			VALUES (?, 'EXCH1', 'MSExchangeIS', 1000, 'info', 'an event', '{}')`, f.now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := m.Get(ctx); v != 1 {
		t.Errorf("after an event-log-only write: build %d, want the first kept", v)
	}
	f.site("After")
	if v, _ := m.Get(ctx); v != 2 {
		t.Errorf("after an inventory write: build %d, want a fresh one (2)", v)
	}
}
