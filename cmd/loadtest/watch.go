package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// cmdWatch leaves a NOC wall screen and an Events page open in headless
// Chromium against `admin-web serve --demo` (the real binary, on
// 127.0.0.1, with a fresh demo database of its own) for -minutes, and
// records every change of each page's connection indicator, every
// websocket the pages open and close, and the frames they receive:
//
//	loadtest watch --minutes 60
//
// The NOC is signed in as a NOC device (/noc/login?token= with a viewer
// token), the Events page as the demo administrator, each in a browser
// context of its own. The pages are instrumented from outside: a script
// added before each document wraps WebSocket and watches the indicator's
// data-state, and reports through a DevTools binding, so a reload of the
// page loses nothing. At the end it prints, per page, the state changes,
// the longest stretch not live, the sockets closed and the frames, and
// fails if either page said "disconnected" while the console was up.
func cmdWatch(args []string) error {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	minutes := fs.Int("minutes", 60, "how long to keep the pages open (1 to 720)")
	adminWeb := fs.String("admin-web", "", "the admin-web binary (default: go build mailnet/cmd/admin-web into a temporary folder)")
	browserPath := fs.String("chromium", os.Getenv("MAILNET_CHROMIUM"), "the browser (default: chromium on the PATH)")
	demoRate := fs.String("demo-rate", "5", "events/s from the demo's simulated agents (serve --demo-rate)")
	every := fs.Int("progress", 5, "minutes between progress lines (0: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if *minutes, err = capInt("minutes", *minutes, 1, 720); err != nil {
		return err
	}
	if *browserPath == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				*browserPath = p
				break
			}
		}
	}
	if *browserPath == "" {
		return errors.New("no Chromium: set --chromium or MAILNET_CHROMIUM")
	}
	dir, err := os.MkdirTemp("", "loadtest-watch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if *adminWeb == "" {
		*adminWeb = filepath.Join(dir, "admin-web")
		if out, err := exec.Command("go", "build", "-o", *adminWeb, "mailnet/cmd/admin-web").CombinedOutput(); err != nil {
			return fmt.Errorf("go build mailnet/cmd/admin-web (or give --admin-web): %v\n%s", err, out)
		}
	}
	addr, err := freeLoopback()
	if err != nil {
		return err
	}
	db := filepath.Join(dir, "watch.db")
	w := &watch{start: time.Now(), pages: map[string]*watchedPage{}}

	con, err := startConsole(w, *adminWeb, db, addr, *demoRate)
	if err != nil {
		return err
	}
	defer con.stop()
	out, err := exec.Command(*adminWeb, "token", "add", "watch-noc", "--role", "viewer", "--db", db).Output()
	if err != nil {
		return fmt.Errorf("token add: %w", err)
	}
	viewer := strings.TrimSpace(string(out))
	base := "http://" + addr
	w.logf("console %s (pid %d), demo rate %s events/s; watching for %d min; load average %s", base, con.cmd.Process.Pid, *demoRate, *minutes, loadAvg())

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(*browserPath), chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.UserDataDir(filepath.Join(dir, "chromium")), chromedp.WindowSize(1920, 1080))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	if err := chromedp.Do(bctx); err != nil {
		return fmt.Errorf("start chromium: %w", err)
	}

	noc, err := w.open(bctx, "noc", "noc-status")
	if err != nil {
		return err
	}
	if err := chromedp.Do(noc.ctx, chromedp.Navigate(base+"/noc/login?token="+viewer), chromedp.WaitVisible("#noc-status")); err != nil {
		return fmt.Errorf("open the NOC: %w", err)
	}
	ev, err := w.open(bctx, "events", "events-status")
	if err != nil {
		return err
	}
	if err := chromedp.Do(ev.ctx,
		chromedp.Navigate(base+"/events"),
		chromedp.WaitVisible("form#login"),
		chromedp.SendKeys(`form#login input[name="name"]`, con.adminName),
		chromedp.SendKeys(`form#login input[name="password"]`, con.adminPassword),
		chromedp.Submit("form#login"),
		chromedp.WaitVisible("#events-status"),
	); err != nil {
		return fmt.Errorf("sign in to the Events page: %w", err)
	}
	for _, p := range []*watchedPage{noc, ev} {
		v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.visibilityState`))
		if err != nil {
			return err
		}
		w.logf("%s: page open, visibility %s", p.name, v)
	}

	stopSig := make(chan os.Signal, 1)
	signal.Notify(stopSig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(stopSig)
	end := time.After(time.Duration(*minutes) * time.Minute)
	poll := time.NewTicker(30 * time.Second)
	defer poll.Stop()
	var progress <-chan time.Time
	if *every > 0 {
		t := time.NewTicker(time.Duration(*every) * time.Minute)
		defer t.Stop()
		progress = t.C
	}
	reason := "the time is up"
loop:
	for {
		select {
		case <-end:
			break loop
		case s := <-stopSig:
			reason = "stopped by " + s.String()
			break loop
		case <-con.done:
			reason = "the console exited"
			break loop
		case <-poll.C:
			// A safety net beside the binding: read each indicator.
			for _, p := range []*watchedPage{noc, ev} {
				st, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.getElementById(%q)||{dataset:{}}).dataset.state || ""`, p.statusID)))
				if err != nil {
					w.logf("%s: cannot read the indicator: %v", p.name, err)
					continue
				}
				w.seen(p, st)
			}
		case <-progress:
			w.progress()
		}
	}
	// The last frame counts still in the pages.
	for _, p := range []*watchedPage{noc, ev} {
		if n, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](`window.__mailnetWatchFlush ? window.__mailnetWatchFlush() : 0`)); err == nil {
			w.mu.Lock()
			p.frames += n
			w.mu.Unlock()
		}
	}
	w.logf("watch ends: %s", reason)
	return w.summary(con)
}

