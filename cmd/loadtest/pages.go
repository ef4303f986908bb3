package main

// loadtest pages: how long each page of the console takes to reach
// DOMContentLoaded in a real browser (headless Chromium driven by
// chromedp), and how many bytes of HTML it is, on the demo network and on
// a big generated one (issue 13: at 10,000 servers every page within 2x
// its demo time + 300 ms and under 1.5 s, its HTML at most 300 KB).
//
//	loadtest pages                      the demo network only (admin-web serve --demo)
//	loadtest pages --db big.db          the demo network, then big.db, and the targets
//	loadtest pages --url URL --token T  a console that is already running (loopback)
//
// Each page is loaded once to warm the caches, then --runs times; the
// table gives the median and p95 of DOMContentLoaded (the navigation
// timing's domContentLoadedEventEnd), the HTML as decoded and as sent,
// and the DOM's element count.

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
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// pagePaths are the pages measured; "{server}" is replaced by a server id.
// Those in adminPages are loaded with an admin token (the others with a
// viewer's, as a NOC screen or an auditor sees them).
var pagePaths = []string{"/", "/servers", "/routing", "/x400", "/dirsync", "/duplicates", "/events", "/audit", "/jobs",
	"/tracking", "/noc", "/accounts", "/tokens", "/servers/{server}"}

var adminPages = map[string]bool{"/accounts": true, "/tokens": true}

// Targets of issue 13.
const (
	pageMaxMillis   = 1500
	pageSlackMillis = 300
	pageMaxHTML     = 300 << 10
)

type pagesOpts struct {
	adminWeb, chromium string
	db, url, token     string
	adminToken         string
	serverID           int64
	runs               int
	demo               bool
	timeout            time.Duration
}

// pageResult is one page's measurements.
type pageResult struct {
	Path         string
	Median, P95  time.Duration
	HTML, Wire   int64 // decoded and transferred bytes of the document
	Nodes        int
	Status       int
	Err          string
	loadsCounted int
}

func cmdPages(args []string) error {
	fs := flag.NewFlagSet("pages", flag.ContinueOnError)
	var o pagesOpts
	fs.StringVar(&o.adminWeb, "admin-web", "", "admin-web binary (default: next to this binary, then $PATH, then go build ./cmd/admin-web)")
	fs.StringVar(&o.chromium, "chromium", "", "Chromium binary (default: $MAILNET_CHROMIUM, then /usr/bin/chromium, then chromium on $PATH)")
	fs.StringVar(&o.db, "db", "", "a big network's database (made with admin-web demo) to measure after the demo network")
	fs.StringVar(&o.url, "url", "", "measure the console already running at this loopback URL instead (needs --token)")
	fs.StringVar(&o.token, "token", "", "viewer token for --url")
	fs.StringVar(&o.adminToken, "admin-token", "", "admin token for --url's admin pages (/accounts, /tokens; left out without it)")
	fs.Int64Var(&o.serverID, "server", 0, "server whose page is measured (default: the one with the most users)")
	fs.IntVar(&o.runs, "runs", 10, "measured loads of each page (1 to 100), after one warm-up load")
	fs.BoolVar(&o.demo, "demo", true, "measure the demo network (admin-web serve --demo on a fresh database) first")
	fs.DurationVar(&o.timeout, "page-timeout", 60*time.Second, "give up on a page load after this long (at most 5m)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if o.runs, err = capInt("runs", o.runs, 1, 100); err != nil {
		return err
	}
	if o.timeout <= 0 || o.timeout > 5*time.Minute {
		return errors.New("--page-timeout must be between 0 and 5m")
	}
	if o.chromium, err = findChromium(o.chromium); err != nil {
		return err
	}
	if o.url != "" {
		u, err := url.Parse(o.url)
		if err != nil || u.Host == "" {
			return fmt.Errorf("--url %q is not a URL", o.url)
		}
		host := u.Host
		if u.Port() == "" {
			host += ":80"
		}
		if err := checkLoopback(host); err != nil {
			return err
		}
		if o.token == "" {
			return errors.New("--url needs --token (a viewer token: admin-web token add NAME --role viewer)")
		}
		res, err := o.measure(strings.TrimRight(o.url, "/"), o.token, o.adminToken)
		if err != nil {
			return err
		}
		printPages(o.url, res)
		return nil
	}

	dir, err := os.MkdirTemp("", "loadtest-pages-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if o.adminWeb, err = findAdminWeb(o.adminWeb, dir); err != nil {
		return err
	}
	var demo []pageResult
	if o.demo {
		if demo, err = o.measureDB(filepath.Join(dir, "demo.db"), true, dir); err != nil {
			return fmt.Errorf("demo network: %w", err)
		}
		printPages("the demo network (admin-web serve --demo)", demo)
	}
	if o.db == "" {
		return nil
	}
	if fi, err := os.Stat(o.db); err != nil || fi.Size() == 0 {
		return fmt.Errorf("--db %s: no such database (make one with admin-web demo --db %s)", o.db, o.db)
	}
	big, err := o.measureDB(o.db, false, dir)
	if err != nil {
		return fmt.Errorf("%s: %w", o.db, err)
	}
	printPages(o.db, big)
	if demo != nil {
		return printTargets(demo, big)
	}
	return nil
}

