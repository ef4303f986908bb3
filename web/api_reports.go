package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"mailnet/internal/store"
	"mailnet/web/views"
)

// serverQuery reads the server report's query string: q, site_id (or
// site), kind, status, duplicate_only (or duplicates), sort, and desc=1
// (or dir=desc, order=desc).
func serverQuery(v url.Values) (reports.ServerQuery, error) {
	q := reports.ServerQuery{
		Q:      strings.TrimSpace(v.Get("q")),
		Kind:   v.Get("kind"),
		Status: v.Get("status"),
		Sort:   v.Get("sort"),
	}
	if len(q.Q) > 200 {
		return q, mailnet.Invalid("q", "the search is longer than 200 characters")
	}
	site, siteField := v.Get("site_id"), "site_id"
	if site == "" {
		site, siteField = v.Get("site"), "site"
	}
	if site != "" {
		id, ok := parseID(site)
		if !ok || id <= 0 {
			return q, mailnet.Invalid(siteField, "%s must be a site id", siteField)
		}
		q.SiteID = id
	}
	var err error
	for _, name := range []string{"duplicate_only", "duplicates"} {
		if v.Has(name) {
			if q.DuplicateOnly, err = queryBool(v.Get(name), name); err != nil {
				return q, err
			}
		}
	}
	if v.Has("desc") {
		if q.Desc, err = queryBool(v.Get("desc"), "desc"); err != nil {
			return q, err
		}
	}
	for _, name := range []string{"dir", "order"} {
		switch v.Get(name) {
		case "", "asc":
		case "desc":
			q.Desc = true
		default:
			return q, mailnet.Invalid(name, "%s must be asc or desc", name)
		}
	}
	return q, q.Validate()
}

func queryBool(s, field string) (bool, error) {
	switch strings.ToLower(s) {
	case "", "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, mailnet.Invalid(field, "%s must be true or false", field)
}

// reportFormat picks csv or json from ?format= or, without it, Accept.
func reportFormat(r *http.Request) (format string, download bool, err error) {
	switch f := strings.ToLower(r.URL.Query().Get("format")); f {
	case "csv", "json":
		return f, true, nil
	case "":
		if strings.Contains(r.Header.Get("Accept"), "text/csv") {
			return "csv", true, nil
		}
		return "json", false, nil
	}
	return "", false, mailnet.Invalid("format", "format must be csv or json")
}

// apiReportServers is the Global Server Report: {"servers": [rows]},
// encoded once per query and store version (reports.ServerReportCache),
// so concurrent requests share one build; ?format=csv (or Accept:
// text/csv) and ?format=json download it as a file.
func (s *Server) apiReportServers(w http.ResponseWriter, r *http.Request) {
	format, download, err := reportFormat(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	q, err := serverQuery(r.URL.Query())
	if err != nil {
		s.error(w, r, err)
		return
	}
	body, err := s.serverReports.Get(r.Context(), format, q)
	if err != nil {
		s.error(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if download {
		h.Set("Content-Disposition", `attachment; filename="servers.`+format+`"`)
	}
	if format == "csv" {
		h.Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(body); err != nil {
		s.log.DebugContext(r.Context(), "server report", "format", format, "err", err)
	}
}

// apiReportDuplicates is the duplicate-serial detector: {"groups": [...]}.
// The document is built once per store write version (s.duplicates).
func (s *Server) apiReportDuplicates(w http.ResponseWriter, r *http.Request) {
	doc, err := s.duplicates.Get(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSONBytes(w, http.StatusOK, doc.json)
}

// duplicatesDoc is the duplicate-serial detector at one store write
// version: its groups, their encoded {"groups": [...]}, and what the page
// shows beside them, read on the page's first request at that version.
// Nothing in it changes once built.
type duplicatesDoc struct {
	groups []reports.DuplicateGroup
	json   []byte

	pageMu sync.Mutex
	page   *views.DuplicatesPage // nil until the page's first success
}

// duplicatesBuild builds the document (s.duplicates).
func duplicatesBuild(st *store.Store) func(context.Context) (*duplicatesDoc, error) {
	return func(ctx context.Context) (*duplicatesDoc, error) {
		groups, err := reports.Duplicates(ctx, st)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(map[string]any{"groups": groups}); err != nil {
			return nil, err
		}
		return &duplicatesDoc{groups: groups, json: buf.Bytes()}, nil
	}
}

// apiReportX400 is the X.400 connector check: {"findings": [...],
// "unknown_callers": [...], "next_after_id"}, one finding per x400
// connector in connector id order; ?status= (a status or "problems"),
// server_id=, site_id=, limit= and after_id=.
func (s *Server) apiReportX400(w http.ResponseWriter, r *http.Request) {
	q, err := x400Query(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	res, err := s.x400.Check(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	page, next := res.Page(q)
	body := map[string]any{"findings": page, "unknown_callers": nonNilCallers(res.UnknownCallers), "mta_findings": res.MTA}
	if next != 0 {
		body["next_after_id"] = next
	}
	writeJSON(w, http.StatusOK, body)
}

func nonNilCallers(u []reports.X400UnknownCaller) []reports.X400UnknownCaller {
	if u == nil {
		return []reports.X400UnknownCaller{}
	}
	return u
}

// x400Query reads the X.400 check's filters and page.
func x400Query(r *http.Request) (reports.X400Query, error) {
	limit, after, err := pageParams(r)
	if err != nil {
		return reports.X400Query{}, err
	}
	q := reports.X400Query{Limit: limit, AfterID: after, Status: r.URL.Query().Get("status")}
	if q.Status != "" && !slices.Contains(reports.X400Statuses, q.Status) {
		return q, mailnet.Invalid("status", "status must be one of %s", strings.Join(reports.X400Statuses, ", "))
	}
	if q.ServerID, err = queryInt(r, "server_id", 0, 1, 1<<62); err != nil {
		return q, err
	}
	if q.SiteID, err = queryInt(r, "site_id", 0, 1, 1<<62); err != nil {
		return q, err
	}
	return q, nil
}

// apiReportSerials is the serial family of checks: {"findings": [...]}.
func (s *Server) apiReportSerials(w http.ResponseWriter, r *http.Request) {
	fs, err := reports.SerialChecks(r.Context(), s.store)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"findings": fs})
}

// apiReportDirSync is the dir-sync status: {"requestors": [...]};
// ?silent_cycles=N (default reports.DefaultSilentCycles).
func (s *Server) apiReportDirSync(w http.ResponseWriter, r *http.Request) {
	n := reports.DefaultSilentCycles
	if v := r.URL.Query().Get("silent_cycles"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 10000 {
			s.error(w, r, mailnet.Invalid("silent_cycles", "silent_cycles must be a whole number from 1 to 10000"))
			return
		}
	}
	rows, err := reports.DirSync(r.Context(), s.store, s.now(), n)
	if err != nil {
		s.error(w, r, err)
		return
	}
	// The findings no requestor owns (R21 (b)) beside the requestors'.
	network, err := reports.DirSyncNetworkFindings(r.Context(), s.store)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"requestors": rows, "findings": network})
}
