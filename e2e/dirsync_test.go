package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mailnet/internal/actions"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// postEvents posts a batch of events as an agent would.
func postEvents(t *testing.T, base, agent string, evs []map[string]any) {
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
		t.Fatalf("events: status %d, want 202", res.StatusCode)
	}
}

// articleEvidence are the manual dir-sync article's events for one
// requestor, as the PC MTA of the Exchange DX server logs them in its
// Application log: T1 (4395 Moved Out, 4355 Received, the status report
// and the ReqTx in the DXA administrator's mailbox) and T2 (4395 Sent,
// 4355 Moved In, the SrvTx), with the texts of the article filled in.
func articleEvidence(dx, org, site string, q mailnet.Requestor) (t1, t2 []map[string]any) {
	req := q.Network + "/" + q.Postoffice + "/$SYSTEM"
	srv := org + "/" + site + "/$SYSTEM"
	ev := func(id int, category, desc, subject string) map[string]any {
		return map[string]any{"server": dx, "source": "MSExchangePCMTA", "event_id": id, "category": category,
			"severity": "info", "description": desc, "subject": subject}
	}
	r := q.RequestorSync + 3
	reqTx := fmt.Sprintf("ReqTx R=%d (was %d), S=%d, I=%d, 3 sent.", r, q.RequestorSync, q.ServerSync, q.Imports)
	// The full export Export on Next Cycle asks for: "(was 0)", all sent.
	full := q.ServerSync + 15603
	srvTx := fmt.Sprintf("SrvTx R=%d S=%d (was 0), I=%d 15603 sent", r, full, q.Imports)
	t1 = []map[string]any{
		ev(4395, "Moved Out", `Mail sent from \\`+q.Postoffice+`\MAILDATA`+"\nFROM: "+req+"\nTO: "+srv, ""),
		ev(4355, "Received", `Mail received on \\`+dx+`\MAILDAT$`+"\nFROM: "+req+"\nTO: "+srv, ""),
		ev(0, "Directory Synchronization", "Message in the DXA administrator's Inbox.", "Status report from "+q.Network+"/"+q.Postoffice+"."),
		ev(0, "Directory Synchronization", "Message in the DXA administrator's Inbox.\nFrom: "+req+"\nTo: "+srv, reqTx),
	}
	t2 = []map[string]any{
		ev(4395, "Sent", `Mail sent from \\`+dx+`\MAILDAT$`+"\nFROM: "+srv+"\nTO: "+req, ""),
		ev(4355, "Moved In", `Mail received on \\`+q.Postoffice+`\MAILDATA`+"\nFROM: "+srv+"\nTO: "+req, ""),
		ev(0, "Directory Synchronization", "Message in the DXA administrator's Inbox.\nFrom: Microsoft Exchange DX\nTo: "+req, srvTx),
	}
	return t1, t2
}

