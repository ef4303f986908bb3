// Package ws streams the hub's frames to websocket clients.
//
// The rules it keeps, each for a failure seen in this console:
//
//   - One writer per connection, ever. Whoever owns the connection's
//     live.Sub (see its ownership rule) is the only one that writes: the
//     handler during a replay, then a goroutine started when the hub wakes
//     an idle connection, which returns once the queue is empty. Pongs,
//     pings and close frames are requests queued for that owner; the
//     reader goroutine never writes (gorilla's default ping and close
//     handlers do, which corrupted frames under backlog).
//   - A deadline on every write, cleared after it: the connection's
//     writes go through a buffer that the owner flushes once per drained
//     batch, each flush under its own deadline. A deadline set for a long
//     replay and never cleared killed every resumed socket 10 s later.
//   - Credentials end their streams: every socket carries its credential,
//     which is checked again every Options.CheckEvery; CloseCredential
//     ends a credential's sockets at once.
//   - A full queue cuts the client off with a close frame saying why
//     (it resumes from its last event id), never a silent gap.
//
// An idle connection holds no goroutine and no write buffer: on Linux one
// epoll instance, parked in the runtime's network poller, waits for every
// socket to have something to read, and the client's few frames (pings,
// pongs, a close) are parsed as they come (read.go). Elsewhere, or with
// Options.GoroutineReader, each socket has a reader goroutine (gorilla's
// reader, whose handlers only queue requests for the writer).
package ws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"mailnet/internal/live"
	"mailnet/internal/mailnet"
)

// Options tune the streams; zero values take the defaults.
type Options struct {
	Queue        int           // publications queued per client before it is cut off; default 64
	WriteTimeout time.Duration // deadline of every write; default 10s
	PingInterval time.Duration // default 25s
	PongWait     time.Duration // a client silent this long is dropped; default 60s
	CloseWait    time.Duration // how long a closing socket waits for the client's close reply; default 2s
	ReplayPage   int           // events per replay query; default 500
	CheckEvery   time.Duration // how often each credential is checked again; default 2s
	PerCred      int           // sockets per credential; default 20
	// Coalesce is how long a writer woken by a publication waits for
	// more before it writes, so that a burst leaves in one write (one
	// syscall) instead of one per publication: the socket writes were
	// half the server's CPU in the fan-out run. Control frames (pongs,
	// closes) never wait. Default 30ms; negative: write at once.
	Coalesce time.Duration
	// GoroutineReader reads every socket with a goroutine of its own
	// (gorilla's reader) instead of the shared poller, as on systems
	// without epoll; the load tool compares the two.
	GoroutineReader bool
}

// WithDefaults fills in the zero values.
func (o Options) WithDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.WriteTimeout, 10*time.Second)
	def(&o.PingInterval, 25*time.Second)
	def(&o.PongWait, 60*time.Second)
	def(&o.CloseWait, 2*time.Second)
	def(&o.CheckEvery, 2*time.Second)
	if o.Coalesce == 0 {
		o.Coalesce = 30 * time.Millisecond
	}
	if o.Queue <= 0 {
		o.Queue = 64
	}
	if o.ReplayPage <= 0 {
		o.ReplayPage = 500
	}
	if o.PerCred <= 0 {
		o.PerCred = 20
	}
	return o
}

// Close codes the streams use besides RFC 6455's.
const (
	// CodeCredentialEnded: the token was revoked, the session ended or
	// the account was disabled; reconnecting with it will be refused.
	CodeCredentialEnded = 4001
)

// Cred is who a socket streams for. For a bearer token only TokenID is
// set; a browser session has Session and AccountID, a NOC device session
// Session and TokenID (the viewer token it came from).
type Cred struct {
	TokenID   int64
	AccountID int64
	Session   string // the session's id (not its secret)
}

// covers reports whether m names c: every field set in m matches. The
// zero Cred names nothing.
func (c Cred) covers(m Cred) bool {
	if m == (Cred{}) {
		return false
	}
	return (m.TokenID == 0 || m.TokenID == c.TokenID) &&
		(m.AccountID == 0 || m.AccountID == c.AccountID) &&
		(m.Session == "" || m.Session == c.Session)
}

// Ended is what a credential check returns when the credential no longer
// holds; its sockets close with CodeCredentialEnded and the reason.
type Ended struct{ Reason string }

func (e *Ended) Error() string { return e.Reason }

// History is where a resuming client's missed events come from.
type History interface {
	// PrunedThrough is the highest event id deleted by retention.
	PrunedThrough(ctx context.Context) (int64, error)
	// After returns up to limit stored events after id, ascending, that
	// the client's filter lets through.
	After(ctx context.Context, id int64, limit int) ([]*live.Msg, error)
}

