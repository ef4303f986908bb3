package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var planIDRe = regexp.MustCompile(`name="plan_id" value="([0-9a-f]+)"`)

// dirsyncEnv is the live env with a DX (EXCH1), a second requestor and the
// DX settings row.
func dirsyncEnv(t *testing.T) *liveEnv {
	e := newLiveEnv(t, "", liveOpts{})
	e.seed()
	now := time.Now().UTC().Format(time.RFC3339)
	e.exec(`UPDATE requestors SET export_on_next_cycle = 0`)
	e.exec(`INSERT INTO requestors (id, network, postoffice, dx_server_id, created_at, updated_at) VALUES (2, 'NET1', 'PO2', 1, ?, ?)`, now, now)
	e.exec(`INSERT INTO dx_servers (server_id, updated_at) VALUES (1, ?)`, now)
	e.Ingest.Invalidate()
	return e
}

func TestDirSyncPageBulkExportPreviewThenApply(t *testing.T) {
	e := dirsyncEnv(t)
	status, _, body := e.postForm("/dirsync/export", e.Admin, url.Values{"scope": {"network:NET1"}, "enabled": {"on"}})
	if status != http.StatusOK || !strings.Contains(body, "preview") {
		t.Fatalf("preview: %d %.400s", status, body)
	}
	m := planIDRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no plan id in the preview")
	}
	var set int
	e.Store.DB().QueryRow(`SELECT count(*) FROM requestors WHERE export_on_next_cycle = 1`).Scan(&set)
	if set != 0 {
		t.Fatalf("the preview set %d flags", set)
	}
	// The selection changes under the preview: the apply refuses.
	now := time.Now().UTC().Format(time.RFC3339)
	e.exec(`INSERT INTO requestors (id, network, postoffice, dx_server_id, created_at, updated_at) VALUES (3, 'NET1', 'PO3', 1, ?, ?)`, now, now)
	status, _, _ = e.postForm("/dirsync/export", e.Admin, url.Values{"network": {"NET1"}, "enabled": {"on"}, "plan_id": {m[1]}})
	if status != http.StatusConflict {
		t.Fatalf("apply of a stale plan: %d, want 409", status)
	}
	e.exec(`DELETE FROM requestors WHERE id = 3`)
	status, _, body = e.postForm("/dirsync/export", e.Admin, url.Values{"network": {"NET1"}, "enabled": {"on"}, "plan_id": {m[1]}})
	if status != http.StatusOK || !strings.Contains(body, "applied") || strings.Count(body, `<td class="result">set</td>`) != 2 {
		t.Fatalf("apply: %d, want two rows set; %.2000s", status, body)
	}
	e.Store.DB().QueryRow(`SELECT count(*) FROM requestors WHERE export_on_next_cycle = 1`).Scan(&set)
	if set != 2 {
		t.Errorf("%d flags set, want 2", set)
	}
	// A viewer may not.
	if status, _, _ := e.postForm("/dirsync/export", e.Viewer, url.Values{"id": {"1"}, "enabled": {"on"}}); status != http.StatusForbidden {
		t.Errorf("viewer: %d, want 403", status)
	}
}

func TestDirSyncFlagClearsWithTheFullExportAfterItWasSet(t *testing.T) {
	e := dirsyncEnv(t)
	post := func(server string, id int, category, desc, subject string) {
		m := ev(server, id, "info")
		m["source"], m["category"], m["description"], m["subject"] = "MSExchangePCMTA", category, desc, subject
		e.post([]evIn{m})
	}
	// A SrvTx logged before the flag is set does not clear it.
	old := ev("EXCH1", 4395, "info")
	old["time"] = time.Now().UTC().Add(-170 * time.Minute).Format(time.RFC3339)
	old["category"], old["description"], old["subject"] = "Sent", "FROM: ORG/SITE/$SYSTEM\nTO: NET1/PO1/$SYSTEM", "SrvTx R=3 S=40 (was 39), I=1 1 sent"
	e.post([]evIn{old})
	if s, _, _ := e.postForm("/dirsync/export", e.Admin, url.Values{"id": {"1"}, "enabled": {"on"}, "plan_id": {exportPlanOf(t, e, "1")}}); s != 200 {
		t.Fatalf("set: %d", s)
	}
	late := ev("EXCH1", 4395, "info")
	late["time"] = time.Now().UTC().Add(-160 * time.Minute).Format(time.RFC3339)
	late["category"], late["description"], late["subject"] = "Sent", "FROM: ORG/SITE/$SYSTEM\nTO: NET1/PO1/$SYSTEM", "SrvTx R=3 S=41 (was 40), I=1 1 sent"
	e.post([]evIn{late})
	var flag bool
	e.Store.DB().QueryRow(`SELECT export_on_next_cycle FROM requestors WHERE id = 1`).Scan(&flag)
	if !flag {
		t.Fatalf("a SrvTx logged before the flag was set cleared it")
	}
	post("NET1/PO1", 4395, "Moved Out", "Mail sent from \\\\POSRV\\MAILDATA\nFROM: NET1/PO1/$SYSTEM\nTO: ORG/SITE/$SYSTEM", "ReqTx R=4 (was 3), S=41, I=2, 1 sent.")
	// Q162841's full export, truncated "sen".
	post("EXCH1", 4395, "Sent", "Mail sent from \\\\EXCH1\\MAILDAT$\nFROM: ORG/SITE/$SYSTEM\nTO: NET1/PO1/$SYSTEM", "SrvTx R=4 S=87298 (was 0), I=2 15603 sen")
	e.Store.DB().QueryRow(`SELECT export_on_next_cycle FROM requestors WHERE id = 1`).Scan(&flag)
	if flag {
		t.Errorf("the full export after the flag did not clear it")
	}
	var open int
	e.Store.DB().QueryRow(`SELECT count(*) FROM dirsync_findings WHERE requestor_id = 1 AND resolved_at IS NULL`).Scan(&open)
	if open != 0 {
		t.Errorf("%d open findings after the full export, want none", open)
	}
	var full int
	e.Store.DB().QueryRow(`SELECT count(*) FROM dirsync_cycles WHERE requestor_id = 1 AND full_export = 1 AND s = 87298`).Scan(&full)
	if full != 1 {
		t.Errorf("full export cycles %d, want 1", full)
	}
	page := e.page("/dirsync/requestors/1", 200)
	if !strings.Contains(page, `id="cycle-chart"`) || !strings.Contains(page, "full export") || !strings.Contains(page, "cleared by the first SrvTx logged after it was set") {
		t.Errorf("requestor page lacks the chart, the full export or the flag's change")
	}
}

