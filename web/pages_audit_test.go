package web_test

import (
	"fmt"
	"strings"
	"testing"
)

func TestAuditPageIsReadable(t *testing.T) {
	e := newEnv(t)
	n := seedNetwork(t, e.Store)
	// A change with a before and an after: a server renamed.
	e.json("PATCH", fmt.Sprintf("/api/v1/servers/%d", n.PC1.ID), e.Admin, map[string]any{"name": "PCPO-YANKEE"}, 200, nil)
	e.json("POST", "/api/v1/users", e.Admin, map[string]any{"alias": "dora", "display_name": "Dora Diaz", "server_id": n.Exch2.ID}, 201, nil)

	body := e.page("/audit", 200)
	checkCSP(t, "/audit", body)
	e.dumpHTML(t, "audit.html", body)
	mustContain(t, "/audit", body,
		// names and links instead of ids
		fmt.Sprintf(`<a href="/servers/%d">server PCPO-YANKEE</a>`, n.PC1.ID),
		fmt.Sprintf(`<a href="/servers/%d">user dora</a>`, n.Exch2.ID),
		// a field-level diff, the raw JSON behind a toggle
		`<th scope="row">name</th>`, `<span class="from mono">&#34;PCPO-ZULU&#34;</span>`, `<span class="to mono">&#34;PCPO-YANKEE&#34;</span>`,
		"<details>", "<summary class=\"small\">Raw JSON</summary>",
		// choices for the action and object filters
		`<select name="action">`, `<option value="server.update">`, `<select name="object_type">`, `<option value="user">`)
	if strings.Contains(body, "user "+itoa(0)) {
		t.Errorf("an object shows as an id")
	}

	// From later than To: refused, the field named, on the page and the API.
	q := "from=2026-03-02&to=2026-03-01"
	st, _, page := e.get("/audit?"+q, e.Viewer)
	if st != 422 || !strings.Contains(string(page), "later than to") || !strings.Contains(string(page), "Field: <code>from</code>") {
		t.Errorf("GET /audit?%s: status %d, want 422 naming from; body %.300s", q, st, page)
	}
	status, raw := e.do("GET", "/api/v1/audit?"+q, e.Viewer, nil)
	if status != 422 || !strings.Contains(string(raw), `"field":"from"`) {
		t.Errorf("GET /api/v1/audit?%s: %d %s, want 422 naming from", q, status, raw)
	}
	// The same day as From and To is one whole day, not refused.
	if st, _, _ := e.get("/audit?from=2026-03-01&to=2026-03-01", e.Viewer); st != 200 {
		t.Errorf("one day: status %d, want 200", st)
	}
}