// watchJS is added to every document of a watched tab before its own
// scripts run. It reports through the binding mailnetWatch.
const watchJS = `(function () {
  if (window.__mailnetWatch) return;
  window.__mailnetWatch = true;
  function report(o) { try { window.mailnetWatch(JSON.stringify(o)); } catch (e) {} }
  var frames = 0;
  window.__mailnetWatchFlush = function () { var n = frames; frames = 0; return n; };
  var W = window.WebSocket;
  if (W) {
    var Wrapped = function (url, protocols) {
      var ws = protocols === undefined ? new W(url) : new W(url, protocols);
      var opened = 0;
      ws.addEventListener("open", function () { opened = Date.now(); report({ kind: "open", url: String(url) }); });
      ws.addEventListener("message", function () { frames++; });
      ws.addEventListener("close", function (e) {
        report({ kind: "close", code: e.code, reason: e.reason, clean: e.wasClean, opened: opened });
      });
      return ws;
    };
    Wrapped.prototype = W.prototype;
    ["CONNECTING", "OPEN", "CLOSING", "CLOSED"].forEach(function (k) { Wrapped[k] = W[k]; });
    window.WebSocket = Wrapped;
  }
  setInterval(function () { if (frames) report({ kind: "frames", n: window.__mailnetWatchFlush() }); }, 5000);
  window.addEventListener("pagehide", function () { if (frames) report({ kind: "frames", n: window.__mailnetWatchFlush() }); });
  function watchState() {
    var el = document.getElementById("noc-status") || document.getElementById("events-status");
    if (!el) return;
    var last = null;
    function check() {
      var s = el.dataset.state || "";
      if (s !== last) { last = s; report({ kind: "state", state: s, text: el.textContent }); }
    }
    new MutationObserver(check).observe(el, { attributes: true, attributeFilter: ["data-state"] });
    check();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", watchState);
  else watchState();
})();`

type stateChange struct {
	at    time.Time
	state string
	text  string
}

type watchedPage struct {
	name, statusID string
	ctx            context.Context
	cancel         context.CancelFunc

	changes    []stateChange
	state      string
	since      time.Time // of the current state
	everLive   bool
	nonLive    map[string]time.Duration // time spent in each state after the first live
	longest    time.Duration            // longest stretch not live after the first live
	longestAt  time.Time
	longestWas string
	stretch    time.Time // start of the current non-live stretch (zero when live)
	opens      int
	closes     []string
	frames     int
	loads      int
	crashed    bool
	disconnect int // times the indicator said disconnected
}

type watch struct {
	mu    sync.Mutex
	start time.Time
	pages map[string]*watchedPage
}

func (w *watch) logf(format string, a ...any) {
	fmt.Printf("%s +%s %s\n", time.Now().UTC().Format("15:04:05"), time.Since(w.start).Round(time.Second), fmt.Sprintf(format, a...))
}

// live: the states in which a page is showing current data.
func isLive(state string) bool { return state == "live" || state == "paused" }

