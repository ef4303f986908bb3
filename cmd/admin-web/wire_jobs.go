package main

import (
	"context"
	"log/slog"
	"math"
	"time"

	"mailnet/internal/actions"
	"mailnet/internal/store"
)

// jobConfig tunes how much of the writer a move takes.
type jobConfig struct {
	batch int           // rows per transaction
	pause time.Duration // slept between transactions
}

type jobSettings struct {
	batch *int64
	pause *time.Duration
}

func jobFlags(fs *flagSet) jobSettings {
	return jobSettings{
		batch: fs.integer("job-batch", "MAILNET_JOB_BATCH", 5000, 1, math.MaxInt32,
			"message rows per write transaction of a move"),
		pause: fs.duration("job-pause", "MAILNET_JOB_PAUSE", 0, 0,
			"pause between a move's write transactions (such as 2ms), leaving the writer to ingest and edits"),
	}
}

func (s jobSettings) config() jobConfig {
	return jobConfig{batch: int(*s.batch), pause: *s.pause}
}

// startJobs starts the job runner: it resumes every queued or interrupted
// job the database holds, then runs new ones as they are queued, two at a
// time. The returned stop waits for the transactions in flight; what is
// left resumes at the next start.
func startJobs(ctx context.Context, st *store.Store, acts *actions.Actions, log *slog.Logger, cfg jobConfig) (func(), error) {
	if _, err := st.UnfinishedJobs(ctx); err != nil {
		return nil, err
	}
	opt := actions.RunnerOptions{Workers: 2, Batch: cfg.batch, Pause: cfg.pause}
	r := acts.NewRunner(opt)
	r.Start()
	log.Info("job runner started", "batch", opt.Batch, "pause", opt.Pause)
	// Scheduled diagnostics logging reverts (rows: one due while the
	// console was down is applied now).
	stopReverts := acts.StartLoggingReverts(15 * time.Second)
	return func() { stopReverts(); r.Stop() }, nil
}
