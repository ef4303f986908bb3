package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"mailnet/internal/live"
	"mailnet/internal/mailnet"
)

// WSOptions tune the websocket stream; zero values take the defaults.
type WSOptions struct {
	Queue        int           // publications (an ingest commit's events share one) queued per client before it is cut off; default 64
	WriteTimeout time.Duration // deadline of every write; default 10s
	PingInterval time.Duration // default 25s
	PongWait     time.Duration // a client silent this long is dropped; default 60s
	ReplayPage   int           // events per replay query; default 500
}

func (o WSOptions) withDefaults() WSOptions {
	if o.Queue <= 0 {
		o.Queue = 64
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 25 * time.Second
	}
	if o.PongWait <= 0 {
		o.PongWait = 60 * time.Second
	}
	if o.ReplayPage <= 0 {
		o.ReplayPage = 500
	}
	return o
}

// Frames a client sends are only pongs and a close; anything larger is
// refused.
const wsReadLimit = 512

// maxBatch bounds the frames written in one system call.
const maxBatch = 256

// wsWriteBuffers lends gorilla a write buffer only while it writes a
// control frame (the handshake's refusals), so a connection holds none.
var wsWriteBuffers = &sync.Pool{}

// Control frames travel through a subscriber's queue like live frames, so
// whoever owns the connection's writes at that moment writes them.
const (
	wsPing    = "_ping"
	wsGoodbye = "_goodbye"
)

var (
	pingGroup    = &live.Group{Msgs: []*live.Msg{{Type: wsPing, Wire: []byte{0x89, 0}}}}
	goodbyeGroup = &live.Group{Msgs: []*live.Msg{{Type: wsGoodbye}}}
)

// serveWS upgrades to a websocket that streams live frames. With after_id
// it first replays the stored events after that id, then joins the live
// stream with no gap and no duplicate; a resync frame comes first when
// events after after_id were pruned.
//
// An idle connection holds one goroutine, its reader. Live frames are
// written by a few shard goroutines (one per CPU) that each serve many
// connections: woken once for every connection that has frames, they
// write each one's frames in one non-blocking system call, and hand a
// connection whose socket would block to a goroutine of its own, which
// writes under the write deadline and gives the connection back once its
// queue is empty.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	f, err := s.parseEventFilter(r, r.URL.Query())
	if err != nil {
		s.error(w, r, err)
		return
	}
	up := websocket.Upgrader{
		ReadBufferSize:  256,
		WriteBufferSize: 256,
		WriteBufferPool: wsWriteBuffers,
		CheckOrigin:     s.originAllowed,
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			if status == http.StatusForbidden {
				s.log.WarnContext(r.Context(), "websocket origin refused", "origin", r.Header.Get("Origin"))
			}
			writeJSON(w, status, errorBody{Error: reason.Error()})
		},
	}
	conn, err := up.Upgrade(hijacker(w), r, nil)
	if err != nil {
		return // the upgrader answered
	}
	c := &wsClient{s: s, conn: conn, nc: conn.NetConn(), f: f, last: f.q.AfterID}
	if sc, ok := c.nc.(syscall.Conn); ok {
		c.rc, _ = sc.SyscallConn()
	}
	sh := s.ws.shard(s.cfg.Hub, s.cfg.WS.withDefaults())
	if !sh.add(c) {
		c.opt = sh.opt
		c.writeClose(nil, websocket.CloseGoingAway, "console shutting down; reconnect")
		c.nc.Close()
		return
	}
	go c.read()
	// The handler's goroutine replays what the client missed, if anything,
	// then returns: net/http drops its buffers for this connection.
	c.start()
}