// open makes a tab in a browser context of its own (its own cookies) with
// the watch script and binding installed.
func (w *watch) open(bctx context.Context, name, statusID string) (*watchedPage, error) {
	p := &watchedPage{name: name, statusID: statusID, nonLive: map[string]time.Duration{}}
	listen := func(ev any) {
		switch e := ev.(type) {
		case *page.EventFrameNavigated:
			if e.Frame.ParentID == "" {
				go w.loaded(p, strings.SplitN(e.Frame.URL, "?token=", 2)[0])
			}
		case *inspector.EventTargetCrashed:
			go w.crashed(p)
		}
	}
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(listen))
	p.ctx, p.cancel = ctx, cancel
	w.pages[name] = p
	err := chromedp.Do(ctx,
		chromedp.ExposeFunc("mailnetWatch", func(_ context.Context, payload string) (chromedp.Void, error) {
			w.report(p, payload)
			return chromedp.Void{}, nil
		}),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: watchJS})
			return err
		}))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%s tab: %w", name, err)
	}
	return p, nil
}

func (w *watch) loaded(p *watchedPage, url string) {
	w.mu.Lock()
	p.loads++
	n := p.loads
	w.mu.Unlock()
	w.logf("%s: document %d loaded: %s", p.name, n, url)
}

func (w *watch) crashed(p *watchedPage) {
	w.mu.Lock()
	p.crashed = true
	w.mu.Unlock()
	w.logf("%s: the renderer CRASHED", p.name)
}

func (w *watch) report(p *watchedPage, payload string) {
	var m struct {
		Kind   string `json:"kind"`
		State  string `json:"state"`
		Text   string `json:"text"`
		Code   int    `json:"code"`
		Reason string `json:"reason"`
		Clean  bool   `json:"clean"`
		Opened int64  `json:"opened"`
		N      int    `json:"n"`
		URL    string `json:"url"`
	}
	if json.Unmarshal([]byte(payload), &m) != nil {
		return
	}
	switch m.Kind {
	case "state":
		w.seenText(p, m.State, m.Text)
	case "open":
		w.mu.Lock()
		p.opens++
		n := p.opens
		w.mu.Unlock()
		if n > 1 {
			w.logf("%s: websocket opened (%d times so far)", p.name, n)
		}
	case "close":
		life := "never opened"
		if m.Opened > 0 {
			life = "open " + time.Since(time.UnixMilli(m.Opened)).Round(time.Second).String()
		}
		c := fmt.Sprintf("%s code %d reason %q clean %v (%s)", time.Now().UTC().Format("15:04:05"), m.Code, m.Reason, m.Clean, life)
		w.mu.Lock()
		p.closes = append(p.closes, c)
		w.mu.Unlock()
		w.logf("%s: websocket CLOSED: %s", p.name, c)
	case "frames":
		w.mu.Lock()
		p.frames += m.N
		w.mu.Unlock()
	}
}

func (w *watch) seen(p *watchedPage, state string) { w.seenText(p, state, "") }

// seenText records a state the page's indicator shows now.
func (w *watch) seenText(p *watchedPage, state, text string) {
	now := time.Now()
	w.mu.Lock()
	if state == p.state {
		w.mu.Unlock()
		return
	}
	if p.everLive && !p.since.IsZero() && !isLive(p.state) {
		p.nonLive[p.state] += now.Sub(p.since)
	}
	if isLive(state) {
		if !p.stretch.IsZero() {
			if d := now.Sub(p.stretch); d > p.longest {
				p.longest, p.longestAt, p.longestWas = d, p.stretch, p.stretchStates()
			}
			p.stretch = time.Time{}
		}
		p.everLive = true
	} else if p.everLive && p.stretch.IsZero() {
		p.stretch = now
	}
	if state == "disconnected" {
		p.disconnect++
	}
	p.changes = append(p.changes, stateChange{at: now, state: state, text: text})
	p.state, p.since = state, now
	w.mu.Unlock()
	w.logf("%s: indicator %q %q", p.name, state, text)
}

// stretchStates names the states of the current non-live stretch.
func (p *watchedPage) stretchStates() string {
	var s []string
	for i := len(p.changes) - 1; i >= 0 && !p.changes[i].at.Before(p.stretch); i-- {
		if !isLive(p.changes[i].state) && !strings.Contains(strings.Join(s, ","), p.changes[i].state) {
			s = append([]string{p.changes[i].state}, s...)
		}
	}
	return strings.Join(s, ", ")
}

