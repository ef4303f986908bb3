package dirsync

import (
	"strings"
	"testing"
	"time"

	"mailnet/internal/mailnet"
)

// hasQuote fails unless the finding is the rule's and quotes the article.
func hasQuote(t *testing.T, f *Finding, rule, kind, source, quote string) {
	t.Helper()
	if f == nil {
		t.Fatalf("no %s finding", rule)
	}
	if f.Rule != rule || f.Kind != kind || !strings.Contains(f.Source, source) {
		t.Errorf("got %s %s (%s), want %s %s (%s)", f.Rule, f.Kind, f.Source, rule, kind, source)
	}
	if !strings.Contains(f.Cause+" "+f.Fix+" "+f.Text, quote) {
		t.Errorf("%s does not quote %q: cause %q fix %q", rule, quote, f.Cause, f.Fix)
	}
	if f.Text == "" || f.Fix == "" {
		t.Errorf("%s lacks text or fix: %+v", rule, f)
	}
}

// R15 (5) as Q152231 has it: "DXA-Svr-Seq ... Cumulative total of number
// of transactions sent by the server to the one requestor", so a normal
// SrvTx raises S by exactly ## sent. The seed's and the demo's cycles
// obey it; Q162841's full export is exempt.
func TestApplyR15_5ServerSeqCountsWhatWasSent(t *testing.T) {
	out := Apply(synced(), mustParse(t, "SrvTx R=11 S=30 (was 17), I=3 1 sent"), t0.Add(time.Hour))
	var f *Finding
	for i := range out.Found {
		if out.Found[i].Kind == KindSyncMismatch {
			f = &out.Found[i]
		}
	}
	hasQuote(t, f, "R15(5)", KindSyncMismatch, "Q152231", "Cumulative total of number of transactions sent by the server to the one requestor")
	clean := Apply(synced(), mustParse(t, "SrvTx R=11 S=30 (was 17), I=3 13 sent"), t0.Add(time.Hour))
	if len(clean.Found) != 0 || !contains(clean.Checked, KindSyncMismatch) {
		t.Errorf("S - s = ## sent: findings %q, checked %q", kinds(clean.Found), clean.Checked)
	}
	full := State{Requestor: mailnet.Requestor{Network: "ANZAUDCU", Postoffice: "MEL227TRK0", RequestorSync: 3, ServerSync: 40, Imports: 1,
		LastReqTx: "ReqTx R=3 (was 2), S=40, I=2, 1 sent.", LastReqTxAt: t0, LastSrvTx: "SrvTx R=2 S=40 (was 39), I=1 1 sent", LastSrvTxAt: t0}}
	if out := Apply(full, mustParse(t, "SrvTx R=3 S=87298 (was 0), I=2 15603 sen"), t0.Add(time.Hour)); len(out.Found) != 0 {
		t.Errorf("Q162841's full export: %q", kinds(out.Found))
	}
}

func TestUpdatesIgnoredR15_6(t *testing.T) {
	changed := t0
	hasQuote(t, UpdatesIgnored("NET/PO", changed, 2, 0), "R15(6)", KindUpdatesIgnored, "Q119452", "No requestor updates to send")
	if f := UpdatesIgnored("NET/PO", changed, 1, 0); f != nil {
		t.Errorf("one ReqTx with 0 sent is one cycle, not 2+: %+v", f)
	}
	if f := UpdatesIgnored("NET/PO", changed, 3, 4); f != nil {
		t.Errorf("a ReqTx since the change sent updates: %+v", f)
	}
	if f := UpdatesIgnored("NET/PO", time.Time{}, 5, 0); f != nil {
		t.Errorf("no local change: %+v", f)
	}
}

func TestInactiveBeyondKeepR17b(t *testing.T) {
	keep := 7
	now := t0.Add(8 * 24 * time.Hour)
	hasQuote(t, InactiveBeyondKeep("NET/PO", t0, now, &keep), "R17(b)", KindInactiveBeyondKeep, "Q108067",
		"does not participate in directory synchronization (Dir-Sync) for a period greater than the Keep Updates time")
	if f := InactiveBeyondKeep("NET/PO", t0, t0.Add(6*24*time.Hour), &keep); f != nil {
		t.Errorf("inside Keep Updates: %+v", f)
	}
	if f := InactiveBeyondKeep("NET/PO", t0, now, nil); f != nil {
		t.Errorf("Keep Updates unknown: %+v", f)
	}
}

// Q108067's DIRSYNC.LOG errors, for Mail 3.2/3.5 and for 3.0/3.0b.
func TestRuleEventsR17bPurgedUpdates(t *testing.T) {
	for _, desc := range []string{
		"Error [ ] PCM:Net/PO\nError [138] Server sync does not exist anymore (0)\nError [139] Number of missing transactions = 1300 (0->1299)",
		"Warning [ 4] Error reading file: MSTTRANS\nError [ 129] Could not find the specified sync number PCM:Net/PO",
	} {
		re, ok := ReadRuleEvent(mailnet.Event{Server: "SERVERPO", EventID: 0, Source: "DIRSYNC.LOG", Description: desc}, nil)
		if !ok {
			t.Fatalf("%q: not read", desc)
		}
		if re.Name != "Net/PO" {
			t.Errorf("%q: requestor %q, want Net/PO", desc, re.Name)
		}
		hasQuote(t, re.Finding, "R17(b)", KindInactiveBeyondKeep, "Q108067", "greater than the Keep Updates time")
	}
	if _, ok := ReadRuleEvent(mailnet.Event{EventID: 4000, Description: "event 4000 on EXCH1"}, nil); ok {
		t.Errorf("an ordinary event read as a rule event")
	}
}

