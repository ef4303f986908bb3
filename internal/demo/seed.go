// Package demo builds networks to look at and to measure: Seed loads the
// demo network (the three seed articles reproduced among ordinary sites,
// servers, users and messages) into an empty database, and Generate loads
// a large synthetic network for benchmarks. Both write through the bulk
// path of the store (no audit rows: nobody acted) and are deterministic.
//
// RunAgents (serve --demo) then simulates the servers' event logs. Its
// dir-sync follows the manual dir-sync article: each requestor's cycle is
// 4395 Moved Out, 4355 Received, the status report (T1, the ReqTx with
// x = y + z, Q133428), then 4395 Sent and 4355 Moved In (T2, the SrvTx).
// The DX reads Export on Next Cycle at T2, so the reply after the flag is
// set is the full export ("(was 0)", hundreds sent) that clears it. A
// paused DX holds T2 only where pausing does not trigger it (Exchange 4.0
// without PauseKicksDX=1; reports.PauseTriggersT2, the report's own rule).
// At the default --demo-rate of 5 events per second each requestor
// cycles about every 45 seconds.
//
// Timing of the anomaly showcase: EURONET/PO-MUNICH shows every anomaly of
// the sequence rules in turn. The hour is cut into ShowcaseSlot (6m40s)
// slots from the top of the hour, one anomaly each; its first cycle in
// the slot is wrong, and the next clean cycle (about 45 s later) resolves
// the finding by itself:
//
//	hh:00:00 R15(1) ReqTx with R - was != sent
//	hh:06:40 R17(a) ReqTx S above the server's (server restored from backup)
//	hh:13:20 R18    T3 not run, then no T2: two T1s below the server's S
//	hh:20:00 R15(3) SrvTx acknowledges the R before the last ReqTx
//	hh:26:40 R15    SrvTx "(was s#)" is not the last S (a SrvTx lost)
//	hh:33:20 R15(4) SrvTx sends more than S - s
//	hh:40:00 R15(2) R above S after the SrvTx
//	hh:46:40 R16    SrvTx I below the requestor's (requestor re-added)
//	hh:53:20 R20    DX Event 220 and 221, then the full export
//
// R20's finding is resolved by the full export that the 221 announces,
// which follows it at once: the DXA's traffic with the requestor has
// recovered.
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/mta"
	"mailnet/internal/store"
)

// Summary says what Seed loaded, for printing.
type Summary struct {
	Seeded  bool   // false: the database already held servers, nothing was written
	Skipped string // why nothing was seeded

	Sites, Servers, Users, Messages, Routes, Connectors, Requestors, Events int64

	// Q99393: two Microsoft Mail for AppleTalk servers at different sites
	// with one serial number.
	DuplicateSerial  string
	DuplicateServers []string
	// KB197378: the multihomed Exchange 5.5 SP1 server, its X.400
	// connector without an override, and the remote server whose connector
	// back lists one of its two addresses.
	MultihomedServer    string
	MultihomedAddresses []string
	X400Connector       string
	RemoteServer        string
	RemoteConnector     string
	// Dir-sync: the DX server, its requestors, the one flagged Export on
	// Next Cycle.
	DXServer        string
	RequestorNames  []string
	ExportRequestor string
	// ShowcaseRequestor shows each anomaly kind and its resolution over
	// an hour (see the package doc).
	ShowcaseRequestor string

	Elapsed time.Duration
}

// String is the summary as printed by serve --demo.
func (s Summary) String() string {
	if !s.Seeded {
		return "demo network not seeded: " + s.Skipped
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Seeded the demo network in %s: %d sites, %d servers, %d users, %d messages, %d routes, %d connectors, %d requestors, %d events.\n",
		s.Elapsed.Round(time.Millisecond), s.Sites, s.Servers, s.Users, s.Messages, s.Routes, s.Connectors, s.Requestors, s.Events)
	fmt.Fprintf(&b, "  Q99393 duplicate serial %s: %s (different sites)\n", s.DuplicateSerial, strings.Join(s.DuplicateServers, " and "))
	fmt.Fprintf(&b, "  KB197378 multihomed %s (%s): X.400 connector %q to %s has no Stack IP Address Override; %s's %q lists only %s\n",
		s.MultihomedServer, strings.Join(s.MultihomedAddresses, ", "), s.X400Connector, s.RemoteServer, s.RemoteServer, s.RemoteConnector, s.MultihomedAddresses[0])
	fmt.Fprintf(&b, "  Dir-sync: DX %s with %d requestors; Export on Next Cycle set on %s\n", s.DXServer, len(s.RequestorNames), s.ExportRequestor)
	if s.ShowcaseRequestor != "" {
		fmt.Fprintf(&b, "  Dir-sync: %s shows each anomaly and its resolution, one every %s from the top of the hour\n", s.ShowcaseRequestor, ShowcaseSlot)
	}
	return b.String()
}

