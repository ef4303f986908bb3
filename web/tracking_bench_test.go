package web_test

import (
	"context"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTrackingSpeedTable measures the tracking queries over HTTP on a
// generated database (admin-web demo --tracking-records N) named by
// MAILNET_TRACKING_DB: the first 100 results by exact sender, recipient
// or message id, a subject prefix, and a trace; p50 and p99 of each over
// 200 requests, and the bytes per record on disk. It is a measurement,
// not a check, and skips without the variable.
//
//	MAILNET_TRACKING_DB=/tmp/t1m.db go test -run TrackingSpeedTable -v ./web/
func TestTrackingSpeedTable(t *testing.T) {
	path := os.Getenv("MAILNET_TRACKING_DB")
	if path == "" {
		t.Skip("MAILNET_TRACKING_DB is not set")
	}
	e := newEnvAt(t, path)
	db := e.Store.DB()
	ctx := context.Background()
	var records, pages, pageSize int64
	must(t, db.QueryRowContext(ctx, `SELECT count(*) FROM tracking_records`).Scan(&records))
	must(t, db.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages))
	must(t, db.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize))
	var trackingBytes int64
	if err := db.QueryRowContext(ctx, `SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'tracking%' OR name LIKE 'sqlite_autoindex_tracking%'`).Scan(&trackingBytes); err != nil {
		t.Logf("dbstat: %v (the whole file is counted instead)", err)
		trackingBytes = pages * pageSize
	}
	t.Logf("%d records; tracking tables and indexes %d bytes = %.0f bytes/record (whole file %d bytes)",
		records, trackingBytes, float64(trackingBytes)/float64(records), pages*pageSize)
	sample := func(q string) []string {
		rows, err := db.QueryContext(ctx, q)
		must(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			must(t, rows.Scan(&s))
			out = append(out, s)
		}
		return out
	}
	senders := sample(`SELECT sender FROM tracking_messages ORDER BY random() LIMIT 200`)
	rcpts := sample(`SELECT addr FROM tracking_recipients ORDER BY random() LIMIT 200`)
	ids := sample(`SELECT message_id FROM tracking_messages ORDER BY random() LIMIT 200`)
	subjects := sample(`SELECT substr(subject, 1, 8) FROM tracking_messages ORDER BY random() LIMIT 200`)
	run := func(name string, vals []string, path func(string) string) {
		var ds, cs []time.Duration
		for _, v := range vals {
			cpu0 := processCPU()
			start := time.Now()
			code, body := e.do("GET", path(v), e.Admin, nil)
			ds = append(ds, time.Since(start))
			cs = append(cs, processCPU()-cpu0)
			if code != 200 {
				t.Fatalf("%s: %d %s", path(v), code, body)
			}
		}
		slices.Sort(ds)
		slices.Sort(cs)
		// Wall time waits for a CPU on a loaded machine; the process's CPU
		// time per request (client, server and GC: an upper bound) does not.
		t.Logf("%-16s n=%d wall p50=%v p99=%v max=%v | CPU p50=%v p99=%v", name, len(ds), ds[len(ds)/2].Round(time.Microsecond),
			ds[len(ds)*99/100].Round(time.Microsecond), ds[len(ds)-1].Round(time.Microsecond),
			cs[len(cs)/2].Round(time.Microsecond), cs[len(cs)*99/100].Round(time.Microsecond))
	}
	run("sender", senders, func(v string) string { return "/api/v1/tracking?limit=100&sender=" + url.QueryEscape(v) })
	run("recipient", rcpts, func(v string) string { return "/api/v1/tracking?limit=100&recipient=" + url.QueryEscape(v) })
	run("message_id", ids, func(v string) string { return "/api/v1/tracking?limit=100&message_id=" + url.QueryEscape(v) })
	run("subject prefix", subjects, func(v string) string { return "/api/v1/tracking?limit=100&subject=" + url.QueryEscape(v) })
	run("trace", ids, func(v string) string { return "/api/v1/tracking/" + url.PathEscape(v) })
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		t.Logf("load average: %s", strings.Join(strings.Fields(string(b))[:3], " "))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