// hijacker unwraps middleware response writers down to the one that can
// hijack the connection.
func hijacker(w http.ResponseWriter) http.ResponseWriter {
	for range 16 {
		if _, ok := w.(http.Hijacker); ok {
			return w
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
	return w
}

// wsPump is a server's set of writer shards, started with the first
// websocket connection.
type wsPump struct {
	once   sync.Once
	shards []*wsShard
	next   atomic.Uint32
}

func (p *wsPump) shard(hub *live.Hub, opt WSOptions) *wsShard {
	p.once.Do(func() {
		n := max(1, min(runtime.GOMAXPROCS(0), 16))
		for range n {
			sh := &wsShard{hub: hub, opt: opt, kick: make(chan struct{}, 1), clients: map[*wsClient]struct{}{}}
			p.shards = append(p.shards, sh)
			go sh.run()
		}
	})
	return p.shards[int(p.next.Add(1))%len(p.shards)]
}

// wsShard writes the live frames of its connections.
type wsShard struct {
	hub *live.Hub
	opt WSOptions

	mu      sync.Mutex
	ready   []*wsClient
	clients map[*wsClient]struct{}
	closed  bool
	kick    chan struct{}

	// used by the shard's goroutine only
	spare  []*wsClient
	groups []*live.Group
	buf    []byte
}

func (sh *wsShard) add(c *wsClient) bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.closed {
		return false
	}
	c.sh, c.opt = sh, sh.opt
	sh.clients[c] = struct{}{}
	return true
}

func (sh *wsShard) remove(c *wsClient) {
	sh.mu.Lock()
	delete(sh.clients, c)
	last := sh.closed && len(sh.clients) == 0
	sh.mu.Unlock()
	if last { // let a shard whose hub closed see it has no one left
		select {
		case sh.kick <- struct{}{}:
		default:
		}
	}
}

// wake queues c for the shard's goroutine; the hub calls it (through the
// client's Wake) once per publication that finds c idle.
func (sh *wsShard) wake(c *wsClient) {
	sh.mu.Lock()
	sh.ready = append(sh.ready, c)
	first := len(sh.ready) == 1
	sh.mu.Unlock()
	if first {
		select {
		case sh.kick <- struct{}{}:
		default:
		}
	}
}

// push queues a control group for every client of the shard.
func (sh *wsShard) push(g *live.Group) {
	sh.mu.Lock()
	subs := make([]*live.Sub, 0, len(sh.clients))
	for c := range sh.clients {
		if sub := c.subscription(); sub != nil {
			subs = append(subs, sub)
		}
	}
	sh.mu.Unlock()
	for _, sub := range subs {
		sub.Push(g)
	}
}

func (sh *wsShard) run() {
	ping := time.NewTicker(sh.opt.PingInterval)
	defer ping.Stop()
	done := sh.hub.Done()
	for {
		select {
		case <-sh.kick:
		case <-ping.C:
			sh.push(pingGroup)
		case <-done:
			done = nil
			sh.mu.Lock()
			sh.closed = true
			sh.mu.Unlock()
			sh.push(goodbyeGroup)
		}
		for range 1 << 20 {
			sh.mu.Lock()
			list := sh.ready
			if len(list) == 0 {
				sh.mu.Unlock()
				break
			}
			sh.ready, sh.spare = sh.spare, nil // two arrays, swapped: never shared
			sh.mu.Unlock()
			for i, c := range list {
				sh.serve(c)
				list[i] = nil
			}
			sh.spare = list[:0]
		}
		if done == nil {
			sh.mu.Lock()
			empty := len(sh.clients) == 0 && len(sh.ready) == 0
			sh.mu.Unlock()
			if empty {
				return
			}
		}
	}
}

// serve writes what c has queued without blocking; a socket that would
// block goes to a goroutine of its own with the rest.
func (sh *wsShard) serve(c *wsClient) {
	for range 8 {
		var over bool
		sh.groups, over = c.sub.Take(sh.groups[:0])
		if over {
			clear(sh.groups)
			go c.cutOff()
			return
		}
		if len(sh.groups) == 0 {
			return // idle: the hub wakes it again
		}
		var closing bool
		sh.buf, closing = c.encode(sh.buf[:0], sh.groups)
		clear(sh.groups)
		n, err := c.tryWrite(sh.buf)
		if err != nil {
			c.close()
			return
		}
		if n < len(sh.buf) {
			rest := append([]byte(nil), sh.buf[n:]...)
			go c.drain(rest, closing)
			return
		}
		if closing {
			c.close()
			return
		}
	}
	sh.wake(c) // still busy: let the shard's other connections go first
}

type wsClient struct {
	s    *Server
	conn *websocket.Conn
	nc   net.Conn
	rc   syscall.RawConn // nil: every write goes through a goroutine of its own
	sh   *wsShard
	opt  WSOptions
	f    eventFilter
	// last is the highest event id sent (or the client's after_id); only
	// the current owner of the connection's writes touches it.
	last int64

	mu     sync.Mutex
	sub    *live.Sub
	closed bool
}

// Wake implements live.Waker.
func (c *wsClient) Wake(*live.Sub) { c.sh.wake(c) }

func (c *wsClient) subscription() *live.Sub {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sub
}

// setSub records the subscription; false when the client already left.
func (c *wsClient) setSub(sub *live.Sub) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.sub = sub
	return true
}

