package tracking

import (
	"context"
	"log/slog"
	"time"
)

// DefaultMaxAge is how long tracking is kept by default.
const DefaultMaxAge = 90 * 24 * time.Hour

// Retention keeps a Store within an age and a size (records), pruning
// whole messages by their last-seen time, so one future-dated record
// never stops it.
type Retention struct {
	Store      Store
	Now        func() time.Time
	MaxAge     time.Duration // 0: no age limit
	MaxRecords int64         // 0: no size limit
	Interval   time.Duration // default 1 minute
	Batch      int           // messages per transaction; default 1000
	Log        *slog.Logger
}

// Round prunes once and reports how many records went.
func (r *Retention) Round(ctx context.Context) (int64, error) {
	var cutoff time.Time
	if r.MaxAge > 0 {
		cutoff = r.Now().Add(-r.MaxAge)
	}
	return r.Store.Prune(ctx, cutoff, r.MaxRecords, r.Batch)
}

// Run prunes every Interval until ctx ends.
func (r *Retention) Run(ctx context.Context) {
	iv := r.Interval
	if iv <= 0 {
		iv = time.Minute
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := r.Round(ctx); err != nil && ctx.Err() == nil && r.Log != nil {
			r.Log.Error("tracking retention", "err", err)
		} else if n > 0 && r.Log != nil {
			r.Log.Info("tracking retention", "pruned_records", n)
		}
		t.Reset(iv)
	}
}
