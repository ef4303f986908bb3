package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestReportServersReadYourWrites: the Global Server Report is served from
// a cache keyed by the store's write version, so a server created through
// the API is in the very next report, JSON and CSV alike.
func TestReportServersReadYourWrites(t *testing.T) {
	e := newEnv(t)
	var site struct{ ID int64 }
	e.json("POST", "/api/v1/sites", e.Admin, map[string]any{"name": "HQ"}, http.StatusCreated, &site)
	type report struct {
		Servers []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"servers"`
	}
	for i, name := range []string{"EXCH-A", "EXCH-B", "EXCH-C"} {
		var before report
		e.json("GET", "/api/v1/reports/servers", e.Viewer, nil, http.StatusOK, &before)
		e.json("GET", "/api/v1/reports/servers", e.Viewer, nil, http.StatusOK, &before) // cached now
		if len(before.Servers) != i {
			t.Fatalf("got %d servers before creating %s, want %d", len(before.Servers), name, i)
		}
		var sv struct{ ID int64 }
		e.json("POST", "/api/v1/servers", e.Admin, map[string]any{"name": name, "site_id": site.ID, "kind": "exchange",
			"serial": "EX-" + name, "addresses": []string{}}, http.StatusCreated, &sv)
		var after report
		e.json("GET", "/api/v1/reports/servers", e.Viewer, nil, http.StatusOK, &after)
		if len(after.Servers) != i+1 || after.Servers[i].ID != sv.ID || after.Servers[i].Name != name {
			t.Fatalf("got %+v right after creating %s (id %d), want it last of %d", after.Servers, name, sv.ID, i+1)
		}
		status, body := e.do("GET", "/api/v1/reports/servers?format=csv", e.Viewer, nil)
		if status != http.StatusOK || !strings.Contains(string(body), ","+name+",") {
			t.Fatalf("got status %d and CSV %q, want 200 listing %s", status, body, name)
		}
	}
}
