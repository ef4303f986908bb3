package reports

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// DuplicateServer is one server of a duplicate-serial group.
type DuplicateServer struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	SiteID       int64  `json:"site_id"`
	Site         string `json:"site"`
	Kind         string `json:"kind"`
	Status       string `json:"status"`
	UserCount    int64  `json:"user_count"`
	MessageCount int64  `json:"message_count"`
}

// Recommendation is the resolution of Q99393 for one group: "all but one
// must be removed and the existing users moved to another server. It is
// not possible to change the serial number of a mail server."
type Recommendation struct {
	// KeepServerID is the server with the most users (tie: lowest id).
	KeepServerID    int64   `json:"keep_server_id"`
	RemoveServerIDs []int64 `json:"remove_server_ids"`
	// MoveUserIDs are the users homed on the servers to remove;
	// MoveFromServerIDs those of RemoveServerIDs that have users.
	MoveUserIDs       []int64 `json:"move_user_ids"`
	MoveFromServerIDs []int64 `json:"move_from_server_ids"`
	// TargetServerID is a suggested running server outside every
	// duplicate group (same kind if possible, preferring the removed
	// server's site); 0 if there is none.
	TargetServerID int64    `json:"target_server_id"`
	Steps          []string `json:"steps"`
	Text           string   `json:"text"`
}

// DuplicateGroup is two or more servers, not decommissioned, that share a
// serial number, and their impact as Q99393 describes it.
type DuplicateGroup struct {
	Serial    string            `json:"serial"`
	Kind      string            `json:"kind"` // serials are shared only within one product
	ServerIDs []int64           `json:"server_ids"`
	Servers   []DuplicateServer `json:"servers"`
	Sites     []int64           `json:"sites"`
	SameSite  bool              `json:"same_site"`
	// Impacted: the group spans sites, so its routing and listings are
	// cut off. A single-site group is flagged but has no routing impact.
	Impacted bool   `json:"impacted"`
	Impact   string `json:"impact"`
	// RoutesNoConnection is every configured route to, from or via a
	// server of the group, with its effective connection (none) and why.
	RoutesNoConnection []mailnet.Route `json:"routes_no_connection"`
	// HiddenUserIDs are the users homed on the group's servers who are
	// configured to show in the All listing but vanish from it.
	HiddenUserIDs  []int64        `json:"hidden_user_ids"`
	Recommendation Recommendation `json:"recommendation"`
}

