package demo

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/mta"
	"mailnet/internal/reports"
	"mailnet/internal/store"
)

// IngestFunc hands a batch of events to the console the way an agent's
// POST /api/v1/events does (serve wires it to the ingest writer).
type IngestFunc func(ctx context.Context, evs []mailnet.Event) error

// Agents simulates the event logs of the network's servers: X.400
// connection attempts (Event 9301 when the receiving MTA does not list
// the source address, KB197378), dir-sync cycles (4395/4355 with ReqTx
// and SrvTx subjects whose numbers advance as the dir-sync article
// describes) and routine MTA traffic. Next is deterministic for a seed;
// RunAgents paces it.
type Agents struct {
	st  *store.Store
	rng *rand.Rand
	now func() time.Time

	org     string
	servers map[int64]mailnet.Server
	sites   map[int64]string
	running []mailnet.Server
	links   []x400Link
	weights []float64
	reqs    []*agentRequestor

	nextReq int // round robin over reqs
	steps   int
	pending []mailnet.Event // events due before the next one drawn
}

// x400Link is an X.400 connector from A to B and what B's MTA accepts.
type x400Link struct {
	conn     mailnet.Connector
	from, to mailnet.Server
	back     string   // B's connector to A (the one 9301 names), or conn's name
	accepted []string // every stack entry of B's x400 connectors
}

// agentRequestor is a requestor's own view of its sync numbers, as a
// postoffice keeps them in REQCONF.GLB, and where its cycle is.
type agentRequestor struct {
	id         int64
	address    string // NETWORK/POSTOFFICE
	postoffice string
	dx         mailnet.Server
	r, s, i    int64
	phase      int // 0 Moved Out, 1 Received, 2 status report, 3 Sent, 4 Moved In
	reqTx      string
	srvTx      string
	export     bool  // the DX read Export on Next Cycle at T2: this SrvTx is the full export
	reqS       int64 // the S the postoffice holds (REQCONF.GLB): q.s once T3 has run
	prevR      int64 // R before this cycle's ReqTx

	// The anomaly showcase (showcasePO only): the mode of this cycle, the
	// modes of the cycles after it, and the slot they were planned in.
	showcase  bool
	bad       string
	plan      []string
	shownSlot int64
	lostSent  bool // the 220 and 221 of showLostMessages are logged
}

// silentScenario is the requestor the demo keeps silent (the dir-sync
// report's "silent for more than N cycles"); the agents leave it alone.
const silentScenario = laggingPO

