package web_test

import (
	"net/url"
	"strings"
	"testing"
)

func TestTrackingPageSearchAndTrace(t *testing.T) {
	e := newEnv(t)
	b := trackingBatch()
	// a second message lost at a hop that sends no tracking (MTAX is in
	// no record as a sender)
	b = append(b, map[string]any{"time": "2026-12-01T10:00:00Z", "server": "EXA", "event": "transferred_out",
		"message_id": "<m2@hq>", "sender": "alice@hq.example", "recipients": []string{"carol@far.example"}, "partner": "PROFS"})
	e.json("POST", "/api/v1/tracking", e.Agent, b, 202, nil)

	code, body := e.do("GET", "/tracking?q=alice@hq.example", e.Viewer, nil)
	if code != 200 || !strings.Contains(string(body), "&lt;m1@hq&gt;") || !strings.Contains(string(body), "&lt;m2@hq&gt;") {
		t.Fatalf("search page: %d\n%s", code, body)
	}
	if strings.Contains(string(body), "Budget 1997") {
		t.Error("the page showed a subject to a viewer without the grant")
	}
	if code, _ := e.do("GET", "/tracking?q=Budget+19", e.Viewer, nil); code != 403 {
		t.Errorf("subject search without the grant: %d, want 403", code)
	}
	code, body = e.do("GET", "/tracking/trace?id="+url.QueryEscape("<m2@hq>"), e.Viewer, nil)
	page := string(body)
	if code != 200 || !strings.Contains(page, "<svg") || !strings.Contains(page, "left the network") || !strings.Contains(page, `stroke-dasharray="6 4"`) {
		t.Fatalf("trace page: %d\n%s", code, page)
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, " style=") {
		t.Error("the trace page carries an inline script or style (CSP)")
	}
	// The admin sees the subject on the trace.
	if _, body := e.do("GET", "/tracking/trace?id="+url.QueryEscape("<m1@hq>"), e.Admin, nil); !strings.Contains(string(body), "Budget 1997") {
		t.Error("the admin's trace page does not show the subject")
	}
}
