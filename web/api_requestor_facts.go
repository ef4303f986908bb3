package web

import (
	"net/http"

	"mailnet/internal/actions"
)

// apiRequestorUpdate is PATCH /api/v1/requestors/{id}/facts: a JSON merge patch
// of the inventory facts the dir-sync rules read (export_containers,
// imported_count, system_recipients).
func (s *Server) apiRequestorUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := apiPathID(r, "id", "requestor")
	if err != nil {
		s.error(w, r, err)
		return
	}
	var p actions.RequestorPatch
	if err := s.decodeJSON(w, r, &p); err != nil {
		s.error(w, r, err)
		return
	}
	out, err := s.actions.UpdateRequestorFacts(r.Context(), id, p)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
