package dirsync

import (
	"testing"
	"time"

	"mailnet/internal/mailnet"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func mustParse(t *testing.T, s string) Tx {
	t.Helper()
	tx, ok := Parse(s)
	if !ok {
		t.Fatalf("Parse(%q) failed", s)
	}
	return tx
}

// synced is a requestor after a completed cycle: ReqTx R=11, SrvTx S=17.
func synced() State {
	return State{Requestor: mailnet.Requestor{Network: "NET", Postoffice: "PO", RequestorSync: 11, ServerSync: 17, Imports: 3,
		LastReqTx: "ReqTx R=11 (was 10), S=16, I=3, 1 sent.", LastReqTxAt: t0,
		LastSrvTx: "SrvTx R=11 S=17 (was 16), I=3 1 sent", LastSrvTxAt: t0.Add(time.Minute)}}
}

func kinds(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule+" "+f.Kind)
	}
	return out
}

func TestApplyRules(t *testing.T) {
	at := t0.Add(time.Hour)
	tests := []struct {
		name    string
		st      State
		subject string
		want    []string // rule + kind of each finding
		r, s, i int64
	}{
		{"clean reqtx obeys x=y+z", synced(), "ReqTx R=12 (was 11), S=17, I=3, 1 sent.", nil, 12, 17, 3},
		{"R15(1) reqtx breaks x=y+z", synced(), "ReqTx R=12 (was 11), S=17, I=3, 25 sent.", []string{"R15(1) " + KindReqTxInconsistent}, 12, 17, 3},
		{"R17(a) requestor S above the server", synced(), "ReqTx R=12 (was 11), S=80, I=3, 1 sent.", []string{"R17(a) " + KindServerBehind}, 12, 17, 3},
		{"clean srvtx", synced(), "SrvTx R=11 S=18 (was 17), I=3 1 sent", nil, 11, 18, 3},
		{"R15(3) srvtx acknowledges an older R", synced(), "SrvTx R=10 S=18 (was 17), I=3 1 sent", []string{"R15(3) " + KindMissedReqTx}, 11, 18, 3},
		{"R16 import count below the requestor's", synced(), "SrvTx R=11 S=18 (was 17), I=0 1 sent", []string{"R16 " + KindImportRegression}, 11, 18, 3},
		{"R15(4) sent exceeds S-s", synced(), "SrvTx R=11 S=18 (was 17), I=3 40 sent", []string{"R15(4) " + KindSentExceeds}, 11, 18, 3},
		{"R15 skip", synced(), "SrvTx R=11 S=20 (was 19), I=3 1 sent", []string{"R15 " + KindSrvSkip}, 11, 20, 3},
		{"R17(a) server sync went back", synced(), "SrvTx R=11 S=15 (was 14), I=3 1 sent", []string{"R17(a) " + KindSrvSkip}, 11, 15, 3},
		// Q162841's full export: "(was 0)", I raised, many updates. No skip, no R15(4).
		{"full export is no anomaly", State{Requestor: mailnet.Requestor{Network: "ANZAUDCU", Postoffice: "MEL227TRK0", RequestorSync: 3, ServerSync: 40, Imports: 1,
			LastReqTx: "ReqTx R=3 (was 2), S=40, I=2, 1 sent.", LastReqTxAt: t0, LastSrvTx: "SrvTx R=2 S=40 (was 39), I=1 1 sent", LastSrvTxAt: t0}},
			"SrvTx R=3 S=87298 (was 0), I=2 15603 sen", nil, 3, 87298, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := Apply(tt.st, mustParse(t, tt.subject), at)
			got := kinds(out.Found)
			if len(got) != len(tt.want) {
				t.Fatalf("findings %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("finding %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
			r := out.State.Requestor
			if r.RequestorSync != tt.r || r.ServerSync != tt.s || r.Imports != tt.i {
				t.Errorf("R, S, I = %d, %d, %d, want %d, %d, %d", r.RequestorSync, r.ServerSync, r.Imports, tt.r, tt.s, tt.i)
			}
		})
	}
}

func TestApplyReqSyncExceedsSrvSync(t *testing.T) {
	st := synced()
	st.RequestorSync = 19
	out := Apply(st, mustParse(t, "SrvTx R=19 S=18 (was 17), I=3 1 sent"), t0.Add(time.Hour))
	if got := kinds(out.Found); len(got) != 1 || got[0] != "R15(2) "+KindReqSyncExceeds {
		t.Fatalf("findings %q, want R15(2)", got)
	}
}

func TestApplyFullExportAfterExportOnNextCycle(t *testing.T) {
	st := synced()
	st.ExportOnNextCycle, st.ExportSetAt = true, t0.Add(30*time.Minute)
	out := Apply(st, mustParse(t, "SrvTx R=11 S=87298 (was 0), I=3 15603 sent"), t0.Add(time.Hour))
	if !out.FullExport || len(out.Found) != 0 {
		t.Fatalf("full export %v, findings %q; want a full export and no finding", out.FullExport, kinds(out.Found))
	}
	if !out.FlagCleared || out.State.ExportOnNextCycle {
		t.Errorf("flag cleared %v, still set %v; want it cleared", out.FlagCleared, out.State.ExportOnNextCycle)
	}
}

func TestApplyFlagClearsOnlyAfterItWasSet(t *testing.T) {
	st := synced()
	st.LastSrvTxAt = time.Time{}
	st.ExportOnNextCycle, st.ExportSetAt = true, t0.Add(3*time.Hour)
	// A SrvTx logged 170 minutes before the flag was set.
	out := Apply(st, mustParse(t, "SrvTx R=11 S=18 (was 17), I=3 1 sent"), t0.Add(10*time.Minute))
	if out.FlagCleared || !out.State.ExportOnNextCycle {
		t.Fatalf("a SrvTx logged before the flag was set cleared it")
	}
	// The next SrvTx after the flag clears it.
	out = Apply(out.State, mustParse(t, "SrvTx R=11 S=19 (was 18), I=3 1 sent"), t0.Add(4*time.Hour))
	if !out.FlagCleared || out.State.ExportOnNextCycle {
		t.Fatalf("the first SrvTx after the flag did not clear it")
	}
}

func TestApplyLateEventChangesNothing(t *testing.T) {
	st := synced()
	st.ExportOnNextCycle = true
	out := Apply(st, mustParse(t, "SrvTx R=11 S=19 (was 18), I=3 1 sent"), t0.Add(-time.Hour))
	if !out.Late || out.State.ServerSync != 17 || !out.State.ExportOnNextCycle {
		t.Fatalf("late SrvTx: late %v S %d flag %v; want late, S 17, flag kept", out.Late, out.State.ServerSync, out.State.ExportOnNextCycle)
	}
}

func TestApplyBaseline(t *testing.T) {
	st := State{Requestor: mailnet.Requestor{Network: "NET", Postoffice: "NEW"}}
	out := Apply(st, mustParse(t, "ReqTx R=8 (was 7), S=9, I=2, 1 sent."), t0)
	if !out.Baseline || out.State.ServerSync != 9 || out.State.RequestorSync != 8 || out.State.Imports != 2 {
		t.Fatalf("first ReqTx: %+v", out.State.Requestor)
	}
	out = Apply(out.State, mustParse(t, "SrvTx R=8 S=10 (was 9), I=2 1 sent"), t0.Add(time.Minute))
	if len(out.Found) != 0 {
		t.Fatalf("the ordinary SrvTx after a new requestor's first ReqTx gave %q; want no false skip", kinds(out.Found))
	}
}

func TestApplyR18Unconfirmed(t *testing.T) {
	st := synced()
	out := Apply(st, mustParse(t, "ReqTx R=12 (was 11), S=16, I=3, 1 sent."), t0.Add(time.Hour))
	if len(out.Found) != 0 {
		t.Fatalf("one T1 behind is not yet R18: %q", kinds(out.Found))
	}
	out = Apply(out.State, mustParse(t, "ReqTx R=13 (was 12), S=16, I=3, 1 sent."), t0.Add(2*time.Hour))
	if got := kinds(out.Found); len(got) != 1 || got[0] != "R18 "+KindUnconfirmed {
		t.Fatalf("two T1s behind: %q, want R18", got)
	}
	out = Apply(out.State, mustParse(t, "ReqTx R=14 (was 13), S=17, I=3, 1 sent."), t0.Add(3*time.Hour))
	if len(out.Found) != 0 || !contains(out.Checked, KindUnconfirmed) {
		t.Fatalf("confirmed again: found %q checked %q; want R18 checked and gone", kinds(out.Found), out.Checked)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func TestApplySameMessageOnTheOtherSide(t *testing.T) {
	st := synced()
	out := Apply(st, mustParse(t, "SrvTx R=11 S=18 (was 17), I=3 1 sent"), t0.Add(time.Hour))
	// 4355 Moved In on the postoffice carries the SrvTx the DX logged as 4395 Sent.
	again := Apply(out.State, mustParse(t, "SrvTx R=11 S=18 (was 17), I=3 1 sent"), t0.Add(time.Hour+time.Minute))
	if !again.Again || len(again.Found) != 0 || again.State.ServerSync != 18 {
		t.Fatalf("second copy: again %v findings %q S %d; want it recognised and ignored", again.Again, kinds(again.Found), again.State.ServerSync)
	}
}
