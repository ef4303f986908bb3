package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"mailnet/internal/store"
)

// dirsyncReport is GET /api/v1/reports/dirsync as these tests read it.
type dirsyncReport struct {
	Requestors []struct {
		ID       int64                  `json:"id"`
		Findings []store.DirSyncFinding `json:"findings"`
		store.RequestorFacts
	} `json:"requestors"`
	Findings []store.DirSyncFinding `json:"findings"`
}

func (e *liveEnv) dirsyncReport() dirsyncReport {
	e.t.Helper()
	var rep dirsyncReport
	e.json("GET", "/api/v1/reports/dirsync", e.Viewer, nil, http.StatusOK, &rep)
	return rep
}

// findingOf returns requestor id's finding of rule (nil: none).
func (r dirsyncReport) findingOf(id int64, rule string) *store.DirSyncFinding {
	for _, q := range r.Requestors {
		if q.ID != id {
			continue
		}
		for i := range q.Findings {
			if q.Findings[i].Rule == rule {
				return &q.Findings[i]
			}
		}
	}
	return nil
}

func (e *liveEnv) factsState() string {
	e.t.Helper()
	var s string
	if err := e.Store.DB().QueryRow(`SELECT group_concat(id || export_containers || coalesce(export_containers_at, '') ||
		coalesce(imported_count, '') || coalesce(imported_count_before, '') || system_recipients, ',') FROM requestors`).Scan(&s); err != nil {
		e.t.Fatal(err)
	}
	var d string
	if err := e.Store.DB().QueryRow(`SELECT group_concat(server_id || coalesce(keep_updates_days, '') || requestor_of, ',') FROM dx_servers`).Scan(&d); err != nil {
		e.t.Fatal(err)
	}
	return s + "|" + d
}

