package reports_test

import (
	"context"
	"testing"
	"time"

	"mailnet/internal/reports"
)

// BenchmarkRoutingGaps checks every routing entry of the 10,000-server
// network (69,098 routes).
func BenchmarkRoutingGaps(b *testing.B) {
	st := benchStore(b, benchSizes[0])
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reports.RoutingGaps(ctx, st); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOverview builds the overview uncached: what one write to the
// network costs the next overview request.
func BenchmarkOverview(b *testing.B) {
	st := benchStore(b, benchSizes[0])
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		gaps, err := reports.RoutingGaps(ctx, st)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := reports.LoadOverview(ctx, st, gaps, nil, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
