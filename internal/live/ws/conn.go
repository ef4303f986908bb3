package ws

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"mailnet/internal/live"
	"mailnet/internal/mailnet"
)

// readLimit bounds what a client may send: only pings, pongs and a close.
const readLimit = 512

// maxReplayRestarts bounds how often a replay whose live queue overflowed
// starts over from where it got to before the client is told to come
// back later.
const maxReplayRestarts = 16

// replayTimeout bounds one socket's whole replay.
const replayTimeout = 5 * time.Minute

// ctlGroup in a subscriber's queue wakes its owner for the connection's
// control requests (conn.pending).
var ctlGroup = &live.Group{}

// ctl is what the connection's writer is asked to send besides frames.
type ctl struct {
	pong    []byte
	hasPong bool
	ping    bool
	close   *closeReq
}

type closeReq struct {
	code   int
	reason string
	resume bool // add "reconnect with after_id=N"
}

// conn is one websocket client. Fields marked "owner" are touched only by
// whoever owns the subscriber (see live.Sub): the connection's one writer.
type conn struct {
	e    *Engine
	ws   *websocket.Conn
	bc   *bufConn
	cred Cred
	// closeSent is closed once the writer has written a close frame; a
	// reader that saw the client's close waits for it before hanging up.
	closeSent chan struct{}

	mu      sync.Mutex
	sub     *live.Sub // replaced only by the owner, during a replay
	pending ctl       // control requests for the writer
	queued  bool      // a ctlGroup is queued for them
	gone    bool
	// peerClosed: the client sent a close frame, or broke the protocol
	// (brokeProtocol too): nothing more is read
	peerClosed, brokeProtocol bool

	last    int64 // owner: highest event id sent (or the client's after_id)
	closing bool  // owner: a close frame was written

	batch bool           // frames go out as JSON arrays, one message per batch (Stream.Batch)
	out   io.WriteCloser // owner: the batch message being written, nil between batches

	// A polled connection (fd >= 0) has no reader goroutine: the poller
	// reads its frames (readFrames), which only the poller touches.
	fd         int32
	lastRead   atomic.Int64 // unix ns of the last frame read: PongWait runs from it
	partial    []byte       // poller: a frame split across reads
	msgLen     int          // poller: bytes of the fragmented message so far
	fragmented bool         // poller: a message's continuation frames follow

	shutOnce sync.Once
	coalesce atomic.Pointer[time.Timer] // the writer's pending start while it waits for more (Wake)
}

// Wake implements live.Waker: the hub found c idle with frames queued, and
// c's writer starts; it returns once the queue is empty.
func (c *conn) Wake(*live.Sub) {
	if d := c.e.opt.Coalesce; d > 0 && !c.ctlQueued() {
		// What arrives meanwhile joins this write, unless the queue
		// fills half way first (Nudge).
		c.coalesce.Store(time.AfterFunc(d, c.drain))
		return
	}
	go c.drain()
}

// Nudge implements live.Nudger: the queue is half full, so the writer
// stops waiting for more. Only the party that stops the timer starts it.
func (c *conn) Nudge(*live.Sub) {
	if t := c.coalesce.Swap(nil); t != nil && t.Stop() {
		go c.drain()
	}
}

// ctlQueued reports whether control frames wait for the writer.
func (c *conn) ctlQueued() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queued
}

func (c *conn) subscription() *live.Sub {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sub
}

// request asks the writer to send r's control frames; it never writes.
// Only the latest pong is kept (RFC 6455 allows answering the latest
// ping only), so a client that pings in a flood queues one pong.
func (c *conn) request(r ctl) {
	c.mu.Lock()
	if r.hasPong {
		c.pending.pong, c.pending.hasPong = r.pong, true
	}
	if r.ping {
		c.pending.ping = true
	}
	if r.close != nil && c.pending.close == nil {
		c.pending.close = r.close
	}
	push := !c.queued && !c.gone
	if push {
		c.queued = true
	}
	sub := c.sub
	c.mu.Unlock()
	if push {
		sub.Push(ctlGroup) // false: cut off already; the owner closes anyway
	}
}

// takeCtl returns the pending control requests and clears them.
func (c *conn) takeCtl() ctl {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pending
	c.pending, c.queued = ctl{}, false
	return p
}

func (c *conn) closeRequested() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending.close != nil || c.gone
}

// deadline is the deadline gorilla is given for a control frame: the
// connection's buffer sets its own on the real write.
func (c *conn) deadline() time.Time { return time.Now().Add(c.e.opt.WriteTimeout) }

