package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"mailnet/internal/live"
	"mailnet/web"
)

type wsFrame struct {
	Type string          `json:"type"`
	ID   int64           `json:"id"`
	Data json.RawMessage `json:"data"`
}

// dial opens /ws?query with the token (none if empty) and Origin (none if
// empty).
func (e *liveEnv) dial(query, token, origin string) (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	if origin != "" {
		h.Set("Origin", origin)
	}
	url := "ws" + strings.TrimPrefix(e.HTTP.URL, "http") + "/ws?" + query
	return websocket.DefaultDialer.Dial(url, h)
}

func (e *liveEnv) mustDial(query string) *websocket.Conn {
	e.t.Helper()
	c, res, err := e.dial(query, e.Viewer, "")
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		e.t.Fatalf("dial /ws?%s: %v (status %d)", query, err, status)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// readEvents reads frames until it has seen event id want (or the deadline),
// returning the event ids in arrival order and the other frames.
func readEvents(t *testing.T, c *websocket.Conn, want int64, within time.Duration) (ids []int64, other []wsFrame) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read after ids up to %v: %v", last(ids), err)
		}
		var f wsFrame
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("frame %s: %v", b, err)
		}
		if f.Type != live.TypeEvent {
			other = append(other, f)
			continue
		}
		ids = append(ids, f.ID)
		if f.ID >= want {
			return ids, other
		}
	}
}

func last(ids []int64) int64 {
	if len(ids) == 0 {
		return 0
	}
	return ids[len(ids)-1]
}

// checkExact fails unless ids are exactly from+1 .. to, in order.
func checkExact(t *testing.T, ids []int64, from, to int64) {
	t.Helper()
	if int64(len(ids)) != to-from {
		t.Errorf("got %d events, want %d (ids %d..%d)", len(ids), to-from, from+1, to)
	}
	for i, id := range ids {
		if id != from+1+int64(i) {
			t.Fatalf("event %d has id %d, want %d: a gap, a duplicate or out of order", i, id, from+1+int64(i))
		}
	}
}

func (e *liveEnv) maxID() int64 {
	var n int64
	if err := e.Store.DB().QueryRow(`SELECT coalesce(max(id), 0) FROM events`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func batchOf(n, from int) []evIn {
	out := make([]evIn, n)
	for i := range out {
		out[i] = ev("EXCH1", from+i, "info")
	}
	return out
}

func TestWSResumeIsExactWhileEventsArrive(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{ws: web.WSOptions{ReplayPage: 37}})
	e.seed()
	for i := range 6 {
		e.post(batchOf(50, i*50))
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 40 {
			e.post(batchOf(10, 1000+i*10))
		}
	}()
	c := e.mustDial("after_id=100")
	wg.Wait()
	total := e.maxID()
	if total != 700 {
		t.Fatalf("stored %d events, want 700", total)
	}
	ids, _ := readEvents(t, c, total, 10*time.Second)
	checkExact(t, ids, 100, total)
}

func TestWSResumeAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "restart.db")
	e1 := newLiveEnv(t, path, liveOpts{})
	e1.seed()
	c1 := e1.mustDial("after_id=0")
	e1.post(batchOf(40, 0))
	ids, _ := readEvents(t, c1, 40, 5*time.Second)
	checkExact(t, ids, 0, 40)
	e1.close() // the console stops; the client keeps its last id

	e2 := newLiveEnv(t, path, liveOpts{})
	e2.post(batchOf(25, 100)) // missed while the client was away
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 20 {
			e2.post(batchOf(5, 200+i*5))
		}
	}()
	c2 := e2.mustDial(fmt.Sprintf("after_id=%d", last(ids)))
	wg.Wait()
	ids2, _ := readEvents(t, c2, 165, 10*time.Second)
	checkExact(t, ids2, 40, 165)
}

func TestWSFiltersLiveAndReplay(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{})
	e.seed()
	e.post([]evIn{ev("EXCH1", 1, "info"), ev("MAC1", 2, "error")})
	c := e.mustDial("after_id=0&site=Branch&types=event")
	e.post([]evIn{ev("EXCH1", 3, "info"), ev("MAC1", 4, "error")})
	ids, other := readEvents(t, c, 4, 5*time.Second)
	if fmt.Sprint(ids) != "[2 4]" || len(other) != 0 {
		t.Errorf("got ids %v and %d other frames, want [2 4] only", ids, len(other))
	}
}

