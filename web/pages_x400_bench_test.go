package web_test

import (
	"context"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailnet/internal/store"
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
//
// "after an override" sets or clears one connector's Stack IP Address
// Override before each page (outside the timing), as the page's own fix
// does: the page then pays for the check after an inventory change.
func BenchmarkX400PageHTML(b *testing.B) {
	e := benchNetwork(b)
	ctx := context.Background()
	var connID int64
	if err := e.Store.DB().QueryRow(`SELECT id FROM connectors WHERE kind = 'x400' ORDER BY id LIMIT 1`).Scan(&connID); err != nil {
		b.Fatal(err)
	}
	toggle := func(b *testing.B) {
		err := e.Store.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE connectors SET override_address = CASE WHEN override_address IS NULL THEN '10.9.9.9' END WHERE id = ?`, connID)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() {
		_ = e.Store.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE connectors SET override_address = NULL WHERE id = ?`, connID)
			return err
		})
	})
	for _, path := range []string{"/x400", "/x400?status=all", "/x400 after an override"} {
		change := strings.HasSuffix(path, " after an override")
		b.Run(path, func(b *testing.B) {
			path := strings.TrimSuffix(path, " after an override")
			// The full URL: a request without the console's host is a 421.
			req, err := http.NewRequest("GET", e.HTTP.URL+path, nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+e.Viewer)
			w := &countingWriter{h: http.Header{}}
			b.ReportAllocs()
			e.Server.ServeHTTP(w, req) // the check built once
			var cpu time.Duration
			b.ResetTimer()
			for range b.N {
				if change {
					b.StopTimer()
					toggle(b)
					b.StartTimer()
				}
				clear(w.h)
				w.n = 0
				start := benchCPU()
				e.Server.ServeHTTP(w, req)
				cpu += benchCPU() - start
			}
			if w.status != http.StatusOK {
				b.Fatalf("GET %s: status %d", path, w.status)
			}
			b.ReportMetric(float64(cpu)/float64(b.N)/1e6, "cpu-ms/op")
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