// drain is the writer: it writes what is queued, flushes once per drained
// batch, and gives the subscriber back when the queue is empty. It ends
// there, on a close, or on a write error.
func (c *conn) drain() {
	var arr [8]*live.Group
	sub := c.subscription()
	for {
		if c.closeRequested() {
			c.handleCtl(c.takeCtl())
			return
		}
		groups, over := sub.Take(arr[:0])
		if over {
			c.writeClose(closeReq{code: websocket.CloseTryAgainLater, reason: "send queue full: too slow", resume: true})
			return
		}
		if len(groups) == 0 {
			if err := c.bc.flush(); err != nil {
				c.shutdown()
				return
			}
			if sub.Release() {
				return
			}
			continue // something arrived while flushing
		}
		for _, g := range groups {
			if !c.writeGroup(g) {
				return
			}
		}
		if err := c.endBatch(); err != nil { // one message per batch taken
			c.fail()
			return
		}
		clear(groups)
	}
}

// writeGroup writes one queued group; false ends the writer.
func (c *conn) writeGroup(g *live.Group) bool {
	if g == ctlGroup {
		if err := c.endBatch(); err != nil {
			c.fail()
			return false
		}
		return c.handleCtl(c.takeCtl())
	}
	for _, m := range g.Msgs {
		if m.Type == live.TypeEvent {
			if m.ID <= c.last {
				continue // sent by the replay already
			}
			c.last = m.ID
		}
		if c.batch {
			if err := c.addToBatch(m.JSON); err != nil {
				c.fail()
				return false
			}
			continue
		}
		pm, err := m.Prepared()
		if err != nil {
			c.e.log.Warn("websocket frame not prepared", "type", m.Type, "err", err)
			continue
		}
		if err := c.ws.WritePreparedMessage(pm); err != nil {
			c.fail()
			return false
		}
	}
	return true
}

// The punctuation of a batch message: a JSON array of frames.
var batchOpen, batchSep, batchClose = []byte("["), []byte(","), []byte("]")

// addToBatch writes frame into the batch message, opening it with "["
// for the first frame of a batch.
func (c *conn) addToBatch(frame []byte) error {
	sep := batchSep
	if c.out == nil {
		w, err := c.ws.NextWriter(websocket.TextMessage)
		if err != nil {
			return err
		}
		c.out, sep = w, batchOpen
	}
	if _, err := c.out.Write(sep); err != nil {
		return err
	}
	_, err := c.out.Write(frame)
	return err
}

// endBatch closes the batch message with "]", when one is open.
func (c *conn) endBatch() error {
	w := c.out
	if w == nil {
		return nil
	}
	c.out = nil
	if _, err := w.Write(batchClose); err != nil {
		return err
	}
	return w.Close()
}

// writeFrame writes one frame of the replay: into the batch message, or
// as a message of its own.
func (c *conn) writeFrame(frame []byte) error {
	if c.batch {
		return c.addToBatch(frame)
	}
	return c.ws.WriteMessage(websocket.TextMessage, frame)
}

// handleCtl writes the requested control frames; false ends the writer
// (a close was written, or a write failed).
func (c *conn) handleCtl(p ctl) bool {
	if p.close != nil {
		c.writeClose(*p.close)
		return false
	}
	if c.isGone() {
		c.fail()
		return false
	}
	if p.hasPong {
		if err := c.ws.WriteControl(websocket.PongMessage, p.pong, c.deadline()); err != nil {
			c.fail()
			return false
		}
	}
	if p.ping {
		if err := c.ws.WriteControl(websocket.PingMessage, nil, c.deadline()); err != nil {
			c.fail()
			return false
		}
	}
	return true
}

func (c *conn) isGone() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gone
}

// fail ends the connection after a write error.
func (c *conn) fail() {
	c.bc.discard()
	c.shutdown()
}

// writeClose writes a close frame after what is buffered, and keeps the
// subscriber (nothing is written after a close); the reader then ends on
// the client's reply or after CloseWait.
func (c *conn) writeClose(r closeReq) {
	if c.closing {
		return
	}
	c.closing = true
	c.e.hub.Unsubscribe(c.subscription())
	if err := c.endBatch(); err != nil {
		close(c.closeSent)
		c.fail()
		return
	}
	reason := r.reason
	if r.resume {
		reason = resumeReason(reason, c.last)
	}
	if len(reason) > 123 { // a control frame's payload is at most 125 bytes
		reason = reason[:123]
	}
	err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(r.code, reason), c.deadline())
	if err == nil {
		err = c.bc.flush()
	}
	close(c.closeSent)
	if err != nil {
		c.fail()
		return
	}
	if c.fd >= 0 {
		// Polled: hang up now when the client closed first, else on its
		// reply (readFrames) or after CloseWait. A client that broke the
		// protocol may still be sending: hanging up on unread bytes would
		// reset the connection and could lose the close frame on its way.
		if c.closedByPeer() {
			c.shutdown()
		} else {
			time.AfterFunc(c.e.opt.CloseWait, c.shutdown)
		}
		return
	}
	_ = c.bc.Conn.SetReadDeadline(time.Now().Add(c.e.opt.CloseWait))
}

