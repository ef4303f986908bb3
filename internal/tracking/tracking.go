// Package tracking owns message tracking: the records every kind of
// server reports about a message (submitted, transferred, delivered...),
// their validation, the Exchange 5.5 tracking log parser (Q173364), the
// stitching of records into a trace with its gaps and state, and the
// tracking store. The store is an interface (Store) so that a network
// beyond one SQLite file can move to another engine (docs/tracking.md);
// SQLite, in the console's own database, is the default.
package tracking

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"mailnet/internal/mailnet"
)

// Event is what happened to a message at one server.
type Event string

// The events a record may carry.
const (
	Submitted      Event = "submitted"
	TransferredOut Event = "transferred_out"
	TransferredIn  Event = "transferred_in"
	Delivered      Event = "delivered"
	NDR            Event = "ndr"
	Expanded       Event = "expanded"
	Deferred       Event = "deferred"
)

// events in their stored order (the code is the index).
var events = []Event{Submitted, TransferredOut, TransferredIn, Delivered, NDR, Expanded, Deferred}

func eventCode(e Event) (int, bool) {
	for i, x := range events {
		if x == e {
			return i, true
		}
	}
	return 0, false
}

func eventOf(code int) Event {
	if code < 0 || code >= len(events) {
		return Event(fmt.Sprintf("unknown(%d)", code))
	}
	return events[code]
}

// State is where a message stands.
type State string

// The states of a trace.
const (
	StateDelivered State = "delivered"
	StateInTransit State = "in_transit"
	StateFailed    State = "failed"
	StatePartial   State = "partial"
)

var states = []State{StateInTransit, StateDelivered, StateFailed, StatePartial}

func stateCode(s State) int {
	for i, x := range states {
		if x == s {
			return i
		}
	}
	return 0
}

func stateOf(code int) State {
	if code < 0 || code >= len(states) {
		return StatePartial
	}
	return states[code]
}

// ParseState reads a state as the API spells it ("in transit" too).
func ParseState(s string) (State, bool) {
	if s == "in transit" {
		return StateInTransit, true
	}
	for _, x := range states {
		if string(x) == s {
			return x, true
		}
	}
	return "", false
}

// Record is one validated tracking record.
type Record struct {
	Time       time.Time
	Server     string
	Event      Event
	MessageID  string // the message id or MTS-ID the server logged
	Sender     string
	Recipients []string
	Subject    string
	Size       int64
	Partner    string // the server or system on the other side of a transfer
	RemoteID   string // the id the partner knows the message by
}

// Input is one record as an agent posts it.
type Input struct {
	Time       string   `json:"time"`
	Server     string   `json:"server"`
	Event      string   `json:"event"`
	MessageID  string   `json:"message_id"`
	Sender     string   `json:"sender,omitempty"`
	Recipients []string `json:"recipients,omitempty"`
	Subject    string   `json:"subject,omitempty"`
	Size       *int64   `json:"size,omitempty"`
	Partner    string   `json:"partner,omitempty"`
	RemoteID   string   `json:"remote_id,omitempty"`
}

// Limits on one record.
const (
	MaxName       = 256 // server, partner
	MaxID         = 256 // message_id, remote_id
	MaxAddress    = 512
	MaxRecipients = 1000
	MaxSubject    = 1024
	// MaxFuture is how far ahead of the console's clock a record may be.
	MaxFuture = 24 * time.Hour
)

func text(field, v string, limit int, required bool) error {
	switch {
	case required && v == "":
		return mailnet.Invalid(field, "%s is required", field)
	case len(v) > limit:
		return mailnet.Invalid(field, "%s is longer than %d bytes", field, limit)
	case !utf8.ValidString(v):
		return mailnet.Invalid(field, "%s is not valid UTF-8", field)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return mailnet.Invalid(field, "%s holds a control character", field)
		}
	}
	return nil
}

// ValidateAt checks record i of a batch; the error names "[i].field".
func ValidateAt(i int, in *Input, now time.Time) (Record, error) {
	r, err := validate(in, now)
	if err != nil {
		e, _ := mailnet.AsError(err)
		return Record{}, mailnet.Invalid(fmt.Sprintf("[%d].%s", i, e.Field), "record %d: %s", i, e.Message)
	}
	return r, nil
}

