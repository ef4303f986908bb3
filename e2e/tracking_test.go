package e2e

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"mailnet/internal/demo"
	"mailnet/internal/tracking"
)

// stormID is the demo's message held up by the 9301 storm: EXCH-RED-01's
// X.400 connector to EXCH-LON-01 has no Stack IP Address Override
// (KB197378), so it waited over two hours at EXCH-RED-01.
const stormID = "<demo.1@mailnet.example>"

// sendDemoTracking has the demo's agents send their tracked traffic (the
// scenario: the 9301 storm, a hop with tracking disabled, an NDR...)
// through a tracking writer of the console's own database, and waits
// until it is stored.
func sendDemoTracking(t *testing.T, c *console) {
	t.Helper()
	tk := tracking.NewSQLite(c.Store, tracking.Options{})
	submit := func(ctx context.Context, recs []tracking.Record) error {
		_, err := tk.Submit(ctx, recs)
		return err
	}
	if err := demo.RunTracking(context.Background(), c.Store, submit, 0, nil); err != nil {
		t.Fatalf("demo tracking: %v", err)
	}
	if err := tk.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserTrackingSearchTraceFinding is the "Done when" of message
// tracking: on the demo network, a user's address typed into the one
// search box finds the user's messages; the message held up by the 9301
// storm opens as a trace whose hops are drawn (one lane per server, the
// slow hop marked) and which says it is complete; and its finding links
// to the X.400 check's row of the connector that delayed it.
func TestBrowserTrackingSearchTraceFinding(t *testing.T) {
	c := startConsole(t)
	sendDemoTracking(t, c)
	ctx := browser(t)
	signIn(t, ctx, c, "/tracking")

	// The recipient of the storm's message, who also sent a message to
	// the mainframe (which left the network).
	const user = "/o=Contoso/ou=London/cn=Recipients/cn=pjones"
	if err := chromedp.Do(ctx, chromedp.WaitVisible(`form[action="/tracking"] input[name="q"]`),
		chromedp.SendKeys(`form[action="/tracking"] input[name="q"]`, user)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Submit(`form[action="/tracking"]`)); err != nil {
		t.Fatalf("search: %v", err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("main table.grid tbody tr")).map(tr => tr.innerText)`))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "tracking-search")
	all := strings.Join(rows, "\n")
	if len(rows) != 2 || !strings.Contains(all, stormID) || !strings.Contains(all, "<demo.5@mailnet.example>") {
		t.Fatalf("search for %s found %d rows, want the storm's message and the mainframe one:\n%s", user, len(rows), all)
	}
	summary, err := chromedp.Run(ctx, chromedp.Text("main p.summary"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(summary, "Read as an address") {
		t.Errorf("the search box read %q as %q, want an address", user, summary)
	}

	// Open the storm's message.
	link := `main table.grid a[href="/tracking/trace?id=` + url.QueryEscape(stormID) + `"]`
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(link)); err != nil {
		t.Fatalf("open the trace: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible("figure.trace svg")); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "tracking-trace")
	type drawing struct {
		Width, Height float64
		Circles       int
		Lanes         []string
		Slow          int
		Gaps          int
		State         string
		Hops          int
	}
	d, err := chromedp.Run(ctx, chromedp.Evaluate[drawing](`(() => {
		const svg = document.querySelector("figure.trace svg"), r = svg.getBoundingClientRect();
		return {
			Width: r.width, Height: r.height,
			Circles: svg.querySelectorAll("circle").length,
			Lanes: Array.from(svg.querySelectorAll("text[x='8']")).map(t => t.textContent),
			Slow: svg.querySelectorAll("line[stroke-width='4']").length,
			Gaps: svg.querySelectorAll("line[stroke-dasharray]").length,
			State: document.querySelector("#trace-state").innerText,
			Hops: document.querySelectorAll("main table.grid tbody tr").length,
		};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	// MACMAIL-ENG submitted and handed it to EXCH-RED-01, which deferred
	// it, sent it to EXCH-LON-01 two hours later, which delivered it.
	if d.Width < 300 || d.Height < 100 {
		t.Errorf("the trace is drawn %.0fx%.0f px, too small to see", d.Width, d.Height)
	}
	if d.Circles != 7 || d.Hops != 7 {
		t.Errorf("the trace draws %d hops and lists %d, want the message's 7 records", d.Circles, d.Hops)
	}
	if got := strings.Join(d.Lanes, ","); got != "MACMAIL-ENG,EXCH-RED-01,EXCH-LON-01" {
		t.Errorf("lanes %q, want MACMAIL-ENG,EXCH-RED-01,EXCH-LON-01", got)
	}
	if d.Slow != 1 || d.Gaps != 0 {
		t.Errorf("%d slow segments and %d gaps drawn, want the one slow hop and no gap", d.Slow, d.Gaps)
	}
	if !strings.Contains(d.State, "delivered") || !strings.Contains(d.State, "the trace is complete") {
		t.Errorf("the trace says %q, want delivered and complete", d.State)
	}

	// The finding that delayed it, and its link to the X.400 check.
	finding, err := chromedp.Run(ctx, chromedp.Text(`div.finding[data-kind="x400"]`))
	if err != nil {
		t.Fatalf("no X.400 finding on the storm's trace: %v", err)
	}
	for _, want := range []string{"EXCH-RED-01", "EXCH-LON-01", "X.400 check"} {
		if !strings.Contains(finding, want) {
			t.Errorf("finding %q lacks %q", finding, want)
		}
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(`div.finding[data-kind="x400"] a`)); err != nil {
		t.Fatalf("follow the finding: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible("table.x400")); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "tracking-x400")
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if u, err := url.Parse(loc); err != nil || u.Path != "/x400" || u.Query().Get("server_id") == "" {
		t.Fatalf("the finding led to %s, want /x400?server_id=...", loc)
	}
	x400, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("table.x400 tbody tr")).map(tr => tr.innerText)`))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range x400 {
		if strings.Contains(r, "EXCH-RED-01") && strings.Contains(r, "EXCH-LON-01") {
			found = true
		}
	}
	if !found {
		t.Errorf("the X.400 page it links to has no row for EXCH-RED-01 to EXCH-LON-01:\n%s", strings.Join(x400, "\n"))
	}

	// A trace through the server that sends no tracking says it is
	// partial and why, and draws the gap.
	if _, err := chromedp.RunResponse(ctx, chromedp.Navigate(c.URL+"/tracking/trace?id="+url.QueryEscape("<demo.3@mailnet.example>"))); err != nil {
		t.Fatal(err)
	}
	state, err := chromedp.Run(ctx, chromedp.Text("#trace-state"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(state, "partial") || !strings.Contains(state, "tracking is not enabled on MTA EXCH-DAL-02") {
		t.Errorf("the trace through EXCH-DAL-02 says %q, want partial: tracking is not enabled", state)
	}
	gaps, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("figure.trace svg line[stroke-dasharray]").length`))
	if err != nil {
		t.Fatal(err)
	}
	if gaps == 0 {
		t.Error("the partial trace draws no gap")
	}
}
