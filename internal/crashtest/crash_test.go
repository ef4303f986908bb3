package crashtest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mailnet/internal/crashtest"
	"mailnet/internal/store"
)

// scenario is one crash: a failpoint armed in the first run (or a kill
// from outside after a random delay), optionally with a cancel.
type scenario struct {
	failpoint string
	cancel    bool // cancel the job mid-copy before the crash
	randomAt  time.Duration
	mustHit   bool // the failpoint is on the path and must fire
}

const (
	users    = 3
	messages = 1200 // per user: with MAILNET_JOB_BATCH=500 each mailbox takes 3 batches
)

// TestCrashAnywhereLosesNothing builds the real binary, starts a move,
// kills the process at one point, restarts it and checks, once the job
// has ended, that every message is on its user's home server exactly once,
// each user is where its item says and the counters are right.
func TestCrashAnywhereLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Log("-short: 4 kill points instead of 13")
	}
	bin := buildBinary(t)
	scenarios := []scenario{
		{failpoint: "job.after-claim", mustHit: true},
		{failpoint: "move.after-start", mustHit: true},
		{failpoint: "move.in-batch:2", mustHit: true},
		{failpoint: "move.after-batch:1", mustHit: true},
		{failpoint: "move.after-batch:4", mustHit: true},
		{failpoint: "move.after-verify", mustHit: true},
		{failpoint: "move.in-switch:2", mustHit: true},
		{failpoint: "move.after-switch", mustHit: true},
		{failpoint: "move.after-release-batch:1", mustHit: true},
		{failpoint: "move.after-release-batch:5", mustHit: true},
		{failpoint: "move.after-drop-batch:1", cancel: true, mustHit: true},
		{randomAt: time.Duration(50+rand.IntN(250)) * time.Millisecond},
		{randomAt: time.Duration(50+rand.IntN(250)) * time.Millisecond, cancel: true},
	}
	if testing.Short() {
		scenarios = []scenario{scenarios[3], scenarios[6], scenarios[8], scenarios[10]}
	}
	start, ran := time.Now(), 0
	for i, sc := range scenarios {
		name := sc.failpoint
		if name == "" {
			name = fmt.Sprintf("kill-after-%s", sc.randomAt)
		}
		if sc.cancel {
			name += "+cancel"
		}
		t.Run(fmt.Sprintf("%02d-%s", i, name), func(t *testing.T) { ran++; runScenario(t, bin, sc) })
	}
	t.Logf("%d kill points in %s", ran, time.Since(start).Round(time.Millisecond))
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "admin-web")
	cmd := exec.Command("go", "build", "-o", bin, "mailnet/cmd/admin-web")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func runScenario(t *testing.T, bin string, sc scenario) {
	dir := t.TempDir()
	db := filepath.Join(dir, "crash.db")
	st, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	nw, err := crashtest.Seed(context.Background(), st, crashtest.Spec{Servers: 2, Users: []int{users}, Messages: messages})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "token", "add", "crash", "--role", "admin", "--db", db).Output()
	if err != nil {
		t.Fatalf("token add: %v", err)
	}
	token := strings.TrimSpace(string(out))

	env := []string{"MAILNET_JOB_BATCH=500"}
	if sc.failpoint != "" {
		env = append(env, "MAILNET_FAILPOINT="+sc.failpoint)
	}
	if sc.cancel {
		env = append(env, "MAILNET_JOB_PAUSE=20ms") // leaves time to cancel mid-copy
	}
	p := startServer(t, bin, db, env)
	c := client{t: t, base: p.url, token: token}
	var job struct {
		ID     int64
		Status string
	}
	// The runner wakes as soon as the job commits, so a kill point early in
	// the job can end the process before the client hears the answer: the
	// job exists, but the client learns its id only after the restart, as
	// an administrator would from the jobs page.
	heard := c.tryPost("/api/v1/moves", map[string]any{"user_ids": nw.Users[0], "to_server_id": nw.Servers[1]}, 202, &job)
	if sc.cancel && heard {
		var cur struct {
			Status string
			Done   int64
		}
		for i := 0; i < 500 && (cur.Status != "running" || cur.Done == 0); i++ {
			time.Sleep(5 * time.Millisecond)
			c.get(fmt.Sprintf("/api/v1/jobs/%d", job.ID), &cur)
		}
		c.post(fmt.Sprintf("/api/v1/jobs/%d/cancel", job.ID), nil, 0, nil)
	}
	if sc.randomAt > 0 {
		time.Sleep(sc.randomAt)
		p.kill()
	}
	code := p.wait(20 * time.Second) // the failpoint exits 137; a missed one finishes the job
	if sc.mustHit && code != 137 {
		t.Fatalf("failpoint %s did not fire: exit %d\n%s", sc.failpoint, code, p.stderr())
	}

	p2 := startServer(t, bin, db, []string{"MAILNET_JOB_BATCH=500"})
	c.base = p2.url
	if !heard {
		var list struct{ Jobs []struct{ ID int64 } }
		c.get("/api/v1/jobs", &list)
		if len(list.Jobs) != 1 {
			t.Fatalf("the move's answer was lost in the crash; after the restart %d jobs exist, want 1", len(list.Jobs))
		}
		job.ID = list.Jobs[0].ID
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c.get(fmt.Sprintf("/api/v1/jobs/%d", job.ID), &job)
		if job.Status == "done" || job.Status == "cancelled" || job.Status == "failed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still %s 20s after the restart\n%s", job.Status, p2.stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
	p2.kill()
	p2.wait(5 * time.Second)
	if !sc.cancel && job.Status != "done" {
		t.Errorf("job after restart: got %s, want done", job.Status)
	}

	st, err = store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := crashtest.Check(context.Background(), st.DB(), nw.Users[0], messages); err != nil {
		t.Errorf("after crash at %s (exit %d) and restart, job %s: %v", sc.failpoint, code, job.Status, err)
	}
}

