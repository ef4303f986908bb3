package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto/cdp"
	jsonv2 "github.com/chromedp/cdproto/cdp/jsonv2"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"
)

// cmdEventsPage drives headless Chromium on the Events page while posting
// -rate events/s over loopback for -secs seconds, then reads the long
// tasks the page saw (events.js keeps a PerformanceObserver('longtask')
// in window.mailnetLongTasks) and the rows kept in its table:
//
//	loadtest eventspage -rate 5000 -secs 20
//
// Target: no long task over 50 ms.
func cmdEventsPage(args []string) error {
	fs := flag.NewFlagSet("eventspage", flag.ContinueOnError)
	rate := fs.Int("rate", 5000, "events per second posted")
	secs := fs.Int("secs", 20, "seconds of load")
	browserPath := fs.String("chromium", os.Getenv("MAILNET_CHROMIUM"), "the browser (default: chromium on the PATH)")
	traceOut := fs.String("trace-out", "", "also write the performance timeline to this file (JSON; DevTools' Performance panel opens it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if *rate, err = capInt("rate", *rate, 1, 50_000); err != nil {
		return err
	}
	if *secs, err = capInt("secs", *secs, 1, 300); err != nil {
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
		return errors.New("no Chromium: set -chromium or MAILNET_CHROMIUM")
	}
	dir, err := os.MkdirTemp("", "loadtest-eventspage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	c, err := spawn("mailnet", filepath.Join(dir, "events.db"))
	if err != nil {
		return err
	}
	defer c.stop()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(*browserPath), chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(filepath.Join(dir, "chromium")), chromedp.WindowSize(1920, 1080))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, time.Duration(*secs+120)*time.Second)
	defer cancelT()
	base := "http://" + c.info.Addr
	// The viewer token rides on every request of the tab, the page's
	// websocket included.
	if err := chromedp.Do(ctx); err != nil {
		return fmt.Errorf("start chromium: %w", err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders,
		network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": "Bearer " + c.info.Viewer}}); err != nil {
		return err
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/events"), chromedp.WaitVisible("#events-status")); err != nil {
		return fmt.Errorf("open the Events page: %w", err)
	}
	eval := func(expr string) (any, error) { return chromedp.Run(ctx, chromedp.Evaluate[any](expr)) }
	var state string
	for range 100 {
		if v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("events-status").dataset.state`)); err == nil && v == "live" {
			state = v
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if state != "live" {
		return fmt.Errorf("the Events page did not go live")
	}
	// With the Network domain on, DevTools copies every websocket frame
	// to this tool: that, not the page, would be measured. The page and
	// its socket are open; the header is no longer needed.
	// The DOM and CSS domains likewise report every row inserted.
	for _, cmd := range []cdp.Command[cdp.Empty, cdp.Empty]{network.Disable, dom.Disable, css.Disable} {
		if _, err := chromedp.Call(ctx, cmd, cdp.Empty{}); err != nil {
			return fmt.Errorf("%s: %w", cmd.Method, err)
		}
	}
	// Calibration: a task the tool makes 120 ms long must show in the
	// list, or the list proves nothing.
	// The busy task runs as a task of the page's own (a timer), not
	// inside DevTools' evaluation, which the long-task timing may not see.
	if _, err := eval(`(setTimeout(() => { const t = performance.now(); while (performance.now() - t < 120) {} }, 0), 0)`); err != nil {
		return err
	}
	seen := 0.0
	for range 150 {
		if v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`Math.max(0, ...window.mailnetLongTasks.map(t => t.duration))`)); err == nil && v >= 100 {
			seen = v
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if seen == 0 {
		return errors.New("calibration: a 120 ms task did not show as a long task: the page's PerformanceObserver('longtask') sees nothing")
	}
	fmt.Printf("eventspage: calibration: a 120 ms busy task showed as a long task of %.0f ms\n", seen)
	if _, err := eval(`(window.mailnetLongTasks.length = 0)`); err != nil {
		return err
	}

	tr, err := startTrace(ctx)
	if err != nil {
		return err
	}
	// Starting a trace is work for every Chromium process; the load
	// starts once that is done, so that it is not the page's cost.
	time.Sleep(time.Second)

	// Post batches of 50 from a few workers, paced to rate.
	const batch = 50
	var posted atomic.Int64
	var postErr error
	var once sync.Once
	stop := make(chan struct{})
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) * batch / float64(*rate))
	tick := time.NewTicker(interval)
	work := make(chan int, 64)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for from := range work {
				if err := post(c, batchBody(batch, from, time.Now().UnixNano())); err != nil {
					once.Do(func() { postErr = err })
					continue
				}
				posted.Add(batch)
			}
		}()
	}
	start := time.Now()
	renderers := rendererPIDs()
	cpu0 := 0.0
	for _, pid := range renderers {
		cpu0 += cpuSeconds(pid)
	}
	go func() {
		time.Sleep(time.Duration(*secs) * time.Second)
		close(stop)
	}()
	n := 0
loop:
	for {
		select {
		case <-stop:
			break loop
		case <-tick.C:
			select {
			case work <- n:
				n += batch
			default: // the workers are behind: this batch is not sent
			}
		}
	}
	tick.Stop()
	close(work)
	wg.Wait()
	wall := time.Since(start)
	cpu1 := 0.0
	for _, pid := range renderers {
		cpu1 += cpuSeconds(pid)
	}
	if postErr != nil {
		return postErr
	}
	time.Sleep(time.Second) // the last frames reach the page
	mainTasks, err := tr.stop(ctx)
	if err != nil {
		return err
	}
	if *traceOut != "" {
		if err := tr.write(*traceOut); err != nil {
			return err
		}
	}

	type longTask struct {
		Start    float64 `json:"start"`
		Duration float64 `json:"duration"`
	}
	tasks, err := chromedp.Run(ctx, chromedp.Evaluate[[]longTask](`window.mailnetLongTasks`))
	if err != nil {
		return err
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.getElementById("events-rows").rows.length`))
	if err != nil {
		return err
	}
	received, err := chromedp.Run(ctx, chromedp.Evaluate[int](`parseInt(document.getElementById("events-rows").dataset.received || "0", 10)`))
	if err != nil {
		return err
	}
	type flushStats struct {
		Frames, Rows int
		Ms, Max      float64
	}
	fl, _ := chromedp.Run(ctx, chromedp.Evaluate[flushStats](`window.mailnetFlush`))
	fmt.Printf("eventspage: the script drew %d frames (%d rows), %.1f ms a frame on average, %.1f ms at most\n",
		fl.Frames, fl.Rows, fl.Ms/float64(max(fl.Frames, 1)), fl.Max)
	opens, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`window.mailnetEventsOpens || 0`))
	if state, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("events-status").dataset.state`)); err != nil {
		return err
	}
	durs := make([]float64, len(tasks))
	over := 0
	for i, t := range tasks {
		durs[i] = t.Duration
		if t.Duration > 50 {
			over++
		}
	}
	slices.Sort(durs)
	longest := 0.0
	if len(durs) > 0 {
		longest = durs[len(durs)-1]
	}
	fmt.Printf("eventspage: posted %d events in %s (%.0f/s, asked %d/s); the page received %d, keeps %d rows, state %q, socket opened %d times\n",
		posted.Load(), wall.Round(time.Millisecond), float64(posted.Load())/wall.Seconds(), *rate, received, rows, state, opens)
	fmt.Printf("eventspage: Chromium's renderer used %.2f s of CPU in %.1f s of load (%.0f%% of a core; %d renderer processes)\n",
		cpu1-cpu0, wall.Seconds(), (cpu1-cpu0)/wall.Seconds()*100, len(renderers))
	fmt.Printf("eventspage: %d long tasks (> 50 ms: %d), longest %.0f ms; load average %s\n", len(tasks), over, longest, loadAvg())
	for _, t := range tasks {
		fmt.Printf("  long task at %.0f ms: %.0f ms\n", t.Start, t.Duration)
	}
	// The performance timeline (a DevTools trace of the renderer's main
	// thread) says the same per task in wall time and in the thread's own
	// CPU time: on a machine whose cores are shared, wall time also counts
	// the time the thread waited for a core; CPU time is the page's cost.
	var wallMax, cpuMax, cpuSum float64
	var wallOver, cpuOver int
	for _, t := range mainTasks {
		wallMax, cpuMax, cpuSum = max(wallMax, t.wall), max(cpuMax, t.cpu), cpuSum+t.cpu
		if t.wall > 50 {
			wallOver++
		}
		if t.cpu > 50 {
			cpuOver++
		}
	}
	fmt.Printf("eventspage: timeline: %d tasks on the renderer's main thread: over 50 ms %d by wall time (longest %.0f ms), %d by CPU time (longest %.1f ms); main-thread CPU %.2f s; trace data lost %v\n",
		len(mainTasks), wallOver, wallMax, cpuOver, cpuMax, cpuSum/1000, tr.lost)
	fmt.Printf("eventspage: main-thread CPU by event (ms, nested events counted in each): %s\n", tr.top)
	for _, t := range mainTasks {
		if t.cpu > 50 || t.wall > 50 {
			fmt.Printf("  task at %.1f s of the trace, %.0f ms CPU (%.0f ms wall): %s (ms of CPU, nested events counted in each)\n", t.at, t.cpu, t.wall, t.parts)
		}
	}
	if len(mainTasks) == 0 {
		return errors.New("the trace holds no task of the renderer's main thread")
	}
	if cpuOver > 0 {
		return fmt.Errorf("%d tasks over 50 ms of main-thread CPU", cpuOver)
	}
	if over > 0 {
		fmt.Printf("eventspage: the long tasks over 50 ms are wall time only (load average %s on %d cores): no task used 50 ms of CPU\n", loadAvg(), goruntime.NumCPU())
	}
	return nil
}

// trace records the performance timeline of a tab: Chromium's
// devtools.timeline trace, whose RunTask events carry each task's wall
// duration (dur) and its thread's CPU time (tdur).
type trace struct {
	mu     sync.Mutex
	events []jsonv2.Value
	done   chan struct{}
	lost   bool
	top    string // after stop: the main thread's CPU by event name, most first (ms; nested events counted in each)
}

type mainTask struct {
	wall, cpu float64 // ms
	at        float64 // s from the trace's first main-thread event
	parts     string  // what took the time inside the task
}

func startTrace(ctx context.Context) (*trace, error) {
	tr := &trace{done: make(chan struct{})}
	var once sync.Once
	if err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *tracing.EventDataCollected:
			tr.mu.Lock()
			tr.events = append(tr.events, e.Value...)
			tr.mu.Unlock()
		case *tracing.EventTracingComplete:
			tr.mu.Lock()
			tr.lost = e.DataLossOccurred
			tr.mu.Unlock()
			once.Do(func() { close(tr.done) })
		}
	}); err != nil {
		return nil, err
	}
	_, err := chromedp.Call(ctx, tracing.Start, tracing.StartParams{
		TransferMode: tracing.StartTransferModeReportEvents,
		TraceConfig:  &tracing.TraceConfig{IncludedCategories: []string{"devtools.timeline", "disabled-by-default-devtools.timeline", "__metadata"}},
	})
	if err != nil {
		return nil, fmt.Errorf("start the trace: %w", err)
	}
	return tr, nil
}

// stop ends the trace and returns the tasks of every renderer main thread
// (CrRendererMain) in it.
func (tr *trace) stop(ctx context.Context) ([]mainTask, error) {
	if _, err := chromedp.Call(ctx, tracing.End, cdp.Empty{}); err != nil {
		return nil, fmt.Errorf("end the trace: %w", err)
	}
	select {
	case <-tr.done:
	case <-time.After(2 * time.Minute):
		return nil, errors.New("the trace did not complete within 2 min")
	}
	type ev struct {
		Name string  `json:"name"`
		Ph   string  `json:"ph"`
		Pid  int     `json:"pid"`
		Tid  int     `json:"tid"`
		Ts   float64 `json:"ts"`
		Dur  float64 `json:"dur"`
		Tdur float64 `json:"tdur"`
		Args struct {
			Name string `json:"name"`
		} `json:"args"`
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	evs := make([]ev, 0, len(tr.events))
	mains := map[[2]int]bool{}
	for _, raw := range tr.events {
		var e ev
		if json.Unmarshal(raw, &e) != nil {
			continue
		}
		if e.Ph == "M" && e.Name == "thread_name" && e.Args.Name == "CrRendererMain" {
			mains[[2]int{e.Pid, e.Tid}] = true
		}
		if e.Ph == "X" {
			evs = append(evs, e)
		}
	}
	// Every event of a main thread, in time order: a RunTask holds the
	// events that start inside it.
	var inMain []ev
	for _, e := range evs {
		if mains[[2]int{e.Pid, e.Tid}] {
			inMain = append(inMain, e)
		}
	}
	slices.SortStableFunc(inMain, func(a, b ev) int {
		if a.Pid != b.Pid || a.Tid != b.Tid {
			return (a.Pid*1e6 + a.Tid) - (b.Pid*1e6 + b.Tid)
		}
		switch {
		case a.Ts < b.Ts:
			return -1
		case a.Ts > b.Ts:
			return 1
		}
		return 0
	})
	var out []mainTask
	total := map[string]float64{}
	for i, e := range inMain {
		if e.Name != "RunTask" {
			total[e.Name] += e.Tdur / 1000
			continue
		}
		t := mainTask{wall: e.Dur / 1000, cpu: e.Tdur / 1000, at: (e.Ts - inMain[0].Ts) / 1e6}
		if t.cpu > 50 || t.wall > 50 {
			byName := map[string]float64{}
			for _, c := range inMain[i+1:] {
				if c.Pid != e.Pid || c.Tid != e.Tid || c.Ts >= e.Ts+e.Dur {
					break
				}
				byName[c.Name] += c.Tdur / 1000
			}
			var names []string
			for n, ms := range byName {
				if ms >= 1 {
					names = append(names, fmt.Sprintf("%s %.0f", n, ms))
				}
			}
			slices.Sort(names)
			t.parts = strings.Join(names, ", ")
		}
		out = append(out, t)
	}
	names := slices.Collect(maps.Keys(total))
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(total[b], total[a]) })
	var top []string
	for _, n := range names[:min(10, len(names))] {
		top = append(top, fmt.Sprintf("%s %.0f", n, total[n]))
	}
	tr.top = strings.Join(top, ", ")
	return out, nil
}

// write saves the trace's events as a JSON array, the format DevTools'
// Performance panel loads.
func (tr *trace) write(path string) error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	b, err := json.Marshal(tr.events)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// rendererPIDs are the Chromium renderer processes running now (their
// command line says --type=renderer): the page's main thread is in one.
func rendererPIDs() []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(cmd), "--type=renderer") && strings.Contains(string(cmd), "loadtest-eventspage-") {
			out = append(out, pid)
		}
	}
	return out
}
