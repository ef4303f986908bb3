package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"mailnet/internal/store"
)

func TestBulkWritesInBatches(t *testing.T) {
	s := Open(t)
	ctx := context.Background()
	sites, err := s.BulkEnsureSites(ctx, []string{"Redmond", "Boston", "Redmond"})
	if err != nil {
		t.Fatal(err)
	}
	if sites[0] != sites[2] || sites[0] == sites[1] {
		t.Fatalf("site ids: got %v, want the same id for the same name", sites)
	}
	var flushed int
	b := s.NewBulk(ctx, 7, func(n int) { flushed += n })
	if err := b.Fast(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const servers, usersPer, msgsPer = 3, 4, 5
	for sv := 1; sv <= servers; sv++ {
		if err := b.Server(store.BulkServer{ID: int64(sv), Name: fmt.Sprintf("S%d", sv), SiteID: sites[sv%2], Kind: "exchange",
			Serial: "X", Addresses: []string{"10.0.0.1"}, UserCount: usersPer, MessageCount: usersPer * msgsPer}); err != nil {
			t.Fatal(err)
		}
	}
	uid := int64(0)
	for sv := 1; sv <= servers; sv++ {
		for range usersPer {
			uid++
			if err := b.User(store.BulkUser{ID: uid, Alias: fmt.Sprintf("u%d", uid), DisplayName: "U", ServerID: int64(sv), InAllListing: true, MessageCount: msgsPer}); err != nil {
				t.Fatal(err)
			}
			for range msgsPer {
				if err := b.Message(store.BulkMessage{UserID: uid, ServerID: int64(sv), Folder: "Inbox", Subject: "hi", Size: 10, ReceivedAt: time.Now()}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := b.Route(store.BulkRoute{From: 1, To: 2, Configured: "indirect", Via: 3}); err != nil {
		t.Fatal(err)
	}
	if err := b.Event(store.BulkEvent{Time: time.Now(), Server: "S2", ServerID: 2, Source: "MSExchangeMTA", EventID: 9301, Severity: "warning"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.BulkSetLastEvents(ctx); err != nil {
		t.Fatal(err)
	}
	want := servers + servers*usersPer + servers*usersPer*msgsPer + 2
	if flushed != want {
		t.Errorf("rows reported flushed: got %d, want %d", flushed, want)
	}
	var msgs, last int64
	if err := s.DB().QueryRow(`SELECT (SELECT count(*) FROM messages), (SELECT coalesce(last_event_id, 0) FROM servers WHERE id = 2)`).Scan(&msgs, &last); err != nil {
		t.Fatal(err)
	}
	if msgs != servers*usersPer*msgsPer || last == 0 {
		t.Errorf("got %d messages and last event %d, want %d and an id", msgs, last, servers*usersPer*msgsPer)
	}
	badServers, badUsers, err := s.BulkCounterMismatches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if badServers != 0 || badUsers != 0 {
		t.Errorf("counter mismatches: got %d servers, %d users, want 0, 0", badServers, badUsers)
	}
	_, n, err := s.BulkInventoryCounts(ctx)
	if err != nil || n != servers {
		t.Errorf("inventory counts: got %d, %v, want %d", n, err, servers)
	}
}

func TestBulkReportsConstraintErrors(t *testing.T) {
	s := Open(t)
	b := s.NewBulk(context.Background(), 100, nil)
	defer b.Close()
	if err := b.User(store.BulkUser{ID: 1, Alias: "orphan", DisplayName: "O", ServerID: 42}); err != nil {
		t.Fatal(err)
	}
	err := b.Flush()
	if !store.IsForeignKey(err) {
		t.Fatalf("flush of a user on a missing server: got %v, want a foreign key error", err)
	}
	if err2 := b.User(store.BulkUser{ID: 2, Alias: "next", ServerID: 1}); err2 == nil {
		t.Errorf("a write after a failed flush: got nil, want the first error")
	}
}
