package web_test

import (
	"net/http"
	"syscall"
	"testing"
	"time"
)

// countingWriter is a discarding ResponseWriter that counts the bytes.
type countingWriter struct {
	h      http.Header
	n      int
	status int
}

func (w *countingWriter) Header() http.Header         { return w.h }
func (w *countingWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }
func (w *countingWriter) WriteHeader(s int)           { w.status = s }

// BenchmarkX400PageHTML renders the X.400 check page (the first page of
// problems, as /x400 opens) of a generated network: 300 servers by
// default; with MAILNET_BENCH_BIG=1 10,000 servers and 12,038 x400
// connectors. It reports the page's size (bytes/page) and the process's
// CPU time per page (cpu-ms/op), which a loaded machine inflates less
// than wall time.
//
//	MAILNET_BENCH_BIG=1 go test -run '^$' -bench X400PageHTML -benchtime 20x ./web/
func BenchmarkX400PageHTML(b *testing.B) {
	e := benchNetwork(b)
	for _, path := range []string{"/x400", "/x400?status=all"} {
		b.Run(path, func(b *testing.B) {
			// The full URL: a request without the console's host is a 421.
			req, err := http.NewRequest("GET", e.HTTP.URL+path, nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+e.Viewer)
			w := &countingWriter{h: http.Header{}}
			b.ReportAllocs()
			start := benchCPU()
			for b.Loop() {
				clear(w.h)
				w.n = 0
				e.Server.ServeHTTP(w, req)
			}
			if w.status != http.StatusOK {
				b.Fatalf("GET %s: status %d", path, w.status)
			}
			b.ReportMetric(float64(benchCPU()-start)/float64(b.N)/1e6, "cpu-ms/op")
			b.ReportMetric(float64(w.n), "bytes/page")
		})
	}
}

func benchCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