type seedServer struct {
	name, site, kind, version string
	multihomed, hub           bool
	weight                    float64 // share of the users
	users                     int     // fixed number of users, when not 0
}

// The demo network. Hubs come first in their site; the names of the
// scenario servers are the constants below.
const (
	macA       = "MACMAIL-ENG"
	macB       = "MACMAIL-DESIGN"
	dupSerial  = "MA-3100-0042"
	mhServer   = "EXCH-RED-01"
	mhRemote   = "EXCH-LON-01"
	mhConn     = "TCP to MTA B"
	mhBack     = "TCP to MTA A"
	dxServer   = "EXCH-CHI-01"
	dxAdmin    = "DXAdmin"
	exportPO   = "CORPNET/PO-SALES"
	laggingPO  = "PLANTNET/PO-PLANT"
	seedUsers  = 3000
	seedMsgs   = 36000
	seedRandom = 99393
)

var seedSites = []string{"Redmond", "London", "Chicago", "Boston", "Atlanta", "Dallas", "Munich", "Sydney"}

var seedServers = []seedServer{
	{name: "EXCH-RED-01", site: "Redmond", kind: "exchange", version: "5.5.2232.18", multihomed: true, hub: true, weight: 3},
	{name: "EXCH-RED-02", site: "Redmond", kind: "exchange", version: "5.5.2448.1", weight: 2},
	{name: "EXCH-RED-03", site: "Redmond", kind: "exchange", version: "5.5.2448.1", multihomed: true, weight: 2},
	{name: "EXCH-RED-04", site: "Redmond", kind: "exchange", version: "5.5.2650.24", weight: 2},
	{name: "MACMAIL-ENG", site: "Redmond", kind: "msmail-mac", version: "3.1", users: 36},
	{name: "MACMAIL-PUBS", site: "Redmond", kind: "msmail-mac", version: "3.1", weight: 0.5},
	{name: "PO-REDMOND", site: "Redmond", kind: "msmail-pc", version: "3.5", weight: 1},

	{name: "EXCH-LON-01", site: "London", kind: "exchange", version: "5.5.2232.18", hub: true, weight: 3},
	{name: "EXCH-LON-02", site: "London", kind: "exchange", version: "5.5.2448.1", weight: 2},
	{name: "EXCH-LON-03", site: "London", kind: "exchange", version: "5.0.1457.8", weight: 1.5},
	{name: "PO-LONDON", site: "London", kind: "msmail-pc", version: "3.2", weight: 1},

	{name: "EXCH-CHI-01", site: "Chicago", kind: "exchange", version: "5.0.1457.8", hub: true, weight: 2.5},
	{name: "EXCH-CHI-02", site: "Chicago", kind: "exchange", version: "5.5.2448.1", weight: 2},
	{name: "EXCH-CHI-03", site: "Chicago", kind: "exchange", version: "5.5.1960.3", multihomed: true, weight: 1.5},
	{name: "PO-SALES", site: "Chicago", kind: "msmail-pc", version: "3.5", weight: 1.2},
	{name: "PO-FINANCE", site: "Chicago", kind: "msmail-pc", version: "3.5", weight: 0.8},
	{name: "PO-HR", site: "Chicago", kind: "msmail-pc", version: "3.2", weight: 0.5},
	{name: "PO-MKTG", site: "Chicago", kind: "msmail-pc", version: "3.5", weight: 0.7},

	{name: "EXCH-BOS-01", site: "Boston", kind: "exchange", version: "5.5.2448.1", hub: true, weight: 2.5},
	{name: "EXCH-BOS-02", site: "Boston", kind: "exchange", version: "5.5.2650.24", weight: 2},
	{name: "EXCH-BOS-03", site: "Boston", kind: "exchange", version: "5.5.2448.1", weight: 1.5},
	{name: "MACMAIL-DESIGN", site: "Boston", kind: "msmail-mac", version: "3.1", users: 28},
	{name: "MACMAIL-ART", site: "Boston", kind: "msmail-mac", version: "3.0", weight: 0.4},

	{name: "EXCH-ATL-01", site: "Atlanta", kind: "exchange", version: "5.5.2448.1", hub: true, weight: 2},
	{name: "EXCH-ATL-02", site: "Atlanta", kind: "exchange", version: "5.5.1960.3", weight: 1.5},
	{name: "PO-PLANT", site: "Atlanta", kind: "msmail-pc", version: "3.2", weight: 0.8},
	{name: "PO-SERVICE", site: "Atlanta", kind: "msmail-pc", version: "3.5", weight: 0.6},

	{name: "EXCH-DAL-01", site: "Dallas", kind: "exchange", version: "5.5.2448.1", hub: true, weight: 2},
	{name: "EXCH-DAL-02", site: "Dallas", kind: "exchange", version: "5.0.1457.8", weight: 1.5},
	{name: "EXCH-DAL-03", site: "Dallas", kind: "exchange", version: "5.5.2650.24", weight: 1.5},
	{name: "PO-DALLAS", site: "Dallas", kind: "msmail-pc", version: "3.5", weight: 0.8},
	{name: "MACMAIL-DAL", site: "Dallas", kind: "msmail-mac", version: "3.1", weight: 0.4},

	{name: "EXCH-MUC-01", site: "Munich", kind: "exchange", version: "5.5.2448.1", multihomed: true, hub: true, weight: 2},
	{name: "EXCH-MUC-02", site: "Munich", kind: "exchange", version: "5.5.2650.24", weight: 1.5},
	{name: "PO-MUNICH", site: "Munich", kind: "msmail-pc", version: "3.2", weight: 0.7},

	{name: "EXCH-SYD-01", site: "Sydney", kind: "exchange", version: "5.5.2650.24", hub: true, weight: 2},
	{name: "EXCH-SYD-02", site: "Sydney", kind: "exchange", version: "5.5.2448.1", weight: 1.2},
	{name: "MACMAIL-SYD", site: "Sydney", kind: "msmail-mac", version: "3.1", weight: 0.4},
}

