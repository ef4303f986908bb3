package reports

import (
	"context"
	"sync"
	"testing"
	"time"

	"mailnet/internal/mailnet"
)

// When only the event figures have aged (the next OverviewRefresh bucket,
// no action since), the overview answers from the build it holds instead
// of making the request wait for a rebuild; two buckets on, or after an
// action, the answer is rebuilt.
func TestOverviewCacheServesHeldBuildForOneBucket(t *testing.T) {
	f := newFx(t)
	site := f.site("S")
	f.server("ONE", site, mailnet.ServerKindExchange, "5.5", "1")
	var mu sync.Mutex
	now := time.Now().Truncate(OverviewRefresh).Add(time.Second)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c := NewOverviewCache(f.st, clock, nil)
	ctx := context.Background()
	servers := func() int {
		t.Helper()
		o, err := c.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return o.Servers
	}
	if got := servers(); got != 1 {
		t.Fatalf("first build: %d servers, want 1", got)
	}
	f.server("TWO", site, mailnet.ServerKindExchange, "5.5", "2") // no action: no audit row

	advance(OverviewRefresh)
	if got := servers(); got != 1 {
		t.Errorf("next bucket: %d servers, want the held build's 1 (refreshed in the background)", got)
	}
	advance(OverviewRefresh)
	if got := servers(); got != 2 {
		t.Errorf("two buckets on: %d servers, want 2", got)
	}

	f.server("THREE", site, mailnet.ServerKindExchange, "5.5", "3")
	f.exec(`INSERT INTO audit (time, actor, action, object_type, object_id) VALUES (?, 'test', 'server.create', 'server', 3)`, f.now)
	if got := servers(); got != 3 {
		t.Errorf("after an action: %d servers, want 3 at once", got)
	}
}