// TestBrowserDirSyncManualRun is issue 12's "Done when": Export on Next
// Cycle set in bulk from the page (preview, then apply), the manual
// procedure's page for those requestors with preparation C's connector
// fixes clicked (audited, the checks turn ok), a run started from it, the
// article's T1 and T2 evidence posted by the DX server's agent (a token
// bound to that server), the ticks arriving live on the run page without
// a reload, and the flags cleared by the full export.
func TestBrowserDirSyncManualRun(t *testing.T) {
	c := startConsole(t)
	ctx := browser(t)
	bg := context.Background()
	admin := mailnet.WithPrincipal(bg, &mailnet.Principal{Name: "e2e", Role: mailnet.RoleAdmin})

	const network = "EURONET"
	reqs, err := c.Store.Requestors(bg, store.RequestorFilter{Network: network})
	if err != nil || len(reqs) < 2 {
		t.Fatalf("requestors of %s: %d, %v; want the demo's two", network, len(reqs), err)
	}
	dxSettings, err := c.Store.DXServers(bg)
	if err != nil || len(dxSettings) != 1 {
		t.Fatalf("dx servers %v %v", dxSettings, err)
	}
	dx, err := c.Store.ServerByID(bg, dxSettings[0].ServerID)
	if err != nil {
		t.Fatal(err)
	}
	sites, err := c.Store.Sites(bg)
	if err != nil {
		t.Fatal(err)
	}
	var site mailnet.Site
	for _, s := range sites {
		if s.ID == dx.SiteID {
			site = s
		}
	}
	org, err := c.Store.BulkOrganization(bg)
	if err != nil {
		t.Fatal(err)
	}
	_, agent, err := actions.New(c.Store, nil, nil).CreateBoundToken(admin, "dx-agent", "agent", []int64{dx.ID})
	if err != nil {
		t.Fatal(err)
	}
	flags := func() (n int) {
		for _, q := range reqs {
			cur, err := c.Store.RequestorByID(bg, q.ID)
			if err != nil {
				t.Fatal(err)
			}
			if cur.ExportOnNextCycle {
				n++
			}
		}
		return n
	}
	if n := flags(); n != 0 {
		t.Fatalf("%d of %s's requestors already flagged", n, network)
	}

	// 1. Export on Next Cycle in bulk from the page: preview, then apply.
	signIn(t, ctx, c, "/dirsync")
	if err := chromedp.Do(ctx, chromedp.SetValue("#bulk-scope", "network:"+network), chromedp.SetValue("#bulk-enabled", "on")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click("#bulk-preview")); err != nil {
		t.Fatalf("preview: %v", err)
	}
	preview, err := chromedp.Run(ctx, chromedp.Text("#export-plan"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(preview, "preview") || strings.Count(preview, "will change") != len(reqs) {
		t.Fatalf("preview shows %q, want %d rows that will change", preview, len(reqs))
	}
	if n := flags(); n != 0 {
		t.Fatalf("the preview set %d flags", n)
	}
	screenshot(t, ctx, "dirsync-export-preview")
	if _, err := chromedp.RunResponse(ctx, chromedp.Click("#export-apply button")); err != nil {
		t.Fatalf("apply: %v", err)
	}
	results, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#export-rows td.result")].map(td => td.textContent.trim())`))
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(reqs) {
		t.Fatalf("apply results %q, want one per requestor", results)
	}
	for _, r := range results {
		if r != "set" {
			t.Errorf("apply results %q, want every row set", results)
			break
		}
	}
	if n := flags(); n != len(reqs) {
		t.Fatalf("%d flags set after the apply, want %d", n, len(reqs))
	}

	// 2. The manual procedure's page for those requestors, and a run.
	if _, err := chromedp.RunResponse(ctx, chromedp.Navigate(c.URL+"/dirsync/runbook?network="+network+"&drive=M")); err != nil {
		t.Fatal(err)
	}
	book, err := chromedp.Run(ctx, chromedp.Text("main"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"reqmain -dM -t", "reqmain -dM -r", "import -dM admin -p<password> -q -y", "rebuild -dM -f", "FORCEDOS",
		fmt.Sprintf("%d of %d set", len(reqs), len(reqs))} {
		if !strings.Contains(book, want) {
			t.Errorf("runbook lacks %q", want)
		}
	}
	screenshot(t, ctx, "dirsync-runbook")
	// Preparation C's connector checks: the demo's DX connector is set
	// for everyday running; one click each prepares it, and the runbook
	// comes back for the same requestors with the check ok.
	checkJS := func(fix string) string {
		return fmt.Sprintf(`(() => {
			const li = [...document.querySelectorAll("li.check")].find(li => li.textContent.includes(%q));
			return li ? (li.querySelector(".badge.ok") ? "ok" : li.querySelector(".badge.warn") ? "to do" : "?") : "missing";
		})()`, fix)
	}
	for _, fix := range []struct{ value, title string }{{"pcmta-logging", "MSExchangePCMTA diagnostics logging at Maximum"}, {"poll-1-minute", "Connector polls every 1 minute"}} {
		if state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](checkJS(fix.title))); state != "to do" {
			t.Fatalf("%s: %q before the fix, want to do", fix.title, state)
		}
		if _, err := chromedp.RunResponse(ctx, chromedp.Click(fmt.Sprintf(`form:has(input[name="fix"][value=%q]) button`, fix.value))); err != nil {
			t.Fatalf("fix %s: %v", fix.value, err)
		}
		if state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](checkJS(fix.title))); state != "ok" {
			t.Errorf("%s: %q after the fix, want ok", fix.title, state)
		}
		if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(loc, "network="+network) || !strings.Contains(loc, "drive=M") {
			t.Errorf("after the fix the runbook is %s, want the same selection", loc)
		}
	}
	var audited int
	c.Store.DB().QueryRow(`SELECT count(*) FROM audit WHERE action = 'connector.update' AND actor = ?`, c.Name).Scan(&audited)
	if audited != 2 {
		t.Errorf("%d connector.update audit rows by %s, want one per fix", audited, c.Name)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click("#start-run button")); err != nil {
		t.Fatalf("start the run: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible("#ticks")); err != nil {
		t.Fatal(err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#ticks tbody tr").length`))
	if err != nil || rows != len(reqs) {
		t.Fatalf("run page has %d rows (%v), want %d", rows, err, len(reqs))
	}
	// The ticks must arrive in place: the marker dies with a reload.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload = true`)); err != nil {
		t.Fatal(err)
	}
	tickJS := func(addr, kind string) string {
		return fmt.Sprintf(`document.querySelector('#ticks tr[data-address="%s"] td.tick.%s .badge.ok') !== null`, addr, kind)
	}

	// 3. T1 for each requestor: its ticks arrive, T2's stay missing.
	var t2s [][]map[string]any
	for _, q := range reqs {
		t1, t2 := articleEvidence(dx.Name, org, site.Name, q)
		postEvents(t, c.URL, agent, t1)
		t2s = append(t2s, t2)
	}
	for _, q := range reqs {
		for _, k := range []string{"moved_out", "received", "status_report", "reqtx"} {
			waitFor(t, ctx, q.Address()+" "+k+" tick", tickJS(q.Address(), k), 20*time.Second)
		}
		if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](tickJS(q.Address(), "srvtx"))); ok {
			t.Errorf("%s: SrvTx ticked before T2", q.Address())
		}
	}
	missing, _ := chromedp.Run(ctx, chromedp.Text(fmt.Sprintf(`#ticks tr[data-address="%s"] td.missing`, reqs[0].Address())))
	if !strings.Contains(missing, "3 steps") {
		t.Errorf("after T1 %s misses %q, want the 3 steps of T2", reqs[0].Address(), missing)
	}
	screenshot(t, ctx, "dirsync-run-t1")
	if n := flags(); n != len(reqs) {
		t.Errorf("T1 cleared flags: %d left of %d", n, len(reqs))
	}

	// 4. T2, the full export: every row completes and the flags clear.
	for _, t2 := range t2s {
		postEvents(t, c.URL, agent, t2)
	}
	for _, q := range reqs {
		waitFor(t, ctx, q.Address()+" complete", fmt.Sprintf(`(document.querySelector('#ticks tr[data-address="%s"]')||{classList:{contains(){return false}}}).classList.contains("complete")`, q.Address()), 20*time.Second)
	}
	if same, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload === true`)); !same {
		t.Errorf("the run page reloaded; the ticks must arrive in place")
	}
	screenshot(t, ctx, "dirsync-run-complete")
	if n := flags(); n != 0 {
		t.Errorf("%d flags still set after the full export", n)
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(`button[value="completed"]`)); err != nil {
		t.Fatalf("finish: %v", err)
	}
	if outcome, _ := chromedp.Run(ctx, chromedp.Text("#outcome")); outcome != "completed" {
		t.Errorf("run outcome %q, want completed", outcome)
	}

	// 5. The status page: no flag pending, the full export recorded.
	if _, err := chromedp.RunResponse(ctx, chromedp.Navigate(c.URL+"/dirsync")); err != nil {
		t.Fatal(err)
	}
	for _, q := range reqs {
		cell, err := chromedp.Run(ctx, chromedp.Text(fmt.Sprintf(`#requestors tr[data-address="%s"] td.export`, q.Address())))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(cell, "pending") {
			t.Errorf("%s still shows Export on Next Cycle pending: %q", q.Address(), cell)
		}
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Navigate(fmt.Sprintf("%s/dirsync/requestors/%d", c.URL, reqs[0].ID))); err != nil {
		t.Fatal(err)
	}
	page, _ := chromedp.Run(ctx, chromedp.Text("main"))
	for _, want := range []string{"full export", "cleared by the first SrvTx logged after it was set"} {
		if !strings.Contains(page, want) {
			t.Errorf("requestor page lacks %q", want)
		}
	}
}
