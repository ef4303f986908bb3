package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"mailnet/internal/demo"
	"mailnet/internal/ingest"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// startAgents runs the demo's simulated agents until ctx ends or the
// returned stop is called. Their events take the path of POST
// /api/v1/events: validated as an agent's batch, then submitted to the
// ingest writer, which stores them and publishes them to the hub.
func startAgents(ctx context.Context, st *store.Store, lv liveParts, log *slog.Logger, rate float64) (stop func()) {
	if rate <= 0 || lv.ingest == nil {
		return func() {}
	}
	submit := func(ctx context.Context, evs []mailnet.Event) error {
		in := make([]ingest.Input, len(evs))
		for i, ev := range evs {
			id := int64(ev.EventID)
			in[i] = ingest.Input{Server: ev.Server, Source: ev.Source, EventID: &id, Category: ev.Category,
				Severity: ev.Severity, Description: ev.Description, Subject: ev.Subject, Fields: ev.Fields}
			if !ev.Time.IsZero() {
				in[i].Time = ev.Time.UTC().Format(time.RFC3339Nano)
			}
		}
		items, err := ingest.Validate(in, time.Now().UTC())
		if err != nil {
			return err
		}
		_, err = lv.ingest.Submit(ctx, items)
		return err
	}
	actx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := demo.RunAgents(actx, st, submit, rate, log); err != nil {
			log.Error("demo agents stopped", "err", err)
		}
	}()
	log.Info("demo agents running", "events_per_second", rate)
	return func() {
		cancel()
		wg.Wait()
	}
}
