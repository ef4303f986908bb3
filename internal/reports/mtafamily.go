package reports

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/mta"
	"mailnet/internal/store"
)

// MTA rules beyond the seed (KB-RULES R3, R5-R9).
const (
	RuleClusterNode       = "cluster-node-source-address"   // R3, Q169113
	RuleRASPool           = "ras-pool-source-address"       // R5, Q256844
	RuleProxySource       = "proxy-source-address"          // R6, Q254909
	RuleDuplicateTarget   = "duplicate-connector-target"    // R7, Q200588
	RuleControlBlocks     = "control-blocks-undersized"     // R8, Q200259
	RuleBidirectionalHalt = "x400-bidirectional-stall-name" // R9, Q306959
)

// Interoperability events of Q306959, logged when the MTA backs up and the
// transport connection is lost.
var stallEvents = []int{4282, 4283, 4284, 4287}

// control-block ceilings (Q243632, Q166602).
const (
	maxControlBlocks55 = 1210
	maxControlBlocks40 = 62
)

// MTAEvidence is what the MTA family reads beyond 9301: 9156 and the
// interoperability errors 4282-4287, over the window, and the inventory's
// cluster and RAS facts.
type MTAEvidence struct {
	Events9156  []store.ReportEvent
	StallEvents []store.ReportEvent
	Facts       mta.Facts
}

// BuildMTAFindings applies R3 and R5-R9 to the x400 connectors, the
// servers, the MTA builds and the evidence. unknown is the 9301 reading
// of BuildX400: the callers that are no server of the inventory.
func BuildMTAFindings(conns []mailnet.Connector, servers map[int64]mailnet.Server, builds map[int64]mta.Version, ev X400Evidence, mev MTAEvidence, unknown []X400UnknownCaller) []Finding {
	return buildMTAFindings(newMTAIndex(conns), conns, servers, builds, ev, mev, unknown)
}

// mtaIndex is what R7-R9 need of the inventory, built once per inventory:
// every server's x400 connectors, and the Stack addresses that two or
// more of one server's connectors point at (R7's candidates).
type mtaIndex struct {
	x400    map[int64][]mailnet.Connector // by local server
	servers []int64                       // the keys of x400, in order
	shared  map[int64][]sharedTarget      // by local server, by address
}

type sharedTarget struct {
	addr  string
	conns []mailnet.Connector
}

func newMTAIndex(conns []mailnet.Connector) *mtaIndex {
	ix := &mtaIndex{x400: map[int64][]mailnet.Connector{}, shared: map[int64][]sharedTarget{}}
	for _, c := range conns {
		if c.Kind == mailnet.ConnectorX400 {
			ix.x400[c.ServerID] = append(ix.x400[c.ServerID], c)
		}
	}
	ix.servers = sortedKeys(ix.x400)
	for _, id := range ix.servers {
		if shared := sharedTargets(ix.x400[id]); len(shared) > 0 {
			ix.shared[id] = shared
		}
	}
	return ix
}

// sharedTargets is every Stack address that two or more of one server's
// connectors, list, point at, in address order.
func sharedTargets(list []mailnet.Connector) []sharedTarget {
	if len(list) < 2 {
		return nil
	}
	byAddr := map[string][]mailnet.Connector{}
	for _, c := range list {
		for _, a := range c.StackAddresses {
			k := strings.ToLower(strings.TrimSpace(a))
			if k != "" {
				byAddr[k] = append(byAddr[k], c)
			}
		}
	}
	var out []sharedTarget
	for _, addr := range slices.Sorted(mapKeys(byAddr)) {
		if same := byAddr[addr]; len(same) >= 2 {
			out = append(out, sharedTarget{addr, same})
		}
	}
	return out
}

