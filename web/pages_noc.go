package web

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"mailnet/internal/store"
	"mailnet/web/views"
)

// pageNOC is the NOC wall screen: read-only tiles of the latest state,
// chosen by ?tiles=a,b,c and narrowed to one site by ?site=ID (or name).
// It has no forms and no buttons; noc.js keeps it current.
func (s *Server) pageNOC(w http.ResponseWriter, r *http.Request) {
	p, err := s.nocPage(r, true)
	if err != nil {
		s.error(w, r, err)
		return
	}
	pageHeaders(w)
	w.WriteHeader(http.StatusOK)
	if err := views.NocDocument(p).Render(r.Context(), w); err != nil {
		s.log.WarnContext(r.Context(), "render NOC", "err", err)
	}
}

// nocTiles answers noc.js: the chosen tiles' fresh HTML, which it swaps
// in by tile id.
func (s *Server) nocTiles(w http.ResponseWriter, r *http.Request) {
	p, err := s.nocPage(r, false)
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("X-Noc-Generated", p.Data.Generated.Format(time.RFC3339))
	s.renderFragment(w, r, views.NocTilesBody(p))
}

// nocPage reads the query and loads what the chosen tiles show.
func (s *Server) nocPage(r *http.Request, full bool) (*views.NocPage, error) {
	ctx := r.Context()
	q := r.URL.Query()
	p := &views.NocPage{}
	if t := strings.TrimSpace(q.Get("tiles")); t != "" {
		want := map[string]bool{}
		for _, name := range strings.Split(t, ",") {
			name = strings.TrimSpace(strings.ToLower(name))
			if name == "" {
				continue
			}
			if !slices.Contains(views.NocTiles, name) {
				return nil, mailnet.Invalid("tiles", "tiles are %s; not %q", strings.Join(views.NocTiles, ", "), name)
			}
			want[name] = true
		}
		for _, name := range views.NocTiles {
			if want[name] {
				p.Tiles = append(p.Tiles, name)
			}
		}
	}
	if len(p.Tiles) == 0 {
		p.Tiles = views.NocTiles
	}
	if site := strings.TrimSpace(q.Get("site")); site != "" {
		if n, ok := parseID(site); ok && n > 0 {
			p.SiteID = n
		} else {
			id, err := s.store.EventSiteID(ctx, site)
			if mailnet.ErrorKind(err) == mailnet.KindNotFound {
				return nil, mailnet.Invalid("site", "no site named %q", site)
			}
			if err != nil {
				return nil, err
			}
			p.SiteID = id
		}
	}
	sites, err := s.store.Sites(ctx)
	if err != nil {
		return nil, err
	}
	if p.SiteID != 0 {
		i := slices.IndexFunc(sites, func(st mailnet.Site) bool { return st.ID == p.SiteID })
		if i < 0 {
			return nil, mailnet.Invalid("site", "no site with id %d", p.SiteID)
		}
		p.SiteName = sites[i].Name
	}
	if full {
		p.Sites = sites
		newest, err := s.store.RecentEvents(ctx, store.EventQuery{EventID: -1, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(newest) > 0 {
			p.LastEventID = newest[0].ID
		}
	}
	noc, err := s.noc.Load(ctx, reports.NOCQuery{Tiles: nocTileSet(p), SiteID: p.SiteID, Now: s.now()})
	if err != nil {
		return nil, err
	}
	p.Data = &views.NocData{NOC: noc}
	return p, nil
}

// nocTileSet says which of the NOC report's tiles p shows.
func nocTileSet(p *views.NocPage) reports.NOCTiles {
	return reports.NOCTiles{
		Servers: p.Has(views.TileServers), Duplicates: p.Has(views.TileDuplicates), X400: p.Has(views.TileX400),
		DirSync: p.Has(views.TileDirSync), Moves: p.Has(views.TileMoves), Rate: p.Has(views.TileRate), Events: p.Has(views.TileEvents),
	}
}