// close ends the connection once: unsubscribe, close the socket (the
// reader then returns), leave the shard.
func (c *wsClient) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	sub := c.sub
	c.mu.Unlock()
	if sub != nil {
		c.sh.hub.Unsubscribe(sub)
	}
	c.nc.Close()
	c.sh.remove(c)
}

// read consumes what the client sends so pongs and close frames are seen.
func (c *wsClient) read() {
	defer c.close()
	c.conn.SetReadLimit(wsReadLimit)
	_ = c.conn.SetReadDeadline(time.Now().Add(c.opt.PongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(c.opt.PongWait))
	})
	for {
		if _, _, err := c.conn.NextReader(); err != nil {
			return
		}
	}
}

// encode appends the wire bytes of groups to buf, skipping events the
// client already has; closing reports a goodbye (the connection closes
// after these bytes).
func (c *wsClient) encode(buf []byte, groups []*live.Group) (_ []byte, closing bool) {
	for _, g := range groups {
		for _, m := range g.Msgs {
			switch m.Type {
			case live.TypeEvent:
				if m.ID <= c.last {
					continue
				}
				c.last = m.ID
			case wsGoodbye:
				return appendClose(buf, websocket.CloseGoingAway,
					fmt.Sprintf("console shutting down; reconnect with after_id=%d", c.last)), true
			}
			buf = append(buf, m.Wire...)
		}
	}
	return buf, false
}

// appendClose appends a close frame (RFC 6455 section 5.5.1).
func appendClose(buf []byte, code int, reason string) []byte {
	if len(reason) > 123 {
		reason = reason[:123]
	}
	buf = append(buf, 0x88, byte(2+len(reason)), byte(code>>8), byte(code))
	return append(buf, reason...)
}

// writeBlocking writes b under the write deadline, set once for the
// whole write.
func (c *wsClient) writeBlocking(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.opt.WriteTimeout))
	_, err := c.nc.Write(b)
	return err
}

// writeClose writes a close frame after buf's bytes, under the deadline.
func (c *wsClient) writeClose(buf []byte, code int, reason string) {
	_ = c.writeBlocking(appendClose(buf, code, reason))
}

// drain owns the connection's writes while its socket is slow: it writes
// pending under the deadline, then whatever the hub queued meanwhile,
// and returns the connection to its shard once the queue is empty.
func (c *wsClient) drain(pending []byte, closing bool) {
	buf := pending
	for range 1 << 30 {
		if err := c.writeBlocking(buf); err != nil || closing {
			c.close()
			return
		}
		groups, over := c.sub.Take(nil)
		if over {
			c.cutOff()
			return
		}
		if len(groups) == 0 {
			return
		}
		buf, closing = c.encode(buf[:0], groups)
		if cap(buf) > 64<<10 {
			buf = append([]byte(nil), buf...) // do not keep a burst's buffer
		}
	}
}

