package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/css"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/network"
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
	if _, err := eval(`(window.mailnetLongTasks.length = 0)`); err != nil {
		return err
	}

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
	if over > 0 {
		return fmt.Errorf("%d long tasks over 50 ms", over)
	}
	return nil
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
