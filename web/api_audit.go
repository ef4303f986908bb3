package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
	"mailnet/web/views"
)

// parseAuditFilter reads the audit filters from a query string: actor,
// object_type, object_id, action, from, to (RFC 3339 or YYYY-MM-DD, UTC;
// a bare date as "to" includes that whole day), before (the keyset cursor)
// and limit.
func parseAuditFilter(q url.Values) (store.AuditFilter, error) {
	var f store.AuditFilter
	for _, k := range []string{"actor", "object_type", "object_id", "action", "from", "to", "before", "limit"} {
		if len(q[k]) > 1 {
			return f, mailnet.Errorf(mailnet.KindMalformed, k, "%s is given more than once", k)
		}
		if len(q.Get(k)) > 256 {
			return f, mailnet.Invalid(k, "%s is too long", k)
		}
	}
	f.Actor = strings.TrimSpace(q.Get("actor"))
	f.ObjectType = strings.TrimSpace(q.Get("object_type"))
	f.Action = strings.TrimSpace(q.Get("action"))
	var err error
	if f.ObjectID, err = optInt(q, "object_id"); err != nil {
		return f, err
	}
	if f.Before, err = optInt(q, "before"); err != nil {
		return f, err
	}
	limit, err := optInt(q, "limit")
	if err != nil {
		return f, err
	}
	if limit > 500 {
		return f, mailnet.Invalid("limit", "limit must be at most 500")
	}
	f.Limit = int(limit)
	if f.From, err = optTime(q, "from", false); err != nil {
		return f, err
	}
	if f.To, err = optTime(q, "to", true); err != nil {
		return f, err
	}
	return f, nil
}

func optInt(q url.Values, k string) (int64, error) {
	v := strings.TrimSpace(q.Get(k))
	if v == "" {
		return 0, nil
	}
	n, ok := parseID(v)
	if !ok {
		return 0, mailnet.Invalid(k, "%s must be a whole number, not %q", k, v)
	}
	return n, nil
}

func optTime(q url.Values, k string, endOfDay bool) (time.Time, error) {
	v := strings.TrimSpace(q.Get(k))
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		if endOfDay {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	return time.Time{}, mailnet.Invalid(k, "%s must be a date (2006-01-02) or an RFC 3339 time, not %q", k, v)
}

// apiAudit answers GET /api/v1/audit with the filters in the query:
// {"audit": [...], "next": CURSOR} newest first; pass before=CURSOR for
// the next page (next is 0 on the last page).
func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request) {
	f, err := parseAuditFilter(r.URL.Query())
	if err != nil {
		s.error(w, r, err)
		return
	}
	page, err := s.store.AuditLog(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"audit": page.Entries, "next": page.Next})
}

// auditPage shows the audit log with the same filters, in the URL so a
// filtered view can be bookmarked and shared.
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := views.AuditView{Filter: views.AuditFilterView{
		Actor: q.Get("actor"), ObjectType: q.Get("object_type"), ObjectID: q.Get("object_id"),
		Action: q.Get("action"), From: q.Get("from"), To: q.Get("to"),
	}}
	status := http.StatusOK
	f, err := parseAuditFilter(q)
	if err != nil {
		e, _ := mailnet.AsError(err)
		status, v.Error = statusOf(e.Kind), e.Message
	} else {
		page, err := s.store.AuditLog(r.Context(), f)
		if err != nil {
			s.error(w, r, err)
			return
		}
		for _, e := range page.Entries {
			v.Rows = append(v.Rows, views.AuditRow{ID: e.ID, Time: e.Time.UTC().Format(time.RFC3339), Actor: e.Actor,
				Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID,
				Before: compactJSON(e.Before), After: compactJSON(e.After), Detail: e.Detail})
		}
		if page.Next != 0 {
			nq := url.Values{}
			for k, vs := range q {
				if k != "before" && len(vs) == 1 && vs[0] != "" {
					nq.Set(k, vs[0])
				}
			}
			nq.Set("before", strconv.FormatInt(page.Next, 10))
			v.NextURL = "/audit?" + nq.Encode()
		}
	}
	s.render(w, r, status, s.pageFor(r.Context(), "Audit log", "audit"), views.AuditBody(v))
}

func compactJSON(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
