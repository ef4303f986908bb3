package web

import (
	"net/http"
	"net/url"
	"strings"

	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"mailnet/web/views"
)

// serverFilter reads the report's query string. It returns the filter as
// the page echoes it and the query for reports.
func serverFilter(v url.Values) (views.ServerFilter, reports.ServerQuery, error) {
	f := views.ServerFilter{
		Q:          strings.TrimSpace(v.Get("q")),
		Site:       v.Get("site"),
		Kind:       v.Get("kind"),
		Status:     v.Get("status"),
		Duplicates: v.Get("duplicates") == "1" || v.Get("duplicates") == "true" || v.Get("duplicates") == "on",
		Sort:       v.Get("sort"),
		Dir:        v.Get("dir"),
	}
	q := reports.ServerQuery{Q: f.Q, Kind: f.Kind, Status: f.Status, DuplicateOnly: f.Duplicates, Sort: f.Sort}
	if len(f.Q) > 200 {
		return f, q, mailnet.Invalid("q", "the search is longer than 200 characters")
	}
	if f.Site != "" {
		id, ok := parseID(f.Site)
		if !ok || id <= 0 {
			return f, q, mailnet.Invalid("site", "site must be a site id")
		}
		q.SiteID = id
	}
	switch f.Dir {
	case "", "asc":
	case "desc":
		q.Desc = true
	default:
		return f, q, mailnet.Invalid("dir", "dir must be asc or desc")
	}
	if f.Sort == "" {
		f.Sort, f.Dir = "name", "asc"
	}
	var err error
	if f.Page, err = pageNumber(v, "page"); err != nil {
		return f, q, err
	}
	if f.PerPage, err = perPage(v); err != nil {
		return f, q, err
	}
	return f, q, q.Validate()
}

// pageNumber reads a page's 1-based number from v[name] (1 when absent).
// A number past the last page shows the last.
func pageNumber(v url.Values, name string) (int, error) {
	s := v.Get(name)
	if s == "" {
		return 1, nil
	}
	n, ok := parseID(s)
	if !ok || n < 1 || n > 1_000_000 {
		return 0, mailnet.Invalid(name, "%s must be a page number from 1", name)
	}
	return int(n), nil
}

// perPage reads per_page: rows per page, 10 to views.MaxPerPage (default
// views.DefaultPerPage).
func perPage(v url.Values) (int, error) {
	s := v.Get("per_page")
	if s == "" {
		return views.DefaultPerPage, nil
	}
	n, ok := parseID(s)
	if !ok || n < 10 || n > int64(views.MaxPerPage) {
		return 0, mailnet.Invalid("per_page", "per_page must be a number from 10 to %d", views.MaxPerPage)
	}
	return int(n), nil
}

// pageServers is the Global Server Report. An htmx request (the filter
// form, a column heading) gets only the report fragment.
func (s *Server) pageServers(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f, q, err := serverFilter(r.URL.Query())
	if err != nil {
		s.error(w, r, err)
		return
	}
	loaded, err := s.store.ReportServers(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	conns, err := s.store.ReportConnectorIDsByServer(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	rows := reports.BuildServerRows(loaded, conns, q)
	rep := &views.ServerReport{Matched: len(rows), Total: len(loaded), Filter: f}
	var lo, hi int
	rep.Filter.Page, lo, hi = views.PageBounds(f.Page, f.PerPage, len(rows))
	rep.Rows = rows[lo:hi]
	rep.Pager = views.Pager{Page: rep.Filter.Page, PerPage: f.PerPage, Total: len(rows), Target: "#report",
		Href: func(page int) string { return views.ServersHref(rep.Filter.WithPage(page)) }}
	conflicts := reports.ConflictsOfRows(loaded)
	rep.Flagged, rep.Impacted = len(conflicts.Group), len(conflicts.Impacted)
	if isFragment(r) {
		s.renderFragment(w, r, views.ServerReportFragment(rep))
		return
	}
	if rep.Sites, err = s.store.Sites(ctx); err != nil {
		s.error(w, r, err)
		return
	}
	p := pageWithoutCount(ctx, "Global Server Report", "servers")
	p.DuplicateGroups = conflicts.Groups
	s.render(w, r, http.StatusOK, p, views.ServersPage(rep))
}
