package web

import (
	"bytes"
	"testing"
	"time"

	"mailnet/internal/mailnet"
)

// FuzzTrackingBatch: any POST /api/v1/tracking body goes through decoding
// and validation without a panic; a refusal is a domain error naming the
// body or "[i]"/"[i].field", and an accepted batch holds valid records.
func FuzzTrackingBatch(f *testing.F) {
	for _, s := range []string{
		`[{"time":"2026-12-01T09:00:00Z","server":"EXA","event":"submitted","message_id":"<m@hq>","sender":"a@hq","recipients":["b@x"],"subject":"s","size":1}]`,
		`[{"time":"2026-12-01T09:00:00Z","server":"EXA","event":"transferred_out","message_id":"m","partner":"EXB","remote_id":"C=US;L=1"}]`,
		`[]`, `{}`, `null`, `[null]`, `[1]`, `[{"event":"lost"}]`, `[{"size":-1}]`, `[{"recipients":[""]}]`, `[{}] []`, ``, `[`,
		`[{"time":"2026-12-01T09:00:00Z","server":"\ud800","event":"ndr","message_id":"m"}]`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		recs, err := decodeTrackingBatch(bytes.NewReader(body), now, 50)
		if err != nil {
			e, ok := mailnet.AsError(err)
			if !ok || e.Field == "" {
				t.Fatalf("refusal %v is not a domain error naming a field", err)
			}
			if e.Field != "body" && !eventField.MatchString(e.Field) {
				t.Fatalf("field %q names neither the body nor a record", e.Field)
			}
			return
		}
		for _, r := range recs {
			if r.Server == "" || r.MessageID == "" || r.Time.IsZero() {
				t.Fatalf("accepted an invalid record %+v", r)
			}
		}
	})
}
