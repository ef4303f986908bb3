package web

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mailnet/internal/mailnet"
	"mailnet/internal/tracking"
)

// MaxTrackingBody caps one POST /api/v1/tracking or exchange-log body.
const MaxTrackingBody = 16 << 20

// Tracking search page sizes.
const (
	DefaultTrackingLimit = 100
	MaxTrackingLimit     = 1000
)

// reserveTracking bounds a tracking body before it is read: 413 past
// MaxTrackingBody, 429 with Retry-After when the writer holds as many
// bytes as it may.
func (s *Server) reserveTracking(w http.ResponseWriter, r *http.Request) (*tracking.Reservation, bool) {
	size := r.ContentLength
	if size > MaxTrackingBody {
		s.error(w, r, mailnet.Errorf(mailnet.KindTooLarge, "body", "request body is larger than %d bytes", MaxTrackingBody))
		return nil, false
	}
	if size < 0 {
		size = MaxTrackingBody
	}
	res, err := s.tracking.Reserve(size)
	if err != nil {
		w.Header().Set("Retry-After", "1")
		s.error(w, r, err)
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxTrackingBody)
	return res, true
}

// submitTracking hands validated records to the group-committing writer,
// after checking that an agent token bound to servers speaks only for
// them, as postEvents does for events.
func (s *Server) submitTracking(w http.ResponseWriter, r *http.Request, recs []tracking.Record) (int, bool) {
	p := mailnet.PrincipalFrom(r.Context())
	if err := s.checkAgentServers(r.Context(), p, "tracking", len(recs), func(i int) string { return recs[i].Server }); err != nil {
		s.error(w, r, err)
		return 0, false
	}
	n, err := s.tracking.Submit(r.Context(), recs)
	if err != nil {
		if mailnet.ErrorKind(err) == mailnet.KindTooMany {
			w.Header().Set("Retry-After", "1")
		}
		s.error(w, r, err)
		return 0, false
	}
	return n, true
}

// postTracking takes a JSON array of tracking records from an agent. One
// bad record refuses the batch with 422 naming "[i].field"; nothing is
// stored. The body is decoded one record at a time, and a batch past the
// writer's cap is refused (413) as soon as the cap is passed.
func (s *Server) postTracking(w http.ResponseWriter, r *http.Request) {
	res, ok := s.reserveTracking(w, r)
	if !ok {
		return
	}
	defer res.Release()
	recs, err := decodeTrackingBatch(r.Body, s.now(), s.tracking.MaxBatch())
	if err != nil {
		s.error(w, r, err)
		return
	}
	n, ok := s.submitTracking(w, r, recs)
	if !ok {
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]int{"accepted": n})
}

// decodeTrackingBatch reads a JSON array of records strictly, one at a
// time (decodeArray), as decodeIngestBatch reads events.
func decodeTrackingBatch(body io.Reader, now time.Time, maxRecords int) ([]tracking.Record, error) {
	recs := make([]tracking.Record, 0, 64)
	var in tracking.Input
	err := decodeArray(body, jsonArray{Noun: "tracking records", Unit: "records", Max: maxRecords}, func(i int, dec *jsontext.Decoder) error {
		in = tracking.Input{}
		if err := jsonv2.UnmarshalDecode(dec, &in, strictJSON); err != nil {
			var sem *jsonv2.SemanticError
			if !errors.As(err, &sem) {
				return bodyError(err)
			}
			e, _ := mailnet.AsError(jsonError(err))
			field := fmt.Sprintf("[%d]", i)
			// The decoder's pointer starts at the array: "[i]", then the
			// member ("[i].size"); a member whose name is empty or a number
			// reads as "[i]." or "[i][0]" and names the record only.
			if _, rest, ok := strings.Cut(e.Field, "]"); ok && len(rest) > 1 && rest[0] == '.' {
				field += rest
			}
			return mailnet.Invalid(field, "record %d: %s", i, e.Message)
		}
		rec, err := tracking.ValidateAt(i, &in, now)
		if err != nil {
			return err
		}
		recs = append(recs, rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return recs, nil
}

// postExchangeLog takes an Exchange 5.0/5.5 tracking log as the server
// writes it (Exchsrvr\Tracking.log\yyyymmdd.log). ?server=NAME names the
// server that wrote it when its gateway names are not DNs that do.
func (s *Server) postExchangeLog(w http.ResponseWriter, r *http.Request) {
	res, ok := s.reserveTracking(w, r)
	if !ok {
		return
	}
	defer res.Release()
	server := strings.TrimSpace(r.URL.Query().Get("server"))
	if len(server) > tracking.MaxName {
		s.error(w, r, mailnet.Invalid("server", "server is longer than %d bytes", tracking.MaxName))
		return
	}
	log, err := tracking.ParseExchangeLog(r.Body, server, s.now(), s.tracking.MaxBatch())
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			err = mailnet.Errorf(mailnet.KindTooLarge, "body", "request body is larger than %d bytes", MaxTrackingBody)
		}
		s.error(w, r, err)
		return
	}
	n, ok := s.submitTracking(w, r, log.Records)
	if !ok {
		return
	}
	skipped := map[string]int{}
	for ev, c := range log.Skipped {
		skipped[strconv.Itoa(ev)] = c
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"accepted": n, "lines": log.Lines, "skipped": skipped})
}

