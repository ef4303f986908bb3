package main

// loadtest latency: p50/p95/p99/max of GET /healthz and of the Global
// Server Report (GET /api/v1/reports/servers, all rows as JSON) with no
// move running and then while one server is evacuated, against the real
// admin-web serve on a generated network (issue 4: p99 under 100 ms).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"mailnet/internal/mailnet"
)

type latencyOpts struct {
	db                         string
	adminWeb                   string
	servers, users, messages   int
	evacUsers, evacMessages    int
	clients                    int
	pause                      time.Duration
	baselineSecs, maxSecs      int
	maxRequests                int
	jobBatch                   int
	jobPause                   time.Duration
	generateMins, prepareMins  int
	skipPrepare                bool
	reportPath, healthPath     string
	dir, token, base, logPath  string
	serveCmd                   *child
	reportBytes                int64
	loadAvgStart, loadAvgAfter string
}

func cmdLatency(args []string) error {
	fs := flag.NewFlagSet("latency", flag.ContinueOnError)
	var o latencyOpts
	fs.StringVar(&o.db, "db", "", "database to use; generated with admin-web demo when missing (default: a temporary file, removed)")
	fs.StringVar(&o.adminWeb, "admin-web", "", "admin-web binary (default: next to this binary, then $PATH, then go build ./cmd/admin-web)")
	fs.IntVar(&o.servers, "servers", 10_000, "servers to generate (at most 100,000)")
	fs.IntVar(&o.users, "users", 1_000_000, "users to generate (at most 10,000,000)")
	fs.IntVar(&o.messages, "messages", 5_000_000, "messages to generate (at most 50,000,000)")
	fs.IntVar(&o.evacUsers, "evac-users", 10_000, "users the evacuated server should hold; more are moved onto it first (at most 10,000, one move)")
	fs.IntVar(&o.evacMessages, "evac-messages", 1_000_000, "messages the evacuated server should hold; more are delivered to its users first (at most 5,000,000)")
	fs.BoolVar(&o.skipPrepare, "no-prepare", false, "evacuate the biggest server as it is, without moving users or delivering messages onto it")
	fs.IntVar(&o.clients, "clients", 4, "concurrent clients, each alternating /healthz and the report (at most 64)")
	fs.DurationVar(&o.pause, "pause", 0, "pause of each client between requests")
	fs.IntVar(&o.baselineSecs, "baseline-seconds", 10, "length of the baseline with no move running (at most 300)")
	fs.IntVar(&o.maxSecs, "max-seconds", 900, "cap on the evacuation phase; the job is cancelled after it (at most 3600)")
	fs.IntVar(&o.maxRequests, "max-requests", 500_000, "cap on requests per phase")
	fs.IntVar(&o.jobBatch, "job-batch", 0, "MAILNET_JOB_BATCH for the server (rows per move transaction; 0: its default)")
	fs.DurationVar(&o.jobPause, "job-pause", 0, "MAILNET_JOB_PAUSE for the server (pause between move transactions; 0: none)")
	fs.IntVar(&o.generateMins, "generate-minutes", 30, "cap on generating the database")
	fs.IntVar(&o.prepareMins, "prepare-minutes", 20, "cap on preparing the evacuated server")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	for _, c := range []struct {
		name   string
		v      *int
		lo, hi int
	}{
		{"servers", &o.servers, 1, 100_000},
		{"users", &o.users, 1, 10_000_000},
		{"messages", &o.messages, 0, 50_000_000},
		{"evac-users", &o.evacUsers, 1, 10_000},
		{"evac-messages", &o.evacMessages, 0, 5_000_000},
		{"clients", &o.clients, 1, 64},
		{"baseline-seconds", &o.baselineSecs, 1, 300},
		{"max-seconds", &o.maxSecs, 1, 3600},
		{"max-requests", &o.maxRequests, 100, 5_000_000},
		{"job-batch", &o.jobBatch, 0, 1_000_000},
		{"generate-minutes", &o.generateMins, 1, 120},
		{"prepare-minutes", &o.prepareMins, 1, 120},
	} {
		if *c.v, err = capInt(c.name, *c.v, c.lo, c.hi); err != nil {
			return err
		}
	}
	if o.pause < 0 || o.pause > 10*time.Second {
		return errors.New("--pause must be between 0 and 10s")
	}
	o.reportPath = "/api/v1/reports/servers"
	o.healthPath = "/healthz"
	if o.dir, err = os.MkdirTemp("", "loadtest-latency-"); err != nil {
		return err
	}
	defer os.RemoveAll(o.dir)
	o.loadAvgStart = loadAvg()
	fmt.Printf("load average at start: %s (%d CPUs shared with other work)\n", o.loadAvgStart, runtime.NumCPU())

	if o.adminWeb, err = findAdminWeb(o.adminWeb, o.dir); err != nil {
		return err
	}
	if err := o.ensureDB(); err != nil {
		return err
	}
	if err := o.addToken(); err != nil {
		return err
	}
	if err := o.startServer(); err != nil {
		return err
	}
	defer o.stopServer()
	return o.measure()
}

