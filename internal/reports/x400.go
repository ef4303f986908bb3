package reports

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/mta"
	"mailnet/internal/store"
)

// X.400 check statuses.
const (
	X400OK           = "ok"           // every connection from A is accepted
	X400Intermittent = "intermittent" // some of A's addresses are accepted: about (n-k)/n fail
	X400Failing      = "failing"      // the override is not accepted: every connection fails
	X400NoFlow       = "no_flow"      // no address of A is accepted: mail does not flow (KB 193380)
)

// X400Window is how far back observed Event 9301 are counted.
const X400Window = 24 * time.Hour

// X400Input is what the rule of KB197378 needs about one connector from
// server A to server B.
type X400Input struct {
	AName      string   // A's server name (a Stack entry may name it)
	AAddresses []string // A's network addresses
	Override   string   // the connector's Stack IP Address Override, if set
	// BStack is every entry on the Stack property page of every x400
	// connector installed on B: "any incoming connections ... with an IP
	// address or server name that is not configured on the Stack property
	// page for any locally installed connectors causes an Event ID 9301".
	BStack []string
}

// X400Verdict is the rule's prediction.
type X400Verdict struct {
	Addresses    int      // n: A's addresses
	Accepted     int      // k: those B accepts
	AcceptedList []string // which, in A's order
	// ByName: B's stack names A itself, which accepts all of A.
	ByName bool
	// ByLookup: B's stack names a host name of A (an FQDN), matched by a
	// reverse lookup of the caller's address (Q189345, Q193380).
	ByLookup     bool
	FailureRatio float64 // share of connections that log 9301, 0..1
	Status       string
}

// stackIndex is a Stack property page (every entry of every x400
// connector on a server) prepared for the rule: built once per receiving
// server, it answers each connector to it. A long page is indexed by
// maps; a short one (most) is scanned, which is cheaper than hashing.
type stackIndex struct {
	exact []string // entries as written (trimmed): addresses match exactly
	lower []string // the same lower-cased: a server name matches without case
	hosts []string // first labels, lower-cased, of host names (FQDNs)
	ascii bool     // every entry is ASCII, so lower-casing is case folding

	exactSet, lowerSet, hostSet map[string]bool // for a long page
}

// stackIndexMaps is the length from which a page is indexed by maps.
const stackIndexMaps = 16

func newStackIndex(stack []string) *stackIndex {
	ix := &stackIndex{}
	ix.init(stack)
	return ix
}

// init indexes stack. A page whose entries are trimmed and lower-case
// already (addresses, mostly) is its own lower-cased list: no copy.
func (ix *stackIndex) init(stack []string) {
	*ix = stackIndex{ascii: true}
	clean := true
	for _, e := range stack {
		if e == "" || e != strings.TrimSpace(e) || lowerASCII(e) != e {
			clean = false
			break
		}
	}
	if clean {
		ix.exact, ix.lower = stack, stack
		for _, e := range stack {
			if !isASCII(e) {
				ix.ascii = false
			}
			if host, _, ok := strings.Cut(e, "."); ok && !isIPv4(e) {
				ix.hosts = append(ix.hosts, host)
			}
		}
	} else {
		ix.exact, ix.lower = make([]string, 0, len(stack)), make([]string, 0, len(stack))
		for _, e := range stack {
			e = strings.TrimSpace(e)
			if e == "" {
				continue
			}
			if !isASCII(e) {
				ix.ascii = false
			}
			ix.exact = append(ix.exact, e)
			ix.lower = append(ix.lower, lowerASCII(e))
			if host, _, ok := strings.Cut(e, "."); ok && !isIPv4(e) {
				ix.hosts = append(ix.hosts, lowerASCII(host))
			}
		}
	}
	if len(ix.exact) >= stackIndexMaps {
		ix.exactSet, ix.lowerSet, ix.hostSet = setOf(ix.exact), setOf(ix.lower), setOf(ix.hosts)
	}
}

func setOf[K comparable](s []K) map[K]bool {
	m := make(map[K]bool, len(s))
	for _, e := range s {
		m[e] = true
	}
	return m
}

func has(list []string, set map[string]bool, s string) bool {
	if set != nil {
		return set[s]
	}
	return slices.Contains(list, s)
}

// hasFold is has for an ASCII name against a lower-cased list or set,
// without lower-casing the name into a new string.
func hasFold(list []string, set map[string]bool, name string) bool {
	if set != nil {
		var buf [64]byte
		if len(name) > len(buf) {
			return set[lowerASCII(name)]
		}
		b := buf[:len(name)]
		for i := 0; i < len(name); i++ {
			c := name[i]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			b[i] = c
		}
		return set[string(b)] // no allocation for a map key
	}
	for _, e := range list {
		if equalFoldASCII(e, name) {
			return true
		}
	}
	return false
}

