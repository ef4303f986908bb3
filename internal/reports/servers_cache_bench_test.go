package reports_test

import (
	"context"
	"io"
	"testing"

	"mailnet/internal/reports"
)

// BenchmarkServerReportJSONCached serves the whole Global Server Report at
// 10,000 servers from the cache at an unchanged store version: the cost
// of a request between two writes (compare BenchmarkServerReportJSON,
// which builds and encodes every time).
func BenchmarkServerReportJSONCached(b *testing.B) {
	sz := benchSizes[0]
	b.Run(sz.String(), func(b *testing.B) {
		st := benchStore(b, sz)
		c := reports.NewServerReportCache(st, 0, 0)
		ctx := context.Background()
		if _, err := c.Get(ctx, reports.FormatJSON, reports.ServerQuery{}); err != nil {
			b.Fatal(err) // the one build, outside the timed loop
		}
		b.ReportAllocs()
		for b.Loop() {
			body, err := c.Get(ctx, reports.FormatJSON, reports.ServerQuery{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Discard.Write(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkServerReportJSONUncached is the same request through the cache
// when every request finds a new version (a write between any two
// requests): the build plus the cache's own overhead.
func BenchmarkServerReportJSONUncached(b *testing.B) {
	sz := benchSizes[0]
	b.Run(sz.String(), func(b *testing.B) {
		st := benchStore(b, sz)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			c := reports.NewServerReportCache(st, 0, 0) // empty: always builds
			body, err := c.Get(ctx, reports.FormatJSON, reports.ServerQuery{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Discard.Write(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
