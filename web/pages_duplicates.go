package web

import (
	"context"
	"net/http"
	"slices"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
	"mailnet/web/views"
)

// hiddenUsersShown is how many hidden users the page names per group.
const hiddenUsersShown = 12

// pageDuplicates is the duplicate-serial detector (Q99393), from the
// document the API serves too (s.duplicates): built once per store write
// version, with the page's names and hidden users read once beside it.
func (s *Server) pageDuplicates(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	doc, err := s.duplicates.Get(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	doc.pageMu.Lock()
	if doc.page == nil {
		p, err := duplicatesPage(ctx, s.store, doc)
		if err != nil {
			doc.pageMu.Unlock()
			s.error(w, r, err)
			return
		}
		doc.page = &p
	}
	p := *doc.page
	doc.pageMu.Unlock()
	// The navigation badge counts the groups the page lists: no second
	// read of the serials.
	page := pageWithoutCount(ctx, "Duplicate serial numbers", "duplicates")
	page.DuplicateGroups = len(doc.groups)
	s.render(w, r, http.StatusOK, page, views.DuplicatesBody(&p))
}

// duplicatesPage reads what the page shows beside the groups: the names of
// the servers it links (the groups', their routes' ends and the suggested
// targets) and the first hiddenUsersShown hidden users of each group.
func duplicatesPage(ctx context.Context, st *store.Store, doc *duplicatesDoc) (views.DuplicatesPage, error) {
	p := views.DuplicatesPage{Groups: doc.groups, HiddenShown: hiddenUsersShown}
	if len(doc.groups) == 0 {
		return p, nil
	}
	var ids, users []int64
	for _, g := range doc.groups {
		ids = append(ids, g.ServerIDs...)
		ids = append(ids, g.Recommendation.TargetServerID)
		for _, rt := range g.RoutesNoConnection {
			ids = append(ids, rt.FromServerID, rt.ToServerID, rt.ViaServerID)
		}
		users = append(users, g.HiddenUserIDs[:min(len(g.HiddenUserIDs), hiddenUsersShown)]...)
	}
	byID, err := st.ReportUsersByIDs(ctx, users)
	if err != nil {
		return p, err
	}
	p.HiddenUsers = map[string][]mailnet.User{}
	for _, g := range doc.groups {
		for _, id := range g.HiddenUserIDs[:min(len(g.HiddenUserIDs), hiddenUsersShown)] {
			u, ok := byID[id]
			if !ok {
				return p, mailnet.NotFound("user", id)
			}
			p.HiddenUsers[g.Serial] = append(p.HiddenUsers[g.Serial], u)
			ids = append(ids, u.ServerID)
		}
	}
	slices.Sort(ids)
	ids = slices.DeleteFunc(slices.Compact(ids), func(id int64) bool { return id == 0 })
	if p.Names, err = st.ReportServerNames(ctx, ids); err != nil {
		return p, err
	}
	return p, nil
}
