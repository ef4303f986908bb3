package reports

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/mta"
	"mailnet/internal/store"
)

// R3 (Q169113, cluster nodes) and R5 (Q256844, Routing and RAS): two
// callers whose Event 9301 address is no address of the inventory, but a
// known one all the same: a cluster's node instead of its virtual IP, and
// an address of the receiver's own RAS pool.

// read9301Event is one Event 9301 read as the MTA writes it, with the
// server that logged it.
type read9301Event struct {
	receiver int64
	at       time.Time
	g        mta.Gateway
}

// read9301 parses every Event 9301 of the window; the receiver is the
// server that logged it, else the server its transport stack names.
func read9301(servers map[int64]mailnet.Server, ev X400Evidence) []read9301Event {
	if len(ev.Events9301) == 0 {
		return nil
	}
	var byName map[string]int64
	out := make([]read9301Event, 0, len(ev.Events9301))
	for _, e := range ev.Events9301 {
		g, err := ev.gateway(e)
		if err != nil {
			continue
		}
		receiver := e.ServerID
		if receiver == 0 {
			if byName == nil {
				byName = make(map[string]int64, len(servers))
				for id, s := range servers {
					byName[strings.ToLower(s.Name)] = id
				}
			}
			receiver = byName[strings.ToLower(g.Server)]
		}
		if receiver != 0 {
			out = append(out, read9301Event{receiver: receiver, at: e.Time, g: g})
		}
	}
	return out
}

// explainedCaller reports whether a caller that is no server of the
// inventory is a cluster's node (R3) or an address of the receiver's RAS
// pool (R5).
func explainedCaller(f mta.Facts, receiver int64, caller string) bool {
	if p := f.Servers[receiver].RASPool; p != nil && p.Contains(caller) {
		return true
	}
	for _, sf := range f.Servers {
		if _, ok := sf.Cluster.Node(caller); ok {
			return true
		}
	}
	return false
}

// mtaVersion is a server's MTA version: learned from its startup event,
// else as the inventory records it.
func mtaVersion(builds map[int64]mta.Version, sv mailnet.Server) mta.Version {
	if v, ok := builds[sv.ID]; ok && !v.IsZero() {
		return v
	}
	v, _ := mta.ParseVersion(sv.Version)
	return v
}

// x400Between is every x400 connector on server from to server to.
func x400Between(conns []mailnet.Connector, from, to int64) []mailnet.Connector {
	var out []mailnet.Connector
	for _, c := range conns {
		if c.Kind == mailnet.ConnectorX400 && c.ServerID == from && c.RemoteServerID == to {
			out = append(out, c)
		}
	}
	return out
}

// ipStack is the first Stack entry of c that is an IPv4 address.
func ipStack(c mailnet.Connector) string {
	for _, a := range c.StackAddresses {
		if a = strings.TrimSpace(a); isIPv4(a) {
			return a
		}
	}
	return ""
}

// clusterCall is the 9301 evidence of one cluster calling one receiver
// from its nodes.
type clusterCall struct {
	count int
	last  time.Time
	nodes []string // as the events gave them: "NCOSTEST" or "10.0.0.51 (node NODE1)"
}