// measureDB serves db with admin-web (seeding the demo network when
// seed), adds a viewer token, measures every page and stops the server.
func (o *pagesOpts) measureDB(db string, seed bool, dir string) ([]pageResult, error) {
	args := []string{"serve", "--db", db, "--addr", "127.0.0.1:0"}
	if seed {
		// The demo network, with its simulated agents slowed to 1 event/s.
		args = append(args, "--demo", "--demo-rate", "1")
	}
	srv, base, err := startServe(o.adminWeb, filepath.Join(dir, "serve-"+filepath.Base(db)+".log"), args...)
	if err != nil {
		return nil, err
	}
	defer func() {
		srv.cmd.Process.Signal(syscall.SIGTERM)
		srv.stop()
	}()
	token, err := addToken(o.adminWeb, db, "viewer")
	if err != nil {
		return nil, err
	}
	admin, err := addToken(o.adminWeb, db, "admin")
	if err != nil {
		return nil, err
	}
	return o.measure(base, token, admin)
}

// startServe runs admin-web with args, its log in logPath, and returns
// once it says where it listens (a loopback address).
func startServe(adminWeb, logPath string, args ...string) (*child, string, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(adminWeb, args...)
	cmd.Stderr = logf
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, "", err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	c := &child{cmd: cmd, in: in}
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
	fail := func(err error) (*child, string, error) {
		cmd.Process.Signal(syscall.SIGTERM)
		c.stop()
		return nil, "", err
	}
	select {
	case a, ok := <-addr:
		if !ok {
			return fail(fmt.Errorf("admin-web %s exited before listening; see %s", strings.Join(args, " "), logPath))
		}
		if err := checkLoopback(a); err != nil {
			return fail(err)
		}
		fmt.Printf("server: admin-web %s -> http://%s (pid %d)\n", strings.Join(args, " "), a, cmd.Process.Pid)
		return c, "http://" + a, nil
	case <-time.After(3 * time.Minute):
		return fail(errors.New("admin-web serve did not listen within 3 minutes"))
	}
}

// addToken adds a token of role to db with admin-web and returns its secret.
func addToken(adminWeb, db, role string) (string, error) {
	name := fmt.Sprintf("loadtest-pages-%s-%d", role, time.Now().UnixNano())
	var out bytes.Buffer
	cmd := exec.Command(adminWeb, "token", "add", name, "--role", role, "--db", db)
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("admin-web token add: %w", err)
	}
	tok := strings.TrimSpace(out.String())
	if i := strings.LastIndexByte(tok, '\n'); i >= 0 {
		tok = strings.TrimSpace(tok[i+1:])
	}
	if tok == "" {
		return "", errors.New("admin-web token add printed no secret")
	}
	return tok, nil
}

