package main

import (
	"context"
	"log/slog"
	"sync"

	"mailnet/internal/demo"
	"mailnet/internal/reports"
	"mailnet/internal/store"
	"mailnet/internal/tracking"
)

// trackingMaxRecords is the size limit of the tracking store: about 10 GB
// at the 200 bytes a record takes with its indexes.
const trackingMaxRecords = 50_000_000

// startTracking opens the message tracking store, runs its retention
// (90 days, trackingMaxRecords) and, for the demo, the agents' tracked
// traffic; stop ends them and closes the store after its queued batches.
func startTracking(ctx context.Context, st *store.Store, x400 *reports.X400Cache, log *slog.Logger, withDemo bool) (*tracking.SQLite, func()) {
	tk := tracking.NewSQLite(st, tracking.Options{X400: x400.Check})
	tctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	ret := &tracking.Retention{Store: tk, Now: st.Now, MaxAge: tracking.DefaultMaxAge, MaxRecords: trackingMaxRecords, Log: log}
	wg.Go(func() { ret.Run(tctx) })
	if withDemo {
		wg.Go(func() {
			submit := func(ctx context.Context, recs []tracking.Record) error {
				_, err := tk.Submit(ctx, recs)
				return err
			}
			if err := demo.RunTracking(tctx, st, submit, 0.5, log); err != nil && tctx.Err() == nil {
				log.Warn("demo tracking", "err", err)
			}
		})
	}
	return tk, func() {
		cancel()
		wg.Wait()
		tk.Close()
	}
}
