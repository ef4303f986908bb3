package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// checkRe reads one preparation of the runbook: its badge and title.
var checkRe = regexp.MustCompile(`(?s)<li class="check" data-part="C">\s*<span class="badge( ok| warn)?">[^<]*</span>\s*<strong>C\.</strong>\s*([^<]*)`)

func runbookChecksOf(t *testing.T, page string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, m := range checkRe.FindAllStringSubmatch(page, -1) {
		out[strings.TrimSpace(m[2])] = m[1] == " ok"
	}
	return out
}

// TestRunbookConnectorFixes: preparation C's MSExchangePCMTA logging at
// Maximum and the connector polling every 1 minute are checks read from
// the inventory, each with a one-click fix that goes through the
// connector's own action (audited as connector.update, the logging with
// its revert) and brings the runbook back for the same selection.
func TestRunbookConnectorFixes(t *testing.T) {
	e := dirsyncEnv(t)
	var c struct {
		ID int64 `json:"id"`
	}
	e.json("POST", "/api/v1/connectors", e.Admin, map[string]any{"kind": "msmail", "name": "MS Mail Connector", "server_id": 1,
		"logging": map[string]string{"MSExchangePCMTA": "minimum"}, "poll_minutes": 5}, http.StatusCreated, &c)
	id := strconv.FormatInt(c.ID, 10)
	const sel = "/dirsync/runbook?network=NET1&drive=Q"
	logTitle, pollTitle := "MSExchangePCMTA diagnostics logging at Maximum on MS Mail Connector", "Connector polls every 1 minute (MS Mail Connector)"
	page := e.adminPage(sel, 200)
	checks := runbookChecksOf(t, page)
	if ok, seen := checks[logTitle]; !seen || ok {
		t.Fatalf("logging check %v (seen %v), want to do; checks %v", ok, seen, checks)
	}
	if ok, seen := checks[pollTitle]; !seen || ok {
		t.Fatalf("poll check %v (seen %v), want to do; checks %v", ok, seen, checks)
	}
	for _, want := range []string{"Set to Maximum for 4 hours", "Set to 1 minute", `name="back_query" value="drive=Q&amp;network=NET1"`} {
		if !strings.Contains(page, want) {
			t.Errorf("runbook lacks %q", want)
		}
	}
	audits := func() int {
		var n int
		e.Store.DB().QueryRow(`SELECT count(*) FROM audit WHERE action = 'connector.update' AND object_id = ?`, c.ID).Scan(&n)
		return n
	}
	before := audits()

	// Bad input names the field and changes nothing.
	if status, _, body := e.postForm("/dirsync/runbook/fix", e.Admin, url.Values{"connector_id": {id}, "fix": {"all"}}); status != http.StatusUnprocessableEntity || !strings.Contains(body, "fix") {
		t.Errorf("unknown fix: %d, want 422 naming fix", status)
	}
	if status, _, _ := e.postForm("/dirsync/runbook/fix", e.Admin, url.Values{"connector_id": {id}, "fix": {"pcmta-logging"}, "revert_minutes": {"0"}}); status != http.StatusUnprocessableEntity {
		t.Errorf("revert 0: %d, want 422", status)
	}
	if status, _, _ := e.postForm("/dirsync/runbook/fix", e.Viewer, url.Values{"connector_id": {id}, "fix": {"poll-1-minute"}}); status != http.StatusForbidden {
		t.Errorf("viewer: %d, want 403", status)
	}
	if n := audits(); n != before {
		t.Fatalf("refused fixes wrote %d audit rows", n-before)
	}

	back := "drive=Q&network=NET1"
	for _, fix := range []url.Values{
		{"connector_id": {id}, "fix": {"pcmta-logging"}, "revert_minutes": {"240"}, "back": {"runbook"}, "back_query": {back}},
		{"connector_id": {id}, "fix": {"poll-1-minute"}, "back": {"runbook"}, "back_query": {back + "&next=http://evil"}},
	} {
		status, loc, body := e.postForm("/dirsync/runbook/fix", e.Admin, fix)
		if status != http.StatusSeeOther || loc != "/dirsync/runbook?"+back {
			t.Fatalf("fix %v: %d %q %.300s, want 303 back to the runbook's selection only", fix, status, loc, body)
		}
	}
	if n := audits(); n != before+2 {
		t.Errorf("audit rows: %d, want %d (one per fix)", n, before+2)
	}
	var level string
	var poll, reverts int
	e.Store.DB().QueryRow(`SELECT poll_minutes FROM connectors WHERE id = ?`, c.ID).Scan(&poll)
	e.Store.DB().QueryRow(`SELECT count(*), coalesce(max(revert_to), '') FROM connector_logging_reverts WHERE connector_id = ? AND category = 'MSExchangePCMTA'`, c.ID).Scan(&reverts, &level)
	if poll != 1 || reverts != 1 || level != "minimum" {
		t.Errorf("poll %d, reverts %d to %q; want 1 minute and one revert to minimum", poll, reverts, level)
	}
	page = e.adminPage(sel, 200)
	checks = runbookChecksOf(t, page)
	if !checks[logTitle] || !checks[pollTitle] {
		t.Errorf("after the fixes: %v, want both ok", checks)
	}
	if !strings.Contains(page, "Goes back to minimum at ") {
		t.Errorf("the logging check does not say when it reverts")
	}
}
