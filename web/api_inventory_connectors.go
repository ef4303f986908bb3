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
	page, next := pageByID(conns, func(c mailnet.Connector) int64 { return c.ID }, after, limit)
	writeJSON(w, http.StatusOK, pageBody("connectors", page, next))
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
	writeJSON(w, http.StatusOK, c)
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
	mailnet.Connector
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
	var p actions.ConnectorPatch
	if err := s.decodeJSON(w, r, &p); err != nil {
		s.error(w, r, err)
		return
	}
	res, err := s.actions.UpdateConnector(r.Context(), id, p)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, connectorUpdated{Connector: res.Connector, RemoteConnector: res.Remote, Warning: res.Warning, LoggingReverts: res.Reverts})
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
	reqs, err := s.actions.SetExportOnNextCycle(r.Context(), sel)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"requestors": reqs, "updated": len(reqs)})
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
	page, next := pageByID(dxs, func(d mailnet.DXServer) int64 { return d.ServerID }, after, limit)
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
