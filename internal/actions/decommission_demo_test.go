package actions_test

import (
	"context"
	"path/filepath"
	"testing"

	"mailnet/internal/actions"
	"mailnet/internal/demo"
	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"mailnet/internal/store"
)

// TestQ99393ResolutionKeepsEveryRoute walks Q99393's resolution on the
// demo network: move the users off the servers to remove, then
// decommission them with their relayed routes re-homed. Every pair of
// remaining servers whose configured routing worked (setting the
// duplicate aside) still reaches each other, and no routing gap is left.
func TestQ99393ResolutionKeepsEveryRoute(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "demo.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := demo.Seed(ctx, st); err != nil {
		t.Fatalf("seed: %v", err)
	}
	a := actions.New(st, nil, nil)

	servers, routes := load(t, st)
	before := reports.NewReachability(servers, routes, reports.Conflicts{}) // as configured, the duplicate aside
	if gaps := reports.FindGaps(servers, routes, reports.FindConflicts(servers)); len(gaps) == 0 {
		t.Fatalf("before: no routing gaps, want those of the duplicate serial")
	}

	groups, err := reports.Duplicates(ctx, st)
	if err != nil || len(groups) != 1 {
		t.Fatalf("duplicate groups: %d (%v), want 1", len(groups), err)
	}
	rec := groups[0].Recommendation
	if rec.TargetServerID == 0 || len(rec.RemoveServerIDs) == 0 {
		t.Fatalf("recommendation: %+v", rec)
	}
	for _, from := range rec.MoveFromServerIDs {
		j, err := a.StartMove(adminCtx, actions.MoveRequest{FromServerID: from, ToServerID: rec.TargetServerID, All: true})
		if err != nil {
			t.Fatalf("move off %d: %v", from, err)
		}
		if err := a.NewRunner(actions.RunnerOptions{Batch: 500}).RunJob(ctx, j.ID); err != nil {
			t.Fatalf("run job %d: %v", j.ID, err)
		}
		if got, err := st.Job(ctx, j.ID); err != nil || got.Status != mailnet.JobDone {
			t.Fatalf("job %d: %s (%v), want done", j.ID, got.Status, err)
		}
	}
	removed := map[int64]bool{}
	for _, id := range rec.RemoveServerIDs {
		// Without saying how to re-home the routes through it, refused.
		plan, err := st.DecommissionPreview(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Relays) > 0 {
			if _, err := a.Decommission(adminCtx, actions.DecommissionRequest{ServerID: id}); mailnet.ErrorKind(err) != mailnet.KindConflict {
				t.Errorf("decommission %d with %d relayed routes and no reroute: got %v, want a conflict", id, len(plan.Relays), err)
			}
		}
		if _, err := a.Decommission(adminCtx, actions.DecommissionRequest{ServerID: id, Reroute: actions.RerouteDirect, Plan: plan.ID}); err != nil {
			t.Fatalf("decommission %d: %v", id, err)
		}
		removed[id] = true
	}

	servers, routes = load(t, st)
	after := reports.NewReachability(servers, routes, reports.FindConflicts(servers))
	pairs := 0
	for _, x := range servers {
		for _, y := range servers {
			if x.ID == y.ID || removed[x.ID] || removed[y.ID] || x.Status != mailnet.StatusRunning || y.Status != mailnet.StatusRunning {
				continue
			}
			if ok, _ := before.HasRoute(x.ID, y.ID); !ok {
				continue
			}
			pairs++
			if ok, why := after.HasRoute(x.ID, y.ID); !ok {
				t.Errorf("%s → %s had a working route and lost it: %s", x.Name, y.Name, why)
			}
		}
	}
	if pairs < 100 {
		t.Errorf("only %d pairs checked; the demo network has more", pairs)
	}
	if gaps := reports.FindGaps(servers, routes, reports.FindConflicts(servers)); len(gaps) != 0 {
		t.Errorf("after: %d routing gaps, want none; first: %+v", len(gaps), gaps[0])
	}
}

func load(t *testing.T, st *store.Store) ([]mailnet.Server, []mailnet.Route) {
	t.Helper()
	servers, err := st.Servers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	routes, err := st.Routes(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return servers, routes
}