// A full export (the Import Reply the fix asks for) resolves R17 (b).
func TestApplyFullExportChecksR17b(t *testing.T) {
	st := synced()
	st.ExportOnNextCycle, st.ExportSetAt = true, t0
	out := Apply(st, mustParse(t, "SrvTx R=11 S=87298 (was 0), I=3 15603 sent"), t0.Add(time.Hour))
	if !out.FullExport || !contains(out.Checked, KindInactiveBeyondKeep) {
		t.Errorf("full export %v, checked %q", out.FullExport, out.Checked)
	}
	if out := Apply(synced(), mustParse(t, "SrvTx R=11 S=18 (was 17), I=3 1 sent"), t0.Add(time.Hour)); contains(out.Checked, KindInactiveBeyondKeep) {
		t.Errorf("an ordinary SrvTx resolves R17(b)")
	}
}

func TestContainerAddedR19b(t *testing.T) {
	changed := t0
	for _, v := range []string{"4.0", "5.0"} {
		hasQuote(t, ContainerAdded("NET/PO", v, &changed, false, false), "R19(b)", KindContainerAdded, "Q166154",
			"treating the new recipients container as if it had always been in the list of export containers")
	}
	if f := ContainerAdded("NET/PO", "5.0", &changed, false, false); !strings.Contains(f.Fix, "select the Export on Next Cycle checkbox") {
		t.Errorf("fix %q does not give the article's workaround", f.Fix)
	}
	for name, f := range map[string]*Finding{
		"5.5 has no defect":         ContainerAdded("NET/PO", "5.5", &changed, false, false),
		"5.0 with its service pack": ContainerAdded("NET/PO", "5.0 SP1", &changed, false, false),
		"Export on Next Cycle set":  ContainerAdded("NET/PO", "4.0", &changed, true, false),
		"full export since":         ContainerAdded("NET/PO", "4.0", &changed, false, true),
		"containers never changed":  ContainerAdded("NET/PO", "4.0", nil, false, false),
	} {
		if f != nil {
			t.Errorf("%s: %+v", name, f)
		}
	}
}

func TestImportedShrankR19c(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	hasQuote(t, ImportedShrank("NET/PO", n(1000), n(850)), "R19(c)", KindImportedShrank, "Q152424", "drop custom recipients from its Global Address List")
	if f := ImportedShrank("NET/PO", n(1000), n(950)); f != nil {
		t.Errorf("5%% fewer: %+v", f)
	}
	if f := ImportedShrank("NET/PO", nil, n(10)); f != nil {
		t.Errorf("first snapshot: %+v", f)
	}
	if f := ImportedShrank("NET/PO", n(1000), n(850)); !strings.Contains(f.Fix, "select the Import on Next Cycle checkbox") {
		t.Errorf("fix %q", f.Fix)
	}
}

func TestDuplicateSystemCRR21a(t *testing.T) {
	crs := []SystemCR{{SiteID: 1, Site: "HQ"}, {SiteID: 2, Site: "Branch", Hidden: true}}
	f := DuplicateSystemCR("NEWTORK/POSTOFFICE", crs, 1)
	hasQuote(t, f, "R21(a)", KindDuplicateSystemCR, "Q147084", "the CR was created for the $SYSTEM account in two separate sites before those sites replicated")
	if !strings.Contains(f.Fix, "Branch (hidden)") || strings.Contains(f.Fix, "HQ") {
		t.Errorf("fix %q should name the CR in the site not running the DirSync process", f.Fix)
	}
	if f := DuplicateSystemCR("NET/PO", crs[:1], 1); f != nil {
		t.Errorf("one CR: %+v", f)
	}
}

func TestRequestorConflictsR21b(t *testing.T) {
	got := RequestorConflicts([]ExchangeRequestor{
		{ServerID: 1, Server: "EXCH1", Site: "HQ", Target: "NET/DSSERVER"},
		{ServerID: 2, Server: "EXCH2", Site: "Branch", Target: "net/dsserver"},
		{ServerID: 3, Server: "EXCH3", Site: "HQ", Target: "OTHER/PO"},
	})
	if len(got) != 1 {
		t.Fatalf("findings %+v, want one for NET/DSSERVER", got)
	}
	hasQuote(t, &got[0], "R21(b)", KindRequestorConflict, "Q201084", "Error occurred while processing email address C1030B35")
	if !strings.Contains(got[0].Fix, "only one dirsync requestor to the same dirsync server in an Organization") ||
		!strings.Contains(got[0].Text, "EXCH1") || !strings.Contains(got[0].Text, "EXCH2") {
		t.Errorf("finding %+v", got[0])
	}
}
