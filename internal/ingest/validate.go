// Package ingest takes events from the agents into the console: it
// validates a batch as a whole, then hands it to one writer goroutine that
// group-commits whatever is queued into one transaction (so throughput
// does not depend on how agents batch), resolves server and requestor
// names from a small cache, folds dir-sync ReqTx/SrvTx subjects into the
// requestors in the same transaction, and publishes one live frame per
// stored event after commit, in id order. Retention prunes old events in
// the background.
//
// Ingest is the one writer besides internal/actions: events are data the
// agents report, not an administrator's change, so they take this path of
// their own. What it holds is bounded: events per batch (MaxBatch, 413),
// events queued (MaxQueued, 429, the first batch included) and request
// bytes from the first read to the commit (MaxBytes, 429). Names resolve
// under store.FoldName, the folding server names are unique under, and an
// idempotency key is the sending token's own.
package ingest

import (
	"fmt"
	"time"
	"unicode/utf8"

	"mailnet/internal/mailnet"
)

// Input is one event as an agent sends it.
type Input struct {
	Server         string            `json:"server"`
	Source         string            `json:"source"`
	EventID        *int64            `json:"event_id"`
	Category       string            `json:"category"`
	Severity       string            `json:"severity"`
	Description    string            `json:"description"`
	Time           string            `json:"time,omitempty"`
	Subject        string            `json:"subject,omitempty"`
	Fields         map[string]string `json:"fields,omitempty"`
	IdempotencyKey string            `json:"idempotency_key,omitempty"`
}

// Limits on one event's fields.
const (
	MaxServer      = 256
	MaxSource      = 128
	MaxCategory    = 128
	MaxDescription = 32 << 10
	MaxSubject     = 1024
	MaxFields      = 32
	MaxFieldKey    = 64
	MaxFieldValue  = 4096
	MaxKey         = 256
)

// MaxFuture is how far ahead of the console's clock an event's time may
// be: further is a broken agent clock, refused rather than stored where it
// would sort above every real event for years.
const MaxFuture = 24 * time.Hour

// Item is a validated event waiting to be stored.
type Item struct {
	Event mailnet.Event
	Key   string
	// TokenID is the agent token that sent the event (0: none); its
	// idempotency key is unique per token.
	TokenID int64
}

// Validate checks every event of a batch and converts it; the first bad
// event refuses the whole batch with a 422 naming its index and field
// ("[3].severity"). now stamps events that carry no time.
func Validate(in []Input, now time.Time) ([]Item, error) {
	out := make([]Item, len(in))
	for i := range in {
		it, err := ValidateAt(i, &in[i], now)
		if err != nil {
			return nil, err
		}
		out[i] = it
	}
	return out, nil
}

// ValidateAt checks event i of a batch, as Validate does, for a caller
// that decodes the batch one event at a time.
func ValidateAt(i int, in *Input, now time.Time) (Item, error) {
	it, err := validateOne(in, now)
	if err != nil {
		e, _ := mailnet.AsError(err)
		return Item{}, mailnet.Invalid(fmt.Sprintf("[%d].%s", i, e.Field), "event %d: %s", i, e.Message)
	}
	return it, nil
}

func text(field, v string, limit int, required bool) error {
	switch {
	case required && v == "":
		return mailnet.Invalid(field, "%s is required", field)
	case len(v) > limit:
		return mailnet.Invalid(field, "%s is longer than %d bytes", field, limit)
	case !utf8.ValidString(v):
		return mailnet.Invalid(field, "%s is not valid UTF-8", field)
	}
	return nil
}

func validateOne(e *Input, now time.Time) (Item, error) {
	if err := text("server", e.Server, MaxServer, true); err != nil {
		return Item{}, err
	}
	if err := text("source", e.Source, MaxSource, true); err != nil {
		return Item{}, err
	}
	if e.EventID == nil {
		return Item{}, mailnet.Invalid("event_id", "event_id is required")
	}
	if *e.EventID < 0 || *e.EventID > 1<<31-1 {
		return Item{}, mailnet.Invalid("event_id", "event_id must be between 0 and 2147483647")
	}
	if err := text("category", e.Category, MaxCategory, false); err != nil {
		return Item{}, err
	}
	switch e.Severity {
	case "info", "warning", "error":
	case "":
		return Item{}, mailnet.Invalid("severity", "severity is required: info, warning or error")
	default:
		return Item{}, mailnet.Invalid("severity", "severity must be info, warning or error, not %q", e.Severity)
	}
	if err := text("description", e.Description, MaxDescription, false); err != nil {
		return Item{}, err
	}
	if err := text("subject", e.Subject, MaxSubject, false); err != nil {
		return Item{}, err
	}
	if err := text("idempotency_key", e.IdempotencyKey, MaxKey, false); err != nil {
		return Item{}, err
	}
	at := now
	if e.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, e.Time)
		if err != nil {
			return Item{}, mailnet.Invalid("time", "time must be RFC 3339 (2006-01-02T15:04:05Z), not %q", e.Time)
		}
		if t.After(now.Add(MaxFuture)) {
			return Item{}, mailnet.Invalid("time", "time %s is more than %s ahead of the console's clock (%s)",
				e.Time, MaxFuture, now.UTC().Format(time.RFC3339))
		}
		at = t
	}
	if len(e.Fields) > MaxFields {
		return Item{}, mailnet.Invalid("fields", "at most %d fields", MaxFields)
	}
	for k, v := range e.Fields {
		if k == "" || len(k) > MaxFieldKey || !utf8.ValidString(k) {
			return Item{}, mailnet.Invalid("fields", "field names are 1 to %d bytes of UTF-8", MaxFieldKey)
		}
		if err := text("fields."+k, v, MaxFieldValue, false); err != nil {
			return Item{}, err
		}
	}
	return Item{
		Event: mailnet.Event{
			Time:        at.UTC(),
			Server:      e.Server,
			Source:      e.Source,
			EventID:     int(*e.EventID),
			Category:    e.Category,
			Severity:    e.Severity,
			Description: e.Description,
			Subject:     e.Subject,
			Fields:      e.Fields,
		},
		Key: e.IdempotencyKey,
	}, nil
}
