package reports

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"mailnet/internal/mailnet"
	"mailnet/internal/mta"
	"mailnet/internal/store"
)

// NOC tile sizes: what fits a 1920x1080 wall screen without scrolling.
const (
	NOCX400Rows     = 6              // connector findings shown
	NOCDirSyncRows  = 4              // requestors shown, worst first
	NOCMoveRows     = 4              // running or queued moves shown
	NOCWarningRows  = 8              // groups of warnings and errors shown, newest first
	NOCWarningScan  = 2000           // newest warnings and errors grouped
	NOCWarningSpan  = 24 * time.Hour // how far back warnings are grouped
	NOCRateMinutes  = 60             // minutes of the event-rate chart, the current one last
	NOCJobsExamined = 50             // newest jobs looked at for the moves tile
)

// NOCTiles says which tiles a NOC screen shows; only their data is loaded.
type NOCTiles struct {
	Servers, Duplicates, X400, DirSync, Moves, Rate, Events bool
}

// NOCQuery is what a NOC screen asks for: its tiles, a site (0: the whole
// network) and the time it is drawn at.
type NOCQuery struct {
	Tiles  NOCTiles
	SiteID int64
	Now    time.Time
}

// NOC is the latest state behind the NOC tiles; only the chosen tiles'
// parts are filled.
type NOC struct {
	Generated time.Time

	Running, Stopped, Decommissioned, Flagged int

	Duplicates []DuplicateGroup

	X400      []X400Finding // problems first
	X400More  int           // findings not shown
	X400Total int

	DirSync        []DirSyncRow // worst first, at most NOCDirSyncRows
	DirSyncTotal   int
	MaxLag         int64
	PendingExports int
	Anomalous      int
	Silent         int
	DXPaused       bool

	Moves []mailnet.JobDetail // queued and running

	Rate      []int64 // events per minute, oldest first, the current minute last
	RateStart time.Time

	// Warnings are the latest warnings and errors grouped: one row per
	// event ID, severity and server (and, for 9301, caller), the group
	// seen last first, at most NOCWarningRows of them.
	Warnings     []WarningGroup
	WarningsMore int            // groups not shown
	WarningsCap  bool           // NOCWarningScan events were grouped: the counts are at least
	Latest       *mailnet.Event // the newest event of any severity
}

// WarningGroup is warnings or errors that repeat: the same event ID and
// severity on the same server and, for Event 9301, from the same caller
// (mta.Parse9301's Caller; the server is the receiving one).
type WarningGroup struct {
	EventID     int
	Severity    string
	Server      string
	Caller      string // 9301: the caller its network address names; "" when unknown
	Count       int
	First, Last time.Time
	Newest      mailnet.Event // the group's newest event
}

// Span is how long the group covers, from its first event to its last.
func (g WarningGroup) Span() time.Duration { return g.Last.Sub(g.First) }

// GroupWarnings groups events (newest first) into WarningGroups, the group
// seen last first. It does not change events.
func GroupWarnings(events []mailnet.Event) []WarningGroup {
	type key struct {
		id            int
		sev, srv, who string
	}
	var out []WarningGroup
	at := map[key]int{}
	for _, ev := range events {
		k := key{id: ev.EventID, sev: ev.Severity, srv: strings.ToUpper(ev.Server)}
		if ev.EventID == mta.EventGatewayNotFound {
			if g, err := mta.Parse9301(ev.Description); err == nil {
				k.who = g.Caller()
			}
		}
		i, ok := at[k]
		if !ok {
			at[k] = len(out)
			out = append(out, WarningGroup{EventID: ev.EventID, Severity: ev.Severity, Server: ev.Server,
				Caller: k.who, First: ev.Time, Last: ev.Time, Newest: ev})
			i = len(out) - 1
		}
		g := &out[i]
		g.Count++
		if ev.Time.Before(g.First) {
			g.First = ev.Time
		}
		if ev.Time.After(g.Last) {
			g.Last = ev.Time
		}
		if ev.ID > g.Newest.ID {
			g.Newest = ev
		}
	}
	return out
}

// NOCInputs are the read models the tiles are built from, as loaded.
type NOCInputs struct {
	// Servers are the Global Server Report's rows at the site (all of
	// them without one): counted by the servers tile, and telling which
	// connectors and requestors are at the site.
	Servers    []ServerRow
	Duplicates []DuplicateGroup
	X400       []X400Finding
	DirSync    []DirSyncRow
	Jobs       []mailnet.JobDetail // the newest jobs, newest first
	Rate       []int64             // per minute from RateStart, already narrowed to the site
	RateStart  time.Time
	// Warnings are the newest warnings and errors of the last
	// NOCWarningSpan, newest first, at most NOCWarningScan, already
	// narrowed to the site.
	Warnings []mailnet.Event
	Latest   *mailnet.Event // already narrowed to the site
}

