package web

import (
	"net/http"
	"strconv"

	"mailnet/internal/actions"
	"mailnet/internal/mailnet"
)

// apiMoveCreate queues a move: {"user_ids": [...], "to_server_id": N}, or
// {"from_server_id": N, "to_server_id": M, "all": true} to evacuate a
// server. 202 with the job; total and done count messages.
func (s *Server) apiMoveCreate(w http.ResponseWriter, r *http.Request) {
	var req actions.MoveRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		s.error(w, r, err)
		return
	}
	j, err := s.actions.StartMove(r.Context(), req)
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/jobs/"+strconv.FormatInt(j.ID, 10))
	writeJSON(w, http.StatusAccepted, j)
}

// apiJobList lists jobs, newest first: {"jobs": [...]}; ?limit= (default 100).
func (s *Server) apiJobList(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 1000 {
			s.error(w, r, mailnet.Invalid("limit", "limit must be a number from 1 to 1000"))
			return
		}
		limit = n
	}
	jobs, err := s.store.Jobs(r.Context(), limit)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": jobs})
}

// apiJobGet returns a job with its per-user items.
func (s *Server) apiJobGet(w http.ResponseWriter, r *http.Request) {
	id, err := apiPathID(r, "id", "job")
	if err != nil {
		s.error(w, r, err)
		return
	}
	j, err := s.store.Job(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// apiJobCancel cancels a job: 200 when it had not started (now
// cancelled), 202 when the runner will stop it, 409 when it has finished.
func (s *Server) apiJobCancel(w http.ResponseWriter, r *http.Request) {
	id, err := apiPathID(r, "id", "job")
	if err != nil {
		s.error(w, r, err)
		return
	}
	res, err := s.actions.CancelJob(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	status := http.StatusAccepted
	if res.Immediate {
		status = http.StatusOK
	}
	writeJSON(w, status, res)
}
