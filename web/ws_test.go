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
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"mailnet/internal/actions"
	"mailnet/internal/live"
	"mailnet/internal/mailnet"
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
// returning the event ids in arrival order and the other frames. A
// message may be one frame or (batch=1) an array of frames.
func readEvents(t *testing.T, c *websocket.Conn, want int64, within time.Duration) (ids []int64, other []wsFrame) {
	ids, other, _ = readEventMessages(t, c, want, within)
	return ids, other
}

// readEventMessages is readEvents that also counts the messages, and
// how many of them were arrays.
func readEventMessages(t *testing.T, c *websocket.Conn, want int64, within time.Duration) (ids []int64, other []wsFrame, msgs msgCount) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read after ids up to %v: %v", last(ids), err)
		}
		msgs.n++
		var fs []wsFrame
		if len(b) > 0 && b[0] == '[' {
			msgs.arrays++
			err = json.Unmarshal(b, &fs)
		} else {
			fs = make([]wsFrame, 1)
			err = json.Unmarshal(b, &fs[0])
		}
		if err != nil {
			t.Fatalf("message %s: %v", b, err)
		}
		for _, f := range fs {
			if f.Type != live.TypeEvent {
				other = append(other, f)
				continue
			}
			ids = append(ids, f.ID)
			if f.ID >= want {
				return ids, other, msgs
			}
		}
	}
}

type msgCount struct{ n, arrays int }

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

// With batch=1 (as the pages ask) the replay and the live frames arrive
// as arrays of frames, still exact: no gap, no duplicate, in order, and
// far fewer messages than events.
func TestWSBatchedResumeIsExactWhileEventsArrive(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{ws: web.WSOptions{ReplayPage: 37}})
	e.seed()
	for i := range 6 {
		e.post(batchOf(50, i*50))
	}
	c := e.mustDial("after_id=100&batch=1")
	for i := range 40 {
		e.post(batchOf(10, 1000+i*10))
	}
	total := e.maxID()
	ids, _, msgs := readEventMessages(t, c, total, 10*time.Second)
	checkExact(t, ids, 100, total)
	if msgs.arrays != msgs.n {
		t.Errorf("%d of %d messages were arrays of frames, want all", msgs.arrays, msgs.n)
	}
	if msgs.n > (200/37+1)+40 {
		t.Errorf("%d messages for %d events (a replay of 200 in pages of 37, then 40 posts), want at most one per page or post", msgs.n, len(ids))
	}
	if _, res, err := e.dial("batch=yes", e.Viewer, ""); err == nil || res == nil || res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("batch=yes: %v %v, want 422 as for any bad filter", res, err)
	}
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
	waitFor(t, "the subscription", func() bool { return e.Hub.Stats().Subscribers == 1 })
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

// A client that stops reading is cut off with a close frame that says
// why (it resumes from its last id), while the others keep receiving.
func TestWSSlowClientIsCutOff(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{ws: web.WSOptions{Queue: 16, WriteTimeout: 5 * time.Second}})
	slow := e.mustDial("")          // does not read until it is cut off
	fast := e.mustDial("types=job") // reads everything
	waitFor(t, "two subscribers", func() bool { return e.Hub.Stats().Subscribers == 2 })
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
	go func() {
		for i := range n {
			e.Hub.Publish(live.Frame{Type: live.TypeJob, Data: map[string]any{"seq": i, "pad": big}})
			time.Sleep(time.Millisecond) // a paced stream the fast reader keeps up with
		}
	}()
	waitFor(t, "the slow client's queue to overflow", func() bool { return e.Hub.Stats().Overflows >= 1 })
	// Now it reads: after the frames the kernel buffered comes a close
	// frame saying why, never a stream that silently stopped.
	expectClose(t, slow, websocket.CloseTryAgainLater, "send queue full", 10*time.Second)
	if got := <-done; got != n {
		t.Errorf("the fast client got %d frames, want %d", got, n)
	}
	if s := e.Hub.Stats(); s.Subscribers != 1 || s.Overflows != 1 {
		t.Fatalf("hub has %d subscribers and %d overflows, want the slow client cut off", s.Subscribers, s.Overflows)
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

// expectClose reads until the connection ends and fails unless it ended
// with a close frame of code whose reason contains reason.
func expectClose(t *testing.T, c *websocket.Conn, code int, reason string, within time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != code || !strings.Contains(ce.Text, reason) {
			t.Fatalf("socket ended with %v, want close %d %q", err, code, reason)
		}
		return
	}
}

