package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"

	"mailnet/internal/actions"
	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"mailnet/internal/store"
	"mailnet/web/views"
)

// decommissionData builds the confirmation page of server id: what a
// decommission removes (routing entries from, to and via it; connectors
// at either end) and what blocks it, from store.DecommissionPreview: the
// same queries the action runs, on one read snapshot.
func (s *Server) decommissionData(ctx context.Context, id int64) (*views.DecommissionPage, error) {
	sv, err := s.store.ServerByID(ctx, id)
	if err != nil {
		return nil, err
	}
	plan, err := s.store.DecommissionPreview(ctx, id)
	if err != nil {
		return nil, err
	}
	p := &views.DecommissionPage{Server: sv, State: plan.State, Deps: plan.Deps, Jobs: plan.Jobs, Relays: plan.Relays, Plan: plan.ID}
	touching, err := s.store.ReportRoutesTouching(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	for _, rt := range touching { // the relayed routes are re-homed, not removed
		if rt.FromServerID == id || rt.ToServerID == id {
			p.Routes = append(p.Routes, rt)
		}
	}
	if p.Connectors, err = s.store.Connectors(ctx, id); err != nil {
		return nil, err
	}
	if p.Deps.Requestors > 0 {
		if p.Requestors, err = s.store.Requestors(ctx, store.RequestorFilter{DXServerID: id}); err != nil {
			return nil, err
		}
	}
	c, err := reports.LoadConflicts(ctx, s.store)
	if err != nil {
		return nil, err
	}
	ids := []int64{id}
	for _, rt := range p.Routes {
		ids = append(ids, rt.FromServerID, rt.ToServerID, rt.ViaServerID)
	}
	if len(p.Relays) > 0 {
		// The relays the routes may be re-homed through: running servers
		// outside any duplicate-serial group, by the action's own rule.
		if p.Vias, _, err = s.moveTargets(ctx, c, id); err != nil {
			return nil, err
		}
	}
	for _, c := range p.Connectors {
		ids = append(ids, c.ServerID, c.RemoteServerID)
	}
	slices.Sort(ids)
	if p.Names, err = s.store.ReportServerNames(ctx, slices.Compact(ids)); err != nil {
		return nil, err
	}
	p.Duplicate = c.InGroup(id)
	return p, nil
}

// pageDecommission is the confirmation of a decommission.
func (s *Server) pageDecommission(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	if !ok {
		s.error(w, r, mailnet.NotFound("server", r.PathValue("id")))
		return
	}
	p, err := s.decommissionData(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.renderDecommission(w, r, http.StatusOK, p)
}

func (s *Server) renderDecommission(w http.ResponseWriter, r *http.Request, status int, p *views.DecommissionPage) {
	page := s.pageFor(r.Context(), "Decommission "+p.Server.Name, "servers")
	s.render(w, r, status, page, views.DecommissionBody(p))
}

// pageDecommissionDo decommissions the server and shows its page; while
// something depends on it, the confirmation again with 409 and what
// remains.
func (s *Server) pageDecommissionDo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, ok := pathID(r, "id")
	if !ok {
		s.error(w, r, mailnet.NotFound("server", r.PathValue("id")))
		return
	}
	if err := parseForm(w, r); err != nil {
		s.error(w, r, err)
		return
	}
	req := actions.DecommissionRequest{ServerID: id, Plan: r.PostForm.Get("plan")}
	if req.Plan == "" {
		req.Plan = "none" // a form always carries the plan it showed
	}
	var err error
	switch r.PostForm.Get("reroute") {
	case "":
	case "direct":
		req.Reroute = actions.RerouteDirect
	case "via":
		if req.RerouteVia, err = formID(r.PostForm, "via"); err == nil && req.RerouteVia == 0 {
			err = mailnet.Invalid("via", "choose the server the routes are to relay through")
		}
	default:
		err = mailnet.Invalid("reroute", "choose direct or via a server")
	}
	if err == nil {
		_, err = s.actions.Decommission(ctx, req)
	}
	if err == nil {
		http.Redirect(w, r, "/servers/"+strconv.FormatInt(id, 10)+"?done=decommissioned", http.StatusSeeOther)
		return
	}
	e, isDomain := mailnet.AsError(err)
	if !isDomain || (e.Kind != mailnet.KindConflict && e.Kind != mailnet.KindInvalid) {
		s.error(w, r, err)
		return
	}
	p, err2 := s.decommissionData(ctx, id)
	if err2 != nil {
		s.error(w, r, err2)
		return
	}
	p.Error, p.ErrorField = e.Message, e.Field
	s.renderDecommission(w, r, statusOf(e.Kind), p)
}
