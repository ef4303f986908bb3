package web_test

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"mailnet/internal/store"
	"mailnet/internal/tracking"
	"mailnet/web"
)

func trackingBatch() []map[string]any {
	r := func(tm, server, ev, id, partner, remote string) map[string]any {
		m := map[string]any{"time": tm, "server": server, "event": ev, "message_id": id,
			"sender": "alice@hq.example", "recipients": []string{"bob@branch.example"}, "subject": "Budget 1997", "size": 2048}
		if partner != "" {
			m["partner"] = partner
		}
		if remote != "" {
			m["remote_id"] = remote
		}
		return m
	}
	return []map[string]any{
		r("2026-12-01T09:00:00Z", "EXA", "submitted", "<m1@hq>", "", ""),
		r("2026-12-01T09:01:00Z", "EXA", "transferred_out", "<m1@hq>", "EXB", "C=US;P=X;L=1"),
		r("2026-12-01T09:03:00Z", "EXB", "transferred_in", "C=US;P=X;L=1", "EXA", ""),
		r("2026-12-01T09:03:30Z", "EXB", "delivered", "C=US;P=X;L=1", "", ""),
	}
}

func TestTrackingPostSearchTrace(t *testing.T) {
	e := newEnv(t)
	var acc map[string]int
	e.json("POST", "/api/v1/tracking", e.Agent, trackingBatch(), 202, &acc)
	if acc["accepted"] != 4 {
		t.Fatalf("accepted %d, want 4", acc["accepted"])
	}
	var page struct {
		Messages []struct {
			MessageID  string   `json:"message_id"`
			Recipients []string `json:"recipients"`
			Subject    *string  `json:"subject"`
			State      string   `json:"state"`
			Complete   bool     `json:"complete"`
		} `json:"messages"`
		NextAfterID int64 `json:"next_after_id"`
	}
	e.json("GET", "/api/v1/tracking?sender=ALICE@hq.example", e.Viewer, nil, 200, &page)
	if len(page.Messages) != 1 || page.Messages[0].MessageID != "<m1@hq>" || page.Messages[0].State != "delivered" || !page.Messages[0].Complete {
		t.Fatalf("search: %+v", page.Messages)
	}
	if page.Messages[0].Subject != nil {
		t.Errorf("a viewer without the grant saw subject %q", *page.Messages[0].Subject)
	}
	if code, _ := e.do("GET", "/api/v1/tracking?subject=Bud", e.Viewer, nil); code != http.StatusForbidden {
		t.Errorf("subject search without grant: %d, want 403", code)
	}
	var tr struct {
		MessageID string `json:"message_id"`
		State     string `json:"state"`
		Complete  bool   `json:"complete"`
		Gaps      []any  `json:"gaps"`
		Hops      []struct {
			Server    string `json:"server"`
			Event     string `json:"event"`
			LatencyMS int64  `json:"latency_ms"`
		} `json:"hops"`
	}
	e.json("GET", "/api/v1/tracking/"+url.PathEscape("C=US;P=X;L=1"), e.Viewer, nil, 200, &tr)
	if tr.MessageID != "<m1@hq>" || len(tr.Hops) != 4 || tr.Hops[2].LatencyMS != 120000 || tr.State != "delivered" || !tr.Complete || len(tr.Gaps) != 0 {
		t.Errorf("trace: %+v", tr)
	}
	// The admin sees subjects, and the view is audited.
	e.json("GET", "/api/v1/tracking?recipient=bob@branch.example", e.Admin, nil, 200, &page)
	if len(page.Messages) != 1 || page.Messages[0].Subject == nil || *page.Messages[0].Subject != "Budget 1997" {
		t.Fatalf("admin search: %+v", page.Messages)
	}
	if got := e.auditActions(store.AuditFilter{Action: "tracking.subjects.view"}); len(got) != 1 {
		t.Errorf("subject views audited %v, want one", got)
	}
	if code, _ := e.do("GET", "/api/v1/tracking/nope", e.Viewer, nil); code != 404 {
		t.Errorf("unknown message: %d, want 404", code)
	}
}

