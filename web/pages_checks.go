package web

import (
	"net/http"

	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"mailnet/web/views"
)

// x400PageSize is the number of findings a page of the X.400 check
// shows: the rest is a click away, never in the same document.
const x400PageSize = 100

// pageX400 is the X.400 connector check (Event 9301, KB197378): one page
// of findings, problems first (the default filter), paged server-side by
// connector id with the same filters as the API (status, site_id,
// server_id, after_id, limit); only the rows shown get their text.
func (s *Server) pageX400(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q, err := x400PageQuery(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	res, err := s.x400.Check(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	v := &views.X400View{Counts: res.Counts(), Total: res.Len(), Query: q, UnknownCallers: res.UnknownCallers, MTA: res.MTA}
	if r.URL.Query().Get("status") == "" && v.Problems() == 0 {
		v.Query.Status = "" // nothing to put first: every connector
	}
	v.Findings, v.Next = res.Page(v.Query)
	if v.Sites, err = s.store.Sites(ctx); err != nil {
		s.error(w, r, err)
		return
	}
	if q.ServerID != 0 {
		names, err := s.store.ReportServerNames(ctx, []int64{q.ServerID})
		if err != nil {
			s.error(w, r, err)
			return
		}
		v.ServerName = names[q.ServerID]
	}
	if pr := mailnet.PrincipalFrom(ctx); pr != nil {
		v.Admin = pr.Role.Allows(mailnet.RoleAdmin)
	}
	s.render(w, r, http.StatusOK, s.pageFor(ctx, "X.400 connector check (Event 9301)", "x400"), views.X400Body(v))
}

// x400PageQuery reads the page's filters: the API's (x400Query), with
// "problems" when no status is given and "all" for every status.
func x400PageQuery(r *http.Request) (reports.X400Query, error) {
	st := r.URL.Query().Get("status")
	in := r
	if st == "" || st == "all" {
		in = r.Clone(r.Context())
		qv := in.URL.Query()
		qv.Del("status")
		in.URL.RawQuery = qv.Encode()
	}
	q, err := x400Query(in)
	if st == "" {
		q.Status = "problems"
	}
	if r.URL.Query().Get("limit") == "" || q.Limit > x400PageSize {
		q.Limit = x400PageSize
	}
	return q, err
}
