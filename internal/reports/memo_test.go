package reports

import (
	"context"
	"testing"
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