func TestTrackingBadRecordRefusesBatch(t *testing.T) {
	e := newEnv(t)
	b := trackingBatch()
	b[1]["event"] = "teleported"
	code, out := e.do("POST", "/api/v1/tracking", e.Agent, b)
	if code != 422 || !strings.Contains(string(out), `"field":"[1].event"`) {
		t.Fatalf("bad event: %d %s, want 422 on [1].event", code, out)
	}
	b = trackingBatch()
	b[2]["colour"] = "red"
	if code, out := e.do("POST", "/api/v1/tracking", e.Agent, b); code != 422 || !strings.Contains(string(out), `[2]`) {
		t.Errorf("unknown field: %d %s, want 422 naming [2]", code, out)
	}
	if code, _ := e.do("POST", "/api/v1/tracking", e.Viewer, trackingBatch()[:1]); code != 403 {
		t.Errorf("viewer posting tracking: %d, want 403", code)
	}
	var page struct{ Messages []any }
	e.json("GET", "/api/v1/tracking?sender=alice@hq.example", e.Viewer, nil, 200, &page)
	if len(page.Messages) != 0 {
		t.Errorf("a refused batch stored %d messages", len(page.Messages))
	}
}

func TestTrackingCapsAndBusy(t *testing.T) {
	var tk *tracking.SQLite
	e, _ := newAuthEnv(t, func(cfg *web.Config) {
		tk = tracking.NewSQLite(cfg.Store, tracking.Options{MaxBatch: 3, MaxBytes: 1 << 20})
		cfg.Tracking = tk
	})
	t.Cleanup(func() { tk.Close() })
	b := trackingBatch()
	for _, r := range b {
		r["time"] = strings.Replace(r["time"].(string), "2026-12-01", "2026-02-28", 1) // the test clock is March 1
	}
	if code, _ := e.do("POST", "/api/v1/tracking", e.Agent, b); code != 413 {
		t.Errorf("4 records past a cap of 3: %d, want 413", code)
	}
	res, err := tk.Reserve(1<<20 - 10)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", e.HTTP.URL+"/api/v1/tracking", strings.NewReader(`[]`+strings.Repeat(" ", 100)))
	req.Header.Set("Authorization", "Bearer "+e.Agent)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("past the bytes in flight: %d (Retry-After %q), want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	res.Release()
}

const exchangeLogDay = "" +
	"C=US;A= ;P=CONTOSO;L=EXA-1\t4\t2026-12-1 9:0:0 GMT\t/o=CONTOSO/ou=HQ/cn=Configuration/cn=Servers/cn=EXA/cn=Microsoft Private MDB\t\t\t/o=CONTOSO/ou=HQ/cn=Recipients/cn=alice\t0\t2048\t0\t0\t1\t/o=CONTOSO/ou=BRANCH/cn=Recipients/cn=bob\t0\r\n" +
	"C=US;A= ;P=CONTOSO;L=EXA-1\t7\t2026-12-1 9:1:0 GMT\t/o=CONTOSO/ou=HQ/cn=Configuration/cn=Servers/cn=EXA/cn=Microsoft MTA\t/o=CONTOSO/ou=BRANCH/cn=Configuration/cn=Servers/cn=EXB/cn=Microsoft MTA\t\t/o=CONTOSO/ou=HQ/cn=Recipients/cn=alice\t0\t2048\t60\t0\t1\t/o=CONTOSO/ou=BRANCH/cn=Recipients/cn=bob\r\n" +
	"C=US;A= ;P=CONTOSO;L=EXA-1\t0\t2026-12-1 9:3:0 GMT\tMTA\tEXA\t\t/o=CONTOSO/ou=HQ/cn=Recipients/cn=alice\t0\t2048\t0\t0\t1\t/o=CONTOSO/ou=BRANCH/cn=Recipients/cn=bob\r\n" +
	"C=US;A= ;P=CONTOSO;L=EXA-1\t9\t2026-12-1 9:3:5 GMT\tMDB\t\t\t/o=CONTOSO/ou=HQ/cn=Recipients/cn=alice\t0\t2048\t0\t0\t1\t/o=CONTOSO/ou=BRANCH/cn=Recipients/cn=bob\t0\r\n"

func TestTrackingExchangeLogAndExport(t *testing.T) {
	e := newEnv(t)
	lines := strings.SplitAfter(exchangeLogDay, "\r\n")
	var acc map[string]any
	e.json("POST", "/api/v1/tracking/exchange-log", e.Agent, strings.Join(lines[:2], ""), 202, &acc)
	if acc["accepted"].(float64) != 2 {
		t.Fatalf("EXA's log: %v", acc)
	}
	// EXB's lines name no server in their gateway column: ?server= does.
	if code, out := e.do("POST", "/api/v1/tracking/exchange-log", e.Agent, strings.Join(lines[2:], "")); code != 422 || !strings.Contains(string(out), "line[1].gateway") {
		t.Errorf("without server=: %d %s, want 422 on line[1].gateway", code, out)
	}
	e.json("POST", "/api/v1/tracking/exchange-log?server=EXB", e.Agent, strings.Join(lines[2:], ""), 202, &acc)
	var tr struct {
		State    string `json:"state"`
		Complete bool   `json:"complete"`
		Hops     []any  `json:"hops"`
	}
	e.json("GET", "/api/v1/tracking/"+url.PathEscape("C=US;A= ;P=CONTOSO;L=EXA-1"), e.Viewer, nil, 200, &tr)
	if len(tr.Hops) != 4 || tr.State != "delivered" || !tr.Complete {
		t.Errorf("trace of the log: %+v", tr)
	}
	code, out := e.do("GET", "/api/v1/tracking/export?format=csv&sender=/o=CONTOSO/ou=HQ/cn=Recipients/cn=alice", e.Viewer, nil)
	if code != 200 {
		t.Fatalf("export: %d %s", code, out)
	}
	rows, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil || len(rows) != 2 || rows[1][0] != "C=US;A= ;P=CONTOSO;L=EXA-1" || rows[1][6] != "delivered" {
		t.Errorf("export rows %q (%v)", rows, err)
	}
}

func TestTrackingSubjectGrant(t *testing.T) {
	e := newEnv(t)
	e.json("POST", "/api/v1/tracking", e.Agent, trackingBatch(), 202, nil)
	var toks struct {
		Tokens []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"tokens"`
	}
	e.json("GET", "/api/v1/tokens", e.Admin, nil, 200, &toks)
	var viewerID int64
	for _, tk := range toks.Tokens {
		if tk.Name == "viewer-token" {
			viewerID = tk.ID
		}
	}
	if viewerID == 0 {
		t.Fatalf("no viewer token in %+v", toks)
	}
	if code, _ := e.do("POST", "/api/v1/tracking/subject-grants", e.Viewer, map[string]any{"kind": "token", "id": viewerID, "grant": true}); code != 403 {
		t.Errorf("a viewer granting itself: %d, want 403", code)
	}
	e.json("POST", "/api/v1/tracking/subject-grants", e.Admin, map[string]any{"kind": "token", "id": viewerID, "grant": true}, 200, nil)
	var page struct {
		Messages []struct {
			Subject *string `json:"subject"`
		} `json:"messages"`
	}
	e.json("GET", "/api/v1/tracking?subject=Budg", e.Viewer, nil, 200, &page)
	if len(page.Messages) != 1 || page.Messages[0].Subject == nil || *page.Messages[0].Subject != "Budget 1997" {
		t.Fatalf("granted viewer's subject search: %+v", page.Messages)
	}
	if got := e.auditActions(store.AuditFilter{Action: "tracking.subjects.grant"}); len(got) != 1 {
		t.Errorf("grant audited %v, want one row", got)
	}
	if got := e.auditActions(store.AuditFilter{Action: "tracking.subjects.view"}); len(got) != 1 {
		t.Errorf("subject view audited %v, want one row", got)
	}
	e.json("POST", "/api/v1/tracking/subject-grants", e.Admin, map[string]any{"kind": "token", "id": viewerID, "grant": false}, 200, nil)
	if code, _ := e.do("GET", "/api/v1/tracking?subject=Budg", e.Viewer, nil); code != 403 {
		t.Errorf("after the revoke: %d, want 403", code)
	}
}
