package web

import (
	"net/http"
	"slices"
	"strings"

	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"mailnet/internal/store"
	"mailnet/web/views"
)

// serverUserLimit is how many users the server page lists; a search finds
// the others.
const serverUserLimit = 200

// pageServer shows one server: fields, serial check, routing, connectors
// and users.
func (s *Server) pageServer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, ok := pathID(r, "id")
	if !ok {
		s.error(w, r, mailnet.NotFound("server", r.PathValue("id")))
		return
	}
	sv, err := s.store.ServerByID(ctx, id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	d := &views.ServerDetail{Server: sv, UserLimit: serverUserLimit, Q: strings.TrimSpace(r.URL.Query().Get("q"))}
	if len(d.Q) > 200 {
		s.error(w, r, mailnet.Invalid("q", "the search is longer than 200 characters"))
		return
	}

	sites, err := s.store.Sites(ctx)
	if err != nil {
		s.error(w, r, err)
		return
	}
	d.SiteNames = make(map[int64]string, len(sites))
	for _, st := range sites {
		d.SiteNames[st.ID] = st.Name
	}
	d.SiteName = d.SiteNames[sv.SiteID]

	c, err := reports.LoadConflicts(ctx, s.store)
	if err != nil {
		s.error(w, r, err)
		return
	}
	d.Duplicate, d.Impacted = c.InGroup(sv.ID), c.IsImpacted(sv.ID)
	if d.Duplicate {
		dups, err := s.store.DuplicateSerialServers(ctx)
		if err != nil {
			s.error(w, r, err)
			return
		}
		for _, o := range dups {
			if o.Serial == sv.Serial && o.ID != sv.ID {
				d.Sharing = append(d.Sharing, o)
			}
		}
	}

	if d.Users, err = s.store.Users(ctx, store.UserFilter{ServerID: sv.ID, Q: d.Q, Limit: serverUserLimit}); err != nil {
		s.error(w, r, err)
		return
	}
	if d.Routes, err = reports.Routes(ctx, s.store, sv.ID); err != nil {
		s.error(w, r, err)
		return
	}
	if d.Connectors, err = s.store.Connectors(ctx, sv.ID); err != nil {
		s.error(w, r, err)
		return
	}
	// Names of the servers the page links to, looked up by id rather than
	// loading every server of a large network.
	ids := []int64{sv.ID}
	for _, rt := range d.Routes {
		ids = append(ids, rt.FromServerID, rt.ToServerID, rt.ViaServerID)
	}
	for _, c := range d.Connectors {
		ids = append(ids, c.ServerID, c.RemoteServerID)
	}
	slices.Sort(ids)
	if d.Names, err = s.store.ReportServerNames(ctx, slices.Compact(ids)); err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, s.pageFor(ctx, "Server "+sv.Name, "servers"), views.ServerDetailPage(d))
}
