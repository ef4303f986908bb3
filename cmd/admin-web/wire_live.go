package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"mailnet/internal/ingest"
	"mailnet/internal/live"
	"mailnet/internal/store"
)

// liveConfig is the live layer's part of serve's flags.
type liveConfig struct {
	maxAge     time.Duration
	maxCount   int64
	queue      int
	pruneEvery time.Duration
}

// liveFlags adds the retention and ingest flags to serve's flag set.
func liveFlags(fs *flag.FlagSet, getenv env) *liveConfig {
	c := &liveConfig{}
	fs.DurationVar(&c.maxAge, "events-max-age", envDuration(getenv, "MAILNET_EVENTS_MAX_AGE", 30*24*time.Hour),
		"prune events older than this; 0 keeps them (env MAILNET_EVENTS_MAX_AGE)")
	fs.Int64Var(&c.maxCount, "events-max-count", envInt(getenv, "MAILNET_EVENTS_MAX_COUNT", 5_000_000),
		"keep at most this many events; 0 for no limit (env MAILNET_EVENTS_MAX_COUNT)")
	fs.IntVar(&c.queue, "ingest-queue", int(envInt(getenv, "MAILNET_INGEST_QUEUE", 50_000)),
		"events waiting for the ingest writer before agents get 429 (env MAILNET_INGEST_QUEUE)")
	fs.DurationVar(&c.pruneEvery, "events-prune-every", envDuration(getenv, "MAILNET_EVENTS_PRUNE_EVERY", time.Minute),
		"how often retention runs (env MAILNET_EVENTS_PRUNE_EVERY)")
	return c
}

func envDuration(getenv env, name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(getenv(name)); err == nil {
		return d
	}
	return def
}

func envInt(getenv env, name string, def int64) int64 {
	if n, err := strconv.ParseInt(getenv(name), 10, 64); err == nil {
		return n
	}
	return def
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
func startLive(ctx context.Context, st *store.Store, log *slog.Logger, cfg *liveConfig) (liveParts, error) {
	if cfg == nil {
		cfg = &liveConfig{maxAge: 30 * 24 * time.Hour, maxCount: 5_000_000, pruneEvery: time.Minute}
	}
	if cfg.maxAge < 0 || cfg.maxCount < 0 {
		return liveParts{}, fmt.Errorf("--events-max-age and --events-max-count must not be negative")
	}
	hub := live.NewHub()
	w := ingest.New(st, hub, log, ingest.Options{MaxQueued: cfg.queue})
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
