package web_test

import (
	"context"
	"io"
	"net/http"
	"os"
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

// benchNetwork generates a network for the page benchmarks: 300 servers by
// default, 10,000 with MAILNET_BENCH_BIG=1.
func benchNetwork(b *testing.B) *env {
	servers, users := 300, 3000
	if os.Getenv("MAILNET_BENCH_BIG") == "1" {
		servers, users = 10_000, 100_000
	}
	e := newEnv(b)
	start := time.Now()
	if err := demo.Generate(context.Background(), e.Store, demo.Options{Servers: servers, Users: users, Seed: 1}, nil); err != nil {
		b.Fatalf("generate: %v", err)
	}
	b.Logf("generated %d servers, %d users in %v", servers, users, time.Since(start).Round(time.Millisecond))
	return e
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
