package tracking

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"mailnet/internal/dirsync"
	"mailnet/internal/reports"
	"mailnet/internal/store"
)

// Finding links a trace to what a check of the console found about one of
// its hops.
type Finding struct {
	Kind   string `json:"kind"` // x400, duplicate_serial, dirsync
	Hop    int    `json:"hop"`
	Server string `json:"server"`
	Text   string `json:"text"`
	Link   string `json:"link,omitempty"`
}

// Evidence is what the checks say about the network, loaded once.
type Evidence struct {
	X400      []reports.X400Finding
	Conflicts reports.Conflicts
	ServerIDs map[string]int64 // lower-case name -> id
}

// LoadEvidence runs the X.400 check (KB197378) and the duplicate-serial
// rule (Q99393) and reads the servers' ids.
func LoadEvidence(ctx context.Context, st *store.Store) (Evidence, error) {
	return loadEvidence(ctx, st, nil)
}

// loadEvidence is LoadEvidence with the X.400 check x400 (nil:
// reports.X400Check).
func loadEvidence(ctx context.Context, st *store.Store, x400 func(context.Context) (*reports.X400Result, error)) (Evidence, error) {
	var ev Evidence
	if x400 == nil {
		x400 = func(ctx context.Context) (*reports.X400Result, error) { return reports.X400Check(ctx, st) }
	}
	x, err := x400(ctx)
	if err != nil {
		return ev, err
	}
	ev.X400 = x.Findings()
	if ev.Conflicts, err = reports.LoadConflicts(ctx, st); err != nil {
		return ev, err
	}
	svs, err := st.Servers(ctx)
	if err != nil {
		return ev, err
	}
	ev.ServerIDs = make(map[string]int64, len(svs))
	for _, sv := range svs {
		ev.ServerIDs[strings.ToLower(sv.Name)] = sv.ID
	}
	return ev, nil
}

// Findings ties a trace to the checks: a slow or deferred hop across a
// connector pair that the X.400 check flags links to that finding; a
// delivery on a server whose users a duplicate serial hides says so; a
// dir-sync ReqTx/SrvTx says what it carried.
func (ev Evidence) Findings(tr Trace) []Finding {
	out := []Finding{}
	seen := map[string]bool{}
	add := func(f Finding) {
		k := f.Kind + "\x00" + strings.ToLower(f.Server) + "\x00" + f.Link
		if !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	for i, h := range tr.Hops {
		delayed := h.Slow || h.Event == Deferred || h.LatencyMS >= SlowHop.Milliseconds()
		if delayed {
			var pairs [][2]string
			if h.Partner != "" {
				pairs = append(pairs, [2]string{h.Server, h.Partner})
			}
			if i > 0 && !same(tr.Hops[i-1].Server, h.Server) {
				pairs = append(pairs, [2]string{tr.Hops[i-1].Server, h.Server})
			}
			if f, ok := ev.x400(pairs); ok {
				add(Finding{Kind: "x400", Hop: i, Server: f.Server,
					Text: fmt.Sprintf("held %s on the X.400 connector %s between %s and %s, which the X.400 check flags: %s",
						roundDur(msDur(h.LatencyMS)), f.Connector, f.Server, f.RemoteServer, f.Status),
					Link: fmt.Sprintf("/x400?server_id=%d", f.ServerID)})
			}
		}
		if h.Event == Delivered || (h.Event == TransferredOut && h.Partner != "") {
			name := h.Server
			if h.Event == TransferredOut {
				name = h.Partner
			}
			if id, ok := ev.ServerIDs[strings.ToLower(name)]; ok && ev.Conflicts.IsImpacted(id) {
				add(Finding{Kind: "duplicate_serial", Hop: i, Server: name,
					Text: fmt.Sprintf("the recipients on %s are hidden from the All listing of the other servers: %s shares serial %s with a server at another site (Q99393)",
						name, name, ev.Conflicts.Impacted[id]),
					Link: "/duplicates"})
			}
		}
	}
	if tx, ok := dirsync.Parse(tr.Subject); ok {
		out = append(out, Finding{Kind: "dirsync", Hop: 0, Server: "",
			Text: fmt.Sprintf("a dir-sync %s: R=%d, S=%d, I=%d", tx.Kind, tx.R, tx.S, tx.I), Link: "/dirsync"})
	}
	return out
}

func (ev Evidence) x400(pairs [][2]string) (reports.X400Finding, bool) {
	for _, p := range pairs {
		for _, f := range ev.X400 {
			if f.Status == "ok" || f.Status == "" {
				continue
			}
			if (same(f.Server, p[0]) && same(f.RemoteServer, p[1])) || (same(f.Server, p[1]) && same(f.RemoteServer, p[0])) {
				return f, true
			}
		}
	}
	return reports.X400Finding{}, false
}

func msDur(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

// EvidenceTTL is how long the checks' evidence is reused across traces:
// the X.400 check and the duplicate-serial rule read the whole inventory,
// which a trace must not pay for each time.
const EvidenceTTL = 5 * time.Second

type evidenceCache struct {
	mu         sync.Mutex
	ev         Evidence
	at         time.Time
	refreshing bool
}

// Evidence is LoadEvidence over the store, reused for EvidenceTTL. Past
// the TTL the last evidence is still answered while one goroutine loads
// the next: a trace never waits for the whole inventory's checks but the
// first time (at 1M records that load was the trace's p99).
func (s *SQLite) Evidence(ctx context.Context) (Evidence, error) {
	c := &s.evidence
	c.mu.Lock()
	if !c.at.IsZero() {
		ev := c.ev
		if time.Since(c.at) >= EvidenceTTL && !c.refreshing {
			c.refreshing = true
			go s.refreshEvidence()
		}
		c.mu.Unlock()
		return ev, nil
	}
	c.mu.Unlock()
	ev, err := loadEvidence(ctx, s.st, s.opt.X400)
	if err != nil {
		return Evidence{}, err
	}
	c.mu.Lock()
	if c.at.IsZero() {
		c.ev, c.at = ev, time.Now()
	}
	c.mu.Unlock()
	return ev, nil
}

func (s *SQLite) refreshEvidence() {
	c := &s.evidence
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ev, err := loadEvidence(ctx, s.st, s.opt.X400)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshing = false
	if err == nil {
		c.ev, c.at = ev, time.Now()
	}
}