// seedRequestors are the PC Mail postoffices that synchronize with the DX.
var seedRequestors = []struct{ network, postoffice string }{
	{"CORPNET", "PO-SALES"}, {"CORPNET", "PO-FINANCE"}, {"CORPNET", "PO-HR"}, {"CORPNET", "PO-MKTG"},
	{"CORPNET", "PO-REDMOND"}, {"CORPNET", "PO-DALLAS"}, {"EURONET", "PO-LONDON"}, {"EURONET", "PO-MUNICH"},
	{"PLANTNET", "PO-PLANT"}, {"PLANTNET", "PO-SERVICE"},
}

// x400Pairs are the healthy X.400 connector pairs between site hubs,
// besides the KB197378 pair.
var x400Pairs = [][2]string{
	{"EXCH-BOS-01", "EXCH-ATL-01"}, {"EXCH-CHI-01", "EXCH-BOS-01"}, {"EXCH-LON-01", "EXCH-BOS-01"},
	{"EXCH-LON-01", "EXCH-MUC-01"}, {"EXCH-ATL-01", "EXCH-DAL-01"}, {"EXCH-LON-01", "EXCH-SYD-01"},
}

// ReqTx and SrvTx format the subjects of the dir-sync messages exactly as
// the dir-sync article shows them.
func ReqTx(r, wasR, s, i, sent int64) string {
	return fmt.Sprintf("ReqTx R=%d (was %d), S=%d, I=%d, %d sent.", r, wasR, s, i, sent)
}

// SrvTx: see ReqTx.
func SrvTx(r, s, wasS, i, sent int64) string {
	return fmt.Sprintf("SrvTx R=%d S=%d (was %d), I=%d %d sent", r, s, wasS, i, sent)
}

type plannedUser struct {
	alias, display string
	msgs           int64
	special        []store.BulkMessage // hand-made messages (the DX administrator's)
}

