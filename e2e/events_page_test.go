package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mailnet/internal/actions"
	"mailnet/internal/mailnet"
)

// TestBrowserEventsPageLive: on a 1920x1080 screen the event log shows at
// least 30 events without scrolling; an event that arrives moves the
// warning count and the rate sparkline; the "Warnings and errors" shortcut
// leaves only warnings and errors, and pause holds new rows back until
// resume.
func TestBrowserEventsPageLive(t *testing.T) {
	c := startConsole(t) // before the browser: seeding is slow under -race, and the tab has 90 s
	_, agent, err := actions.New(c.Store, nil, nil).CreateToken(
		mailnet.WithPrincipal(context.Background(), &mailnet.Principal{Name: "e2e", Role: mailnet.RoleAdmin}), "agent", "agent")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		ingest(t, c.URL, agent, fmt.Sprintf("events page test %d: connection from 172.16.5.1 refused", i))
	}
	ctx := browser(t)
	signIn(t, ctx, c, "/events")
	waitFor(t, ctx, "the log live", `(document.getElementById("events-status")||{}).dataset.state === "live"`, 10*time.Second)
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[int](
		`[...document.querySelectorAll("#events-rows tr")].filter(tr => { const r = tr.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }).length`))
	if err != nil {
		t.Fatal(err)
	}
	if shown < 30 {
		t.Errorf("%d events fit on a 1920x1080 screen, want at least 30", shown)
	}
	t.Logf("%d events on a 1920x1080 screen", shown)
	screenshot(t, ctx, "events")

	before, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#events-spark polyline").getAttribute("points") + "|" + document.getElementById("events-n-warning").textContent`))
	ingest(t, c.URL, agent, "events page test: one more")
	waitFor(t, ctx, "the new event on top", `document.querySelector("#events-rows tr").textContent.includes("events page test: one more")`, 5*time.Second)
	after, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#events-spark polyline").getAttribute("points") + "|" + document.getElementById("events-n-warning").textContent`))
	bp, bn, _ := strings.Cut(before, "|")
	ap, an, _ := strings.Cut(after, "|")
	if ap == bp || ap == "" {
		t.Errorf("the sparkline did not move with the frame: %q", ap)
	}
	var b, a int
	fmt.Sscan(bn, &b)
	fmt.Sscan(an, &a)
	if a != b+1 {
		t.Errorf("warning count %d after one more warning, was %d", a, b)
	}

	// A row drawn from the stream has the cells, links and tooltips the
	// server draws for the same event (events.js mirrors views.EventRow).
	ingestEvent(t, c.URL, agent, map[string]any{
		"server": "EXCH-LON-01", "source": "MSExchangeMTA", "event_id": 9301, "category": "Interface", "severity": "warning",
		"description": "events page test: mirrored", "subject": "ReqTx R=13 (was 12), S=10, I=3, 42 sent.",
		"fields": map[string]string{"remote_address": "172.16.5.1", "connector": "X400-LON", "zone": "b", "from": "a@hq"},
	})
	waitFor(t, ctx, "the mirrored event on top", `document.querySelector("#events-rows tr").textContent.includes("events page test: mirrored")`, 5*time.Second)
	const shapeJS = `(() => {
		const tr = [...document.querySelectorAll("#events-rows tr")].find(tr => tr.textContent.includes("events page test: mirrored"));
		const node = n => n.nodeType === 3 ? n.textContent.trim() :
			n.tagName.toLowerCase() + "." + n.className + "(" + (n.getAttribute("href") || "") + ")[" + [...n.childNodes].map(node).filter(Boolean).join("|") + "]";
		return tr.className.replace(" ev-new", "") + " " + [...tr.cells].map(td => node(td) + "{" + td.title + "}").join(" ");
	})()`
	live, err := chromedp.Run(ctx, chromedp.Evaluate[string](shapeJS))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible("#events-rows")); err != nil {
		t.Fatal(err)
	}
	served, err := chromedp.Run(ctx, chromedp.Evaluate[string](shapeJS))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "events-fields")
	if live != served {
		t.Errorf("a row from the stream differs from the server's:\nlive:   %s\nserver: %s", live, served)
	}
	for _, w := range []string{`span.ev-fields()[from: a@hq · remote_address: 172.16.5.1 · zone: b]`, `a.ev-link(/x400?server_id=`} {
		if !strings.Contains(live, w) {
			t.Errorf("the live row lacks %s: %s", w, live)
		}
	}
	waitFor(t, ctx, "the log live again", `(document.getElementById("events-status")||{}).dataset.state === "live"`, 10*time.Second)

	// More events at once than a frame lists: the page says it lists only
	// the newest, keeps the rows its box shows, and says nothing once the
	// flood is over.
	var flood []map[string]any
	for i := range 300 {
		flood = append(flood, map[string]any{"server": "EXCH-LON-01", "source": "MSExchangeMTA", "event_id": 9301,
			"category": "Interface", "severity": "info", "description": fmt.Sprintf("events page test: flood %d", i)})
	}
	ingestEvent(t, c.URL, agent, flood...)
	waitFor(t, ctx, "the flood's newest on top", `document.querySelector("#events-rows tr").textContent.includes("flood 299")`, 5*time.Second)
	sampled, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("events-sampled").textContent + "|" + document.getElementById("events-rows").className + "|" + document.querySelectorAll("#events-rows tr").length`))
	if parts := strings.Split(sampled, "|"); !strings.Contains(parts[0], "too fast to list every event") || parts[1] != "overrun" || parts[2] == "150" {
		t.Errorf("after 300 events at once (notice|tbody class|rows): %q, want the sampling notice, overrun and only the rows the box shows", sampled)
	}
	screenshot(t, ctx, "events-overrun")
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#events-rows tr").length`)); n < 30 {
		t.Errorf("%d rows kept while overrun, want the box's (at least 30)", n)
	}
	ingest(t, c.URL, agent, "events page test: after the flood")
	waitFor(t, ctx, "the notice gone after the flood", `document.querySelector("#events-rows tr").textContent.includes("after the flood") && document.getElementById("events-sampled").textContent === "" && document.getElementById("events-rows").className === ""`, 5*time.Second)

	// Pause holds rows back; resume shows them.
	if err := chromedp.Do(ctx, chromedp.Click("#events-pause")); err != nil {
		t.Fatal(err)
	}
	ingest(t, c.URL, agent, "events page test: while paused")
	waitFor(t, ctx, "counted while paused", `document.getElementById("events-pending").textContent.startsWith("1 new")`, 5*time.Second)
	if top, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#events-rows tr").textContent`)); strings.Contains(top, "while paused") {
		t.Error("a row was added while paused")
	}
	if err := chromedp.Do(ctx, chromedp.Click("#events-pause")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "shown on resume", `document.querySelector("#events-rows tr").textContent.includes("while paused")`, 5*time.Second)

	if err := chromedp.Do(ctx, chromedp.Click("#events-problems"), chromedp.WaitVisible("#events-rows")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the filtered log live", `location.search.includes("severity=problems") && (document.getElementById("events-status")||{}).dataset.state === "live"`, 10*time.Second)
	sevs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#events-rows tr .badge.sev")].map(b => b.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(sevs) == 0 {
		t.Error("no warning or error under the shortcut")
	}
	for _, s := range sevs {
		if s != "warning" && s != "error" {
			t.Errorf("a %q event under warnings and errors", s)
			break
		}
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if u, _ := url.Parse(loc); u == nil || u.Query().Get("severity") != "problems" {
		t.Errorf("the shortcut went to %s", loc)
	}
}