// parseTrackingQuery reads a search's parameters; errors name them (422).
func parseTrackingQuery(v url.Values) (tracking.Query, error) {
	q := tracking.Query{
		Sender:    strings.TrimSpace(v.Get("sender")),
		Recipient: strings.TrimSpace(v.Get("recipient")),
		MessageID: strings.TrimSpace(v.Get("message_id")),
		Subject:   v.Get("subject"),
		Address:   strings.TrimSpace(v.Get("address")),
		Server:    strings.TrimSpace(v.Get("server")),
		Limit:     DefaultTrackingLimit,
	}
	for _, p := range []struct {
		name string
		v    string
	}{{"sender", q.Sender}, {"recipient", q.Recipient}, {"message_id", q.MessageID}, {"subject", q.Subject}, {"address", q.Address}, {"server", q.Server}} {
		if len(p.v) > tracking.MaxSubject {
			return q, mailnet.Invalid(p.name, "%s is longer than %d bytes", p.name, tracking.MaxSubject)
		}
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"after", &q.After}, {"before", &q.Before}} {
		if t := v.Get(p.name); t != "" {
			at, err := time.Parse(time.RFC3339Nano, t)
			if err != nil {
				return q, mailnet.Invalid(p.name, "%s must be RFC 3339 (2006-01-02T15:04:05Z), not %q", p.name, t)
			}
			*p.dst = at
		}
	}
	if st := v.Get("state"); st != "" {
		x, ok := tracking.ParseState(st)
		if !ok {
			return q, mailnet.Invalid("state", "state must be delivered, in_transit, failed or partial, not %q", st)
		}
		q.State = x
	}
	if l := v.Get("limit"); l != "" {
		n, ok := parseID(l)
		if !ok || n < 1 || n > MaxTrackingLimit {
			return q, mailnet.Invalid("limit", "limit must be between 1 and %d, not %q", MaxTrackingLimit, l)
		}
		q.Limit = int(n)
	}
	if a := v.Get("after_id"); a != "" {
		n, ok := parseID(a)
		if !ok {
			return q, mailnet.Invalid("after_id", "after_id must be a non-negative integer, not %q", a)
		}
		q.AfterID = n
	}
	return q, nil
}

// subjectAccess says whether the principal may see subjects; a search by
// subject without the grant is refused (the matches would tell).
func (s *Server) subjectAccess(r *http.Request, q tracking.Query) (bool, error) {
	ok, err := tracking.Subjects{St: s.store}.Allowed(r.Context(), mailnet.PrincipalFrom(r.Context()))
	if err != nil {
		return false, err
	}
	if !ok && q.Subject != "" {
		return false, mailnet.Errorf(mailnet.KindForbidden, "subject", "searching by subject needs the subject grant")
	}
	return ok, nil
}

// auditSubjects writes the audit row of a response that shows subjects.
func (s *Server) auditSubjects(r *http.Request, what string, n int) error {
	return tracking.Subjects{St: s.store}.Viewed(r.Context(), what, n)
}