// patched is ix for the connectors of e, built on the ends ix was built
// for: the groups of the servers whose connectors changed are built
// again. ix itself
// does not change.
func (ix *mtaIndex) patched(e *x400Ends) *mtaIndex {
	if len(e.changedOn) == 0 { // only servers changed: the groups hold connectors
		return ix
	}
	out := &mtaIndex{x400: maps.Clone(ix.x400), servers: ix.servers, shared: maps.Clone(ix.shared)}
	keys := false // a server gained its first x400 connector or lost its last
	for id := range e.changedOn {
		var on []*mailnet.Connector
		if p, ok := e.pos[id]; ok {
			on = e.on(p)
		}
		_, had := out.x400[id]
		delete(out.shared, id)
		if len(on) == 0 {
			delete(out.x400, id)
			keys = keys || had
			continue
		}
		keys = keys || !had
		list := make([]mailnet.Connector, len(on))
		for j, c := range on {
			list[j] = *c
		}
		out.x400[id] = list
		if shared := sharedTargets(list); len(shared) > 0 {
			out.shared[id] = shared
		}
	}
	if keys {
		out.servers = sortedKeys(out.x400)
	}
	return out
}

// byServer groups events by the server that logged them.
func byServer(evs []store.ReportEvent) map[int64][]store.ReportEvent {
	out := map[int64][]store.ReportEvent{}
	for _, e := range evs {
		out[e.ServerID] = append(out[e.ServerID], e)
	}
	return out
}