// ---- setup ----

func findAdminWeb(flagged, dir string) (string, error) {
	if flagged != "" {
		return flagged, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "admin-web")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath("admin-web"); err == nil {
		return p, nil
	}
	p := filepath.Join(dir, "admin-web")
	fmt.Println("building admin-web: go build -o", p, "mailnet/cmd/admin-web")
	cmd := exec.Command("go", "build", "-o", p, "mailnet/cmd/admin-web")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building admin-web (run from the module, or pass --admin-web): %w", err)
	}
	return p, nil
}

// ensureDB reuses --db when it exists, else generates the network.
func (o *latencyOpts) ensureDB() error {
	if o.db == "" {
		o.db = filepath.Join(o.dir, "latency.db")
	} else if fi, err := os.Stat(o.db); err == nil && fi.Size() > 0 {
		fmt.Printf("reusing %s (%d MiB)\n", o.db, fi.Size()>>20)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(o.generateMins)*time.Minute)
	defer cancel()
	args := []string{"demo", "--db", o.db, "--servers", strconv.Itoa(o.servers), "--users", strconv.Itoa(o.users),
		"--messages", strconv.Itoa(o.messages), "--quiet"}
	fmt.Printf("generating: admin-web %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, o.adminWeb, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("admin-web demo: %w", err)
	}
	return nil
}

func (o *latencyOpts) addToken() error {
	name := fmt.Sprintf("loadtest-latency-%d", time.Now().UnixNano())
	var out bytes.Buffer
	cmd := exec.Command(o.adminWeb, "token", "add", name, "--role", "admin", "--db", o.db)
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("admin-web token add: %w", err)
	}
	o.token = strings.TrimSpace(out.String())
	if o.token == "" {
		return errors.New("admin-web token add printed no secret")
	}
	return nil
}

// startServer runs admin-web serve on a free loopback port and reads the
// address from its "listening on" line.
func (o *latencyOpts) startServer() error {
	o.logPath = filepath.Join(o.dir, "serve.log")
	logf, err := os.Create(o.logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(o.adminWeb, "serve", "--db", o.db, "--addr", "127.0.0.1:0")
	cmd.Env = os.Environ()
	if o.jobBatch > 0 {
		cmd.Env = append(cmd.Env, "MAILNET_JOB_BATCH="+strconv.Itoa(o.jobBatch))
	}
	if o.jobPause > 0 {
		cmd.Env = append(cmd.Env, "MAILNET_JOB_PAUSE="+o.jobPause.String())
	}
	cmd.Stderr = logf
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	o.serveCmd = &child{cmd: cmd, in: in}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			if _, u, ok := strings.Cut(sc.Text(), "listening on http://"); ok && !sent {
				addr <- strings.TrimSpace(u)
				sent = true
			}
		}
		io.Copy(io.Discard, out)
		if !sent {
			close(addr)
		}
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			return fmt.Errorf("admin-web serve exited before listening; see %s", o.logPath)
		}
		if err := checkLoopback(a); err != nil {
			return err
		}
		o.info("server: admin-web serve --db %s --addr 127.0.0.1:0 -> %s (pid %d)", o.db, a, cmd.Process.Pid)
		o.base = "http://" + a
		o.info("server log: %s (removed at the end)", o.logPath)
		return nil
	case <-time.After(2 * time.Minute):
		return errors.New("admin-web serve did not listen within 2 minutes")
	}
}