// clusterFindings is R3, Q169113: a server that runs on a Microsoft
// Cluster calls from its active node's address, not the virtual one.
func clusterFindings(conns []mailnet.Connector, servers map[int64]mailnet.Server, builds map[int64]mta.Version, ev X400Evidence, f mta.Facts) []Finding {
	var clustered []int64
	for id, sf := range f.Servers {
		if sf.Cluster != nil {
			if _, ok := servers[id]; ok {
				clustered = append(clustered, id)
			}
		}
	}
	if len(clustered) == 0 {
		return nil
	}
	slices.Sort(clustered)
	calls := read9301(servers, ev)
	var out []Finding
	for _, cid := range clustered {
		c := servers[cid]
		cl := f.Servers[cid].Cluster
		// The evidence: Event 9301 on a peer X whose address is one of the
		// cluster's nodes, by IP or by name.
		seen := map[int64]*clusterCall{}
		for _, call := range calls {
			if call.receiver == cid {
				continue
			}
			n, ok := cl.Node(call.g.Caller())
			if !ok {
				continue
			}
			cc := seen[call.receiver]
			if cc == nil {
				cc = &clusterCall{}
				seen[call.receiver] = cc
			}
			cc.count++
			if call.at.After(cc.last) {
				cc.last = call.at
			}
			label := call.g.Caller()
			if call.g.IP.IsValid() {
				label += " (node " + n.Name + ")"
			}
			if !slices.Contains(cc.nodes, label) {
				cc.nodes = append(cc.nodes, label)
			}
		}
		// Every peer X that has an x400 connector with the cluster, either
		// way.
		peers := map[int64]bool{}
		for id := range seen {
			peers[id] = true
		}
		for _, k := range conns {
			if k.Kind != mailnet.ConnectorX400 {
				continue
			}
			switch {
			case k.ServerID == cid && k.RemoteServerID != 0 && k.RemoteServerID != cid:
				peers[k.RemoteServerID] = true
			case k.RemoteServerID == cid && k.ServerID != cid:
				peers[k.ServerID] = true
			}
		}
		for _, xid := range sortedKeys(peers) {
			x, ok := servers[xid]
			if !ok {
				continue
			}
			toC := x400Between(conns, xid, cid)   // on X: X's Stack for C
			fromC := x400Between(conns, cid, xid) // on C
			if fnd, ok := clusterFinding(c, x, cl, toC, fromC, seen[xid], mtaVersion(builds, c)); ok {
				out = append(out, fnd)
			}
		}
	}
	return out
}

// clusterFinding judges the link between cluster C and peer X.
func clusterFinding(c, x mailnet.Server, cl *mta.Cluster, toC, fromC []mailnet.Connector, calls *clusterCall, cv mta.Version) (Finding, bool) {
	// Connectors whose Stack lists only an IP address: "message flow
	// will not occur if you just list the IP address on the Stack tab".
	var byIP []mailnet.Connector
	virtualOnX := false
	for _, k := range toC {
		if a := ipStack(k); a != "" && !namesByHost(k) {
			byIP = append(byIP, k)
			virtualOnX = virtualOnX || a == cl.VirtualAddress
		}
	}
	for _, k := range fromC {
		if ipStack(k) != "" && !namesByHost(k) {
			byIP = append(byIP, k)
		}
	}
	// C's own connectors to X that send from the virtual IP by the
	// override of KB197378 (5.5 SP2 and later) do not call from a node.
	overridden := len(fromC) > 0
	for _, k := range fromC {
		if k.OverrideAddress != cl.VirtualAddress || (!cv.IsZero() && !cv.HasOverride()) {
			overridden = false
		}
	}
	ids := connectorIDs(append(slices.Clone(toC), fromC...))
	fix := clusterFix(c, x, cl, toC, fromC, cv)
	if calls != nil && calls.count > 0 && (virtualOnX || len(toC) == 0) {
		return Finding{Rule: RuleClusterNode, Article: "Q169113", Severity: mailnet.SeverityError, ServerIDs: []int64{x.ID, c.ID}, ConnectorIDs: ids,
			Finding: fmt.Sprintf("%s runs on a Microsoft Cluster and is calling %s from its node %s instead of its virtual IP %s, so %s cannot match a connector: %d Event 9301 in the last 24 hours, the last at %s. The MTA asks for the local address \"using the INADDR_ANY flag. Windows NT will return the local IP address of the active node and not the Cluster's virtual IP address\" (Q169113).",
				c.Name, x.Name, strings.Join(calls.nodes, ", "), cl.VirtualAddress, x.Name, calls.count, calls.last.UTC().Format(time.RFC3339)),
			Fix: fix}, true
	}
	if len(byIP) == 0 || overridden {
		return Finding{}, false
	}
	names := make([]string, len(byIP))
	for i, k := range byIP {
		names[i] = fmt.Sprintf("%q on %s", k.Name, serverOf(k, c, x))
	}
	return Finding{Rule: RuleClusterNode, Article: "Q169113", Severity: mailnet.SeverityWarning, ServerIDs: []int64{x.ID, c.ID}, ConnectorIDs: ids,
		Finding: fmt.Sprintf("%s runs on a Microsoft Cluster (virtual IP %s) and the X.400 link %s <-> %s lists only an IP address on the Stack of %s: \"message flow will not occur if you just list the IP address on the Stack tab\", because the cluster's MTA calls from its active node's address (Q169113).",
			c.Name, cl.VirtualAddress, c.Name, x.Name, strings.Join(names, " and ")),
		Fix: fix}, true
}