func buildMTAFindings(ix *mtaIndex, conns []mailnet.Connector, servers map[int64]mailnet.Server, builds map[int64]mta.Version, ev X400Evidence, mev MTAEvidence, unknown []X400UnknownCaller) []Finding {
	var out []Finding
	x400 := ix.x400

	// R3 and R5 first: a caller they explain (a cluster node, a RAS pool
	// address) is no proxy.
	out = append(out, clusterFindings(conns, servers, builds, ev, mev.Facts)...)
	out = append(out, rasFindings(conns, servers, builds, ev, mev.Facts)...)

	// R6: an unknown caller whose 9301 is followed by a 9202: a proxy
	// re-sourced the MTA's connection (Q254909).
	for _, u := range unknown {
		if !followedBy9202(ev, u.ServerID, u.LastSeen) || !isIPv4(u.Address) || explainedCaller(mev.Facts, u.ServerID, u.Address) {
			continue
		}
		out = append(out, Finding{Rule: RuleProxySource, Article: "Q254909", Severity: mailnet.SeverityError, ServerIDs: []int64{u.ServerID},
			Finding: fmt.Sprintf("%s refuses calls arriving from %s, which is no server of the inventory, with Event 9301 followed by 9202: a calling Exchange server's MTA traffic is likely going through WinSock Proxy Client, which makes the proxy's address the source (Q254909).", u.Server, u.Address),
			Fix:     "On the calling Exchange server, add [EMSMTA] with Disable=1 to Mspclnt.ini and restart the MTA; this affects only site, X.400 and Dynamic RAS connectors."})
	}

	ev9156, evStall := byServer(mev.Events9156), byServer(mev.StallEvents)
	for _, id := range ix.servers {
		shared, e9156, stalls := ix.shared[id], ev9156[id], evStall[id]
		if len(shared) == 0 && len(e9156) == 0 && len(stalls) == 0 {
			continue // nothing for R7-R9 to read
		}
		list := x400[id]
		sv := servers[id]
		v := builds[id]
		if v.IsZero() {
			v, _ = mta.ParseVersion(sv.Version)
		}
		// R7: two connectors on one server to the same stack address, on
		// an MTA older than 5.5 SP1.
		for _, t := range shared {
			addr, same := t.addr, t.conns
			if v.IsZero() || (v.Major == 5 && v.Minor == 5 && v.Build >= 2232) || v.Major > 5 {
				continue
			}
			out = append(out, Finding{Rule: RuleDuplicateTarget, Article: "Q200588, Q198772", Severity: mailnet.SeverityError, ServerIDs: []int64{id}, ConnectorIDs: connectorIDs(same),
				Finding: fmt.Sprintf("%s has %d X.400 connectors pointing at the same address %s: on Exchange 4.0 and 5.0 (this MTA is %s) the local T, S and P selectors belong to the stack, so none of them works (Q200588).", sv.Name, len(same), addr, v.Label()),
				Fix:     "Give each connector a unique IP address or host name on its Stack page (a second address, or a second host name in LMHOSTS); or upgrade to Exchange 5.5 SP1 or later and set distinct Outgoing T-selectors that match on both sides (Q198772)."})
		}
		// R8: the control blocks the 9156 names against 10 * N + 10.
		need := mta.RequiredControlBlocks(len(list))
		for _, e := range e9156 {
			have, err := mta.ParseControlBlocks(e.Description)
			if err != nil || have >= need {
				continue
			}
			ceiling := maxControlBlocks55
			if v.Major == 4 || (v.Major == 5 && v.Minor == 0) {
				ceiling = maxControlBlocks40
			}
			out = append(out, Finding{Rule: RuleControlBlocks, Article: "Q200259, Q243632", Severity: mailnet.SeverityWarning, ServerIDs: []int64{id},
				Finding: fmt.Sprintf("%s has %d X.400 connectors but only %d MTA control blocks (Event 9156): associations are being refused; (10 x %d) + 10 = %d are needed (Q200259).", sv.Name, len(list), have, len(list), need),
				Fix: fmt.Sprintf(`Set HKLM\System\CurrentControlSet\Services\MSExchangeMTA\Parameters\TCP/IP Control blocks to %d (at most %d on this version), raise each connector's Association Parameters Disconnect to 300-600 seconds if 9156 persists, then restart the MTA.`,
					min(need, ceiling), ceiling)})
			break
		}
		// R9: interoperability errors on a link whose Stack uses names.
		for _, e := range stalls {
			for _, c := range list {
				back := reverseConnector(conns, c)
				if !namesByHost(c) && (back == nil || !namesByHost(*back)) {
					continue
				}
				peer := servers[c.RemoteServerID]
				ids := []int64{c.ID}
				if back != nil {
					ids = append(ids, back.ID)
				}
				out = append(out, Finding{Rule: RuleBidirectionalHalt, Article: "Q306959, Q193380", Severity: mailnet.SeverityError, ServerIDs: []int64{id, peer.ID}, ConnectorIDs: ids,
					Finding: fmt.Sprintf("The X.400 link %s <-> %s is stalled in both directions (Event %d at %s): its connectors use host names on the Stack page (Q306959).", sv.Name, peer.Name, e.EventID, e.Time.UTC().Format(time.RFC3339)),
					Fix:     fmt.Sprintf("On both servers, configure the X.400 connector to use the IP address of the remote MTA (%s: %s; %s: %s), then restart both MTAs.", sv.Name, strings.Join(peer.Addresses, ", "), peer.Name, strings.Join(sv.Addresses, ", "))})
			}
			break
		}
	}
	slices.SortStableFunc(out, func(x, y Finding) int {
		return cmp.Or(cmp.Compare(severityRank(y.Severity), severityRank(x.Severity)), cmp.Compare(x.Rule, y.Rule), slices.Compare(x.ServerIDs, y.ServerIDs))
	})
	if out == nil {
		out = []Finding{}
	}
	return out
}

// followedBy9202 reports whether server logged a 9202 within the pair
// window after at.
func followedBy9202(ev X400Evidence, server int64, at time.Time) bool {
	for _, e := range ev.Events9202 {
		if e.ServerID == server && !e.Time.Before(at) && e.Time.Sub(at) <= pairWindow {
			return true
		}
	}
	return false
}

// namesByHost reports whether a connector's Stack entry is a name rather
// than an IPv4 address.
func namesByHost(c mailnet.Connector) bool {
	for _, a := range c.StackAddresses {
		if a = strings.TrimSpace(a); a != "" && !isIPv4(a) {
			return true
		}
	}
	return false
}

// reverseConnector is the x400 connector from c's remote back to its
// server, if any.
func reverseConnector(conns []mailnet.Connector, c mailnet.Connector) *mailnet.Connector {
	for i := range conns {
		b := &conns[i]
		if b.Kind == mailnet.ConnectorX400 && b.ServerID == c.RemoteServerID && b.RemoteServerID == c.ServerID {
			return b
		}
	}
	return nil
}

func connectorIDs(cs []mailnet.Connector) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	slices.Sort(out)
	return out
}

func sortedKeys[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
