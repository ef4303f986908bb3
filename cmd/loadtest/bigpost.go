package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// cmdBigpost measures the server's peak resident memory while N agents
// each post one body of the largest size ingest takes, all at once: the
// bound on bytes in flight, the streaming decode and the per-batch cap
// are what keep it flat. Refused posts (429) retry after a short pause,
// a bounded number of times, until every body is accepted.
//
//	loadtest bigpost [--posts 16] [--bytes 8300000] [--events 10000]
func cmdBigpost(args []string) error {
	fs := flag.NewFlagSet("bigpost", flag.ContinueOnError)
	posts := fs.Int("posts", 16, "parallel posts (at most 64)")
	size := fs.Int("bytes", 8_300_000, "bytes per body (at most 8 MiB, the ingest limit)")
	events := fs.Int("events", 10_000, "events per body (at most 10,000, the default batch cap)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if *posts, err = capInt("posts", *posts, 1, 64); err != nil {
		return err
	}
	if *size, err = capInt("bytes", *size, 10_000, 8<<20); err != nil {
		return err
	}
	if *events, err = capInt("events", *events, 1, 10_000); err != nil {
		return err
	}
	body := bigBody(*events, *size)
	dir, err := os.MkdirTemp("", "loadtest-bigpost-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	c, err := spawn("mailnet", filepath.Join(dir, "bigpost.db"))
	if err != nil {
		return err
	}
	defer c.stop()
	if err := checkLoopback(c.info.Addr); err != nil {
		return err
	}
	pid := c.cmd.Process.Pid
	before := rssKiB(pid)

	var refused, accepted atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range *posts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 600 {
				status, err := postOnce(c, body)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				switch status {
				case http.StatusAccepted:
					accepted.Add(1)
					return
				case http.StatusTooManyRequests:
					refused.Add(1)
					time.Sleep(100 * time.Millisecond)
					continue
				}
				firstErr.CompareAndSwap(nil, fmt.Errorf("POST events: status %d", status))
				return
			}
			firstErr.CompareAndSwap(nil, errors.New("POST events: still 429 after 600 tries"))
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	peak := peakKiB(pid)
	fmt.Printf("server RSS: %.0f MB before, peak (VmHWM) %.0f MB (target < 250 MB)\n", float64(before)/1024, float64(peak)/1024)
	if e, _ := firstErr.Load().(error); e != nil {
		return e
	}
	fmt.Printf("bigpost: %d parallel posts of %d bytes (%d events each): %d accepted, %d refused with 429 and retried, in %v\n",
		*posts, len(body), *events, accepted.Load(), refused.Load(), wall.Round(time.Millisecond))
	return nil
}

// bigBody is a JSON array of n events padded to about size bytes.
func bigBody(n, size int) []byte {
	var probe bytes.Buffer
	eventJSON(&probe, 0, 1)
	pad := max(0, size/n-probe.Len()-12)
	filler := strings.Repeat("x", pad)
	var buf bytes.Buffer
	buf.Grow(size + n)
	buf.WriteByte('[')
	for i := range n {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"server":"EXCH%d","source":"MSExchangeMTA","event_id":9301,"category":"Sent","severity":"info","description":"event %d. %s %s","fields":{"from":"alice@hq","to":"bob@branch"}}`,
			i%8, i, padding, filler)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// postOnce posts body once and returns the status.
func postOnce(c *child, body []byte) (int, error) {
	req, _ := http.NewRequest("POST", "http://"+c.info.Addr+"/api/v1/events", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.info.Agent)
	req.Header.Set("Content-Type", "application/json")
	res, err := httpClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

// peakKiB is the peak resident set of pid so far (VmHWM).
func peakKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
