package e2e

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// nocFitJS measures the wall screen as it is drawn: the page must not
// scroll, and no tile nor box inside a tile may overflow (a list cut on
// purpose ends with "+N more" and then fits). It returns the problems.
const nocFitJS = `(() => {
  const out = [];
  const de = document.documentElement;
  if (de.scrollHeight > innerHeight || de.scrollWidth > innerWidth)
    out.push("page scrolls: " + de.scrollWidth + "x" + de.scrollHeight + " in " + innerWidth + "x" + innerHeight);
  const tiles = document.querySelectorAll("section.tile");
  if (tiles.length === 0) out.push("no tile");
  const boxes = "section.tile, section.tile .big-row, section.tile .big, section.tile table, section.tile ul, section.tile ol, section.tile .rate-figs, section.tile p, .noc-head";
  document.querySelectorAll(boxes).forEach(el => {
    if (el.offsetParent === null) return; // not drawn
    const name = (el.closest("section.tile") || el).id + " " + el.tagName.toLowerCase() + "." + el.className;
    if (el.scrollHeight > el.clientHeight + 1) out.push(name + ": content " + el.scrollHeight + " px high in " + el.clientHeight);
    if (el.scrollWidth > el.clientWidth + 1) out.push(name + ": content " + el.scrollWidth + " px wide in " + el.clientWidth);
    const r = el.getBoundingClientRect();
    if (r.bottom > innerHeight + 1 || r.right > innerWidth + 1) out.push(name + ": drawn outside the screen at " + Math.round(r.right) + "," + Math.round(r.bottom));
  });
  return out;
})()`

// TestBrowserNOCFitsEveryWall: the NOC screen, full of warnings, fits a
// 1366x768, a 1920x1080 and a 3840x2160 screen without a scroll bar or a
// clipped box, and the repeated 9301 is one grouped row.
func TestBrowserNOCFitsEveryWall(t *testing.T) {
	ctx := browser(t)
	bin := binary(t)
	db := filepath.Join(t.TempDir(), "noc.db")
	addr := freeAddr(t)
	base := "http://" + addr
	serve(t, bin, db, addr, "--demo", "--demo-rate", "0")
	viewer := token(t, bin, db, "noc-wall", "viewer")
	agent := token(t, bin, db, "agent", "agent")
	for i := range 8 {
		ingest(t, base, agent, "The message transfer gateway that uses the network address AC100501 and the transport stack /o=Org/ou=LON/cn=Configuration/cn=Servers/cn=EXCH-LON-01/cn=TCP (EXCH-LON-01) could not be found.")
		ingest(t, base, agent, fmt.Sprintf("NOC fit test %d: a long warning that says a great deal about nothing in particular, so that it has to be cut to fit its row", i))
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/noc/login?token="+viewer), chromedp.WaitVisible("#noc-status")); err != nil {
		t.Fatal(err)
	}
	for _, sz := range [][2]int64{{1366, 768}, {1920, 1080}, {3840, 2160}} {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(sz[0], sz[1]), chromedp.Navigate(base+"/noc"), chromedp.WaitVisible("#tile-events")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, ctx, "stream live", `document.getElementById("noc-status").dataset.state === "live"`, 10*time.Second)
			problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](nocFitJS))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("%dx%d: %s", sz[0], sz[1], p)
			}
			screenshot(t, ctx, fmt.Sprintf("noc-%dx%d", sz[0], sz[1]))
			groups, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
				`[...document.querySelectorAll("#tile-events li.noc-event")].filter(li => li.querySelector(".id").textContent === "9301" && li.textContent.includes("172.16.5.1")).map(li => li.textContent.replace(/\s+/g, " ").trim())`))
			if err != nil {
				t.Fatal(err)
			}
			// The demo has logged some of these already: eight or more.
			m := regexp.MustCompile(`×(\d+) in \d+ (s|min|h) EXCH-LON-01 ← 172\.16\.5\.1`).FindStringSubmatch(strings.Join(groups, "|"))
			if n := 0; len(groups) != 1 || m == nil || func() bool { fmt.Sscan(m[1], &n); return n < 8 }() {
				t.Errorf("the 9301s from 172.16.5.1 are shown as %q; want one row \"×N in …, EXCH-LON-01 ← 172.16.5.1\" with N >= 8", groups)
			}
		})
	}
}

// TestBrowserNOCRestart: when the console stops, a full-width banner says
// how old the data is and that the screen is reconnecting, and the tiles
// dim; when it starts again on the same address, the same page (no
// reload) goes live again and the banner goes away. Reconnect timings are
// shortened through the query string.
func TestBrowserNOCRestart(t *testing.T) {
	ctx := browser(t)
	bin := binary(t)
	db := filepath.Join(t.TempDir(), "noc.db")
	addr := freeAddr(t)
	base := "http://" + addr
	p := serve(t, bin, db, addr, "--demo", "--demo-rate", "0")
	viewer := token(t, bin, db, "noc-wall", "viewer")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/noc/login?token="+viewer), chromedp.WaitVisible("#noc-status"),
		chromedp.Navigate(base+"/noc?retry_ms=200&retry_cap_ms=500&stale_ms=1500&down_ms=3000"), chromedp.WaitVisible("#noc-status")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "stream live", `document.getElementById("noc-status").dataset.state === "live"`, 10*time.Second)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(window.nocNotReloaded = true)`)); err != nil {
		t.Fatal(err)
	}
	if hidden, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("noc-banner").hidden`)); !hidden {
		t.Error("a banner shows while the screen is live")
	}

	p.stop()
	waitFor(t, ctx, "the banner after the console stopped",
		`!document.getElementById("noc-banner").hidden && /^data \d+ (s|min) old — reconnecting$/.test(document.getElementById("noc-banner").textContent)`, 15*time.Second)
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("noc-banner").textContent`))
	t.Logf("banner: %q", text)
	dim, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`parseFloat(getComputedStyle(document.querySelector("section.tile")).opacity)`))
	if err != nil || dim > 0.5 {
		t.Errorf("tiles' opacity %v while disconnected (%v); want them dimmed to 0.5 or less", dim, err)
	}
	wide, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("noc-banner").getBoundingClientRect().width >= innerWidth - 1`))
	if !wide {
		t.Error("the banner is not as wide as the screen")
	}
	screenshot(t, ctx, "noc-banner")

	serve(t, bin, db, addr, "--demo-rate", "0")
	waitFor(t, ctx, "live again after the restart", `document.getElementById("noc-status").dataset.state === "live" && document.getElementById("noc-banner").hidden`, 20*time.Second)
	same, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.nocNotReloaded === true`))
	if !same {
		t.Error("the page was reloaded to recover")
	}
	dim, _ = chromedp.Run(ctx, chromedp.Evaluate[float64](`parseFloat(getComputedStyle(document.querySelector("section.tile")).opacity)`))
	if dim != 1 {
		t.Errorf("tiles' opacity %v once live again; want 1", dim)
	}
}