// waitFor polls cond (a counter the server keeps) until it holds or 10 s
// pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// A socket that replayed missed events keeps streaming well past its
// write deadline: the replay's deadline is cleared after each write.
func TestWSResumedSocketOutlivesWriteDeadline(t *testing.T) {
	const timeout = 200 * time.Millisecond
	e := newLiveEnv(t, "", liveOpts{ws: web.WSOptions{WriteTimeout: timeout, ReplayPage: 25}})
	e.seed()
	e.post(batchOf(100, 0))
	c := e.mustDial("after_id=10")
	ids, _ := readEvents(t, c, 100, 5*time.Second)
	checkExact(t, ids, 10, 100)
	time.Sleep(4 * timeout) // what is under test: the time after the replay's deadline
	e.post(batchOf(5, 200))
	ids, _ = readEvents(t, c, 105, 5*time.Second)
	checkExact(t, ids, 100, 105)
}

// A client that pings every millisecond while the server writes a large
// backlog (a replay, then live batches) gets only well-formed frames and
// its pongs: the reader never writes.
func TestWSPingFloodDuringBacklogGetsWellFormedFrames(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{ws: web.WSOptions{ReplayPage: 200}})
	e.seed()
	for i := range 6 {
		e.post(batchOf(500, i*500))
	}
	c := e.mustDial("after_id=0")
	var pongs atomic.Int64
	c.SetPongHandler(func(string) error { pongs.Add(1); return nil })
	stop := make(chan struct{})
	pinged := make(chan error, 1)
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				pinged <- nil
				return
			case <-tick.C:
				if err := c.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(time.Second)); err != nil {
					pinged <- err
					return
				}
			}
		}
	}()
	go func() {
		for i := range 20 {
			e.post(batchOf(50, 5000+i*50))
		}
	}()
	const total = 6*500 + 20*50
	ids, other := readEvents(t, c, total, 20*time.Second) // fails on any protocol error or bad JSON
	close(stop)
	if err := <-pinged; err != nil {
		t.Fatalf("ping: %v", err)
	}
	checkExact(t, ids, 0, total)
	if len(other) != 0 {
		t.Errorf("got %d frames that are not events", len(other))
	}
	if pongs.Load() == 0 {
		t.Error("got no pong for any of the pings")
	}
}

