package web_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailnet/internal/demo"
	"mailnet/internal/store"
)

// discardWriter is a ResponseWriter that throws the page away, so the
// benchmark measures building and rendering, not copying.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return io.Discard.Write(b) }
func (w *discardWriter) WriteHeader(int)             {}

// benchNetwork opens a generated network for the page benchmarks: 300
// servers by default; with MAILNET_BENCH_BIG=1 the network of the issue's
// targets, 10,000 servers, 1,000,000 users and 1,000,000 messages (5,000,000
// with MAILNET_BENCH_MESSAGES=5000000), generated once into os.TempDir()
// and shared with the reports benchmarks.
func benchNetwork(b *testing.B) *env {
	o := demo.Options{Servers: 300, Users: 3000, Messages: 30000, Seed: 1}
	if os.Getenv("MAILNET_BENCH_BIG") == "1" {
		o = demo.Options{Servers: 10_000, Users: 1_000_000, Messages: 1_000_000, Seed: 1}
		if m, err := strconv.Atoi(os.Getenv("MAILNET_BENCH_MESSAGES")); err == nil && m > 0 {
			o.Messages = m
		}
	}
	start := time.Now()
	path, err := demo.BenchFile(context.Background(), os.TempDir(), o)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("network of %d servers, %d users, %d messages ready in %v", o.Servers, o.Users, o.Messages, time.Since(start).Round(time.Millisecond))
	return newEnvAt(b, path)
}

// benchPage renders path as the viewer b.N times into a discarding writer.
// The request names the console's host (a request without it is a 421,
// which would measure the refusal), and the page must answer 200.
func benchPage(b *testing.B, e *env, path string) {
	req, err := http.NewRequest("GET", e.HTTP.URL+path, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.Viewer)
	w := &statusWriter{h: http.Header{}}
	e.Server.ServeHTTP(w, req)
	if w.status != http.StatusOK || w.n < 1000 {
		b.Fatalf("GET %s: status %d, %d bytes, want a page", path, w.status, w.n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		w.status, w.n = 0, 0
		e.Server.ServeHTTP(w, req)
	}
	if w.status != http.StatusOK {
		b.Fatalf("GET %s: status %d", path, w.status)
	}
}

// statusWriter throws the page away and keeps its status and size.
type statusWriter struct {
	h         http.Header
	status, n int
}

func (w *statusWriter) Header() http.Header { return w.h }
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(b)
	return len(b), nil
}
func (w *statusWriter) WriteHeader(s int) { w.status = s }

// BenchmarkPagesHTML renders the other pages of a generated network.
func BenchmarkPagesHTML(b *testing.B) {
	e := benchNetwork(b)
	for _, p := range []string{"/routing", "/duplicates", "/servers/1", "/x400", "/dirsync"} {
		b.Run(strings.TrimPrefix(p, "/"), func(b *testing.B) { benchPage(b, e, p) })
	}
}

// BenchmarkServerReportHTML renders the Global Server Report page of a
// generated network: 300 servers by default, 10,000 with
// MAILNET_BENCH_BIG=1.
func BenchmarkServerReportHTML(b *testing.B) {
	benchPage(b, benchNetwork(b), "/servers")
}

// BenchmarkDuplicatesHTTP asks the real server on loopback for the
// duplicate-serial detector, as the API (GET /api/v1/reports/duplicate-serials)
// and as the page (/duplicates): warm, at one store write version, and
// cold, after a write (an empty transaction, which bumps the version the
// detector is memoized by, outside the measured time). /healthz, one
// query behind the same middleware, is the floor of a request. It reports
// CPU per request (cpu-ms/op: the server's and the client's, one process)
// and wall time (wall-ms/op).
//
//	MAILNET_BENCH_BIG=1 go test -run '^$' -bench DuplicatesHTTP -benchtime 50x -cpu 1 ./web/
func BenchmarkDuplicatesHTTP(b *testing.B) {
	e := benchNetwork(b)
	client := e.HTTP.Client()
	get := func(b *testing.B, path string) int {
		req, err := http.NewRequest("GET", e.HTTP.URL+path, nil)
		if err != nil {
			b.Fatal(err)
		}
		if path != "/healthz" {
			req.Header.Set("Authorization", "Bearer "+e.Viewer)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: status %d, %v", path, resp.StatusCode, err)
		}
		return int(n)
	}
	bump := func(b *testing.B) {
		if err := e.Store.Write(context.Background(), func(*store.Tx) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	for _, path := range []string{"/healthz", "/api/v1/reports/duplicate-serials", "/duplicates"} {
		for _, cold := range []bool{false, true} {
			name := strings.TrimPrefix(path, "/") + "/warm"
			if cold {
				name = strings.TrimSuffix(name, "warm") + "cold"
			}
			b.Run(name, func(b *testing.B) {
				size := get(b, path) // warms the connection (and the memo)
				var cpu, wall time.Duration
				for b.Loop() {
					if cold {
						bump(b)
					}
					c0, w0 := processCPU(), time.Now()
					get(b, path)
					cpu += processCPU() - c0
					wall += time.Since(w0)
				}
				b.ReportMetric(float64(cpu)/float64(b.N)/1e6, "cpu-ms/op")
				b.ReportMetric(float64(wall)/float64(b.N)/1e6, "wall-ms/op")
				b.ReportMetric(float64(size), "bytes/op")
			})
		}
	}
}
