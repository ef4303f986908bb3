package web

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"mailnet/internal/auth"
	"mailnet/internal/live"
	"mailnet/internal/live/ws"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// WSOptions tune the websocket stream; zero values take the defaults.
type WSOptions struct {
	Queue         int           // publications (an ingest commit's events share one) queued per client before it is cut off; default 64
	WriteTimeout  time.Duration // deadline of every write; default 10s
	PingInterval  time.Duration // default 25s
	PongWait      time.Duration // a client silent this long is dropped; default 60s
	ReplayPage    int           // events per replay query; default 500
	CheckEvery    time.Duration // how often each socket's credential is checked again; default 2s
	PerCredential int           // sockets one token or session may hold open; default 20
	// GoroutineReader gives every socket a reader goroutine instead of
	// the engine's shared poller (see internal/live/ws).
	GoroutineReader bool
}

func (o WSOptions) engine() ws.Options {
	return ws.Options{Queue: o.Queue, WriteTimeout: o.WriteTimeout, PingInterval: o.PingInterval, PongWait: o.PongWait,
		ReplayPage: o.ReplayPage, CheckEvery: o.CheckEvery, PerCred: o.PerCredential, GoroutineReader: o.GoroutineReader}
}

// Close reasons the pages show (web/static/noc.js, events.js).
const (
	wsSessionEnded = "session ended"
	wsTokenRevoked = "token revoked"
)

// wsPump is the server's websocket engine (internal/live/ws), started
// with the first websocket connection.
type wsPump struct {
	once sync.Once
	e    *ws.Engine
}

func (s *Server) wsEngine() *ws.Engine {
	s.ws.once.Do(func() { s.ws.e = ws.New(s.cfg.Hub, s.cfg.WS.engine(), s.log) })
	return s.ws.e
}

// wsWriteBuffers lends gorilla a write buffer only while it writes a
// replayed frame, so a connection holds none.
var wsWriteBuffers = &sync.Pool{}

// serveWS upgrades to a websocket that streams live frames. With
// batch=1 each message is a JSON array of the frames written together
// (the pages ask for it: one task per batch in the browser, not one per
// event); without it, each message is one frame. With after_id
// it first replays the stored events after that id, then joins the live
// stream with no gap and no duplicate; a resync frame comes first when
// events after after_id were pruned. The socket ends with its
// credential: see wsCredential.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	f, err := s.parseEventFilter(r, r.URL.Query())
	if err != nil {
		s.error(w, r, err)
		return
	}
	var batch bool
	switch b := r.URL.Query().Get("batch"); b {
	case "", "0", "false":
	case "1", "true":
		batch = true
	default:
		s.error(w, r, mailnet.Invalid("batch", "batch must be 1 (each message a JSON array of frames) or 0, not %q", b))
		return
	}
	cred, check := s.wsCredential(r)
	up := &websocket.Upgrader{
		ReadBufferSize:  128, // gorilla's reader runs only without the poller (control frames fit)
		WriteBufferSize: 1024,
		WriteBufferPool: wsWriteBuffers,
		CheckOrigin:     s.originAllowed,
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			if status == http.StatusForbidden {
				s.log.WarnContext(r.Context(), "websocket origin refused", "origin", r.Header.Get("Origin"))
			}
			writeJSON(w, status, errorBody{Error: reason.Error()})
		},
	}
	err = s.wsEngine().Serve(w, r, up, ws.Stream{
		Cred:    cred,
		Check:   check,
		Filter:  f.liveFilter(),
		Resume:  f.hasID,
		AfterID: f.q.AfterID,
		History: wsHistory{s: s, q: f.q},
		Batch:   batch,
	})
	if e, ok := mailnet.AsError(err); ok { // over the per-credential cap: 429, as JSON for any client
		writeJSON(w, statusOf(e.Kind), errorBody{Error: e.Message, Field: e.Field})
	} else if err != nil {
		s.error(w, r, err)
	}
}

// wsCredential names the credential a socket streams for and how to tell
// that it still holds: the bearer token (revoked: "token revoked"), or
// the session cookie's session (signed out, account disabled, NOC device
// revoked, expired: "session ended"). An open stream counts as use of a
// browser session, so a watched page is not signed out by the idle
// timeout; its absolute end still ends the stream.
func (s *Server) wsCredential(r *http.Request) (ws.Cred, func(context.Context) error) {
	if h := r.Header.Get("Authorization"); h != "" {
		secret, err := auth.ParseBearer(h)
		p := mailnet.PrincipalFrom(r.Context())
		if err == nil && p != nil && p.TokenID != 0 && !p.Session {
			return ws.Cred{TokenID: p.TokenID}, func(ctx context.Context) error {
				_, err := s.store.TokenByHash(ctx, auth.HashSecret(secret))
				if errors.Is(err, mailnet.ErrNotFound) {
					return &ws.Ended{Reason: wsTokenRevoked}
				}
				return err
			}
		}
	}
	sess, _ := r.Context().Value(sessionKey{}).(*mailnet.Session)
	secret := s.sessionSecret(r)
	if sess == nil || secret == "" {
		return ws.Cred{}, nil // the route's role check lets nobody else through
	}
	cred := ws.Cred{AccountID: sess.AccountID, TokenID: sess.TokenID, Session: hex.EncodeToString(sess.Hash)}
	return cred, func(ctx context.Context) error {
		// The same check as every request's: expired or ended sessions
		// are not found, and a live one is touched at most once a minute.
		_, err := s.actions.Session(ctx, secret)
		if errors.Is(err, mailnet.ErrNotFound) {
			return &ws.Ended{Reason: wsSessionEnded}
		}
		return err
	}
}

// closeStreams ends at once the sockets of every credential m names (see
// ws.Engine.CloseCredential); the periodic check would within
// WSOptions.CheckEvery, and catches what other processes (the CLI) end.
func (s *Server) closeStreams(m ws.Cred, reason string) {
	s.wsEngine().CloseCredential(m, ws.CodeCredentialEnded, reason)
}

// closeSessionStreams ends at once the sockets of the session with
// that cookie secret.
func (s *Server) closeSessionStreams(secret string) {
	s.closeStreams(ws.Cred{Session: hex.EncodeToString(auth.HashSecret(secret))}, wsSessionEnded)
}

// wsHistory is the stored events a resuming socket replays.
type wsHistory struct {
	s *Server
	q store.EventQuery
}

func (h wsHistory) PrunedThrough(ctx context.Context) (int64, error) {
	return h.s.store.EventsPrunedThrough(ctx)
}

func (h wsHistory) After(ctx context.Context, id int64, limit int) ([]*live.Msg, error) {
	q := h.q
	q.AfterID, q.Limit = id, limit
	evs, err := h.s.store.Events(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]*live.Msg, 0, len(evs))
	for _, ev := range evs {
		m, err := live.Encode(live.EventFrame(ev, 0))
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
