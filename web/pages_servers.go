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
	return f, q, q.Validate()
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
	rep := &views.ServerReport{Rows: reports.BuildServerRows(loaded, conns, q), Total: len(loaded), Filter: f}
	if isFragment(r) {
		s.renderFragment(w, r, views.ServerReportFragment(rep))
		return
	}
	if rep.Sites, err = s.store.Sites(ctx); err != nil {
		s.error(w, r, err)
		return
	}
	p := pageWithoutCount(ctx, "Global Server Report", "servers")
	p.DuplicateGroups = reports.ConflictsOfRows(loaded).Groups
	s.render(w, r, http.StatusOK, p, views.ServersPage(rep))
}