// exportPlanOf previews setting the flag on the ids and returns the plan id.
func exportPlanOf(t *testing.T, e *liveEnv, ids ...string) string {
	t.Helper()
	_, _, body := e.postForm("/dirsync/export", e.Admin, url.Values{"id": ids, "enabled": {"on"}})
	m := planIDRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no plan id: %.400s", body)
	}
	return m[1]
}

func TestDirSyncRunbookAndRunTicks(t *testing.T) {
	e := dirsyncEnv(t)
	page := e.adminPage("/dirsync/runbook?network=NET1&drive=q", 200)
	for _, want := range []string{"reqmain -dQ -t", "reqmain -dQ -r", "import -dQ admin -p&lt;password&gt; -q -y", "rebuild -dQ -f",
		"forcedos reqmain -dQ -t", `\MAILEXE`, "Error 2140", "Copy administrator on outgoing message", "Export on Next Cycle on each requestor"} {
		if !strings.Contains(page, want) {
			t.Errorf("runbook lacks %q", want)
		}
	}
	status, loc, _ := e.postForm("/dirsync/runs", e.Admin, url.Values{"network": {"NET1"}, "drive": {"Q"}})
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/dirsync/runs/") {
		t.Fatalf("start run: %d %q", status, loc)
	}
	ticks := e.page(loc+"/ticks", 200)
	if strings.Count(ticks, "7 steps") != 2 {
		t.Fatalf("before any evidence both requestors miss 7 steps: %.1500s", ticks)
	}
	post := func(server string, id int, category, desc, subject string) {
		m := ev(server, id, "info")
		m["source"], m["category"], m["description"], m["subject"] = "MSExchangePCMTA", category, desc, subject
		e.post([]evIn{m})
	}
	post("NET1/PO1", 4395, "Moved Out", "Mail sent from \\\\POSRV\\MAILDATA\nFROM: NET1/PO1/$SYSTEM\nTO: ORG/SITE/$SYSTEM", "")
	post("EXCH1", 4355, "Received", "Mail received on \\\\EXCH1\\MAILDAT$\nFROM: NET1/PO1/$SYSTEM\nTO: ORG/SITE/$SYSTEM", "ReqTx R=4 (was 3), S=7, I=2, 1 sent.")
	post("EXCH1", 0, "", "", "Status report from NET1/PO1")
	post("EXCH1", 4395, "Sent", "Mail sent from \\\\EXCH1\\MAILDAT$\nFROM: ORG/SITE/$SYSTEM\nTO: NET1/PO1/$SYSTEM", "SrvTx R=4 S=8 (was 7), I=2 1 sent")
	post("NET1/PO1", 4355, "Moved In", "Mail received on \\\\POSRV\\MAILDATA\nFROM: ORG/SITE/$SYSTEM\nTO: NET1/PO1/$SYSTEM", "")
	ticks = e.page(loc+"/ticks", 200)
	if !strings.Contains(ticks, `<tr data-address="NET1/PO1" class="complete">`) || strings.Count(ticks, "7 steps") != 1 {
		t.Errorf("after the article's evidence NET1/PO1 is complete and PO2 still misses all: %.3000s", ticks)
	}
	status, _, _ = e.postForm(loc+"/finish", e.Admin, url.Values{"outcome": {"completed"}, "note": {"PO2 offline"}})
	if status != http.StatusSeeOther {
		t.Fatalf("finish: %d", status)
	}
	if list := e.page("/dirsync", 200); !strings.Contains(list, "completed") {
		t.Errorf("the run is not listed as completed")
	}
}