func findChromium(flagged string) (string, error) {
	for _, p := range []string{flagged, os.Getenv("MAILNET_CHROMIUM"), "/usr/bin/chromium"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Chromium found: pass --chromium or set MAILNET_CHROMIUM")
}

// pickServer is the server with the most users (the longest server page).
func pickServer(base, token string) (int64, error) {
	req, err := http.NewRequest("GET", base+"/api/v1/reports/servers?sort=users&desc=1", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /api/v1/reports/servers: %s", res.Status)
	}
	var rep struct {
		Servers []struct {
			ID int64 `json:"id"`
		} `json:"servers"`
	}
	if err := json.NewDecoder(res.Body).Decode(&rep); err != nil {
		return 0, err
	}
	if len(rep.Servers) == 0 {
		return 0, errors.New("the network has no server")
	}
	return rep.Servers[0].ID, nil
}

// navTiming is what the page says about its own load.
type navTiming struct {
	DCL     float64 `json:"dcl"`     // ms from navigation start to domContentLoadedEventEnd
	Decoded int64   `json:"decoded"` // bytes of HTML after decompression
	Wire    int64   `json:"wire"`    // bytes on the wire (headers included)
	Status  int     `json:"status"`
	Nodes   int     `json:"nodes"`
}

const navTimingJS = `(() => {
  const n = performance.getEntriesByType("navigation")[0];
  return {dcl: n.domContentLoadedEventEnd, decoded: n.decodedBodySize, wire: n.transferSize,
    status: n.responseStatus || 0, nodes: document.getElementsByTagName("*").length};
})()`

// measure loads every page in one headless Chromium, sending the token
// with every request (adminToken for adminPages; they are left out
// without one).
func (o *pagesOpts) measure(base, token, adminToken string) ([]pageResult, error) {
	server := o.serverID
	if server == 0 {
		var err error
		if server, err = pickServer(base, token); err != nil {
			return nil, fmt.Errorf("pick a server page: %w", err)
		}
	}
	profile, err := os.MkdirTemp("", "loadtest-pages-chromium-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(profile)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(o.chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1920, 1080),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	var out []pageResult
	for _, p := range pagePaths {
		tok := token
		if adminPages[p] {
			if tok = adminToken; tok == "" {
				continue
			}
		}
		if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders,
			network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": "Bearer " + tok}}); err != nil {
			return nil, fmt.Errorf("set the token header: %w", err)
		}
		path := strings.ReplaceAll(p, "{server}", strconv.FormatInt(server, 10))
		out = append(out, o.measurePage(ctx, base, path))
	}
	return out, nil
}

// measurePage loads path once to warm up, then o.runs times.
func (o *pagesOpts) measurePage(ctx context.Context, base, path string) pageResult {
	r := pageResult{Path: path}
	var times []time.Duration
	for i := 0; i <= o.runs; i++ {
		t, err := o.load(ctx, base+path)
		if err != nil {
			r.Err = err.Error()
			return r
		}
		r.HTML, r.Wire, r.Nodes, r.Status = t.Decoded, t.Wire, t.Nodes, t.Status
		if i > 0 {
			times = append(times, time.Duration(t.DCL*float64(time.Millisecond)))
		}
	}
	r.loadsCounted = len(times)
	r.Median, r.P95 = percentile(times, 0.5), percentile(times, 0.95)
	return r
}

func (o *pagesOpts) load(ctx context.Context, u string) (navTiming, error) {
	lctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	if err := chromedp.Do(lctx, chromedp.Navigate(u)); err != nil {
		return navTiming{}, fmt.Errorf("navigate: %w", err)
	}
	t, err := chromedp.Run(lctx, chromedp.Evaluate[navTiming](navTimingJS))
	if err != nil {
		return t, fmt.Errorf("navigation timing: %w", err)
	}
	if t.Status != 0 && t.Status != http.StatusOK {
		return t, fmt.Errorf("status %d", t.Status)
	}
	return t, nil
}

func kb(n int64) string { return strconv.FormatFloat(float64(n)/1024, 'f', 1, 64) + " KB" }

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + " ms" }

func printPages(title string, res []pageResult) {
	fmt.Printf("\nDOMContentLoaded on %s (headless Chromium, %s)\n\n", title, time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Println("| page | median | p95 | HTML | sent | elements |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for _, r := range res {
		if r.Err != "" {
			fmt.Printf("| %s | error: %s | | | | |\n", r.Path, r.Err)
			continue
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %d |\n", r.Path, ms(r.Median), ms(r.P95), kb(r.HTML), kb(r.Wire), r.Nodes)
	}
}

// printTargets compares the big network with the demo one, page by page,
// and fails when a target is missed.
func printTargets(demo, big []pageResult) error {
	fmt.Printf("\nTargets: median within 2x the demo page + %d ms and under %d ms; HTML at most %s\n\n", pageSlackMillis, pageMaxMillis, kb(pageMaxHTML))
	fmt.Println("| page | demo | big | big/demo | limit | HTML | verdict |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---|")
	missed := 0
	for i, b := range big {
		if i >= len(demo) {
			break
		}
		d := demo[i]
		limit := min(2*d.Median+pageSlackMillis*time.Millisecond, pageMaxMillis*time.Millisecond)
		verdict := "ok"
		switch {
		case b.Err != "" || d.Err != "":
			verdict = "error: " + b.Err + d.Err
		case b.Median > limit:
			verdict = "SLOW"
		case b.HTML > pageMaxHTML:
			verdict = "TOO BIG"
		}
		if verdict != "ok" {
			missed++
		}
		name := b.Path
		if strings.HasPrefix(name, "/servers/") {
			name = "/servers/{id}"
		}
		ratio := "-"
		if d.Median > 0 {
			ratio = strconv.FormatFloat(float64(b.Median)/float64(d.Median), 'f', 2, 64) + "x"
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s |\n", name, ms(d.Median), ms(b.Median), ratio, ms(limit), kb(b.HTML), verdict)
	}
	if missed > 0 {
		return fmt.Errorf("%d of %d pages miss their target", missed, len(big))
	}
	fmt.Println("\nevery page meets its target")
	return nil
}
