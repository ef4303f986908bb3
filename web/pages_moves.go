package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"mailnet/internal/actions"
	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"mailnet/internal/store"
	"mailnet/web/views"
)

// maxFormBody bounds a move form: up to actions.MaxMoveUsers ids.
const maxFormBody = 256 << 10

// moveUsersShown is how many users a move page lists per search or source.
const moveUsersShown = 200

// maxPreviewUsers bounds a selection the preview looks up one by one; a
// larger move is an evacuation ("all").
const maxPreviewUsers = 1000

// parseForm reads a POST form with a size limit.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		return mailnet.Errorf(mailnet.KindMalformed, "", "the form could not be read: %v", err)
	}
	return nil
}

// formID reads a positive integer field; "" gives 0.
func formID(v url.Values, field string) (int64, error) {
	raw := v.Get(field)
	if raw == "" {
		return 0, nil
	}
	id, ok := parseID(raw) // canonical, as the API reads ids: not "01" or "+1"
	if !ok || id <= 0 {
		return 0, mailnet.Invalid(field, "%s must be a server id", field)
	}
	return id, nil
}

// formIDs reads every value of a repeated integer field, deduplicated.
func formIDs(v url.Values, field string) ([]int64, error) {
	var out []int64
	for _, raw := range v[field] {
		id, ok := parseID(raw)
		if !ok || id <= 0 {
			return nil, mailnet.Invalid(field, "%s must be user ids", field)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
		if len(out) > actions.MaxMoveUsers {
			return nil, mailnet.Invalid(field, "at most %d users per move; evacuate the whole server instead", actions.MaxMoveUsers)
		}
	}
	return out, nil
}

// formErr turns a domain error into what a form shows next to its field,
// and the status to re-render with; other errors are not form errors.
func formErr(err error) (*views.FormError, int, bool) {
	e, ok := mailnet.AsError(err)
	if !ok {
		return nil, 0, false
	}
	switch e.Kind {
	case mailnet.KindInvalid, mailnet.KindConflict:
		return &views.FormError{Field: e.Field, Message: e.Message}, statusOf(e.Kind), true
	}
	return nil, 0, false
}

// moveTargets lists the servers that users moving off server from (0:
// none in particular) may move to, by the move action's own rule
// (actions.CheckMoveTarget). It also returns every server's name.
func (s *Server) moveTargets(ctx context.Context, c reports.Conflicts, from int64) ([]views.MoveTarget, map[int64]string, error) {
	all, err := s.store.Servers(ctx)
	if err != nil {
		return nil, nil, err
	}
	sites, err := s.store.Sites(ctx)
	if err != nil {
		return nil, nil, err
	}
	siteNames := make(map[int64]string, len(sites))
	for _, st := range sites {
		siteNames[st.ID] = st.Name
	}
	names := make(map[int64]string, len(all))
	var out []views.MoveTarget
	for _, sv := range all {
		names[sv.ID] = sv.Name
		t := store.MoveTarget{ID: sv.ID, Name: sv.Name, Status: sv.Status}
		if c.InGroup(sv.ID) {
			t.SerialTwins = 1
		}
		if actions.CheckMoveTarget(t, from) != nil {
			continue
		}
		out = append(out, views.MoveTarget{ID: sv.ID, Name: sv.Name, Site: siteNames[sv.SiteID], Kind: sv.Kind, Users: sv.UserCount})
	}
	return out, names, nil
}

// ---- Resolve a duplicate-serial group (Q99393) ----

// resolveData builds the resolve page for serial with target to (0: the
// recommended one).
func (s *Server) resolveData(ctx context.Context, serial string, to int64) (*views.ResolvePage, error) {
	p := &views.ResolvePage{Serial: serial}
	if serial == "" || len(serial) > 200 {
		return nil, mailnet.Invalid("serial", "serial is required")
	}
	groups, err := reports.Duplicates(ctx, s.store)
	if err != nil {
		return nil, err
	}
	for i := range groups {
		if groups[i].Serial == serial {
			p.Group = &groups[i]
		}
	}
	c, err := reports.LoadConflicts(ctx, s.store)
	if err != nil {
		return nil, err
	}
	var names map[int64]string
	if p.Targets, names, err = s.moveTargets(ctx, c, 0); err != nil {
		return nil, err
	}
	p.Names = names
	if p.Group == nil {
		return p, nil
	}
	rec := p.Group.Recommendation
	p.To = to
	if p.To == 0 {
		p.To = rec.TargetServerID
	}
	var plans []actions.MovePlan
	for _, id := range rec.RemoveServerIDs {
		for _, sv := range p.Group.Servers {
			if sv.ID != id {
				continue
			}
			src := views.ResolveSource{Server: sv}
			if sv.UserCount > 0 {
				if src.Users, err = s.store.Users(ctx, store.UserFilter{ServerID: sv.ID, Limit: moveUsersShown}); err != nil {
					return nil, err
				}
				mp := actions.MovePlan{ToServerID: p.To, FromServerID: sv.ID, All: true, Users: sv.UserCount, Messages: sv.MessageCount}
				src.Plan = mp.ID()
				plans = append(plans, mp)
			}
			p.Sources = append(p.Sources, src)
			p.TotalUsers += sv.UserCount
			p.TotalMessages += sv.MessageCount
		}
	}
	p.Plan = actions.ResolvePlanID(p.Serial, p.To, plans)
	return p, nil
}

// pageResolve shows how a duplicate-serial group resolves: the server to
// keep, the users to move off the others, a target and a preview, then
// decommission. ?serial= names the group, ?to= the target.
func (s *Server) pageResolve(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	to, err := formID(q, "to")
	if err != nil {
		s.error(w, r, err)
		return
	}
	p, err := s.resolveData(ctx, strings.TrimSpace(q.Get("serial")), to)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if p.Group != nil && to != 0 {
		if err := s.actions.CheckMoveTo(ctx, 0, to); err != nil {
			p.Error, _, _ = formErr(err)
			s.renderResolve(w, r, http.StatusUnprocessableEntity, p)
			return
		}
	}
	s.renderResolve(w, r, http.StatusOK, p)
}

func (s *Server) renderResolve(w http.ResponseWriter, r *http.Request, status int, p *views.ResolvePage) {
	page := s.pageFor(r.Context(), "Resolve serial "+p.Serial, "duplicates")
	s.render(w, r, status, page, views.ResolveBody(p))
}

// pageResolveStart starts one evacuation job per server to remove that
// still has users, to the chosen target, and shows the (first) job.
func (s *Server) pageResolveStart(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	to, err := formID(r.PostForm, "to")
	if err != nil {
		to = 0
	}
	p, perr := s.resolveData(ctx, strings.TrimSpace(r.PostForm.Get("serial")), to)
	if perr != nil {
		s.error(w, r, perr)
		return
	}
	if p.Group == nil {
		s.error(w, r, mailnet.Conflict("serial %s is no longer shared by two servers: nothing to resolve", p.Serial))
		return
	}
	if err == nil {
		err = s.actions.CheckMoveTo(ctx, 0, to)
	}
	if err == nil && p.TotalUsers == 0 {
		err = mailnet.Conflict("the servers to remove have no users left: decommission them")
	}
	if err == nil && r.PostForm.Get("plan") != p.Plan {
		// The target or the users changed since the preview (or the form
		// showed none): show the preview of what Start would do now.
		err = mailnet.Errorf(mailnet.KindConflict, "plan",
			"the target or the users to move changed since the preview: review this preview and start again")
	}
	if err != nil {
		fe, status, ok := formErr(err)
		if !ok {
			s.error(w, r, err)
			return
		}
		p.Error = fe
		s.renderResolve(w, r, status, p)
		return
	}
	var jobs []int64
	for _, src := range p.Sources {
		if src.Server.UserCount == 0 {
			continue
		}
		j, err := s.actions.StartMove(ctx, actions.MoveRequest{FromServerID: src.Server.ID, ToServerID: to, All: true, Plan: src.Plan})
		if err != nil {
			fe, status, ok := formErr(err)
			if !ok {
				s.error(w, r, err)
				return
			}
			if len(jobs) > 0 {
				fe.Message += " (jobs " + joinIDs(jobs) + " were started already: see the Jobs page)"
			}
			p.Error = fe
			s.renderResolve(w, r, status, p)
			return
		}
		jobs = append(jobs, j.ID)
	}
	if len(jobs) == 1 {
		http.Redirect(w, r, "/jobs/"+strconv.FormatInt(jobs[0], 10), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/jobs?started="+joinIDs(jobs), http.StatusSeeOther)
}

func joinIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

// ---- Move users of one server ----

// moveForm is the move form's input, from the query (search, preview)
// or the POST body (start).
type moveForm struct {
	Q        string
	UserIDs  []int64
	All      bool
	To       int64
	Preview  bool
	Plan     string // the identity of the preview Start was pressed on
	fieldErr error
}

func readMoveForm(v url.Values) moveForm {
	f := moveForm{Q: strings.TrimSpace(v.Get("q")), All: v.Get("all") != "", Preview: v.Get("step") == "preview", Plan: v.Get("plan")}
	var err error
	if len(f.Q) > 200 {
		f.fieldErr = mailnet.Invalid("q", "the search is longer than 200 characters")
		f.Q = f.Q[:200]
	}
	if f.UserIDs, err = formIDs(v, "user"); err != nil {
		f.fieldErr = err
	}
	if f.To, err = formID(v, "to"); err != nil {
		f.fieldErr = err
	}
	return f
}

// moveData builds the move page of server id for f; it validates f and
// computes the preview when f asks for one (or when start is set). An
// error with a nil page is fatal; with a page, it is the form's error.
func (s *Server) moveData(ctx context.Context, id int64, f moveForm, start bool) (*views.MovePage, error) {
	sv, err := s.store.ServerByID(ctx, id)
	if err != nil {
		return nil, err
	}
	c, err := reports.LoadConflicts(ctx, s.store)
	if err != nil {
		return nil, err
	}
	p := &views.MovePage{Server: sv, Q: f.Q, All: f.All, To: f.To, Selected: map[int64]bool{}, Limit: moveUsersShown}
	if p.Targets, p.Names, err = s.moveTargets(ctx, c, sv.ID); err != nil {
		return nil, err
	}
	if p.Users, err = s.store.Users(ctx, store.UserFilter{ServerID: sv.ID, Q: f.Q, Limit: moveUsersShown}); err != nil {
		return nil, err
	}
	for _, uid := range f.UserIDs {
		p.Selected[uid] = true
	}
	if f.fieldErr != nil {
		return p, f.fieldErr
	}
	if !f.Preview && !start {
		return p, nil
	}
	// The preview: what would move, from where to where. The target
	// rule is the move action's, so the preview refuses what the API does.
	if err := s.actions.CheckMoveTo(ctx, sv.ID, f.To); err != nil {
		return p, err
	}
	pv := &views.MovePreview{All: f.All, From: sv, ToName: p.Names[f.To], To: f.To}
	switch {
	case f.All:
		if sv.UserCount == 0 {
			return p, mailnet.Invalid("user", "%s has no users to move", sv.Name)
		}
		pv.Users, pv.Messages = sv.UserCount, sv.MessageCount
	case len(f.UserIDs) == 0:
		return p, mailnet.Invalid("user", "select at least one user, or all users (evacuate)")
	case len(f.UserIDs) > maxPreviewUsers:
		return p, mailnet.Invalid("user", "at most %d selected users; evacuate the whole server instead", maxPreviewUsers)
	default:
		for _, uid := range f.UserIDs {
			u, err := s.store.UserByID(ctx, uid)
			if errors.Is(err, mailnet.ErrNotFound) {
				return p, mailnet.Invalid("user", "user %d does not exist", uid)
			}
			if err != nil {
				return nil, err
			}
			if u.ServerID != sv.ID {
				return p, mailnet.Invalid("user", "user %s is not homed on %s", u.Alias, sv.Name)
			}
			pv.Users++
			pv.Messages += u.MessageCount
			pv.UserIDs = append(pv.UserIDs, u.ID)
			if len(pv.Sample) < 20 {
				pv.Sample = append(pv.Sample, u)
			}
		}
	}
	plan := actions.MovePlan{ToServerID: pv.To, All: pv.All, UserIDs: pv.UserIDs, Users: pv.Users, Messages: pv.Messages}
	if pv.All {
		plan.FromServerID = sv.ID
	}
	pv.Plan = plan.ID()
	p.Preview = pv
	return p, nil
}

// pageMove is the move form of a server: search its users (q), select
// some or all (evacuate), choose a target, preview.
func (s *Server) pageMove(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	if !ok {
		s.error(w, r, mailnet.NotFound("server", r.PathValue("id")))
		return
	}
	p, ferr := s.moveData(r.Context(), id, readMoveForm(r.URL.Query()), false)
	if p == nil {
		s.error(w, r, ferr)
		return
	}
	status := http.StatusOK
	if ferr != nil {
		fe, st, ok := formErr(ferr)
		if !ok {
			s.error(w, r, ferr)
			return
		}
		p.Error, status = fe, st
	}
	s.renderMove(w, r, status, p)
}

func (s *Server) renderMove(w http.ResponseWriter, r *http.Request, status int, p *views.MovePage) {
	page := s.pageFor(r.Context(), "Move users off "+p.Server.Name, "servers")
	s.render(w, r, status, page, views.MoveBody(p))
}

// pageMoveStart starts the move the preview showed and shows its job.
func (s *Server) pageMoveStart(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	if !ok {
		s.error(w, r, mailnet.NotFound("server", r.PathValue("id")))
		return
	}
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	f := readMoveForm(r.PostForm)
	p, ferr := s.moveData(r.Context(), id, f, true)
	if p == nil {
		s.error(w, r, ferr)
		return
	}
	if ferr == nil && f.Plan != p.Preview.Plan {
		// What Start would move is not what the preview showed (another
		// selection or target, or the users changed): show the new preview.
		ferr = mailnet.Errorf(mailnet.KindConflict, "plan",
			"the selection or the target changed since the preview: review this preview and start again")
	}
	if ferr == nil {
		req := actions.MoveRequest{ToServerID: f.To, Plan: f.Plan}
		if f.All {
			req.All, req.FromServerID = true, id
		} else {
			req.UserIDs = p.Preview.UserIDs
		}
		var j mailnet.JobDetail
		if j, ferr = s.actions.StartMove(r.Context(), req); ferr == nil {
			http.Redirect(w, r, "/jobs/"+strconv.FormatInt(j.ID, 10), http.StatusSeeOther)
			return
		}
	}
	fe, status, ok := formErr(ferr)
	if !ok {
		s.error(w, r, ferr)
		return
	}
	// The API names user_ids and from_server_id; the form's field is "user".
	if fe.Field == "user_ids" || fe.Field == "from_server_id" {
		fe.Field = "user"
	}
	if fe.Field == "plan" {
		// Show the preview of what would move now.
		if np, err := s.moveData(r.Context(), id, f, true); err == nil && np != nil {
			np.Error = fe
			s.renderMove(w, r, status, np)
			return
		}
	}
	p.Error = fe
	s.renderMove(w, r, status, p)
}
