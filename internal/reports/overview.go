package reports

import (
	"context"
	"sync"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// Overview is the network at a glance: one figure per check, the jobs
// that need attention, and the latest changes.
type Overview struct {
	Generated time.Time

	Servers, Running int

	DuplicateGroups   int // duplicate-serial groups
	DuplicateImpacted int // servers cut off by one (Q99393)
	X400Problems      int // x400 connectors whose finding is not "ok"
	X400Total         int
	DirSyncAnomalous  int // requestors with at least one anomaly
	DirSyncTotal      int
	RoutingGaps       int // routing entries between running servers that do not deliver
	SerialFindings    int // R10-R14 findings (SerialChecks)
	SerialErrors      int // of them, severity error
	StaleServers      int // running servers whose last event is older than StaleAfter (or that logged none)
	StaleAgents       int // agent tokens not revoked and unused for StaleAfter
	AgentTokens       int

	Jobs []mailnet.JobDetail // queued, running, or failed, newest first (at most OverviewJobs)

	Changes []mailnet.AuditEntry // the newest audit rows (at most OverviewChanges)
}

// Overview sizes and thresholds.
const (
	OverviewJobs     = 10
	OverviewChanges  = 10
	overviewJobsRead = 50
	// StaleAfter is how long a running server or an agent may stay silent:
	// two network scans of six hours (Q101931), as SerialChecks' R14.
	StaleAfter = NotSeenAfter
)

// LoadOverview reads every check's figure at time now. Each check is the
// one its page shows, so the badge and the page agree; gaps is the
// routing-gaps answer (GapsCache keeps it per store version), x400 the
// X.400 check (nil: X400Check, from scratch).
func LoadOverview(ctx context.Context, st *store.Store, gaps []RoutingGap, x400 *X400Cache, now time.Time) (Overview, error) {
	o := Overview{Generated: now, RoutingGaps: len(gaps)}
	rows, err := st.ReportServers(ctx)
	if err != nil {
		return o, err
	}
	servers, sites := serversOfRows(rows)
	for _, r := range rows {
		o.Servers++
		if r.Status == mailnet.StatusRunning {
			o.Running++
			if r.LastEventAt.IsZero() || now.Sub(r.LastEventAt) > StaleAfter {
				o.StaleServers++
			}
		}
	}
	c := FindConflicts(servers)
	o.DuplicateGroups, o.DuplicateImpacted = c.Groups, len(c.Impacted)

	conns, err := st.Connectors(ctx, 0)
	if err != nil {
		return o, err
	}
	for _, f := range BuildSerialFindings(servers, sites, conns, now) {
		o.SerialFindings++
		if f.Severity == "error" {
			o.SerialErrors++
		}
	}

	var x *X400Result
	if x400 != nil {
		x, err = x400.Check(ctx)
	} else {
		x, err = X400Check(ctx, st)
	}
	if err != nil {
		return o, err
	}
	o.X400Total = x.Len()
	for i := range x.Len() {
		if x.At(i).Status != X400OK {
			o.X400Problems++
		}
	}

	ds, err := DirSync(ctx, st, now, DefaultSilentCycles)
	if err != nil {
		return o, err
	}
	o.DirSyncTotal = len(ds)
	for _, r := range ds {
		if len(r.Anomalies) > 0 {
			o.DirSyncAnomalous++
		}
	}

	tokens, err := st.Tokens(ctx)
	if err != nil {
		return o, err
	}
	for _, t := range tokens {
		if t.Role != mailnet.RoleAgent || t.Revoked() {
			continue
		}
		o.AgentTokens++
		if t.LastUsedAt.IsZero() || now.Sub(t.LastUsedAt) > StaleAfter {
			o.StaleAgents++
		}
	}

	jobs, err := st.Jobs(ctx, overviewJobsRead)
	if err != nil {
		return o, err
	}
	for _, j := range jobs {
		if len(o.Jobs) == OverviewJobs {
			break
		}
		if j.Status == mailnet.JobQueued || j.Status == mailnet.JobRunning || j.Status == mailnet.JobFailed {
			o.Jobs = append(o.Jobs, j)
		}
	}

	page, err := st.AuditLog(ctx, store.AuditFilter{Limit: OverviewChanges})
	if err != nil {
		return o, err
	}
	o.Changes = page.Entries
	return o, nil
}

// OverviewRefresh bounds how old the figures that events move (servers
// silent, 9301 counts, dir-sync cycles) may be on the overview.
const OverviewRefresh = 30 * time.Second

// OverviewCache keeps the last overview and builds one at a time. It
// rebuilds when an action has written since (every action writes an audit
// row, so an administrator sees their own change at once: that request
// waits for the build) or when the figures that events move are older
// than OverviewRefresh: then the request is answered from the held build
// while a new one is made in the background, so no page load waits for
// the periodic refresh (the figures are at most twice OverviewRefresh
// old). Events alone do not rebuild it: at 10,000 servers a build costs
// about a second of CPU, and agents post events every second.
type OverviewCache struct {
	st   *store.Store
	now  func() time.Time
	x400 *X400Cache

	mu         sync.Mutex
	key        overviewKey
	o          Overview
	gaps       []RoutingGap
	built      bool
	refreshing bool // a background build for the next time bucket runs
}

type overviewKey struct {
	audit  int64
	bucket int64
}

// NewOverviewCache returns an empty cache over st, whose X.400 figures
// come from x400 (nil: X400Check).
func NewOverviewCache(st *store.Store, now func() time.Time, x400 *X400Cache) *OverviewCache {
	if now == nil {
		now = time.Now
	}
	return &OverviewCache{st: st, now: now, x400: x400}
}

// Get returns the overview, rebuilt if an action wrote since the last
// build or its event figures are older than OverviewRefresh.
func (c *OverviewCache) Get(ctx context.Context) (Overview, error) {
	o, _, err := c.get(ctx)
	return o, err
}

// Gaps returns the routing gaps of the same build.
func (c *OverviewCache) Gaps(ctx context.Context) ([]RoutingGap, error) {
	_, g, err := c.get(ctx)
	return g, err
}

func (c *OverviewCache) get(ctx context.Context) (Overview, []RoutingGap, error) {
	head, err := c.st.AuditHead(ctx)
	if err != nil {
		return Overview{}, nil, err
	}
	now := c.now()
	key := overviewKey{audit: head, bucket: now.UnixNano() / int64(OverviewRefresh)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.built && c.key == key {
		return c.o, c.gaps, nil
	}
	if c.built && c.key.audit == key.audit && c.key.bucket+1 == key.bucket {
		// Only the event figures have aged, by less than two buckets:
		// answer from the held build and refresh it in the background.
		if !c.refreshing {
			c.refreshing = true
			go c.refresh(context.WithoutCancel(ctx), key, now)
		}
		return c.o, c.gaps, nil
	}
	gaps, err := RoutingGaps(ctx, c.st)
	if err != nil {
		return Overview{}, nil, err
	}
	o, err := LoadOverview(ctx, c.st, gaps, c.x400, now)
	if err != nil {
		return Overview{}, nil, err
	}
	c.key, c.o, c.gaps, c.built = key, o, gaps, true
	return o, gaps, nil
}

// refresh builds the overview of key in the background and keeps it unless
// a newer build was kept meanwhile.
func (c *OverviewCache) refresh(ctx context.Context, key overviewKey, now time.Time) {
	ctx, cancel := context.WithTimeout(ctx, cacheBuildTimeout)
	defer cancel()
	gaps, err := RoutingGaps(ctx, c.st)
	var o Overview
	if err == nil {
		o, err = LoadOverview(ctx, c.st, gaps, c.x400, now)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshing = false
	if err != nil || c.key.audit != key.audit || c.key.bucket >= key.bucket {
		return // failed (the next request after the bucket builds), or superseded
	}
	c.key, c.o, c.gaps = key, o, gaps
}
