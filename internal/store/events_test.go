package store_test

import (
	"context"
	"testing"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// insertEvents stores n events, the i-th at base + i minutes.
func insertEvents(t *testing.T, st *store.Store, n int, base time.Time) {
	t.Helper()
	ctx := context.Background()
	err := st.Write(ctx, func(tx *store.Tx) error {
		ins, err := tx.EventInserter(ctx)
		if err != nil {
			return err
		}
		defer ins.Close()
		for i := range n {
			ev := mailnet.Event{Time: base.Add(time.Duration(i) * time.Minute), Server: "S", Source: "src", EventID: i, Severity: "info"}
			if _, err := ins.Insert(ctx, &ev, "", 0, 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("insert: %v", err)
	}
}

func TestPruneEvents(t *testing.T) {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		cutoff      time.Time
		keep        int64
		batch       int
		wantPruned  int64
		wantThrough int64
	}{
		{"nothing to do", time.Time{}, 0, 100, 0, 0},
		{"by count", time.Time{}, 30, 100, 70, 70},
		{"by count, one batch", time.Time{}, 30, 25, 25, 25},
		{"by age", base.Add(40 * time.Minute), 0, 100, 40, 40},
		{"by age, one batch", base.Add(40 * time.Minute), 0, 10, 10, 10},
		{"the stricter wins", base.Add(40 * time.Minute), 80, 100, 40, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := Open(t)
			insertEvents(t, st, 100, base)
			n, err := st.PruneEvents(context.Background(), tt.cutoff, tt.keep, tt.batch)
			if err != nil || n != tt.wantPruned {
				t.Fatalf("pruned %d (%v), want %d", n, err, tt.wantPruned)
			}
			through, err := st.EventsPrunedThrough(context.Background())
			if err != nil || through != tt.wantThrough {
				t.Errorf("pruned through %d (%v), want %d", through, err, tt.wantThrough)
			}
		})
	}
	t.Run("empty table remembers", func(t *testing.T) {
		st := Open(t)
		insertEvents(t, st, 5, base)
		if _, err := st.PruneEvents(context.Background(), base.Add(time.Hour), 0, 100); err != nil {
			t.Fatal(err)
		}
		if through, _ := st.EventsPrunedThrough(context.Background()); through != 5 {
			t.Errorf("pruned through %d, want 5", through)
		}
	})
}

func TestEventInserterIdempotencyKey(t *testing.T) {
	st := Open(t)
	ctx := context.Background()
	var first, second bool
	err := st.Write(ctx, func(tx *store.Tx) error {
		ins, err := tx.EventInserter(ctx)
		if err != nil {
			return err
		}
		defer ins.Close()
		a := mailnet.Event{Time: time.Now(), Server: "S", Source: "src", Severity: "info"}
		b := a
		if first, err = ins.Insert(ctx, &a, "k1", 1, 0); err != nil {
			return err
		}
		second, err = ins.Insert(ctx, &b, "k1", 1, 0)
		return err
	})
	if err != nil || !first || second {
		t.Errorf("inserted %v then %v (%v), want true then false", first, second, err)
	}
}
