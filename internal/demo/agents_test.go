package demo_test

import (
	"context"
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
	for range agentSteps {
		ev := a.Next(ctx)
		if ev.Subject == "" {
			continue
		}
		tx, ok := dirsync.Parse(ev.Subject)
		if !ok {
			t.Fatalf("event %d on %s: subject %q does not parse", ev.EventID, ev.Server, ev.Subject)
		}
		cur, isReq := state[ev.Server]
		if !isReq {
			continue // the DX's copy of the same subject
		}
		next, anomalies := dirsync.Apply(cur, tx)
		if len(anomalies) > 0 {
			t.Fatalf("%s %q: anomalies %v (state R=%d S=%d I=%d)", ev.Server, ev.Subject, anomalies, cur.RequestorSync, cur.ServerSync, cur.Imports)
		}
		switch tx.Kind {
		case dirsync.ReqTx:
			if tx.R != cur.RequestorSync+1 || ev.EventID != 4395 || ev.Category != "Moved Out" {
				t.Errorf("%s ReqTx: got R=%d as %d %s, want R=%d as 4395 Moved Out", ev.Server, tx.R, ev.EventID, ev.Category, cur.RequestorSync+1)
			}
		case dirsync.SrvTx:
			if tx.S != cur.ServerSync+1 || ev.EventID != 4355 || ev.Category != "Moved In" {
				t.Errorf("%s SrvTx: got S=%d as %d %s, want S=%d as 4355 Moved In", ev.Server, tx.S, ev.EventID, ev.Category, cur.ServerSync+1)
			}
			cycles[ev.Server]++
		}
		if ev.Fields["from"] == "" || ev.Fields["to"] == "" {
			t.Errorf("%s %d: fields %v, want FROM and TO", ev.Server, ev.EventID, ev.Fields)
		}
		state[ev.Server] = next
	}
	for _, addr := range driven {
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
