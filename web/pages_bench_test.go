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
func benchPage(b *testing.B, e *env, path string) {
	req, err := http.NewRequest("GET", path, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.Viewer)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		e.Server.ServeHTTP(w, req)
	}
}

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
