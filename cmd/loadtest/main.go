// Command loadtest measures the live backbone on this machine, bounded in
// count and time and on loopback only:
//
//	loadtest ingest   events/s over HTTP against batched inserts of the same
//	                  rows straight into the schema; p99 POST-to-frame
//	loadtest fanout   N websocket clients at R events/s: delivered fraction,
//	                  p99 latency, server CPU per delivery; against the
//	                  gorilla chat example's hub as shipped
//	loadtest idle     server memory per idle websocket connection
//	loadtest bigpost  peak server memory under N parallel 8 MB ingest posts
//
// Servers run as child processes of this binary (so /proc/PID/stat is the
// server's alone) on 127.0.0.1 with fresh databases in a temporary folder.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"mailnet/internal/actions"
	"mailnet/internal/ingest"
	"mailnet/internal/live"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
	"mailnet/web"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: loadtest ingest|fanout|idle|latency|bigpost [flags]")
	}
	raiseFDLimit()
	switch args[0] {
	case "ingest":
		return cmdIngest(args[1:])
	case "fanout":
		return cmdFanout(args[1:])
	case "idle":
		return cmdIdle(args[1:])
	case "latency":
		return cmdLatency(args[1:])
	case "bigpost":
		return cmdBigpost(args[1:])
	case "eventspage":
		return cmdEventsPage(args[1:])
	case "watch":
		return cmdWatch(args[1:])
	case "pages":
		return cmdPages(args[1:])
	case "tracking":
		return cmdTracking(args[1:])
	case "_serve-mailnet":
		return childMailnet(args[1:], false)
	case "_serve-mailnet-goroutine":
		return childMailnet(args[1:], true)
	case "_serve-chat":
		return childChat()
	}
	return fmt.Errorf("unknown subcommand %q", args[0])
}

// raiseFDLimit lifts the open-files limit to its hard maximum (children
// inherit it): thousands of sockets on both ends.
func raiseFDLimit() {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}

// checkLoopback refuses any target that is not on this machine.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing target %s: only 127.0.0.0/8 and ::1", addr)
	}
	return nil
}

func capInt(name string, v, lo, hi int) (int, error) {
	if v < lo || v > hi {
		return 0, fmt.Errorf("--%s must be between %d and %d", name, lo, hi)
	}
	return v, nil
}

// ---- children ----

type childInfo struct {
	Addr   string `json:"addr"`
	Agent  string `json:"agent"`
	Viewer string `json:"viewer"`
}

type child struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	info childInfo
}

// spawn starts this binary as a server child and reads its address.
func spawn(kind, db string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"_serve-" + kind}
	if db != "" {
		args = append(args, "--db", db)
	}
	cmd := exec.Command(self, args...)
	if serverCPUs != "" {
		cmd = exec.Command("taskset", append([]string{"-c", serverCPUs, self}, args...)...)
	}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, in: in}
	line, err := bufio.NewReader(out).ReadBytes('\n')
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("%s child: %w", kind, err)
	}
	if err := json.Unmarshal(line, &c.info); err != nil {
		c.stop()
		return nil, fmt.Errorf("%s child said %q: %w", kind, line, err)
	}
	if err := checkLoopback(c.info.Addr); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// stop closes the child's stdin (it exits) and waits, killing it after 10s.
