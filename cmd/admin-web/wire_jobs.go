package main

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"mailnet/internal/actions"
	"mailnet/internal/store"
)

// startJobs starts the job runner: it resumes every queued or interrupted
// job the database holds, then runs new ones as they are queued, two at a
// time. The returned stop waits for the transactions in flight; what is
// left resumes at the next start. MAILNET_JOB_BATCH (rows per transaction,
// default 5000) and MAILNET_JOB_PAUSE (a pause between transactions, such
// as 2ms, default none) tune how much of the writer a move takes.
func startJobs(ctx context.Context, st *store.Store, acts *actions.Actions, log *slog.Logger, getenv env) (func(), error) {
	if _, err := st.UnfinishedJobs(ctx); err != nil {
		return nil, err
	}
	opt := actions.RunnerOptions{Workers: 2}
	if n, err := strconv.Atoi(getenv("MAILNET_JOB_BATCH")); err == nil && n > 0 {
		opt.Batch = n
	}
	if d, err := time.ParseDuration(getenv("MAILNET_JOB_PAUSE")); err == nil && d > 0 {
		opt.Pause = d
	}
	r := acts.NewRunner(opt)
	r.Start()
	log.Info("job runner started", "batch", opt.Batch, "pause", opt.Pause)
	// Scheduled diagnostics logging reverts (rows: one due while the
	// console was down is applied now).
	stopReverts := acts.StartLoggingReverts(15 * time.Second)
	return func() { stopReverts(); r.Stop() }, nil
}