// cutOff says why a client whose queue overflowed is disconnected; it
// resumes from its last event id.
func (c *wsClient) cutOff() {
	c.writeClose(nil, websocket.CloseTryAgainLater,
		fmt.Sprintf("send queue full: too slow; reconnect with after_id=%d", c.last))
	c.close()
}

// start subscribes c, first replaying what it missed when it gave an
// after_id; the replay owns the connection's writes until it has also
// written the live frames that queued meanwhile.
func (c *wsClient) start() {
	filter := c.f.liveFilter()
	if !c.f.hasID || !filter.Events() {
		sub := c.sh.hub.Subscribe(filter, c.opt.Queue, c, true)
		if !c.setSub(sub) {
			c.sh.hub.Unsubscribe(sub)
			return
		}
		c.drain(nil, false) // finds the queue empty (or not) and lets go
		return
	}
	buf, err := c.catchUp(filter)
	if err != nil {
		if e, ok := mailnet.AsError(err); ok {
			c.writeClose(nil, websocket.CloseTryAgainLater, e.Message)
		} else if !errors.Is(err, errClientLeft) {
			c.s.log.Warn("websocket replay failed", "err", err)
			c.writeClose(nil, websocket.CloseInternalServerErr, "replay failed; reconnect")
		}
		c.close()
		return
	}
	c.drain(buf, false)
}

var errClientLeft = errors.New("client left during replay")

// catchUp subscribes to the live stream first (it buffers), replays the
// stored events after the client's id page by page, and leaves the
// subscription in c.sub, owned by the caller; live frames at or below the
// last replayed id are skipped later by encode. When the queue overflows
// during a long replay, it starts over from where the replay got to: the
// database has everything.
func (c *wsClient) catchUp(filter live.Filter) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	through, err := c.s.store.EventsPrunedThrough(ctx)
	if err != nil {
		return nil, err
	}
	var buf []byte
	if c.last < through {
		m, err := live.Encode(live.Frame{Type: live.TypeResync, Data: map[string]any{
			"reason":         "events after after_id were pruned; reload the state and continue from oldest_id",
			"after_id":       c.last,
			"pruned_through": through,
			"oldest_id":      through + 1,
		}})
		if err != nil {
			return nil, err
		}
		buf = append(buf, m.Wire...)
		c.last = through
	}
	for range 16 {
		sub := c.sh.hub.Subscribe(filter, c.opt.Queue, c, true)
		if !c.setSub(sub) {
			c.sh.hub.Unsubscribe(sub)
			return nil, errClientLeft
		}
		buf, err = c.replay(ctx, sub, buf)
		if err != nil {
			return nil, err
		}
		if !sub.Overflowed() {
			return buf, nil
		}
		c.sh.hub.Unsubscribe(sub)
	}
	return nil, mailnet.Errorf(mailnet.KindTooMany, "", "events arrive faster than the replay; reconnect with after_id=%d", c.last)
}

// replay sends stored events after c.last until it reaches the newest
// (or the live queue overflowed, which restarts it); it returns what it
// has not written yet.
func (c *wsClient) replay(ctx context.Context, sub *live.Sub, buf []byte) ([]byte, error) {
	q := c.f.q
	q.Limit = c.opt.ReplayPage
	for range 1_000_000 {
		q.AfterID = c.last
		evs, err := c.s.store.Events(ctx, q)
		if err != nil {
			return nil, err
		}
		n := 0
		for _, ev := range evs {
			m, err := live.Encode(live.EventFrame(ev, 0))
			if err != nil {
				return nil, err
			}
			buf = append(buf, m.Wire...)
			c.last = ev.ID
			if n++; n >= maxBatch {
				if err := c.writeBlocking(buf); err != nil {
					return nil, err
				}
				buf, n = buf[:0], 0
			}
		}
		if len(evs) < q.Limit || sub.Overflowed() {
			return buf, nil
		}
		if err := c.writeBlocking(buf); err != nil {
			return nil, err
		}
		buf = buf[:0]
		c.mu.Lock()
		left := c.closed
		c.mu.Unlock()
		if left {
			return nil, errClientLeft
		}
	}
	return buf, nil
}
