package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"mailnet/internal/demo"
	"mailnet/internal/store"
	"mailnet/internal/tracking"
)

// cmdTracking measures message tracking ingest over HTTP: the console
// runs as a child on 127.0.0.1 over a fresh database holding the demo
// network, with an agent token; parallel agents post JSON batches of the
// demo's tracked traffic (whole messages, about 6 records each) to POST
// /api/v1/tracking, retrying a 429 after a short pause. It reports
// records/s, the 429s, the server's CPU per record, and a same-run
// baseline: the same rows inserted straight into the tracking schema
// (prepared statements, one transaction per batch) with no HTTP, JSON,
// validation or stitching.
//
//	loadtest tracking [--records 500000] [--batch 5000] [--parallel 8] [--seconds 120]
//
// More parallel batches than the writer's queue holds (100,000 records,
// 32 MiB of bodies) are refused with 429 and Retry-After: run with
// --parallel 32 to see them.
func cmdTracking(args []string) error {
	fs := flag.NewFlagSet("tracking", flag.ContinueOnError)
	records := fs.Int("records", 500_000, "records to post in all (at most 5,000,000)")
	batch := fs.Int("batch", 5000, "records per POST (at most 10,000, the batch cap)")
	parallel := fs.Int("parallel", 8, "posts in flight (at most 64)")
	seconds := fs.Int("seconds", 120, "stop posting after this many seconds (at most 600)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if *records, err = capInt("records", *records, 1000, 5_000_000); err != nil {
		return err
	}
	if *batch, err = capInt("batch", *batch, 1, 10_000); err != nil {
		return err
	}
	if *parallel, err = capInt("parallel", *parallel, 1, 64); err != nil {
		return err
	}
	if *seconds, err = capInt("seconds", *seconds, 1, 600); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "loadtest-tracking-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// The records: the demo network's traffic, whole messages per batch,
	// encoded before the clock starts.
	httpDB := filepath.Join(dir, "http.db")
	batches, inputs, err := trackingBatches(ctx, httpDB, *records, *batch)
	if err != nil {
		return err
	}
	total := 0
	for _, b := range batches {
		total += len(b)
	}
	bodies := make([][]byte, len(inputs))
	bytesTotal := 0
	for i, in := range inputs {
		if bodies[i], err = json.Marshal(in); err != nil {
			return err
		}
		bytesTotal += len(bodies[i])
	}
	inputs = nil
	fmt.Printf("tracking: %d records in %d batches of about %d (%.0f bytes a record), %d in flight, at most %ds\n",
		total, len(bodies), *batch, float64(bytesTotal)/float64(total), *parallel, *seconds)

	// Over HTTP.
	c, err := spawn("mailnet", httpDB)
	if err != nil {
		return err
	}
	defer c.stop()
	pid := c.cmd.Process.Pid
	cpu0 := cpuSeconds(pid)
	var next, posted, postedBatches, refused atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(time.Duration(*seconds) * time.Second)
	var wg sync.WaitGroup
	start := time.Now()
	for range *parallel {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					return
				}
				for tries := 0; ; tries++ {
					status, err := postTracking(c, bodies[i])
					if err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
					if status == http.StatusAccepted {
						posted.Add(int64(len(batches[i])))
						postedBatches.Add(1)
						break
					}
					if status != http.StatusTooManyRequests {
						firstErr.CompareAndSwap(nil, fmt.Errorf("POST /api/v1/tracking: status %d", status))
						return
					}
					refused.Add(1)
					if tries >= 600 || time.Now().After(deadline) {
						return
					}
					// Retry-After says 1 s; a load test waits less to
					// keep the writer's queue full.
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	cpu := cpuSeconds(pid) - cpu0
	if e, _ := firstErr.Load().(error); e != nil {
		return e
	}
	n := posted.Load()
	httpRate := float64(n) / wall.Seconds()
	fmt.Printf("over HTTP: %d records accepted in %v: %.0f records/s; %d posts refused with 429 (and retried); server CPU %.1f s = %.1f us a record (%.0f records per CPU-second)\n",
		n, wall.Round(time.Millisecond), httpRate, refused.Load(), cpu, cpu*1e6/float64(n), float64(n)/cpu)
	if int(n) < total {
		fmt.Printf("  stopped by --seconds after %d of %d records\n", n, total)
	}

	// Baseline: the same rows straight into the schema.
	baseDB := filepath.Join(dir, "baseline.db")
	if _, _, err := trackingBatches(ctx, baseDB, 0, *batch); err != nil {
		return err
	}
	st, err := store.Open(ctx, baseDB, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	bcpu0 := selfCPU()
	bstart := time.Now()
	rows, err := insertTrackingRows(ctx, st, batches[:postedBatches.Load()])
	if err != nil {
		return err
	}
	bwall := time.Since(bstart)
	bcpu := selfCPU() - bcpu0
	baseRate := float64(rows) / bwall.Seconds()
	fmt.Printf("baseline (same run): %d records straight into the schema in %v: %.0f records/s; CPU %.1f s = %.1f us a record (%.0f records per CPU-second)\n",
		rows, bwall.Round(time.Millisecond), baseRate, bcpu, bcpu*1e6/float64(rows), float64(rows)/bcpu)
	fmt.Printf("ratio HTTP/baseline: %.2f by wall clock, %.2f by CPU per record; load average %s\n",
		httpRate/baseRate, (float64(n)/cpu)/(float64(rows)/bcpu), loadAvg())
	return nil
}

// trackingBatches seeds path with the demo network and, for n > 0,
// makes about n records of its tracked traffic in batches of about size
// records (whole messages), as records and as the JSON agents post.
func trackingBatches(ctx context.Context, path string, n, size int) ([][]tracking.Record, [][]tracking.Input, error) {
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		return nil, nil, err
	}
	defer st.Close()
	if _, err := demo.Seed(ctx, st); err != nil {
		return nil, nil, fmt.Errorf("seed: %w", err)
	}
	if n == 0 {
		return nil, nil, nil
	}
	tr, err := demo.NewTrackingTraffic(ctx, st, 1)
	if err != nil {
		return nil, nil, err
	}
	at := time.Now().UTC().Add(-24 * time.Hour)
	var recs [][]tracking.Record
	var ins [][]tracking.Input
	done := 0
	for done < n {
		var b []tracking.Record
		for len(b) < size && done+len(b) < n {
			b = append(b, tr.Next(at)...)
			at = at.Add(10 * time.Millisecond)
		}
		in := make([]tracking.Input, len(b))
		for i, r := range b {
			size := r.Size
			in[i] = tracking.Input{Time: r.Time.Format(time.RFC3339Nano), Server: r.Server, Event: string(r.Event), MessageID: r.MessageID,
				Sender: r.Sender, Recipients: r.Recipients, Subject: r.Subject, Size: &size, Partner: r.Partner, RemoteID: r.RemoteID}
		}
		recs, ins = append(recs, b), append(ins, in)
		done += len(b)
	}
	return recs, ins, nil
}

func postTracking(c *child, body []byte) (int, error) {
	req, _ := http.NewRequest("POST", "http://"+c.info.Addr+"/api/v1/tracking", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.info.Agent)
	req.Header.Set("Content-Type", "application/json")
	res, err := trackingClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

// trackingClient waits longer than httpClient: a batch accepted into a
// full queue is answered when its transaction commits, which on a loaded
// machine can take more than a minute.
var trackingClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 5 * time.Minute}

// insertTrackingRows writes the batches' rows into the tracking tables
// with one prepared statement per table and one transaction per batch:
// a message row per new message id, its ids and recipients, a row per
// record. No validation, no stitching, no state.
func insertTrackingRows(ctx context.Context, st *store.Store, batches [][]tracking.Record) (int, error) {
	names := map[string]int64{}
	msgs := map[string]int64{}
	rows := 0
	for _, b := range batches {
		err := st.Write(ctx, func(tx *store.Tx) error {
			var stmts []interface{ Close() error }
			defer func() {
				for _, s := range stmts {
					s.Close()
				}
			}()
			prep := func(q string) (func(args ...any) error, error) {
				s, err := tx.PrepareContext(ctx, q)
				if err != nil {
					return nil, err
				}
				stmts = append(stmts, s)
				return func(args ...any) error { _, err := s.ExecContext(ctx, args...); return err }, nil
			}
			insName, err := prep(`INSERT INTO tracking_names (id, name, sends) VALUES (?, ?, 1)`)
			if err != nil {
				return err
			}
			insMsg, err := prep(`INSERT INTO tracking_messages (id, message_id, sender, subject, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			insID, err := prep(`INSERT OR IGNORE INTO tracking_ids (ident, msg) VALUES (?, ?)`)
			if err != nil {
				return err
			}
			insRcpt, err := prep(`INSERT OR IGNORE INTO tracking_recipients (addr, msg) VALUES (?, ?)`)
			if err != nil {
				return err
			}
			insRec, err := prep(`INSERT INTO tracking_records (msg, t, server, event, partner, size, remote_id) VALUES (?, ?, ?, ?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			name := func(s string) (int64, error) {
				if s == "" {
					return 0, nil
				}
				k := strings.ToLower(s)
				if id, ok := names[k]; ok {
					return id, nil
				}
				id := int64(len(names) + 1)
				names[k] = id
				return id, insName(id, s)
			}
			for _, r := range b {
				msg, ok := msgs[r.MessageID]
				if !ok {
					msg = int64(len(msgs) + 1)
					msgs[r.MessageID] = msg
					t := r.Time.UnixMilli()
					if err := insMsg(msg, r.MessageID, r.Sender, r.Subject, t, t); err != nil {
						return err
					}
					if err := insID(r.MessageID, msg); err != nil {
						return err
					}
					for _, a := range r.Recipients {
						if err := insRcpt(a, msg); err != nil {
							return err
						}
					}
				}
				sid, err := name(r.Server)
				if err != nil {
					return err
				}
				pid, err := name(r.Partner)
				if err != nil {
					return err
				}
				var remote any
				if r.RemoteID != "" {
					remote = r.RemoteID
				}
				if err := insRec(msg, r.Time.UnixMilli(), sid, 0, pid, r.Size, remote); err != nil {
					return err
				}
				rows++
			}
			return nil
		})
		if err != nil {
			return rows, fmt.Errorf("baseline: %w", err)
		}
	}
	return rows, nil
}

// selfCPU is this process's user+system CPU time in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
