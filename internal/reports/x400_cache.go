package reports

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"mailnet/internal/store"
)

// X400Cache serves the X.400 check (X400Check) without reading again what
// did not change. Its result depends on two things, kept apart:
//
//   - the inventory (x400 connectors, servers, MTA facts), read whole
//     once. After that only the rows logged as changed since
//     (store.InventorySeq, ReportX400Changes; triggers log them, so a
//     write by any process counts) are read and patched in; only the
//     ends, server lookup entries and MTA groups they touch are indexed
//     again, and only the findings on those ends built again, the rest
//     shared with the result before in chunks. A stream of events, or a
//     write to a column the check does not read (a server's counters),
//     changes nothing;
//   - the evidence (the X.400 and MTA events of the window, the startup
//     events), whose store.EventMarks (the count and the lowest and
//     highest id per event id) change when such an event is added or
//     pruned. The result is also rebuilt once its oldest event of the
//     window leaves it.
//
// Both are read before the data they key, so a request after a committed
// write gets a result with that write (read-your-writes), and concurrent
// requests share one build. A result it returns is shared: read it and
// page it (Page writes the text into the rows it returns), never change
// it (WriteText is for a result of X400Check).
type X400Cache struct {
	st    *store.Store
	group singleflight.Group
	// building serializes builds: a build patches the inventory held in
	// place (x400Inventory.patched).
	building sync.Mutex

	mu    sync.Mutex
	inv   *x400Inventory
	key   string
	res   *X400Result
	until time.Time // the result's evidence is valid before this (store clock)
	// parsed is the window's 9301s read, by event id (builds only).
	parsed map[int64]parsed9301
}

// NewX400Cache returns an empty cache over st.
func NewX400Cache(st *store.Store) *X400Cache { return &X400Cache{st: st} }

// Check returns the X.400 check at the store's current state.
func (c *X400Cache) Check(ctx context.Context) (*X400Result, error) {
	seq, err := c.st.InventorySeq(ctx)
	if err != nil {
		return nil, err
	}
	marks, err := c.st.EventMarks(ctx, x400EventIDs...)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprint(seq, marks)
	now := c.st.Now()
	c.mu.Lock()
	if c.res != nil && c.key == key && now.Before(c.until) {
		res := c.res
		c.mu.Unlock()
		return res, nil
	}
	c.mu.Unlock()
	ch := startShared(ctx, &c.group, key, "x400 check", func(bctx context.Context) (*X400Result, error) {
		return c.build(bctx, key)
	})
	return awaitShared[*X400Result](ctx, ch)
}

func (c *X400Cache) build(ctx context.Context, key string) (res *X400Result, err error) {
	c.building.Lock()
	defer c.building.Unlock()
	c.mu.Lock()
	inv, prev := c.inv, c.res
	c.mu.Unlock()
	defer func() {
		if err != nil {
			// The inventory held may be patched in place already: the
			// next build reads it whole.
			c.mu.Lock()
			c.inv, c.res = nil, nil
			c.mu.Unlock()
		}
	}()
	if inv == nil {
		inv, err = readX400Inventory(ctx, c.st)
	} else {
		inv, err = readX400Changes(ctx, c.st, inv)
	}
	if err != nil {
		return nil, err
	}
	ev, mev, err := readX400Evidence(ctx, c.st, inv.facts)
	if err != nil {
		return nil, err
	}
	ev.parsed = memo9301(ev.Events9301, c.parsed)
	c.parsed = ev.parsed
	res = inv.checkAfter(prev, ev, mev) // only what the changes touched
	until := oldestInWindow(ev, mev).Add(X400Window)
	c.mu.Lock()
	c.inv, c.key, c.res, c.until = inv, key, res, until // builds are serialized: this is the newest
	c.mu.Unlock()
	return res, nil
}

// oldestInWindow is the time of the oldest event of the window that the
// check read (far in the future when it read none): once it is older
// than X400Window, the result no longer holds.
func oldestInWindow(ev X400Evidence, mev MTAEvidence) time.Time {
	oldest := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, list := range [][]store.ReportEvent{ev.Events9301, ev.Events9202, mev.Events9156, mev.StallEvents} {
		for i := range list {
			if list[i].Time.Before(oldest) {
				oldest = list[i].Time
			}
		}
	}
	return oldest
}
