package actions_test

import (
	"testing"

	"mailnet/internal/actions"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// dirsyncNet is a DX on an Exchange server and three requestors, two in
// CORPNET and one in EURONET.
func dirsyncNet(t *testing.T) (*actions.Actions, int64, []mailnet.Requestor) {
	t.Helper()
	a, _ := newInvActions(t)
	site, err := a.CreateSite(invCtx, actions.SiteInput{Name: "HQ"})
	if err != nil {
		t.Fatal(err)
	}
	dx, err := a.CreateServer(invCtx, actions.ServerInput{Name: "EXDX", SiteID: site.ID, Kind: "exchange", Version: "5.0", Serial: "1"})
	if err != nil {
		t.Fatal(err)
	}
	var reqs []mailnet.Requestor
	for _, np := range [][2]string{{"CORPNET", "PO1"}, {"CORPNET", "PO2"}, {"EURONET", "PO3"}} {
		r, err := a.CreateRequestor(invCtx, actions.RequestorInput{Network: np[0], Postoffice: np[1], DXServerID: dx.Server.ID})
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, r)
	}
	return a, dx.Server.ID, reqs
}

func TestExportOnNextCyclePreviewThenApply(t *testing.T) {
	a, _, _ := dirsyncNet(t)
	on := true
	sel := actions.ExportSelection{Network: "CORPNET", Enabled: &on}
	audits := invCount(t, a, `SELECT count(*) FROM audit`)
	plan, err := a.PlanExportOnNextCycle(invCtx, sel)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Rows) != 2 || plan.Changes != 2 || plan.PlanID == "" || plan.Applied {
		t.Fatalf("preview %+v, want two changes and a plan id", plan)
	}
	if n := invCount(t, a, `SELECT count(*) FROM requestors WHERE export_on_next_cycle = 1`); n != 0 {
		t.Fatalf("the preview set %d flags", n)
	}
	if n := invCount(t, a, `SELECT count(*) FROM audit`); n != audits {
		t.Fatalf("the preview wrote %d audit rows", n-audits)
	}
	sel.PlanID = plan.PlanID
	res, err := a.ApplyExportOnNextCycle(invCtx, sel)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Applied || res.Rows[0].Result != "set" || res.Rows[1].Result != "set" {
		t.Fatalf("result %+v, want both set", res)
	}
	if n := invCount(t, a, `SELECT count(*) FROM requestors WHERE export_on_next_cycle = 1 AND export_set_at IS NOT NULL`); n != 2 {
		t.Errorf("%d flags set with their time, want 2", n)
	}
	if n := invCount(t, a, `SELECT count(*) FROM audit WHERE action = 'requestor.export_on_next_cycle'`); n != 2 {
		t.Errorf("%d audit rows, want one per change", n)
	}
	// The same plan again: the flags changed, so the plan is stale.
	_, err = a.ApplyExportOnNextCycle(invCtx, sel)
	if e, ok := mailnet.AsError(err); !ok || e.Kind != mailnet.KindConflict || e.Field != "plan_id" {
		t.Errorf("stale plan: %v, want a conflict on plan_id", err)
	}
}

func TestExportOnNextCycleAllOrNothing(t *testing.T) {
	a, _, reqs := dirsyncNet(t)
	on := true
	_, err := a.ApplyExportOnNextCycle(invCtx, actions.ExportSelection{IDs: []int64{reqs[0].ID, 999}, Enabled: &on})
	if e, ok := mailnet.AsError(err); !ok || e.Field != "ids" {
		t.Fatalf("unknown id: %v, want an error on ids", err)
	}
	if n := invCount(t, a, `SELECT count(*) FROM requestors WHERE export_on_next_cycle = 1`); n != 0 {
		t.Errorf("%d flags set after a failed selection, want none", n)
	}
}

func TestAckFindingNeedsANoteAndIsAudited(t *testing.T) {
	a, _, reqs := dirsyncNet(t)
	err := a.Store.Write(invCtx, func(tx *store.Tx) error {
		_, _, err := tx.OpenDirSyncFinding(invCtx, store.DirSyncFinding{RequestorID: reqs[0].ID, Rule: "R20", Kind: "dxa-lost-messages",
			Severity: "warning", Text: "lost"}, tx.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AckFinding(invCtx, 1, " "); mailnet.ErrorKind(err) != mailnet.KindInvalid {
		t.Fatalf("empty note: %v, want invalid", err)
	}
	f, err := a.AckFinding(invCtx, 1, "queue cleaned per Q164506")
	if err != nil {
		t.Fatal(err)
	}
	if f.Resolution != "acknowledged" || f.AckBy != "inv-test" || f.AckNote != "queue cleaned per Q164506" || f.ResolvedAt == nil {
		t.Errorf("finding %+v, want acknowledged by inv-test with the note", f)
	}
	if n := invCount(t, a, `SELECT count(*) FROM audit WHERE action = 'dirsync.finding.acknowledge' AND detail = 'queue cleaned per Q164506'`); n != 1 {
		t.Errorf("%d audit rows, want 1", n)
	}
	if n := invCount(t, a, `SELECT count(*) FROM requestor_changes WHERE requestor_id = ? AND after = 'acknowledged'`, reqs[0].ID); n != 1 {
		t.Errorf("%d history rows, want 1", n)
	}
	if _, err := a.AckFinding(invCtx, 1, "again"); mailnet.ErrorKind(err) != mailnet.KindConflict {
		t.Errorf("second acknowledge: %v, want a conflict", err)
	}
}

func TestDXPauseKicksAndRuns(t *testing.T) {
	a, dx, reqs := dirsyncNet(t)
	yes := true
	d, err := a.UpdateDXServer(invCtx, dx, actions.DXPatch{PauseKicksDX: actions.Some(yes), CopyAdmin: actions.Some(yes), ForwardToAdmin: actions.Some(yes)})
	if err != nil {
		t.Fatal(err)
	}
	if !d.PauseKicksDX || !d.CopyAdmin || !d.ForwardToAdmin {
		t.Errorf("dx %+v, want the three set", d)
	}
	if _, err := a.StartRun(invCtx, actions.RunInput{Network: "CORPNET", Drive: "mm"}); mailnet.ErrorKind(err) != mailnet.KindInvalid {
		t.Errorf("drive mm: %v, want invalid", err)
	}
	run, err := a.StartRun(invCtx, actions.RunInput{Network: "CORPNET", Drive: "m:"})
	if err != nil {
		t.Fatal(err)
	}
	if run.Drive != "M" || len(run.RequestorIDs) != 2 || run.RequestorIDs[0] != reqs[0].ID || run.StartedBy != "inv-test" || run.Outcome != "running" {
		t.Errorf("run %+v", run)
	}
	done, err := a.FinishRun(invCtx, run.ID, "completed", "all ticks in")
	if err != nil || done.Outcome != "completed" || done.FinishedAt == nil {
		t.Fatalf("finish: %+v %v", done, err)
	}
	runs, err := a.Store.DirSyncRuns(invCtx, 10)
	if err != nil || len(runs) != 1 || runs[0].Outcome != "completed" {
		t.Errorf("runs %+v %v", runs, err)
	}
}
