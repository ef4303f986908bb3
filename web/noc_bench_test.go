package web_test

import (
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"
)

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkNOC renders the NOC wall screen and its tiles fragment (what
// noc.js re-fetches) of a generated network: 300 servers by default,
// 10,000 with MAILNET_BENCH_BIG=1. The target is under 50 ms a request
// on the big network.
//
//	MAILNET_BENCH_BIG=1 go test -run '^$' -bench BenchmarkNOC -benchtime 20x ./web/
func BenchmarkNOC(b *testing.B) {
	e := benchNetwork(b)
	for _, p := range []string{"/noc", "/noc/tiles"} {
		b.Run(p, func(b *testing.B) {
			req, _ := http.NewRequest("GET", p, nil)
			req.Host = "127.0.0.1" // not "": the console answers 421 for a host not its own
			req.Header.Set("Authorization", "Bearer "+e.Viewer)
			rec := httptest.NewRecorder()
			e.Server.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || rec.Body.Len() < 1000 {
				b.Fatalf("GET %s: status %d, %d bytes: %.300s", p, rec.Code, rec.Body.Len(), rec.Body.String())
			}
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			for b.Loop() {
				clear(w.h)
				e.Server.ServeHTTP(w, req)
			}
			// CPU time, not wall time, on a shared machine: what the
			// request costs the server whatever else runs.
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
		})
	}
}
