package actions_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"mailnet/internal/actions"
	"mailnet/internal/live"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

var invCtx = mailnet.WithPrincipal(context.Background(), &mailnet.Principal{Name: "inv-test", Role: mailnet.RoleAdmin})

// invRecorder records the frames actions publish.
type invRecorder struct {
	mu        sync.Mutex
	frames    []live.Frame
	committed int
}

func (r *invRecorder) Publish(f live.Frame) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frames = append(r.frames, f)
}

// PublishCommitted stands for the ingest writer, the one place that
// sends event frames (in id order): it counts the calls.
func (r *invRecorder) PublishCommitted(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.committed++
	return nil
}

func (r *invRecorder) takeCommitted() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.committed
	r.committed = 0
	return n
}

func (r *invRecorder) take() []live.Frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.frames
	r.frames = nil
	return out
}

func newInvActions(t *testing.T) (*actions.Actions, *invRecorder) { return newInvActionsTB(t) }

func newInvActionsTB(t testing.TB) (*actions.Actions, *invRecorder) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "inv.db"), store.Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	rec := &invRecorder{}
	return actions.New(st, rec, nil), rec
}

func invCount(t *testing.T, a *actions.Actions, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := a.Store.DB().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestCreateServerPublishesAfterCommitAndFlagsDuplicates(t *testing.T) {
	a, rec := newInvActions(t)
	hq, err := a.CreateSite(invCtx, actions.SiteInput{Name: "HQ"})
	if err != nil {
		t.Fatal(err)
	}
	br, _ := a.CreateSite(invCtx, actions.SiteInput{Name: "Branch"})
	rec.take()

	first, err := a.CreateServer(invCtx, actions.ServerInput{Name: "MAC-A", SiteID: hq.ID, Kind: "msmail-mac", Serial: "42"})
	if err != nil {
		t.Fatal(err)
	}
	frames := rec.take()
	if len(frames) != 1 || frames[0].Type != live.TypeInventory || frames[0].Data != (live.Inventory{Object: "server", ID: first.Server.ID, Action: "created"}) {
		t.Errorf("frames after create: got %+v, want one inventory frame", frames)
	}

	second, err := a.CreateServer(invCtx, actions.ServerInput{Name: "MAC-B", SiteID: br.ID, Kind: "msmail-mac", Serial: "42"})
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Duplicates) != 1 || second.Duplicates[0].ID != first.Server.ID || second.Warning == "" || second.Event == nil {
		t.Errorf("duplicate: got %+v, want MAC-A named, a warning and an event", second)
	}
	frames = rec.take()
	var types []string
	for _, f := range frames {
		types = append(types, f.Type)
	}
	// The event's frame is not the action's to send (a frame sent out of
	// id order is skipped by clients): it asks the event source to
	// publish what was committed.
	if !slices.Equal(types, []string{live.TypeInventory}) {
		t.Errorf("frames after duplicate: got %v, want the inventory frame only", types)
	}
	if n := rec.takeCommitted(); n != 1 {
		t.Errorf("PublishCommitted called %d times after the duplicate, want once", n)
	}

	_, err = a.CreateServer(invCtx, actions.ServerInput{Name: "mac-a", SiteID: hq.ID, Kind: "msmail-mac", Serial: "43"})
	if mailnet.ErrorKind(err) != mailnet.KindConflict {
		t.Errorf("duplicate name: got %v, want a conflict", err)
	}
	if frames := rec.take(); len(frames) != 0 {
		t.Errorf("refused create published %v", frames)
	}
	if n := invCount(t, a, `SELECT count(*) FROM audit WHERE action = 'server.create'`); n != 2 {
		t.Errorf("server.create audit rows: got %d, want 2", n)
	}
}

func TestDeliverMessagesIsAllOrNothing(t *testing.T) {
	a, _ := newInvActions(t)
	hq, _ := a.CreateSite(invCtx, actions.SiteInput{Name: "HQ"})
	sv, err := a.CreateServer(invCtx, actions.ServerInput{Name: "EX", SiteID: hq.ID, Kind: "exchange", Serial: "1"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := a.CreateUser(invCtx, actions.UserInput{Alias: "ann", DisplayName: "Ann", ServerID: sv.Server.ID})
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]actions.MessageInput, 1000)
	for i := range batch {
		batch[i] = actions.MessageInput{Subject: "m", Size: int64(i)}
	}
	batch[999].Size = -1
	if _, err := a.DeliverMessages(invCtx, u.ID, batch); mailnet.ErrorKind(err) != mailnet.KindInvalid {
		t.Fatalf("bad last message: got %v, want invalid", err)
	}
	if n := invCount(t, a, `SELECT count(*) FROM messages`); n != 0 {
		t.Errorf("messages after a refused batch: got %d, want 0", n)
	}
	batch[999].Size = 1
	got, err := a.DeliverMessages(invCtx, u.ID, batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1000 || got[0].Folder != "Inbox" || got[0].ReceivedAt.IsZero() {
		t.Errorf("delivered: %d messages, first %+v", len(got), got[0])
	}
	if n := invCount(t, a, `SELECT message_count FROM servers WHERE id = ?`, sv.Server.ID); n != 1000 {
		t.Errorf("server message_count: got %d, want 1000", n)
	}
	if n := invCount(t, a, `SELECT message_count FROM users WHERE id = ?`, u.ID); n != 1000 {
		t.Errorf("user message_count: got %d, want 1000", n)
	}
	if n := invCount(t, a, `SELECT count(*) FROM audit WHERE action = 'message.deliver'`); n != 1 {
		t.Errorf("message.deliver audit rows: got %d, want 1 per delivery", n)
	}
}
