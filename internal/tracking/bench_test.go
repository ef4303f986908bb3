package tracking_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"mailnet/internal/tracking"
)

// BenchmarkSubmit measures the writer: records of 6-hop messages, 9,000
// per batch, several batches in flight.
func BenchmarkSubmit(b *testing.B) {
	st, tr := openStoreB(b)
	_ = st
	ctx := context.Background()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		recs := make([]tracking.Record, 0, 9000)
		for len(recs) < 9000 {
			id := fmt.Sprintf("<bench.%d@hq>", n)
			at := t0.Add(time.Duration(n) * time.Second)
			mk := func(d int, server string, ev tracking.Event, partner string) tracking.Record {
				return tracking.Record{Time: at.Add(time.Duration(d) * time.Second), Server: server, Event: ev, MessageID: id,
					Sender: fmt.Sprintf("u%d@hq", n%5000), Recipients: []string{fmt.Sprintf("r%d@branch", n%7000)}, Subject: fmt.Sprintf("Budget %d", n%1000), Size: 100, Partner: partner}
			}
			recs = append(recs, mk(0, "EXA", tracking.Submitted, ""), mk(1, "EXA", tracking.TransferredOut, "EXB"),
				mk(2, "EXB", tracking.TransferredIn, "EXA"), mk(3, "EXB", tracking.TransferredOut, "MTAX"),
				mk(4, "MTAX", tracking.TransferredIn, "EXB"), mk(5, "MTAX", tracking.Delivered, ""))
			n++
		}
		if _, err := tr.Submit(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*9000)/b.Elapsed().Seconds(), "records/s")
}