// Stream is what one socket asks for.
type Stream struct {
	Cred Cred
	// Check tells whether the credential still holds: an *Ended ends the
	// credential's sockets; any other error is logged and the socket
	// kept (a busy database must not drop every screen). nil: never
	// checked again.
	Check  func(ctx context.Context) error
	Filter live.Filter
	// Resume replays the stored events after AfterID from History, then
	// joins the live stream with no gap and no duplicate.
	Resume  bool
	AfterID int64
	History History
	// Batch sends each drained batch (and each replayed page) as one
	// message, a JSON array of the frames in order, instead of one
	// message per frame: a browser then runs one task per batch rather
	// than one per event (the Events page at thousands of events/s).
	Batch bool
}

// Stats are the engine's counters.
type Stats struct {
	Conns int // open sockets
	Creds int // distinct credentials among them
}

// Engine owns every websocket connection of a console.
type Engine struct {
	hub *live.Hub
	opt Options
	log *slog.Logger

	mu     sync.Mutex
	creds  map[Cred]*credSet
	closed bool // the hub closed: new sockets are told goodbye
}

// credSet is one credential's sockets; n counts them and the upgrades in
// flight, so the cap holds across concurrent dials.
type credSet struct {
	n     int
	conns map[*conn]struct{}
	check func(context.Context) error
}

// New starts an engine that streams hub's frames; its goroutine (pings
// and credential checks) ends when the hub closes, after telling every
// client goodbye.
func New(hub *live.Hub, opt Options, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{hub: hub, opt: opt.WithDefaults(), log: log, creds: map[Cred]*credSet{}}
	go e.run()
	return e
}

// Options returns the engine's options, defaults filled in.
func (e *Engine) Options() Options { return e.opt }

// Serve upgrades r to a websocket that streams what st asks for. Before
// the upgrade it refuses, with a mailnet.Error and nothing written, a
// credential that has PerCred sockets open already (KindTooMany); the
// caller answers that. Every later failure is the upgrader's answer or a
// close frame, and Serve returns nil. It returns once a replay, if any,
// is written; the stream lives on without the caller.
func (e *Engine) Serve(w http.ResponseWriter, r *http.Request, up *websocket.Upgrader, st Stream) error {
	if err := e.reserve(st.Cred, st.Check); err != nil {
		return err
	}
	var bc *bufConn
	hw := &hijackWriter{ResponseWriter: w, rc: http.NewResponseController(w), wrap: func(c *bufConn) { bc = c }, timeout: e.opt.WriteTimeout}
	wsc, err := up.Upgrade(hw, r, nil)
	if err != nil || bc == nil {
		e.unreserve(st.Cred)
		if wsc != nil {
			wsc.Close()
		}
		return nil // the upgrader answered
	}
	if err := bc.flush(); err != nil { // the handshake's 101
		wsc.Close()
		e.unreserve(st.Cred)
		return nil
	}
	c := &conn{e: e, ws: wsc, bc: bc, cred: st.Cred, last: st.AfterID, closeSent: make(chan struct{}), fd: -1, batch: st.Batch}
	c.lastRead.Store(time.Now().UnixNano())
	c.sub = e.hub.Subscribe(st.Filter, e.opt.Queue, c, true) // owned: this goroutine writes first
	polled := false
	if !e.opt.GoroutineReader {
		if p := getPoller(); p != nil {
			polled = p.add(c)
		}
	}
	if !e.add(c) {
		c.request(ctl{close: &closeReq{code: websocket.CloseGoingAway, reason: "console shutting down", resume: true}})
	}
	if !polled {
		go c.read()
	}
	if st.Resume && st.Filter.Events() && st.History != nil {
		if !c.catchUp(st.Filter, st.History) {
			return nil
		}
	}
	c.drain()
	return nil
}

func (e *Engine) reserve(cred Cred, check func(context.Context) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	cs := e.creds[cred]
	if cs == nil {
		cs = &credSet{conns: map[*conn]struct{}{}, check: check}
		e.creds[cred] = cs
	}
	if cs.n >= e.opt.PerCred {
		return mailnet.Errorf(mailnet.KindTooMany, "", "this credential already has %d live streams open, the most allowed; close one (another tab or screen) and try again", cs.n)
	}
	cs.n++
	return nil
}

func (e *Engine) unreserve(cred Cred) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if cs := e.creds[cred]; cs != nil {
		if cs.n--; cs.n <= 0 {
			delete(e.creds, cred)
		}
	}
}