// Seed loads the demo network into an empty inventory. If the database
// already holds servers it writes nothing and says so in the summary.
func Seed(ctx context.Context, st *store.Store) (Summary, error) {
	start := time.Now()
	_, nServers, err := st.BulkInventoryCounts(ctx)
	if err != nil {
		return Summary{}, err
	}
	if nServers > 0 {
		return Summary{Skipped: fmt.Sprintf("the database already holds %d servers; it is left as it is", nServers)}, nil
	}
	org, err := st.BulkOrganization(ctx)
	if err != nil {
		return Summary{}, err
	}
	siteIDs, err := st.BulkEnsureSites(ctx, seedSites)
	if err != nil {
		return Summary{}, err
	}
	siteID := map[string]int64{}
	for i, n := range seedSites {
		siteID[n] = siteIDs[i]
	}
	now := st.Now().UTC().Truncate(time.Second)
	r := rand.New(rand.NewPCG(seedRandom, 197378))

	// Servers: ids in table order, from 1 (the table is empty).
	id := map[string]int64{}
	hub := map[string]int64{} // site -> hub server id
	addrs := make([][]string, len(seedServers))
	for i, s := range seedServers {
		sid := int64(i + 1)
		id[s.name] = sid
		if s.hub {
			hub[s.site] = sid
		}
		addrs[i] = []string{address(1000+i, 0)}
		if s.multihomed {
			addrs[i] = append(addrs[i], address(1000+i, 1))
		}
	}
	byName := func(n string) int { return int(id[n] - 1) }

	// Users: the Mac servers of Q99393 get a fixed few dozen, the rest
	// shares the remainder by weight.
	fixed := int64(0)
	weights := make([]float64, len(seedServers))
	for i, s := range seedServers {
		if s.users > 0 {
			fixed += int64(s.users)
			continue
		}
		weights[i] = s.weight * (0.7 + 0.6*r.Float64())
	}
	perServer := apportion(seedUsers-1-fixed, weights) // one is the DX administrator
	for i, s := range seedServers {
		if s.users > 0 {
			perServer[i] = int64(s.users)
		}
	}
	names := newAliases()
	names.reserve(dxAdmin)
	users := make([][]plannedUser, len(seedServers))
	var userWeights []float64
	for i := range seedServers {
		for range perServer[i] {
			first, last := randomName(r)
			users[i] = append(users[i], plannedUser{alias: names.next(first, last), display: first + " " + last})
			userWeights = append(userWeights, r.ExpFloat64())
		}
	}

	// The dir-sync state, and the DX administrator's mailbox that receives
	// the status reports, ReqTx and SrvTx messages (copy and forward are on).
	reqs := make([]store.BulkRequestor, len(seedRequestors))
	var adminMsgs []store.BulkMessage
	dxID := id[dxServer]
	const cycle = 60 * time.Minute
	for i, q := range seedRequestors {
		// R <= S (Q96060's "easy test"), x = y + z in the ReqTx
		// (Q133428), and the ReqTx's S is the S the last SrvTx came from.
		rq := int64(8 + r.IntN(40))
		sq := rq + int64(r.IntN(30))
		imports := int64(1 + r.IntN(6))
		reqSent, srvSent := int64(r.IntN(int(rq))), int64(r.IntN(int(sq)))
		addr := q.network + "/" + q.postoffice
		if addr == exportPO {
			rq, sq, imports, reqSent, srvSent = 12, 29, 3, 4, 17
		}
		reqAt := now.Add(-cycle - 3*time.Minute - time.Duration(i)*40*time.Second)
		if addr == laggingPO { // silent for five cycles
			reqAt = reqAt.Add(-5 * cycle)
		}
		srvAt := reqAt.Add(cycle)
		reqs[i] = store.BulkRequestor{
			ID: int64(i + 1), Network: q.network, Postoffice: q.postoffice, DXServerID: dxID, ServerID: id[q.postoffice],
			RequestorSync: rq, ServerSync: sq, Imports: imports, ExportOnNextCycle: addr == exportPO,
			LastReqTx: ReqTx(rq, rq-reqSent, sq-srvSent, imports, reqSent), LastReqTxAt: reqAt,
			LastSrvTx: SrvTx(rq, sq, sq-srvSent, imports, srvSent), LastSrvTxAt: srvAt,
		}
		for _, m := range []struct {
			subject string
			at      time.Time
		}{{"Status report from " + addr, reqAt}, {reqs[i].LastReqTx, reqAt}, {reqs[i].LastSrvTx, srvAt}} {
			adminMsgs = append(adminMsgs, store.BulkMessage{ServerID: dxID, Folder: "Inbox", Subject: m.subject, Size: int64(900 + r.IntN(4000)), ReceivedAt: m.at})
		}
	}
	dxIdx := byName(dxServer)
	users[dxIdx] = append([]plannedUser{{alias: dxAdmin, display: "DX Administrator", special: adminMsgs}}, users[dxIdx]...)

	// Messages: a skewed share of the remainder per ordinary user.
	perUser := apportion(seedMsgs-int64(len(adminMsgs)), userWeights)
	k := 0
	for i := range users {
		for j := range users[i] {
			if users[i][j].special != nil {
				users[i][j].msgs = int64(len(users[i][j].special))
				continue
			}
			users[i][j].msgs = perUser[k]
			k++
		}
	}

	var sum Summary
	b := st.NewBulk(ctx, 10000, nil)
	defer b.Close()
	// Servers with their counters.
	for i, s := range seedServers {
		var uc, mc int64
		for _, u := range users[i] {
			uc++
			mc += u.msgs
		}
		ser := serial(s.kind, 1000+i, 0x51ed)
		if s.name == macA || s.name == macB {
			ser = dupSerial
		}
		if err := b.Server(store.BulkServer{ID: int64(i + 1), Name: s.name, SiteID: siteID[s.site], Kind: s.kind, Version: s.version,
			Serial: ser, Addresses: addrs[i], UserCount: uc, MessageCount: mc}); err != nil {
			return Summary{}, err
		}
		sum.Servers++
		sum.Users += uc
		sum.Messages += mc
	}
	if err := b.DX(store.BulkDX{ServerID: dxID, AdminAccount: dxAdmin, CopyAdmin: true, ForwardToAdmin: true, CycleMinutes: 60}); err != nil {
		return Summary{}, err
	}
	var uid int64
	for i := range users {
		sid := int64(i + 1)
		for _, u := range users[i] {
			uid++
			if err := b.User(store.BulkUser{ID: uid, Alias: u.alias, DisplayName: u.display, ServerID: sid, InAllListing: true, MessageCount: u.msgs}); err != nil {
				return Summary{}, err
			}
			if u.special != nil {
				for _, m := range u.special {
					m.UserID = uid
					if err := b.Message(m); err != nil {
						return Summary{}, err
					}
				}
				continue
			}
			for range u.msgs {
				if err := b.Message(message(r, uid, sid, now)); err != nil {
					return Summary{}, err
				}
			}
		}
	}

	// Routes: the full table of the Mail Network Administrator.
	for i := range seedServers {
		for j := range seedServers {
			if i == j {
				continue
			}
			configured, via := seedRoute(i, j, id, hub)
			if err := b.Route(store.BulkRoute{From: int64(i + 1), To: int64(j + 1), Configured: configured, Via: via}); err != nil {
				return Summary{}, err
			}
			sum.Routes++
		}
	}

	// Connectors. KB197378: the multihomed server's connector has no
	// override; the remote's connector back lists one of its addresses.
	conns := []store.BulkConnector{
		{Kind: "x400", Name: mhConn, ServerID: id[mhServer], RemoteServerID: id[mhRemote], StackAddresses: []string{addrs[byName(mhRemote)][0]}},
		{Kind: "x400", Name: mhBack, ServerID: id[mhRemote], RemoteServerID: id[mhServer], StackAddresses: []string{addrs[byName(mhServer)][0]}},
	}
	for _, p := range x400Pairs {
		for _, d := range [][2]string{{p[0], p[1]}, {p[1], p[0]}} {
			local, remote := byName(d[0]), byName(d[1])
			c := store.BulkConnector{Kind: "x400", Name: "TCP to " + d[1], ServerID: id[d[0]], RemoteServerID: id[d[1]],
				StackAddresses: []string{addrs[remote][0]}}
			if len(addrs[local]) > 1 { // fixed as SP2 allows: override, listed on the remote stack
				c.OverrideAddress = addrs[local][0]
			}
			conns = append(conns, c)
		}
	}
	for _, site := range seedSites {
		h := hub[site]
		if h == dxID {
			// Set for everyday running, not yet for a manual dir-sync:
			// the runbook's preparation C offers its one-click fixes
			// (MSExchangePCMTA at Maximum, polling every 1 minute).
			conns = append(conns, store.BulkConnector{Kind: "msmail", Name: "Microsoft Mail Connector", ServerID: h, RemoteServerID: id["PO-SALES"],
				PollMinutes: 5, Logging: map[string]string{"MSExchangePCMTA": "medium"}})
			continue
		}
		for i, s := range seedServers {
			if s.site == site && s.kind == mailnet.ServerKindMSMailPC {
				conns = append(conns, store.BulkConnector{Kind: "msmail", Name: "Microsoft Mail Connector", ServerID: h, RemoteServerID: int64(i + 1),
					PollMinutes: 5, Logging: map[string]string{"MSExchangePCMTA": "none"}})
				break
			}
		}
	}
	for _, c := range conns {
		if err := b.Connector(c); err != nil {
			return Summary{}, err
		}
		sum.Connectors++
	}

	for _, q := range reqs {
		if err := b.Requestor(q); err != nil {
			return Summary{}, err
		}
		sum.Requestors++
	}
	events := seedEvents(org, now, id, addrs, reqs)
	for _, e := range events {
		if err := b.Event(e); err != nil {
			return Summary{}, err
		}
		sum.Events++
	}
	if err := b.Flush(); err != nil {
		return Summary{}, err
	}
	if err := st.BulkSetLastEvents(ctx); err != nil {
		return Summary{}, err
	}
	if err := seedMTAFacts(ctx, st, id, addrs); err != nil { // R3, R5
		return Summary{}, err
	}

	sum.Seeded = true
	sum.Sites = int64(len(seedSites))
	sum.DuplicateSerial = dupSerial
	sum.DuplicateServers = []string{macA, macB}
	sum.MultihomedServer = mhServer
	sum.MultihomedAddresses = addrs[byName(mhServer)]
	sum.X400Connector = mhConn
	sum.RemoteServer = mhRemote
	sum.RemoteConnector = mhBack
	sum.DXServer = dxServer
	for _, q := range seedRequestors {
		sum.RequestorNames = append(sum.RequestorNames, q.network+"/"+q.postoffice)
	}
	sum.ExportRequestor = exportPO
	sum.ShowcaseRequestor = showcasePO
	sum.Elapsed = time.Since(start)
	return sum, nil
}

