package demo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"mailnet/internal/demo"
	"mailnet/internal/tracking"
)

// TestTrackingScenarioOnTheSeedNetwork: the demo's tracked mail, on the
// seeded network, gives the traces the demo promises: the message held
// by the 9301 storm links to the X.400 finding, the hop through a server
// without tracking is a gap naming it, one NDR, mail leaving for a
// foreign system, the Q99393 recipient, and ordinary traffic delivered.
func TestTrackingScenarioOnTheSeedNetwork(t *testing.T) {
	st, _ := seeded(t)
	ctx := context.Background()
	tk := tracking.NewSQLite(st, tracking.Options{})
	t.Cleanup(func() { tk.Close() })
	now := st.Now()
	if _, err := tk.Submit(ctx, demo.TrackingScenario(now)); err != nil {
		t.Fatal(err)
	}
	traffic, err := demo.NewTrackingTraffic(ctx, st, 7)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 20 {
		recs := traffic.Next(now.Add(-time.Hour))
		ids = append(ids, recs[0].MessageID)
		if _, err := tk.Submit(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	ev, err := tracking.LoadEvidence(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	trace := func(n int) (tracking.Trace, []tracking.Finding) {
		t.Helper()
		tr, err := tk.Trace(ctx, "<demo."+string(rune('0'+n))+"@mailnet.example>")
		if err != nil {
			t.Fatal(err)
		}
		return tr, ev.Findings(tr)
	}
	tr, fs := trace(1)
	if tr.State != tracking.StateDelivered || tr.SlowHop < 0 || len(fs) == 0 || fs[0].Kind != "x400" || !strings.HasPrefix(fs[0].Link, "/x400?server_id=") {
		t.Errorf("9301 storm message: %s, slow hop %d, findings %+v", tr.State, tr.SlowHop, fs)
	}
	tr, _ = trace(3)
	if tr.State != tracking.StatePartial || len(tr.Gaps) != 1 || !strings.Contains(tr.Gaps[0].Reason, "tracking is not enabled on MTA EXCH-DAL-02") {
		t.Errorf("tracking-disabled hop: %s %+v", tr.State, tr.Gaps)
	}
	if tr, _ = trace(4); tr.State != tracking.StateFailed {
		t.Errorf("NDR message: %s", tr.State)
	}
	if tr, _ = trace(5); len(tr.Gaps) != 1 || tr.Gaps[0].Kind != tracking.GapLeftNetwork {
		t.Errorf("foreign system: %+v", tr.Gaps)
	}
	if _, fs = trace(6); len(fs) != 1 || fs[0].Kind != "duplicate_serial" {
		t.Errorf("Q99393 recipient: findings %+v", fs)
	}
	if _, fs = trace(7); len(fs) != 1 || fs[0].Kind != "dirsync" {
		t.Errorf("dir-sync ReqTx: findings %+v", fs)
	}
	delivered := 0
	for _, id := range ids {
		tr, err := tk.Trace(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if tr.State == tracking.StateDelivered && tr.Complete {
			delivered++
		}
	}
	if delivered < 15 {
		t.Errorf("%d of 20 ordinary messages delivered and complete, want most", delivered)
	}
}