// LoadNOC reads what q's tiles show and builds them.
func LoadNOC(ctx context.Context, st *store.Store, q NOCQuery) (NOC, error) {
	var in NOCInputs
	t, site := q.Tiles, q.SiteID
	slow, err := loadNOCSlow(ctx, st, q.Now, t.Servers || (site != 0 && (t.X400 || t.DirSync)), t.Duplicates, t.X400, t.DirSync)
	if err != nil {
		return NOC{}, err
	}
	slow.into(&in, site)
	if err := loadNOCFast(ctx, st, q, &in); err != nil {
		return NOC{}, err
	}
	return BuildNOC(q, in), nil
}

// nocSlow is the costly part of the NOC's inputs, for the whole network:
// every server row, duplicate group, X.400 finding and requestor.
type nocSlow struct {
	version    uint64
	built      time.Time
	servers    []ServerRow
	duplicates []DuplicateGroup
	x400       []X400Finding
	dirsync    []DirSyncRow
}

func loadNOCSlow(ctx context.Context, st *store.Store, now time.Time, servers, dups, x400, dirsync bool) (*nocSlow, error) {
	sl := &nocSlow{version: st.Version(), built: now}
	var err error
	if servers {
		if sl.servers, err = Servers(ctx, st, ServerQuery{}); err != nil {
			return nil, err
		}
	}
	if dups {
		if sl.duplicates, err = Duplicates(ctx, st); err != nil {
			return nil, err
		}
	}
	if x400 {
		if sl.x400, err = X400(ctx, st); err != nil {
			return nil, err
		}
		slices.SortStableFunc(sl.x400, nocX400Order)
	}
	if dirsync {
		if sl.dirsync, err = DirSync(ctx, st, now, DefaultSilentCycles); err != nil {
			return nil, err
		}
	}
	return sl, nil
}

// into puts sl into in, the server rows narrowed to site (0: all).
func (sl *nocSlow) into(in *NOCInputs, site int64) {
	in.Servers = sl.servers
	if site != 0 {
		in.Servers = nil
		for _, r := range sl.servers {
			if r.SiteID == site {
				in.Servers = append(in.Servers, r)
			}
		}
	}
	in.Duplicates, in.X400, in.DirSync = sl.duplicates, sl.x400, sl.dirsync
}

// loadNOCFast reads the cheap, live part of q's tiles: the moves, the
// event rate and the latest events, each one indexed query.
func loadNOCFast(ctx context.Context, st *store.Store, q NOCQuery, in *NOCInputs) error {
	t, site := q.Tiles, q.SiteID
	var err error
	if t.Moves {
		if in.Jobs, err = st.Jobs(ctx, NOCJobsExamined); err != nil {
			return err
		}
	}
	if t.Rate {
		in.RateStart = q.Now.Truncate(time.Minute).Add(-(NOCRateMinutes - 1) * time.Minute)
		if in.Rate, err = st.EventsPerMinute(ctx, in.RateStart, q.Now, site); err != nil {
			return err
		}
	}
	if t.Events {
		base := store.EventQuery{EventID: -1, SiteID: site, Limit: NOCWarningScan}
		warnings := base
		warnings.Severities = []string{mailnet.SeverityWarning, mailnet.SeverityError}
		warnings.Since = q.Now.Add(-NOCWarningSpan)
		if in.Warnings, err = st.RecentEvents(ctx, warnings); err != nil {
			return err
		}
		base.Limit = 1
		latest, err := st.RecentEvents(ctx, base)
		if err != nil {
			return err
		}
		if len(latest) > 0 {
			in.Latest = &latest[0]
		}
	}
	return nil
}

// DefaultNOCMaxAge is how old NOCCache lets the costly tiles be.
const DefaultNOCMaxAge = 15 * time.Second

// NOCCache serves the NOC report cheaply on a large network. The costly
// inputs (server rows, duplicate groups, X.400 findings, requestors: a
// whole-network read each, about half a second on 10,000 servers) are
// built once for every site and screen and kept while the store is
// unchanged (store.Version) or for at most maxAge; when they are older,
// the request is served the kept ones and a single rebuild runs behind it,
// so only the first request ever waits for a build. The live tiles
// (moves, event rate, latest events) are read at every request.
type NOCCache struct {
	st     *store.Store
	maxAge time.Duration

	group singleflight.Group
	mu    sync.Mutex
	slow  *nocSlow

	// OnBuild, if set, is called at the start of every build (tests count
	// builds with it). Set it before the first Load.
	OnBuild func()
}

// NewNOCCache returns a cache over st keeping the costly tiles at most
// maxAge (DefaultNOCMaxAge when <= 0).
func NewNOCCache(st *store.Store, maxAge time.Duration) *NOCCache {
	if maxAge <= 0 {
		maxAge = DefaultNOCMaxAge
	}
	return &NOCCache{st: st, maxAge: maxAge}
}

