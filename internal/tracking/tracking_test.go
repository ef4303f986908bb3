package tracking_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
	"mailnet/internal/tracking"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func openStore(t *testing.T) (*store.Store, *tracking.SQLite) { return openStoreB(t) }

func openStoreB(t testing.TB) (*store.Store, *tracking.SQLite) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Now = func() time.Time { return t0.Add(time.Hour) }
	tr := tracking.NewSQLite(st, tracking.Options{})
	t.Cleanup(func() { tr.Close(); st.Close() })
	// Inventory: EXA, EXB (tracking), MTAX (no tracking).
	ctx := context.Background()
	if err := st.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sites (id, name, name_key, created_at) VALUES (1, 'HQ', 'hq', '2026-01-01T00:00:00Z')`); err != nil {
			return err
		}
		for _, n := range []string{"EXA", "EXB", "MTAX"} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO servers (name, name_key, site_id, kind, serial, created_at, updated_at) VALUES (?, lower(?), 1, 'exchange', '1', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`, n, n); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return st, tr
}

func rec(min int, server string, ev tracking.Event, id, partner, remote string) tracking.Record {
	return tracking.Record{Time: t0.Add(time.Duration(min) * time.Minute), Server: server, Event: ev, MessageID: id,
		Sender: "alice@hq", Recipients: []string{"bob@branch"}, Subject: "Budget 1997", Partner: partner, RemoteID: remote}
}

