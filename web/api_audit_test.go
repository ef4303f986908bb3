package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"mailnet/internal/mailnet"
)

func TestAuditAPIFiltersAndPages(t *testing.T) {
	e, clk := newAuthEnv(t, nil)
	for i := range 5 {
		clk.Add(time.Hour)
		e.json("POST", "/api/v1/tokens", e.Admin, map[string]string{"name": fmt.Sprint("t", i), "role": "agent"}, 201, nil)
	}
	type page struct {
		Audit []mailnet.AuditEntry `json:"audit"`
		Next  int64                `json:"next"`
	}
	var all page
	e.json("GET", "/api/v1/audit?actor=token:admin-token&action=token.create", e.Viewer, nil, 200, &all)
	if len(all.Audit) != 5 || all.Next != 0 {
		t.Fatalf("got %d rows next %d, want 5 and no next", len(all.Audit), all.Next)
	}
	if all.Audit[0].Time.Location().String() != "UTC" || all.Audit[0].After == nil {
		t.Errorf("row %+v: want a UTC time and the after state", all.Audit[0])
	}
	var ids []int64
	q := "/api/v1/audit?actor=token:admin-token&action=token.create&limit=2"
	for range 5 {
		var p page
		e.json("GET", q, e.Viewer, nil, 200, &p)
		for _, a := range p.Audit {
			ids = append(ids, a.ID)
		}
		if p.Next == 0 {
			break
		}
		q = fmt.Sprintf("/api/v1/audit?actor=token:admin-token&action=token.create&limit=2&before=%d", p.Next)
	}
	if len(ids) != 5 || ids[0] <= ids[4] {
		t.Errorf("keyset pages gave %v, want 5 ids newest first", ids)
	}
	var one page
	e.json("GET", fmt.Sprintf("/api/v1/audit?object_type=token&object_id=%d", all.Audit[0].ObjectID), e.Viewer, nil, 200, &one)
	if len(one.Audit) != 1 {
		t.Errorf("object filter: got %d rows, want 1", len(one.Audit))
	}
	from := clk.Now().Add(-90 * time.Minute).Format(time.RFC3339)
	var recent page
	e.json("GET", "/api/v1/audit?action=token.create&from="+from, e.Viewer, nil, 200, &recent)
	if len(recent.Audit) != 2 {
		t.Errorf("from %s: got %d rows, want 2", from, len(recent.Audit))
	}
	for _, tc := range []struct {
		q     string
		field string
	}{{"object_id=x", "object_id"}, {"from=yesterday", "from"}, {"limit=501", "limit"}, {"before=-1", "before"}} {
		status, body := e.do("GET", "/api/v1/audit?"+tc.q, e.Viewer, nil)
		if status != 422 || !strings.Contains(string(body), `"field":"`+tc.field+`"`) {
			t.Errorf("%s: got %d %s, want 422 naming %s", tc.q, status, body, tc.field)
		}
	}
	if s, _ := e.do("GET", "/api/v1/audit", e.Agent, nil); s != 403 {
		t.Errorf("agent reading the audit log: got %d, want 403", s)
	}
}

func TestAuditPage(t *testing.T) {
	e, _ := newAuthEnv(t, nil)
	e.addAccount("vera", "viewer", "correct horse battery")
	for i := range 60 {
		e.json("POST", "/api/v1/tokens", e.Admin, map[string]string{"name": fmt.Sprint("t", i), "role": "agent"}, 201, nil)
	}
	b := e.browser()
	b.login("vera", "correct horse battery")
	s, body := b.text("GET", "/audit?action=token.create", nil)
	if s != 200 || !strings.Contains(body, `id="audit-filters"`) || !strings.Contains(body, `id="audit-next"`) {
		t.Fatalf("GET /audit: got %d, want 200 with filters and a next link", s)
	}
	if !strings.Contains(body, `value="token.create"`) || !strings.Contains(body, "action=token.create&amp;before=") {
		t.Error("the filter is not kept in the form and the next link")
	}
	if s, body := b.text("GET", "/audit?from=nope", nil); s != 422 || !strings.Contains(body, "from must be") {
		t.Errorf("bad filter: got %d, want 422 with the message", s)
	}
}

func TestNoRouteEditsAudit(t *testing.T) {
	e, _ := newAuthEnv(t, nil)
	for _, method := range []string{"PUT", "PATCH", "DELETE"} {
		for _, path := range []string{"/api/v1/audit", "/api/v1/audit/1", "/audit"} {
			if s, _ := e.do(method, path, e.Admin, nil); s < 400 {
				t.Errorf("%s %s as admin: got %d, want refused", method, path, s)
			}
		}
	}
	for key := range e.Server.Roles() {
		if strings.Contains(key, "audit") && !strings.HasPrefix(key, "GET ") && !strings.HasPrefix(key, "HEAD ") {
			t.Errorf("route %s writes to the audit log's path", key)
		}
	}
}