func validate(in *Input, now time.Time) (Record, error) {
	if in.Time == "" {
		return Record{}, mailnet.Invalid("time", "time is required (RFC 3339)")
	}
	t, err := time.Parse(time.RFC3339Nano, in.Time)
	if err != nil {
		return Record{}, mailnet.Invalid("time", "time must be RFC 3339 (2006-01-02T15:04:05Z), not %q", in.Time)
	}
	if t.After(now.Add(MaxFuture)) {
		return Record{}, mailnet.Invalid("time", "time %s is more than %s ahead of the console's clock", in.Time, MaxFuture)
	}
	if t.Year() < 1980 {
		return Record{}, mailnet.Invalid("time", "time %s is before 1980", in.Time)
	}
	if err := text("server", in.Server, MaxName, true); err != nil {
		return Record{}, err
	}
	ev := Event(in.Event)
	if _, ok := eventCode(ev); !ok {
		if in.Event == "" {
			return Record{}, mailnet.Invalid("event", "event is required")
		}
		return Record{}, mailnet.Invalid("event", "event must be submitted, transferred_out, transferred_in, delivered, ndr, expanded or deferred, not %q", in.Event)
	}
	if err := text("message_id", in.MessageID, MaxID, true); err != nil {
		return Record{}, err
	}
	if err := text("sender", in.Sender, MaxAddress, false); err != nil {
		return Record{}, err
	}
	if len(in.Recipients) > MaxRecipients {
		return Record{}, mailnet.Invalid("recipients", "at most %d recipients", MaxRecipients)
	}
	for j, a := range in.Recipients {
		if err := text(fmt.Sprintf("recipients[%d]", j), a, MaxAddress, true); err != nil {
			return Record{}, err
		}
	}
	if err := text("subject", in.Subject, MaxSubject, false); err != nil {
		return Record{}, err
	}
	var size int64
	if in.Size != nil {
		if *in.Size < 0 {
			return Record{}, mailnet.Invalid("size", "size must not be negative")
		}
		size = *in.Size
	}
	if err := text("partner", in.Partner, MaxName, false); err != nil {
		return Record{}, err
	}
	if (ev == TransferredOut || ev == TransferredIn) && in.Partner == "" {
		return Record{}, mailnet.Invalid("partner", "partner is required for %s", ev)
	}
	if err := text("remote_id", in.RemoteID, MaxID, false); err != nil {
		return Record{}, err
	}
	return Record{
		Time: t.UTC(), Server: in.Server, Event: ev, MessageID: in.MessageID,
		Sender: in.Sender, Recipients: in.Recipients, Subject: in.Subject,
		Size: size, Partner: in.Partner, RemoteID: in.RemoteID,
	}, nil
}

// Query is a search of the tracked messages. Exact fields match whole
// values (addresses without regard to ASCII case); Subject is a prefix.
type Query struct {
	Sender, Recipient, MessageID, Subject string
	Address                               string    // the sender or a recipient
	After, Before                         time.Time // first_seen >= After, last_seen < Before (zero: open)
	Server                                string    // the message passed through it
	State                                 State     // "" any
	Limit                                 int       // 0: no limit (export)
	AfterID                               int64     // keyset: results below this id (newest first)
}

// Summary is one message of a search.
type Summary struct {
	ID         int64     `json:"-"`
	MessageID  string    `json:"message_id"`
	Sender     string    `json:"sender"`
	Recipients []string  `json:"recipients"`
	Subject    string    `json:"subject"`
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	State      State     `json:"state"`
	Complete   bool      `json:"complete"`
}

// Page is a page of a search, newest message first; NextAfterID is 0
// when no more remain.
type Page struct {
	Messages    []Summary
	NextAfterID int64
}

// Store keeps tracking records and answers searches and traces. Submit
// group-commits: it returns once the records are durable.
type Store interface {
	Submit(ctx context.Context, recs []Record) (int, error)
	Search(ctx context.Context, q Query) (Page, error)
	// Export calls fn for every message matching q (q.Limit ignored),
	// newest first, reading in pages so nothing is held whole.
	Export(ctx context.Context, q Query, fn func(Summary) error) error
	Trace(ctx context.Context, id string) (Trace, error)
	// Prune removes the messages last seen before cutoff and, while more
	// than maxRecords records remain, the oldest messages, at most batch
	// messages per transaction; it returns how many records went.
	Prune(ctx context.Context, cutoff time.Time, maxRecords int64, batch int) (int64, error)
	Close() error
}
