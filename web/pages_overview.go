package web

import (
	"net/http"

	"mailnet/web/views"
)

// pageOverview is the console's home: a badge per check linking to its
// page, the jobs that need attention, and the latest changes. The
// figures come from reports.OverviewCache (one build per store version),
// so the page costs a few cached reads at any network size.
func (s *Server) pageOverview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	o, err := s.overview.Get(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p := &views.OverviewPage{O: o}
	if p.Names, err = s.store.AuditNames(ctx, o.Changes); err != nil {
		s.error(w, r, err)
		return
	}
	var ids []int64
	for _, j := range o.Jobs {
		ids = append(ids, j.ToServerID, j.FromServerID)
	}
	if p.Servers, err = s.store.ReportServerNames(ctx, ids); err != nil {
		s.error(w, r, err)
		return
	}
	page := pageWithoutCount(ctx, "Overview", "overview")
	page.DuplicateGroups = o.DuplicateGroups
	s.render(w, r, http.StatusOK, page, views.OverviewBody(p))
}
