// Package live carries what happens in the network to whoever watches:
// actions and ingest publish typed frames after they commit, and the hub
// pushes them to websocket clients. Publisher is the seam where a message
// bus can later carry frames between several console nodes.
package live

import "context"

// Frame types on the websocket stream.
const (
	TypeEvent     = "event"
	TypeInventory = "inventory"
	TypeJob       = "job"
	TypeResync    = "resync"
)

// Frame is one message to clients. Data is encoded as the frame's payload.
type Frame struct {
	Type string `json:"type"`
	ID   int64  `json:"id,omitempty"` // event id, for resume
	Data any    `json:"data,omitempty"`
	// Site is the site id of an event's server (0: unknown), for the
	// per-client site filter; it is not sent.
	Site int64 `json:"-"`
}

// Inventory is the payload of an inventory frame: what changed.
type Inventory struct {
	Object string `json:"object"` // server, user, connector, requestor, route, site
	ID     int64  `json:"id"`
	Action string `json:"action"` // created, updated, deleted
}

// Publisher accepts frames after the change they describe has committed.
// Publish never blocks on a slow consumer.
type Publisher interface {
	Publish(f Frame)
}

// Nop discards frames; for commands and tests that watch nothing.
type Nop struct{}

func (Nop) Publish(Frame) {}

// PublisherFunc adapts a function to Publisher.
type PublisherFunc func(Frame)

// Publish calls f(fr).
func (f PublisherFunc) Publish(fr Frame) { f(fr) }

// BatchPublisher is a Publisher that can take several frames as one
// publication (the hub queues them as one slot per client).
type BatchPublisher interface {
	Publisher
	PublishBatch(frames []Frame)
}

// PublishAll publishes frames through p, as one batch when p can.
func PublishAll(p Publisher, frames []Frame) {
	if b, ok := p.(BatchPublisher); ok {
		b.PublishBatch(frames)
		return
	}
	for _, f := range frames {
		p.Publish(f)
	}
}

// EventSource is the one place that publishes event frames, in id order
// (the ingest writer). Code that stores an event outside it (an action's
// console event) does not publish the frame itself: after its commit it
// calls PublishCommitted, and the source publishes every stored event it
// has not published yet, in id order, so no client that skips ids at or
// below the last it saw misses one.
type EventSource interface {
	PublishCommitted(ctx context.Context) error
}

// PublishCommitted asks p's event source (when p has one) to publish the
// events committed outside it; see EventSource.
func PublishCommitted(ctx context.Context, p Publisher) error {
	if s, ok := p.(EventSource); ok {
		return s.PublishCommitted(ctx)
	}
	return nil
}

// SetEventSource registers src with p (and, through a Tee, with each of
// its publishers) when p takes one: the hub does.
func SetEventSource(p Publisher, src EventSource) {
	if h, ok := p.(interface{ SetEventSource(EventSource) }); ok {
		h.SetEventSource(src)
	}
}

// Tee publishes every frame to each of ps in turn.
func Tee(ps ...Publisher) BatchPublisher { return tee(ps) }

type tee []Publisher

func (t tee) Publish(f Frame) {
	for _, p := range t {
		p.Publish(f)
	}
}

func (t tee) PublishBatch(frames []Frame) {
	for _, p := range t {
		PublishAll(p, frames)
	}
}

func (t tee) SetEventSource(src EventSource) {
	for _, p := range t {
		SetEventSource(p, src)
	}
}

// PublishCommitted asks the first of ps that has an event source.
func (t tee) PublishCommitted(ctx context.Context) error {
	for _, p := range t {
		if s, ok := p.(EventSource); ok {
			return s.PublishCommitted(ctx)
		}
	}
	return nil
}