func TestTraceLinksRemoteIDAndMatchesTransfer(t *testing.T) {
	_, tr := openStore(t)
	ctx := context.Background()
	// EXA knows the message as M1 and hands it to EXB, which knows it by
	// the MTS-ID X1 (EXA logged X1 as the remote id).
	if _, err := tr.Submit(ctx, []tracking.Record{
		rec(0, "EXA", tracking.Submitted, "M1", "", ""),
		rec(1, "EXA", tracking.TransferredOut, "M1", "EXB", "X1"),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Submit(ctx, []tracking.Record{
		rec(3, "EXB", tracking.TransferredIn, "X1", "EXA", ""),
		rec(4, "EXB", tracking.Delivered, "X1", "", ""),
	}); err != nil {
		t.Fatal(err)
	}
	got, err := tr.Trace(ctx, "X1")
	if err != nil {
		t.Fatal(err)
	}
	if got.MessageID != "M1" || len(got.Hops) != 4 {
		t.Fatalf("trace %q with %d hops, want M1 with 4", got.MessageID, len(got.Hops))
	}
	if got.State != tracking.StateDelivered || !got.Complete || len(got.Gaps) != 0 {
		t.Errorf("state %s complete %v gaps %v, want delivered, complete, none", got.State, got.Complete, got.Gaps)
	}
	if got.Hops[1].Matched != 2 {
		t.Errorf("transfer out matched hop %d, want 2", got.Hops[1].Matched)
	}
	if got.Hops[2].LatencyMS != 120000 || got.TotalMS != 240000 {
		t.Errorf("latency %d total %d, want 120000 and 240000", got.Hops[2].LatencyMS, got.TotalMS)
	}
	p, err := tr.Search(ctx, tracking.Query{Recipient: "BOB@branch"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Messages) != 1 || p.Messages[0].State != tracking.StateDelivered || !p.Messages[0].Complete {
		t.Fatalf("search by recipient: %+v", p.Messages)
	}
}

func TestTraceMergesTwoMessagesLinkedLater(t *testing.T) {
	_, tr := openStore(t)
	ctx := context.Background()
	// EXB's records arrive first, under X1 only; EXA's transfer out then
	// names X1 as its remote id: one message.
	if _, err := tr.Submit(ctx, []tracking.Record{rec(3, "EXB", tracking.TransferredIn, "X1", "EXA", ""), rec(4, "EXB", tracking.Delivered, "X1", "", "")}); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Submit(ctx, []tracking.Record{rec(0, "EXA", tracking.Submitted, "M1", "", ""), rec(1, "EXA", tracking.TransferredOut, "M1", "EXB", "X1")}); err != nil {
		t.Fatal(err)
	}
	p, err := tr.Search(ctx, tracking.Query{Sender: "alice@hq"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Messages) != 1 {
		t.Fatalf("%d messages, want 1 (merged)", len(p.Messages))
	}
	got, err := tr.Trace(ctx, "M1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Hops) != 4 || got.State != tracking.StateDelivered || strings.Join(got.IDs, ",") != "M1,X1" {
		t.Errorf("hops %d state %s ids %v", len(got.Hops), got.State, got.IDs)
	}
}

func TestTraceGaps(t *testing.T) {
	_, tr := openStore(t)
	ctx := context.Background()
	if _, err := tr.Submit(ctx, []tracking.Record{
		// through MTAX, which sends no tracking
		rec(0, "EXA", tracking.Submitted, "M2", "", ""),
		rec(1, "EXA", tracking.TransferredOut, "M2", "MTAX", ""),
		// to a foreign system
		rec(0, "EXA", tracking.Submitted, "M3", "", ""),
		rec(1, "EXA", tracking.TransferredOut, "M3", "PROFS VMGATE", ""),
		// an NDR
		rec(0, "EXA", tracking.TransferredOut, "M4", "EXB", ""),
		rec(1, "EXB", tracking.TransferredIn, "M4", "EXA", ""),
		rec(2, "EXB", tracking.NDR, "M4", "", ""),
		// in transit: EXB has not answered yet
		rec(50, "EXA", tracking.TransferredOut, "M5", "EXB", ""),
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id, gapKind, gapServer string
		state                  tracking.State
		complete               bool
	}{
		{"M2", tracking.GapTrackingDisabled, "MTAX", tracking.StatePartial, false},
		{"M3", tracking.GapLeftNetwork, "PROFS VMGATE", tracking.StatePartial, false},
		{"M4", "", "", tracking.StateFailed, true},
		{"M5", "", "", tracking.StateInTransit, false},
	} {
		got, err := tr.Trace(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != c.state || got.Complete != c.complete {
			t.Errorf("%s: state %s complete %v, want %s %v (gaps %v)", c.id, got.State, got.Complete, c.state, c.complete, got.Gaps)
		}
		if c.gapKind == "" {
			if len(got.Gaps) != 0 {
				t.Errorf("%s: gaps %v, want none", c.id, got.Gaps)
			}
			continue
		}
		if len(got.Gaps) != 1 || got.Gaps[0].Kind != c.gapKind || got.Gaps[0].Server != c.gapServer {
			t.Errorf("%s: gaps %+v, want one %s at %s", c.id, got.Gaps, c.gapKind, c.gapServer)
		}
	}
	got, _ := tr.Trace(ctx, "M2")
	if want := "tracking is not enabled on MTA MTAX"; !strings.Contains(got.Gaps[0].Reason, want) {
		t.Errorf("reason %q, want it to say %q", got.Gaps[0].Reason, want)
	}
}

func TestStitchTimeGapAndSlowHop(t *testing.T) {
	net := fakeNet{"exa": true, "exb": true}
	recs := []tracking.Record{
		rec(0, "EXA", tracking.Submitted, "M", "", ""),
		rec(1, "EXA", tracking.TransferredOut, "M", "EXB", ""),
		rec(1+5*60, "EXB", tracking.TransferredIn, "M", "EXA", ""),
		rec(2+5*60, "EXB", tracking.Delivered, "M", "", ""),
	}
	tr := tracking.Stitch(recs, net, t0.Add(10*time.Hour))
	if tr.SlowHop != 2 || !tr.Hops[2].Slow {
		t.Errorf("slow hop %d, want 2", tr.SlowHop)
	}
	if len(tr.Gaps) != 1 || tr.Gaps[0].Kind != tracking.GapTime || tr.Complete {
		t.Errorf("gaps %+v complete %v, want one time gap, not complete", tr.Gaps, tr.Complete)
	}
	if tr.State != tracking.StateDelivered {
		t.Errorf("state %s, want delivered", tr.State)
	}
}

type fakeNet map[string]bool

func (f fakeNet) InInventory(s string) bool   { return f[strings.ToLower(s)] }
func (f fakeNet) SendsTracking(s string) bool { return f[strings.ToLower(s)] }

func TestValidateNamesField(t *testing.T) {
	size := int64(-1)
	for _, c := range []struct {
		in    tracking.Input
		field string
	}{
		{tracking.Input{Server: "A", Event: "submitted", MessageID: "m"}, "[2].time"},
		{tracking.Input{Time: "2026-12-01T00:00:00Z", Server: "A", Event: "lost", MessageID: "m"}, "[2].event"},
		{tracking.Input{Time: "2026-12-01T00:00:00Z", Server: "A", Event: "transferred_out", MessageID: "m"}, "[2].partner"},
		{tracking.Input{Time: "2026-12-01T00:00:00Z", Server: "A", Event: "delivered", MessageID: "m", Size: &size}, "[2].size"},
		{tracking.Input{Time: "2026-12-01T00:00:00Z", Server: "A", Event: "delivered", MessageID: "m", Recipients: []string{"a", ""}}, "[2].recipients[1]"},
		{tracking.Input{Time: "2026-12-01T00:00:00Z", Server: "", Event: "delivered", MessageID: "m"}, "[2].server"},
	} {
		_, err := tracking.ValidateAt(2, &c.in, t0)
		e, ok := mailnet.AsError(err)
		if !ok || e.Field != c.field || e.Kind != mailnet.KindInvalid {
			t.Errorf("%+v: error %v, want 422 on %s", c.in, err, c.field)
		}
	}
}

func TestPruneByAgeAndSize(t *testing.T) {
	_, tr := openStore(t)
	ctx := context.Background()
	var recs []tracking.Record
	for i := range 10 {
		id := "P" + string(rune('0'+i))
		recs = append(recs, rec(i*60, "EXA", tracking.Submitted, id, "", ""), rec(i*60+1, "EXA", tracking.Delivered, id, "", ""))
	}
	// one dated far ahead must not stop the age prune
	recs = append(recs, rec(20*60, "EXA", tracking.Submitted, "FUTURE", "", ""))
	if _, err := tr.Submit(ctx, recs); err != nil {
		t.Fatal(err)
	}
	n, err := tr.Prune(ctx, t0.Add(150*time.Minute), 0, 2) // P0..P2 last seen before
	if err != nil || n != 6 {
		t.Fatalf("pruned %d (%v), want 6", n, err)
	}
	if _, err := tr.Trace(ctx, "P2"); mailnet.ErrorKind(err) != mailnet.KindNotFound {
		t.Errorf("P2 after prune: %v, want not found", err)
	}
	n, err = tr.Prune(ctx, time.Time{}, 5, 2) // 15 records left -> at most 5
	if err != nil || n < 10 || n > 14 {
		t.Fatalf("size prune %d (%v), want 10 to 14 (whole messages)", n, err)
	}
	if _, err := tr.Trace(ctx, "FUTURE"); err != nil {
		t.Errorf("the newest message went: %v", err)
	}
}

func TestMergeKeepsLaterRecordsTogether(t *testing.T) {
	_, tr := openStore(t)
	ctx := context.Background()
	for _, b := range [][]tracking.Record{
		{rec(0, "EXA", tracking.Submitted, "M1", "", "")},
		{rec(3, "EXB", tracking.TransferredIn, "X1", "EXA", "")},
		{rec(1, "EXA", tracking.TransferredOut, "M1", "EXB", "X1")}, // links M1 and X1: a merge
		{rec(4, "EXB", tracking.Delivered, "X1", "", "")},           // X1 is cached: it must name the merged message
	} {
		if _, err := tr.Submit(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	p, err := tr.Search(ctx, tracking.Query{Sender: "alice@hq"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Messages) != 1 {
		t.Fatalf("%d messages, want 1", len(p.Messages))
	}
	got, err := tr.Trace(ctx, "M1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Hops) != 4 || got.State != tracking.StateDelivered || !got.Complete {
		t.Errorf("%d hops, %s, complete %v; want 4, delivered, complete", len(got.Hops), got.State, got.Complete)
	}
	if p.Messages[0].State != tracking.StateDelivered {
		t.Errorf("stored state %s, want delivered", p.Messages[0].State)
	}
}
