package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// clippedJS lists what a reader of the page cannot see: a page wider than
// the window (content off its right edge), and boxes that cut their own
// content off (overflow hidden or clip with content wider or taller than
// the box). Text cut with an ellipsis on purpose is left out, and so are
// boxes that scroll (overflow auto or scroll): their content can be reached.
const clippedJS = `(() => {
	const out = [];
	const doc = document.documentElement;
	if (doc.scrollWidth > window.innerWidth + 1) {
		out.push("page is " + doc.scrollWidth + " px wide in a " + window.innerWidth + " px window");
	}
	for (const el of document.querySelectorAll("main *, nav *, header *")) {
		const cs = getComputedStyle(el);
		if (cs.display === "none" || cs.visibility === "hidden") continue;
		if (cs.textOverflow === "ellipsis") continue;
		const clipX = (cs.overflowX === "hidden" || cs.overflowX === "clip") && el.scrollWidth > el.clientWidth + 1;
		const clipY = (cs.overflowY === "hidden" || cs.overflowY === "clip") && el.scrollHeight > el.clientHeight + 1;
		if (!clipX && !clipY) continue;
		if (el.clientWidth === 0 && el.clientHeight === 0) continue;
		const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
			(el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "");
		out.push(name + " cuts its content (" + el.scrollWidth + "x" + el.scrollHeight + " in " + el.clientWidth + "x" + el.clientHeight + ")");
		if (out.length > 10) break;
	}
	return out;
})()`

// TestBrowserEveryPageFitsTheScreen opens every page an administrator
// reads, on the demo network, at 1920x1080 and at 1366x768, and fails on
// any page wider than the window or any box that cuts its content off.
// With MAILNET_SCREENSHOTS set it saves each page at each size, so a person
// can look at them too.
func TestBrowserEveryPageFitsTheScreen(t *testing.T) {
	c := startConsole(t)
	ctx := browserFor(t, 5*time.Minute)
	one := func(q string) int64 {
		var id int64
		if err := c.Store.DB().QueryRow(q).Scan(&id); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return id
	}
	server := one(`SELECT id FROM servers WHERE name = 'MACMAIL-ENG'`)
	connector := one(`SELECT min(id) FROM connectors`)
	requestor := one(`SELECT min(id) FROM requestors`)

	pages := []string{
		"/", "/servers", fmt.Sprintf("/servers/%d", server), "/duplicates", "/duplicates/resolve",
		"/routing", "/x400", "/dirsync", fmt.Sprintf("/dirsync/requestors/%d", requestor), "/dirsync/runbook",
		fmt.Sprintf("/connectors/%d", connector), fmt.Sprintf("/servers/%d/move", server),
		fmt.Sprintf("/servers/%d/decommission", server), "/events", "/jobs", "/audit",
		"/tokens", "/accounts", "/tracking",
	}
	sizes := [][2]int64{{1920, 1080}, {1366, 768}}

	for _, sz := range sizes {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(sz[0], sz[1]), chromedp.Navigate(c.URL+"/login"), chromedp.WaitVisible("form#login")); err != nil {
			t.Fatal(err)
		}
		if got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](clippedJS)); err != nil {
			t.Fatal(err)
		} else if len(got) > 0 {
			t.Errorf("/login at %dx%d: %s", sz[0], sz[1], strings.Join(got, "; "))
		}
		screenshot(t, ctx, fmt.Sprintf("login-%d", sz[0]))
	}
	signIn(t, ctx, c, "/")
	for _, sz := range sizes {
		for _, p := range pages {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(sz[0], sz[1]), chromedp.Navigate(c.URL+p), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](clippedJS))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if len(got) > 0 {
				t.Errorf("%s at %dx%d: %s", p, sz[0], sz[1], strings.Join(got, "; "))
			}
			name := strings.NewReplacer("/", "_", "?", "_", "=", "_").Replace(strings.Trim(p, "/"))
			if name == "" {
				name = "overview"
			}
			screenshot(t, ctx, fmt.Sprintf("%s-%d", name, sz[0]))
		}
	}
}
