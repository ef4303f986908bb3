package web

import (
	"net/http"

	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"mailnet/web/views"
)

// hiddenUsersShown is how many hidden users the page names per group.
const hiddenUsersShown = 12

// pageDuplicates is the duplicate-serial detector (Q99393).
func (s *Server) pageDuplicates(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	groups, err := reports.Duplicates(ctx, s.store)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p := &views.DuplicatesPage{Groups: groups, HiddenShown: hiddenUsersShown}
	if len(groups) > 0 {
		if p.Names, err = s.store.ServerNameMap(ctx); err != nil {
			s.error(w, r, err)
			return
		}
		p.HiddenUsers = map[string][]mailnet.User{}
		for _, g := range groups {
			for _, id := range g.HiddenUserIDs[:min(len(g.HiddenUserIDs), hiddenUsersShown)] {
				u, err := s.store.UserByID(ctx, id)
				if err != nil {
					s.error(w, r, err)
					return
				}
				p.HiddenUsers[g.Serial] = append(p.HiddenUsers[g.Serial], u)
			}
		}
	}
	page := s.pageFor(ctx, "Duplicate serial numbers", "duplicates")
	page.DuplicateGroups = len(groups)
	s.render(w, r, http.StatusOK, page, views.DuplicatesBody(p))
}
