// Package live carries what happens in the network to whoever watches:
// actions and ingest publish typed frames after they commit, and the hub
// pushes them to websocket clients. Publisher is the seam where a message
// bus can later carry frames between several console nodes.
package live

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
