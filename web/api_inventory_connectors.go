package web

import (
	"net/http"
	"strings"

	"mailnet/internal/actions"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

func (s *Server) apiConnectors(w http.ResponseWriter, r *http.Request) {
	serverID, err := queryInt(r, "server_id", 0, 1, 1<<62)
	if err != nil {
		s.error(w, r, err)
		return
	}
	limit, after, err := pageParams(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	conns, err := s.store.Connectors(r.Context(), serverID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	transports, err := s.store.ConnectorTransports(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	page, next := pageByID(conns, func(c mailnet.Connector) int64 { return c.ID }, after, limit)
	out := make([]connectorView, len(page))
	for i, c := range page {
		out[i] = newConnectorView(c, transports)
	}
	writeJSON(w, http.StatusOK, pageBody("connectors", out, next))
}

func (s *Server) apiConnector(w http.ResponseWriter, r *http.Request) {
	id, err := apiPathID(r, "id", "connector")
	if err != nil {
		s.error(w, r, err)
		return
	}
	c, err := s.store.ConnectorByID(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	t, err := s.store.ConnectorTransport(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newConnectorView(c, map[int64]string{id: t}))
}

func (s *Server) apiConnectorCreate(w http.ResponseWriter, r *http.Request) {
	var in actions.ConnectorInput
	if err := s.decodeJSON(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	c, err := s.actions.CreateConnector(r.Context(), in)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

// connectorUpdated is a changed connector, plus the remote connector when
// its stack was updated too, and a warning when it will refuse.
type connectorUpdated struct {
	connectorView
	RemoteConnector *mailnet.Connector    `json:"remote_connector,omitempty"`
	Warning         string                `json:"warning,omitempty"`
	LoggingReverts  []store.LoggingRevert `json:"logging_reverts"`
}

func (s *Server) apiConnectorUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := apiPathID(r, "id", "connector")
	if err != nil {
		s.error(w, r, err)
		return
	}
	var p struct {
		actions.ConnectorPatch
		connectorMTAPatch // transport
	}
	if err := s.decodeJSON(w, r, &p); err != nil {
		s.error(w, r, err)
		return
	}
	ctx := r.Context()
	// The transport is checked first, so that a refusal of either part
	// changes nothing; each part writes its own audit row.
	mtaSet := p.Transport.Set
	if mtaSet {
		if err := s.checkConnectorTransport(ctx, id, p.connectorMTAPatch); err != nil {
			s.error(w, r, err)
			return
		}
	}
	var res actions.ConnectorUpdated
	if !mtaSet || anyPatchField(p.ConnectorPatch) {
		var err error
		if res, err = s.actions.UpdateConnector(ctx, id, p.ConnectorPatch); err != nil {
			s.error(w, r, err)
			return
		}
	}
	if mtaSet {
		if err := s.updateConnectorTransport(ctx, id, p.connectorMTAPatch); err != nil {
			s.error(w, r, err)
			return
		}
		c, err := s.store.ConnectorByID(ctx, id)
		if err != nil {
			s.error(w, r, err)
			return
		}
		res.Connector = c
		if res.Reverts == nil {
			if res.Reverts, err = s.store.LoggingReverts(ctx, id); err != nil {
				s.error(w, r, err)
				return
			}
		}
	}
	t, err := s.store.ConnectorTransport(ctx, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, connectorUpdated{connectorView: newConnectorView(res.Connector, map[int64]string{id: t}), RemoteConnector: res.Remote, Warning: res.Warning, LoggingReverts: res.Reverts})
}

func (s *Server) apiRequestors(w http.ResponseWriter, r *http.Request) {
	dx, err := queryInt(r, "dx_server_id", 0, 1, 1<<62)
	if err != nil {
		s.error(w, r, err)
		return
	}
	limit, after, err := pageParams(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	f := store.RequestorFilter{Network: strings.TrimSpace(r.URL.Query().Get("network")), DXServerID: dx}
	reqs, err := s.store.Requestors(r.Context(), f)
	if err != nil {
		s.error(w, r, err)
		return
	}
	page, next := pageByID(reqs, func(q mailnet.Requestor) int64 { return q.ID }, after, limit)
	writeJSON(w, http.StatusOK, pageBody("requestors", page, next))
}

func (s *Server) apiRequestorCreate(w http.ResponseWriter, r *http.Request) {
	var in actions.RequestorInput
	if err := s.decodeJSON(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	req, err := s.actions.CreateRequestor(r.Context(), in)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, req)
}

func (s *Server) apiExportOnNextCycle(w http.ResponseWriter, r *http.Request) {
	var sel actions.ExportSelection
	if err := s.decodeJSON(w, r, &sel); err != nil {
		s.error(w, r, err)
		return
	}
	if sel.DryRun {
		plan, err := s.actions.PlanExportOnNextCycle(r.Context(), sel)
		if err != nil {
			s.error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"dry_run": true, "plan_id": plan.PlanID, "rows": plan.Rows, "changes": plan.Changes})
		return
	}
	plan, err := s.actions.ApplyExportOnNextCycle(r.Context(), sel)
	if err != nil {
		s.error(w, r, err)
		return
	}
	ids := make([]int64, len(plan.Rows))
	for i, row := range plan.Rows {
		ids[i] = row.ID
	}
	reqs, err := s.store.Requestors(r.Context(), store.RequestorFilter{IDs: ids})
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"requestors": reqs, "updated": len(reqs), "plan_id": plan.PlanID, "rows": plan.Rows, "changes": plan.Changes})
}

// apiDXServers lists the dir-sync servers by server_id; after_id and
// next_after_id are server ids.
func (s *Server) apiDXServers(w http.ResponseWriter, r *http.Request) {
	limit, after, err := pageParams(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	dxs, err := s.store.DXServers(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	kicks, err := s.store.DXPauseKicks(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := make([]actions.DXSettings, len(dxs))
	for i, d := range dxs {
		out[i] = actions.DXSettings{DXServer: d, PauseKicksDX: kicks[d.ServerID]}
	}
	page, next := pageByID(out, func(d actions.DXSettings) int64 { return d.ServerID }, after, limit)
	writeJSON(w, http.StatusOK, pageBody("dx_servers", page, next))
}

func (s *Server) apiDXUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := apiPathID(r, "server_id", "server")
	if err != nil {
		s.error(w, r, err)
		return
	}
	var p actions.DXPatch
	if err := s.decodeJSON(w, r, &p); err != nil {
		s.error(w, r, err)
		return
	}
	d, err := s.actions.UpdateDXServer(r.Context(), id, p)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}