// equalFoldASCII reports whether lower (lower-case ASCII) is s without
// case, s being ASCII.
func equalFoldASCII(lower, s string) bool {
	if len(lower) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// lowerASCII lower-cases s without allocating when it is lower-case
// already.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}

// accepts reports whether an entry is the address addr, exactly.
func (ix *stackIndex) accepts(addr string) bool {
	return addr != "" && has(ix.exact, ix.exactSet, addr)
}

// byName reports whether an entry names server name (case-insensitive).
func (ix *stackIndex) byName(name string) bool {
	if name == "" || len(ix.exact) == 0 {
		return false
	}
	if ix.ascii && isASCII(name) {
		return hasFold(ix.lower, ix.lowerSet, name)
	}
	for _, e := range ix.exact {
		if strings.EqualFold(e, name) {
			return true
		}
	}
	return false
}

// byLookup reports whether an entry is a fully qualified host name of
// server name (its first label is the name): the MTA matches such an
// entry only by a reverse lookup of the caller's address (Q189345,
// Q193380).
func (ix *stackIndex) byLookup(name string) bool {
	if name == "" || len(ix.hosts) == 0 {
		return false
	}
	if ix.ascii && isASCII(name) {
		return hasFold(ix.hosts, ix.hostSet, name)
	}
	for _, e := range ix.exact {
		host, _, ok := strings.Cut(e, ".")
		if ok && !isIPv4(e) && strings.EqualFold(host, name) {
			return true
		}
	}
	return false
}

// X400Rule applies KB197378. Without an override the transport picks
// among all n of A's addresses, so with k of them accepted by B about
// (n-k)/n of connections fail ("approximately half" for two addresses,
// one configured). With an override, A always connects from it: 0 if B
// accepts it, 1 ("fails every time") if not. With k = 0 the ratio is 1
// and mail does not flow. A Stack entry that names A, by server name or
// by a host name of A, accepts every address of A: the MTA logs an
// informational 9301, looks the caller up, and accepts it (Q189345).
func X400Rule(in X400Input) X400Verdict {
	return newStackIndex(in.BStack).rule(in)
}

// rule is X400Rule on B's indexed stack (ix is in.BStack's).
func (ix *stackIndex) rule(in X400Input) X400Verdict {
	v := X400Verdict{Addresses: len(in.AAddresses)}
	v.ByName = ix.byName(in.AName)
	v.ByLookup = !v.ByName && ix.byLookup(in.AName)
	switch {
	case v.ByName || v.ByLookup:
		v.AcceptedList = in.AAddresses
	default:
		for _, a := range in.AAddresses {
			if ix.accepts(a) {
				v.Accepted++
			}
		}
		switch v.Accepted {
		case len(in.AAddresses):
			v.AcceptedList = in.AAddresses // every one: share A's list
		case 0:
		default:
			v.AcceptedList = make([]string, 0, v.Accepted)
			for _, a := range in.AAddresses {
				if ix.accepts(a) {
					v.AcceptedList = append(v.AcceptedList, a)
				}
			}
		}
	}
	v.AcceptedList = slices.Clip(nonNil(v.AcceptedList))
	v.Accepted = len(v.AcceptedList)
	switch {
	case v.ByName || v.ByLookup:
		v.FailureRatio, v.Status = 0, X400OK
	case v.Accepted == 0:
		v.FailureRatio, v.Status = 1, X400NoFlow
	case in.Override != "":
		if ix.accepts(in.Override) {
			v.FailureRatio, v.Status = 0, X400OK
		} else {
			v.FailureRatio, v.Status = 1, X400Failing
		}
	case v.Accepted == v.Addresses:
		v.FailureRatio, v.Status = 0, X400OK
	default:
		v.FailureRatio = float64(v.Addresses-v.Accepted) / float64(v.Addresses)
		v.Status = X400Intermittent
	}
	return v
}

// X400Finding is the check of one x400 connector from A (ServerID) to B
// (RemoteServerID).
type X400Finding struct {
	ConnectorID     int64    `json:"connector_id"`
	Connector       string   `json:"connector"` // the RDN
	ServerID        int64    `json:"server_id"`
	Server          string   `json:"server"`
	RemoteServerID  int64    `json:"remote_server_id"`
	RemoteServer    string   `json:"remote_server"`
	SiteID          int64    `json:"site_id"`          // A's site
	RemoteSiteID    int64    `json:"remote_site_id"`   // B's site
	ServerAddresses []string `json:"server_addresses"` // A's addresses
	Override        string   `json:"override_address"`
	RemoteStack     []string `json:"remote_stack"` // every stack entry of B's x400 connectors
	Addresses       int      `json:"addresses"`    // n
	Accepted        int      `json:"accepted"`     // k
	AcceptedList    []string `json:"accepted_addresses"`
	FailureRatio    float64  `json:"failure_ratio"`
	Status          string   `json:"status"`
	Prediction      string   `json:"prediction"`
	Observed9301    int      `json:"observed_9301"` // logged by B with A as the caller, last 24 h
	// Failed9301 counts the connections that B dropped: the second 9301
	// of a pair, or a 9301 followed by a 9202 (Q193380).
	Failed9301 int    `json:"failed_9301"`
	Note       string `json:"note"` // observed against predicted
	Fix        string `json:"fix"`
	// FixSteps is the fix as numbered steps, for pages.
	FixSteps []string `json:"fix_steps"`
	// MTABuild and RemoteMTABuild are A's and B's MTA builds with their
	// service packs, as the startup events reported them, else as the
	// inventory records them.
	MTABuild       string `json:"mta_build,omitempty"`
	RemoteMTABuild string `json:"remote_mta_build,omitempty"`
	// OverrideIgnored: A has an override but its MTA is older than 5.5
	// SP2, which ignores the value.
	OverrideIgnored bool `json:"override_ignored,omitempty"`
	// ByLookup: B's Stack names A by host name (Q189345, Q193380).
	ByLookup bool `json:"by_lookup,omitempty"`
	// BlindSpot: B's MTA build may not log 9301 at all (Q234962).
	BlindSpot bool `json:"blind_spot,omitempty"`
	// RegistryValue is where the override lives on A (KB197378).
	RegistryValue string `json:"registry_value"`
	// FixKind names the kind of fix (FixOverride, FixStack, FixLookup,
	// FixRemote, FixAddress, or FixNone), whose steps a page states once;
	// FixAddress is the address it sets (the override on A and the Stack
	// entry on B), NeedsSP2 says the steps begin with the service pack,
	// and RemoteConnectorID is B's x400 connector back to A, if any.
	FixKind           string `json:"fix_kind"`
	FixAddress        string `json:"fix_address,omitempty"`
	NeedsSP2          bool   `json:"needs_sp2,omitempty"`
	RemoteConnectorID int64  `json:"remote_connector_id,omitempty"`
}

// Kinds of fix of a finding (X400Finding.FixKind).
const (
	FixNone     = "none"     // no change needed
	FixOverride = "override" // SP2 if needed, the override on A, the MTA restart, B's Stack
	FixStack    = "stack"    // a single-homed A: add its address to B's Stack
	FixLookup   = "lookup"   // B names A by host name and the lookup fails: an address or a PTR record
	FixRemote   = "remote"   // the connector names no remote server
	FixAddress  = "address"  // A has no network address
)

// RegistryValue returns the registry value of a connector's Stack IP
// Address Override: a key named after the connector's RDN.
func RegistryValue(rdn string) string {
	return `HKEY_LOCAL_MACHINE\System\CurrentControlSet\Services\MSExchangeMTA\Parameters\` + rdn + `\Stack IP Address Override`
}

// X400Result is the X.400 check: one finding per x400 connector, by
// connector id, and the callers whose Event 9301 names no server of the
// inventory.
type X400Result struct {
	// findings is one per x400 connector, in connector id order (Len,
	// At, Findings).
	findings       x400Findings
	UnknownCallers []X400UnknownCaller
	// MTA is the rest of the MTA family (R6-R9): proxies, connectors that
	// share a target, control blocks, links stalled by host names.
	MTA []Finding

	// lazy holds what the text of each finding needs, when the text is
	// built on demand (X400Check): only the rows a page shows pay for it.
	lazy *x400Lazy
}

// x400Lazy is what a result keeps to write a finding's text later, and
// to check again after new evidence (build). Nothing in it changes once
// built, so that many requests can read one result at once.
type x400Lazy struct {
	ends  *x400Ends
	vers  []x400Version // per end of ends
	conns []mailnet.Connector
	calls x400Calls
}

// X400UnknownCaller counts the Event 9301 that a receiving server logged
// for a calling address that is no server of the inventory.
type X400UnknownCaller struct {
	ServerID int64     `json:"server_id"` // the receiving server
	Server   string    `json:"server"`
	Address  string    `json:"address"` // the caller, decoded: a dotted IP or a name
	Count    int       `json:"count"`
	LastSeen time.Time `json:"last_seen"`
}

// X400Evidence is what the servers logged that the check reads: Event
// 9301 and 9202 over the window, and each server's latest MTA startup
// event (9298/9299), which carries its build.
type X400Evidence struct {
	Events9301 []store.ReportEvent
	Events9202 []store.ReportEvent
	Startups   map[int64]store.ReportEvent

	// parsed holds 9301 descriptions already read, by event id
	// (X400Cache keeps them from check to check); nil: none.
	parsed map[int64]parsed9301
}

// parsed9301 is a 9301's description as mta.Parse9301 read it.
type parsed9301 struct {
	description string
	g           mta.Gateway
	err         error
}

// gateway is e's description read as a 9301: from parsed when it holds
// e (by id, with the same text), else parsed now.
func (ev *X400Evidence) gateway(e store.ReportEvent) (mta.Gateway, error) {
	if p, ok := ev.parsed[e.ID]; ok && p.description == e.Description {
		return p.g, p.err
	}
	return mta.Parse9301(e.Description)
}

// memo9301 is every 9301 of events read (as gateway does), by event id,
// taking those of old: a storm's thousands are not parsed again on each
// check, and the memo holds the window's events only.
func memo9301(events []store.ReportEvent, old map[int64]parsed9301) map[int64]parsed9301 {
	from := X400Evidence{parsed: old}
	out := make(map[int64]parsed9301, len(events))
	for _, e := range events {
		g, err := from.gateway(e)
		out[e.ID] = parsed9301{description: e.Description, g: g, err: err}
	}
	return out
}

// X400 checks every x400 connector (one finding each, by connector id),
// with the text of every finding.
func X400(ctx context.Context, st *store.Store) ([]X400Finding, error) {
	res, err := X400Check(ctx, st)
	if err != nil {
		return nil, err
	}
	res.WriteText()
	return res.Findings(), nil
}

// X400Check checks every x400 connector against the inventory and the
// evidence its servers logged over the last X400Window (by the store's
// clock). The findings carry their numbers, status and fix kind; their
// text (Prediction, Fix, FixSteps, Note, RegistryValue) is written by
// Page for the rows it returns, or by WriteText for all. It reads
// everything afresh; X400Cache serves the same result without reading
// what did not change.
func X400Check(ctx context.Context, st *store.Store) (*X400Result, error) {
	inv, err := readX400Inventory(ctx, st)
	if err != nil {
		return nil, err
	}
	ev, mev, err := readX400Evidence(ctx, st, inv.facts)
	if err != nil {
		return nil, err
	}
	return inv.check(ev, mev), nil
}

// x400Inventory is what the check reads of the configuration: every x400
// connector, every server (a 9301's caller may be any server of the
// inventory) and the servers' MTA facts (R3, R5).
type x400Inventory struct {
	conns   []mailnet.Connector
	servers map[int64]mailnet.Server
	facts   mta.Facts
	seq     int64 // store.InventorySeq when read: the changes it holds
	// Built by index on first use, then shared by every check.
	once  sync.Once
	ends  *x400Ends
	names *serverLookup
	mta   *mtaIndex
	// base is the inventory this one was patched from (patched), until
	// index has used it: its index is patched too where it can be.
	// oldServers holds the changed servers as base had them (absent:
	// new), as base's servers map is now this one's.
	base           *x400Inventory
	changedServers map[int64]bool
	oldServers     map[int64]mailnet.Server
}

func readX400Inventory(ctx context.Context, st *store.Store) (*x400Inventory, error) {
	seq, err := st.InventorySeq(ctx) // before the rows: a change after it is read again
	if err != nil {
		return nil, err
	}
	conns, servers, err := st.ReportX400Inventory(ctx)
	if err != nil {
		return nil, err
	}
	facts, err := st.MTAFacts(ctx)
	if err != nil {
		return nil, err
	}
	return &x400Inventory{conns: conns, servers: servers, facts: facts, seq: seq}, nil
}

// readX400Changes is inv with the changes logged since inv was read
// (store.ReportX400Changes): inv itself when none, everything read again
// when the log no longer holds them.
func readX400Changes(ctx context.Context, st *store.Store, inv *x400Inventory) (*x400Inventory, error) {
	ch, err := st.ReportX400Changes(ctx, inv.seq)
	if err != nil {
		return nil, err
	}
	switch {
	case ch.Lost:
		return readX400Inventory(ctx, st)
	case ch.Empty():
		return inv, nil
	}
	facts := inv.facts
	if ch.Facts {
		if facts, err = st.MTAFacts(ctx); err != nil {
			return nil, err
		}
	}
	return inv.patched(ch, facts), nil
}

// patched is a new inventory: inv with the rows of ch. Results built on
// inv stay valid (they keep no server map), but inv itself must not be
// checked again: its servers map is the new inventory's, changed in
// place, since a copy of 10,000 servers (a map of large values holds
// each apart) costs more than the rest of a check after a change. The
// caller serializes patched and the checks (X400Cache.build).
func (inv *x400Inventory) patched(ch store.InventoryChanges, facts mta.Facts) *x400Inventory {
	out := &x400Inventory{conns: inv.conns, servers: inv.servers, facts: facts, seq: ch.Seq, base: inv}
	if len(ch.Connectors)+len(ch.GoneConnectors) > 0 {
		byID := make(map[int64]*mailnet.Connector, len(ch.Connectors))
		for i := range ch.Connectors {
			byID[ch.Connectors[i].ID] = &ch.Connectors[i]
		}
		gone := setOf(ch.GoneConnectors)
		conns := make([]mailnet.Connector, 0, len(inv.conns)+len(ch.Connectors))
		for _, c := range inv.conns {
			if n, ok := byID[c.ID]; ok {
				c = *n
				delete(byID, c.ID)
			} else if gone[c.ID] {
				continue
			}
			conns = append(conns, c)
		}
		for _, n := range byID { // new connectors
			conns = append(conns, *n)
		}
		slices.SortFunc(conns, func(a, b mailnet.Connector) int { return cmp.Compare(a.ID, b.ID) })
		out.conns = conns
	}
	if len(ch.Servers)+len(ch.GoneServers) > 0 {
		out.changedServers = setOf(ch.GoneServers)
		for id := range ch.Servers {
			out.changedServers[id] = true
		}
		out.oldServers = make(map[int64]mailnet.Server, len(out.changedServers))
		for id := range out.changedServers {
			if sv, ok := inv.servers[id]; ok {
				out.oldServers[id] = sv
			}
		}
		for _, id := range ch.GoneServers {
			delete(out.servers, id)
		}
		for id, sv := range ch.Servers {
			out.servers[id] = sv
		}
	}
	return out
}

// x400EventIDs are the events the check reads: those of the window
// (x400WindowEventIDs) and the MTA startup events, whose latest per server
// carries its build.
var (
	x400WindowEventIDs = append([]int{mta.EventGatewayNotFound, mta.EventSocketsError, mta.EventNoControlBlocks}, stallEvents...)
	x400EventIDs       = append(slices.Clone(x400WindowEventIDs), mta.EventStartupX400, mta.EventStartup)
)

// readX400Evidence reads the events of the last X400Window and each
// server's latest startup event.
func readX400Evidence(ctx context.Context, st *store.Store, facts mta.Facts) (ev X400Evidence, mev MTAEvidence, err error) {
	since := st.Now().Add(-X400Window)
	if ev.Events9301, err = st.ReportEventsByID(ctx, mta.EventGatewayNotFound, since); err != nil {
		return ev, mev, err
	}
	if ev.Events9202, err = st.ReportEventsByID(ctx, mta.EventSocketsError, since); err != nil {
		return ev, mev, err
	}
	if ev.Startups, err = st.ReportLatestEvents(ctx, mta.EventStartupX400, mta.EventStartup); err != nil {
		return ev, mev, err
	}
	if mev.Events9156, err = st.ReportEventsByID(ctx, mta.EventNoControlBlocks, since); err != nil {
		return ev, mev, err
	}
	for _, id := range stallEvents {
		evs, err := st.ReportEventsByID(ctx, id, since)
		if err != nil {
			return ev, mev, err
		}
		mev.StallEvents = append(mev.StallEvents, evs...)
	}
	mev.Facts = facts
	return ev, mev, nil
}

// check is the pure part of X400Check over inv.
func (inv *x400Inventory) check(ev X400Evidence, mev MTAEvidence) *X400Result {
	return inv.checkAfter(nil, ev, mev)
}

// index builds, once per inventory, what every check on it shares: the
// connectors' ends with their Stack pages indexed, the servers by address
// and name, and the MTA rules' groups.
func (inv *x400Inventory) index() {
	inv.once.Do(func() {
		base := inv.base
		inv.base = nil // let it go once used
		if base != nil {
			inv.patchIndex(base)
			return
		}
		inv.ends = newX400Ends(inv.conns, inv.servers)
		inv.names = newServerLookup(inv.servers)
		inv.mta = newMTAIndex(inv.conns)
	})
}

// patchIndex builds inv's index on base's, which inv patched: only the
// ends, servers and MTA groups that a changed connector or server touches
// are built again.
func (inv *x400Inventory) patchIndex(base *x400Inventory) {
	base.index()
	inv.ends = patchX400Ends(inv.conns, inv.servers, base.ends, base.conns, inv.changedServers)
	inv.names = base.names
	if len(inv.changedServers) > 0 {
		inv.names = patchedLookup(base.names, inv.servers, inv.oldServers, inv.changedServers)
	}
	inv.mta = base.mta.patched(inv.ends)
}

// checkAfter is check, given the result prev of an earlier check on the
// same inventory (nil: none). Evidence changes a finding only through the
// MTA versions of its two ends and the 9301 counted between them, so the
// findings whose ends and calls are unchanged are prev's.
func (inv *x400Inventory) checkAfter(prev *X400Result, ev X400Evidence, mev MTAEvidence) *X400Result {
	inv.index()
	builds := learnedBuilds(ev.Startups)
	res := inv.ends.build(inv.conns, inv.names, builds, ev, prev)
	res.MTA = buildMTAFindings(inv.mta, inv.conns, inv.servers, builds, ev, mev, res.UnknownCallers)
	return res
}

// BuildX400 is the pure part of X400Check, with the text of every
// finding written.
func BuildX400(conns []mailnet.Connector, servers map[int64]mailnet.Server, ev X400Evidence) *X400Result {
	r := BuildX400Lazy(conns, servers, ev)
	r.WriteText()
	return r
}

// BuildX400Lazy is the pure part of X400Check: every finding's numbers,
// status and fix kind, the text left to Page or WriteText. It keeps
// conns and servers, which must not change while the result is used.
func BuildX400Lazy(conns []mailnet.Connector, servers map[int64]mailnet.Server, ev X400Evidence) *X400Result {
	return newX400Ends(conns, servers).build(conns, newServerLookup(servers), learnedBuilds(ev.Startups), ev, nil)
}

// build checks every connector, or, given prev (built on the same ends),
// only those whose ends' versions or calls differ from prev's.
func (e *x400Ends) build(conns []mailnet.Connector, names *serverLookup, builds map[int64]mta.Version, ev X400Evidence, prev *X400Result) *X400Result {
	vers := e.versions(builds)
	calls, unknown := readCalls(names, ev)
	out := &X400Result{UnknownCallers: unknown, lazy: &x400Lazy{ends: e, vers: vers, conns: conns, calls: calls}}
	out.findings = newX400Findings(len(conns))
	// same: prev was built on e. mapped: e was built on the ends prev
	// was, and maps onto them through e.baseConn and e.baseEnd.
	same := prev != nil && prev.lazy != nil && prev.lazy.ends == e
	mapped := prev != nil && prev.lazy != nil && e.baseConn != nil && prev.lazy.ends.gen == e.baseGen
	if !same && !mapped {
		for c := range out.findings.chunks {
			chunk := make([]X400Finding, out.findings.size(c))
			for k := range chunk {
				i := c*x400Chunk + k
				chunk[k] = e.finding(i, &conns[i], vers, calls)
			}
			out.findings.chunks[c] = chunk
		}
		return out
	}
	pv := prev.lazy.vers
	changed := changedCalls(prev.lazy.calls, calls)
	// from is prev's finding that finding i can be (-1: build it again):
	// the same connector on the same ends, with the same MTA versions
	// and the same calls counted between them.
	from := func(i int) int32 {
		ai, bi := e.from[i], e.to[i]
		j, pa, pb := int32(i), ai, bi
		if !same {
			j, pa, pb = e.baseConn[i], e.baseEnd[ai], e.baseEnd[bi]
		}
		if j < 0 || pa < 0 || pb < 0 || vers[ai] != pv[pa] || vers[bi] != pv[pb] ||
			changed[callKey{receiver: e.list[bi].srv.ID, caller: e.list[ai].srv.ID}] {
			return -1
		}
		return j
	}
	for c := range out.findings.chunks {
		lo, size := c*x400Chunk, out.findings.size(c)
		// A chunk that is one of prev's, every finding unchanged, is
		// shared: after most changes, nearly all of them are.
		if j0 := from(lo); j0 >= 0 && int(j0)%x400Chunk == 0 && prev.findings.chunkLen(int(j0)/x400Chunk) == size {
			shared := true
			for k := 1; k < size && shared; k++ {
				shared = from(lo+k) == j0+int32(k)
			}
			if shared {
				out.findings.chunks[c] = prev.findings.chunks[int(j0)/x400Chunk]
				continue
			}
		}
		chunk := make([]X400Finding, size)
		for k := range chunk {
			i := lo + k
			if j := from(i); j >= 0 {
				chunk[k] = *prev.findings.at(int(j))
			} else {
				chunk[k] = e.finding(i, &conns[i], vers, calls)
			}
		}
		out.findings.chunks[c] = chunk
	}
	return out
}

// changedCalls is every caller and receiver whose counts differ in a and b.
func changedCalls(a, b x400Calls) map[callKey]bool {
	out := map[callKey]bool{}
	for _, m := range [][2]map[callKey]int{{a.count, b.count}, {b.count, a.count}, {a.failed, b.failed}, {b.failed, a.failed}} {
		for k, n := range m[0] {
			if m[1][k] != n {
				out[k] = true
			}
		}
	}
	return out
}

// finding checks connector i, c, with the ends' versions and the calls
// counted.
func (e *x400Ends) finding(i int, c *mailnet.Connector, vers []x400Version, calls x400Calls) X400Finding {
	ai, bi := e.from[i], e.to[i]
	ae, be := e.list[ai], e.list[bi]
	a, b := &ae.srv, &be.srv
	f := X400Finding{
		ConnectorID: c.ID, Connector: c.Name, ServerID: c.ServerID, Server: a.Name,
		RemoteServerID: c.RemoteServerID, RemoteServer: b.Name, SiteID: a.SiteID, RemoteSiteID: b.SiteID,
		ServerAddresses: slices.Clip(nonNil(a.Addresses)), Override: c.OverrideAddress,
		RemoteStack: be.stackList,
	}
	if c.RemoteServerID == 0 || b.ID == 0 {
		f.Status, f.FailureRatio, f.AcceptedList = X400NoFlow, 1, []string{}
		f.Addresses = len(a.Addresses)
		f.FixKind = FixRemote
		f.RegistryValue = RegistryValue(c.Name)
		f.Prediction = "The connector names no remote server, so no mail flows over it."
		f.Fix = fmt.Sprintf("Set the remote server of connector %q on %s.", c.Name, a.Name)
		f.FixSteps = []string{f.Fix}
		return f
	}
	av, bv := &vers[ai], &vers[bi]
	f.MTABuild, f.RemoteMTABuild = av.label, bv.label
	var v X400Verdict
	v, f.OverrideIgnored = e.verdict(c, ai, bi, vers)
	f.Addresses, f.Accepted, f.AcceptedList = v.Addresses, v.Accepted, v.AcceptedList
	f.FailureRatio, f.Status = v.FailureRatio, v.Status
	f.ByLookup = v.ByLookup
	f.BlindSpot = bv.v.BlindTo9301()
	if len(calls.count) > 0 {
		k := callKey{receiver: b.ID, caller: a.ID}
		f.Observed9301 = calls.count[k]
		f.Failed9301 = calls.failed[k]
	}
	if v.ByLookup && f.Failed9301 > 0 {
		// Q193380: the second 9301 (or a 9202) means the reverse
		// lookup failed and the connection was dropped.
		f.Status, f.FailureRatio = X400NoFlow, 1
	}
	for _, o := range e.on(bi) {
		if o.RemoteServerID == a.ID {
			f.RemoteConnectorID = o.ID
			break
		}
	}
	p := planFix(&f, v, a, av.v)
	f.FixKind, f.FixAddress, f.NeedsSP2 = p.kind, p.target, p.sp2 == sp2Needed
	return f
}

// verdict applies the rule to connector c from end ai to end bi; ignored
// says A's MTA is older than 5.5 SP2, which ignores c's override.
func (e *x400Ends) verdict(c *mailnet.Connector, ai, bi int32, vers []x400Version) (v X400Verdict, ignored bool) {
	a, av := &e.list[ai].srv, &vers[ai].v
	override := c.OverrideAddress
	if override != "" && a.Kind == mailnet.ServerKindExchange && !av.IsZero() && !av.HasOverride() {
		// SP1 and older ignore the value: the transport still picks
		// among every address (KB197378).
		ignored, override = true, ""
	}
	b := e.list[bi]
	return b.ix.rule(X400Input{AName: a.Name, AAddresses: a.Addresses, Override: override, BStack: b.stackList}), ignored
}

// x400Ends is every server at an end of an x400 connector, each once, with
// what the check needs of it: the server, its own x400 connectors and, as
// the receiving end, its Stack page indexed. It depends on the inventory
// alone and does not change once built, so that checks on one inventory
// share it; the MTA versions, which evidence can change, are kept apart
// (versions).
//
// Ends built on the ends of an earlier inventory (patchX400Ends) share the
// entries of the servers that did not change, and say how they map onto
// those, so that a check reuses the findings they did not touch.
type x400Ends struct {
	list     []*x400End      // in order of first appearance in the connectors
	pos      map[int64]int32 // server id: its index in list
	from, to []int32         // per connector: the index in list of its server and of its remote server
	// onServer is every connector, grouped by its server: list[e]'s own
	// connectors are onServer[span[e].first : span[e].first+span[e].n].
	onServer []*mailnet.Connector
	span     []endSpan
	// gen tells ends apart without holding on to them.
	gen uint64

	// Set when built on earlier ends (base): base's gen; per end, its
	// index in base's list (-1: new or changed); per connector, the index
	// of the same, unchanged connector in base's connectors (-1: new or
	// changed); the ids of the servers whose entry is new (touchedIDs: a
	// changed server, or the server of a connector added, removed, moved
	// or whose Stack page changed); and the ids of the servers any of
	// whose connectors changed at all (changedOn, for the MTA groups).
	baseGen    uint64
	baseEnd    []int32
	baseConn   []int32
	touchedIDs map[int64]bool
	changedOn  map[int64]bool
}

type endSpan struct{ first, n int32 }

// x400Version is an end's MTA version, learned from a startup event or
// read from the configured text, and its label.
type x400Version struct {
	v     mta.Version
	label string
}

// x400EndsGen numbers the x400Ends built.
var x400EndsGen atomic.Uint64

type x400End struct {
	srv mailnet.Server // the zero Server when the id names none
	id  int64
	// As B: every entry of its x400 connectors' Stack pages, indexed.
	stackList []string
	ix        stackIndex
}

func newX400Ends(conns []mailnet.Connector, servers map[int64]mailnet.Server) *x400Ends {
	return patchX400Ends(conns, servers, nil, nil, nil)
}

// patchX400Ends builds the ends of conns and servers. Given base, the ends
// of baseConns (conns and baseConns both in id order) and the servers
// before those in changed changed, it takes over base's entry of every
// server whose entry is the same, and indexes only the others.
func patchX400Ends(conns []mailnet.Connector, servers map[int64]mailnet.Server, base *x400Ends, baseConns []mailnet.Connector, changed map[int64]bool) *x400Ends {
	e := &x400Ends{gen: x400EndsGen.Add(1)}
	if base != nil {
		e.diff(conns, base, baseConns, changed)
		if len(conns) == len(baseConns) && sameJoins(conns, baseConns) {
			e.patchEntries(conns, servers, base)
			return e
		}
	}
	e.layout(conns, servers, base)
	return e
}

// diff sets what e takes over from base, built on baseConns: per
// connector the same one in baseConns (baseConn), and the servers whose
// entry is new (touchedIDs) or whose connectors changed (changedOn).
func (e *x400Ends) diff(conns []mailnet.Connector, base *x400Ends, baseConns []mailnet.Connector, changed map[int64]bool) {
	e.baseGen, e.baseConn = base.gen, make([]int32, len(conns))
	e.touchedIDs = maps.Clone(changed)
	if e.touchedIDs == nil {
		e.touchedIDs = map[int64]bool{}
	}
	e.changedOn = map[int64]bool{}
	touch := func(c *mailnet.Connector) { e.touchedIDs[c.ServerID], e.changedOn[c.ServerID] = true, true }
	j := 0
	for i := range conns {
		c := &conns[i]
		for ; j < len(baseConns) && baseConns[j].ID < c.ID; j++ { // removed
			touch(&baseConns[j])
		}
		e.baseConn[i] = -1
		switch {
		case j < len(baseConns) && baseConns[j].ID == c.ID && sameX400Connector(c, &baseConns[j]):
			e.baseConn[i] = int32(j)
			j++
		case j < len(baseConns) && baseConns[j].ID == c.ID: // changed
			old := &baseConns[j]
			e.changedOn[c.ServerID], e.changedOn[old.ServerID] = true, true
			// Its own finding is built again (baseConn -1). Its server's
			// entry changes with its Stack page, and with the connectors
			// it holds (a remote connector back).
			if c.ServerID != old.ServerID || c.RemoteServerID != old.RemoteServerID || !slices.Equal(c.StackAddresses, old.StackAddresses) {
				touch(c)
				touch(old)
			}
			j++
		default: // added
			touch(c)
		}
	}
	for ; j < len(baseConns); j++ {
		touch(&baseConns[j])
	}
}

// layout lays out the ends of conns anew, in connector order (a
// connector's server, then its remote), taking base's entry (nil: none)
// of every server diff left untouched.
func (e *x400Ends) layout(conns []mailnet.Connector, servers map[int64]mailnet.Server, base *x400Ends) {
	e.from, e.to = make([]int32, len(conns)), make([]int32, len(conns))
	// At most every server, or two per connector.
	n := min(len(servers)+1, 2*len(conns)+1)
	e.list = make([]*x400End, 0, n)
	e.pos = make(map[int64]int32, n)
	// The new entries, in slabs: few allocations, as they are large. On
	// base, few are new.
	var slab []x400End
	if base == nil {
		slab = make([]x400End, 0, n)
	}
	var fresh []int32
	end := func(id int64) int32 {
		if p, ok := e.pos[id]; ok {
			return p
		}
		p := int32(len(e.list))
		e.pos[id] = p
		if base != nil && !e.touchedIDs[id] {
			if bp, ok := base.pos[id]; ok {
				e.list = append(e.list, base.list[bp])
				e.baseEnd = append(e.baseEnd, bp)
				return p
			}
		}
		if len(slab) == cap(slab) {
			slab = make([]x400End, 0, max(16, 2*cap(slab)))
		}
		slab = append(slab, x400End{srv: servers[id], id: id})
		e.list = append(e.list, &slab[len(slab)-1])
		if base != nil {
			e.baseEnd = append(e.baseEnd, -1)
		}
		fresh = append(fresh, p)
		return p
	}
	for i := range conns {
		e.from[i] = end(conns[i].ServerID)
		e.to[i] = end(conns[i].RemoteServerID)
	}
	// Each end's own connectors: a span of onServer.
	e.span = make([]endSpan, len(e.list))
	for i := range conns {
		e.span[e.from[i]].n++
	}
	var first int32
	for i := range e.span {
		e.span[i].first = first
		first += e.span[i].n
	}
	e.group(conns)
	for _, p := range fresh {
		e.initStack(p)
	}
}

// group fills onServer with conns, each in its server's span.
func (e *x400Ends) group(conns []mailnet.Connector) {
	e.onServer = make([]*mailnet.Connector, len(conns))
	next := make([]int32, len(e.span))
	for i := range conns {
		s := e.from[i]
		e.onServer[e.span[s].first+next[s]] = &conns[i]
		next[s]++
	}
}

// sameJoins says conns and base (as long) are the same connectors joining
// the same servers, in the same order.
func sameJoins(conns, base []mailnet.Connector) bool {
	for i := range conns {
		a, b := &conns[i], &base[i]
		if a.ID != b.ID || a.ServerID != b.ServerID || a.RemoteServerID != b.RemoteServerID {
			return false
		}
	}
	return true
}

// patchEntries is patchX400Ends when conns join the servers as base's
// connectors did: the layout is base's, and only the entries of the
// servers touched are new.
func (e *x400Ends) patchEntries(conns []mailnet.Connector, servers map[int64]mailnet.Server, base *x400Ends) {
	e.from, e.to, e.pos, e.span = base.from, base.to, base.pos, base.span
	e.list = slices.Clone(base.list)
	e.baseEnd = make([]int32, len(e.list))
	for i := range e.baseEnd {
		e.baseEnd[i] = int32(i)
	}
	e.group(conns)
	for id := range e.touchedIDs {
		p, ok := e.pos[id]
		if !ok {
			continue // no end: a server no connector joins
		}
		x := *e.list[p]
		x.srv = servers[id]
		e.list[p], e.baseEnd[p] = &x, -1
		e.initStack(p)
	}
}

// sameX400Connector says a and b are the same as the check reads them.
func sameX400Connector(a, b *mailnet.Connector) bool {
	return a.ID == b.ID && a.ServerID == b.ServerID && a.RemoteServerID == b.RemoteServerID && a.Kind == b.Kind &&
		a.Name == b.Name && a.OverrideAddress == b.OverrideAddress && slices.Equal(a.StackAddresses, b.StackAddresses)
}

// on is end i's own x400 connectors, in connector order.
func (e *x400Ends) on(i int32) []*mailnet.Connector {
	s := e.span[i]
	return e.onServer[s.first : s.first+s.n : s.first+s.n]
}

// initStack gathers every Stack entry of end i's x400 connectors and
// indexes them; a server with one connector shares that connector's list.
func (e *x400Ends) initStack(i int32) {
	s := e.list[i]
	on := e.on(i)
	var st []string
	switch len(on) {
	case 0:
	case 1:
		st = on[0].StackAddresses
	default:
		n := 0
		for _, c := range on {
			n += len(c.StackAddresses)
		}
		st = make([]string, 0, n)
		for _, c := range on {
			st = append(st, c.StackAddresses...)
		}
	}
	s.stackList = slices.Clip(nonNil(st))
	s.ix.init(s.stackList)
}

// versions is every end's MTA version: its latest startup event's build
// (builds), else the configured text's, each text parsed once.
func (e *x400Ends) versions(builds map[int64]mta.Version) []x400Version {
	out := make([]x400Version, len(e.list))
	byText := map[string]x400Version{} // a network has few
	for i := range e.list {
		s := &e.list[i].srv
		if v, ok := builds[s.ID]; ok {
			out[i] = x400Version{v, versionLabel(v)}
			continue
		}
		tv, ok := byText[s.Version]
		if !ok {
			pv, _ := mta.ParseVersion(s.Version)
			tv = x400Version{pv, versionLabel(pv)}
			byText[s.Version] = tv
		}
		out[i] = tv
	}
	return out
}

// Len is the number of findings: one per x400 connector.
func (r *X400Result) Len() int { return r.findings.n }

// At is finding i, in connector id order. It is shared: read it, never
// change it.
func (r *X400Result) At(i int) *X400Finding { return r.findings.at(i) }

// Findings returns a copy of every finding, in connector id order.
func (r *X400Result) Findings() []X400Finding {
	out := make([]X400Finding, 0, r.findings.n)
	for _, c := range r.findings.chunks {
		out = append(out, c...)
	}
	return out
}

// x400Findings holds the findings in chunks, so that a check after a
// change shares with the result before it every chunk whose findings did
// not change: copying all of them (5 MB at 12,000 connectors, and the
// collector's work on it) cost more than the rest of such a check.
type x400Findings struct {
	chunks [][]X400Finding // each x400Chunk long but the last
	n      int
}

// x400Chunk is how many findings a chunk holds: a change to a server
// with 60 connectors, scattered by id, copies 60 chunks of 13 KB.
const x400Chunk = 32

// newX400Findings lays out n findings, each chunk left to its writer
// (build) to make or share.
func newX400Findings(n int) x400Findings {
	return x400Findings{n: n, chunks: make([][]X400Finding, (n+x400Chunk-1)/x400Chunk)}
}

// size is how many findings chunk c holds.
func (f *x400Findings) size(c int) int { return min(x400Chunk, f.n-c*x400Chunk) }

func (f *x400Findings) at(i int) *X400Finding { return &f.chunks[i/x400Chunk][i%x400Chunk] }

func (f *x400Findings) chunkLen(c int) int {
	if c >= len(f.chunks) {
		return -1
	}
	return len(f.chunks[c])
}

// WriteText writes the text of every finding that lacks it.
func (r *X400Result) WriteText() {
	for i := range r.findings.n {
		r.text(i, r.findings.at(i))
	}
}

// text writes the text of finding i into f (the finding or a copy).
func (r *X400Result) text(i int, f *X400Finding) {
	lz := r.lazy
	if lz == nil || i >= len(lz.conns) || f.Prediction != "" {
		return
	}
	// The verdict again: cheaper for the rows shown than keeping every
	// row's.
	ai, bi := lz.ends.from[i], lz.ends.to[i]
	v, _ := lz.ends.verdict(&lz.conns[i], ai, bi, lz.vers)
	a, b := lz.ends.list[ai].srv, lz.ends.list[bi].srv
	f.RegistryValue = RegistryValue(f.Connector)
	f.Prediction = x400Prediction(f, v)
	f.Fix = x400Fix(f, v, a, b, lz.vers[ai].v, lz.ends.on(bi))
	f.Note = x400Note(f)
}

// Counts returns how many findings have each status.
func (r *X400Result) Counts() map[string]int {
	out := map[string]int{X400OK: 0, X400Intermittent: 0, X400Failing: 0, X400NoFlow: 0}
	for i := range r.findings.n {
		out[r.findings.at(i).Status]++
	}
	return out
}

// X400Query filters and pages the findings: Status is one of the
// statuses or "problems" (every status but ok); ServerID and SiteID match
// either end of the connector.
type X400Query struct {
	Status   string
	ServerID int64
	SiteID   int64
	AfterID  int64 // connector id
	Limit    int
}

// X400Statuses are the values of X400Query.Status.
var X400Statuses = []string{X400OK, X400Intermittent, X400Failing, X400NoFlow, "problems"}

// Page returns the findings q selects, in connector id order, with their
// text, and the connector id to continue after (0 when no more remain).
func (r *X400Result) Page(q X400Query) (page []X400Finding, next int64) {
	page = []X400Finding{}
	for i := range r.findings.n {
		f := r.findings.at(i)
		if f.ConnectorID <= q.AfterID || !q.matches(f) {
			continue
		}
		if q.Limit > 0 && len(page) == q.Limit {
			return page, page[len(page)-1].ConnectorID
		}
		page = append(page, *f)
		r.text(i, &page[len(page)-1])
	}
	return page, 0
}

func (q X400Query) matches(f *X400Finding) bool {
	switch {
	case q.Status == "problems" && f.Status == X400OK:
		return false
	case q.Status != "" && q.Status != "problems" && f.Status != q.Status:
		return false
	case q.ServerID != 0 && f.ServerID != q.ServerID && f.RemoteServerID != q.ServerID:
		return false
	case q.SiteID != 0 && f.SiteID != q.SiteID && f.RemoteSiteID != q.SiteID:
		return false
	}
	return true
}

// learnedBuilds reads each server's MTA build from its latest startup
// event.
func learnedBuilds(startups map[int64]store.ReportEvent) map[int64]mta.Version {
	out := make(map[int64]mta.Version, len(startups))
	for id, e := range startups {
		if v, err := mta.ParseStartup(e.Description); err == nil {
			out[id] = v
		}
	}
	return out
}

func versionLabel(v mta.Version) string {
	if v.IsZero() {
		return ""
	}
	return v.Label()
}

// callKey is one receiving server and one calling server.
type callKey struct{ receiver, caller int64 }

// x400Calls counts the Event 9301 per caller and receiver, and of those
// the ones that mean a dropped connection: the second of a pair, or one
// followed by a 9202 (Q193380).
type x400Calls struct {
	count  map[callKey]int
	failed map[callKey]int
}

// pairWindow is how close the second 9301 (or the 9202) of Q193380 must
// follow the first; the articles say only "first" and "second".
const pairWindow = 60 * time.Second

// readCalls parses each Event 9301 as the MTA writes it and names its
// caller by exact address or name, never by substring.
func readCalls(names *serverLookup, ev X400Evidence) (x400Calls, []X400UnknownCaller) {
	if len(ev.Events9301) == 0 {
		return x400Calls{count: map[callKey]int{}, failed: map[callKey]int{}}, []X400UnknownCaller{}
	}
	servers := names.servers
	byAddr, byName := names.maps()
	calls := x400Calls{count: map[callKey]int{}, failed: map[callKey]int{}}
	type seen struct {
		at     time.Time
		caller int64
		text   string
		named  bool
	}
	last := map[int64]seen{} // receiver -> its previous 9301
	unknown := map[[2]string]*X400UnknownCaller{}
	var unknownOrder []*X400UnknownCaller
	countUnknown := func(receiver int64, text string, at time.Time) {
		key := [2]string{strconv.FormatInt(receiver, 10), text}
		u := unknown[key]
		if u == nil {
			u = &X400UnknownCaller{ServerID: receiver, Server: servers[receiver].Name, Address: text}
			unknown[key] = u
			unknownOrder = append(unknownOrder, u)
		}
		u.Count++
		u.LastSeen = at
	}
	for _, e := range ev.Events9301 {
		receiver, caller, text, named := resolveCall(&ev, e, servers, byAddr, byName)
		if receiver == 0 {
			continue
		}
		if p, ok := last[receiver]; ok && named && !p.named && e.Time.Sub(p.at) >= 0 && e.Time.Sub(p.at) <= pairWindow {
			// The second 9301 of Q193380 names the caller by its MTA's
			// name after the reverse lookup of the first one's address
			// failed: the same caller, and a dropped connection.
			delete(last, receiver)
			if p.caller == 0 {
				countUnknown(receiver, p.text, e.Time)
				continue
			}
			k := callKey{receiver, p.caller}
			calls.count[k]++
			calls.failed[k]++
			continue
		}
		last[receiver] = seen{e.Time, caller, text, named}
		if caller == 0 {
			countUnknown(receiver, text, e.Time)
			continue
		}
		calls.count[callKey{receiver, caller}]++
	}
	for _, e := range ev.Events9202 {
		if p, ok := last[e.ServerID]; ok && p.caller != 0 && e.Time.Sub(p.at) >= 0 && e.Time.Sub(p.at) <= pairWindow {
			calls.failed[callKey{e.ServerID, p.caller}]++
		}
	}
	out := make([]X400UnknownCaller, len(unknownOrder))
	for i, u := range unknownOrder {
		out[i] = *u
	}
	slices.SortStableFunc(out, func(a, b X400UnknownCaller) int { return cmp.Compare(b.Count, a.Count) })
	return calls, out
}

// serverLookup finds a server by address or by name (lower case), as a
// 9301 names its caller. Its maps are built on first use: a check with no
// 9301 never needs them.
type serverLookup struct {
	servers        map[int64]mailnet.Server
	once           sync.Once
	built          atomic.Bool // the maps are built
	byAddr, byName map[string]int64
	// shared is, per address byAddr holds as -1, every server that has
	// it (once per time it lists it), so that a change can count again.
	shared map[string][]int64
	// base, until the maps are built: the lookup these servers patched,
	// with the changed servers as base had them (absent: new).
	base    *serverLookup
	old     map[int64]mailnet.Server
	changed map[int64]bool
}

func newServerLookup(servers map[int64]mailnet.Server) *serverLookup {
	return &serverLookup{servers: servers}
}

// patchedLookup is the lookup of servers, which are base's with the
// servers changed (ids) changed, and which were old (absent: new): if
// base's maps are built by then, its maps are patched instead of built
// again.
func patchedLookup(base *serverLookup, servers, old map[int64]mailnet.Server, changed map[int64]bool) *serverLookup {
	return &serverLookup{servers: servers, base: base, old: old, changed: changed}
}

func (n *serverLookup) maps() (byAddr, byName map[string]int64) {
	n.once.Do(func() {
		if n.base != nil && n.base.built.Load() {
			n.patch()
		} else {
			n.build()
		}
		n.base, n.old, n.changed = nil, nil, nil
		n.built.Store(true)
	})
	return n.byAddr, n.byName
}

func (n *serverLookup) build() {
	n.byAddr, n.byName, n.shared = map[string]int64{}, make(map[string]int64, len(n.servers)), map[string][]int64{}
	for id, s := range n.servers {
		for _, a := range s.Addresses {
			n.addAddr(a, id)
		}
		n.byName[strings.ToLower(s.Name)] = id
	}
}

// patch is build from base's maps: the changed servers' names and
// addresses taken out as they were, and put in as they are.
func (n *serverLookup) patch() {
	n.byAddr, n.byName, n.shared = maps.Clone(n.base.byAddr), maps.Clone(n.base.byName), maps.Clone(n.base.shared)
	for id := range n.changed {
		if s, ok := n.old[id]; ok {
			if k := strings.ToLower(s.Name); n.byName[k] == id {
				delete(n.byName, k)
			}
			for _, a := range s.Addresses {
				n.dropAddr(a, id)
			}
		}
	}
	for id := range n.changed {
		if s, ok := n.servers[id]; ok {
			n.byName[strings.ToLower(s.Name)] = id
			for _, a := range s.Addresses {
				n.addAddr(a, id)
			}
		}
	}
}

// addAddr counts server id as having address a. An address two servers
// have (or one twice) names neither: -1.
func (n *serverLookup) addAddr(a string, id int64) {
	if list, ok := n.shared[a]; ok {
		n.shared[a] = append(slices.Clip(list), id) // a copy: base may share the list
		return
	}
	if owner, ok := n.byAddr[a]; ok {
		n.shared[a], n.byAddr[a] = []int64{owner, id}, -1
		return
	}
	n.byAddr[a] = id
}

// dropAddr takes one count of address a off server id.
func (n *serverLookup) dropAddr(a string, id int64) {
	list, ok := n.shared[a]
	if !ok {
		if n.byAddr[a] == id {
			delete(n.byAddr, a)
		}
		return
	}
	i := slices.Index(list, id)
	if i < 0 {
		return
	}
	list = slices.Delete(slices.Clone(list), i, i+1)
	if len(list) == 1 {
		delete(n.shared, a)
		n.byAddr[a] = list[0]
		return
	}
	n.shared[a] = list
}

// resolveCall names the receiving server (the one that logged the event,
// else the stack DN's server) and the calling server of one Event 9301.
// named is true when the address was a name (hex-encoded ASCII), as in
// the second event of Q193380.
func resolveCall(ev *X400Evidence, e store.ReportEvent, servers map[int64]mailnet.Server, byAddr, byName map[string]int64) (receiver, caller int64, text string, named bool) {
	receiver = e.ServerID
	g, err := ev.gateway(e)
	if err != nil {
		// An agent that sends the fields instead of the text.
		text = strings.TrimSpace(e.Fields["remote_address"])
		if text == "" || receiver == 0 {
			return 0, 0, "", false
		}
	} else {
		text = g.Caller()
		named = !g.IP.IsValid()
		if receiver == 0 {
			receiver = byName[strings.ToLower(g.Server)]
		}
	}
	if id, ok := byAddr[text]; ok && id > 0 {
		return receiver, id, text, named
	}
	if id, ok := byName[strings.ToLower(text)]; ok {
		return receiver, id, text, named
	}
	if host, _, ok := strings.Cut(text, "."); ok && !isIPv4(text) {
		if id, ok := byName[strings.ToLower(host)]; ok {
			return receiver, id, text, named
		}
	}
	return receiver, 0, text, named
}

func isIPv4(s string) bool {
	ip, err := netip.ParseAddr(s)
	return err == nil && ip.Is4()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func percent(r float64) string {
	return strconv.Itoa(int(math.Round(r*100))) + "%"
}

func x400Prediction(f *X400Finding, v X400Verdict) string {
	var sb strings.Builder
	if f.OverrideIgnored {
		fmt.Fprintf(&sb, "The override %s has no effect: the MTA of %s (%s) is older than Exchange Server 5.5 Service Pack 2 (%s), which ignores it. ",
			f.Override, f.Server, f.MTABuild, mta.OverrideMin)
	}
	switch {
	case v.ByLookup && f.Failed9301 > 0:
		fmt.Fprintf(&sb, "%s's Stack names %s by host name, and %s logged %d dropped connection(s) (a second Event 9301, or 9202, after the first): %s cannot reverse-resolve the caller's address to that name, so mail from %s to %s does not flow (Q193380).",
			f.RemoteServer, f.Server, f.RemoteServer, f.Failed9301, f.RemoteServer, f.Server, f.RemoteServer)
		return sb.String()
	case v.ByLookup:
		fmt.Fprintf(&sb, "%s's Stack names %s by host name: its MTA matches the caller only after a reverse lookup, logging an informational Event 9301 first, and accepts the connection (Q189345). Mail flows while DNS has a PTR record for each address of %s (Q193380).",
			f.RemoteServer, f.Server, f.Server)
		return sb.String()
	}
	switch v.Status {
	case X400OK:
		switch {
		case v.ByName:
			fmt.Fprintf(&sb, "%s accepts connections from %s by server name: no failing Event 9301 expected.", f.RemoteServer, f.Server)
		case f.Override != "":
			fmt.Fprintf(&sb, "%s always connects from its override %s, which %s's Stack lists: no Event 9301 expected.", f.Server, f.Override, f.RemoteServer)
		default:
			fmt.Fprintf(&sb, "%s lists every address of %s on its Stack: no Event 9301 expected.", f.RemoteServer, f.Server)
		}
	case X400Intermittent:
		half := ""
		if v.Addresses == 2 && v.Accepted == 1 {
			half = " (approximately half, as KB197378 describes)"
		}
		fmt.Fprintf(&sb, "%s is multihomed with %d addresses and no Stack IP Address Override in effect; the transport picks among all of them and %s accepts %d, so about %s of connections%s fail and log Event 9301 on %s.",
			f.Server, v.Addresses, f.RemoteServer, v.Accepted, percent(v.FailureRatio), half, f.RemoteServer)
	case X400Failing:
		fmt.Fprintf(&sb, "%s always connects from its override %s, which no X.400 connector on %s lists on its Stack: the connection fails every time and logs Event 9301.", f.Server, f.Override, f.RemoteServer)
	default:
		fmt.Fprintf(&sb, "No address of %s is on the Stack of any X.400 connector on %s: every connection logs Event 9301 and mail does not flow (KB 193380).", f.Server, f.RemoteServer)
	}
	return sb.String()
}

// x400Fix names the remedy for a finding as numbered steps: the service
// pack first where the override needs it, then the override on A, the
// MTA restart, and the Stack entry on B (KB197378 step 6).
func x400Fix(f *X400Finding, v X400Verdict, a, b mailnet.Server, av mta.Version, onB []*mailnet.Connector) string {
	steps := x400FixSteps(f, v, a, b, av, onB)
	f.FixSteps = steps
	if len(steps) == 1 {
		return steps[0]
	}
	var sb strings.Builder
	for i, st := range steps {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%d. %s", i+1, st)
	}
	return sb.String()
}

// Whether A's MTA can use the override (sp2): it runs SP2 or later, its
// version is not recorded, or it needs SP2 first.
const (
	sp2OK = iota
	sp2Unknown
	sp2Needed
)

// fixPlan is the fix of a finding without its words: its kind, the
// address it sets (and whether B's Stack lists it already) and whether A
// needs the service pack first.
type fixPlan struct {
	kind    string
	target  string
	onStack bool
	sp2     int
}

func planFix(f *X400Finding, v X400Verdict, a *mailnet.Server, av mta.Version) fixPlan {
	if v.ByLookup && f.Failed9301 > 0 {
		p := fixPlan{kind: FixLookup}
		if len(a.Addresses) > 0 {
			p.target = a.Addresses[0]
		}
		return p
	}
	if v.Status == X400OK {
		return fixPlan{kind: FixNone}
	}
	// The address A should use: one B already accepts, else the current
	// override if it is A's, else A's first address.
	var p fixPlan
	if len(v.AcceptedList) > 0 {
		p.target, p.onStack = v.AcceptedList[0], true
	} else if f.Override != "" && a.HasAddress(f.Override) {
		p.target = f.Override
	} else if len(a.Addresses) > 0 {
		p.target = a.Addresses[0]
	}
	switch {
	case p.target == "":
		p.kind = FixAddress
		return p
	case !a.Multihomed() && f.Override == "":
		p.kind = FixStack
		return p
	}
	p.kind = FixOverride
	if a.Kind == mailnet.ServerKindExchange || a.Kind == "" {
		switch {
		case av.IsZero():
			p.sp2 = sp2Unknown
		case !av.HasOverride():
			p.sp2 = sp2Needed
		}
	}
	return p
}

func x400FixSteps(f *X400Finding, v X400Verdict, a, b mailnet.Server, av mta.Version, onB []*mailnet.Connector) []string {
	bConn := fmt.Sprintf("the X.400 connector on %s", b.Name)
	for _, c := range onB {
		if c.RemoteServerID == a.ID {
			bConn = fmt.Sprintf("connector %q on %s", c.Name, b.Name)
			break
		}
	}
	if len(onB) == 0 {
		bConn = fmt.Sprintf("a new X.400 connector on %s (it has none)", b.Name)
	}
	p := planFix(f, v, &a, av)
	target := p.target
	switch p.kind {
	case FixLookup:
		return []string{
			fmt.Sprintf("On %s, replace the host name on the Stack property page of %s with the address of %s, %s; or have the DNS administrator add the PTR record %s IN PTR %s.",
				b.Name, bConn, a.Name, target, reverseName(target), stackHostFor(f.RemoteStack, a.Name)),
			fmt.Sprintf("Check the lookup from %s with: nslookup %s (Q193380).", b.Name, target),
		}
	case FixNone:
		return []string{"No change needed."}
	case FixAddress:
		return []string{fmt.Sprintf("Give %s a network address, then add it to the Stack property page of %s.", a.Name, bConn)}
	case FixStack:
		return []string{fmt.Sprintf("Add %s (the address of %s) to the Stack property page of %s; no override is needed for a server with one address.", target, a.Name, bConn)}
	}
	var steps []string
	switch p.sp2 {
	case sp2Unknown:
		steps = append(steps, fmt.Sprintf("Make sure %s runs Exchange Server 5.5 Service Pack 2 or later (MTA %s): the override needs it, and the version of %s is not recorded.", a.Name, mta.OverrideMin, a.Name))
	case sp2Needed:
		steps = append(steps, fmt.Sprintf("Install Exchange Server 5.5 Service Pack 2 or later on %s first: it runs MTA %s, and the override needs %s.", a.Name, av.Label(), mta.OverrideMin))
	}
	var sb strings.Builder
	if f.Override != "" {
		fmt.Fprintf(&sb, "Change the Stack IP Address Override of connector %q on %s from %s to %s", f.Connector, a.Name, f.Override, target)
	} else {
		fmt.Fprintf(&sb, "Set the Stack IP Address Override of connector %q on %s to %s", f.Connector, a.Name, target)
	}
	if p.onStack {
		fmt.Fprintf(&sb, ", an address that %s's Stack lists", b.Name)
	}
	fmt.Fprintf(&sb, ": registry value %s (REG_SZ) = %s, where the key is the connector's RDN.", RegistryValue(f.Connector), target)
	if f.Override != "" && !a.HasAddress(f.Override) {
		fmt.Fprintf(&sb, " The current override %s is not an address of %s.", f.Override, a.Name)
	}
	steps = append(steps, sb.String(),
		fmt.Sprintf("Restart the Exchange MTA service on %s.", a.Name))
	last := fmt.Sprintf("Configure %s to accept %s on its Stack property page.", bConn, target)
	if v.Status == X400NoFlow {
		last += " (KB 193380)"
	}
	return append(steps, last)
}

// reverseName is the in-addr.arpa name of an IPv4 address.
func reverseName(ip string) string {
	p := strings.Split(ip, ".")
	if len(p) != 4 {
		return ip
	}
	return p[3] + "." + p[2] + "." + p[1] + "." + p[0] + ".in-addr.arpa"
}

// stackHostFor is the Stack entry that names server by host name.
func stackHostFor(stack []string, server string) string {
	for _, e := range stack {
		if host, _, ok := strings.Cut(strings.TrimSpace(e), "."); ok && strings.EqualFold(host, server) {
			return strings.TrimSpace(e)
		}
	}
	return server
}

func x400Note(f *X400Finding) string {
	var sb strings.Builder
	switch {
	case f.FailureRatio > 0 && f.Observed9301 > 0:
		fmt.Fprintf(&sb, "%d Event 9301 logged by %s for %s in the last 24 hours, consistent with the prediction.", f.Observed9301, f.RemoteServer, f.Server)
	case f.FailureRatio > 0 && f.BlindSpot:
		fmt.Fprintf(&sb, "No Event 9301 logged by %s in the last 24 hours, but that proves nothing: its MTA build (%s) is one that may not log 9301 at all (Q234962: builds %d-%d); build 2621 or later (5.5 SP3, 2650.24) logs it.",
			f.RemoteServer, f.RemoteMTABuild, mta.BlindSpotFirst, mta.BlindSpotLast)
	case f.FailureRatio > 0:
		fmt.Fprintf(&sb, "No Event 9301 logged by %s for %s in the last 24 hours although failures are predicted: no connection was attempted, or no agent ships %s's log.", f.RemoteServer, f.Server, f.RemoteServer)
	case f.ByLookup && f.Observed9301 > 0:
		fmt.Fprintf(&sb, "%d informational Event 9301 logged by %s for %s in the last 24 hours, each followed by a successful lookup: mail is flowing (Q189345). Exchange 5.5 SP2 and later log only the failing case.", f.Observed9301, f.RemoteServer, f.Server)
	case f.Observed9301 > 0:
		fmt.Fprintf(&sb, "%d Event 9301 logged by %s for %s in the last 24 hours although every connection should be accepted: check the connector's Stack and the MTA's identity (Q189345).", f.Observed9301, f.RemoteServer, f.Server)
	default:
		sb.WriteString("No Event 9301 observed, as predicted.")
	}
	return sb.String()
}

// CompareVersions compares versions as administrators write them ("5.5
// SP2", "5.5 (build 2448.1)", "5.5.2431.0"), by their place on the MTA
// build table; two that cannot both be read compare by their leading
// numeric parts, missing parts counting as 0, then as text.
func CompareVersions(a, b string) int {
	va, errA := mta.ParseVersion(a)
	vb, errB := mta.ParseVersion(b)
	if errA == nil && errB == nil {
		return va.Compare(vb)
	}
	pa, ra := versionParts(a)
	pb, rb := versionParts(b)
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int64
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return strings.Compare(ra, rb)
}

func versionParts(v string) ([]int64, string) {
	v = strings.TrimSpace(v)
	var parts []int64
	for len(v) > 0 {
		i := 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		if i == 0 || i > 18 {
			break
		}
		n, _ := strconv.ParseInt(v[:i], 10, 64)
		parts = append(parts, n)
		v = v[i:]
		if len(v) > 1 && v[0] == '.' && v[1] >= '0' && v[1] <= '9' {
			v = v[1:]
			continue
		}
		break
	}
	return parts, v
}
