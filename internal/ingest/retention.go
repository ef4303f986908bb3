package ingest

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"mailnet/internal/store"
)

// Retention keeps the events table within an age and a count, in small
// transactions so ingest never waits long for the writer connection: the
// count limit removes the lowest ids, the age limit every event older than
// the cutoff through the time index, so one event dated far ahead (or a
// late batch of old ones) never stops it.
type Retention struct {
	Store    *store.Store
	MaxAge   time.Duration // 0: no age limit
	MaxCount int64         // 0: no count limit
	Interval time.Duration // between rounds; default 1 minute
	Batch    int           // events per transaction; default 2000
	Log      *slog.Logger

	prunedThrough atomic.Int64
	pruned        atomic.Int64
}

// PrunedThrough is the highest event id removed so far (0: none), as of
// the last round; the websocket reads the store itself for resync.
func (r *Retention) PrunedThrough() int64 { return r.prunedThrough.Load() }

// Pruned is how many events this process has removed.
func (r *Retention) Pruned() int64 { return r.pruned.Load() }

// Run prunes every Interval until ctx ends.
func (r *Retention) Run(ctx context.Context) {
	interval := r.Interval
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := r.Round(ctx); err != nil && ctx.Err() == nil {
			r.log().Error("event retention", "err", err)
		}
		t.Reset(interval)
	}
}

func (r *Retention) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

// Round prunes until the table is within limits (at most 1,000 batches,
// pausing between them so other writers get the connection) and returns
// how many events it removed.
func (r *Retention) Round(ctx context.Context) (int64, error) {
	batch := r.Batch
	if batch <= 0 {
		batch = 2000
	}
	var cutoff time.Time
	if r.MaxAge > 0 {
		cutoff = r.Store.Now().Add(-r.MaxAge)
	}
	var total int64
	var err error
	for range 1000 {
		var n int64
		n, err = r.Store.PruneEvents(ctx, cutoff, r.MaxCount, batch)
		total += n
		if err != nil || n < int64(batch) {
			break
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	r.pruned.Add(total)
	if through, perr := r.Store.EventsPrunedThrough(ctx); perr == nil {
		r.prunedThrough.Store(through)
	}
	if total > 0 {
		r.log().Info("pruned events", "events", total, "pruned_through", r.prunedThrough.Load())
	}
	return total, err
}
