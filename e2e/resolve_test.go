package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mailnet/internal/reports"
)

// text returns the visible text of the element that the CSS selector sel
// matches. A plain string would be a DOM search, which also matches text:
// "main" then finds the word in "remain" or "reqmain".
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// TestBrowserResolveDuplicateSerial walks Q99393's resolution in the
// browser on the demo network: see the group, preview and start the move
// of the duplicate server's users, watch the job's progress update in
// place until it is done, decommission the emptied server, and see the
// duplicate group gone, no "No Connection" route left and no user hidden
// from the All listing.
func TestBrowserResolveDuplicateSerial(t *testing.T) {
	c := startConsole(t)
	ctx := browser(t)
	var pairIDs []int64
	rows, err := c.Store.DB().Query(`SELECT id FROM servers WHERE name IN ('MACMAIL-ENG', 'MACMAIL-DESIGN')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		pairIDs = append(pairIDs, id)
	}
	rows.Close()
	if len(pairIDs) != 2 {
		t.Fatalf("the demo network has %d servers of the Q99393 pair, want 2", len(pairIDs))
	}
	signIn(t, ctx, c, "/duplicates")

	if err := chromedp.Do(ctx,
		chromedp.Click(`a.button[href^="/duplicates/resolve"]`),
		chromedp.WaitVisible("#preview"),
	); err != nil {
		t.Fatalf("open the resolve preview: %v", err)
	}
	screenshot(t, ctx, "resolve")
	preview := text(t, ctx, "#preview")
	if !strings.Contains(preview, "MACMAIL-DESIGN") && !strings.Contains(preview, "MACMAIL-ENG") {
		t.Fatalf("the preview names neither server of the pair: %q", preview)
	}

	// Change the target after the preview and press Start: the console
	// refuses the stale plan and previews the new target instead, and the
	// next Start moves the users there.
	previewed, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#resolve-form select[name="to"]').value`))
	if err != nil {
		t.Fatal(err)
	}
	other, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const sel = document.querySelector('#resolve-form select[name="to"]');
		const o = [...sel.options].find(o => o.value !== "" && o.value !== sel.value);
		if (!o) return "";
		sel.value = o.value;
		return o.value;
	})()`))
	if err != nil || other == "" {
		t.Fatalf("no other target to choose (previewed %s): %v", previewed, err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(`#preview button[formmethod="post"]`)); err != nil {
		t.Fatalf("start with a changed target: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#preview"))); err != nil {
		t.Fatalf("after a changed target, no new preview: %v", err)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#job-progress").length`)); err != nil || n != 0 {
		t.Fatalf("Start with a changed target started a job (%d progress, %v) instead of showing the new preview", n, err)
	}
	now, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#resolve-form select[name="to"]').value`))
	if err != nil || now != other {
		t.Fatalf("the new preview is for target %q, want the changed %q (%v)", now, other, err)
	}
	var target int64
	fmt.Sscan(other, &target)
	if err := chromedp.Do(ctx,
		chromedp.Click(`#preview button[formmethod="post"]`),
		chromedp.WaitVisible("#job-progress"),
	); err != nil {
		t.Fatalf("start the moves: %v", err)
	}
	// A marker on the window survives only if the page is never reloaded:
	// the progress must update in place.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload = true`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		status, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`(document.querySelector("#job-progress .badge[class*='job-']")||{}).textContent || ""`))
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(status) == "done" {
			break
		}
		if s := strings.TrimSpace(status); s == "failed" || s == "cancelled" {
			t.Fatalf("the move job ended %s: %s", s, text(t, ctx, "#job-progress"))
		}
		if time.Now().After(deadline) {
			t.Fatalf("the move job did not finish within 60 s: %s", text(t, ctx, "#job-progress"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	screenshot(t, ctx, "job")
	still, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload === true`))
	if err != nil || !still {
		t.Errorf("the job page reloaded instead of updating in place")
	}
	done, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](
		`(() => { const p = document.querySelector("progress.job-bar"); return [p.value, p.max]; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 2 || done[0] != done[1] || done[1] == 0 {
		t.Errorf("finished progress bar shows %v, want value = max > 0", done)
	}

	// The emptied server can now go.
	if err := chromedp.Do(ctx,
		chromedp.Click(`.callout.next a.button[href*="/decommission"]`),
		chromedp.WaitVisible("form.confirm"),
		// The removed server relays routes between others: re-home them direct.
		chromedp.Click(`form.confirm input[name="reroute"][value="direct"]`),
	); err != nil {
		t.Fatalf("decommission: %v", err)
	}
	// Wait for the answer to the submit itself: the confirm page also has a
	// <main>, and reading it while the next page replaces it fails.
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(`form.confirm button[type="submit"]`)); err != nil {
		t.Fatalf("decommission: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
		t.Fatalf("decommission: %v", err)
	}
	if body := text(t, ctx, "main"); !strings.Contains(strings.ToLower(body), "decommissioned") {
		t.Errorf("after the decommission the server page does not say so: %q", body[:min(len(body), 300)])
	}

	// Routing and listings are back to normal.
	if err := chromedp.Do(ctx, chromedp.Navigate(c.URL+"/duplicates"), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
		t.Fatal(err)
	}
	if body := text(t, ctx, "main"); !strings.Contains(body, "All clear") {
		t.Errorf("the duplicate page still shows a group after the resolution")
	}
	var none int64
	if err := c.Store.DB().QueryRow(`SELECT count(*) FROM users u JOIN servers s ON s.id = u.server_id WHERE s.status = 'decommissioned'`).Scan(&none); err != nil {
		t.Fatal(err)
	}
	if none != 0 {
		t.Errorf("%d users are still homed on a decommissioned server", none)
	}
	var wrong int64
	if err := c.Store.DB().QueryRow(`SELECT count(*) FROM jobs WHERE to_server_id IS NOT ?`, target).Scan(&wrong); err != nil {
		t.Fatal(err)
	}
	if wrong != 0 {
		t.Errorf("%d move jobs went to another server than the changed target %d", wrong, target)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(c.URL+"/routing?none=1"), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
		t.Fatal(err)
	}
	noConn, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("table tbody tr").length`))
	if err != nil {
		t.Fatal(err)
	}
	if noConn != 0 {
		t.Errorf("routing still lists %d routes effectively No Connection", noConn)
	}
	hidden := 0
	for _, id := range pairIDs {
		if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/servers/%d", c.URL, id)), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
			t.Fatal(err)
		}
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`Array.from(document.querySelectorAll(".badge.bad")).filter(b => b.textContent.trim() === "hidden").length`))
		if err != nil {
			t.Fatal(err)
		}
		hidden += n
	}
	if hidden != 0 {
		t.Errorf("%d users still marked hidden from the All listing", hidden)
	}
	gaps, err := reports.RoutingGaps(context.Background(), c.Store)
	if err != nil {
		t.Fatal(err)
	}
	if len(gaps) != 0 {
		t.Errorf("%d routing gaps after the resolution; first: %+v", len(gaps), gaps[0])
	}
}