func TestAgentBoundToServers(t *testing.T) {
	e := dirsyncEnv(t)
	var created struct {
		Secret  string  `json:"secret"`
		Servers []int64 `json:"servers"`
		Scope   string  `json:"scope"`
	}
	e.json("POST", "/api/v1/tokens", e.Admin, map[string]any{"name": "exch1-agent", "role": "agent", "servers": []int64{1}}, http.StatusCreated, &created)
	if created.Scope != "servers" || len(created.Servers) != 1 {
		t.Fatalf("created %+v, want bound to server 1", created)
	}
	// Its own server, and a requestor whose DX server it is: accepted.
	status, _ := e.do("POST", "/api/v1/events", created.Secret, []evIn{ev("EXCH1", 1, "info"), ev("NET1/PO1", 4395, "info")})
	if status != http.StatusAccepted {
		t.Fatalf("own server and requestor: %d, want 202", status)
	}
	// Another server: 403 naming the event's server.
	status, body := e.do("POST", "/api/v1/events", created.Secret, []evIn{ev("EXCH1", 1, "info"), ev("MAC1", 1, "info")})
	if status != http.StatusForbidden || !strings.Contains(string(body), `[1].server`) {
		t.Fatalf("other server: %d %s, want 403 naming [1].server", status, body)
	}
	// Tracking records are held to the same servers as events.
	rec := func(server string) map[string]any {
		return map[string]any{"time": "2026-12-01T10:00:00Z", "server": server, "event": "submitted", "message_id": "m-" + server,
			"sender": "ann@example", "recipients": []string{"bob@example"}}
	}
	status, body = e.do("POST", "/api/v1/tracking", created.Secret, []map[string]any{rec("EXCH1"), rec("MAC1")})
	if status != http.StatusForbidden || !strings.Contains(string(body), `[1].server`) {
		t.Errorf("tracking for another server: %d %s, want 403 naming [1].server", status, body)
	}
	if status, body = e.do("POST", "/api/v1/tracking", created.Secret, []map[string]any{rec("EXCH1")}); status != http.StatusAccepted {
		t.Errorf("tracking for its own server: %d %s, want 202", status, body)
	}
	var list struct {
		Tokens []struct {
			Name  string `json:"name"`
			Scope string `json:"scope"`
		} `json:"tokens"`
	}
	e.json("GET", "/api/v1/tokens", e.Admin, nil, http.StatusOK, &list)
	scopes := map[string]string{}
	for _, tk := range list.Tokens {
		scopes[tk.Name] = tk.Scope
	}
	if scopes["exch1-agent"] != "servers" || scopes["agent-token"] != "network-wide" {
		t.Errorf("scopes %v, want exch1-agent bound and the unbound agent network-wide", scopes)
	}
	// Servers only for agents.
	status, _ = e.do("POST", "/api/v1/tokens", e.Admin, map[string]any{"name": "v", "role": "viewer", "servers": []int64{1}})
	if status != http.StatusUnprocessableEntity {
		t.Errorf("viewer with servers: %d, want 422", status)
	}
}

// The articles' event texts, posted as agents log them, open findings on
// the requestor they name; an unreadable dir-sync subject is kept.
func TestIngestDirSyncRuleEventsAndUnparsedSubject(t *testing.T) {
	e := dirsyncEnv(t)
	lost := ev("EXCH1", 220, "warning")
	lost["source"], lost["description"] = "MSExchangeDX", "Multiple dirsync messages to and from NET1/PO1 have been lost or delayed."
	unknown := ev("EXCH1", 136, "error")
	unknown["source"], unknown["category"], unknown["description"] = "MSExchangeDX", "Event Handler",
		`Message received from unknown DirSync requestor - X400:/ddat=ms /ddav="NEWTORK/POSTOFFICE/$SYSTEM".`
	cut := ev("NET1/PO1", 4355, "info")
	cut["category"], cut["description"], cut["subject"] = "Moved In", "FROM: ORG/SITE/$SYSTEM\nTO: NET1/PO1/$SYSTEM", "SrvTx R=3 S=87298 (was 0),\nI=2"
	e.post([]evIn{lost, unknown, cut})
	rows, err := e.Store.DB().Query(`SELECT coalesce(requestor_id, 0), rule, kind FROM dirsync_findings WHERE resolved_at IS NULL ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id int64
		var rule, kind string
		rows.Scan(&id, &rule, &kind)
		got = append(got, fmt.Sprintf("%d %s %s", id, rule, kind))
	}
	want := []string{"1 R20 dxa-lost-messages", "0 R21 unregistered-requestor", "1 R15 unparsed-subject"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("open findings %q, want %q", got, want)
	}
	var expect bool
	e.Store.DB().QueryRow(`SELECT expect_full_export FROM requestors WHERE id = 1`).Scan(&expect)
	if !expect {
		t.Errorf("the 220 did not announce the full export")
	}
}
