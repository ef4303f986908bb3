package demo

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
	"mailnet/internal/tracking"
)

// TrackingSubmit hands records to the console the way an agent's POST
// /api/v1/tracking does.
type TrackingSubmit func(ctx context.Context, recs []tracking.Record) error

// Tracking disabled: the seed network's EXCH-DAL-02 sends no tracking
// (its MTA Site Configuration never had "Enable message tracking"
// ticked, Q173364), so every hop through it is a gap.
const trackingOff = "EXCH-DAL-02"

// foreignSystem is outside the inventory: mail to it leaves the network.
const foreignSystem = "PROFS VMGATE"

// trackingMsg builds one message's records.
type trackingMsg struct {
	id, sender, subject string
	rcpts               []string
	at                  time.Time
	recs                []tracking.Record
}

func (m *trackingMsg) add(after time.Duration, server string, ev tracking.Event, partner, msgID, remote string) {
	m.at = m.at.Add(after)
	if strings.EqualFold(server, trackingOff) {
		return // it logs nothing
	}
	if msgID == "" {
		msgID = m.id
	}
	m.recs = append(m.recs, tracking.Record{Time: m.at, Server: server, Event: ev, MessageID: msgID, Sender: m.sender,
		Recipients: m.rcpts, Subject: m.subject, Size: 4096, Partner: partner, RemoteID: remote})
}

// hop moves the message from server a to b: a transfer out at a, a
// transfer in at b after lat.
func (m *trackingMsg) hop(a, b string, lat time.Duration) {
	m.add(2*time.Second, a, tracking.TransferredOut, b, "", "")
	m.add(lat, b, tracking.TransferredIn, a, "", "")
}