// Duplicates finds every duplicate-serial group (ordered by serial) with
// its routes effectively "No Connection", hidden users and recommended
// resolution. It reads the servers that share a serial, then only index
// lookups: routes by server, users by server (users_server), the target.
// A resolved group (all but one decommissioned) is no longer listed.
func Duplicates(ctx context.Context, st *store.Store) ([]DuplicateGroup, error) {
	servers, err := st.DuplicateSerialServers(ctx)
	if err != nil {
		return nil, err
	}
	c := FindConflicts(servers)
	groups := GroupDuplicates(servers, c)
	if len(groups) == 0 {
		return []DuplicateGroup{}, nil
	}

	var siteIDs []int64
	for _, g := range groups {
		siteIDs = append(siteIDs, g.Sites...)
	}
	sites, err := st.ReportSiteNames(ctx, siteIDs)
	if err != nil {
		return nil, err
	}

	impacted := make([]int64, 0, len(c.Impacted))
	for id := range c.Impacted {
		impacted = append(impacted, id)
	}
	slices.Sort(impacted)
	routes, err := st.ReportRoutesTouching(ctx, impacted)
	if err != nil {
		return nil, err
	}
	var ends []int64
	for _, rt := range routes {
		ends = append(ends, rt.FromServerID, rt.ToServerID)
		if rt.ViaServerID != 0 {
			ends = append(ends, rt.ViaServerID)
		}
	}
	slices.Sort(ends)
	names, err := st.ReportServerNames(ctx, slices.Compact(ends))
	if err != nil {
		return nil, err
	}
	for i := range routes {
		routes[i] = EffectiveRoute(routes[i], c, names)
	}
	// The users of every server of the groups, in one read.
	var members []int64
	for _, g := range groups {
		members = append(members, g.ServerIDs...)
	}
	usersAll, usersListed, err := st.ReportUsersOnServers(ctx, members)
	if err != nil {
		return nil, err
	}
	skip := make([]int64, 0, len(c.Group))
	for id := range c.Group {
		skip = append(skip, id)
	}
	slices.Sort(skip)

	for gi := range groups {
		g := &groups[gi]
		for i := range g.Servers {
			g.Servers[i].Site = sites[g.Servers[i].SiteID]
		}
		in := map[int64]bool{}
		for _, id := range g.ServerIDs {
			in[id] = true
		}
		if g.Impacted {
			for _, rt := range routes {
				if rt.Effective == mailnet.RouteNone && (in[rt.FromServerID] || in[rt.ToServerID] || in[rt.ViaServerID]) {
					g.RoutesNoConnection = append(g.RoutesNoConnection, rt)
				}
			}
			for _, id := range g.ServerIDs {
				g.HiddenUserIDs = append(g.HiddenUserIDs, usersListed[id]...)
			}
		}
		keep, remove := KeepAndRemove(g.Servers)
		target, err := chooseTarget(ctx, st, skip, remove)
		if err != nil {
			return nil, err
		}
		rec := Recommendation{KeepServerID: keep.ID, MoveUserIDs: []int64{}, MoveFromServerIDs: []int64{}, RemoveServerIDs: []int64{}}
		for _, sv := range remove {
			rec.RemoveServerIDs = append(rec.RemoveServerIDs, sv.ID)
			if ids := usersAll[sv.ID]; len(ids) > 0 {
				rec.MoveFromServerIDs = append(rec.MoveFromServerIDs, sv.ID)
				rec.MoveUserIDs = append(rec.MoveUserIDs, ids...)
			}
		}
		rec.TargetServerID = target.ID
		rec.Steps = ResolutionSteps(g, keep, remove, target, len(rec.MoveUserIDs))
		rec.Text = strings.Join(rec.Steps, " ")
		g.Recommendation = rec
		g.Impact = ImpactSentence(g)
	}
	return groups, nil
}

// GroupDuplicates gathers the servers of c's groups by serial (ordered by
// serial, servers by id), with sites, same_site and impacted set; the
// routes, users and recommendation are left for Duplicates.
func GroupDuplicates(servers []mailnet.Server, c Conflicts) []DuplicateGroup {
	type key struct{ serial, kind string }
	by := map[key]*DuplicateGroup{}
	var keys []key
	for _, sv := range servers {
		serial, ok := c.Group[sv.ID]
		if !ok {
			continue
		}
		k := key{serial, sv.Kind}
		g := by[k]
		if g == nil {
			g = &DuplicateGroup{Serial: serial, Kind: sv.Kind, RoutesNoConnection: []mailnet.Route{}, HiddenUserIDs: []int64{}}
			by[k] = g
			keys = append(keys, k)
		}
		g.ServerIDs = append(g.ServerIDs, sv.ID)
		g.Servers = append(g.Servers, DuplicateServer{ID: sv.ID, Name: sv.Name, SiteID: sv.SiteID, Kind: sv.Kind,
			Status: sv.Status, UserCount: sv.UserCount, MessageCount: sv.MessageCount})
		if !slices.Contains(g.Sites, sv.SiteID) {
			g.Sites = append(g.Sites, sv.SiteID)
		}
		if c.IsImpacted(sv.ID) {
			g.Impacted = true
		}
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.serial, b.serial), cmp.Compare(a.kind, b.kind)) })
	out := make([]DuplicateGroup, 0, len(keys))
	for _, k := range keys {
		g := by[k]
		slices.Sort(g.ServerIDs)
		slices.SortFunc(g.Servers, func(a, b DuplicateServer) int { return cmp.Compare(a.ID, b.ID) })
		slices.Sort(g.Sites)
		g.SameSite = len(g.Sites) == 1
		out = append(out, *g)
	}
	return out
}