// The inventory rules R17 (b), R19 (b), R19 (c), R21 (a) and R21 (b): each
// fact is set through the API (a merge patch, refused with 422 naming the
// field, audited), and each finding shows in the report and on the pages
// with the article's cause and fix.
func TestDirSyncInventoryRulesThroughTheAPI(t *testing.T) {
	e := dirsyncEnv(t)
	e.exec(`UPDATE servers SET version = '5.0' WHERE id = 1`)
	now := time.Now().UTC()
	e.exec(`INSERT INTO servers (id, name, site_id, kind, version, serial, created_at, updated_at) VALUES (3, 'EXCH2', 2, 'exchange', '5.5', 'S3', ?, ?)`,
		now.Format(time.RFC3339), now.Format(time.RFC3339))

	// Refusals name the field and change nothing.
	before := e.factsState()
	for _, c := range []struct {
		path  string
		body  string
		field string
	}{
		{"/api/v1/requestors/1/facts", `{"export_containers": ["Recipients", " "]}`, "export_containers[1]"},
		{"/api/v1/requestors/1/facts", `{"export_containers": ["Recipients", "recipients"]}`, "export_containers[1]"},
		{"/api/v1/requestors/1/facts", `{"imported_count": -1}`, "imported_count"},
		{"/api/v1/requestors/1/facts", `{"system_recipients": [{"site_id": 1}, {"site_id": 99}]}`, "system_recipients[1].site_id"},
		{"/api/v1/dx-servers/1", `{"keep_updates_days": 0}`, "keep_updates_days"},
		{"/api/v1/dx-servers/1", `{"requestor_of": "DSSERVER"}`, "requestor_of"},
	} {
		e.refused(t, "PATCH", c.path, e.Admin, c.body, http.StatusUnprocessableEntity, c.field)
	}
	if got := e.factsState(); got != before {
		t.Fatalf("refused patches changed the facts:\n%s\n%s", before, got)
	}
	if s, _ := e.do("PATCH", "/api/v1/requestors/1/facts", e.Viewer, `{"imported_count": 5}`); s != http.StatusForbidden {
		t.Errorf("viewer: %d, want 403", s)
	}
	if s, _ := e.do("PATCH", "/api/v1/requestors/99/facts", e.Admin, `{"imported_count": 5}`); s != http.StatusNotFound {
		t.Errorf("unknown requestor: %d, want 404", s)
	}
	if rep := e.dirsyncReport(); rep.findingOf(1, "R19(b)") != nil || rep.findingOf(1, "R19(c)") != nil || rep.findingOf(1, "R21(a)") != nil {
		t.Fatalf("findings before any fact: %+v", rep.Requestors)
	}

	// R19 (b), Q166154: a container added on a 5.0 DX, Export on Next Cycle not set.
	var out struct {
		store.RequestorFacts
		Network string `json:"network"`
	}
	e.json("PATCH", "/api/v1/requestors/1/facts", e.Admin, `{"export_containers": ["Recipients", "New York"]}`, http.StatusOK, &out)
	if out.Network != "NET1" || len(out.ExportContainers) != 2 || out.ExportContainersAt == nil {
		t.Fatalf("patch answer %+v", out)
	}
	// R19 (c), Q152424: two snapshots, 20% fewer.
	e.json("PATCH", "/api/v1/requestors/1/facts", e.Admin, `{"imported_count": 1000}`, http.StatusOK, nil)
	e.json("PATCH", "/api/v1/requestors/1/facts", e.Admin, `{"imported_count": 800}`, http.StatusOK, nil)
	// R21 (a), Q147084: the $SYSTEM CR in HQ (the DX's site) and, hidden, in Branch.
	e.json("PATCH", "/api/v1/requestors/1/facts", e.Admin, `{"system_recipients": [{"site_id": 1}, {"site_id": 2, "hidden": true}]}`, http.StatusOK, nil)
	// R17 (b), Q108067: Keep Updates 7 days, the requestor's last cycle 10 days ago.
	e.json("PATCH", "/api/v1/dx-servers/1", e.Admin, `{"keep_updates_days": 7}`, http.StatusOK, nil)
	e.exec(`UPDATE requestors SET last_reqtx = 'ReqTx R=4 (was 3), S=41, I=2, 1 sent.', last_reqtx_at = ? WHERE id = 1`, now.Add(-240*time.Hour).Format(store.TimeLayout))
	// R21 (b), Q201084: two Exchange servers request from one MS Mail dir-sync server.
	e.json("PATCH", "/api/v1/dx-servers/1", e.Admin, `{"requestor_of": "NET9/DSSRV"}`, http.StatusOK, nil)
	var dx struct {
		RequestorOf string `json:"requestor_of"`
		Keep        *int   `json:"keep_updates_days"`
	}
	e.json("PATCH", "/api/v1/dx-servers/3", e.Admin, `{"requestor_of": "net9/dssrv"}`, http.StatusOK, &dx)
	if dx.RequestorOf != "NET9/DSSRV" || dx.Keep != nil {
		t.Errorf("dx 3 answer %+v", dx)
	}

	rep := e.dirsyncReport()
	for rule, quote := range map[string]string{
		"R19(b)": "treating the new recipients container as if it had always been in the list of export containers",
		"R19(c)": "drop custom recipients from its Global Address List",
		"R21(a)": "the CR was created for the $SYSTEM account in two separate sites before those sites replicated",
		"R17(b)": "for a period greater than the Keep Updates time",
	} {
		f := rep.findingOf(1, rule)
		if f == nil {
			t.Errorf("no %s finding on requestor 1", rule)
			continue
		}
		if !strings.Contains(f.Cause, quote) || f.Fix == "" || f.Source == "" {
			t.Errorf("%s: cause %q, fix %q, source %q", rule, f.Cause, f.Fix, f.Source)
		}
	}
	if f := rep.findingOf(1, "R21(a)"); f != nil && !strings.Contains(f.Fix, "Branch (hidden)") {
		t.Errorf("R21(a) fix %q does not name the CR outside the DX's site", f.Fix)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Rule != "R21(b)" || !strings.Contains(rep.Findings[0].Text, "EXCH1") || !strings.Contains(rep.Findings[0].Text, "EXCH2") {
		t.Errorf("organization findings %+v, want R21(b) naming EXCH1 and EXCH2", rep.Findings)
	}
	if q := rep.Requestors[0]; q.ID != 1 || q.ImportedCount == nil || *q.ImportedCount != 800 || q.ImportedCountBefore == nil || *q.ImportedCountBefore != 1000 {
		t.Errorf("report row facts %+v", q.RequestorFacts)
	}

	// Every change is audited.
	acts := strings.Join(e.auditActions(store.AuditFilter{}), " ")
	if strings.Count(acts, "requestor.update") != 4 || strings.Count(acts, "dx.update") != 3 {
		t.Errorf("audit %q: want 4 requestor.update and 3 dx.update", acts)
	}

	// The pages show them with the other dir-sync findings.
	page := e.page("/dirsync", 200)
	for _, want := range []string{`id="network-findings"`, "R21(b)", "R19(b)", "R19(c)", "R21(a)", "R17(b)", "Q201084"} {
		if !strings.Contains(page, want) {
			t.Errorf("/dirsync lacks %q", want)
		}
	}
	page = e.page("/dirsync/requestors/1", 200)
	for _, want := range []string{"R19(b)", "R21(a)", "Q166154", "select the Export on Next Cycle checkbox"} {
		if !strings.Contains(page, want) {
			t.Errorf("requestor page lacks %q", want)
		}
	}

	// The fixes take the findings away: Export on Next Cycle (R19 (b)), one
	// CR left in the DX's site (R21 (a)), a snapshot back at the count (R19 (c)).
	e.json("POST", "/api/v1/requestors/export-on-next-cycle", e.Admin, `{"ids": [1], "enabled": true}`, http.StatusOK, nil)
	e.json("PATCH", "/api/v1/requestors/1/facts", e.Admin, `{"system_recipients": [{"site_id": 1}], "imported_count": 1000}`, http.StatusOK, nil)
	e.json("PATCH", "/api/v1/dx-servers/3", e.Admin, `{"requestor_of": null}`, http.StatusOK, nil)
	rep = e.dirsyncReport()
	for _, rule := range []string{"R19(b)", "R19(c)", "R21(a)"} {
		if rep.findingOf(1, rule) != nil {
			t.Errorf("%s still open after its fix", rule)
		}
	}
	if len(rep.Findings) != 0 {
		t.Errorf("R21(b) still open with one requestor left: %+v", rep.Findings)
	}
}

// R15 (5), R15 (6) and R17 (b) from the evidence: ReqTx with nothing sent
// after a local change, a SrvTx that raises S by more than it sent, and
// Q108067's DIRSYNC.LOG errors, resolved by the full export.
func TestDirSyncRulesFromTheEvidence(t *testing.T) {
	e := dirsyncEnv(t)
	base := time.Now().UTC().Add(-3 * time.Hour)
	e.exec(`INSERT INTO servers (id, name, site_id, kind, serial, created_at, updated_at) VALUES (4, 'POSRV1', 1, 'msmail-pc', 'S4', ?, ?)`,
		base.Format(store.TimeLayout), base.Format(store.TimeLayout))
	e.exec(`UPDATE requestors SET server_id = 4 WHERE id = 1`)
	e.Ingest.Invalidate()
	at := func(m time.Duration) string { return base.Add(m * time.Minute).Format(time.RFC3339Nano) }
	tx := func(minute time.Duration, server string, id int, category, from, to, subject string) evIn {
		m := ev(server, id, "info")
		m["time"], m["source"], m["category"], m["subject"] = at(minute), "MSExchangePCMTA", category, subject
		m["description"] = "FROM: " + from + "/$SYSTEM\nTO: " + to + "/$SYSTEM"
		return m
	}
	// The first cycle (baseline), then a user added on the postoffice.
	e.post([]evIn{tx(0, "NET1/PO1", 4395, "Moved Out", "NET1/PO1", "ORG/SITE", "ReqTx R=5 (was 4), S=9, I=1, 1 sent.")})
	e.post([]evIn{tx(5, "EXCH1", 4395, "Sent", "ORG/SITE", "NET1/PO1", "SrvTx R=5 S=12 (was 9), I=1 3 sent")})
	e.exec(`INSERT INTO users (alias, display_name, server_id, created_at) VALUES ('newuser', 'New User', 4, ?)`, base.Add(10*time.Minute).Format(store.TimeLayout))
	// Two T1s since, each "0 sent" (Q119452's "No requestor updates to send").
	e.post([]evIn{tx(60, "NET1/PO1", 4395, "Moved Out", "NET1/PO1", "ORG/SITE", "ReqTx R=5 (was 5), S=12, I=1, 0 sent.")})
	if rep := e.dirsyncReport(); rep.findingOf(1, "R15(6)") != nil {
		t.Fatalf("R15(6) after one ReqTx")
	}
	// The SrvTx between them raises S by 9 and sends 2: R15 (5), Q152231.
	e.post([]evIn{tx(65, "EXCH1", 4395, "Sent", "ORG/SITE", "NET1/PO1", "SrvTx R=5 S=21 (was 12), I=1 2 sent")})
	e.post([]evIn{tx(120, "NET1/PO1", 4395, "Moved Out", "NET1/PO1", "ORG/SITE", "ReqTx R=5 (was 5), S=21, I=1, 0 sent.")})
	rep := e.dirsyncReport()
	if f := rep.findingOf(1, "R15(6)"); f == nil || !strings.Contains(f.Cause, "No requestor updates to send") || f.Source != "Q119452" {
		t.Errorf("R15(6): %+v", f)
	}
	if f := rep.findingOf(1, "R15(5)"); f == nil || f.ID == 0 || !strings.Contains(f.Cause, "Cumulative total of number of transactions sent by the server to the one requestor") {
		t.Errorf("R15(5) stored finding: %+v", f)
	}

	// Q108067's DIRSYNC.LOG errors for the requestor.
	purged := ev("EXCH1", 139, "error")
	purged["time"], purged["source"] = at(130), "DIRSYNC.LOG"
	purged["description"] = "Error [ ] PCM:NET1/PO1\nError [138] Server sync does not exist anymore (0)\nError [139] Number of missing transactions = 1300 (0->1299)"
	e.post([]evIn{purged})
	rep = e.dirsyncReport()
	f := rep.findingOf(1, "R17(b)")
	if f == nil || f.ID == 0 || !strings.Contains(f.Cause, "greater than the Keep Updates time") || !strings.Contains(f.Text, "Server sync does not exist anymore") {
		t.Fatalf("R17(b) stored finding: %+v", f)
	}
	// The fix: Export and Import, answered by a full export.
	e.json("POST", "/api/v1/requestors/export-on-next-cycle", e.Admin, `{"ids": [1], "enabled": true}`, http.StatusOK, nil)
	e.post([]evIn{tx(180, "NET1/PO1", 4395, "Moved Out", "NET1/PO1", "ORG/SITE", "ReqTx R=6 (was 5), S=21, I=2, 1 sent.")})
	e.post([]evIn{tx(185, "EXCH1", 4395, "Sent", "ORG/SITE", "NET1/PO1", "SrvTx R=6 S=87298 (was 0), I=2 15603 sen")})
	var resolution string
	e.Store.DB().QueryRow(`SELECT resolution FROM dirsync_findings WHERE id = ?`, f.ID).Scan(&resolution)
	if resolution != "cleared" {
		t.Errorf("R17(b) after the full export: resolution %q, want cleared", resolution)
	}
	if rep := e.dirsyncReport(); rep.findingOf(1, "R15(6)") != nil {
		t.Errorf("R15(6) still shown after a ReqTx that sent the change")
	}
}
