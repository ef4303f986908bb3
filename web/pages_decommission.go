package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"

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
	p := &views.DecommissionPage{Server: sv, State: plan.State, Deps: plan.Deps, Jobs: plan.Jobs}
	if p.Routes, err = s.store.ReportRoutesTouching(ctx, []int64{id}); err != nil {
		return nil, err
	}
	if p.Connectors, err = s.store.Connectors(ctx, id); err != nil {
		return nil, err
	}
	if p.Deps.Requestors > 0 {
		if p.Requestors, err = s.store.Requestors(ctx, store.RequestorFilter{DXServerID: id}); err != nil {
			return nil, err
		}
	}
	ids := []int64{id}
	for _, rt := range p.Routes {
		ids = append(ids, rt.FromServerID, rt.ToServerID, rt.ViaServerID)
	}
	for _, c := range p.Connectors {
		ids = append(ids, c.ServerID, c.RemoteServerID)
	}
	slices.Sort(ids)
	if p.Names, err = s.store.ReportServerNames(ctx, slices.Compact(ids)); err != nil {
		return nil, err
	}
	c, err := reports.LoadConflicts(ctx, s.store)
	if err != nil {
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
	_, err := s.actions.Decommission(ctx, id)
	if err == nil {
		http.Redirect(w, r, "/servers/"+strconv.FormatInt(id, 10)+"?done=decommissioned", http.StatusSeeOther)
		return
	}
	e, isDomain := mailnet.AsError(err)
	if !isDomain || e.Kind != mailnet.KindConflict {
		s.error(w, r, err)
		return
	}
	p, err2 := s.decommissionData(ctx, id)
	if err2 != nil {
		s.error(w, r, err2)
		return
	}
	p.Error = e.Message
	s.renderDecommission(w, r, http.StatusConflict, p)
}