func (c *child) stop() {
	c.in.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

// exitOnStdinClose ends a child when its parent goes away.
func exitOnStdinClose() {
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
}

// childMailnet serves the console; goroutineReader gives every socket a
// reader goroutine instead of the shared poller (server kind
// mailnet-goroutine, for the comparison).
func childMailnet(args []string, goroutineReader bool) error {
	fs := flag.NewFlagSet("_serve-mailnet", flag.ContinueOnError)
	db := fs.String("db", "", "database file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	st, err := store.Open(ctx, *db, store.Options{})
	if err != nil {
		return err
	}
	hub := live.NewHub()
	w := ingest.New(st, hub, nil, ingest.Options{})
	pub := live.Tee(hub, live.PublisherFunc(w.Observe))
	log := slog.New(slog.DiscardHandler)
	// Every load-test client streams with the one viewer token: lift the
	// per-credential cap (20 by default) above the most clients a run has.
	srv, err := web.New(web.Config{Store: st, Actions: actions.New(st, pub, log), Live: pub, Hub: hub, Ingest: w,
		Log: log, Registry: prometheus.NewRegistry(), Now: func() time.Time { return time.Now().UTC() },
		WS: web.WSOptions{PerCredential: 25_000, GoroutineReader: goroutineReader}})
	if err != nil {
		return err
	}
	admin := mailnet.WithPrincipal(ctx, &mailnet.Principal{Name: "loadtest", Role: mailnet.RoleAdmin})
	_, agent, err := actions.New(st, nil, nil).CreateToken(admin, "loadtest-agent", "agent")
	if err != nil {
		return err
	}
	_, viewer, err := actions.New(st, nil, nil).CreateToken(admin, "loadtest-viewer", "viewer")
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	b, _ := json.Marshal(childInfo{Addr: ln.Addr().String(), Agent: agent, Viewer: viewer})
	fmt.Printf("%s\n", b)
	exitOnStdinClose()
	return (&http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
}

func childChat() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	b, _ := json.Marshal(childInfo{Addr: ln.Addr().String()})
	fmt.Printf("%s\n", b)
	exitOnStdinClose()
	return runChatServer(ln)
}

// ---- pinning ----

// serverCPUs, when set (--server-cpus), is the CPU list server children
// run on (taskset -c: every thread, and GOMAXPROCS follows).
var serverCPUs string

// pinFlags adds --server-cpus and --client-cpus to fs.
func pinFlags(fs *flag.FlagSet) (server, client *string) {
	server = fs.String("server-cpus", "", "CPU list the server children run on (taskset -c), e.g. 0")
	client = fs.String("client-cpus", "", "CPU list this process (the load) runs on (taskset -c), e.g. 1")
	return server, client
}

// pin runs the servers on server's CPUs and this process on client's: it
// re-executes itself under taskset (once) when client is set.
func pin(server, client string) error {
	serverCPUs = server
	if client == "" || os.Getenv("LOADTEST_PINNED") == client {
		return nil
	}
	ts, err := exec.LookPath("taskset")
	if err != nil {
		return fmt.Errorf("--client-cpus needs taskset: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	return syscall.Exec(ts, append([]string{"taskset", "-c", client, self}, os.Args[1:]...),
		append(os.Environ(), "LOADTEST_PINNED="+client))
}

// ---- /proc ----

// cpuSeconds is the user+system CPU time of pid (clock ticks at 100 Hz).
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

// rssKiB is the resident set of pid.
func rssKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// ---- events ----

const padding = "Message delivered to the remote MTA over the X.400 connector; load test padding."

// eventJSON appends one event whose description carries ts=<unix ns>;.
func eventJSON(buf *bytes.Buffer, i int, ts int64) {
	fmt.Fprintf(buf, `{"server":"EXCH%d","source":"MSExchangeMTA","event_id":9301,"category":"Sent","severity":"info","description":"ts=%d; event %d. %s","fields":{"from":"alice@hq","to":"bob@branch","connector":"X400-A"}}`,
		i%8, ts, i, padding)
}

func batchBody(n, from int, ts int64) []byte {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := range n {
		if i > 0 {
			buf.WriteByte(',')
		}
		eventJSON(&buf, from+i, ts)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 60 * time.Second}

func post(c *child, body []byte) error {
	for range 50 {
		req, _ := http.NewRequest("POST", "http://"+c.info.Addr+"/api/v1/events", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+c.info.Agent)
		req.Header.Set("Content-Type", "application/json")
		res, err := httpClient.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		switch res.StatusCode {
		case http.StatusAccepted:
			return nil
		case http.StatusTooManyRequests:
			time.Sleep(50 * time.Millisecond)
			continue
		}
		return fmt.Errorf("POST events: status %d", res.StatusCode)
	}
	return errors.New("POST events: still 429 after 50 tries")
}

// tsOf finds every ts=<n>; in a message (the chat server joins several
// with newlines) and calls f with each.
func tsOf(msg []byte, f func(int64)) {
	for {
		i := bytes.Index(msg, []byte("ts="))
		if i < 0 {
			return
		}
		msg = msg[i+3:]
		j := bytes.IndexByte(msg, ';')
		if j < 0 {
			return
		}
		if n, err := strconv.ParseInt(string(msg[:j]), 10, 64); err == nil {
			f(n)
		}
		msg = msg[j:]
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

func dialWS(c *child, kind string) (*websocket.Conn, error) {
	h := http.Header{}
	u := url.URL{Scheme: "ws", Host: c.info.Addr, Path: "/ws"}
	if strings.HasPrefix(kind, "mailnet") {
		h.Set("Authorization", "Bearer "+c.info.Viewer)
		u.RawQuery = "types=event"
	}
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 1024}
	conn, _, err := d.Dial(u.String(), h)
	return conn, err
}

// ---- ingest ----

func cmdIngest(args []string) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	events := fs.Int("events", 200_000, "events for the throughput comparison (at most 2,000,000)")
	batch := fs.Int("batch", 1000, "events per POST and per baseline transaction")
	senders := fs.Int("senders", 4, "concurrent POSTers")
	rateList := fs.String("rate", "10000", "events/s for the latency run (at most 50,000); a comma list runs one after the other")
	secs := fs.Int("seconds", 10, "length of the latency run (at most 120)")
	serverCPUs, clientCPUs := pinFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := pin(*serverCPUs, *clientCPUs); err != nil {
		return err
	}
	fmt.Printf("load average at start: %s\n", loadAvg())
	var err error
	if *events, err = capInt("events", *events, 1000, 2_000_000); err != nil {
		return err
	}
	var rates []int
	for _, f := range strings.Split(*rateList, ",") {
		r, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("--rate: %w", err)
		}
		if r, err = capInt("rate", r, 100, 50_000); err != nil {
			return err
		}
		rates = append(rates, r)
	}
	if *secs, err = capInt("seconds", *secs, 1, 120); err != nil {
		return err
	}
	if *batch, err = capInt("batch", *batch, 1, 5000); err != nil {
		return err
	}
	*senders = max(1, min(*senders, 64))
	dir, err := os.MkdirTemp("", "loadtest-ingest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// Baseline: the same rows straight into the same schema, batch rows
	// per transaction, with a plain prepared INSERT (no HTTP, no JSON
	// decoding, no validation, no name lookup, no idempotency check).
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "baseline.db"), store.Options{})
	if err != nil {
		return err
	}
	var rows []mailnet.Event
	for _, b := range [][]byte{batchBody(*events, 0, 1)} {
		var in []ingest.Input
		if err := json.Unmarshal(b, &in); err != nil {
			return err
		}
		items, err := ingest.Validate(in, time.Now())
		if err != nil {
			return err
		}
		for _, it := range items {
			rows = append(rows, it.Event)
		}
	}
	start := time.Now()
	for i := 0; i < len(rows); i += *batch {
		chunk := rows[i:min(i+*batch, len(rows))]
		err := st.Write(ctx, func(tx *store.Tx) error {
			stmt, err := tx.PrepareContext(ctx, `INSERT INTO events (time, server, source, event_id, category, severity, description, subject, fields, unknown_server)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for _, ev := range chunk {
				fields, _ := json.Marshal(ev.Fields)
				if _, err := stmt.ExecContext(ctx, ev.Time.UTC().Format(store.TimeLayout), ev.Server, ev.Source, ev.EventID,
					ev.Category, ev.Severity, ev.Description, ev.Subject, string(fields)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	baseRate := float64(len(rows)) / time.Since(start).Seconds()
	st.Close()
	fmt.Printf("baseline: %d rows in transactions of %d straight into the schema: %.0f rows/s\n", len(rows), *batch, baseRate)

	c, err := spawn("mailnet", filepath.Join(dir, "http.db"))
	if err != nil {
		return err
	}
	defer c.stop()
	bodies := make(chan []byte, *senders)
	go func() {
		for i := 0; i < *events; i += *batch {
			bodies <- batchBody(min(*batch, *events-i), i, 1)
		}
		close(bodies)
	}()
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start = time.Now()
	for range *senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range bodies {
				if err := post(c, b); err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	if e, _ := firstErr.Load().(error); e != nil {
		return e
	}
	httpRate := float64(*events) / time.Since(start).Seconds()
	fmt.Printf("http ingest: %d events in batches of %d from %d senders: %.0f events/s; ratio to baseline %.2f (target >= 0.5)\n",
		*events, *batch, *senders, httpRate, httpRate/baseRate)

	for _, r := range rates {
		if err := ingestLatency(c, r, *secs); err != nil {
			return err
		}
	}
	return nil
}

// ingestLatency posts at rate for secs while a websocket client
// timestamps each frame: POST-to-frame latency.
func ingestLatency(c *child, rate, secs int) error {
	// Latency: POST at rate, a websocket client timestamps each frame.
	conn, err := dialWS(c, "mailnet")
	if err != nil {
		return err
	}
	defer conn.Close()
	var lat, rtt []time.Duration
	var mu sync.Mutex
	phase := time.Now().UnixNano() // frames of the throughput run carry ts=1
	readDone := make(chan struct{})
	var postsDone atomic.Bool
	var readEnd error // why the reader stopped: a close frame says why it was cut off
	go func() {
		defer close(readDone)
		for {
			// Frames may lag the posts by more than seconds when ingest
			// queues: the reader gives up only 5 s after the last post.
			wait := time.Minute
			if postsDone.Load() {
				wait = 5 * time.Second
			}
			conn.SetReadDeadline(time.Now().Add(wait))
			_, msg, err := conn.ReadMessage()
			if err != nil {
				readEnd = err
				return
			}
			now := time.Now().UnixNano()
			mu.Lock()
			tsOf(msg, func(ts int64) {
				if ts > phase {
					lat = append(lat, time.Duration(now-ts))
				}
			})
			mu.Unlock()
		}
	}()
	// Every tick posts what is due by then (rate x elapsed): a tick the
	// loaded machine delays posts a larger batch, never fewer events.
	var refused atomic.Int64 // events of posts that failed (still 429 after the retries)
	const tick = 10 * time.Millisecond
	total := rate * secs
	t := time.NewTicker(tick)
	sent := 0
	start := time.Now()
	var pw sync.WaitGroup
	for sent < total {
		<-t.C
		due := min(total, int(float64(rate)*time.Since(start).Seconds())+1)
		if time.Since(start) >= time.Duration(secs)*time.Second {
			due = total
		}
		per := due - sent
		if per <= 0 {
			continue
		}
		b := batchBody(per, sent, time.Now().UnixNano())
		sent += per
		pw.Add(1)
		go func() {
			defer pw.Done()
			t0 := time.Now()
			if err := post(c, b); err != nil {
				refused.Add(int64(per))
				return
			}
			// The console answers once the batch is committed and its
			// frames are handed to the hub: POST-to-202 is the ingest
			// part of POST-to-frame, the rest is the delivery.
			d := time.Since(t0)
			mu.Lock()
			rtt = append(rtt, d)
			mu.Unlock()
		}()
	}
	postEnd := time.Since(start)
	t.Stop()
	pw.Wait()
	postsDone.Store(true)
	<-readDone
	mu.Lock()
	n := len(lat)
	p50, p99, pmax := percentile(lat, 0.5), percentile(lat, 0.99), percentile(lat, 1)
	mu.Unlock()
	fmt.Printf("latency at %d events/s for %ds (posted in %v): %d of %d frames (%d refused); POST-to-frame p50 %v, p99 %v (target < 100ms), max %v; load %s\n",
		rate, secs, postEnd.Round(time.Millisecond), n, sent, refused.Load(), p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), pmax.Round(time.Millisecond), loadAvg())
	mu.Lock()
	fmt.Printf("  of which POST to 202 (batch committed, frames handed to the hub): p50 %v, p99 %v over %d posts\n",
		percentile(rtt, 0.5).Round(10*time.Microsecond), percentile(rtt, 0.99).Round(10*time.Microsecond), len(rtt))
	mu.Unlock()
	var ce *websocket.CloseError
	if errors.As(readEnd, &ce) {
		fmt.Printf("the websocket client was closed: %d %s\n", ce.Code, ce.Text)
	}
	return nil
}

// ---- fanout ----

func cmdFanout(args []string) error {
	fs := flag.NewFlagSet("fanout", flag.ContinueOnError)
	servers := fs.String("server", "mailnet,chat", "servers to measure: mailnet, chat or both")
	clients := fs.Int("clients", 1000, "websocket clients (at most 10,000)")
	rate := fs.Int("rate", 200, "events/s (at most 5,000)")
	secs := fs.Int("seconds", 10, "length of the run (at most 120)")
	runs := fs.Int("runs", 1, "rounds, each measuring every server in turn (at most 10)")
	serverCPUs, clientCPUs := pinFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if *clients, err = capInt("clients", *clients, 1, 10_000); err != nil {
		return err
	}
	if *rate, err = capInt("rate", *rate, 1, 5000); err != nil {
		return err
	}
	if *secs, err = capInt("seconds", *secs, 1, 120); err != nil {
		return err
	}
	if *runs, err = capInt("runs", *runs, 1, 10); err != nil {
		return err
	}
	if err := pin(*serverCPUs, *clientCPUs); err != nil {
		return err
	}
	kinds := strings.Split(*servers, ",")
	res := map[string][]fanoutResult{}
	for r := range *runs {
		for _, kind := range kinds {
			kind = strings.TrimSpace(kind)
			fr, err := fanout(kind, *clients, *rate, *secs)
			if err != nil {
				return fmt.Errorf("%s: %w", kind, err)
			}
			fmt.Printf("run %d: %s\n", r+1, fr)
			res[kind] = append(res[kind], fr)
		}
	}
	m, c := res["mailnet"], res["chat"]
	if len(m) == 0 || len(m) != len(c) {
		return nil
	}
	var cpuR, p99R []float64
	for i := range m {
		cpuR = append(cpuR, m[i].usPer/c[i].usPer)
		p99R = append(p99R, float64(m[i].p99)/float64(c[i].p99))
	}
	fmt.Printf("mailnet/chat over %d runs: CPU per delivery %s (target <= 0.8), p99 %s (target <= 1)\n",
		len(m), spread(cpuR, "x"), spread(p99R, "x"))
	return nil
}

// spread is "min-max" (or the one value) of vs with unit.
func spread(vs []float64, unit string) string {
	lo, hi := slices.Min(vs), slices.Max(vs)
	if lo == hi {
		return fmt.Sprintf("%.2f%s", lo, unit)
	}
	return fmt.Sprintf("%.2f-%.2f%s", lo, hi, unit)
}

type fanoutResult struct {
	kind                string
	clients, rate, secs int
	got, want           int64
	p50, p99            time.Duration
	cpu, usPer          float64
	loadCPU             float64       // this process's: the clients and the publisher
	refused             *atomic.Int64 // events of failed posts (mailnet)
	postErr             string
	loadStart, loadEnd  string
}

func (r fanoutResult) String() string {
	return fmt.Sprintf("fanout %-7s %d clients x %d events/s x %ds: delivered %d of %d (%.4f), p50 %v, p99 %v, server CPU %.2fs = %.2f us per delivery (clients' CPU %.2fs); load %s -> %s",
		r.kind, r.clients, r.rate, r.secs, r.got, r.want, float64(r.got)/float64(max(1, r.want)),
		r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.cpu, r.usPer, r.loadCPU, r.loadStart, r.loadEnd) +
		r.failed()
}

// failed says which posts failed, if any.
func (r fanoutResult) failed() string {
	if n := r.refused.Load(); n > 0 {
		return fmt.Sprintf("; %d events not accepted (%s)", n, r.postErr)
	}
	return ""
}

func fanout(kind string, clients, rate, secs int) (fanoutResult, error) {
	res := fanoutResult{kind: kind, clients: clients, rate: rate, secs: secs, refused: new(atomic.Int64)}
	dir, err := os.MkdirTemp("", "loadtest-fanout-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	db := ""
	if strings.HasPrefix(kind, "mailnet") {
		db = filepath.Join(dir, "fanout.db")
	} else if kind != "chat" {
		return res, fmt.Errorf("unknown server %q", kind)
	}
	c, err := spawn(kind, db)
	if err != nil {
		return res, err
	}
	defer c.stop()

	conns := make([]*websocket.Conn, clients)
	for i := range conns {
		if conns[i], err = dialWS(c, kind); err != nil {
			return res, fmt.Errorf("client %d: %w", i, err)
		}
	}
	var delivered atomic.Int64
	lats := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	stopRead := make(chan struct{})
	for i, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			var buf bytes.Buffer // reused: the load's own cost stays small next to the server's
			for {
				conn.SetReadDeadline(time.Now().Add(time.Duration(secs+30) * time.Second))
				_, r, err := conn.NextReader()
				if err != nil {
					return
				}
				buf.Reset()
				if _, err := buf.ReadFrom(r); err != nil {
					return
				}
				now := time.Now().UnixNano()
				tsOf(buf.Bytes(), func(ts int64) {
					lats[i] = append(lats[i], time.Duration(now-ts))
					delivered.Add(1)
				})
				select {
				case <-stopRead:
					return
				default:
				}
			}
		}()
	}
	var pub *websocket.Conn
	if kind == "chat" {
		if pub, err = dialWS(c, kind); err != nil {
			return res, err
		}
		defer pub.Close()
		go func() { // the chat hub echoes to the publisher too; drain it
			for {
				if _, _, err := pub.ReadMessage(); err != nil {
					return
				}
			}
		}()
	}
	time.Sleep(time.Second)
	res.loadStart = loadAvg()
	pid := c.cmd.Process.Pid
	cpu0, self0 := cpuSeconds(pid), cpuSeconds(os.Getpid())
	// Every tick sends what is due by then (rate x elapsed), so a tick
	// the loaded machine delays sends more rather than the run sending
	// fewer events: both servers get rate x seconds events.
	const tick = 10 * time.Millisecond
	every := tick
	if rate < 100 {
		every = time.Second / time.Duration(rate)
	}
	total := rate * secs
	var postErr atomic.Value
	t := time.NewTicker(every)
	sent := 0
	start := time.Now()
	var pw sync.WaitGroup
	for sent < total {
		<-t.C
		due := min(total, int(float64(rate)*time.Since(start).Seconds())+1)
		if time.Since(start) >= time.Duration(secs)*time.Second {
			due = total
		}
		per := due - sent
		if per <= 0 {
			continue
		}
		ts := time.Now().UnixNano()
		if kind == "chat" {
			for k := range per {
				var buf bytes.Buffer
				eventJSON(&buf, sent+k, ts)
				if err := pub.WriteMessage(websocket.TextMessage, buf.Bytes()); err != nil {
					return res, err
				}
			}
		} else {
			b := batchBody(per, sent, ts)
			pw.Add(1)
			go func() {
				defer pw.Done()
				if err := post(c, b); err != nil {
					res.refused.Add(int64(per))
					postErr.CompareAndSwap(nil, err.Error()) // a string: errors' types differ
				}
			}()
		}
		sent += per
	}
	t.Stop()
	pw.Wait()
	// Let the queues drain, then stop.
	want := int64(sent) * int64(clients)
	for i := 0; i < 300 && delivered.Load() < want; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	cpu := cpuSeconds(pid) - cpu0
	res.loadCPU = cpuSeconds(os.Getpid()) - self0
	res.loadEnd = loadAvg()
	close(stopRead)
	for _, conn := range conns {
		conn.Close()
	}
	wg.Wait()
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	res.got, res.want, res.cpu = delivered.Load(), want, cpu
	if res.got > 0 {
		res.usPer = cpu / float64(res.got) * 1e6
	}
	res.p50, res.p99 = percentile(all, 0.5), percentile(all, 0.99)
	res.postErr, _ = postErr.Load().(string)
	return res, nil
}

// ---- idle ----

func cmdIdle(args []string) error {
	fs := flag.NewFlagSet("idle", flag.ContinueOnError)
	servers := fs.String("server", "mailnet,chat", "servers to measure: mailnet, mailnet-goroutine (a reader goroutine per socket), chat")
	clients := fs.Int("clients", 5000, "idle websocket clients (at most 20,000)")
	runs := fs.Int("runs", 1, "rounds, each measuring every server in turn (at most 10)")
	serverCPUs, clientCPUs := pinFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if *clients, err = capInt("clients", *clients, 1, 20_000); err != nil {
		return err
	}
	if *runs, err = capInt("runs", *runs, 1, 10); err != nil {
		return err
	}
	if err := pin(*serverCPUs, *clientCPUs); err != nil {
		return err
	}
	per := map[string][]float64{}
	var kinds []string
	for r := range *runs {
		for _, kind := range strings.Split(*servers, ",") {
			kind = strings.TrimSpace(kind)
			if r == 0 {
				kinds = append(kinds, kind)
			}
			kib, err := idle(kind, *clients)
			if err != nil {
				return err
			}
			per[kind] = append(per[kind], kib)
		}
	}
	for _, kind := range kinds {
		fmt.Printf("idle %-7s over %d runs: %s per connection\n", kind, len(per[kind]), spread(per[kind], " KiB"))
	}
	return nil
}

// idle opens n idle sockets to a fresh kind server and returns its RSS
// growth per socket in KiB.
func idle(kind string, n int) (float64, error) {
	dir, err := os.MkdirTemp("", "loadtest-idle-")
	if err != nil {
		return 0, err
	}
	db := ""
	switch kind {
	case "mailnet", "mailnet-goroutine":
		db = filepath.Join(dir, "idle.db")
	case "chat":
	default:
		os.RemoveAll(dir)
		return 0, fmt.Errorf("unknown server %q", kind)
	}
	c, err := spawn(kind, db)
	if err != nil {
		os.RemoveAll(dir)
		return 0, err
	}
	// Warm up: one connection, so code paths and pools exist before the baseline.
	if w, err := dialWS(c, kind); err == nil {
		w.Close()
	}
	time.Sleep(time.Second)
	pid := c.cmd.Process.Pid
	rss0 := rssKiB(pid)
	conns := make([]*websocket.Conn, 0, n)
	for i := range n {
		conn, err := dialWS(c, kind)
		if err != nil {
			fmt.Printf("idle %s: client %d: %v\n", kind, i, err)
			break
		}
		conns = append(conns, conn)
	}
	time.Sleep(3 * time.Second)
	rss1 := rssKiB(pid)
	kib := float64(rss1-rss0) / float64(max(1, len(conns)))
	fmt.Printf("idle %-7s %d connections: server RSS %d -> %d KiB: %.1f KiB per connection; load %s\n",
		kind, len(conns), rss0, rss1, kib, loadAvg())
	for _, conn := range conns {
		conn.Close()
	}
	c.stop()
	os.RemoveAll(dir)
	if len(conns) < n {
		return kib, fmt.Errorf("idle %s: only %d of %d connections", kind, len(conns), n)
	}
	return kib, nil
}