// add makes c visible to pings, checks and CloseCredential; false when
// the hub already closed.
func (e *Engine) add(c *conn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.creds[c.cred].conns[c] = struct{}{}
	return !e.closed
}

// remove forgets c and releases its slot.
func (e *Engine) remove(c *conn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cs := e.creds[c.cred]
	if cs == nil {
		return
	}
	if _, ok := cs.conns[c]; !ok {
		return
	}
	delete(cs.conns, c)
	if cs.n--; cs.n <= 0 {
		delete(e.creds, c.cred)
	}
}

// conns returns the sockets whose credential match selects (nil: all).
func (e *Engine) conns(match func(Cred) bool) []*conn {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*conn
	for cred, cs := range e.creds {
		if match != nil && !match(cred) {
			continue
		}
		for c := range cs.conns {
			out = append(out, c)
		}
	}
	return out
}

// CloseCredential closes, with code and reason, every socket whose
// credential m names (each field set in m must match: Cred{TokenID: 7}
// ends token 7's sockets and its NOC device sessions', Cred{AccountID: 3}
// every session of account 3). It reports how many it closed.
func (e *Engine) CloseCredential(m Cred, code int, reason string) int {
	cs := e.conns(func(c Cred) bool { return c.covers(m) })
	for _, c := range cs {
		c.request(ctl{close: &closeReq{code: code, reason: reason}})
		// A client that does not read must not keep a revoked stream: the
		// close frame gets CloseWait to go out and be answered.
		time.AfterFunc(e.opt.CloseWait, c.shutdown)
	}
	return len(cs)
}

// OpenFor counts the open sockets whose credential m names (as
// CloseCredential would close them), and among their credentials the
// distinct sessions: a NOC screen or a browser tab each.
func (e *Engine) OpenFor(m Cred) (sockets, sessions int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for cred, cs := range e.creds {
		if !cred.covers(m) || cs.n == 0 {
			continue
		}
		sockets += cs.n // upgrades in flight too: a socket counts from its handshake
		if cred.Session != "" {
			sessions++
		}
	}
	return sockets, sessions
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Stats{Creds: len(e.creds)}
	for _, cs := range e.creds {
		s.Conns += len(cs.conns)
	}
	return s
}

// run pings every connection and checks every credential on their
// timers, until the hub closes; then it says goodbye to everyone.
func (e *Engine) run() {
	ping := time.NewTicker(e.opt.PingInterval)
	defer ping.Stop()
	check := time.NewTicker(e.opt.CheckEvery)
	defer check.Stop()
	// Polled sockets have no read deadline: those silent for PongWait
	// are dropped here, at most a quarter of it late.
	reap := time.NewTicker(max(e.opt.PongWait/4, time.Millisecond))
	defer reap.Stop()
	for {
		select {
		case <-e.hub.Done():
			e.mu.Lock()
			e.closed = true
			e.mu.Unlock()
			for _, c := range e.conns(nil) {
				c.request(ctl{close: &closeReq{code: websocket.CloseGoingAway, reason: "console shutting down", resume: true}})
			}
			return
		case <-ping.C:
			for _, c := range e.conns(nil) {
				c.request(ctl{ping: true})
			}
		case <-check.C:
			e.checkCreds()
		case now := <-reap.C:
			silent := now.Add(-e.opt.PongWait).UnixNano()
			for _, c := range e.conns(nil) {
				if c.fd >= 0 && c.lastRead.Load() < silent {
					c.shutdown()
				}
			}
		}
	}
}

// checkCreds asks once per distinct credential whether it still holds.
func (e *Engine) checkCreds() {
	type item struct {
		cred  Cred
		check func(context.Context) error
	}
	e.mu.Lock()
	items := make([]item, 0, len(e.creds))
	for cred, cs := range e.creds {
		if cs.check != nil && len(cs.conns) > 0 {
			items = append(items, item{cred, cs.check})
		}
	}
	e.mu.Unlock()
	for _, it := range items {
		ctx, cancel := context.WithTimeout(context.Background(), e.opt.CheckEvery)
		err := it.check(ctx)
		cancel()
		var ended *Ended
		switch {
		case err == nil:
		case errors.As(err, &ended):
			n := e.CloseCredential(it.cred, CodeCredentialEnded, ended.Reason)
			e.log.Info("live streams ended with their credential", "reason", ended.Reason, "sockets", n)
		default:
			e.log.Warn("live stream credential not checked; kept", "err", err)
		}
	}
}

// resumeReason is a close reason that tells the client where to resume.
func resumeReason(reason string, last int64) string {
	return fmt.Sprintf("%s; reconnect with after_id=%d", reason, last)
}
