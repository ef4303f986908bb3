package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// binary builds admin-web once for this test.
func binary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "admin-web")
	out, err := exec.Command("go", "build", "-o", bin, "mailnet/cmd/admin-web").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freeAddr returns a loopback address nobody listens on, so the console
// can be restarted on the same one.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// process is a running console.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// serve starts the real binary on db and addr and waits until it listens.
func serve(t *testing.T, bin, db, addr string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--db", db, "--addr", addr}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "Mailnet Admin is listening on ") {
				close(ready)
			}
		}
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop() })
	select {
	case <-ready:
	case <-p.done:
		t.Fatal("console exited before listening")
	case <-time.After(30 * time.Second):
		t.Fatal("console did not start within 30 s")
	}
	return p
}

func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

func token(t *testing.T, bin, db, name, role string) string {
	t.Helper()
	out, err := exec.Command(bin, "token", "add", name, "--role", role, "--db", db).Output()
	if err != nil {
		t.Fatalf("token add: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// ingest posts one warning event as an agent (who may not read it back).
func ingest(t *testing.T, base, agent, description string) {
	t.Helper()
	ingestEvent(t, base, agent, map[string]any{
		"server": "EXCH-LON-01", "source": "MSExchangeMTA", "event_id": 9301,
		"category": "Interface", "severity": "warning", "description": description,
	})
}

// ingestEvent posts events as an agent, in one request.
func ingestEvent(t *testing.T, base, agent string, evs ...map[string]any) {
	t.Helper()
	body, _ := json.Marshal(evs)
	req, _ := http.NewRequest("POST", base+"/api/v1/events", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+agent)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("ingest: status %d, want 202", res.StatusCode)
	}
}

// lastEventID returns the id of the event with that description.
func lastEventID(t *testing.T, base, viewer, description string) int64 {
	t.Helper()
	after := int64(0)
	for range 100 {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/events?after_id=%d&limit=1000", base, after), nil)
		req.Header.Set("Authorization", "Bearer "+viewer)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Events []struct {
				ID          int64  `json:"id"`
				Description string `json:"description"`
			} `json:"events"`
		}
		err = json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range page.Events {
			if ev.Description == description {
				return ev.ID
			}
		}
		if len(page.Events) == 0 {
			break
		}
		after = page.Events[len(page.Events)-1].ID
	}
	t.Fatalf("event %q not found through the API", description)
	return 0
}

// waitFor polls a JavaScript expression until it is true or d passes, and
// returns how long it took.
func waitFor(t *testing.T, ctx context.Context, what, expr string, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < d {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("noc-status")||{}).textContent || ""`))
	t.Fatalf("%s: not seen within %s (status %q)", what, d, state)
	return 0
}

// TestBrowserNOCScreen: a NOC wall screen signed in with a viewer token
// shows an event ingested through the API within 2 s, says
// "disconnected" when the console stops, and recovers by itself, with no
// hand on the keyboard, when the console starts again on the same database.
func TestBrowserNOCScreen(t *testing.T) {
	ctx := browser(t)
	bin := binary(t)
	db := filepath.Join(t.TempDir(), "noc.db")
	addr := freeAddr(t)
	base := "http://" + addr

	p := serve(t, bin, db, addr, "--demo", "--demo-rate", "0")
	viewer := token(t, bin, db, "noc-wall", "viewer")
	agent := token(t, bin, db, "agent", "agent")

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/noc/login?token="+viewer), chromedp.WaitVisible("#noc-status")); err != nil {
		t.Fatal(err)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if strings.Contains(loc, "token=") {
		t.Errorf("the token stayed in the address bar: %s", loc)
	}
	waitFor(t, ctx, "stream live", `document.getElementById("noc-status").dataset.state === "live"`, 10*time.Second)

	desc := fmt.Sprintf("NOC test %d: connection from 172.16.5.1 refused", time.Now().UnixNano())
	posted := time.Now()
	ingest(t, base, agent, desc)
	id := lastEventID(t, base, viewer, desc)
	took := waitFor(t, ctx, "ingested event on the wall",
		fmt.Sprintf(`document.querySelector('.noc-event[data-id="%d"]') !== null`, id), 2*time.Second)
	t.Logf("event %d on the wall %s after the POST (%s after it was readable)", id, time.Since(posted).Round(time.Millisecond), took.Round(time.Millisecond))

	screenshot(t, ctx, "noc")
	p.stop()
	waitFor(t, ctx, "disconnected after the console stopped",
		`document.getElementById("noc-status").dataset.state === "disconnected"`, 15*time.Second)
	screenshot(t, ctx, "noc-disconnected")

	serve(t, bin, db, addr, "--demo-rate", "0")
	waitFor(t, ctx, "live again after the restart", `document.getElementById("noc-status").dataset.state === "live"`, 30*time.Second)
	desc2 := desc + " (after restart)"
	ingest(t, base, agent, desc2)
	id2 := lastEventID(t, base, viewer, desc2)
	waitFor(t, ctx, "event after the restart", fmt.Sprintf(`document.querySelector('.noc-event[data-id="%d"]') !== null`, id2), 5*time.Second)
	loc, _ = chromedp.Run(ctx, chromedp.Location())
	if !strings.HasSuffix(strings.SplitN(loc, "?", 2)[0], "/noc") {
		t.Errorf("the wall left the NOC page: %s", loc)
	}
}
