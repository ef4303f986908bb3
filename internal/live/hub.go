package live

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"mailnet/internal/mailnet"
)

// Msg is one frame encoded once per broadcast: its JSON payload, the
// websocket message prepared from it (framed once, on first use, for
// every client), and what per-client filters look at. A Msg is shared by
// pointer and never copied.
type Msg struct {
	Type     string
	ID       int64
	Server   string
	EventID  int
	SiteID   int64
	Source   string
	Severity string
	JSON     []byte

	prepOnce sync.Once
	prep     *websocket.PreparedMessage
	prepErr  error
}

// Prepared returns m as a websocket text message, framed once however
// many connections write it.
func (m *Msg) Prepared() (*websocket.PreparedMessage, error) {
	m.prepOnce.Do(func() { m.prep, m.prepErr = websocket.NewPreparedMessage(websocket.TextMessage, m.JSON) })
	return m.prep, m.prepErr
}

// Encode marshals f.
func Encode(f Frame) (*Msg, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	m := &Msg{Type: f.Type, ID: f.ID, SiteID: f.Site, JSON: b}
	var ev *EventData
	switch d := f.Data.(type) {
	case EventData:
		ev = &d
	case *EventData:
		ev = d
	}
	if ev != nil {
		m.Server, m.EventID, m.Source, m.Severity = ev.Server, ev.EventID, ev.Source, ev.Severity
		if m.SiteID == 0 {
			m.SiteID = -1
		}
	}
	return m, nil
}

// EventData is an event as clients see it, on the stream and from the
// query API: every field present, fields an object, time RFC 3339 UTC.
type EventData struct {
	ID            int64             `json:"id"`
	Time          time.Time         `json:"time"`
	Server        string            `json:"server"`
	ServerID      int64             `json:"server_id,omitempty"`
	Source        string            `json:"source"`
	EventID       int               `json:"event_id"`
	Category      string            `json:"category"`
	Severity      string            `json:"severity"`
	Description   string            `json:"description"`
	Subject       string            `json:"subject"`
	Fields        map[string]string `json:"fields"`
	UnknownServer bool              `json:"unknown_server"`
}

// NewEventData converts a stored event.
func NewEventData(ev mailnet.Event) EventData {
	f := ev.Fields
	if f == nil {
		f = map[string]string{}
	}
	return EventData{ID: ev.ID, Time: ev.Time.UTC(), Server: ev.Server, ServerID: ev.ServerID, Source: ev.Source,
		EventID: ev.EventID, Category: ev.Category, Severity: ev.Severity, Description: ev.Description,
		Subject: ev.Subject, Fields: f, UnknownServer: ev.Unknown}
}

// EventFrame is the frame that carries a stored event; site is its
// server's site id (0: unknown).
func EventFrame(ev mailnet.Event, site int64) Frame {
	return Frame{Type: TypeEvent, ID: ev.ID, Data: NewEventData(ev), Site: site}
}

// Filter selects the frames a client wants. Empty lists select all; the
// server, event id and site lists apply to event frames only; a resync
// frame always passes.
type Filter struct {
	Types    []string
	Servers  []string // case-insensitive
	EventIDs []int
	SiteIDs  []int64
	Source   string
	Severity string
}

