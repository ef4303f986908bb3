package main

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"time"

	"mailnet/internal/ingest"
	"mailnet/internal/live"
	"mailnet/internal/store"
	"mailnet/web"
)

// liveConfig is the live layer's part of serve's configuration.
type liveConfig struct {
	maxAge     time.Duration
	maxCount   int64
	queue      int
	pruneEvery time.Duration
	maxBatch   int           // events per posted batch (413 beyond)
	maxBytes   int64         // request bytes in flight across ingest (429 beyond)
	bodyWait   time.Duration // how long a request body may take to arrive
	maxBodies  int           // request bodies arriving at once (429 beyond)
}

// defaultLive is the live configuration when no flag or variable is set.
var defaultLive = liveConfig{maxAge: 30 * 24 * time.Hour, maxCount: 5_000_000, queue: 50_000, pruneEvery: time.Minute,
	maxBatch: ingest.DefaultMaxBatch, maxBytes: ingest.DefaultMaxBytes, bodyWait: web.DefaultBodyTimeout, maxBodies: web.DefaultMaxBodies}

type liveSettings struct {
	maxAge, pruneEvery, bodyWait        *time.Duration
	maxCount, queue, maxBatch, maxBytes *int64
	maxBodies                           *int64
}

// liveFlags adds the retention and ingest settings to serve's flags.
func liveFlags(fs *flagSet) liveSettings {
	d := defaultLive
	return liveSettings{
		maxAge: fs.duration("events-max-age", "MAILNET_EVENTS_MAX_AGE", d.maxAge, 0,
			"prune events older than this; 0 keeps them"),
		maxCount: fs.integer("events-max-count", "MAILNET_EVENTS_MAX_COUNT", d.maxCount, 0, math.MaxInt64,
			"keep at most this many events; 0 for no limit"),
		queue: fs.integer("ingest-queue", "MAILNET_INGEST_QUEUE", int64(d.queue), 1, math.MaxInt32,
			"events waiting for the ingest writer before agents get 429"),
		pruneEvery: fs.duration("events-prune-every", "MAILNET_EVENTS_PRUNE_EVERY", d.pruneEvery, time.Second,
			"how often retention runs"),
		maxBatch: fs.integer("ingest-max-batch", "MAILNET_INGEST_MAX_BATCH", int64(d.maxBatch), 1, math.MaxInt32,
			"events one posted batch may carry; more is refused with 413"),
		maxBytes: fs.integer("ingest-max-bytes", "MAILNET_INGEST_MAX_BYTES", d.maxBytes, 1<<20, math.MaxInt64,
			"request bytes held by ingest at once, across every post; beyond it agents get 429 with Retry-After"),
		bodyWait: fs.duration("body-timeout", "MAILNET_BODY_TIMEOUT", d.bodyWait, time.Second,
			"how long a request body may take to arrive"),
		maxBodies: fs.integer("max-bodies", "MAILNET_MAX_BODIES", int64(d.maxBodies), 1, math.MaxInt32,
			"request bodies arriving at once; beyond it clients get 429 with Retry-After"),
	}
}

func (s liveSettings) config() liveConfig {
	return liveConfig{maxAge: *s.maxAge, maxCount: *s.maxCount, queue: int(*s.queue), pruneEvery: *s.pruneEvery,
		maxBatch: int(*s.maxBatch), maxBytes: *s.maxBytes, bodyWait: *s.bodyWait, maxBodies: int(*s.maxBodies)}
}

// liveParts is what serve needs of the live layer.
type liveParts struct {
	pub    live.Publisher // the hub, and the ingest name cache watching inventory frames
	hub    *live.Hub
	ingest *ingest.Writer
	stop   func()
}

// startLive builds the hub and the ingest writer and starts retention.
// stop says goodbye to websocket clients, commits what ingest has queued
// and stops pruning.
func startLive(ctx context.Context, st *store.Store, log *slog.Logger, cfg liveConfig) (liveParts, error) {
	hub := live.NewHub()
	w := ingest.New(st, hub, log, ingest.Options{MaxQueued: cfg.queue, MaxBatch: cfg.maxBatch, MaxBytes: cfg.maxBytes})
	pub := live.Tee(hub, live.PublisherFunc(w.Observe))
	ret := &ingest.Retention{Store: st, MaxAge: cfg.maxAge, MaxCount: cfg.maxCount, Interval: cfg.pruneEvery, Log: log}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ret.Run(rctx)
	}()
	log.Info("live layer ready", "events_max_age", cfg.maxAge, "events_max_count", cfg.maxCount)
	return liveParts{pub: pub, hub: hub, ingest: w, stop: func() {
		hub.Close()
		cancel()
		wg.Wait()
		w.Close()
	}}, nil
}
