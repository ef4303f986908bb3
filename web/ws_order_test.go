package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"mailnet/internal/actions"
	"mailnet/internal/live"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// createDuplicate registers a server that reuses EXCH1's serial: the
// action stores a Duplicate Serial event in its own transaction.
func (e *liveEnv) createDuplicate(name string) {
	e.t.Helper()
	e.json("POST", "/api/v1/servers", e.Admin, map[string]any{"name": name, "site_id": 2, "kind": "exchange",
		"version": "5.5", "serial": "S1", "addresses": []string{"10.9.0.1"}}, http.StatusCreated, nil)
}

func TestWSConsoleEventFrameGoesOutWithoutIngest(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{})
	e.seed()
	e.post(batchOf(2, 0))
	c := e.mustDial("after_id=2")
	e.createDuplicate("EXCH-DUP")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var f struct {
			Type string         `json:"type"`
			ID   int64          `json:"id"`
			Data live.EventData `json:"data"`
		}
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v (want the Duplicate Serial event frame)", err)
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("frame %s: %v", b, err)
		}
		if f.Type != live.TypeEvent {
			continue
		}
		if f.ID != 3 || f.Data.Category != actions.CategoryDuplicateSerial || f.Data.Server != "EXCH-DUP" {
			t.Errorf("got event %d %q on %q, want event 3 %q on EXCH-DUP", f.ID, f.Data.Category, f.Data.Server, actions.CategoryDuplicateSerial)
		}
		return
	}
}

// An event stored outside the writer that nobody announced still goes
// out before the writer's next events, in id order.
func TestWSEventStoredElsewhereGoesOutInOrder(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{})
	e.seed()
	c := e.mustDial("")
	e.post(batchOf(2, 0))
	err := e.Store.Write(context.Background(), func(tx *store.Tx) error {
		return tx.InsertConsoleEvent(context.Background(), &mailnet.Event{Server: "EXCH1", ServerID: 1, Source: "test",
			EventID: 1, Severity: "info", Description: "stored outside ingest"})
	})
	if err != nil {
		t.Fatalf("insert: %v", err)
	}
	e.post(batchOf(2, 10))
	ids, _ := readEvents(t, c, 5, 5*time.Second)
	checkExact(t, ids, 0, 5)
}

// Actions' console events and agents' events interleave in the table;
// every client sees every id once, ascending.
func TestWSConsoleAndIngestEventsInIDOrder(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{})
	e.seed()
	live1 := e.mustDial("")
	resumed := e.mustDial("after_id=0&types=event")
	const batches, per, dups = 30, 3, 6
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range batches {
			e.post(batchOf(per, i*per))
		}
	}()
	for i := range dups {
		e.createDuplicate(fmt.Sprintf("DUP%d", i))
	}
	wg.Wait()
	total := int64(batches*per + dups)
	if got := e.maxID(); got != total {
		t.Fatalf("stored up to id %d, want %d", got, total)
	}
	ids, _ := readEvents(t, live1, total, 10*time.Second)
	checkExact(t, ids, 0, total)
	ids, _ = readEvents(t, resumed, total, 10*time.Second)
	checkExact(t, ids, 0, total)
	page := e.events(fmt.Sprintf("source=%s&limit=100", actions.ConsoleSource))
	if len(page.Events) != dups {
		t.Errorf("got %d console events, want %d", len(page.Events), dups)
	}
}
