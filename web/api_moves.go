package web

import (
	"net/http"
	"strconv"

	"mailnet/internal/actions"
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

// apiJobList lists jobs, newest first, a page at a time:
// {"jobs": [...], "next_before_id": ID} with ?limit= (default 100, 1 to
// 1000) and ?before_id= (the previous page's next_before_id); the last
// page carries no next_before_id.
func (s *Server) apiJobList(w http.ResponseWriter, r *http.Request) {
	limit, err := queryLimit(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	before, err := queryInt(r, "before_id", 0, 1, 1<<62)
	if err != nil {
		s.error(w, r, err)
		return
	}
	// One more than the page: whether another page follows.
	jobs, err := s.store.JobsBefore(r.Context(), before, limit+1)
	if err != nil {
		s.error(w, r, err)
		return
	}
	body := map[string]any{}
	if len(jobs) > limit {
		jobs = jobs[:limit]
		body["next_before_id"] = jobs[limit-1].ID
	}
	body["jobs"] = jobs
	writeJSON(w, http.StatusOK, body)
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