// stopServer asks admin-web to shut down (SIGTERM), then child.stop
// waits for it and kills it after 10s.
func (o *latencyOpts) stopServer() {
	if o.serveCmd == nil {
		return
	}
	o.serveCmd.cmd.Process.Signal(syscall.SIGTERM)
	o.serveCmd.stop()
}

func (o *latencyOpts) info(format string, a ...any) { fmt.Printf(format+"\n", a...) }

// ---- API ----

// call sends one request with the admin token and decodes a JSON answer
// into dst (when not nil); any other status than want is an error.
func (o *latencyOpts) call(method, path string, body any, want int, dst any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, o.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+o.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 500))
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, bytes.TrimSpace(b))
	}
	if dst == nil {
		_, err = io.Copy(io.Discard, res.Body)
		return err
	}
	return json.NewDecoder(res.Body).Decode(dst)
}

type reportRow struct {
	ID              int64  `json:"id"`
	Name            string `json:"name"`
	Kind            string `json:"kind"`
	Status          string `json:"status"`
	UserCount       int64  `json:"user_count"`
	MessageCount    int64  `json:"message_count"`
	DuplicateSerial bool   `json:"duplicate_serial"`
}

func (o *latencyOpts) serversByUsers() ([]reportRow, error) {
	var rep struct {
		Servers []reportRow `json:"servers"`
	}
	err := o.call("GET", o.reportPath+"?sort=users&desc=1", nil, http.StatusOK, &rep)
	return rep.Servers, err
}

func (o *latencyOpts) server(id int64) (reportRow, error) {
	rows, err := o.serversByUsers()
	if err != nil {
		return reportRow{}, err
	}
	for _, r := range rows {
		if r.ID == id {
			return r, nil
		}
	}
	return reportRow{}, fmt.Errorf("server %d is not in the report", id)
}

// userIDs pages through GET /api/v1/users?server_id= for up to n ids.
func (o *latencyOpts) userIDs(serverID int64, n int) ([]int64, error) {
	var ids []int64
	var after int64
	for page := 0; page < 1000 && len(ids) < n; page++ {
		var res struct {
			Users []struct {
				ID int64 `json:"id"`
			} `json:"users"`
			Next int64 `json:"next_after_id"`
		}
		path := fmt.Sprintf("/api/v1/users?server_id=%d&limit=1000&after_id=%d", serverID, after)
		if err := o.call("GET", path, nil, http.StatusOK, &res); err != nil {
			return nil, err
		}
		for _, u := range res.Users {
			if len(ids) < n {
				ids = append(ids, u.ID)
			}
		}
		if res.Next == 0 {
			break
		}
		after = res.Next
	}
	return ids, nil
}

// job reads a job from GET /api/v1/jobs (the list has no per-user items,
// so polling it does not add a 10,000-item answer to the measured load).
func (o *latencyOpts) job(id int64) (mailnet.JobDetail, error) {
	var res struct {
		Jobs []mailnet.JobDetail `json:"jobs"`
	}
	if err := o.call("GET", "/api/v1/jobs?limit=50", nil, http.StatusOK, &res); err != nil {
		return mailnet.JobDetail{}, err
	}
	for _, j := range res.Jobs {
		if j.ID == id {
			return j, nil
		}
	}
	var j mailnet.JobDetail
	err := o.call("GET", fmt.Sprintf("/api/v1/jobs/%d", id), nil, http.StatusOK, &j)
	return j, err
}

func (o *latencyOpts) startMove(req map[string]any) (mailnet.JobDetail, error) {
	var j mailnet.JobDetail
	err := o.call("POST", "/api/v1/moves", req, http.StatusAccepted, &j)
	return j, err
}

// waitJob polls once a second until the job ends or the deadline passes.
func (o *latencyOpts) waitJob(id int64, deadline time.Time) (mailnet.JobDetail, error) {
	for {
		j, err := o.job(id)
		if err != nil {
			return j, err
		}
		if j.Finished() {
			if j.Status != mailnet.JobDone {
				return j, fmt.Errorf("job %d ended %s: %s", id, j.Status, j.Error)
			}
			return j, nil
		}
		if time.Now().After(deadline) {
			return j, fmt.Errorf("job %d still %s (%d of %d) at the time cap", id, j.Status, j.Done, j.Total)
		}
		time.Sleep(time.Second)
	}
}

