package web

import (
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"mailnet/internal/mailnet"
)

// Defaults of the request-body bounds (Config.BodyTimeout, Config.MaxBodies).
const (
	DefaultBodyTimeout = 30 * time.Second
	DefaultMaxBodies   = 64
)

// bodyLimiter bounds how long a request body may take to arrive and how
// many bodies arrive at once. Without it a client that trickles one byte
// every few seconds holds a connection, a goroutine and (for ingest) a
// byte reservation for as long as it likes, and enough of them hold the
// console.
type bodyLimiter struct {
	timeout time.Duration
	slots   chan struct{}
	active  atomic.Int64
}

func newBodyLimiter(timeout time.Duration, max int) *bodyLimiter {
	if timeout <= 0 {
		timeout = DefaultBodyTimeout
	}
	if max <= 0 {
		max = DefaultMaxBodies
	}
	return &bodyLimiter{timeout: timeout, slots: make(chan struct{}, max)}
}

// BodiesInProgress is how many request bodies are being received now.
func (s *Server) BodiesInProgress() int { return int(s.bodies.active.Load()) }

// limitBodies gives every request that carries a body a slot (429 with
// Retry-After when all are taken) and a read deadline for the whole body
// (http.ResponseController); a body not in by then fails to read, and the
// handler answers 400. The slot is freed, and the deadline cleared, when
// the body has been read to its end or the handler returns. The websocket
// upgrade is left alone: its connection outlives the request.
func (s *Server) limitBodies(next http.Handler) http.Handler {
	l := s.bodies
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws" || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case l.slots <- struct{}{}:
		default:
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Connection", "close")
			s.error(w, r, mailnet.Errorf(mailnet.KindTooMany, "", "the console is receiving as many request bodies as it takes; retry after a second"))
			return
		}
		l.active.Add(1)
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(l.timeout))
		b := &limitedBody{ReadCloser: r.Body}
		b.release = func() { l.active.Add(-1); <-l.slots }
		b.clear = func() { _ = rc.SetReadDeadline(time.Time{}) }
		r.Body = b
		defer b.done(false)
		next.ServeHTTP(w, r)
	})
}

// limitedBody frees its slot at the end of the body (and then clears the
// read deadline, so that a handler that works on after reading is not cut
// off) or when the handler returns (leaving the deadline: net/http then
// drains what is left of the body, which must not wait on a slow client).
type limitedBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
	clear   func()
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.done(true)
	}
	return n, err
}

func (b *limitedBody) done(atEOF bool) {
	b.once.Do(func() {
		if atEOF {
			b.clear()
		}
		b.release()
	})
}
