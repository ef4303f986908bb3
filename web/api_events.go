package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/prometheus/client_golang/prometheus"

	"mailnet/internal/ingest"
	"mailnet/internal/live"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// MaxIngestBody caps one POST /api/v1/events body.
const MaxIngestBody = 8 << 20

// Event query page sizes.
const (
	DefaultEventLimit = 100
	MaxEventLimit     = 1000
)

func (s *Server) registerLiveMetrics() {
	hub, w := s.cfg.Hub, s.cfg.Ingest
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mailnet_ws_clients", Help: "Websocket clients subscribed to the live hub."},
			func() float64 { return float64(hub.Stats().Subscribers) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mailnet_live_frames_published_total", Help: "Frames broadcast by the live hub."},
			func() float64 { return float64(hub.Stats().Published) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mailnet_live_frames_queued_total", Help: "Frames queued to websocket clients."},
			func() float64 { return float64(hub.Stats().Delivered) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mailnet_ws_queue_overflows_total", Help: "Websocket clients cut off because their send queue was full."},
			func() float64 { return float64(hub.Stats().Overflows) }),
	}
	if w != nil {
		cs = append(cs,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mailnet_ingest_queued_events", Help: "Events waiting for the ingest writer."},
				func() float64 { return float64(w.Stats().Queued) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mailnet_ingest_events_stored_total", Help: "Events stored by ingest."},
				func() float64 { return float64(w.Stats().Stored) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mailnet_ingest_events_duplicate_total", Help: "Events skipped by their idempotency key."},
				func() float64 { return float64(w.Stats().Duplicates) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mailnet_ingest_transactions_total", Help: "Ingest transactions committed."},
				func() float64 { return float64(w.Stats().Transactions) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "mailnet_ingest_refused_total", Help: "Ingest batches refused with 429."},
				func() float64 { return float64(w.Stats().Refused) }),
		)
	}
	for _, c := range cs {
		_ = s.reg.Register(c)
	}
}

// postEvents takes a batch of events from an agent. The whole batch is
// validated first: one bad event refuses it all with 422 naming the
// event's index and field, and nothing is stored.
//
// What one batch may hold is bounded before it is read: the body's bytes
// are reserved against the writer's in-flight bound (429 with Retry-After
// when they do not fit) and held until the batch commits, the body is
// decoded one event at a time (never a whole-body copy), and a batch
// past the writer's event cap is refused (413) as soon as the cap is
// passed.
func (s *Server) postEvents(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Ingest == nil {
		s.error(w, r, errors.New("ingest is not configured"))
		return
	}
	size := r.ContentLength
	if size > MaxIngestBody {
		s.error(w, r, mailnet.Errorf(mailnet.KindTooLarge, "body", "request body is larger than %d bytes", MaxIngestBody))
		return
	}
	if size < 0 {
		size = MaxIngestBody // chunked: reserve the most it may be
	}
	res, err := s.cfg.Ingest.Reserve(size)
	if err != nil {
		if mailnet.ErrorKind(err) == mailnet.KindTooMany {
			w.Header().Set("Retry-After", "1")
		}
		s.error(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxIngestBody)
	items, err := decodeIngestBatch(r.Body, s.now(), s.cfg.Ingest.MaxBatch())
	if err != nil {
		res.Release()
		s.error(w, r, err)
		return
	}
	if p := mailnet.PrincipalFrom(r.Context()); p != nil {
		if err := s.checkAgentScope(r.Context(), p, items); err != nil {
			res.Release()
			s.error(w, r, err)
			return
		}
		for i := range items {
			items[i].TokenID = p.TokenID
		}
	}
	n, err := s.cfg.Ingest.SubmitReserved(r.Context(), items, res)
	if err != nil {
		if mailnet.ErrorKind(err) == mailnet.KindTooMany {
			w.Header().Set("Retry-After", "1")
		}
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]int{"accepted": n})
}

// decodeIngestBatch reads a POST /api/v1/events body (a JSON array of
// events) one event at a time, each decoded strictly and validated as it
// comes, so no more than the decoded events is ever held; past maxEvents
// it stops reading. Every refusal is a domain error naming a field:
// "body" when the body is not a JSON array (400), cut short or malformed
// (400), or holds more than maxEvents events or bytes (413); "[i]" or
// "[i].field" for the first bad event (422, or 400 for a name given
// twice or invalid UTF-8 inside it).
func decodeIngestBatch(body io.Reader, now time.Time, maxEvents int) ([]ingest.Item, error) {
	bodyErr := func(err error) error {
		e, _ := mailnet.AsError(jsonError(err))
		field := e.Field
		if field == "" {
			field = "body"
		}
		return mailnet.Errorf(e.Kind, field, "%s", e.Message)
	}
	items := make([]ingest.Item, 0, 64)
	err := decodeArray(body, jsonArray{Noun: "events", Unit: "events", Max: maxEvents, BodyErr: bodyErr}, func(i int, dec *jsontext.Decoder) error {
		var in ingest.Input
		if err := jsonv2.UnmarshalDecode(dec, &in, strictJSON); err != nil {
			e, _ := mailnet.AsError(jsonErrorNamed(err, eventFieldOf))
			var sem *jsonv2.SemanticError
			if !errors.As(err, &sem) || errors.Is(err, io.ErrUnexpectedEOF) {
				// Syntax: a name given twice or bad UTF-8 inside the
				// event names it; anything else is the body's fault.
				if e.Field == "" || e.Kind != mailnet.KindMalformed {
					return bodyErr(err)
				}
				return e
			}
			field := e.Field
			if field == "" {
				field = fmt.Sprintf("[%d]", i)
			}
			return mailnet.Invalid(field, "event %d: %s", i, e.Message)
		}
		it, err := ingest.ValidateAt(i, &in, now)
		if err != nil {
			return err
		}
		items = append(items, it)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return items, nil
}

// eventFieldOf names the field of a JSON Pointer into the events array:
// "/3" is "[3]", and what follows is the event's members ("/3/fields/to"
// is "[3].fields.to"; an event has no arrays, so no token is an index).
func eventFieldOf(ptr jsontext.Pointer) string {
	var b strings.Builder
	first := true
	for tok := range ptr.Tokens() {
		if first {
			b.WriteString("[" + tok + "]")
			first = false
			continue
		}
		if tok == "" {
			tok = `""`
		}
		b.WriteString("." + tok)
	}
	return b.String()
}

// eventFilter is what the event query and the websocket share.
type eventFilter struct {
	q     store.EventQuery // AfterID, Server, SiteID, Source, EventID, Severity, Since, Until
	hasID bool             // after_id was given
	types []string
	limit int
}

// parseEventFilter reads the query parameters common to GET
// /api/v1/events and /ws; errors name the parameter (422).
func (s *Server) parseEventFilter(r *http.Request, v url.Values) (eventFilter, error) {
	f := eventFilter{q: store.EventQuery{EventID: -1}}
	if a := v.Get("after_id"); a != "" {
		n, ok := parseID(a)
		if !ok {
			return f, mailnet.Invalid("after_id", "after_id must be a non-negative integer, not %q", a)
		}
		f.q.AfterID, f.hasID = n, true
	}
	f.q.Server = strings.TrimSpace(v.Get("server"))
	f.q.Source = strings.TrimSpace(v.Get("source"))
	if e := v.Get("event_id"); e != "" {
		n, ok := parseID(e)
		if !ok || n > 1<<31-1 {
			return f, mailnet.Invalid("event_id", "event_id must be a non-negative integer, not %q", e)
		}
		f.q.EventID = int(n)
	}
	switch sev := v.Get("severity"); sev {
	case "", "info", "warning", "error":
		f.q.Severity = sev
	default:
		return f, mailnet.Invalid("severity", "severity must be info, warning or error, not %q", sev)
	}
	if site := strings.TrimSpace(v.Get("site")); site != "" {
		if n, ok := parseID(site); ok && n > 0 {
			f.q.SiteID = n
		} else {
			id, err := s.store.EventSiteID(r.Context(), site)
			if mailnet.ErrorKind(err) == mailnet.KindNotFound {
				return f, mailnet.Invalid("site", "no site named %q", site)
			}
			if err != nil {
				return f, err
			}
			f.q.SiteID = id
		}
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.q.Since}, {"until", &f.q.Until}} {
		if t := v.Get(p.name); t != "" {
			at, err := time.Parse(time.RFC3339Nano, t)
			if err != nil {
				return f, mailnet.Invalid(p.name, "%s must be RFC 3339 (2006-01-02T15:04:05Z), not %q", p.name, t)
			}
			*p.dst = at
		}
	}
	f.limit = DefaultEventLimit
	if l := v.Get("limit"); l != "" {
		n, ok := parseID(l)
		if !ok || n < 1 || n > MaxEventLimit {
			return f, mailnet.Invalid("limit", "limit must be between 1 and %d, not %q", MaxEventLimit, l)
		}
		f.limit = int(n)
	}
	if t := v.Get("types"); t != "" {
		for _, typ := range strings.Split(t, ",") {
			typ = strings.TrimSpace(typ)
			switch typ {
			case live.TypeEvent, live.TypeInventory, live.TypeJob:
				f.types = append(f.types, typ)
			case "":
			default:
				return f, mailnet.Invalid("types", "types are event, inventory or job, not %q", typ)
			}
		}
	}
	return f, nil
}

// liveFilter is the hub filter equivalent to f.
func (f eventFilter) liveFilter() live.Filter {
	lf := live.Filter{Types: f.types, Source: f.q.Source, Severity: f.q.Severity}
	if f.q.Server != "" {
		lf.Servers = []string{f.q.Server}
	}
	if f.q.EventID >= 0 {
		lf.EventIDs = []int{f.q.EventID}
	}
	if f.q.SiteID != 0 {
		lf.SiteIDs = []int64{f.q.SiteID}
	}
	return lf
}

// getEvents lists events in ascending id order, a keyset page at a time:
// pass next_after_id back as after_id for the next page.
func (s *Server) getEvents(w http.ResponseWriter, r *http.Request) {
	f, err := s.parseEventFilter(r, r.URL.Query())
	if err != nil {
		s.error(w, r, err)
		return
	}
	q := f.q
	q.Limit = f.limit
	evs, err := s.store.Events(r.Context(), q)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := make([]live.EventData, len(evs))
	next := q.AfterID
	for i, ev := range evs {
		out[i] = live.NewEventData(ev)
		next = ev.ID
	}
	writeJSON(w, http.StatusOK, struct {
		Events      []live.EventData `json:"events"`
		NextAfterID int64            `json:"next_after_id"`
	}{out, next})
}

// checkAgentScope refuses (403 naming [i].server) an event of a token
// bound to servers for any other server: an agent speaks only for its
// servers and the requestors whose postoffice or DX server they are.
func (s *Server) checkAgentScope(ctx context.Context, p *mailnet.Principal, items []ingest.Item) error {
	return s.checkAgentServers(ctx, p, "events", len(items), func(i int) string { return items[i].Event.Server })
}

// checkAgentServers refuses, naming [i].server, the first of n records
// whose server (server(i)) is outside the servers an agent token is
// bound to; a network-wide token, or a principal that is no agent token,
// may post for any server. Events and tracking records share it.
func (s *Server) checkAgentServers(ctx context.Context, p *mailnet.Principal, what string, n int, server func(int) string) error {
	if p == nil || p.TokenID == 0 || p.Role != mailnet.RoleAgent {
		return nil
	}
	names, bound, err := s.store.AgentScope(ctx, p.TokenID)
	if err != nil || !bound {
		return err
	}
	for i := range n {
		if !names[store.FoldName(server(i))] {
			return mailnet.Errorf(mailnet.KindForbidden, fmt.Sprintf("[%d].server", i),
				"record %d: token %s may post %s only for its servers, not for %q", i, p.Name, what, server(i))
		}
	}
	return nil
}