// Load is LoadNOC with the costly inputs from the cache.
func (c *NOCCache) Load(ctx context.Context, q NOCQuery) (NOC, error) {
	var in NOCInputs
	t := q.Tiles
	if t.Servers || t.Duplicates || t.X400 || t.DirSync {
		sl, err := c.slowInputs(ctx, q.Now)
		if err != nil {
			return NOC{}, err
		}
		sl.into(&in, q.SiteID)
	}
	if err := loadNOCFast(ctx, c.st, q, &in); err != nil {
		return NOC{}, err
	}
	return BuildNOC(q, in), nil
}

// slowInputs returns the kept costly inputs, waiting for a build only
// when there are none.
func (c *NOCCache) slowInputs(ctx context.Context, now time.Time) (*nocSlow, error) {
	c.mu.Lock()
	sl := c.slow
	c.mu.Unlock()
	if sl != nil && (sl.version == c.st.Version() || now.Sub(sl.built) < c.maxAge) {
		return sl, nil
	}
	ch := startShared(ctx, &c.group, "noc", "NOC report", func(bctx context.Context) (*nocSlow, error) {
		if c.OnBuild != nil {
			c.OnBuild()
		}
		fresh, err := loadNOCSlow(bctx, c.st, now, true, true, true, true)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.slow == nil || !fresh.built.Before(c.slow.built) {
			c.slow = fresh
		}
		c.mu.Unlock()
		return fresh, nil
	})
	if sl != nil {
		return sl, nil // the rebuild goes on behind this request
	}
	return awaitShared[*nocSlow](ctx, ch)
}

// nocX400Order is the NOC's order of connector findings: worst failure
// ratio first, then most 9301s.
func nocX400Order(a, b X400Finding) int {
	if c := cmp.Compare(b.FailureRatio, a.FailureRatio); c != 0 {
		return c
	}
	return cmp.Compare(b.Observed9301, a.Observed9301)
}

// BuildNOC builds the chosen tiles from what was loaded: the servers
// tile's counts; the duplicate groups touching the site; the connector
// findings at the site, worst failure ratio first (then most 9301s), cut
// to NOCX400Rows; the site's requestors, worst first (silent, then an
// export pending, then lag and anomalies), cut to NOCDirSyncRows, with
// totals over all; the queued and running moves; the event rate and the
// latest warnings and errors grouped (GroupWarnings), cut to
// NOCWarningRows, and the latest event. It does not change in.
func BuildNOC(q NOCQuery, in NOCInputs) NOC {
	t, site := q.Tiles, q.SiteID
	d := NOC{Generated: q.Now}
	atSite := map[int64]bool{}  // server ids at the site
	nameAt := map[string]bool{} // their names, upper case
	if site != 0 {
		for _, sv := range in.Servers {
			atSite[sv.ID] = true
			nameAt[strings.ToUpper(sv.Name)] = true
		}
	}
	if t.Servers {
		for _, sv := range in.Servers {
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
	if t.Duplicates {
		for _, g := range in.Duplicates {
			if site == 0 || slices.Contains(g.Sites, site) {
				d.Duplicates = append(d.Duplicates, g)
			}
		}
	}
	if t.X400 {
		// The whole network's findings are often already in this order
		// (NOCCache sorts them once): then they are neither copied nor
		// sorted again.
		fs := in.X400
		if site != 0 {
			fs = slices.DeleteFunc(slices.Clone(fs), func(f X400Finding) bool {
				return !atSite[f.ServerID] && !atSite[f.RemoteServerID]
			})
		}
		if !slices.IsSortedFunc(fs, nocX400Order) {
			if site == 0 {
				fs = slices.Clone(fs)
			}
			slices.SortStableFunc(fs, nocX400Order)
		}
		d.X400Total = len(fs)
		d.X400 = slices.Clip(fs[:min(len(fs), NOCX400Rows)])
		d.X400More = len(fs) - len(d.X400)
	}
	if t.DirSync {
		rows := slices.DeleteFunc(slices.Clone(in.DirSync), func(r DirSyncRow) bool {
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
		score := func(r DirSyncRow) int64 {
			v := r.Lag
			if r.Silent {
				v += 1000
			}
			if r.PendingExport {
				v += 100
			}
			return v + int64(min(len(r.Anomalies), 9))
		}
		slices.SortStableFunc(rows, func(a, b DirSyncRow) int { return cmp.Compare(score(b), score(a)) })
		d.DirSync = rows[:min(len(rows), NOCDirSyncRows)]
	}
	if t.Moves {
		for _, j := range in.Jobs {
			if (j.Status == mailnet.JobRunning || j.Status == mailnet.JobQueued) && len(d.Moves) < NOCMoveRows {
				d.Moves = append(d.Moves, j)
			}
		}
	}
	if t.Rate {
		d.Rate, d.RateStart = in.Rate, in.RateStart
	}
	if t.Events {
		groups := GroupWarnings(in.Warnings)
		d.Warnings = groups[:min(len(groups), NOCWarningRows)]
		d.WarningsMore = len(groups) - len(d.Warnings)
		d.WarningsCap = len(in.Warnings) >= NOCWarningScan
		d.Latest = in.Latest
	}
	return d
}