func serverOf(k mailnet.Connector, a, b mailnet.Server) string {
	if k.ServerID == a.ID {
		return a.Name
	}
	return b.Name
}

// clusterFix is Q169113's workaround, on both servers, and the override
// of KB197378 as the alternative.
func clusterFix(c, x mailnet.Server, cl *mta.Cluster, toC, fromC []mailnet.Connector, cv mta.Version) string {
	conn := func(list []mailnet.Connector, on mailnet.Server) string {
		if len(list) == 0 {
			return "the X.400 connector on " + on.Name
		}
		return fmt.Sprintf("connector %q on %s", list[0].Name, on.Name)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "1. Change the Stack of %s to use Remote Host Name, with the name %s. 2. Change the Stack of %s to use Remote Host Name, with the name %s: \"This will need to be done on both servers\" (Q169113). 3. Restart the MTA on both servers.",
		conn(toC, x), c.Name, conn(fromC, c), x.Name)
	rdn := "<connector RDN>"
	if len(fromC) > 0 {
		rdn = fromC[0].Name
	}
	fmt.Fprintf(&sb, " Or, instead: set the Stack IP Address Override of %s to the virtual IP %s (registry value %s, REG_SZ), which needs Exchange 5.5 SP2 (MTA %s)",
		conn(fromC, c), cl.VirtualAddress, RegistryValue(rdn), mta.OverrideMin)
	if !cv.IsZero() && !cv.HasOverride() {
		fmt.Fprintf(&sb, ": %s runs %s, so install SP2 first", c.Name, cv.Label())
	}
	sb.WriteString(", and restart its MTA (KB197378 with Q169113). Q169113 says the problem is corrected in a later Exchange 5.5 service pack.")
	return sb.String()
}

// rasCall is the 9301 evidence of pool addresses on one receiver.
type rasCall struct {
	count int
	last  time.Time
	addrs []string
}