// jobRate is messages per second between the job's start and finish as
// the server recorded them, or over the given wall time without them.
func jobRate(j mailnet.JobDetail, wall time.Duration) (float64, time.Duration) {
	d := wall
	if s, f := j.StartedAt, j.FinishedAt; !s.IsZero() && f.After(s) {
		d = f.Sub(s)
	}
	if d <= 0 {
		return 0, d
	}
	return float64(j.Done) / d.Seconds(), d
}

// ---- choosing and preparing the servers ----

// pick returns the evacuated server (most users, running, not in a
// duplicate group), a target (running, same kind, not in a group, the
// fewest users) and the rest as donors, biggest first.
func pick(rows []reportRow) (src, dst reportRow, donors []reportRow, err error) {
	ok := func(r reportRow) bool { return r.Status == "running" && !r.DuplicateSerial }
	i := 0
	for ; i < len(rows) && !ok(rows[i]); i++ {
	}
	if i == len(rows) {
		return src, dst, nil, errors.New("no running server outside duplicate groups")
	}
	src = rows[i]
	for k := len(rows) - 1; k >= 0; k-- {
		if r := rows[k]; r.ID != src.ID && ok(r) && r.Kind == src.Kind {
			dst = r
			break
		}
	}
	if dst.ID == 0 {
		return src, dst, nil, fmt.Errorf("no running %s server besides %s to evacuate to", src.Kind, src.Name)
	}
	for _, r := range rows {
		if ok(r) && r.ID != src.ID && r.ID != dst.ID && r.UserCount > 0 {
			donors = append(donors, r)
		}
	}
	return src, dst, donors, nil
}

// prepare brings src to evacUsers users (one move of users from the
// donors onto it) and evacMessages messages (delivered to its users over
// the API), so that the evacuation has the size issue 4 names.
func (o *latencyOpts) prepare(src reportRow, donors []reportRow) (reportRow, error) {
	deadline := time.Now().Add(time.Duration(o.prepareMins) * time.Minute)
	if need := int64(o.evacUsers) - src.UserCount; need > 0 {
		var ids []int64
		used := 0
		for _, d := range donors {
			if int64(len(ids)) >= need || time.Now().After(deadline) {
				break
			}
			got, err := o.userIDs(d.ID, int(need)-len(ids))
			if err != nil {
				return src, err
			}
			ids = append(ids, got...)
			used++
		}
		start := time.Now()
		j, err := o.startMove(map[string]any{"user_ids": ids, "to_server_id": src.ID})
		if err != nil {
			return src, fmt.Errorf("preparing: %w", err)
		}
		if j, err = o.waitJob(j.ID, deadline); err != nil {
			return src, fmt.Errorf("preparing: %w", err)
		}
		rate, d := jobRate(j, time.Since(start))
		o.info("prepared: moved %d users (%d messages) from %d servers onto %s in %v: %.0f messages/s (job %d, no other load)",
			len(ids), j.Done, used, src.Name, d.Round(time.Millisecond), rate, j.ID)
	}
	cur, err := o.server(src.ID)
	if err != nil {
		return src, err
	}
	if need := int64(o.evacMessages) - cur.MessageCount; need > 0 {
		ids, err := o.userIDs(src.ID, o.evacUsers*2)
		if err != nil {
			return cur, err
		}
		if len(ids) == 0 {
			return cur, fmt.Errorf("%s has no users to deliver to", src.Name)
		}
		start := time.Now()
		if err := o.deliver(ids, need, deadline); err != nil {
			return cur, fmt.Errorf("preparing: %w", err)
		}
		el := time.Since(start)
		o.info("prepared: delivered %d messages to the %d users of %s over POST /api/v1/users/{id}/messages in %v (%.0f messages/s)",
			need, len(ids), src.Name, el.Round(time.Millisecond), float64(need)/el.Seconds())
		if cur, err = o.server(src.ID); err != nil {
			return cur, err
		}
	}
	return cur, nil
}

