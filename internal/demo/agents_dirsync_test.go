package demo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"mailnet/internal/actions"
	"mailnet/internal/demo"
	"mailnet/internal/dirsync"
	"mailnet/internal/ingest"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// fakeClock is the test's time: the store's, the agents' and ingest's.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// eventGap is the time between two agent events: serve's default
// --demo-rate of 5 events per second.
const eventGap = 200 * time.Millisecond

// agentPipe runs the demo agents into the console's real ingest writer
// (the path serve wires them to), on a fake clock.
type agentPipe struct {
	t     *testing.T
	st    *store.Store
	act   *actions.Actions
	a     *demo.Agents
	w     *ingest.Writer
	clock *fakeClock
	batch []ingest.Input
	// per is how many dir-sync events go in one batch; the agents read
	// the flags the batches change.
	per int
}

// seedAt is the fake time the template network is seeded at; every pipe
// starts after it.
var seedAt = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

var template struct {
	once sync.Once
	dir  string
	err  error
}

// seededCopy opens a copy of one demo network seeded at seedAt (seeding
// takes most of a minute under -race; a copy of the file takes none).
func seededCopy(t *testing.T) *store.Store {
	t.Helper()
	template.once.Do(func() {
		if template.dir, template.err = os.MkdirTemp("", "demo-agents-"); template.err != nil {
			return
		}
		st, err := store.Open(context.Background(), filepath.Join(template.dir, "demo.db"), store.Options{})
		if err != nil {
			template.err = err
			return
		}
		st.Now = func() time.Time { return seedAt }
		_, template.err = demo.Seed(context.Background(), st)
		if err := st.Close(); template.err == nil {
			template.err = err
		}
	})
	if template.err != nil {
		t.Fatalf("seed the template: %v", template.err)
	}
	dst := filepath.Join(t.TempDir(), "demo.db")
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(filepath.Join(template.dir, "demo.db"+suffix))
		if errors.Is(err, os.ErrNotExist) && suffix != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	st, err := store.Open(context.Background(), dst, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newAgentPipe(t *testing.T, start time.Time) *agentPipe {
	t.Helper()
	ctx := context.Background()
	st := seededCopy(t)
	clock := &fakeClock{t: start}
	st.Now = clock.now
	a, err := demo.NewAgents(ctx, st, 12)
	if err != nil {
		t.Fatal(err)
	}
	a.SetClock(clock.now)
	w := ingest.New(st, nil, nil, ingest.Options{})
	t.Cleanup(w.Close)
	return &agentPipe{t: t, st: st, act: actions.New(st, nil, nil), a: a, w: w, clock: clock, per: 10}
}

// run drives the agents for d of fake time. Only the dir-sync events go
// to ingest (the rest is routine traffic); each batch commits before the
// next event is drawn (p.per events a batch).
func (p *agentPipe) run(d time.Duration, each func(mailnet.Event)) {
	p.t.Helper()
	ctx := context.Background()
	end := p.clock.t.Add(d)
	for p.clock.t.Before(end) {
		ev := p.a.Next(ctx)
		p.clock.t = p.clock.t.Add(eventGap)
		if each != nil {
			each(ev)
		}
		if _, ok := dirsync.ReadEvidence(ev); !ok && ev.EventID != 220 && ev.EventID != 221 {
			continue
		}
		id := int64(ev.EventID)
		p.batch = append(p.batch, ingest.Input{Server: ev.Server, Source: ev.Source, EventID: &id, Category: ev.Category,
			Severity: ev.Severity, Description: ev.Description, Subject: ev.Subject, Fields: ev.Fields,
			Time: ev.Time.UTC().Format(time.RFC3339Nano)})
		if len(p.batch) >= p.per {
			p.flush()
		}
	}
	p.flush()
}

func (p *agentPipe) flush() {
	p.t.Helper()
	if len(p.batch) == 0 {
		return
	}
	items, err := ingest.Validate(p.batch, p.clock.t)
	if err != nil {
		p.t.Fatalf("validate: %v", err)
	}
	if _, err := p.w.Submit(context.Background(), items); err != nil {
		p.t.Fatalf("submit: %v", err)
	}
	p.batch = p.batch[:0]
}

func (p *agentPipe) requestorID(addr string) int64 {
	p.t.Helper()
	reqs, err := p.st.Requestors(context.Background(), store.RequestorFilter{})
	if err != nil {
		p.t.Fatal(err)
	}
	for _, q := range reqs {
		if q.Address() == addr {
			return q.ID
		}
	}
	p.t.Fatalf("no requestor %s", addr)
	return 0
}

func parseAt(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return at
}

// TestAgentsShowcaseEveryAnomalyAndItsResolution: over an hour, at serve's
// default rate, the showcase requestor opens each anomaly kind in its own
// slot of the hour and a later clean cycle resolves it (R20's finding
// waits for an acknowledgement, and its full export follows); no other
// requestor shows any finding.
func TestAgentsShowcaseEveryAnomalyAndItsResolution(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	p := newAgentPipe(t, start)
	p.per = 50 // nothing reads the store's flags here: fewer commits
	p.run(time.Hour, nil)
	show := p.requestorID(demo.ShowcaseRequestor())

	rows, err := p.st.DB().Query(`SELECT coalesce(requestor_id, 0), kind, opened_at, coalesce(resolved_at, ''), resolution FROM dirsync_findings ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	type finding struct {
		opened, resolved time.Time
		resolution       string
	}
	got := map[string][]finding{}
	for rows.Next() {
		var rid int64
		var kind, opened, resolved, resolution string
		if err := rows.Scan(&rid, &kind, &opened, &resolved, &resolution); err != nil {
			t.Fatal(err)
		}
		if rid != show {
			t.Errorf("requestor %d has a %s finding; only the showcase requestor %d should", rid, kind, show)
			continue
		}
		f := finding{opened: parseAt(t, opened), resolution: resolution}
		if resolved != "" {
			f.resolved = parseAt(t, resolved)
		}
		got[kind] = append(got[kind], f)
	}
	rows.Close()
	for k, kind := range demo.ShowcaseKinds() {
		from, to := start.Add(time.Duration(k)*demo.ShowcaseSlot), start.Add(time.Duration(k+1)*demo.ShowcaseSlot)
		fs := got[kind]
		if len(fs) != 1 {
			t.Errorf("%s: %d findings, want 1 (in the slot %s to %s)", kind, len(fs), from.Format("15:04:05"), to.Format("15:04:05"))
			continue
		}
		f := fs[0]
		if f.opened.Before(from) || !f.opened.Before(to) {
			t.Errorf("%s opened at %s, want in its slot %s to %s", kind, f.opened.Format("15:04:05"), from.Format("15:04:05"), to.Format("15:04:05"))
		}
		if kind == dirsync.KindLostMessages {
			// The full export that the 221 announced resolves it, below.
			var full int
			p.st.DB().QueryRow(`SELECT count(*) FROM dirsync_cycles WHERE requestor_id = ? AND full_export = 1 AND at > ? AND at < ?`,
				show, f.opened.Format(store.TimeLayout), to.Format(store.TimeLayout)).Scan(&full)
			if full < 1 {
				t.Errorf("no full export followed the 220 of %s", f.opened.Format("15:04:05"))
			}
		}
		if f.resolved.IsZero() || !f.resolved.Before(to) {
			t.Errorf("%s opened %s, resolved %v (%q): want resolved by a clean cycle within its slot", kind, f.opened.Format("15:04:05"), f.resolved, f.resolution)
		}
	}
	if len(got) != len(demo.ShowcaseKinds()) {
		t.Errorf("finding kinds %v, want exactly %v", keys(got), demo.ShowcaseKinds())
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestAgentsFullExportFollowsEachExportOnNextCycle: Export on Next Cycle
// set by an admin (in bulk, audited) is answered by the DX's next reply,
// a full export, which clears the flag and opens no finding.
func TestAgentsFullExportFollowsEachExportOnNextCycle(t *testing.T) {
	start := time.Date(2026, 12, 1, 9, 3, 0, 0, time.UTC)
	p := newAgentPipe(t, start)
	ctx := mailnet.WithPrincipal(context.Background(), &mailnet.Principal{Name: "demo-test", Role: mailnet.RoleAdmin})
	p.run(2*time.Minute, nil)
	on := true
	targets := []string{"CORPNET/PO-FINANCE", "CORPNET/PO-HR", "EURONET/PO-LONDON"}
	var ids []int64
	for _, a := range targets {
		ids = append(ids, p.requestorID(a))
	}
	if _, err := p.act.SetExportOnNextCycle(ctx, actions.ExportSelection{IDs: ids, Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	setAt := p.clock.t
	p.run(3*time.Minute, nil)
	for i, id := range ids {
		q, err := p.st.RequestorByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if q.ExportOnNextCycle {
			t.Errorf("%s: the flag is still set after 3 minutes of cycles", targets[i])
		}
		var full, before int
		p.st.DB().QueryRow(`SELECT count(*) FROM dirsync_cycles WHERE requestor_id = ? AND kind = 'SrvTx' AND full_export = 1 AND at > ?`, id, setAt.Format(store.TimeLayout)).Scan(&full)
		p.st.DB().QueryRow(`SELECT count(*) FROM dirsync_cycles c WHERE requestor_id = ? AND kind = 'SrvTx' AND at > ? AND full_export = 0
			AND at < (SELECT min(at) FROM dirsync_cycles WHERE requestor_id = c.requestor_id AND full_export = 1 AND at > ?)`,
			id, setAt.Format(store.TimeLayout), setAt.Format(store.TimeLayout)).Scan(&before)
		if full < 1 || before != 0 {
			t.Errorf("%s: %d full exports after the flag, %d ordinary SrvTx before the first; want the next reply to be the full export", targets[i], full, before)
		}
		var cleared int
		p.st.DB().QueryRow(`SELECT count(*) FROM requestor_changes WHERE requestor_id = ? AND field = 'export_on_next_cycle' AND after = 'false'`, id).Scan(&cleared)
		if cleared != 1 {
			t.Errorf("%s: %d recorded clears of the flag, want 1", targets[i], cleared)
		}
	}
	var open int
	p.st.DB().QueryRow(`SELECT count(*) FROM dirsync_findings f JOIN requestors r ON r.id = f.requestor_id
		WHERE r.network || '/' || r.postoffice != ?`, demo.ShowcaseRequestor()).Scan(&open)
	if open != 0 {
		t.Errorf("%d findings outside the showcase after the full exports, want none", open)
	}
}

// TestAgentsPausedDXSendsT2WhereThePauseTriggersIt: the demo does not
// contradict its report. Paused, the Exchange 5.0 DX still sends T2 (the
// pause is what triggers it); on 4.0 it holds T2 until PauseKicksDX=1.
func TestAgentsPausedDXSendsT2WhereThePauseTriggersIt(t *testing.T) {
	start := time.Date(2026, 12, 1, 9, 3, 0, 0, time.UTC)
	p := newAgentPipe(t, start)
	ctx := mailnet.WithPrincipal(context.Background(), &mailnet.Principal{Name: "demo-test", Role: mailnet.RoleAdmin})
	dxs, err := p.st.DXServers(ctx)
	if err != nil || len(dxs) != 1 {
		t.Fatalf("dx servers %v %v, want the demo's one", dxs, err)
	}
	dx := dxs[0].ServerID
	count := func() (t1, t2 int) {
		p.run(2*time.Minute, func(ev mailnet.Event) {
			switch {
			case ev.EventID == 4395 && ev.Category == "Moved Out":
				t1++
			case ev.EventID == 4395 && ev.Category == "Sent":
				t2++
			}
		})
		return t1, t2
	}
	if _, err := p.act.UpdateDXServer(ctx, dx, actions.DXPatch{Paused: actions.Some(true)}); err != nil {
		t.Fatal(err)
	}
	if t1, t2 := count(); t1 == 0 || t2 == 0 {
		t.Errorf("paused 5.0 DX: %d T1, %d T2; want both (pausing triggers T2)", t1, t2)
	}
	if _, err := p.act.UpdateServer(ctx, dx, actions.ServerPatch{Version: actions.Some("4.0.837")}); err != nil {
		t.Fatal(err)
	}
	p.run(time.Minute, nil) // the cycles in flight end
	if t1, t2 := count(); t1 == 0 || t2 != 0 {
		t.Errorf("paused 4.0 DX without PauseKicksDX: %d T1, %d T2; want T1 only", t1, t2)
	}
	if _, err := p.act.UpdateDXServer(ctx, dx, actions.DXPatch{PauseKicksDX: actions.Some(true)}); err != nil {
		t.Fatal(err)
	}
	if t1, t2 := count(); t1 == 0 || t2 == 0 {
		t.Errorf("paused 4.0 DX with PauseKicksDX=1: %d T1, %d T2; want both", t1, t2)
	}
}