// TrackingScenario is the demo network's tracked mail as of now: mail
// between AppleTalk, PC Mail and Exchange users, across X.400 and to a
// foreign system; a message held up by the 9301 storm on the KB197378
// connector; one through a server with tracking disabled; one NDR; one
// to a user the Q99393 duplicate serial hides; a dir-sync ReqTx.
func TrackingScenario(now time.Time) []tracking.Record {
	start := now.Add(-3 * time.Hour)
	var out []tracking.Record
	msg := func(n int, sender, subject string, rcpts ...string) *trackingMsg {
		return &trackingMsg{id: fmt.Sprintf("<demo.%d@mailnet.example>", n), sender: sender, subject: subject, rcpts: rcpts,
			at: start.Add(time.Duration(n) * 7 * time.Minute)}
	}
	// 1. AppleTalk to London, held by the 9301 storm: EXCH-RED-01's X.400
	// connector to EXCH-LON-01 has no Stack IP Address Override, so
	// LON-01 drops its calls (KB197378) until one happens to come from
	// the listed address.
	m := msg(1, "CORPNET/MACMAIL-ENG/JSMITH", "Board pack for Thursday", "/o=Contoso/ou=London/cn=Recipients/cn=pjones")
	m.add(0, "MACMAIL-ENG", tracking.Submitted, "", "", "")
	m.hop("MACMAIL-ENG", "EXCH-RED-01", 40*time.Second)
	m.add(30*time.Second, "EXCH-RED-01", tracking.Deferred, "EXCH-LON-01", "", "")
	m.add(2*time.Hour+10*time.Minute, "EXCH-RED-01", tracking.TransferredOut, "EXCH-LON-01", "", "C=US;A= ;P=Contoso;L=EXCH-RED-01-0001")
	m.add(20*time.Second, "EXCH-LON-01", tracking.TransferredIn, "EXCH-RED-01", "C=US;A= ;P=Contoso;L=EXCH-RED-01-0001", "")
	m.add(3*time.Second, "EXCH-LON-01", tracking.Delivered, "", "C=US;A= ;P=Contoso;L=EXCH-RED-01-0001", "")
	out = append(out, m.recs...)

	// 2. PC Mail to Exchange across X.400 (Chicago to Boston), complete.
	m = msg(2, "CORPNET/PO-SALES/MKELLY", "Q3 forecast", "/o=Contoso/ou=Boston/cn=Recipients/cn=rwhite")
	m.add(0, "PO-SALES", tracking.Submitted, "", "", "")
	m.hop("PO-SALES", "EXCH-CHI-01", 3*time.Minute)
	m.hop("EXCH-CHI-01", "EXCH-BOS-01", 25*time.Second)
	m.hop("EXCH-BOS-01", "EXCH-BOS-02", 4*time.Second)
	m.add(2*time.Second, "EXCH-BOS-02", tracking.Delivered, "", "", "")
	out = append(out, m.recs...)

	// 3. Through EXCH-DAL-02, which has tracking disabled.
	m = msg(3, "/o=Contoso/ou=Atlanta/cn=Recipients/cn=tgreen", "Plant shutdown schedule", "CORPNET/PO-DALLAS/LBROWN")
	m.add(0, "EXCH-ATL-01", tracking.Submitted, "", "", "")
	m.hop("EXCH-ATL-01", "EXCH-DAL-01", 30*time.Second)
	m.hop("EXCH-DAL-01", trackingOff, 5*time.Second)
	out = append(out, m.recs...)

	// 4. An NDR: no such mailbox in Atlanta.
	m = msg(4, "/o=Contoso/ou=Munich/cn=Recipients/cn=hmueller", "Lieferung", "/o=Contoso/ou=Atlanta/cn=Recipients/cn=nobody")
	m.add(0, "EXCH-MUC-01", tracking.Submitted, "", "", "")
	m.hop("EXCH-MUC-01", "EXCH-LON-01", 20*time.Second)
	m.hop("EXCH-LON-01", "EXCH-BOS-01", 30*time.Second)
	m.hop("EXCH-BOS-01", "EXCH-ATL-01", 25*time.Second)
	m.add(time.Second, "EXCH-ATL-01", tracking.NDR, "", "", "")
	out = append(out, m.recs...)

	// 5. To a foreign system: the message leaves the network.
	m = msg(5, "/o=Contoso/ou=London/cn=Recipients/cn=pjones", "Mainframe batch window", "PROFS:VM1(OPS)")
	m.add(0, "EXCH-LON-02", tracking.Submitted, "", "", "")
	m.hop("EXCH-LON-02", "EXCH-LON-01", 5*time.Second)
	m.add(10*time.Second, "EXCH-LON-01", tracking.TransferredOut, foreignSystem, "", "")
	out = append(out, m.recs...)

	// 6. To a user on MACMAIL-DESIGN, which shares its serial with
	// MACMAIL-ENG (Q99393): delivered, but hidden from the All listing.
	m = msg(6, "/o=Contoso/ou=Boston/cn=Recipients/cn=rwhite", "Logo proofs", "CORPNET/MACMAIL-DESIGN/AKIM")
	m.add(0, "EXCH-BOS-02", tracking.Submitted, "", "", "")
	m.hop("EXCH-BOS-02", "EXCH-BOS-01", 4*time.Second)
	m.hop("EXCH-BOS-01", "MACMAIL-DESIGN", 2*time.Minute)
	m.add(time.Second, "MACMAIL-DESIGN", tracking.Delivered, "", "", "")
	out = append(out, m.recs...)

	// 7. A dir-sync ReqTx from a requestor postoffice to the DX server.
	m = msg(7, "CORPNET/PO-HR/$DIRSYNC", ReqTx(41, 40, 17, 3, 12), "/o=Contoso/ou=Chicago/cn=Recipients/cn=DXAdmin")
	m.add(0, "PO-HR", tracking.Submitted, "", "", "")
	m.hop("PO-HR", "EXCH-CHI-01", 2*time.Minute)
	m.add(time.Second, "EXCH-CHI-01", tracking.Delivered, "", "", "")
	out = append(out, m.recs...)

	// 8. Exchange to Exchange in Redmond, still in transit (just sent).
	m = msg(8, "/o=Contoso/ou=Redmond/cn=Recipients/cn=dlee", "Lunch?", "/o=Contoso/ou=Redmond/cn=Recipients/cn=swu")
	m.at = now.Add(-90 * time.Second)
	m.add(0, "EXCH-RED-02", tracking.Submitted, "", "", "")
	m.add(time.Second, "EXCH-RED-02", tracking.TransferredOut, "EXCH-RED-03", "", "")
	out = append(out, m.recs...)
	return out
}

// TrackingTraffic makes tracking for ordinary mail between the servers of
// an inventory, deterministic for a seed: a message is submitted on one
// server, relayed by its site's hub and the recipient's site hub, and
// delivered (now and then deferred first, rarely refused).
type TrackingTraffic struct {
	rng     *rand.Rand
	servers []mailnet.Server
	hubs    map[int64]string // site -> a server of it
	n       int64
	prefix  string
	words   []string
}

// NewTrackingTraffic reads the inventory's running servers.
func NewTrackingTraffic(ctx context.Context, st *store.Store, seed uint64) (*TrackingTraffic, error) {
	svs, err := st.Servers(ctx)
	if err != nil {
		return nil, err
	}
	t := &TrackingTraffic{rng: rand.New(rand.NewPCG(seed, 173364)), hubs: map[int64]string{}, prefix: fmt.Sprintf("%x", seed),
		words: []string{"Budget", "Re: Budget", "Minutes", "Forecast", "Invoice", "Schedule", "Proposal", "Fwd: Report", "Agenda", "Travel", "Status", "Review"}}
	for _, sv := range svs {
		if sv.Status != mailnet.StatusRunning {
			continue
		}
		t.servers = append(t.servers, sv)
		if _, ok := t.hubs[sv.SiteID]; !ok || sv.Kind == mailnet.ServerKindExchange && strings.HasSuffix(sv.Name, "-01") {
			t.hubs[sv.SiteID] = sv.Name
		}
	}
	if len(t.servers) < 2 {
		return nil, fmt.Errorf("tracking traffic: the inventory has %d running servers; it needs 2", len(t.servers))
	}
	return t, nil
}

