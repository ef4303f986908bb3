package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzReadQueries sends arbitrary query strings to every read endpoint
// that parses one (the API's filters, sorts and keyset cursors, and the
// pages that share them) through the real router: whatever a client puts
// in a URL, the answer is a success or a clear refusal, never a 500.
func FuzzReadQueries(f *testing.F) {
	e := newEnv(f)
	paths := []string{
		"/api/v1/servers", "/api/v1/users", "/api/v1/routes", "/api/v1/connectors",
		"/api/v1/requestors", "/api/v1/events", "/api/v1/jobs", "/api/v1/audit",
		"/api/v1/reports/servers", "/api/v1/reports/dirsync", "/servers", "/events", "/audit", "/routing",
	}
	for _, q := range []string{"", "limit=5", "after_id=-1", "limit=99999999999999999999", "sort=users&desc=1",
		"server_id=abc", "since=2026-01-01T00:00:00Z&until=yesterday", "event_id=9301&severity=warning",
		"format=csv", "site=%00", "q=%ff%fe", "before=1&actor=x"} {
		for i := range paths {
			f.Add(uint8(i), q)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, rawQuery string) {
		path := paths[int(which)%len(paths)]
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.URL.RawQuery = rawQuery
		req.Header.Set("Authorization", "Bearer "+e.Viewer)
		req.Header.Set("Accept", "application/json")
		rec := httptest.NewRecorder()
		e.Server.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("GET %s?%s: status %d: %s", path, rawQuery, rec.Code, rec.Body.String())
		}
	})
}
