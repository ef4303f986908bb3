package web

import (
	"net/http"

	"mailnet/internal/reports"
	"mailnet/web/views"
)

// pageDirSync is the dir-sync status of every requestor.
func (s *Server) pageDirSync(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rows, err := reports.DirSync(ctx, s.store, s.now(), reports.DefaultSilentCycles)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, s.pageFor(ctx, "Directory synchronization status", "dirsync"), views.DirSyncBody(rows))
}
