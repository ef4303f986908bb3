package web

import (
	"cmp"
	"net/http"
	"slices"

	"mailnet/internal/reports"
	"mailnet/web/views"
)

// pageX400 is the X.400 connector check (Event 9301, KB197378).
func (s *Server) pageX400(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fs, err := reports.X400(ctx, s.store)
	if err != nil {
		s.error(w, r, err)
		return
	}
	// Problems first, so the connectors that log 9301 are at the top.
	slices.SortStableFunc(fs, func(a, b reports.X400Finding) int {
		return cmp.Compare(x400Rank(a.Status), x400Rank(b.Status))
	})
	s.render(w, r, http.StatusOK, s.pageFor(ctx, "X.400 connector check (Event 9301)", "x400"), views.X400Body(fs))
}

func x400Rank(status string) int {
	switch status {
	case reports.X400NoFlow:
		return 0
	case reports.X400Failing:
		return 1
	case reports.X400Intermittent:
		return 2
	}
	return 3
}