// rasFindings is R5, Q256844: a connector that dials its peer over
// Routing and RAS presents an address of the peer's RAS pool, which the
// peer's connector does not list.
func rasFindings(conns []mailnet.Connector, servers map[int64]mailnet.Server, builds map[int64]mta.Version, ev X400Evidence, f mta.Facts) []Finding {
	if len(f.Transports) == 0 && !anyPool(f) {
		return nil
	}
	// The evidence, per receiver: Event 9301 whose address is in its pool.
	pooled := map[int64]*rasCall{}
	for _, call := range read9301(servers, ev) {
		p := f.Servers[call.receiver].RASPool
		if p == nil || !call.g.IP.IsValid() || !p.Contains(call.g.IP.String()) {
			continue
		}
		rc := pooled[call.receiver]
		if rc == nil {
			rc = &rasCall{}
			pooled[call.receiver] = rc
		}
		rc.count++
		if call.at.After(rc.last) {
			rc.last = call.at
		}
		if a := call.g.IP.String(); !slices.Contains(rc.addrs, a) {
			rc.addrs = append(rc.addrs, a)
		}
	}
	var out []Finding
	dialers := map[int64]bool{} // receivers with a known dial-up connector
	for _, c := range conns {
		if c.Kind != mailnet.ConnectorX400 || f.Transport(c.ID) != mta.TransportRRAS || c.RemoteServerID == 0 {
			continue
		}
		y, ok1 := servers[c.ServerID]
		x, ok2 := servers[c.RemoteServerID]
		if !ok1 || !ok2 {
			continue
		}
		dialers[x.ID] = true
		if fnd, ok := rasFinding(c, reverseConnector(conns, c), y, x, f.Servers[x.ID].RASPool, pooled[x.ID], mtaVersion(builds, y)); ok {
			out = append(out, fnd)
		}
	}
	// Pool addresses calling a server that no connector is known to dial.
	for _, xid := range sortedKeys(pooled) {
		if dialers[xid] {
			continue
		}
		x := servers[xid]
		rc := pooled[xid]
		out = append(out, Finding{Rule: RuleRASPool, Article: "Q256844", Severity: mailnet.SeverityError, ServerIDs: []int64{xid},
			Finding: fmt.Sprintf("%s refused %d connection(s) from %s, an address \"pulled from the IP RAS pool on the receiving server\" (%s), with Event 9301, the last at %s: a server dials %s over Routing and RAS and its connector has no Stack IP Address Override (Q256844).",
				x.Name, rc.count, strings.Join(rc.addrs, ", "), f.Servers[xid].RASPool, rc.last.UTC().Format(time.RFC3339), x.Name),
			Fix: fmt.Sprintf("Find the Exchange server that dials %s over Routing and RAS and mark its X.400 connector's transport as rras here. On that originating server, set the registry value %s (REG_SZ) to its own IP address \"in standard dot notation\", the address %s's connector lists on its Stack, then stop and restart the MTA (Q256844; KB197378 says the override needs Exchange 5.5 SP2).",
				x.Name, RegistryValue("<connector RDN>"), x.Name)})
	}
	return out
}

func anyPool(f mta.Facts) bool {
	for _, sf := range f.Servers {
		if sf.RASPool != nil {
			return true
		}
	}
	return false
}

// rasFinding judges connector c on Y, which dials X over Routing and RAS;
// back is X's connector to Y.
func rasFinding(c mailnet.Connector, back *mailnet.Connector, y, x mailnet.Server, pool *mta.RASPool, calls *rasCall, yv mta.Version) (Finding, bool) {
	// The address X's connector expects: "the IP address that is
	// displayed in the Stack tab of the connector, which is the IP
	// address of the originating server".
	expected, listed := "", false
	if back != nil {
		if a := ipStack(*back); a != "" {
			expected, listed = a, true
		}
	}
	if expected == "" && len(y.Addresses) > 0 {
		expected = y.Addresses[0]
	}
	ignored := c.OverrideAddress != "" && !yv.IsZero() && !yv.HasOverride()
	if c.OverrideAddress != "" && c.OverrideAddress == expected && listed && !ignored {
		return Finding{}, false
	}
	var why string
	switch {
	case c.OverrideAddress == "":
		why = "has no Stack IP Address Override"
	case ignored:
		why = fmt.Sprintf("has the override %s, which its MTA (%s) ignores before Exchange 5.5 SP2", c.OverrideAddress, yv.Label())
	case !listed:
		why = fmt.Sprintf("has the override %s, but %s's connector lists no IP address for %s", c.OverrideAddress, x.Name, y.Name)
	default:
		why = fmt.Sprintf("has the override %s, not the address %s that %s's connector lists", c.OverrideAddress, expected, x.Name)
	}
	poolText := "an address of " + x.Name + "'s RAS pool"
	if pool != nil {
		poolText += " (" + pool.String() + ")"
	}
	expText := expected
	if !listed {
		expText = "an IP address of " + y.Name + " (it lists none)"
	}
	ids := []int64{c.ID}
	if back != nil {
		ids = append(ids, back.ID)
	}
	slices.Sort(ids)
	fix := rasFix(c, back, y, x, expected, listed, yv)
	if calls != nil && calls.count > 0 {
		return Finding{Rule: RuleRASPool, Article: "Q256844", Severity: mailnet.SeverityError, ServerIDs: []int64{x.ID, y.ID}, ConnectorIDs: ids,
			Finding: fmt.Sprintf("%s dials %s over Routing and RAS and presents the pool address %s; %s's connector expects %s. Connector %q on %s %s, so \"the connector refuses the connection attempt and generates the 9301 warning\": %d Event 9301 in the last 24 hours, the last at %s (Q256844).",
				y.Name, x.Name, strings.Join(calls.addrs, ", "), x.Name, expText, c.Name, y.Name, why, calls.count, calls.last.UTC().Format(time.RFC3339)),
			Fix: fix}, true
	}
	return Finding{Rule: RuleRASPool, Article: "Q256844", Severity: mailnet.SeverityWarning, ServerIDs: []int64{x.ID, y.ID}, ConnectorIDs: ids,
		Finding: fmt.Sprintf("Connector %q on %s dials %s over Routing and RAS and %s: its connections will come from %s, and since %s's connector expects %s, \"the connector refuses the connection attempt and generates the 9301 warning\" (Q256844).",
			c.Name, y.Name, x.Name, why, poolText, x.Name, expText),
		Fix: fix}, true
}

