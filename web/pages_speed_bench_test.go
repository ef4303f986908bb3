package web_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPageSpeed renders the pages of cmd/loadtest's page-speed table
// on a copy of a big network (MAILNET_BENCH_DB=FILE, made with admin-web
// demo; it is written to: tokens are added), so that a CPU profile
// (-cpuprofile) shows where each page's server time goes; it reports each
// page's HTML size. MAILNET_BENCH_PAGES=/a,/b picks the pages. Without
// MAILNET_BENCH_DB it is skipped.
func BenchmarkPageSpeed(b *testing.B) {
	path := os.Getenv("MAILNET_BENCH_DB")
	if path == "" {
		b.Skip("MAILNET_BENCH_DB is not set")
	}
	e := newEnvAt(b, path)
	pages := []string{"/", "/routing", "/dirsync", "/jobs", "/x400", "/tracking", "/accounts", "/tokens", "/servers", "/events", "/audit"}
	if v := os.Getenv("MAILNET_BENCH_PAGES"); v != "" {
		pages = strings.Split(v, ",")
	}
	for _, p := range pages {
		b.Run(strings.ReplaceAll(strings.TrimPrefix(p, "/"), "/", "_"), func(b *testing.B) {
			req := httptest.NewRequest("GET", p, nil)
			req.Host = "127.0.0.1" // the console answers 421 for a host not its own
			req.Header.Set("Authorization", "Bearer "+e.Viewer)
			var size int
			cpu0 := cpuTime()
			for b.Loop() {
				rec := httptest.NewRecorder()
				e.Server.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d %.300s", p, rec.Code, rec.Body.String())
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size)/1024, "KB")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuTime is the process's user and system CPU time so far: on a loaded
// machine it measures a page's cost where wall time measures the queue.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