// KeepAndRemove picks the server to keep, the one with the most users
// (tie: lowest id), and the rest to remove, most users first (tie: id).
func KeepAndRemove(group []DuplicateServer) (DuplicateServer, []DuplicateServer) {
	sorted := slices.Clone(group)
	slices.SortFunc(sorted, func(a, b DuplicateServer) int {
		if c := cmp.Compare(b.UserCount, a.UserCount); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if len(sorted) == 0 {
		return DuplicateServer{}, nil
	}
	return sorted[0], sorted[1:]
}

// chooseTarget suggests where the users of remove should go: a running
// server in no duplicate group (skip, every server of the groups),
// preferring the same kind, then the site of the first server to remove:
// same kind at that site, same kind anywhere, any kind at that site,
// anything. Each step reads one row at most.
func chooseTarget(ctx context.Context, st *store.Store, skip []int64, remove []DuplicateServer) (store.ReportServerBrief, error) {
	if len(remove) == 0 {
		return store.ReportServerBrief{}, nil
	}
	from := remove[0]
	type step struct {
		kind string
		site int64 // 0: any site
	}
	steps := []step{{from.Kind, from.SiteID}, {from.Kind, 0}, {"", from.SiteID}, {"", 0}}
	if from.Kind == "" {
		steps = steps[3:] // no kind to prefer: the first running server anywhere
	}
	for _, s := range steps {
		b, ok, err := st.ReportRunningServer(ctx, s.kind, s.site, skip)
		if err != nil || ok {
			return b, err
		}
	}
	return store.ReportServerBrief{}, nil
}

func serverNames(list []DuplicateServer) string {
	names := make([]string, len(list))
	for i, sv := range list {
		names[i] = sv.Name
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// ResolutionSteps writes the resolution of Q99393 for g as sentences.
func ResolutionSteps(g *DuplicateGroup, keep DuplicateServer, remove []DuplicateServer, target store.ReportServerBrief, moveUsers int) []string {
	steps := []string{fmt.Sprintf("Keep %s (id %d), the server of serial %s with the most users (%d).", keep.Name, keep.ID, g.Serial, keep.UserCount)}
	rm := serverNames(remove)
	switch {
	case moveUsers == 0:
		steps = append(steps, fmt.Sprintf("%s has no users to move.", rm))
	case target.ID != 0:
		steps = append(steps, fmt.Sprintf("Move the %d existing users of %s, with their messages, to %s (id %d), a running server that does not share a serial (Move User; with Microsoft Mail 3.0, duplicate the accounts on the new server and forward their mail).", moveUsers, rm, target.Name, target.ID))
	default:
		steps = append(steps, fmt.Sprintf("Move the %d existing users of %s to another server; no running server outside the duplicate groups exists now, so register one first.", moveUsers, rm))
	}
	steps = append(steps, fmt.Sprintf("Then remove (decommission) %s: it is not possible to change the serial number of a mail server, so all but one of the servers that share it must be removed.", rm))
	after := "After the duplicate server has been removed, routing and user name propagation return to normal"
	if g.Impacted {
		after += fmt.Sprintf(": the %d routing entries now \"No Connection\" return to their configured connections and the %d hidden users reappear in the All listing.", len(g.RoutesNoConnection), len(g.HiddenUserIDs))
	} else {
		after += "."
	}
	return append(steps, after)
}

// ImpactSentence says what the group does to the network (Q99393).
func ImpactSentence(g *DuplicateGroup) string {
	names := serverNames(g.Servers)
	if !g.Impacted {
		site := ""
		if len(g.Servers) > 0 {
			site = g.Servers[0].Site
		}
		return fmt.Sprintf("%s share serial %s at the same site (%s): the standard duplicate serial number message (\"There is another copy of this Microsoft Mail Server active on your network. The server on this machine has been stopped.\") stops the second copy, so routing and the All listing are not affected (Q99393); the duplicate must still be removed.",
			names, g.Serial, site)
	}
	return fmt.Sprintf("%s share serial %s at different sites: no duplicate warning is shown, every routing entry to or from them is effectively \"No Connection\" (%d entries) and their %d listed users vanish from the All listing of the other servers (Q99393).",
		names, g.Serial, len(g.RoutesNoConnection), len(g.HiddenUserIDs))
}