func (t *TrackingTraffic) address(sv mailnet.Server, user int) string {
	switch sv.Kind {
	case mailnet.ServerKindExchange:
		return fmt.Sprintf("u%d@%s.example", user, strings.ToLower(sv.Name))
	default:
		return fmt.Sprintf("NET/%s/U%d", sv.Name, user)
	}
}

// Next returns the records of one more message, its first record at at.
func (t *TrackingTraffic) Next(at time.Time) []tracking.Record {
	t.n++
	from := t.servers[t.rng.IntN(len(t.servers))]
	to := t.servers[t.rng.IntN(len(t.servers))]
	m := &trackingMsg{id: fmt.Sprintf("<%s.%d@%s>", t.prefix, t.n, strings.ToLower(from.Name)),
		sender: t.address(from, t.rng.IntN(200)), subject: fmt.Sprintf("%s %d", t.words[t.rng.IntN(len(t.words))], t.rng.IntN(1000)),
		rcpts: []string{t.address(to, t.rng.IntN(200))}, at: at}
	if t.rng.IntN(8) == 0 {
		m.rcpts = append(m.rcpts, t.address(to, t.rng.IntN(200)))
	}
	m.add(0, from.Name, tracking.Submitted, "", "", "")
	path := []string{from.Name}
	for _, s := range []string{t.hubs[from.SiteID], t.hubs[to.SiteID], to.Name} {
		if !strings.EqualFold(s, path[len(path)-1]) {
			path = append(path, s)
		}
	}
	for i := 1; i < len(path); i++ {
		lat := time.Duration(1+t.rng.IntN(30)) * time.Second
		if t.rng.IntN(50) == 0 {
			m.add(time.Second, path[i-1], tracking.Deferred, path[i], "", "")
			lat += time.Duration(5+t.rng.IntN(40)) * time.Minute
		}
		m.hop(path[i-1], path[i], lat)
	}
	last := path[len(path)-1]
	if t.rng.IntN(200) == 0 {
		m.add(time.Second, last, tracking.NDR, "", "", "")
	} else {
		m.add(time.Second, last, tracking.Delivered, "", "", "")
	}
	return m.recs
}

// GenerateTracking writes about n tracking records of ordinary traffic
// into tk, spread over the days before now, through tk's own writer in
// batches (the path an agent's POST takes). progress, if set, hears how
// many records are stored.
func GenerateTracking(ctx context.Context, st *store.Store, tk tracking.Store, n int64, seed uint64, now time.Time, progress func(done int64)) (int64, error) {
	tr, err := NewTrackingTraffic(ctx, st, seed)
	if err != nil {
		return 0, err
	}
	const batch = 9_900 // under the writer's cap of 10,000 by more than one message
	// About 6 records a message: spread the messages over 30 days.
	span := 30 * 24 * time.Hour
	step := time.Duration(int64(span) / max(n/6, 1))
	at := now.Add(-span)
	var done int64
	buf := make([]tracking.Record, 0, batch+16)
	for done < n {
		buf = buf[:0]
		for len(buf) < batch && done+int64(len(buf)) < n {
			buf = append(buf, tr.Next(at)...)
			at = at.Add(step)
		}
		if _, err := tk.Submit(ctx, buf); err != nil {
			return done, err
		}
		done += int64(len(buf))
		if progress != nil {
			progress(done)
		}
	}
	return done, nil
}

// RunTracking sends the scenario once and then ordinary traffic at rate
// messages a second until ctx ends.
func RunTracking(ctx context.Context, st *store.Store, submit TrackingSubmit, rate float64, log *slog.Logger) error {
	if err := submit(ctx, TrackingScenario(time.Now().UTC())); err != nil {
		return fmt.Errorf("tracking scenario: %w", err)
	}
	if rate <= 0 {
		return nil
	}
	tr, err := NewTrackingTraffic(ctx, st, uint64(time.Now().UnixNano()))
	if err != nil {
		return err
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		// The records of one message, stamped as it happens.
		recs := tr.Next(time.Now().UTC().Add(-2 * time.Minute))
		if err := submit(ctx, recs); err != nil && ctx.Err() == nil && log != nil {
			log.Warn("demo tracking", "err", err)
		}
	}
}