func TestWSInventoryAndJobFrames(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{})
	c := e.mustDial("types=inventory,job")
	time.Sleep(50 * time.Millisecond) // the subscription is made after the upgrade
	e.Hub.Publish(live.Frame{Type: live.TypeEvent, ID: 99, Data: live.EventData{ID: 99}})
	e.Hub.Publish(live.Frame{Type: live.TypeInventory, Data: live.Inventory{Object: "server", ID: 7, Action: "updated"}})
	e.Hub.Publish(live.Frame{Type: live.TypeJob, Data: map[string]any{"id": 3, "status": "running", "total": 10, "done": 4}})
	var got []string
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(got) < 2 {
		var f wsFrame
		if err := c.ReadJSON(&f); err != nil {
			t.Fatalf("read: %v", err)
		}
		got = append(got, f.Type+" "+string(f.Data))
	}
	if !strings.HasPrefix(got[0], `inventory {"object":"server","id":7`) || !strings.HasPrefix(got[1], `job {"done":4`) {
		t.Errorf("got %q, want the inventory frame then the job frame", got)
	}
}

func TestWSSlowClientIsCutOff(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{ws: web.WSOptions{Queue: 16, WriteTimeout: 300 * time.Millisecond}})
	slow := e.mustDial("")          // never reads
	fast := e.mustDial("types=job") // reads everything
	deadline := time.Now().Add(2 * time.Second)
	for e.Hub.Stats().Subscribers < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	const n = 400
	big := strings.Repeat("x", 32<<10)
	done := make(chan int)
	go func() {
		got := 0
		fast.SetReadDeadline(time.Now().Add(20 * time.Second))
		for got < n {
			if _, _, err := fast.ReadMessage(); err != nil {
				break
			}
			got++
		}
		done <- got
	}()
	start := time.Now()
	for i := range n {
		e.Hub.Publish(live.Frame{Type: live.TypeJob, Data: map[string]any{"seq": i, "pad": big}})
		time.Sleep(time.Millisecond) // a paced stream the fast reader keeps up with
	}
	if got := <-done; got != n {
		t.Errorf("the fast client got %d frames, want %d", got, n)
	}
	for e.Hub.Stats().Subscribers > 1 && time.Since(start) < 10*time.Second {
		time.Sleep(10 * time.Millisecond)
	}
	if s := e.Hub.Stats(); s.Subscribers != 1 || s.Overflows < 1 {
		t.Fatalf("hub has %d subscribers and %d overflows, want the slow client cut off", s.Subscribers, s.Overflows)
	}
	// The slow client finds, after the frames the kernel buffered, a close
	// frame saying why, or (when even the close frame could not be written
	// within the write deadline) the connection closed: never a stream that
	// silently stopped.
	slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := slow.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		switch {
		case errors.As(err, &ce) && ce.Code == websocket.CloseTryAgainLater:
			if !strings.Contains(ce.Text, "send queue full") {
				t.Errorf("close reason %q, want it to say the send queue was full", ce.Text)
			}
		case errors.As(err, &ce) && ce.Code == websocket.CloseAbnormalClosure:
		default:
			t.Errorf("slow client got %v, want a close frame or the connection closed", err)
		}
		break
	}
}

func TestWSUpgradeRefusals(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{})
	tests := []struct {
		name, token, origin string
		want                int
	}{
		{"foreign origin", e.Viewer, "http://evil.example", http.StatusForbidden},
		{"no credential", "", "", http.StatusSeeOther},
		{"agent token", e.Agent, "", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, res, err := e.dial("", tt.token, tt.origin)
			if err == nil {
				c.Close()
				t.Fatal("upgrade succeeded, want it refused")
			}
			if res == nil || (res.StatusCode != tt.want && !(tt.token == "" && res.StatusCode == http.StatusUnauthorized)) {
				t.Errorf("got %v, want status %d", res, tt.want)
			}
		})
	}
	t.Run("own origin", func(t *testing.T) {
		c, _, err := e.dial("", e.Viewer, e.HTTP.URL)
		if err != nil {
			t.Fatalf("dial with the console's own origin: %v", err)
		}
		c.Close()
	})
}

func TestWSResyncAfterPruning(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{})
	e.post(batchOf(30, 0))
	if n, err := e.Store.PruneEvents(context.Background(), time.Time{}, 10, 1000); err != nil || n != 20 {
		t.Fatalf("pruned %d (%v), want 20", n, err)
	}
	c := e.mustDial("after_id=5")
	ids, other := readEvents(t, c, 30, 5*time.Second)
	if len(other) != 1 || other[0].Type != live.TypeResync {
		t.Fatalf("got frames %v before the events, want one resync", other)
	}
	var rs struct {
		PrunedThrough int64 `json:"pruned_through"`
		OldestID      int64 `json:"oldest_id"`
	}
	json.Unmarshal(other[0].Data, &rs)
	if rs.PrunedThrough != 20 || rs.OldestID != 21 {
		t.Errorf("resync says pruned through %d, oldest %d; want 20, 21", rs.PrunedThrough, rs.OldestID)
	}
	checkExact(t, ids, 20, 30)

	t.Run("no resync when nothing was missed", func(t *testing.T) {
		c := e.mustDial("after_id=25")
		ids, other := readEvents(t, c, 30, 5*time.Second)
		if len(other) != 0 {
			t.Errorf("got %d other frames, want none", len(other))
		}
		checkExact(t, ids, 25, 30)
	})
}