// deliver spreads need messages over the users, one POST per user, from
// four workers.
func (o *latencyOpts) deliver(ids []int64, need int64, deadline time.Time) error {
	per := need / int64(len(ids))
	extra := need % int64(len(ids))
	type task struct {
		id int64
		n  int64
	}
	tasks := make(chan task)
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range tasks {
				for sent := int64(0); sent < t.n; {
					k := min(t.n-sent, 2000)
					msgs := make([]map[string]any, k)
					for i := range msgs {
						msgs[i] = map[string]any{"folder": "Inbox", "subject": fmt.Sprintf("loadtest latency %d/%d", t.id, sent+int64(i)), "size": 2048}
					}
					if err := o.call("POST", fmt.Sprintf("/api/v1/users/%d/messages", t.id), msgs, http.StatusCreated, nil); err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
					sent += k
				}
			}
		}()
	}
	for i, id := range ids {
		if firstErr.Load() != nil || time.Now().After(deadline) {
			break
		}
		n := per
		if int64(i) < extra {
			n++
		}
		if n > 0 {
			tasks <- task{id, n}
		}
	}
	close(tasks)
	wg.Wait()
	if e, _ := firstErr.Load().(error); e != nil {
		return e
	}
	if time.Now().After(deadline) {
		return errors.New("delivery not finished within --prepare-minutes")
	}
	return nil
}

// ---- load ----

type phaseResult struct {
	health, report []time.Duration
	healthErrs     int64
	reportErrs     int64
	elapsed        time.Duration
}

