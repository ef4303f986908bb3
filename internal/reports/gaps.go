package reports

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// RoutingGap is a routing entry between two running servers that does not
// deliver: its connection is effectively "No Connection", or it relays
// through a server that is not running, shares a serial (Q99393) or has no
// working route onward.
type RoutingGap struct {
	FromServerID int64  `json:"from_server_id"`
	ToServerID   int64  `json:"to_server_id"`
	Configured   string `json:"configured"`
	ViaServerID  int64  `json:"via_server_id,omitempty"`
	Reason       string `json:"reason"`
}

// Reachability answers whether one server's mail reaches another by the
// routing table. A route A→B works when A and B run and share no serial
// across sites (Q99393), and it is direct, or indirect via a relay V that
// runs, shares no serial, and both A→V and V→B work. Where the table has
// no entry for a hop (the console need not hold every relay's full
// table), the hop works if a chain of working direct entries joins the two
// servers. Answers are memoised; build one per snapshot.
type Reachability struct {
	routes  map[[2]int64]mailnet.Route
	servers map[int64]mailnet.Server
	c       Conflicts
	idx     map[int64]int32 // server id -> dense index for the direct graph
	direct  [][]int32       // working direct entries, by source index
	memo    map[[2]int64]reach
	bfs     map[int64][]uint64 // servers reachable over direct entries, a bitset by index, per source
}

type reach struct {
	state  int8 // 1 visiting, 2 works, 3 fails
	reason string
}

// NewReachability indexes servers and routes under conflicts c.
func NewReachability(servers []mailnet.Server, routes []mailnet.Route, c Conflicts) *Reachability {
	r := &Reachability{routes: make(map[[2]int64]mailnet.Route, len(routes)), servers: make(map[int64]mailnet.Server, len(servers)),
		c: c, idx: make(map[int64]int32, len(servers)), direct: make([][]int32, len(servers)),
		memo: map[[2]int64]reach{}, bfs: map[int64][]uint64{}}
	for i, sv := range servers {
		r.servers[sv.ID] = sv
		r.idx[sv.ID] = int32(i)
	}
	for _, rt := range routes {
		r.routes[[2]int64{rt.FromServerID, rt.ToServerID}] = rt
		if rt.Configured == mailnet.RouteDirect && r.usable(rt.FromServerID) == "" && r.usable(rt.ToServerID) == "" {
			from := r.idx[rt.FromServerID]
			r.direct[from] = append(r.direct[from], r.idx[rt.ToServerID])
		}
	}
	return r
}

func (r *Reachability) name(id int64) string {
	if sv, ok := r.servers[id]; ok {
		return sv.Name
	}
	return fmt.Sprintf("server %d", id)
}

// usable says why server id cannot carry mail ("" when it can).
func (r *Reachability) usable(id int64) string {
	sv, ok := r.servers[id]
	switch {
	case !ok:
		return fmt.Sprintf("server %d does not exist", id)
	case sv.Status != mailnet.StatusRunning:
		return fmt.Sprintf("%s is %s", sv.Name, sv.Status)
	case r.c.IsImpacted(id):
		return fmt.Sprintf("%s shares serial number %s with a server at another site: its routing shows No Connection (Q99393)", sv.Name, r.c.Impacted[id])
	}
	return ""
}

// Reaches reports whether mail from server a reaches server b, and when
// it does not, why.
func (r *Reachability) Reaches(a, b int64) (bool, string) {
	return r.reaches(a, b)
}

// HasRoute reports whether the routing table holds an entry from a to b
// and it works: a pair that lost its entries has no route, whatever
// chain of other servers might join them.
func (r *Reachability) HasRoute(a, b int64) (bool, string) {
	if _, ok := r.routes[[2]int64{a, b}]; !ok {
		return false, fmt.Sprintf("no routing entry from %s to %s", r.name(a), r.name(b))
	}
	return r.reaches(a, b)
}

func (r *Reachability) reaches(a, b int64) (bool, string) {
	if a == b {
		return true, ""
	}
	key := [2]int64{a, b}
	switch m := r.memo[key]; m.state {
	case 1:
		return false, fmt.Sprintf("the route from %s to %s loops back on itself", r.name(a), r.name(b))
	case 2:
		return true, ""
	case 3:
		return false, m.reason
	}
	r.memo[key] = reach{state: 1}
	ok, why := r.resolve(a, b)
	if ok {
		r.memo[key] = reach{state: 2}
	} else {
		r.memo[key] = reach{state: 3, reason: why}
	}
	return ok, why
}

