package reports

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// direct builds the report without the cache, as the API did before it.
func direct(t *testing.T, f *fx, format string, q ServerQuery) []byte {
	t.Helper()
	rows, err := Servers(context.Background(), f.st, q)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if format == FormatCSV {
		err = WriteServersCSV(&buf, rows)
	} else {
		err = WriteServersJSON(&buf, rows)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestServerReportCacheMatchesDirectEncoding(t *testing.T) {
	f := newFx(t)
	site := f.site("East")
	f.server("MACA", site, "msmail-mac", "3.1", "777", "10.0.0.1")
	f.server("MACB", site, "msmail-mac", "3.1", "777")
	c := NewServerReportCache(f.st, 0, 0)
	for _, tt := range []struct {
		format string
		q      ServerQuery
	}{
		{FormatJSON, ServerQuery{}},
		{FormatJSON, ServerQuery{Sort: "serial", Desc: true}},
		{FormatCSV, ServerQuery{}},
		{FormatCSV, ServerQuery{Q: "maca"}},
	} {
		t.Run(fmt.Sprintf("%s %+v", tt.format, tt.q), func(t *testing.T) {
			got, err := c.Get(context.Background(), tt.format, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if want := direct(t, f, tt.format, tt.q); !bytes.Equal(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}
}

func TestServerReportCacheFreshAfterWrite(t *testing.T) {
	f := newFx(t)
	site := f.site("East")
	f.server("MACA", site, "msmail-mac", "3.1", "100")
	c := NewServerReportCache(f.st, 0, 0)
	var builds atomic.Int64
	c.OnBuild = func(string, ServerQuery, uint64) { builds.Add(1) }
	get := func() string {
		t.Helper()
		b, err := c.Get(context.Background(), FormatJSON, ServerQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if first := get(); strings.Contains(first, "MACB") {
		t.Fatalf("got %s before MACB was written", first)
	}
	if second := get(); builds.Load() != 1 || strings.Contains(second, "MACB") {
		t.Fatalf("got %d builds after two reads at one version, want 1", builds.Load())
	}
	v := f.st.Version()
	f.server("MACB", site, "msmail-mac", "3.1", "200")
	if f.st.Version() <= v {
		t.Fatalf("got version %d after a write, want more than %d", f.st.Version(), v)
	}
	if third := get(); !strings.Contains(third, `"name":"MACB"`) {
		t.Fatalf("got %s right after MACB was committed, want it listed", third)
	}
	if builds.Load() != 2 {
		t.Fatalf("got %d builds, want 2", builds.Load())
	}
}

func TestServerReportCacheConcurrentRequestsBuildOnce(t *testing.T) {
	f := newFx(t)
	site := f.site("East")
	for i := range 50 {
		f.server(fmt.Sprintf("SRV-%02d", i), site, "exchange", "5.5", fmt.Sprint(i))
	}
	c := NewServerReportCache(f.st, 0, 0)
	var builds atomic.Int64
	started := make(chan struct{})
	release := make(chan struct{})
	c.OnBuild = func(string, ServerQuery, uint64) {
		if builds.Add(1) == 1 {
			close(started)
			<-release // hold the first build so the others join it
		}
	}
	const n = 16
	var waiting sync.WaitGroup // every request registered with the build
	waiting.Add(n)
	c.onWait = waiting.Done
	results := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if i > 0 {
				<-started
			}
			// Equivalent spellings of one query share the build.
			q := ServerQuery{Q: []string{"", " ", ""}[i%3], Sort: []string{"", "name"}[i%2]}
			results[i], errs[i] = c.Get(context.Background(), FormatJSON, q)
		})
	}
	<-started
	waiting.Wait() // all n have joined the build in flight
	close(release)
	wg.Wait()
	if got := builds.Load(); got != 1 {
		t.Fatalf("got %d builds for %d identical requests, want 1", got, n)
	}
	for i := range n {
		if errs[i] != nil || !bytes.Equal(results[i], results[0]) {
			t.Fatalf("request %d: got err %v and %d bytes, want the %d bytes of request 0", i, errs[i], len(results[i]), len(results[0]))
		}
	}
}

func TestServerReportCacheMemoryBound(t *testing.T) {
	f := newFx(t)
	site := f.site("East")
	for i := range 20 {
		f.server(fmt.Sprintf("SRV-%02d", i), site, "exchange", "5.5", fmt.Sprint(i))
	}
	ctx := context.Background()
	whole := direct(t, f, FormatJSON, ServerQuery{})

	t.Run("entries", func(t *testing.T) {
		c := NewServerReportCache(f.st, 3, 0)
		for _, s := range ServerSorts {
			if _, err := c.Get(ctx, FormatJSON, ServerQuery{Sort: s}); err != nil {
				t.Fatal(err)
			}
			if n, _ := c.Len(); n > 3 {
				t.Fatalf("got %d entries, want at most 3", n)
			}
		}
	})
	t.Run("bytes", func(t *testing.T) {
		limit := 2*len(whole) + len(whole)/2
		c := NewServerReportCache(f.st, 100, limit)
		for _, s := range ServerSorts {
			if _, err := c.Get(ctx, FormatJSON, ServerQuery{Sort: s}); err != nil {
				t.Fatal(err)
			}
			if n, size := c.Len(); size > limit || n > 2 {
				t.Fatalf("got %d entries of %d bytes, want at most 2 and %d bytes", n, size, limit)
			}
		}
	})
	t.Run("older versions dropped", func(t *testing.T) {
		c := NewServerReportCache(f.st, 8, 0)
		for _, s := range []string{"name", "serial", "site"} {
			if _, err := c.Get(ctx, FormatJSON, ServerQuery{Sort: s}); err != nil {
				t.Fatal(err)
			}
		}
		f.server("SRV-NEW", site, "exchange", "5.5", "new")
		if _, err := c.Get(ctx, FormatCSV, ServerQuery{}); err != nil {
			t.Fatal(err)
		}
		if n, _ := c.Len(); n != 1 {
			t.Fatalf("got %d entries after a write and one read, want 1 (older versions dropped)", n)
		}
	})
}

func TestServerReportCacheRejectsInvalidQuery(t *testing.T) {
	f := newFx(t)
	c := NewServerReportCache(f.st, 0, 0)
	if _, err := c.Get(context.Background(), FormatJSON, ServerQuery{Sort: "nope"}); err == nil {
		t.Fatal("got no error for sort=nope, want one")
	}
	if _, err := c.Get(context.Background(), "xml", ServerQuery{}); err == nil {
		t.Fatal("got no error for format xml, want one")
	}
}