// rasFix is Q256844's resolution on the originating server, with the
// service pack the seed KB197378 names first where needed.
func rasFix(c mailnet.Connector, back *mailnet.Connector, y, x mailnet.Server, expected string, listed bool, yv mta.Version) string {
	var steps []string
	if !yv.IsZero() && !yv.HasOverride() {
		steps = append(steps, fmt.Sprintf("Install Exchange Server 5.5 Service Pack 2 or later on %s first: it runs MTA %s, and the override takes effect from %s (KB197378; Q256844 says SP1).", y.Name, yv.Label(), mta.OverrideMin))
	}
	if expected == "" {
		steps = append(steps, fmt.Sprintf("Give %s a network address: the override is \"The IP address of the originating server\".", y.Name))
		expected = "<address of " + y.Name + ">"
	}
	steps = append(steps, fmt.Sprintf("On %s, the originating Routing and RAS server, set the Stack IP Address Override of connector %q to %s: registry value %s (REG_SZ), \"The IP address of the originating server, in standard dot notation\".",
		y.Name, c.Name, expected, RegistryValue(c.Name)))
	if !listed {
		on := "the X.400 connector on " + x.Name
		if back != nil {
			on = fmt.Sprintf("connector %q on %s", back.Name, x.Name)
		}
		steps = append(steps, fmt.Sprintf("List %s on the Stack of %s.", expected, on))
	}
	steps = append(steps, fmt.Sprintf("Stop and then restart the MTA on %s so that the change takes effect; it affects only outbound Routing and RAS connections (Q256844).", y.Name))
	var sb strings.Builder
	for i, s := range steps {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%d. %s", i+1, s)
	}
	return sb.String()
}

// MTAFindings runs the X.400 check and returns the rest of the MTA
// family's findings (R3, R5-R9).
func MTAFindings(ctx context.Context, st *store.Store) ([]Finding, error) {
	res, err := X400Check(ctx, st)
	if err != nil {
		return nil, err
	}
	return res.MTA, nil
}

// FindingsOfServer keeps the findings that name server id.
func FindingsOfServer(fs []Finding, id int64) []Finding {
	var out []Finding
	for _, f := range fs {
		if slices.Contains(f.ServerIDs, id) {
			out = append(out, f)
		}
	}
	return out
}

// FindingsOfConnector keeps the findings that name connector id.
func FindingsOfConnector(fs []Finding, id int64) []Finding {
	var out []Finding
	for _, f := range fs {
		if slices.Contains(f.ConnectorIDs, id) {
			out = append(out, f)
		}
	}
	return out
}