// Match reports whether the filter lets m through.
func (f *Filter) Match(m *Msg) bool {
	if m.Type == TypeResync {
		return true
	}
	if len(f.Types) > 0 && !contains(f.Types, m.Type) {
		return false
	}
	if m.Type != TypeEvent {
		return true
	}
	if len(f.Servers) > 0 {
		ok := false
		for _, s := range f.Servers {
			if strings.EqualFold(s, m.Server) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(f.EventIDs) > 0 && !contains(f.EventIDs, m.EventID) {
		return false
	}
	if len(f.SiteIDs) > 0 && !contains(f.SiteIDs, m.SiteID) {
		return false
	}
	if f.Source != "" && f.Source != m.Source {
		return false
	}
	if f.Severity != "" && f.Severity != m.Severity {
		return false
	}
	return true
}

// Events reports whether the filter lets event frames through at all.
func (f *Filter) Events() bool { return len(f.Types) == 0 || contains(f.Types, TypeEvent) }

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Sub is one subscriber: a bounded queue of frame groups (the frames of
// one publication, such as every event of one ingest commit, share a
// slot) and a Waker told when the queue needs its owner. It holds no
// goroutine: an idle subscriber costs a few words.
//
// Ownership: the hub calls Wake once when the queue becomes non-empty (or
// the subscriber is cut off) and not again until the owner, having taken
// everything, gives it back (Release, which succeeds only on an empty
// queue). So exactly one party at a time drains a subscriber.
type Sub struct {
	mu     sync.Mutex
	q      []*Group
	limit  int
	waking bool // Wake was called and the owner has not yet found the queue empty
	over   bool
	filter Filter
	all    bool // the filter lets everything through
	waker  Waker
}

// Waker is told that a subscriber has frames (or was cut off). It is
// called with the hub's lock held and must not block.
type Waker interface {
	Wake(s *Sub)
}

// Nudger is a Waker that may wait after Wake before it drains (to write
// a burst at once): Nudge tells it that the queue is half full, so it
// drains now, before the queue overflows. Same rules as Wake.
type Nudger interface {
	Nudge(s *Sub)
}

// Group is the frames of one publication that a subscriber gets.
type Group struct{ Msgs []*Msg }

// Overflowed reports whether the queue overflowed (frames were not
// delivered after that).
func (s *Sub) Overflowed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.over
}

// Take appends the queued groups to dst and empties the queue; the
// caller stays the owner. over reports a subscriber cut off because its
// queue was full; its owner disconnects it.
func (s *Sub) Take(dst []*Group) (groups []*Group, over bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.over {
		return dst, true
	}
	if len(s.q) == 0 {
		return dst, false
	}
	dst = append(dst, s.q...)
	clear(s.q)
	s.q = s.q[:0]
	if cap(s.q) > 8 {
		s.q = nil // a burst's queue is not kept by an idle connection
	}
	return dst, false
}

// Release gives up ownership when the queue is empty (and the
// subscriber was not cut off): the next publication wakes it again. It
// reports false, the caller still the owner, when something is queued.
func (s *Sub) Release() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.over || len(s.q) > 0 {
		return false
	}
	s.waking = false
	return true
}

// Push queues g for s alone, past its filter and its limit (control
// frames such as pings). It reports false when s was cut off.
func (s *Sub) Push(g *Group) bool {
	s.mu.Lock()
	if s.over {
		s.mu.Unlock()
		return false
	}
	s.q = append(s.q, g)
	wake := !s.waking
	s.waking = true
	s.mu.Unlock()
	if wake && s.waker != nil {
		s.waker.Wake(s)
	}
	return true
}

// offer queues g unless the queue is full; it reports whether s must be
// woken, whether its owner should be nudged (the queue just became half
// full while the owner had not taken it), and whether it overflowed now.
func (s *Sub) offer(g *Group) (wake, nudge, overflowed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.over {
		return false, false, false
	}
	if len(s.q) >= s.limit {
		s.over = true
		s.q = nil
		wake = !s.waking
		s.waking = true
		return wake, false, true
	}
	s.q = append(s.q, g)
	wake = !s.waking
	s.waking = true
	return wake, !wake && len(s.q) == max(s.limit/2, 1), false
}

// HubStats are the hub's counters.
type HubStats struct {
	Subscribers int64
	Published   int64 // frames broadcast
	Delivered   int64 // frames queued to subscribers
	Overflows   int64 // subscribers cut off because their queue was full
	EncodeErrs  int64
}

// Hub fans frames out to subscribers. Publish encodes each frame once and
// never blocks: a subscriber whose queue is full is cut off (its owner is
// woken and sees Take's over), never silently skipped.
type Hub struct {
	mu   sync.Mutex
	subs map[*Sub]struct{}
	src  EventSource

	done      chan struct{}
	closeOnce sync.Once

	published, delivered, overflows, encodeErrs atomic.Int64
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[*Sub]struct{}{}, done: make(chan struct{})} }