func (r *Reachability) resolve(a, b int64) (bool, string) {
	for _, id := range []int64{a, b} {
		if why := r.usable(id); why != "" {
			return false, why
		}
	}
	rt, ok := r.routes[[2]int64{a, b}]
	if !ok {
		if r.chained(a, b) {
			return true, ""
		}
		return false, fmt.Sprintf("no routing entry from %s to %s, and no chain of direct connections", r.name(a), r.name(b))
	}
	switch rt.Configured {
	case mailnet.RouteDirect:
		return true, ""
	case mailnet.RouteIndirect:
		v := rt.ViaServerID
		if v == 0 {
			return false, fmt.Sprintf("the route from %s to %s is indirect but names no relay", r.name(a), r.name(b))
		}
		if why := r.usable(v); why != "" {
			return false, "its relay " + why
		}
		if ok, why := r.reaches(a, v); !ok {
			return false, fmt.Sprintf("no route from %s to its relay %s: %s", r.name(a), r.name(v), why)
		}
		if ok, why := r.reaches(v, b); !ok {
			return false, fmt.Sprintf("no route from the relay %s onward to %s: %s", r.name(v), r.name(b), why)
		}
		return true, ""
	}
	return false, fmt.Sprintf("the route from %s to %s is configured No Connection", r.name(a), r.name(b))
}

// chained reports whether a reaches b over working direct entries; the
// servers a reaches are found once per a (a breadth-first walk, kept as
// a bitset).
func (r *Reachability) chained(a, b int64) bool {
	ia, ok1 := r.idx[a]
	ib, ok2 := r.idx[b]
	if !ok1 || !ok2 {
		return false
	}
	seen, ok := r.bfs[a]
	if !ok {
		seen = make([]uint64, (len(r.direct)+63)/64)
		seen[ia/64] |= 1 << (ia % 64)
		queue := []int32{ia}
		for len(queue) > 0 {
			x := queue[len(queue)-1]
			queue = queue[:len(queue)-1]
			for _, y := range r.direct[x] {
				if seen[y/64]&(1<<(y%64)) == 0 {
					seen[y/64] |= 1 << (y % 64)
					queue = append(queue, y)
				}
			}
		}
		r.bfs[a] = seen
	}
	return seen[ib/64]&(1<<(ib%64)) != 0
}

// FindGaps lists the routing entries between two running servers that do
// not deliver, by from and to server. An entry configured "No Connection"
// is the administrator's choice and no gap; so is a pair with no entry.
func FindGaps(servers []mailnet.Server, routes []mailnet.Route, c Conflicts) []RoutingGap {
	r := NewReachability(servers, routes, c)
	out := []RoutingGap{}
	for _, rt := range routes {
		if rt.Configured == mailnet.RouteNone || rt.FromServerID == rt.ToServerID {
			continue
		}
		from, ok1 := r.servers[rt.FromServerID]
		to, ok2 := r.servers[rt.ToServerID]
		if !ok1 || !ok2 || from.Status != mailnet.StatusRunning || to.Status != mailnet.StatusRunning {
			continue
		}
		if ok, why := r.reaches(rt.FromServerID, rt.ToServerID); !ok {
			out = append(out, RoutingGap{FromServerID: rt.FromServerID, ToServerID: rt.ToServerID,
				Configured: rt.Configured, ViaServerID: rt.ViaServerID, Reason: why})
		}
	}
	slices.SortFunc(out, func(x, y RoutingGap) int {
		return cmp.Or(cmp.Compare(x.FromServerID, y.FromServerID), cmp.Compare(x.ToServerID, y.ToServerID))
	})
	return out
}

// RoutingGaps loads the servers, the routing table and the conflicts and
// lists the gaps.
func RoutingGaps(ctx context.Context, st *store.Store) ([]RoutingGap, error) {
	servers, err := st.Servers(ctx)
	if err != nil {
		return nil, err
	}
	routes, err := st.Routes(ctx, 0)
	if err != nil {
		return nil, err
	}
	return FindGaps(servers, routes, FindConflicts(servers)), nil
}