// seedRoute is the configured routing from server i to server j: direct
// within a site and between hubs, indirect via a hub otherwise, and the
// AppleTalk routes of Q99393 to and through the two duplicate servers.
func seedRoute(i, j int, id map[string]int64, hub map[string]int64) (string, int64) {
	from, to := seedServers[i], seedServers[j]
	mac := map[string]string{"MACMAIL-ENG": "Redmond", "MACMAIL-PUBS": "Redmond", "MACMAIL-DESIGN": "Boston", "MACMAIL-ART": "Boston"}
	if _, ok := mac[from.name]; ok {
		if _, ok := mac[to.name]; ok && from.site != to.site {
			gwFrom, gwTo := macA, macB
			if from.site == "Boston" {
				gwFrom, gwTo = macB, macA
			}
			switch {
			case from.name == gwFrom && to.name == gwTo:
				return mailnet.RouteDirect, 0
			case from.name == gwFrom:
				return mailnet.RouteIndirect, id[gwTo]
			default:
				return mailnet.RouteIndirect, id[gwFrom]
			}
		}
	}
	switch {
	case from.site == to.site:
		return mailnet.RouteDirect, 0
	case from.hub && to.hub:
		return mailnet.RouteDirect, 0
	case from.hub:
		return mailnet.RouteIndirect, hub[to.site]
	default:
		return mailnet.RouteIndirect, hub[from.site]
	}
}

