package demo_test

import (
	"context"
	"strings"
	"testing"

	"mailnet/internal/demo"
	"mailnet/internal/dirsync"
	"mailnet/internal/mailnet"
	"mailnet/internal/mta"
	"mailnet/internal/store"
)

// agentSteps bounds the run: enough for several cycles per requestor and
// a couple of hundred attempts from the multihomed server.
const agentSteps = 4000

func TestAgentsDirSyncCyclesAdvanceWithoutAnomalies(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	if _, err := demo.Seed(ctx, st); err != nil {
		t.Fatalf("seed: %v", err)
	}
	a, err := demo.NewAgents(ctx, st, 1)
	if err != nil {
		t.Fatalf("agents: %v", err)
	}
	reqs, err := st.Requestors(ctx, store.RequestorFilter{})
	if err != nil {
		t.Fatal(err)
	}
	state := map[string]mailnet.Requestor{}
	for _, q := range reqs {
		state[q.Address()] = q
	}
	driven := a.Requestors()
	if len(driven) == 0 || len(driven) >= len(reqs) {
		t.Fatalf("driven requestors: got %d of %d, want all but the silent one", len(driven), len(reqs))
	}
	cycles := map[string]int{}
	reports := map[string]int{}
	for range agentSteps {
		ev := a.Next(ctx)
		if addr, ok := strings.CutPrefix(ev.Subject, "Status report from "); ok {
			reports[addr]++
			continue
		}
		if ev.Subject == "" || strings.Contains(ev.Fields["to"]+ev.Fields["from"], demo.ShowcaseRequestor()) {
			continue // the showcase requestor's anomalies are on purpose (TestAgentsShowcase...)
		}
		tx, ok := dirsync.Parse(ev.Subject)
		if !ok {
			t.Fatalf("event %d on %s: subject %q does not parse", ev.EventID, ev.Server, ev.Subject)
		}
		cur, isReq := state[ev.Server]
		if !isReq {
			continue // the DX's copy of the same subject
		}
		out := dirsync.Apply(dirsync.State{Requestor: cur}, tx, ev.Time)
		if len(out.Found) > 0 {
			t.Fatalf("%s %q: findings %+v (state R=%d S=%d I=%d)", ev.Server, ev.Subject, out.Found, cur.RequestorSync, cur.ServerSync, cur.Imports)
		}
		if tx.Kind == dirsync.SrvTx && tx.R > tx.S {
			t.Errorf("%s %q: R > S breaks Q96060's easy test", ev.Server, ev.Subject)
		}
		switch tx.Kind {
		case dirsync.ReqTx:
			// x = y + z (Q133428), continuing from the last R.
			if tx.R-tx.WasR != tx.Sent || tx.WasR != cur.RequestorSync || ev.EventID != 4395 || ev.Category != "Moved Out" {
				t.Errorf("%s %q as %d %s: want R = was + sent from R=%d, as 4395 Moved Out", ev.Server, ev.Subject, ev.EventID, ev.Category, cur.RequestorSync)
			}
		case dirsync.SrvTx:
			if out.FullExport != (tx.WasS == 0) || (!out.FullExport && tx.WasS != cur.ServerSync) || ev.EventID != 4355 || ev.Category != "Moved In" {
				t.Errorf("%s %q as %d %s: want (was %d) or a full export, as 4355 Moved In", ev.Server, ev.Subject, ev.EventID, ev.Category, cur.ServerSync)
			}
			cycles[ev.Server]++
		}
		if ev.Fields["from"] == "" || ev.Fields["to"] == "" {
			t.Errorf("%s %d: fields %v, want FROM and TO", ev.Server, ev.EventID, ev.Fields)
		}
		state[ev.Server] = out.State.Requestor
	}
	for _, addr := range driven {
		if reports[addr] < 2 {
			t.Errorf("%s: got %d status reports, want one per T1", addr, reports[addr])
		}
		if addr == demo.ShowcaseRequestor() {
			continue
		}
		if cycles[addr] < 2 {
			t.Errorf("%s: got %d complete cycles, want at least 2", addr, cycles[addr])
		}
	}
}

func TestAgents9301AboutHalfOfMultihomedAttempts(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	sum, err := demo.Seed(ctx, st)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	a, err := demo.NewAgents(ctx, st, 7)
	if err != nil {
		t.Fatalf("agents: %v", err)
	}
	attempts, refused := 0, 0
	for range agentSteps {
		at := a.Attempt()
		if at.To != sum.RemoteServer || at.From != sum.MultihomedServer {
			continue
		}
		attempts++
		if !at.Refused {
			continue
		}
		refused++
		ev := at.Event
		g, err := mta.Parse9301(ev.Description)
		if err != nil || g.Caller() != sum.MultihomedAddresses[1] || g.Server != sum.RemoteServer {
			t.Errorf("9301 %q reads as %+v %v, want caller %s at %s", ev.Description, g, err, sum.MultihomedAddresses[1], sum.RemoteServer)
		}
		if ev.EventID != 9301 || ev.Severity != mailnet.SeverityWarning || ev.Server != sum.RemoteServer {
			t.Errorf("event %d %q on %s, want a 9301 warning on %s", ev.EventID, ev.Severity, ev.Server, sum.RemoteServer)
		}
	}
	if attempts < 100 {
		t.Fatalf("got %d attempts from %s, want at least 100", attempts, sum.MultihomedServer)
	}
	ratio := float64(refused) / float64(attempts)
	if ratio < 0.38 || ratio > 0.62 {
		t.Errorf("9301 on %d of %d attempts (%.2f), want about half", refused, attempts, ratio)
	}
}
