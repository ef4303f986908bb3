package reports

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// EffectiveRoute returns rt with its effective connection and the reason
// for it. Q99393: while a server shares its serial with a server at
// another site, routing to and from it "defaults to No Connection", so an
// entry whose from, to or via server is impacted is effectively none, and
// the reason names that server and the serial. Otherwise the configured
// connection is in effect and the reason is empty. names maps server ids
// to names for the reason; a missing name reads "server N".
func EffectiveRoute(rt mailnet.Route, c Conflicts, names map[int64]string) mailnet.Route {
	rt.Effective, rt.Reason = rt.Configured, ""
	ends := []struct {
		id   int64
		role string
	}{{rt.FromServerID, "source"}, {rt.ToServerID, "destination"}, {rt.ViaServerID, "relay"}}
	for _, e := range ends {
		if e.id == 0 {
			continue
		}
		serial, ok := c.Impacted[e.id]
		if !ok {
			continue
		}
		name := names[e.id]
		if name == "" {
			name = fmt.Sprintf("server %d", e.id)
		}
		rt.Effective = mailnet.RouteNone
		rt.Reason = fmt.Sprintf("%s (the %s) shares serial number %s with a server at another site; "+
			"routing to and from it defaults to \"No Connection\" (Q99393)", name, e.role, serial)
		return rt
	}
	return rt
}

// Routes returns every configured routing entry (with serverID set, those
// from or to it) with its effective connection and reason.
func Routes(ctx context.Context, st *store.Store, serverID int64) ([]mailnet.Route, error) {
	routes, err := st.Routes(ctx, serverID)
	if err != nil {
		return nil, err
	}
	c, err := LoadConflicts(ctx, st)
	if err != nil {
		return nil, err
	}
	var names map[int64]string
	if len(c.Impacted) > 0 {
		if names, err = st.ServerNameMap(ctx); err != nil {
			return nil, err
		}
	}
	for i := range routes {
		routes[i] = EffectiveRoute(routes[i], c, names)
	}
	return routes, nil
}

// RoutesPage returns one page of routing entries (store.RoutesPage) with
// their effective connection and reason.
func RoutesPage(ctx context.Context, st *store.Store, f store.RouteFilter) ([]mailnet.Route, error) {
	routes, err := st.RoutesPage(ctx, f)
	if err != nil {
		return nil, err
	}
	c, err := LoadConflicts(ctx, st)
	if err != nil {
		return nil, err
	}
	var names map[int64]string
	if len(c.Impacted) > 0 {
		if names, err = st.ServerNameMap(ctx); err != nil {
			return nil, err
		}
	}
	for i := range routes {
		routes[i] = EffectiveRoute(routes[i], c, names)
	}
	return routes, nil
}

// RoutingSummary is what the routing page shows of the whole network,
// read in SQL: the conflicts, the counts of the routing table and, for
// the map, the servers per site and the routes between sites.
type RoutingSummary struct {
	Conflicts Conflicts
	// CutBy are the servers a duplicate serial cuts off (Conflicts.Impacted),
	// by id; Names names them, for EffectiveRoute's reasons.
	CutBy []int64
	Names map[int64]string
	// Total is the number of routing entries, Cut those effectively "No
	// Connection" although configured otherwise.
	Total, Cut int
	// Servers counts the servers; SiteServers per site.
	Servers     int
	SiteServers map[int64]int
	// SiteDups counts the servers in a duplicate-serial group per site.
	SiteDups map[int64]int
	// Pairs are the routes between two sites (store.RouteSitePairs).
	Pairs []store.RouteSitePair
}

// Effective sets rt's effective connection and reason from the summary's
// conflicts.
func (s *RoutingSummary) Effective(rt mailnet.Route) mailnet.Route {
	return EffectiveRoute(rt, s.Conflicts, s.Names)
}

// LoadRoutingSummary reads the summary.
func LoadRoutingSummary(ctx context.Context, st *store.Store) (*RoutingSummary, error) {
	dups, err := st.DuplicateSerialServers(ctx)
	if err != nil {
		return nil, err
	}
	c := FindConflicts(dups)
	s := &RoutingSummary{Conflicts: c, SiteDups: map[int64]int{}}
	for _, sv := range dups {
		if c.InGroup(sv.ID) {
			s.SiteDups[sv.SiteID]++
		}
	}
	for id := range c.Impacted {
		s.CutBy = append(s.CutBy, id)
	}
	slices.Sort(s.CutBy)
	if s.Names, err = st.ReportServerNames(ctx, s.CutBy); err != nil {
		return nil, err
	}
	if s.Total, err = st.CountRouteTable(ctx, store.RouteTableFilter{}); err != nil {
		return nil, err
	}
	if s.Cut, err = st.CountRouteTable(ctx, store.RouteTableFilter{CutOnly: true, CutBy: s.CutBy}); err != nil {
		return nil, err
	}
	if s.SiteServers, err = st.SiteServerCounts(ctx); err != nil {
		return nil, err
	}
	for _, n := range s.SiteServers {
		s.Servers += n
	}
	if s.Pairs, err = st.RouteSitePairs(ctx, s.CutBy); err != nil {
		return nil, err
	}
	return s, nil
}

// RoutingCache keeps the last RoutingSummary, keyed by
// store.RoutingFingerprint: the audit log's head (routes, sites, serials
// and statuses change through actions, and every action writes an audit
// row, the command-line tools' too) and the routes' and servers' counts
// and newest updated_at (any other write). Events, which arrive every
// second, leave it alone: at 10,000 servers a build aggregates all
// 69,098 routes.
type RoutingCache struct {
	st *store.Store

	mu    sync.Mutex
	key   store.RoutingFingerprint
	val   *RoutingSummary
	built bool
}

// NewRoutingCache returns an empty cache over st.
func NewRoutingCache(st *store.Store) *RoutingCache { return &RoutingCache{st: st} }

// Get returns the summary as of the current fingerprint.
func (c *RoutingCache) Get(ctx context.Context) (*RoutingSummary, error) {
	key, err := c.st.RoutingFingerprint(ctx) // before the reads: what is served is at least this new
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.built && c.key == key {
		return c.val, nil
	}
	s, err := LoadRoutingSummary(ctx, c.st)
	if err != nil {
		return nil, err
	}
	c.key, c.val, c.built = key, s, true
	return s, nil
}
