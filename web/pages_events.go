package web

import (
	"net/http"
	"slices"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
	"mailnet/web/views"
)

// eventPageSize is how many events the event log renders at once.
const eventPageSize = 100

// knownSources are the services of the seed articles, offered by the
// event log's source filter.
var knownSources = []string{"MSExchangeMTA", "MSExchangePCMTA", "MSExchangeDX", "MSMail"}

// pageEvents is the event log: the newest events matching the filters in
// the URL, rendered on the server (readable without scripts); events.js
// then tails the websocket with the same filters from the newest id shown.
func (s *Server) pageEvents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := r.URL.Query()
	p := &views.EventsPage{
		Filter: views.EventFilter{Server: v.Get("server"), Site: v.Get("site"), Source: v.Get("source"),
			EventID: v.Get("event_id"), Severity: v.Get("severity")},
		Live:    true,
		Limit:   eventPageSize,
		Sources: knownSources,
	}
	if p.Filter.Source != "" && !slices.Contains(p.Sources, p.Filter.Source) {
		p.Sources = append(slices.Clone(p.Sources), p.Filter.Source)
	}
	page := s.pageFor(ctx, "Event log", "events")
	// Only the filters of the page reach the shared parser: after_id,
	// types and limit are the page's own business.
	fv := p.Filter.Values()
	problems := p.Filter.Severity == views.SeverityProblems
	if problems {
		fv.Del("severity") // not one severity: the two are set below
	}
	f, err := s.parseEventFilter(r, fv)
	if err != nil {
		e, ok := mailnet.AsError(err)
		if !ok || e.Kind != mailnet.KindInvalid {
			s.error(w, r, err)
			return
		}
		p.Error, p.Field, p.Live = e.Message, e.Field, false
		s.render(w, r, http.StatusUnprocessableEntity, page, views.EventsBody(p))
		return
	}
	q := f.q
	q.Limit = eventPageSize
	if problems {
		q.Severities = []string{mailnet.SeverityWarning, mailnet.SeverityError}
	}
	if b := v.Get("before_id"); b != "" {
		n, ok := parseID(b)
		if !ok || n < 1 {
			p.Error, p.Field, p.Live = "before_id must be a positive integer", "before_id", false
			s.render(w, r, http.StatusUnprocessableEntity, page, views.EventsBody(p))
			return
		}
		q.BeforeID, p.Live = n, false
	}
	p.Events, err = s.store.RecentEvents(ctx, q)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if len(p.Events) == eventPageSize {
		p.BeforeID = p.Events[len(p.Events)-1].ID
	}
	if len(p.Events) > 0 && q.BeforeID == 0 {
		p.LastID = p.Events[0].ID
	} else if p.Live {
		// Nothing matched: resume after the newest event of all, so the
		// stream does not replay history that the filters rule out anyway.
		newest, err := s.store.RecentEvents(ctx, store.EventQuery{EventID: -1, Limit: 1})
		if err != nil {
			s.error(w, r, err)
			return
		}
		if len(newest) > 0 {
			p.LastID = newest[0].ID
		}
	}
	s.render(w, r, http.StatusOK, page, views.EventsBody(p))
}