// Revoking, disabling, signing out or ending a session ends the
// credential's open sockets with a close that says why: at once when the
// console does it, within CheckEvery when another process (the CLI) does.
func TestWSCredentialEndsItsStreams(t *testing.T) {
	admin := mailnet.WithPrincipal(context.Background(), &mailnet.Principal{Name: "test", Role: mailnet.RoleAdmin})
	const never = time.Hour // only the console's own call can close in time
	tokenID := func(e *liveEnv, name string) int64 {
		toks, err := e.Store.Tokens(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range toks {
			if tk.Name == name {
				return tk.ID
			}
		}
		t.Fatalf("no token %q", name)
		return 0
	}
	dialCookie := func(e *liveEnv, secret string) *websocket.Conn {
		url := "ws" + strings.TrimPrefix(e.HTTP.URL, "http") + "/ws?after_id=0"
		c, res, err := websocket.DefaultDialer.Dial(url, http.Header{"Cookie": {"mailnet_session=" + secret}})
		if err != nil {
			t.Fatalf("dial with a session: %v (%v)", err, res)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	t.Run("token revoked through the API", func(t *testing.T) {
		e := newLiveEnv(t, "", liveOpts{ws: web.WSOptions{CheckEvery: never}})
		c := e.mustDial("")
		other := e.mustDial("") // the same token: ends too
		e.json("POST", fmt.Sprintf("/api/v1/tokens/%d/revoke", tokenID(e, "viewer-token")), e.Admin, nil, http.StatusOK, nil)
		expectClose(t, c, 4001, "token revoked", 5*time.Second)
		expectClose(t, other, 4001, "token revoked", 5*time.Second)
	})
	t.Run("token revoked by the CLI", func(t *testing.T) {
		e := newLiveEnv(t, "", liveOpts{ws: web.WSOptions{CheckEvery: 100 * time.Millisecond}})
		c := e.mustDial("")
		if _, err := cli(e).RevokeToken(admin, tokenID(e, "viewer-token")); err != nil {
			t.Fatal(err)
		}
		expectClose(t, c, 4001, "token revoked", 5*time.Second)
	})
	t.Run("account disabled by the CLI", func(t *testing.T) {
		e := newLiveEnv(t, "", liveOpts{ws: web.WSOptions{CheckEvery: 100 * time.Millisecond}})
		e.addAccount("ann", "viewer", "correct horse battery")
		b := e.browser()
		b.login("ann", "correct horse battery")
		c := dialCookie(e, b.sessionCookie())
		keep := e.mustDial("") // another credential streams on
		if _, err := cli(e).DisableAccount(admin, "ann"); err != nil {
			t.Fatal(err)
		}
		expectClose(t, c, 4001, "session ended", 5*time.Second)
		e.Hub.Publish(live.Frame{Type: live.TypeJob, Data: 1})
		keep.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := keep.ReadMessage(); err != nil {
			t.Errorf("another credential's socket: %v, want it still streaming", err)
		}
	})
	t.Run("signed out", func(t *testing.T) {
		e := newLiveEnv(t, "", liveOpts{ws: web.WSOptions{CheckEvery: never}})
		e.addAccount("bob", "admin", "correct horse battery")
		b := e.browser()
		b.login("bob", "correct horse battery")
		c := dialCookie(e, b.sessionCookie())
		if res := b.do("POST", "/logout", nil, "Sec-Fetch-Site", "same-origin", "Origin", e.HTTP.URL); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign out: %d", res.StatusCode)
		}
		expectClose(t, c, 4001, "session ended", 5*time.Second)
	})
	t.Run("NOC device's token revoked through the API", func(t *testing.T) {
		e := newLiveEnv(t, "", liveOpts{ws: web.WSOptions{CheckEvery: never}})
		_, wall, err := cli(e).CreateToken(admin, "wall", "viewer")
		if err != nil {
			t.Fatal(err)
		}
		in, err := cli(e).DeviceSignIn(context.Background(), wall, "", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		c := dialCookie(e, in.Secret)
		e.json("POST", fmt.Sprintf("/api/v1/tokens/%d/revoke", tokenID(e, "wall")), e.Admin, nil, http.StatusOK, nil)
		expectClose(t, c, 4001, "", 5*time.Second)
	})
	t.Run("NOC device session ended elsewhere", func(t *testing.T) {
		e := newLiveEnv(t, "", liveOpts{ws: web.WSOptions{CheckEvery: 100 * time.Millisecond}})
		_, wall, err := cli(e).CreateToken(admin, "wall", "viewer")
		if err != nil {
			t.Fatal(err)
		}
		in, err := cli(e).DeviceSignIn(context.Background(), wall, "", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		c := dialCookie(e, in.Secret)
		if _, err := cli(e).RevokeToken(admin, tokenID(e, "wall")); err != nil {
			t.Fatal(err)
		}
		expectClose(t, c, 4001, "session ended", 5*time.Second)
	})
}

// One credential may hold only so many sockets; the next is refused with
// a 429 that says why, before the upgrade.
func TestWSCapPerCredential(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{ws: web.WSOptions{PerCredential: 2}})
	e.mustDial("")
	e.mustDial("")
	c, res, err := e.dial("", e.Viewer, "")
	if err == nil {
		c.Close()
		t.Fatal("third socket of one token upgraded, want it refused")
	}
	if res == nil || res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("got %v, want 429", res)
	}
	var body struct {
		Error string `json:"error"`
	}
	json.NewDecoder(res.Body).Decode(&body)
	if !strings.Contains(body.Error, "live streams open") {
		t.Errorf("refusal says %q, want it to say the credential has too many live streams", body.Error)
	}
	if _, _, err := e.dial("", e.Admin, ""); err != nil {
		t.Errorf("another token's socket: %v, want it let through", err)
	}
}

// A client that pings every millisecond while it reads a large live
// backlog slowly (so the server's socket stays full and its writes are
// partial) gets only well-formed frames.
func TestWSPingFloodDuringLiveBacklog(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{ws: web.WSOptions{Queue: 4096}})
	c := e.mustDial("types=job")
	waitFor(t, "the subscription", func() bool { return e.Hub.Stats().Subscribers == 1 })
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if c.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(time.Second)) != nil {
					return
				}
			}
		}
	}()
	const n = 1500
	pad := strings.Repeat("y", 16<<10)
	go func() {
		for i := range n {
			e.Hub.Publish(live.Frame{Type: live.TypeJob, Data: map[string]any{"seq": i, "pad": pad}})
			if i%8 == 0 {
				time.Sleep(time.Millisecond) // bursts, so the queue empties and fills again
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for i := range n {
		var f struct {
			Data struct {
				Seq int `json:"seq"`
			} `json:"data"`
		}
		if err := c.ReadJSON(&f); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Data.Seq != i {
			t.Fatalf("frame %d has seq %d", i, f.Data.Seq)
		}
		if i%4 == 0 {
			time.Sleep(100 * time.Microsecond) // a slow reader keeps the server's socket full
		}
	}
}

// cli is what the admin-web CLI does in its own process: actions over the
// same database, publishing to no hub of the server's.
func cli(e *liveEnv) *actions.Actions { return actions.New(e.Store, nil, nil) }