// NewAgents loads the network the agents simulate. seed fixes the
// sequence of events.
func NewAgents(ctx context.Context, st *store.Store, seed uint64) (*Agents, error) {
	a := &Agents{st: st, rng: rand.New(rand.NewPCG(seed, 197378)), now: func() time.Time { return time.Now().UTC() }}
	if err := a.load(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Agents) load(ctx context.Context) error {
	org, err := a.st.BulkOrganization(ctx)
	if err != nil {
		return err
	}
	a.org = org
	servers, err := a.st.Servers(ctx)
	if err != nil {
		return err
	}
	sites, err := a.st.Sites(ctx)
	if err != nil {
		return err
	}
	a.sites = map[int64]string{}
	for _, s := range sites {
		a.sites[s.ID] = s.Name
	}
	a.servers = map[int64]mailnet.Server{}
	a.running = a.running[:0]
	for _, s := range servers {
		a.servers[s.ID] = s
		if s.Status == mailnet.StatusRunning {
			a.running = append(a.running, s)
		}
	}
	conns, err := a.st.Connectors(ctx, 0)
	if err != nil {
		return err
	}
	stacks := map[int64][]string{}
	for _, c := range conns {
		if c.Kind == "x400" {
			stacks[c.ServerID] = append(stacks[c.ServerID], c.StackAddresses...)
		}
	}
	a.links, a.weights = nil, nil
	for _, c := range conns {
		from, ok1 := a.servers[c.ServerID]
		to, ok2 := a.servers[c.RemoteServerID]
		if c.Kind != "x400" || !ok1 || !ok2 || from.Status != mailnet.StatusRunning || to.Status != mailnet.StatusRunning {
			continue
		}
		l := x400Link{conn: c, from: from, to: to, back: c.Name, accepted: stacks[to.ID]}
		for _, b := range conns {
			if b.Kind == "x400" && b.ServerID == to.ID && b.RemoteServerID == from.ID {
				l.back = b.Name
			}
		}
		a.links = append(a.links, l)
		// A multihomed server without an override is the interesting
		// case: it gets more of the traffic so its 9301s show.
		w := 1.0
		if len(from.Addresses) > 1 && c.OverrideAddress == "" {
			w = 4
		}
		a.weights = append(a.weights, w)
	}
	if a.reqs == nil {
		reqs, err := a.st.Requestors(ctx, store.RequestorFilter{})
		if err != nil {
			return err
		}
		for _, q := range reqs {
			dx, ok := a.servers[q.DXServerID]
			if !ok || q.Address() == silentScenario {
				continue
			}
			a.reqs = append(a.reqs, &agentRequestor{id: q.ID, address: q.Address(), postoffice: q.Postoffice, dx: dx,
				r: q.RequestorSync, s: q.ServerSync, i: q.Imports, reqS: q.ServerSync, shownSlot: -1,
				showcase: strings.EqualFold(q.Address(), showcasePO)})
		}
	}
	return nil
}

// SetClock sets the clock the events are stamped with (and the showcase
// reads its slot from); the default is the wall clock.
func (a *Agents) SetClock(now func() time.Time) { a.now = now }

// Requestors returns the addresses of the requestors the agents drive.
func (a *Agents) Requestors() []string {
	out := make([]string, len(a.reqs))
	for i, q := range a.reqs {
		out[i] = q.address
	}
	return out
}

// Next returns the next event of the simulated network.
func (a *Agents) Next(ctx context.Context) mailnet.Event {
	if len(a.pending) > 0 {
		ev := a.pending[0]
		a.pending = a.pending[1:]
		return ev
	}
	a.steps++
	if a.steps%500 == 0 {
		// Follow the inventory: decommissions, new connectors, a paused DX.
		_ = a.load(ctx)
	}
	p := a.rng.Float64()
	switch {
	case p < 0.002:
		if ev, ok := a.startup(); ok {
			return ev
		}
	case p < 0.40 && len(a.links) > 0:
		return a.x400Attempt()
	case p < 0.60 && len(a.reqs) > 0:
		if ev, ok := a.dirSyncStep(ctx); ok {
			return ev
		}
	}
	return a.routine()
}

func (a *Agents) pickLink() *x400Link {
	total := 0.0
	for _, w := range a.weights {
		total += w
	}
	x := a.rng.Float64() * total
	for i, w := range a.weights {
		if x < w {
			return &a.links[i]
		}
		x -= w
	}
	return &a.links[len(a.links)-1]
}

// x400Attempt is one inbound connection at B from A over a connector. A
// without an override lets the transport choose among all its addresses
// (KB197378); B's MTA refuses an address that no local X.400 connector
// lists on its Stack property page, and logs Event ID 9301. An accepted
// connection logs nothing, so routine traffic stands in for it.
func (a *Agents) x400Attempt() mailnet.Event {
	if at := a.Attempt(); at.Refused {
		return at.Event
	}
	return a.routine()
}

// Attempt is one X.400 connection attempt of the simulated network.
type Attempt struct {
	From, To string
	Address  string // the address A called from
	Refused  bool
	Event    mailnet.Event // B's Event 9301, when refused
}

// Attempt makes one inbound X.400 connection attempt over a connector,
// weighted to the multihomed servers without an override.
func (a *Agents) Attempt() Attempt {
	l := a.pickLink()
	addr := l.conn.OverrideAddress
	if addr == "" && len(l.from.Addresses) > 0 {
		addr = l.from.Addresses[a.rng.IntN(len(l.from.Addresses))]
	}
	at := Attempt{From: l.from.Name, To: l.to.Name, Address: addr}
	if slices.Contains(l.accepted, addr) || slices.Contains(l.accepted, l.from.Name) {
		return at
	}
	// The receiving MTA's own words (Q193380): its transport stack, and
	// the caller's address in hex.
	at.Refused = true
	at.Event = mailnet.Event{Time: a.now(), Server: l.to.Name, Source: "MSExchangeMTA", EventID: mta.EventGatewayNotFound, Category: "Configuration",
		Severity: mailnet.SeverityWarning, Fields: map[string]string{"remote_address": addr},
		Description: mta.Text9301(addr, mta.StackDN(a.org, a.sites[l.to.SiteID], l.to.Name), l.to.Name)}
	return at
}

// startup is an MTA restart on a running Exchange server: the startup
// event that carries its build (Q174695).
func (a *Agents) startup() (mailnet.Event, bool) {
	var exch []mailnet.Server
	for _, s := range a.running {
		if s.Kind == mailnet.ServerKindExchange {
			exch = append(exch, s)
		}
	}
	if len(exch) == 0 {
		return mailnet.Event{}, false
	}
	s := exch[a.rng.IntN(len(exch))]
	v, err := mta.ParseVersion(s.Version)
	if err != nil {
		return mailnet.Event{}, false
	}
	return mailnet.Event{Time: a.now(), Server: s.Name, Source: "MSExchangeMTA", EventID: mta.EventStartup, Category: "X.400 Service",
		Severity: mailnet.SeverityInfo, Description: mta.TextStartup(v)}, true
}

// dirSyncStep is the next event of the next requestor's cycle, in the
// order of the dir-sync article. T1: 4395 Moved Out on the postoffice and
// 4355 Received on the DX carry its ReqTx, and the DXA administrator
// receives the "Status report from NET/PO". T2: 4395 Sent on the DX and
// 4355 Moved In on the postoffice carry the DX's SrvTx. A paused DX holds
// T2 only where pausing does not trigger it (Exchange 4.0 without
// PauseKicksDX=1), as the dir-sync report says: on 5.0, or 4.0 with
// PauseKicksDX=1, pausing is what runs T2, so the SrvTx goes out.
func (a *Agents) dirSyncStep(ctx context.Context) (mailnet.Event, bool) {
	var held map[int64]bool
	for range len(a.reqs) {
		q := a.reqs[a.nextReq]
		if q.phase == 0 && q.showcase {
			a.planShowcase(q)
		}
		if q.phase == 3 {
			if q.bad == showUnconfirmed {
				// The showcase's R18: no T2 reaches the postoffice
				// this cycle; the next T1 follows.
				q.phase = 0
				a.endCycle(q)
				a.nextReq = (a.nextReq + 1) % len(a.reqs)
				continue
			}
			if held == nil {
				held = a.t2Held(ctx)
			}
			if held[q.dx.ID] {
				// No T2 this cycle; the postoffice's next T1 comes on
				// its own schedule.
				q.phase = 0
				a.endCycle(q)
				a.nextReq = (a.nextReq + 1) % len(a.reqs)
				continue
			}
			if q.bad == showLostMessages && !q.lostSent {
				// Q175588: the DXA logs 220 and 221 before the reply
				// that is the full export.
				q.lostSent = true
				lost, reply := a.lostMessages(q)
				a.pending = append(a.pending, reply)
				return lost, true
			}
		}
		ev := a.cycleEvent(ctx, q)
		q.phase = (q.phase + 1) % 5
		if q.phase == 0 || q.phase == 3 {
			if q.phase == 0 {
				a.endCycle(q)
			}
			a.nextReq = (a.nextReq + 1) % len(a.reqs)
		}
		return ev, true
	}
	return mailnet.Event{}, false
}

// lostMessages are the DX's Event 220 and 221 about q (Q175588).
func (a *Agents) lostMessages(q *agentRequestor) (lost, reply mailnet.Event) {
	ev := mailnet.Event{Time: a.now(), Server: q.dx.Name, Source: "MSExchangeDX", Category: "Directory Synchronization", Severity: mailnet.SeverityWarning}
	lost, reply = ev, ev
	lost.EventID = 220
	lost.Description = "Multiple dirsync messages to and from " + q.address + " have been lost or delayed."
	reply.EventID, reply.Severity = 221, mailnet.SeverityInfo
	reply.Description = "An Import Reply (full export) will be done to " + q.address + " on the next reply."
	return lost, reply
}

// t2Held is, per DX server, whether T2 is held: paused on a version where
// pausing does not trigger T2 (reports.PauseTriggersT2, the report's own
// rule). It reads the settings as they are now.
func (a *Agents) t2Held(ctx context.Context) map[int64]bool {
	out := map[int64]bool{}
	dxs, err := a.st.DXServers(ctx)
	if err != nil {
		return out
	}
	kicks, err := a.st.DXPauseKicks(ctx)
	if err != nil {
		return out
	}
	for _, d := range dxs {
		if !d.Paused {
			continue
		}
		version := a.servers[d.ServerID].Version
		if sv, err := a.st.ServerByID(ctx, d.ServerID); err == nil {
			version = sv.Version
		}
		out[d.ServerID] = !reports.PauseTriggersT2(version, kicks[d.ServerID])
	}
	return out
}

func (a *Agents) cycleEvent(ctx context.Context, q *agentRequestor) mailnet.Event {
	reqSys := q.address + "/$SYSTEM"
	dxSys := a.org + "/" + a.sites[q.dx.SiteID] + "/$SYSTEM"
	ev := mailnet.Event{Time: a.now(), Source: "MSExchangePCMTA", Severity: mailnet.SeverityInfo}
	switch q.phase {
	case 0: // T1: reqmain -t on the postoffice
		// x = y + z (Q133428): R is the old number plus the updates sent.
		was, sent := q.r, int64(1+a.rng.IntN(24))
		if q.bad == showReqSyncExceeds {
			// Enough updates that R passes the server's S, which this
			// cycle's SrvTx will not raise.
			sent = q.s - q.r + 5
		}
		q.prevR = q.r
		q.r += sent
		if a.rng.IntN(4) == 0 {
			q.i++ // an import was requested
		}
		s, reported := q.reqS, sent
		switch q.bad {
		case showInconsistent:
			reported = sent + 3 // REQTRANS and REQCONF disagree
		case showServerBehind:
			s = q.s + 50 // the server was restored from an older backup
		}
		q.reqTx = ReqTx(q.r, was, s, q.i, reported)
		ev.Server, ev.EventID, ev.Category, ev.Subject = q.address, 4395, "Moved Out", q.reqTx
		ev.Description = `Mail sent from \\` + q.postoffice + `\MAILDATA`
		ev.Fields = map[string]string{"from": reqSys, "to": dxSys}
	case 1:
		ev.Server, ev.EventID, ev.Category, ev.Subject = q.dx.Name, 4355, "Received", q.reqTx
		ev.Description = `Mail received on \\` + q.dx.Name + `\MAILDAT$`
		ev.Fields = map[string]string{"from": reqSys, "to": dxSys}
	case 2: // the status report in the DXA administrator's mailbox
		ev.Server, ev.Source, ev.EventID, ev.Category = q.dx.Name, "MSExchangeDX", 0, "Directory Synchronization"
		ev.Subject = "Status report from " + q.address
		ev.Description = "Status report from " + q.address + " received by the DXA administrator."
		ev.Fields = map[string]string{"from": reqSys, "to": dxSys}
	case 3: // T2: the DX answers, acknowledging R and advancing S
		// The DX reads Export on Next Cycle now: the reply to a flagged
		// requestor is the full export.
		if cur, err := a.st.RequestorByID(ctx, q.id); err == nil {
			q.export = cur.ExportOnNextCycle
		}
		if q.bad == showLostMessages {
			q.export = true // announced by the 221 the DX logged
		}
		// An Exchange DX counts per requestor what it sent to it
		// (Q152231's DXA-Svr-Seq), so S grows by exactly "## sent"; it
		// sends enough that S never falls below R (Q96060).
		was, r, i := q.s, q.r, q.i
		sent := max(int64(a.rng.IntN(20)), q.r-q.s)
		q.s += sent
		switch {
		case q.export:
			// The full export, an Import Reply: "(was 0)" and many
			// updates, as Q162841's "S=87298 (was 0), I=2 15603 sen".
			sent, was = 400+int64(a.rng.IntN(200)), 0
			q.s += sent
		case q.bad == showMissedReqTx:
			r = q.prevR // the ReqTx arrived after T2
		case q.bad == showSkip:
			was += 3 // a SrvTx between the two was lost
			q.s += 3
		case q.bad == showSentExceeds:
			sent = q.s - was + 9
		case q.bad == showReqSyncExceeds:
			sent, q.s = 0, was // S stays below the R just sent
		case q.bad == showImportRegression && q.i > 0:
			i = q.i - 1 // the requestor was deleted and re-added
		case q.bad == showUnconfirmedPrep && q.s == was:
			q.s++ // S moves, so the postoffice that skips T3 lags it
		}
		q.srvTx = SrvTx(r, q.s, was, i, sent)
		ev.Server, ev.EventID, ev.Category, ev.Subject = q.dx.Name, 4395, "Sent", q.srvTx
		ev.Description = `Mail sent from \\` + q.dx.Name + `\MAILDAT$`
		ev.Fields = map[string]string{"from": dxSys, "to": reqSys}
	default: // T3: reqmain -r, import, rebuild on the postoffice
		q.export = false
		ev.Server, ev.EventID, ev.Category, ev.Subject = q.address, 4355, "Moved In", q.srvTx
		ev.Description = `Mail received on \\` + q.postoffice + `\MAILDATA`
		ev.Fields = map[string]string{"from": dxSys, "to": reqSys}
		if q.bad != showUnconfirmedPrep {
			q.reqS = q.s
		}
	}
	return ev
}

// routine is ordinary traffic: an X.400 association closing after a
// transfer, or an MS Mail server delivering.
func (a *Agents) routine() mailnet.Event {
	if len(a.running) == 0 {
		return mailnet.Event{Time: a.now(), Server: "DEMO", Source: "MSMail", EventID: 1101, Category: "Routing", Severity: mailnet.SeverityInfo,
			Description: "No server is running."}
	}
	s := a.running[a.rng.IntN(len(a.running))]
	src := "MSMail"
	if s.Kind == mailnet.ServerKindExchange {
		src = "MSExchangeMTA"
	}
	return mailnet.Event{Time: a.now(), Server: s.Name, Source: src, EventID: 1101, Category: "Routing", Severity: mailnet.SeverityInfo,
		Description: fmt.Sprintf("%d messages delivered to local mailboxes.", 1+a.rng.IntN(60))}
}

// RunAgents sends the simulated traffic to ingest at about rate events
// per second until ctx ends. Events go in small batches, paced by a
// ticker; a refused batch (the queue is full) is dropped and logged, as an
// agent would retry later.
func RunAgents(ctx context.Context, st *store.Store, ingest IngestFunc, rate float64, log *slog.Logger) error {
	if rate <= 0 {
		return nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a, err := NewAgents(ctx, st, uint64(time.Now().UnixNano()))
	if err != nil {
		return err
	}
	tick := max(time.Duration(float64(time.Second)/rate), 50*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	last := time.Now()
	budget := 0.0
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			budget += rate * now.Sub(last).Seconds()
			last = now
			n := min(int(budget), int(rate)+1, 10000)
			if n <= 0 {
				continue
			}
			budget -= float64(n)
			evs := make([]mailnet.Event, n)
			for i := range evs {
				evs[i] = a.Next(ctx)
			}
			if err := ingest(ctx, evs); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				failures++
				if failures == 1 || failures%100 == 0 {
					log.Warn("demo agents: ingest refused a batch", "events", n, "failures", failures, "err", err)
				}
			}
		}
	}
}