// seedEvents are the recent event log: 9301 on the remote of KB197378
// about half of the attempts, the four dir-sync events of the last cycle
// per requestor, and a little MSMail and DX traffic.
func seedEvents(org string, now time.Time, id map[string]int64, addrs [][]string, reqs []store.BulkRequestor) []store.BulkEvent {
	var out []store.BulkEvent
	second := addrs[id[mhServer]-1][1]
	// Each Exchange MTA's startup event carries its build (Q174695).
	for _, sv := range seedServers {
		v, err := mta.ParseVersion(sv.version)
		if sv.kind != mailnet.ServerKindExchange || err != nil {
			continue
		}
		out = append(out, store.BulkEvent{
			Time: now.Add(-26 * time.Hour), Server: sv.name, ServerID: id[sv.name],
			Source: "MSExchangeMTA", EventID: mta.EventStartup, Category: "X.400 Service", Severity: mailnet.SeverityInfo,
			Description: mta.TextStartup(v),
		})
	}
	// The 9301 storm of KB197378 in the MTA's own words: the receiving
	// server's stack, the caller's second address in hex.
	stack := mta.StackDN(org, serverSite(mhRemote), mhRemote)
	for k := range 6 {
		out = append(out, store.BulkEvent{
			Time: now.Add(-time.Duration(110-k*20) * time.Minute), Server: mhRemote, ServerID: id[mhRemote],
			Source: "MSExchangeMTA", EventID: mta.EventGatewayNotFound, Category: "Configuration", Severity: mailnet.SeverityWarning,
			Description: mta.Text9301(second, stack, mhRemote),
			Fields:      map[string]string{"remote_address": second},
		})
	}
	dxSite := "Chicago"
	dxSys := org + "/" + dxSite + "/$SYSTEM"
	for _, q := range reqs {
		addr := q.Network + "/" + q.Postoffice
		reqSys := addr + "/$SYSTEM"
		po := q.Postoffice
		out = append(out,
			store.BulkEvent{Time: q.LastReqTxAt.Add(-30 * time.Second), Server: addr, ServerID: q.ServerID, RequestorID: q.ID,
				Source: "MSExchangePCMTA", EventID: 4395, Category: "Moved Out", Severity: mailnet.SeverityInfo,
				Description: `Mail sent from \\` + po + `\MAILDATA`, Subject: q.LastReqTx, Fields: map[string]string{"from": reqSys, "to": dxSys}},
			store.BulkEvent{Time: q.LastReqTxAt, Server: dxServer, ServerID: id[dxServer], RequestorID: q.ID,
				Source: "MSExchangePCMTA", EventID: 4355, Category: "Received", Severity: mailnet.SeverityInfo,
				Description: `Mail received on \\` + dxServer + `\MAILDAT$`, Subject: q.LastReqTx, Fields: map[string]string{"from": reqSys, "to": dxSys}},
			store.BulkEvent{Time: q.LastSrvTxAt.Add(-30 * time.Second), Server: dxServer, ServerID: id[dxServer], RequestorID: q.ID,
				Source: "MSExchangePCMTA", EventID: 4395, Category: "Sent", Severity: mailnet.SeverityInfo,
				Description: `Mail sent from \\` + dxServer + `\MAILDAT$`, Subject: q.LastSrvTx, Fields: map[string]string{"from": dxSys, "to": reqSys}},
			store.BulkEvent{Time: q.LastSrvTxAt, Server: addr, ServerID: q.ServerID, RequestorID: q.ID,
				Source: "MSExchangePCMTA", EventID: 4355, Category: "Moved In", Severity: mailnet.SeverityInfo,
				Description: `Mail received on \\` + po + `\MAILDATA`, Subject: q.LastSrvTx, Fields: map[string]string{"from": dxSys, "to": reqSys}},
		)
	}
	out = append(out,
		store.BulkEvent{Time: now.Add(-4 * time.Minute), Server: dxServer, ServerID: id[dxServer],
			Source: "MSExchangeDX", EventID: 4001, Category: "Directory Synchronization", Severity: mailnet.SeverityInfo,
			Description: fmt.Sprintf("The directory synchronization cycle completed: %d remote requestors served.", len(reqs)-1)},
		store.BulkEvent{Time: now.Add(-12 * time.Minute), Server: "MACMAIL-PUBS", ServerID: id["MACMAIL-PUBS"],
			Source: "MSMail", EventID: 1102, Category: "Routing", Severity: mailnet.SeverityWarning,
			Description: "Mail for MACMAIL-DESIGN is held: the route via MACMAIL-ENG shows No Connection."},
	)
	out = append(out, mtaFamilyEvents(org, now, id)...) // R3, R5
	// The table is in time order, as agents would have sent it.
	slices.SortStableFunc(out, func(a, b store.BulkEvent) int { return a.Time.Compare(b.Time) })
	return out
}

// serverSite is the site of a server of the demo network.
func serverSite(name string) string {
	for _, sv := range seedServers {
		if sv.name == name {
			return sv.site
		}
	}
	return ""
}