// load runs o.clients clients, each alternating /healthz and the report
// and timing each request to its last byte, until stop is closed, the
// deadline passes or maxRequests have been sent.
func (o *latencyOpts) load(stop <-chan struct{}, deadline time.Time) phaseResult {
	var res phaseResult
	var mu sync.Mutex
	var sent atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for c := range o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var h, r []time.Duration
			for i := c; ; i++ {
				if closed(stop) || !time.Now().Before(deadline) || sent.Add(1) > int64(o.maxRequests) {
					break
				}
				path := o.healthPath
				if i%2 == 1 {
					path = o.reportPath
				}
				d, n, err := o.timed(path)
				if err != nil && path == o.healthPath {
					atomic.AddInt64(&res.healthErrs, 1)
				} else if err != nil {
					atomic.AddInt64(&res.reportErrs, 1)
				} else if path == o.healthPath {
					h = append(h, d)
				} else {
					r = append(r, d)
					if atomic.LoadInt64(&o.reportBytes) == 0 {
						atomic.StoreInt64(&o.reportBytes, n)
					}
				}
				if o.pause > 0 {
					time.Sleep(o.pause)
				}
			}
			mu.Lock()
			res.health = append(res.health, h...)
			res.report = append(res.report, r...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// timed GETs path and reads the whole body; the report needs the viewer
// role, /healthz none, and both get the token.
func (o *latencyOpts) timed(path string) (time.Duration, int64, error) {
	req, err := http.NewRequest("GET", o.base+path, nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+o.token)
	start := time.Now()
	res, err := httpClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	n, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	d := time.Since(start)
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: status %d", path, res.StatusCode)
	}
	return d, n, err
}

// ---- the run ----

func (o *latencyOpts) measure() error {
	rows, err := o.serversByUsers()
	if err != nil {
		return err
	}
	src, dst, donors, err := pick(rows)
	if err != nil {
		return err
	}
	o.info("network: %d servers in the report; biggest eligible: %s (id %d, %s, %d users, %d messages); target: %s (id %d, %s, %d users)",
		len(rows), src.Name, src.ID, src.Kind, src.UserCount, src.MessageCount, dst.Name, dst.ID, dst.Kind, dst.UserCount)
	if o.skipPrepare {
		if src.UserCount < int64(o.evacUsers) || src.MessageCount < int64(o.evacMessages) {
			o.info("note: %s is smaller than the evacuation issue 4 names (%d users, %d messages); measured as it is (--no-prepare)",
				src.Name, o.evacUsers, o.evacMessages)
		}
	} else if src, err = o.prepare(src, donors); err != nil {
		return err
	}
	o.info("evacuating %s (id %d): %d users, %d messages -> %s (id %d)", src.Name, src.ID, src.UserCount, src.MessageCount, dst.Name, dst.ID)

	// Settle after the preparation's writes, then the baseline.
	time.Sleep(3 * time.Second)
	never := make(chan struct{})
	base := o.load(never, time.Now().Add(time.Duration(o.baselineSecs)*time.Second))

	// The evacuation, with the same clients running until it ends.
	cpu0 := cpuSeconds(o.serveCmd.cmd.Process.Pid)
	start := time.Now()
	j, err := o.startMove(map[string]any{"from_server_id": src.ID, "to_server_id": dst.ID, "all": true})
	if err != nil {
		return err
	}
	o.info("job %d queued: %d users, %d messages (POST /api/v1/moves took %v)", j.ID, j.UsersTotal, j.Total, time.Since(start).Round(time.Millisecond))
	deadline := start.Add(time.Duration(o.maxSecs) * time.Second)
	stop := make(chan struct{})
	var final mailnet.JobDetail
	var pollErr error
	var end time.Time
	go func() {
		defer close(stop)
		for time.Now().Before(deadline) {
			time.Sleep(500 * time.Millisecond)
			jj, err := o.job(j.ID)
			if err != nil {
				pollErr = err
				return
			}
			final = jj
			if jj.Finished() {
				end = time.Now()
				return
			}
		}
	}()
	during := o.load(stop, deadline)
	<-stop
	cpu := cpuSeconds(o.serveCmd.cmd.Process.Pid) - cpu0
	if pollErr != nil {
		return pollErr
	}
	if !final.Finished() {
		o.info("job %d not finished after %ds (%d of %d messages); cancelling", j.ID, o.maxSecs, final.Done, final.Total)
		_ = o.call("POST", fmt.Sprintf("/api/v1/jobs/%d/cancel", j.ID), nil, http.StatusAccepted, nil)
		end = time.Now()
	}
	o.loadAvgAfter = loadAvg()
	rate, d := jobRate(final, end.Sub(start))

	fmt.Println()
	fmt.Printf("Global Server Report: %d rows, %d KiB of JSON per request; %d clients, each alternating the two endpoints, pause %v\n",
		len(rows), o.reportBytes>>10, o.clients, o.pause)
	fmt.Printf("%-30s %8s %9s %9s %9s %9s %7s\n", "", "requests", "p50", "p95", "p99", "max", "errors")
	line := func(name string, d []time.Duration, errs int64) {
		fmt.Printf("%-30s %8d %9v %9v %9v %9v %7d\n", name, len(d),
			percentile(d, 0.5).Round(10*time.Microsecond), percentile(d, 0.95).Round(10*time.Microsecond),
			percentile(d, 0.99).Round(10*time.Microsecond), percentile(d, 1).Round(100*time.Microsecond), errs)
	}
	line(fmt.Sprintf("/healthz baseline (%ds)", int(base.elapsed.Seconds())), base.health, base.healthErrs)
	line(fmt.Sprintf("/healthz evacuation (%ds)", int(during.elapsed.Seconds())), during.health, during.healthErrs)
	line("report baseline", base.report, base.reportErrs)
	line("report evacuation", during.report, during.reportErrs)
	fmt.Printf("job %d %s: %d users, %d of %d messages in %v: %.0f messages/s; server CPU %.1fs over the evacuation\n",
		final.ID, final.Status, final.UsersDone, final.Done, final.Total, d.Round(time.Millisecond), rate, cpu)
	fmt.Printf("load average: start %s, end %s\n", o.loadAvgStart, o.loadAvgAfter)
	hp, rp := percentile(during.health, 0.99), percentile(during.report, 0.99)
	verdict := func(p time.Duration) string {
		if p < 100*time.Millisecond {
			return "yes"
		}
		return "NO"
	}
	fmt.Printf("p99 < 100ms during the evacuation: /healthz %s (%v), report %s (%v)\n",
		verdict(hp), hp.Round(10*time.Microsecond), verdict(rp), rp.Round(10*time.Microsecond))
	if final.Status != mailnet.JobDone {
		return fmt.Errorf("job %d ended %s", final.ID, final.Status)
	}
	return nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