// Done is closed when the hub shuts down: connections say goodbye.
func (h *Hub) Done() <-chan struct{} { return h.done }

// Close tells every connection that the console is going away.
func (h *Hub) Close() { h.closeOnce.Do(func() { close(h.done) }) }

// SetEventSource names the one place that publishes event frames in id
// order (the ingest writer); PublishCommitted asks it to publish what
// others committed.
func (h *Hub) SetEventSource(src EventSource) {
	h.mu.Lock()
	h.src = src
	h.mu.Unlock()
}

// PublishCommitted asks the event source to publish, in id order, every
// stored event it has not published yet, and waits until it has (or ctx
// ends). Without a source it does nothing.
func (h *Hub) PublishCommitted(ctx context.Context) error {
	h.mu.Lock()
	src := h.src
	h.mu.Unlock()
	if src == nil {
		return nil
	}
	return src.PublishCommitted(ctx)
}

// Subscribe adds a subscriber with a queue of the given size (at least 1)
// that receives the frames f lets through, from now on. w is woken when
// it has frames. With owned, the caller starts as its owner (the hub does
// not wake w until the caller Releases it): a client
// replaying history takes the live frames itself afterwards.
func (h *Hub) Subscribe(f Filter, queue int, w Waker, owned bool) *Sub {
	all := len(f.Types) == 0 && len(f.Servers) == 0 && len(f.EventIDs) == 0 && len(f.SiteIDs) == 0 && f.Source == "" && f.Severity == ""
	s := &Sub{limit: max(queue, 1), filter: f, all: all, waker: w, waking: owned}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Unsubscribe removes s; after it returns the hub wakes s no more.
func (h *Hub) Unsubscribe(s *Sub) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// Publish broadcasts f to every subscriber whose filter lets it through.
func (h *Hub) Publish(f Frame) { h.PublishBatch([]Frame{f}) }

// PublishBatch broadcasts frames, in order, as one slot of each
// subscriber's queue. Each frame is encoded once.
func (h *Hub) PublishBatch(frames []Frame) {
	msgs := make([]*Msg, 0, len(frames))
	for _, f := range frames {
		m, err := Encode(f)
		if err != nil {
			h.encodeErrs.Add(1)
			continue
		}
		msgs = append(msgs, m)
	}
	h.PublishMsgs(msgs)
}

// PublishMsgs broadcasts encoded frames as one slot per subscriber. The
// lock also orders publications: every subscriber sees them in the same
// order.
func (h *Hub) PublishMsgs(msgs []*Msg) {
	if len(msgs) == 0 {
		return
	}
	h.published.Add(int64(len(msgs)))
	var n int64
	shared := &Group{Msgs: msgs}
	h.mu.Lock()
	for s := range h.subs {
		group := shared
		if !s.all {
			var sel []*Msg
			for _, m := range msgs {
				if s.filter.Match(m) {
					sel = append(sel, m)
				}
			}
			if len(sel) == 0 {
				continue
			}
			if len(sel) < len(msgs) {
				group = &Group{Msgs: sel}
			}
		}
		wake, nudge, over := s.offer(group)
		if over {
			// Full: cut the subscriber off rather than skip frames.
			delete(h.subs, s)
			h.overflows.Add(1)
		} else {
			n += int64(len(group.Msgs))
		}
		if wake && s.waker != nil {
			s.waker.Wake(s)
		}
		if nudge {
			if nd, ok := s.waker.(Nudger); ok {
				nd.Nudge(s)
			}
		}
	}
	h.mu.Unlock()
	h.delivered.Add(n)
}

// Stats returns the hub's counters.
func (h *Hub) Stats() HubStats {
	h.mu.Lock()
	n := int64(len(h.subs))
	h.mu.Unlock()
	return HubStats{
		Subscribers: n,
		Published:   h.published.Load(),
		Delivered:   h.delivered.Load(),
		Overflows:   h.overflows.Load(),
		EncodeErrs:  h.encodeErrs.Load(),
	}
}
