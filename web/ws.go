package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
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
// control frame, so an idle connection holds none.
var wsWriteBuffers = &sync.Pool{}

// serveWS upgrades to a websocket that streams live frames. With after_id
// it first replays the stored events after that id, then joins the live
// stream with no gap and no duplicate; a resync frame comes first when
// events after after_id were pruned.
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
	c := &wsClient{
		s: s, conn: conn, nc: conn.NetConn(), hub: s.cfg.Hub, opt: s.cfg.WS.withDefaults(),
		f: f, last: f.q.AfterID, readDone: make(chan struct{}),
	}
	// The handler returns so net/http drops its buffers and goroutine for
	// this connection; two small goroutines carry it from here.
	go c.read()
	go c.write()
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

type wsClient struct {
	s        *Server
	conn     *websocket.Conn
	nc       net.Conn
	hub      *live.Hub
	opt      WSOptions
	f        eventFilter
	last     int64 // the highest event id sent (or the client's after_id)
	readDone chan struct{}
	bufs     net.Buffers
}

// read consumes what the client sends so pongs and close frames are seen.
func (c *wsClient) read() {
	defer close(c.readDone)
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

// flush writes the queued frames in one system call, under the write
// deadline.
func (c *wsClient) flush() error {
	if len(c.bufs) == 0 {
		return nil
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.opt.WriteTimeout))
	b := c.bufs
	_, err := b.WriteTo(c.nc)
	clear(c.bufs)
	c.bufs = c.bufs[:0]
	return err
}

func (c *wsClient) closeWith(code int, reason string) {
	_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason),
		time.Now().Add(c.opt.WriteTimeout))
}

func (c *wsClient) write() {
	defer c.conn.Close()
	sub, err := c.catchUp()
	if err != nil {
		if e, ok := mailnet.AsError(err); ok {
			c.closeWith(websocket.CloseTryAgainLater, e.Message)
		} else {
			c.s.log.Warn("websocket replay failed", "err", err)
			c.closeWith(websocket.CloseInternalServerErr, "replay failed; reconnect")
		}
		return
	}
	defer c.hub.Unsubscribe(sub)
	ping := time.NewTicker(c.opt.PingInterval)
	defer ping.Stop()
	for {
		select {
		case g := <-sub.C:
			if err := c.addGroup(g); err != nil {
				return
			}
		drain:
			for len(c.bufs) < maxBatch {
				select {
				case g := <-sub.C:
					if err := c.addGroup(g); err != nil {
						return
					}
				default:
					break drain
				}
			}
			if err := c.flush(); err != nil {
				return
			}
		case <-sub.Overflow:
			c.closeWith(websocket.CloseTryAgainLater,
				fmt.Sprintf("send queue full: too slow; reconnect with after_id=%d", c.last))
			return
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.opt.WriteTimeout)); err != nil {
				return
			}
		case <-c.readDone:
			return
		case <-c.hub.Done():
			c.closeWith(websocket.CloseGoingAway, fmt.Sprintf("console shutting down; reconnect with after_id=%d", c.last))
			return
		}
	}
}

// addGroup queues a publication's frames, writing whenever maxBatch
// frames are waiting.
func (c *wsClient) addGroup(g *live.Group) error {
	for _, m := range g.Msgs {
		c.add(m)
		if len(c.bufs) >= maxBatch {
			if err := c.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// add queues m unless it is an event the client already has.
func (c *wsClient) add(m *live.Msg) {
	if m.Type == live.TypeEvent {
		if m.ID <= c.last {
			return
		}
		c.last = m.ID
	}
	c.bufs = append(c.bufs, m.Wire)
}

// catchUp subscribes to the live stream first (it buffers), replays the
// stored events after the client's id page by page, and returns the
// subscription; live frames at or below the last replayed id are skipped
// later by add. When the queue overflows during a long replay, it starts
// over from where the replay got to: the database has everything.
func (c *wsClient) catchUp() (*live.Sub, error) {
	filter := c.f.liveFilter()
	if !c.f.hasID || !filter.Events() {
		return c.hub.Subscribe(filter, c.opt.Queue), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	through, err := c.s.store.EventsPrunedThrough(ctx)
	if err != nil {
		return nil, err
	}
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
		c.bufs = append(c.bufs, m.Wire)
		if err := c.flush(); err != nil {
			return nil, err
		}
		c.last = through
	}
	for range 16 {
		sub := c.hub.Subscribe(filter, c.opt.Queue)
		if err := c.replay(ctx, sub); err != nil {
			c.hub.Unsubscribe(sub)
			return nil, err
		}
		if !sub.Overflowed() {
			return sub, nil
		}
		c.hub.Unsubscribe(sub)
	}
	return nil, mailnet.Errorf(mailnet.KindTooMany, "", "events arrive faster than the replay; reconnect with after_id=%d", c.last)
}

// replay sends stored events after c.last until it reaches the newest
// (or the live queue overflowed, which restarts it).
func (c *wsClient) replay(ctx context.Context, sub *live.Sub) error {
	q := c.f.q
	q.Limit = c.opt.ReplayPage
	for range 1_000_000 {
		q.AfterID = c.last
		evs, err := c.s.store.Events(ctx, q)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			m, err := live.Encode(live.EventFrame(ev, 0))
			if err != nil {
				return err
			}
			c.bufs = append(c.bufs, m.Wire)
			c.last = ev.ID
			if len(c.bufs) >= maxBatch {
				if err := c.flush(); err != nil {
					return err
				}
			}
		}
		if err := c.flush(); err != nil {
			return err
		}
		if len(evs) < q.Limit || sub.Overflowed() {
			return nil
		}
		select {
		case <-c.readDone:
			return fmt.Errorf("client left during replay")
		default:
		}
	}
	return nil
}
