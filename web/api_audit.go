package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
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
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, mailnet.Invalid("from", "from (%s) is later than to (%s): nothing can match",
			strings.TrimSpace(q.Get("from")), strings.TrimSpace(q.Get("to")))
	}
	return f, nil
}

// auditActions and auditObjectTypes are the filters' choices: every action
// and object type the console writes to the audit log.
var (
	auditActions = []string{
		"account.create", "account.disable", "account.enable", "account.password_reset", "account.role",
		"auth.device_login", "auth.device_login_failed", "auth.login", "auth.login_failed", "auth.logout",
		"connector.create", "connector.update", "dx.update", "message.deliver",
		"move.cancel", "move.cancelled", "move.complete", "move.fail", "move.start",
		"requestor.create", "requestor.export_on_next_cycle",
		"server.create", "server.decommission", "server.delete", "server.update",
		"site.create", "token.create", "token.revoke", "user.create", "user.move",
	}
	auditObjectTypes = []string{"account", "connector", "dx_server", "job", "requestor", "server", "site", "token", "user"}
)

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
// filtered view can be bookmarked and shared: objects by name and linked,
// a field-level diff of before and after, the raw JSON behind a toggle.
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	v := views.AuditView{Filter: views.AuditFilterView{
		Actor: q.Get("actor"), ObjectType: q.Get("object_type"), ObjectID: q.Get("object_id"),
		Action: q.Get("action"), From: q.Get("from"), To: q.Get("to"),
	}, Actions: auditActions, ObjectTypes: auditObjectTypes}
	status := http.StatusOK
	f, err := parseAuditFilter(q)
	if err != nil {
		e, _ := mailnet.AsError(err)
		status, v.Error, v.ErrorField = statusOf(e.Kind), e.Message, e.Field
	} else {
		page, err := s.store.AuditLog(ctx, f)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if v.Names, err = s.store.AuditNames(ctx, page.Entries); err != nil {
			s.error(w, r, err)
			return
		}
		for _, e := range page.Entries {
			v.Rows = append(v.Rows, views.AuditRow{Entry: e, Diff: auditDiff(e.Before, e.After),
				RawBefore: indentJSON(e.Before), RawAfter: indentJSON(e.After)})
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
	s.render(w, r, status, s.pageFor(ctx, "Audit log", "audit"), views.AuditBody(v))
}

// auditDiff compares an audit row's before and after field by field: the
// fields that differ (all of after's for a creation, all of before's for
// a removal), sorted by name. Values that are not objects compare whole.
func auditDiff(before, after any) []views.AuditChange {
	b, bok := asObject(before)
	a, aok := asObject(after)
	if !bok && !aok {
		if before == nil && after == nil {
			return nil
		}
		bs, as := compactJSON(before), compactJSON(after)
		if bs == as {
			return nil
		}
		return []views.AuditChange{{Field: "", Before: bs, After: as}}
	}
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range a {
		keys[k] = true
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	slices.Sort(names)
	var out []views.AuditChange
	for _, k := range names {
		bv, inB := b[k]
		av, inA := a[k]
		bs, as := "", ""
		if inB {
			bs = string(bv)
		}
		if inA {
			as = string(av)
		}
		if bs == as {
			continue
		}
		out = append(out, views.AuditChange{Field: k, Before: bs, After: as})
	}
	return out
}

// asObject reads v (a json.RawMessage from the store, or any value) as a
// JSON object with its values compacted.
func asObject(v any) (map[string]json.RawMessage, bool) {
	if v == nil {
		return nil, false
	}
	raw, ok := v.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(v); err != nil {
			return nil, false
		}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, false
	}
	for k, val := range m {
		var buf bytes.Buffer
		if json.Compact(&buf, val) == nil {
			m[k] = buf.Bytes()
		}
	}
	return m, true
}

func indentJSON(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
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
