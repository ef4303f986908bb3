package live_test

import (
	"sync"
	"testing"

	"mailnet/internal/live"
)

type wakes struct {
	mu sync.Mutex
	n  int
}

func (w *wakes) Wake(*live.Sub) { w.mu.Lock(); w.n++; w.mu.Unlock() }

func (w *wakes) count() int { w.mu.Lock(); defer w.mu.Unlock(); return w.n }

func job(i int) live.Frame { return live.Frame{Type: live.TypeJob, Data: i} }

// The hub wakes an idle subscriber once, however many publications queue
// before its owner takes them; only Release on an empty queue makes it
// idle again.
func TestHubWakesIdleSubscriberOnce(t *testing.T) {
	h := live.NewHub()
	w := &wakes{}
	s := h.Subscribe(live.Filter{}, 8, w, false)
	h.Publish(job(1))
	h.Publish(job(2))
	if got := w.count(); got != 1 {
		t.Fatalf("got %d wakes after two publications, want 1", got)
	}
	groups, over := s.Take(nil)
	if len(groups) != 2 || over {
		t.Fatalf("got %d groups (over %v), want 2", len(groups), over)
	}
	if groups, _ = s.Take(groups[:0]); len(groups) != 0 {
		t.Fatalf("got %d groups from an empty queue, want 0", len(groups))
	}
	h.Publish(job(3)) // still owned: an empty Take does not let go
	if got := w.count(); got != 1 {
		t.Fatalf("got %d wakes while owned, want 1", got)
	}
	if s.Release() {
		t.Fatal("Release with a frame queued succeeded, want the owner to keep it")
	}
	if groups, _ = s.Take(groups[:0]); len(groups) != 1 {
		t.Fatalf("got %d groups, want 1", len(groups))
	}
	if !s.Release() {
		t.Fatal("Release of an empty queue failed")
	}
	h.Publish(job(4))
	if got := w.count(); got != 2 {
		t.Fatalf("got %d wakes after the owner let go, want 2", got)
	}
}

// A subscriber that starts owned is not woken until its owner lets go.
func TestHubOwnedSubscriberIsNotWoken(t *testing.T) {
	h := live.NewHub()
	w := &wakes{}
	s := h.Subscribe(live.Filter{}, 8, w, true)
	h.Publish(job(1))
	if got := w.count(); got != 0 {
		t.Fatalf("got %d wakes, want 0", got)
	}
	if groups, _ := s.Take(nil); len(groups) != 1 {
		t.Fatalf("got %d groups, want 1", len(groups))
	}
}

// A full queue cuts the subscriber off: it is removed, counted, woken,
// and Take reports it; it is never silently skipped.
func TestHubOverflowCutsOff(t *testing.T) {
	h := live.NewHub()
	w := &wakes{}
	s := h.Subscribe(live.Filter{}, 2, w, true)
	for i := range 3 {
		h.Publish(job(i))
	}
	if st := h.Stats(); st.Subscribers != 0 || st.Overflows != 1 {
		t.Fatalf("got %d subscribers and %d overflows, want 0 and 1", st.Subscribers, st.Overflows)
	}
	if _, over := s.Take(nil); !over || !s.Overflowed() {
		t.Fatalf("Take reports over %v, want true", over)
	}
	if s.Release() {
		t.Fatal("a cut-off subscriber was released, want it kept by its owner until it disconnects")
	}
}

// Filters select per subscriber; frames of one publication share a slot.
func TestHubFilterAndGroups(t *testing.T) {
	h := live.NewHub()
	jobs := h.Subscribe(live.Filter{Types: []string{live.TypeJob}}, 4, nil, true)
	all := h.Subscribe(live.Filter{}, 4, nil, true)
	h.PublishBatch([]live.Frame{job(1), {Type: live.TypeInventory, Data: live.Inventory{Object: "server", ID: 1, Action: "created"}}})
	g, _ := jobs.Take(nil)
	if len(g) != 1 || len(g[0].Msgs) != 1 || g[0].Msgs[0].Type != live.TypeJob {
		t.Errorf("job subscriber got %d groups, want one with the job frame", len(g))
	}
	g, _ = all.Take(nil)
	if len(g) != 1 || len(g[0].Msgs) != 2 {
		t.Errorf("unfiltered subscriber got %d groups, want one with both frames", len(g))
	}
}