type trackingMessage struct {
	MessageID  string    `json:"message_id"`
	Sender     string    `json:"sender"`
	Recipients []string  `json:"recipients"`
	Subject    *string   `json:"subject"` // null without the subject grant
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	State      string    `json:"state"`
	Complete   bool      `json:"complete"`
}

func toTrackingMessage(m tracking.Summary, subjects bool) trackingMessage {
	out := trackingMessage{MessageID: m.MessageID, Sender: m.Sender, Recipients: m.Recipients,
		FirstSeen: m.FirstSeen, LastSeen: m.LastSeen, State: string(m.State), Complete: m.Complete}
	if subjects {
		sub := m.Subject
		out.Subject = &sub
	}
	return out
}

// getTracking searches the tracked messages, newest first, a keyset page
// at a time: pass next_after_id back as after_id.
func (s *Server) getTracking(w http.ResponseWriter, r *http.Request) {
	q, err := parseTrackingQuery(r.URL.Query())
	if err != nil {
		s.error(w, r, err)
		return
	}
	subjects, err := s.subjectAccess(r, q)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p, err := s.tracking.Search(r.Context(), q)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if subjects && len(p.Messages) > 0 {
		if err := s.auditSubjects(r, "search "+r.URL.RawQuery, len(p.Messages)); err != nil {
			s.error(w, r, err)
			return
		}
	}
	out := make([]trackingMessage, len(p.Messages))
	for i, m := range p.Messages {
		out[i] = toTrackingMessage(m, subjects)
	}
	writeJSON(w, http.StatusOK, struct {
		Messages    []trackingMessage `json:"messages"`
		NextAfterID int64             `json:"next_after_id"`
	}{out, p.NextAfterID})
}

