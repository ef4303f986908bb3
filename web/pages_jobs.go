package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/web/views"
)

// jobItemsShown bounds the per-user rows of a job page (and of each 1 s
// refresh of its progress): an evacuation can hold thousands of users.
const jobItemsShown = 300

// jobsShown is how many jobs the history lists.
const jobsShown = 200

// pageJobs is the history of jobs, newest first. ?started=1,2 highlights
// jobs a form has just started.
func (s *Server) pageJobs(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	jobs, err := s.store.Jobs(ctx, jobsShown)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p := &views.JobsPage{Jobs: jobs, Started: map[int64]bool{}}
	for _, raw := range strings.Split(r.URL.Query().Get("started"), ",") {
		if id, err := strconv.ParseInt(raw, 10, 64); err == nil {
			p.Started[id] = true
		}
	}
	// The names of the listed jobs' servers only, not the network's
	// 10,000 (30 ms of CPU for a 2 KB page).
	ids := make([]int64, 0, 2*len(jobs))
	for _, j := range jobs {
		ids = append(ids, j.FromServerID, j.ToServerID)
	}
	if p.Names, err = s.store.ReportServerNames(ctx, ids); err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, s.pageFor(ctx, "Jobs", "jobs"), views.JobsBody(p))
}

// jobData builds the job page: the job, its first items (the ones in
// progress or failed first), the rate and the time left.
func (s *Server) jobData(ctx context.Context, id int64) (*views.JobPage, error) {
	j, err := s.store.Job(ctx, id)
	if err != nil {
		return nil, err
	}
	p := &views.JobPage{Job: j, Items: j.Items}
	p.Job.Items = nil
	slices.SortStableFunc(p.Items, func(a, b mailnet.MoveItem) int { return itemRank(a.State) - itemRank(b.State) })
	if len(p.Items) > jobItemsShown {
		p.More = len(p.Items) - jobItemsShown
		p.Items = p.Items[:jobItemsShown]
	}
	p.Rate, p.Left, p.Elapsed = jobRate(j, s.now())
	ids := []int64{j.ToServerID}
	for _, it := range j.Items {
		if !slices.Contains(ids, it.FromServerID) {
			ids = append(ids, it.FromServerID)
			p.Sources = append(p.Sources, it.FromServerID)
		}
	}
	if p.Names, err = s.store.ReportServerNames(ctx, ids); err != nil {
		return nil, err
	}
	// After the move, a source left without users can be decommissioned.
	if j.Finished() {
		for _, src := range p.Sources {
			sv, err := s.store.ServerByID(ctx, src)
			if err != nil {
				continue
			}
			if sv.UserCount == 0 && sv.Status != mailnet.StatusDecommissioned {
				p.Emptied = append(p.Emptied, sv)
			}
		}
	}
	return p, nil
}

// itemRank orders items: in progress, failed, queued, then finished.
func itemRank(state string) int {
	switch state {
	case mailnet.ItemCopying, mailnet.ItemVerified, mailnet.ItemSwitched:
		return 0
	case mailnet.ItemFailed:
		return 1
	case mailnet.ItemQueued:
		return 2
	}
	return 3
}

// jobRate is the average rate in messages per second since the job
// started, the time left at that rate, and the time it has run.
func jobRate(j mailnet.JobDetail, now time.Time) (rate float64, left, elapsed time.Duration) {
	if j.StartedAt.IsZero() {
		return 0, 0, 0
	}
	end := now
	if !j.FinishedAt.IsZero() {
		end = j.FinishedAt
	}
	elapsed = end.Sub(j.StartedAt)
	if elapsed <= 0 {
		return 0, 0, 0
	}
	rate = float64(j.Done) / elapsed.Seconds()
	if rate > 0 && !j.Finished() && j.Total > j.Done {
		left = time.Duration(float64(j.Total-j.Done) / rate * float64(time.Second))
	}
	return rate, left, elapsed
}

// pageJob shows one job with live progress. An htmx request (the 1 s
// refresh while the job runs) gets only the progress fragment, which
// stops refreshing once the job has finished.
func (s *Server) pageJob(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, ok := pathID(r, "id")
	if !ok {
		s.error(w, r, mailnet.NotFound("job", r.PathValue("id")))
		return
	}
	p, err := s.jobData(ctx, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	switch r.URL.Query().Get("cancel") {
	case "requested":
		p.Notice = "Cancel requested: users not yet switched stay on their server with every message; users already switched complete their move."
	case "done":
		p.Notice = "Cancelled before it started: nothing was copied."
	}
	if isFragment(r) {
		s.renderFragment(w, r, views.JobProgress(p))
		return
	}
	s.render(w, r, http.StatusOK, s.pageFor(ctx, "Job "+strconv.FormatInt(id, 10), "jobs"), views.JobBody(p))
}

// pageJobCancel cancels a job and shows it again; a finished job is a 409
// on the job page.
func (s *Server) pageJobCancel(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, ok := pathID(r, "id")
	if !ok {
		s.error(w, r, mailnet.NotFound("job", r.PathValue("id")))
		return
	}
	res, err := s.actions.CancelJob(ctx, id)
	if err != nil {
		e, isDomain := mailnet.AsError(err)
		if !isDomain || e.Kind != mailnet.KindConflict {
			s.error(w, r, err)
			return
		}
		p, err2 := s.jobData(ctx, id)
		if err2 != nil {
			s.error(w, r, errors.Join(err, err2))
			return
		}
		p.Error = e.Message
		s.render(w, r, http.StatusConflict, s.pageFor(ctx, "Job "+strconv.FormatInt(id, 10), "jobs"), views.JobBody(p))
		return
	}
	to := "/jobs/" + strconv.FormatInt(id, 10) + "?cancel=requested"
	if res.Immediate {
		to = "/jobs/" + strconv.FormatInt(id, 10) + "?cancel=done"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
