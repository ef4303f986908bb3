package web

import (
	"bytes"
	"io"
	"net/http"

	"mailnet/internal/actions"
	"mailnet/internal/mailnet"
)

// decommissionBody is the optional body of POST
// /api/v1/servers/{id}/decommission: how to re-home the other servers'
// routes that relay through the server, and the plan the caller previewed.
type decommissionBody struct {
	Reroute    string `json:"reroute"`
	RerouteVia int64  `json:"reroute_via"`
	Plan       string `json:"plan"`
}

// apiServerDecommission decommissions a server; 409 naming what still
// depends on it, including the routes that relay through it unless the
// body says how to re-home them ({"reroute": "direct"} or
// {"reroute_via": SERVER_ID}).
func (s *Server) apiServerDecommission(w http.ResponseWriter, r *http.Request) {
	id, err := apiPathID(r, "id", "server")
	if err != nil {
		s.error(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		s.error(w, r, jsonError(err))
		return
	}
	var in decommissionBody
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := DecodeStrict(bytes.NewReader(raw), &in); err != nil {
			s.error(w, r, err)
			return
		}
	}
	res, err := s.actions.Decommission(r.Context(), actions.DecommissionRequest{
		ServerID: id, Reroute: in.Reroute, RerouteVia: in.RerouteVia, Plan: in.Plan})
	if err != nil {
		s.error(w, r, err)
		return
	}
	if res.Rerouted == nil {
		res.Rerouted = []mailnet.Route{}
	}
	writeJSON(w, http.StatusOK, res)
}