// shutdown ends the connection once: leave the hub, close the socket (the
// reader then returns), leave the engine.
func (c *conn) shutdown() {
	c.shutOnce.Do(func() {
		c.mu.Lock()
		c.gone = true
		sub := c.sub
		c.mu.Unlock()
		c.e.hub.Unsubscribe(sub)
		if c.fd >= 0 {
			getPoller().remove(c) // before the descriptor can be reused
		}
		c.ws.Close()
		c.e.remove(c)
	})
}

// read consumes what the client sends, so that pongs and close frames are
// seen. Its handlers only queue requests for the writer. It is split in
// small functions so that the frames under the blocked read stay within
// a goroutine's first 2 KiB stack: an idle connection is mostly this.
func (c *conn) read() {
	c.readSetup()
	for {
		if _, _, err := c.ws.NextReader(); err != nil {
			break
		}
	}
	c.readEnd()
	c.shutdown()
}

//go:noinline
func (c *conn) readSetup() {
	ws := c.ws
	ws.SetReadLimit(readLimit)
	c.extendRead()
	ws.SetPongHandler(c.onPong)
	ws.SetPingHandler(c.onPing)
	ws.SetCloseHandler(c.onClose)
}

func (c *conn) extendRead() {
	select {
	case <-c.closeSent: // closing: CloseWait stands
	default:
		_ = c.ws.SetReadDeadline(time.Now().Add(c.e.opt.PongWait))
	}
}

func (c *conn) onPong(string) error { c.extendRead(); return nil }

func (c *conn) onPing(data string) error {
	c.extendRead()
	c.request(ctl{pong: []byte(data), hasPong: true})
	return nil
}

func (c *conn) onClose(code int, _ string) error {
	c.markPeerClosed()
	c.request(ctl{close: &closeReq{code: code}}) // echo the code (none for 1005)
	return nil
}

func (c *conn) markPeerClosed() {
	c.mu.Lock()
	c.peerClosed = true
	c.mu.Unlock()
}

// readClosed reports whether reading is over: the client sent its close
// (or broke the protocol).
func (c *conn) readClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peerClosed
}

// closedByPeer reports whether the client ended with a close frame of
// its own (not a protocol error).
func (c *conn) closedByPeer() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peerClosed && !c.brokeProtocol
}

// readStopped ends a polled connection's reading: it hangs up once its
// close frame is out (at once if it is and the client closed), after
// CloseWait at the latest.
func (c *conn) readStopped() {
	select {
	case <-c.closeSent:
		if c.closedByPeer() {
			c.shutdown()
			return
		}
	default:
	}
	time.AfterFunc(c.e.opt.CloseWait, c.shutdown)
}

// readEnd lets the writer answer the client's close before hanging up.
//
//go:noinline
func (c *conn) readEnd() {
	c.mu.Lock()
	peer := c.peerClosed
	c.mu.Unlock()
	if !peer {
		return
	}
	t := time.NewTimer(c.e.opt.CloseWait)
	defer t.Stop()
	select {
	case <-c.closeSent:
	case <-t.C:
	}
}

// catchUp replays the stored events after c.last, then leaves the live
// frames queued meanwhile for drain (which skips those at or below
// c.last). The subscription was made before the first query, so nothing
// falls between the two. When the live queue overflows during a long
// replay, it subscribes again and goes on from where it got to: the
// database has everything. false: the connection is closing.
func (c *conn) catchUp(f live.Filter, h History) bool {
	ctx, cancel := context.WithTimeout(context.Background(), replayTimeout)
	defer cancel()
	through, err := h.PrunedThrough(ctx)
	if err != nil {
		c.replayFailed(err)
		return false
	}
	if c.last < through {
		m, err := live.Encode(live.Frame{Type: live.TypeResync, Data: map[string]any{
			"reason":         "events after after_id were pruned; reload the state and continue from oldest_id",
			"after_id":       c.last,
			"pruned_through": through,
			"oldest_id":      through + 1,
		}})
		if err != nil {
			c.replayFailed(err)
			return false
		}
		if err := c.writeFrame(m.JSON); err != nil {
			c.fail()
			return false
		}
		c.last = through
	}
	for range maxReplayRestarts {
		done, ok := c.replay(ctx, h)
		if !ok {
			return false
		}
		if done {
			return true
		}
		sub := c.e.hub.Subscribe(f, c.e.opt.Queue, c, true)
		c.mu.Lock()
		old := c.sub
		c.sub = sub
		if c.queued { // the pending requests' wake-up went to the old queue
			sub.Push(ctlGroup)
		}
		c.mu.Unlock()
		c.e.hub.Unsubscribe(old)
	}
	c.writeClose(closeReq{code: websocket.CloseTryAgainLater, reason: "events arrive faster than the replay", resume: true})
	return false
}

