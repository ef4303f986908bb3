package web_test

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"mailnet/internal/store"
)

var tileRE = regexp.MustCompile(`<section class="tile tile-([a-z0-9]+)`)

func tilesOf(page string) []string {
	var out []string
	for _, m := range tileRE.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestNOCRendersChosenTilesReadOnly(t *testing.T) {
	e, sum := seededEnv(t)
	postEvents(t, e, map[string]any{"server": sum.RemoteServer, "source": "MSExchangeMTA", "event_id": 9301, "severity": "warning",
		"description": "refused", "fields": map[string]string{"remote_address": sum.MultihomedAddresses[1], "connector": sum.RemoteConnector}})
	sites, err := e.Store.Sites(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var london int64
	for _, s := range sites {
		if s.Name == "London" {
			london = s.ID
		}
	}
	all := "servers duplicates x400 dirsync moves rate events"
	tests := []struct {
		query, tiles string
		want         []string
	}{
		{"", all, []string{`id="noc-status"`, `class="noc-event sev-warning" data-id="`, "MA-3100-0042", "MACMAIL-ENG (Redmond)",
			"TCP to MTA B", "50%", `id="rate-chart"`, "no move running", "PLANTNET/PO-PLANT", "silent", "38</span>"}},
		{"?tiles=servers,x400,events", "servers x400 events", []string{`data-tiles-url="/noc/tiles?tiles=servers%2Cx400%2Cevents"`}},
		{"?tiles=events,servers&site=" + strconv.FormatInt(london, 10), "servers events",
			[]string{"London", `data-ws="/ws?site=` + strconv.FormatInt(london, 10) + `"`, sum.RemoteServer}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			code, body := e.do("GET", "/noc"+tc.query, e.Viewer, nil)
			if code != 200 {
				t.Fatalf("status %d, want 200: %s", code, body)
			}
			page := string(body)
			if got := strings.Join(tilesOf(page), " "); got != tc.tiles {
				t.Errorf("tiles %q, want %q", got, tc.tiles)
			}
			for _, w := range tc.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, bad := range []string{"<form", "<button", "<input", `method="post"`, "hx-post", "/login"} {
				if strings.Contains(page, bad) {
					t.Errorf("read-only screen contains %q", bad)
				}
			}
		})
	}
	if code, _ := e.do("GET", "/noc?tiles=weather", e.Viewer, nil); code != 422 {
		t.Errorf("unknown tile: status %d, want 422", code)
	}
	if code, _ := e.do("GET", "/noc?site=Atlantis", e.Viewer, nil); code != 422 {
		t.Errorf("unknown site: status %d, want 422", code)
	}
}

func TestNOCSiteNarrowsServerCounts(t *testing.T) {
	e, _ := seededEnv(t)
	_, body := e.do("GET", "/noc/tiles?tiles=servers&site=London", e.Viewer, nil)
	// London has four servers in the demo network.
	if !strings.Contains(string(body), `<span class="n">4</span><span class="l">running</span>`) {
		t.Errorf("London servers tile: %s, want 4 running", body)
	}
}

func TestNOCTilesReturnFreshData(t *testing.T) {
	e, sum := seededEnv(t)
	code, before := e.do("GET", "/noc/tiles?tiles=events", e.Viewer, nil)
	if code != 200 {
		t.Fatalf("status %d, want 200", code)
	}
	if strings.Contains(string(before), "<html") {
		t.Errorf("tiles answer is a whole page, want the tiles only")
	}
	postEvents(t, e, map[string]any{"server": sum.RemoteServer, "source": "MSExchangeMTA", "event_id": 9301, "severity": "error",
		"description": "fresh marker"})
	evs, err := e.Store.RecentEvents(context.Background(), recentOne())
	if err != nil || len(evs) != 1 {
		t.Fatalf("newest event: %v %v", evs, err)
	}
	_, after := e.do("GET", "/noc/tiles?tiles=events", e.Viewer, nil)
	want := `class="noc-event sev-error" data-id="` + strconv.FormatInt(evs[0].ID, 10) + `"`
	if !strings.Contains(string(after), want) || !strings.Contains(string(after), "fresh marker") {
		t.Errorf("tiles after a new error lack %s", want)
	}
	if strings.Contains(string(before), "fresh marker") {
		t.Errorf("tiles before the event already show it")
	}
}

// TestNOCFetchWithoutSessionIs401: noc.js asks for JSON errors, so an
// ended session answers 401 (shown as "session ended") rather than a
// redirect to the login page.
func TestNOCFetchWithoutSessionIs401(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest("GET", e.HTTP.URL+"/noc/tiles", nil)
	req.Header.Set("Accept", "text/html, application/json;q=0.1")
	c := e.HTTP.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Errorf("status %d, want 401", res.StatusCode)
	}
}

func recentOne() store.EventQuery {
	return store.EventQuery{EventID: -1, Limit: 1}
}
