package web

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"mailnet/internal/store"
	"mailnet/web/views"
)

// NOC tile sizes: what fits a 1920x1080 screen without scrolling.
const (
	nocX400Rows     = 6
	nocDirSyncRows  = 4
	nocMoveRows     = 4
	nocWarningRows  = 8
	nocRateMinutes  = 60
	nocJobsExamined = 50
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
	p.Data, err = s.nocData(ctx, p)
	return p, err
}

// nocData loads the latest state of the chosen tiles, through the
// reports and the store's read models.
func (s *Server) nocData(ctx context.Context, p *views.NocPage) (*views.NocData, error) {
	now := s.now()
	d := &views.NocData{Generated: now}
	site := p.SiteID
	var servers []reports.ServerRow
	atSite := map[int64]bool{}  // server ids at the site
	nameAt := map[string]bool{} // their names, upper case
	if p.Has(views.TileServers) || (site != 0 && (p.Has(views.TileX400) || p.Has(views.TileDirSync))) {
		var err error
		servers, err = reports.Servers(ctx, s.store, reports.ServerQuery{SiteID: site})
		if err != nil {
			return nil, err
		}
		for _, sv := range servers {
			atSite[sv.ID] = true
			nameAt[strings.ToUpper(sv.Name)] = true
		}
	}
	if p.Has(views.TileServers) {
		for _, sv := range servers {
			switch sv.Status {
			case mailnet.StatusRunning:
				d.Running++
			case mailnet.StatusStopped:
				d.Stopped++
			case mailnet.StatusDecommissioned:
				d.Decommissioned++
			}
			if sv.DuplicateSerial {
				d.Flagged++
			}
		}
	}
	if p.Has(views.TileDuplicates) {
		groups, err := reports.Duplicates(ctx, s.store)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			if site == 0 || slices.Contains(g.Sites, site) {
				d.Duplicates = append(d.Duplicates, g)
			}
		}
	}
	if p.Has(views.TileX400) {
		fs, err := reports.X400(ctx, s.store)
		if err != nil {
			return nil, err
		}
		fs = slices.DeleteFunc(fs, func(f reports.X400Finding) bool {
			return site != 0 && !atSite[f.ServerID] && !atSite[f.RemoteServerID]
		})
		slices.SortStableFunc(fs, func(a, b reports.X400Finding) int {
			if c := cmp.Compare(b.FailureRatio, a.FailureRatio); c != 0 {
				return c
			}
			return cmp.Compare(b.Observed9301, a.Observed9301)
		})
		d.X400Total = len(fs)
		d.X400 = fs[:min(len(fs), nocX400Rows)]
		d.X400More = len(fs) - len(d.X400)
	}
	if p.Has(views.TileDirSync) {
		rows, err := reports.DirSync(ctx, s.store, now, reports.DefaultSilentCycles)
		if err != nil {
			return nil, err
		}
		rows = slices.DeleteFunc(rows, func(r reports.DirSyncRow) bool {
			return site != 0 && !atSite[r.DXServerID] && !nameAt[strings.ToUpper(r.Postoffice)]
		})
		d.DirSyncTotal = len(rows)
		for _, r := range rows {
			d.MaxLag = max(d.MaxLag, r.Lag)
			if r.PendingExport {
				d.PendingExports++
			}
			if len(r.Anomalies) > 0 {
				d.Anomalous++
			}
			if r.Silent {
				d.Silent++
			}
			if r.DXPaused {
				d.DXPaused = true
			}
		}
		score := func(r reports.DirSyncRow) int64 {
			v := r.Lag
			if r.Silent {
				v += 1000
			}
			if r.PendingExport {
				v += 100
			}
			return v + int64(min(len(r.Anomalies), 9))
		}
		slices.SortStableFunc(rows, func(a, b reports.DirSyncRow) int { return cmp.Compare(score(b), score(a)) })
		d.DirSync = rows[:min(len(rows), nocDirSyncRows)]
	}
	if p.Has(views.TileMoves) {
		jobs, err := s.store.Jobs(ctx, nocJobsExamined)
		if err != nil {
			return nil, err
		}
		for _, j := range jobs {
			if (j.Status == mailnet.JobRunning || j.Status == mailnet.JobQueued) && len(d.Moves) < nocMoveRows {
				d.Moves = append(d.Moves, j)
			}
		}
	}
	if p.Has(views.TileRate) {
		since := now.Truncate(time.Minute).Add(-(nocRateMinutes - 1) * time.Minute)
		rate, err := s.store.EventsPerMinute(ctx, since, now, site)
		if err != nil {
			return nil, err
		}
		d.Rate, d.RateStart = rate, since
	}
	if p.Has(views.TileEvents) {
		base := store.EventQuery{EventID: -1, SiteID: site, Limit: nocWarningRows}
		warnings := base
		warnings.Severities = []string{mailnet.SeverityWarning, mailnet.SeverityError}
		ws, err := s.store.RecentEvents(ctx, warnings)
		if err != nil {
			return nil, err
		}
		d.Warnings = ws
		base.Limit = 1
		latest, err := s.store.RecentEvents(ctx, base)
		if err != nil {
			return nil, err
		}
		if len(latest) > 0 {
			d.Latest = &latest[0]
		}
	}
	return d, nil
}
