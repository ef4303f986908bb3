package tracking_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
	"mailnet/internal/tracking"
)

// A merge inside one transaction: two messages created by it (M1, X1)
// are linked by a later record of the same batch, before either row is
// in the table.
func TestMergeWithinOneTransaction(t *testing.T) {
	_, tr := openStore(t)
	ctx := context.Background()
	if _, err := tr.Submit(ctx, []tracking.Record{
		rec(0, "EXA", tracking.Submitted, "M1", "", ""),
		rec(3, "EXB", tracking.TransferredIn, "X1", "EXA", ""),
		rec(1, "EXA", tracking.TransferredOut, "M1", "EXB", "X1"),
		rec(4, "EXB", tracking.Delivered, "X1", "", ""),
	}); err != nil {
		t.Fatal(err)
	}
	p, err := tr.Search(ctx, tracking.Query{Sender: "alice@hq"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Messages) != 1 || p.Messages[0].State != tracking.StateDelivered || !p.Messages[0].Complete {
		t.Fatalf("messages %+v, want one, delivered and complete", p.Messages)
	}
	got, err := tr.Trace(ctx, "X1")
	if err != nil {
		t.Fatal(err)
	}
	if got.MessageID != "M1" || len(got.Hops) != 4 || len(got.Recipients) != 1 {
		t.Errorf("trace %q with %d hops and recipients %v, want M1 with 4 and one", got.MessageID, len(got.Hops), got.Recipients)
	}
}

// A writer that starts with an empty id cache (a restarted console) finds
// the messages an earlier one stored: the later records join them.
func TestWriterFindsMessagesOfAnEarlierWriter(t *testing.T) {
	st, tr := openStore(t)
	ctx := context.Background()
	if _, err := tr.Submit(ctx, []tracking.Record{
		rec(0, "EXA", tracking.Submitted, "M1", "", ""),
		rec(1, "EXA", tracking.TransferredOut, "M1", "EXB", "X1"),
	}); err != nil {
		t.Fatal(err)
	}
	tr2 := tracking.NewSQLite(st, tracking.Options{})
	defer tr2.Close()
	if _, err := tr2.Submit(ctx, []tracking.Record{
		rec(2, "EXB", tracking.TransferredIn, "X1", "EXA", ""),
		rec(3, "EXB", tracking.Delivered, "X1", "", ""),
	}); err != nil {
		t.Fatal(err)
	}
	p, err := tr2.Search(ctx, tracking.Query{Sender: "alice@hq"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Messages) != 1 || p.Messages[0].State != tracking.StateDelivered {
		t.Fatalf("messages %+v, want one, delivered", p.Messages)
	}
}

// A subject prefix that matches thousands of messages (searched by the
// newest messages) and one that matches a few (by the subject index)
// both answer the newest first, and page without loss.
func TestSubjectPrefixBroadAndNarrow(t *testing.T) {
	_, tr := openStore(t)
	ctx := context.Background()
	const n = 6000
	var recs []tracking.Record
	for i := range n {
		r := rec(0, "EXA", tracking.Submitted, fmt.Sprintf("S%d", i), "", "")
		r.Time = t0.Add(time.Duration(i) * time.Second)
		r.Subject = fmt.Sprintf("Minutes %d", i)
		if i%1000 == 7 {
			r.Subject = fmt.Sprintf("Agenda %d", i)
		}
		recs = append(recs, r)
		if len(recs) == 5000 || i == n-1 {
			if _, err := tr.Submit(ctx, recs); err != nil {
				t.Fatal(err)
			}
			recs = nil
		}
	}
	for _, c := range []struct {
		prefix string
		want   int
	}{{"minutes ", n - 6}, {"Agenda", 6}} {
		var got []string
		q := tracking.Query{Subject: c.prefix, Limit: 1000}
		for {
			p, err := tr.Search(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range p.Messages {
				got = append(got, m.MessageID)
			}
			if p.NextAfterID == 0 {
				break
			}
			q.AfterID = p.NextAfterID
		}
		if len(got) != c.want {
			t.Errorf("prefix %q: %d messages, want %d", c.prefix, len(got), c.want)
			continue
		}
		first := fmt.Sprintf("S%d", n-1)
		if c.prefix == "Agenda" {
			first = "S5007"
		}
		if got[0] != first {
			t.Errorf("prefix %q: first %s, want the newest, %s", c.prefix, got[0], first)
		}
	}
}

// Reserve refuses (ErrBusy, 429) a body whose records may not fit in the
// queue as it stands, before a byte of it is decoded.
func TestReserveRefusesWhenTheQueueCannotTakeTheBody(t *testing.T) {
	st, _ := openStore(t)
	tk := tracking.NewSQLite(st, tracking.Options{MaxBatch: 10, MaxQueued: 10})
	defer tk.Close()
	// Hold the writer connection, so a batch stays queued.
	hold, held := make(chan struct{}), make(chan struct{})
	go st.Write(context.Background(), func(*store.Tx) error { close(held); <-hold; return nil })
	<-held
	recs := make([]tracking.Record, 8)
	for i := range recs {
		recs[i] = rec(i, "EXA", tracking.Submitted, "Q1", "", "")
	}
	done := make(chan error, 1)
	go func() { _, err := tk.Submit(context.Background(), recs); done <- err }()
	for deadline := time.Now().Add(10 * time.Second); tk.Stats().Queued != 8; runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatal("the batch was never queued")
		}
	}
	_, errBig := tk.Reserve(200) // up to 4 records: 8 + 4 > 10
	small, errSmall := tk.Reserve(10)
	close(hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if mailnet.ErrorKind(errBig) != mailnet.KindTooMany {
		t.Errorf("a 200-byte body while 8 of 10 records are queued: %v, want too many (429)", errBig)
	}
	if errSmall != nil {
		t.Errorf("a body of one record while 8 of 10 are queued: %v, want it reserved", errSmall)
	}
	small.Release()
}