// replay writes stored events after c.last a page at a time, each page
// flushed under its own write deadline. It ends when a page comes back
// short (done: it reached the newest), when the live queue overflowed
// (not done: start over), or when the connection closes (not ok).
func (c *conn) replay(ctx context.Context, h History) (done, ok bool) {
	page := c.e.opt.ReplayPage
	sub := c.subscription()
	for {
		msgs, err := h.After(ctx, c.last, page)
		if err != nil {
			c.replayFailed(err)
			return false, false
		}
		for _, m := range msgs {
			if err := c.writeFrame(m.JSON); err != nil {
				c.fail()
				return false, false
			}
			c.last = m.ID
		}
		if err := c.endBatch(); err != nil {
			c.fail()
			return false, false
		}
		if err := c.bc.flush(); err != nil {
			c.fail()
			return false, false
		}
		if !c.handleCtl(c.takeCtl()) { // pongs on time, a close at once
			return false, false
		}
		switch {
		case sub.Overflowed():
			return false, true
		case len(msgs) < page:
			return true, true
		}
	}
}

func (c *conn) replayFailed(err error) {
	if e, ok := mailnet.AsError(err); ok {
		c.writeClose(closeReq{code: websocket.CloseTryAgainLater, reason: e.Message})
		return
	}
	c.e.log.Warn("websocket replay failed", "err", err)
	c.writeClose(closeReq{code: websocket.CloseInternalServerErr, reason: "replay failed", resume: true})
}

// hijackWriter hands gorilla's upgrader the connection wrapped in a
// bufConn; the middleware's writer stays in front for refusals.
type hijackWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	wrap    func(*bufConn)
	timeout time.Duration
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := w.rc.Hijack()
	if err != nil {
		return nil, nil, err
	}
	bc := &bufConn{Conn: nc, timeout: w.timeout}
	w.wrap(bc)
	return bc, brw, nil
}

// flushAt is the most a writer buffers before it writes.
const flushAt = 16 << 10

var writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, flushAt); return &b }}

// bufConn collects what gorilla writes (whole frames: it writes each
// frame in one or two calls) in a pooled buffer that the writer flushes
// once per drained batch, so frames queued together leave in one system
// call. Every real write carries the write deadline and clears it after;
// gorilla's own SetWriteDeadline calls are ignored. Only the connection's
// one writer calls Write, flush and discard; an idle connection holds no
// buffer.
type bufConn struct {
	net.Conn
	timeout time.Duration
	buf     *[]byte
}

func (b *bufConn) Write(p []byte) (int, error) {
	if b.buf != nil && len(*b.buf)+len(p) > flushAt {
		if err := b.flush(); err != nil {
			return 0, err
		}
	}
	if len(p) >= flushAt {
		return b.write(p)
	}
	if b.buf == nil {
		b.buf = writeBufs.Get().(*[]byte)
	}
	*b.buf = append(*b.buf, p...)
	return len(p), nil
}

// SetWriteDeadline is ignored: write sets one for every real write.
func (b *bufConn) SetWriteDeadline(time.Time) error { return nil }

func (b *bufConn) write(p []byte) (int, error) {
	_ = b.Conn.SetWriteDeadline(time.Now().Add(b.timeout))
	n, err := b.Conn.Write(p)
	_ = b.Conn.SetWriteDeadline(time.Time{})
	return n, err
}

// flush writes what is buffered and returns the buffer to the pool.
func (b *bufConn) flush() error {
	p := b.buf
	if p == nil {
		return nil
	}
	b.buf = nil
	var err error
	if len(*p) > 0 {
		_, err = b.write(*p)
	}
	*p = (*p)[:0]
	writeBufs.Put(p)
	return err
}

// discard drops what is buffered (the connection failed).
func (b *bufConn) discard() {
	if b.buf != nil {
		*b.buf = (*b.buf)[:0]
		writeBufs.Put(b.buf)
		b.buf = nil
	}
}