func (w *watch) progress() {
	w.mu.Lock()
	defer w.mu.Unlock()
	var parts []string
	for _, name := range []string{"noc", "events"} {
		p := w.pages[name]
		parts = append(parts, fmt.Sprintf("%s %s (%d changes, %d opens, %d closes, %d frames)", name, p.state, len(p.changes), p.opens, len(p.closes), p.frames))
	}
	fmt.Printf("%s +%s progress: %s; load average %s\n", time.Now().UTC().Format("15:04:05"), time.Since(w.start).Round(time.Second), strings.Join(parts, "; "), loadAvg())
}

func (w *watch) summary(con *watchConsole) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	fmt.Printf("\nwatch summary: %s of headless Chromium on the NOC and the Events page against serve --demo; load average %s\n",
		now.Sub(w.start).Round(time.Second), loadAvg())
	up := "up the whole time"
	select {
	case <-con.done:
		up = "EXITED before the end"
	default:
	}
	fmt.Printf("  console: %s\n", up)
	bad := 0
	for _, name := range []string{"noc", "events"} {
		p := w.pages[name]
		longest, longestAt, was := p.longest, p.longestAt, p.longestWas
		if !p.stretch.IsZero() && now.Sub(p.stretch) > longest {
			longest, longestAt, was = now.Sub(p.stretch), p.stretch, p.stretchStates()+" (still)"
		}
		if !p.since.IsZero() && p.everLive && !isLive(p.state) {
			p.nonLive[p.state] += now.Sub(p.since)
		}
		var spent []string
		keys := make([]string, 0, len(p.nonLive))
		for k := range p.nonLive {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			spent = append(spent, fmt.Sprintf("%s %s", k, p.nonLive[k].Round(100*time.Millisecond)))
		}
		if len(spent) == 0 {
			spent = []string{"none"}
		}
		fmt.Printf("  %s: now %q; %d indicator changes; said \"disconnected\" %d times; time not live after first live: %s\n",
			name, p.state, len(p.changes), p.disconnect, strings.Join(spent, ", "))
		if longest > 0 {
			fmt.Printf("  %s: longest stretch not live %s from %s (%s)\n", name, longest.Round(100*time.Millisecond), longestAt.UTC().Format("15:04:05"), was)
		} else {
			fmt.Printf("  %s: longest stretch not live 0 s (never left live after it first went live)\n", name)
		}
		fmt.Printf("  %s: websocket opened %d times, closed %d times; %d frames received; %d documents loaded; crashed %v\n",
			name, p.opens, len(p.closes), p.frames, p.loads, p.crashed)
		for _, c := range p.closes {
			fmt.Printf("    close %s\n", c)
		}
		for _, c := range p.changes {
			fmt.Printf("    %s +%s %q %q\n", c.at.UTC().Format("15:04:05"), c.at.Sub(w.start).Round(time.Second), c.state, c.text)
		}
		if p.disconnect > 0 || p.crashed || !p.everLive {
			bad++
		}
	}
	if up != "up the whole time" {
		return errors.New("the console exited during the watch")
	}
	if bad > 0 {
		return fmt.Errorf("FAIL: %d of 2 pages said disconnected (or never went live, or crashed) while the console was up", bad)
	}
	fmt.Println("  PASS: neither page said \"disconnected\" while the console was up")
	return nil
}

// watchConsole is a running admin-web serve --demo.
type watchConsole struct {
	cmd                      *exec.Cmd
	done                     chan struct{}
	adminName, adminPassword string
}

var demoAdminLine = regexp.MustCompile(`Demo admin account: name "([^"]+)", password (\S+)`)

func startConsole(w *watch, bin, db, addr, rate string) (*watchConsole, error) {
	cmd := exec.Command(bin, "serve", "--demo", "--demo-rate", rate, "--db", db, "--addr", addr)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &watchConsole{cmd: cmd, done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if m := demoAdminLine.FindStringSubmatch(line); m != nil {
				c.adminName, c.adminPassword = m[1], m[2]
			}
			if strings.HasPrefix(line, "Mailnet Admin is listening on ") {
				close(ready)
			}
		}
		err := cmd.Wait()
		w.logf("console exited: %v", err)
		close(c.done)
	}()
	select {
	case <-ready:
	case <-c.done:
		return nil, errors.New("the console exited before listening")
	case <-time.After(120 * time.Second):
		c.stop()
		return nil, errors.New("the console did not listen within 120 s")
	}
	if c.adminPassword == "" {
		c.stop()
		return nil, errors.New("serve --demo printed no demo admin password")
	}
	return c, nil
}

func (c *watchConsole) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
}

func freeLoopback() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