// getTrackingExport streams every match of a search as CSV (format=csv,
// the default) or a JSON array (format=json): no window, no row cap.
func (s *Server) getTrackingExport(w http.ResponseWriter, r *http.Request) {
	q, err := parseTrackingQuery(r.URL.Query())
	if err != nil {
		s.error(w, r, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "csv" && format != "json" {
		s.error(w, r, mailnet.Invalid("format", "format must be csv or json, not %q", format))
		return
	}
	subjects, err := s.subjectAccess(r, q)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if subjects {
		// Audited before the first row: the export is a subject view
		// however far the client reads it.
		if err := s.auditSubjects(r, "export "+r.URL.RawQuery, -1); err != nil {
			s.error(w, r, err)
			return
		}
	}
	fl, _ := w.(http.Flusher)
	n := 0
	flush := func() {
		if n++; n%1000 == 0 && fl != nil {
			fl.Flush()
		}
	}
	if format == "json" {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Disposition", `attachment; filename="tracking.json"`)
		io.WriteString(w, "[")
		enc := json.NewEncoder(w)
		err = s.tracking.Export(r.Context(), q, func(m tracking.Summary) error {
			if n > 0 {
				io.WriteString(w, ",")
			}
			flush()
			return enc.Encode(toTrackingMessage(m, subjects))
		})
		if err == nil {
			io.WriteString(w, "]\n")
		}
	} else {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="tracking.csv"`)
		cw := csv.NewWriter(w)
		cw.Write([]string{"message_id", "sender", "recipients", "subject", "first_seen", "last_seen", "state", "complete"})
		err = s.tracking.Export(r.Context(), q, func(m tracking.Summary) error {
			sub := ""
			if subjects {
				sub = m.Subject
			}
			flush()
			return cw.Write([]string{csvSafe(m.MessageID), csvSafe(m.Sender), csvSafe(strings.Join(m.Recipients, "; ")), csvSafe(sub),
				m.FirstSeen.Format(time.RFC3339Nano), m.LastSeen.Format(time.RFC3339Nano), string(m.State), strconv.FormatBool(m.Complete)})
		})
		cw.Flush()
	}
	if err != nil && r.Context().Err() == nil {
		// The status is sent: the log says why the stream stopped.
		s.log.ErrorContext(r.Context(), "tracking export", "err", err)
	}
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// trackingTrace is a message's trace as the API answers it.
type trackingTrace struct {
	MessageID  string             `json:"message_id"`
	IDs        []string           `json:"ids"`
	Sender     string             `json:"sender"`
	Recipients []string           `json:"recipients"`
	Subject    *string            `json:"subject"`
	State      string             `json:"state"`
	Complete   bool               `json:"complete"`
	TotalMS    int64              `json:"total_ms"`
	SlowHop    int                `json:"slow_hop"`
	Gaps       []tracking.Gap     `json:"gaps"`
	Hops       []tracking.Hop     `json:"hops"`
	Findings   []tracking.Finding `json:"findings"`
}

// loadTrace reads a trace with its findings, the subject only with the
// grant (and audited).
func (s *Server) loadTrace(r *http.Request, id string) (trackingTrace, tracking.Trace, error) {
	tr, err := s.tracking.Trace(r.Context(), id)
	if err != nil {
		return trackingTrace{}, tr, err
	}
	subjects, err := s.subjectAccess(r, tracking.Query{})
	if err != nil {
		return trackingTrace{}, tr, err
	}
	ev, err := s.tracking.Evidence(r.Context())
	if err != nil {
		return trackingTrace{}, tr, err
	}
	out := trackingTrace{MessageID: tr.MessageID, IDs: tr.IDs, Sender: tr.Sender, Recipients: tr.Recipients,
		State: string(tr.State), Complete: tr.Complete, TotalMS: tr.TotalMS, SlowHop: tr.SlowHop,
		Gaps: tr.Gaps, Hops: tr.Hops, Findings: ev.Findings(tr)}
	if subjects {
		if err := s.auditSubjects(r, "trace "+tr.MessageID, 1); err != nil {
			return trackingTrace{}, tr, err
		}
		sub := tr.Subject
		out.Subject = &sub
	} else {
		tr.Subject = ""
	}
	return out, tr, nil
}

// getTrackingTrace answers one message's trace: its hops, gaps, state
// and completeness. The id may be any id the message is known by
// (message id, MTS-ID, remote id), path-escaped.
func (s *Server) getTrackingTrace(w http.ResponseWriter, r *http.Request) {
	id, err := url.PathUnescape(r.PathValue("message_id"))
	if err != nil || id == "" {
		s.error(w, r, mailnet.Invalid("message_id", "message_id is not a path-escaped id"))
		return
	}
	out, _, err := s.loadTrace(r, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// postSubjectGrant grants or revokes the subject view to an account or a
// token: {"kind": "account"|"token", "id": N, "grant": true|false}.
func (s *Server) postSubjectGrant(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Kind  string `json:"kind"`
		ID    int64  `json:"id"`
		Grant *bool  `json:"grant"`
	}
	if err := DecodeStrict(r.Body, &in); err != nil {
		s.error(w, r, err)
		return
	}
	if in.Grant == nil {
		s.error(w, r, mailnet.Invalid("grant", "grant is required (true or false)"))
		return
	}
	if err := (tracking.Subjects{St: s.store}).Set(r.Context(), in.Kind, in.ID, *in.Grant); err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": in.Kind, "id": in.ID, "grant": *in.Grant})
}

// getSubjectGrants lists who holds the subject grant.
func (s *Server) getSubjectGrants(w http.ResponseWriter, r *http.Request) {
	gs, err := tracking.Subjects{St: s.store}.List(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"grants": gs})
}

// getExchangeLogEvents says how POST /api/v1/tracking/exchange-log reads
// each Q173364 event number: the tracking event it becomes, or skipped.
func (s *Server) getExchangeLogEvents(w http.ResponseWriter, r *http.Request) {
	type row struct {
		Number int     `json:"number"`
		Event  *string `json:"event"` // null: skipped (not a hop of the message)
	}
	out := make([]row, 0, len(tracking.ExchangeEventNumbers))
	for _, n := range tracking.ExchangeEventNumbers {
		ev, hop, _ := tracking.ExchangeEvent(n)
		rw := row{Number: n}
		if hop {
			e := string(ev)
			rw.Event = &e
		}
		out = append(out, rw)
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
}
