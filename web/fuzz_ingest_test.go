package web

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"mailnet/internal/mailnet"
)

// eventField is what a refused event's field looks like: its index, then
// (usually) the field of the event: "[3]", "[3].severity", "[0].fields.to".
var eventField = regexp.MustCompile(`(?s)^\[\d+\](\..+)?$`)

// FuzzIngestBatch: an agent's POST body, any bytes, goes through decoding
// and validation without a panic; a refusal is always a domain error that
// names a field (the body, or the event and its field), and an accepted
// batch holds one valid item per event.
func FuzzIngestBatch(f *testing.F) {
	for _, s := range []string{
		`[{"server":"EXCH1","source":"MSExchangeMTA","event_id":9301,"category":"Sent","severity":"info","description":"d"}]`,
		`[{"server":"NET1/PO1","source":"MSExchangeDX","event_id":4355,"severity":"warning","subject":"ReqTx 12 5 0","time":"2024-01-02T03:04:05Z","fields":{"to":"x"},"idempotency_key":"k1"}]`,
		`[]`, `{}`, `null`, `[null]`, `[1]`, `[{"server":""}]`, `[{"server":"a","source":"b","event_id":-1,"severity":"info"}]`,
		`[{"server":"a","source":"b","event_id":1,"severity":"loud"}]`, `[{"colour":"red"}]`, `[{"server":"\ud800"}]`,
		`[{"server":"a","source":"b","event_id":1,"severity":"info","time":"yesterday"}]`, `[{}] []`, ``, `[`,
		`[{"server":"a","source":"b","event_id":1e40,"severity":"info"}]`, `[{"fields":{"":"x"}}]`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := decodeIngestBatch(strings.NewReader(string(body)), now, 1000)
		if err == nil {
			for i, it := range items {
				ev := it.Event
				if ev.Server == "" || ev.Source == "" || ev.EventID < 0 || ev.Time.IsZero() {
					t.Fatalf("accepted item %d is not valid: %+v", i, ev)
				}
				switch ev.Severity {
				case "info", "warning", "error":
				default:
					t.Fatalf("accepted item %d has severity %q", i, ev.Severity)
				}
			}
			return
		}
		e, ok := mailnet.AsError(err)
		if !ok {
			t.Fatalf("body %q: error %v is not a domain error", body, err)
		}
		if e.Message == "" {
			t.Fatalf("body %q: refusal with an empty message", body)
		}
		switch e.Kind {
		case mailnet.KindMalformed:
			// The body, or the event member given twice or not UTF-8.
			if e.Field != "body" && !eventField.MatchString(e.Field) {
				t.Fatalf("body %q: kind %d with field %q, want field body or an event's field", body, e.Kind, e.Field)
			}
		case mailnet.KindTooLarge:
			if e.Field != "body" {
				t.Fatalf("body %q: kind %d with field %q, want field body", body, e.Kind, e.Field)
			}
		case mailnet.KindInvalid:
			if !eventField.MatchString(e.Field) {
				t.Fatalf("body %q: field %q does not name an event and its field", body, e.Field)
			}
		default:
			t.Fatalf("body %q: kind %d, want malformed, too large or invalid", body, e.Kind)
		}
	})
}