type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	done chan int
	mu   sync.Mutex
	errb bytes.Buffer
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errb.Write(b)
}

func (p *proc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errb.String()
}

func startServer(t *testing.T, bin, db string, env []string) *proc {
	t.Helper()
	p := &proc{t: t, done: make(chan int, 1)}
	p.cmd = exec.Command(bin, "serve", "--db", db, "--addr", "127.0.0.1:0")
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = p
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill(); p.wait(5 * time.Second) })
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "Mailnet Admin is listening on "); ok {
				urlc <- strings.TrimSpace(u)
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		err := p.cmd.Wait()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
		}
		p.done <- code
	}()
	select {
	case p.url = <-urlc:
	case code := <-p.done:
		p.done <- code
		t.Fatalf("server exited (%d) before listening\n%s", code, p.stderr())
	case <-time.After(15 * time.Second):
		t.Fatalf("server did not print its URL in 15s\n%s", p.stderr())
	}
	return p
}

// kill sends SIGKILL: no deferred function, no flush, as in a real crash.
func (p *proc) kill() {
	if p.cmd.Process != nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
	}
}

// wait waits for the process to exit and returns its exit code; after the
// timeout it kills it.
func (p *proc) wait(d time.Duration) int {
	select {
	case code := <-p.done:
		p.done <- code
		return code
	case <-time.After(d):
		p.kill()
		code := <-p.done
		p.done <- code
		return code
	}
}

type client struct {
	t     *testing.T
	base  string
	token string
}

func (c *client) req(method, path string, body any, want int, dst any) {
	c.t.Helper()
	if err := c.do(method, path, body, want, dst); err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
}

// tryPost posts like post, but reports whether the answer arrived: a
// connection that dies with the server is not a test failure.
func (c *client) tryPost(path string, body any, want int, dst any) bool {
	c.t.Helper()
	return c.do("POST", path, body, want, dst) == nil
}

// do sends the request; a transport error is returned, a wrong status or
// body fails the test.
func (c *client) do(method, path string, body any, want int, dst any) error {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if want != 0 && res.StatusCode != want {
		c.t.Fatalf("%s %s: got %d %s, want %d", method, path, res.StatusCode, out, want)
	}
	if dst != nil {
		if err := json.Unmarshal(out, dst); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, out)
		}
	}
	return nil
}

func (c *client) post(path string, body any, want int, dst any) { c.req("POST", path, body, want, dst) }
func (c *client) get(path string, dst any)                      { c.req("GET", path, nil, 200, dst) }
