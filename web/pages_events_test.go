package web_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"mailnet/internal/demo"
)

// seededEnv is a console over the demo network.
func seededEnv(t *testing.T) (*env, demo.Summary) {
	t.Helper()
	e := newEnv(t)
	sum, err := demo.Seed(context.Background(), e.Store)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	return e, sum
}

// serverID returns the id of the server named name.
func serverID(t *testing.T, e *env, name string) int64 {
	t.Helper()
	servers, err := e.Store.Servers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		if s.Name == name {
			return s.ID
		}
	}
	t.Fatalf("no server %s", name)
	return 0
}

func postEvents(t *testing.T, e *env, evs ...map[string]any) {
	t.Helper()
	e.json("POST", "/api/v1/events", e.Agent, evs, 202, nil)
}

// rowIDs are the event ids of the rows of the event log.
var rowRE = regexp.MustCompile(`<tr class="ev sev-[a-z]+" data-id="(\d+)"`)

func TestEventsPageRendersFilteredRowsWithLinks(t *testing.T) {
	e, sum := seededEnv(t)
	postEvents(t, e,
		map[string]any{"server": sum.RemoteServer, "source": "MSExchangeMTA", "event_id": 9301, "category": "Interface", "severity": "warning",
			"description": "An incoming connection from 172.16.5.1 was refused: H9 marker", "fields": map[string]string{"remote_address": "172.16.5.1", "connector": sum.RemoteConnector}},
		map[string]any{"server": "CORPNET/PO-SALES", "source": "MSExchangePCMTA", "event_id": 4395, "category": "Moved Out", "severity": "info",
			"description": `Mail sent from \\PO-SALES\MAILDATA`, "subject": "ReqTx R=13 (was 12), S=10, I=3, 42 sent."},
	)
	lon := serverID(t, e, sum.RemoteServer)

	tests := []struct {
		name, query string
		want        []string
		wantEventID string // every row has it ("" = no check)
	}{
		{"9301 filter", "?event_id=9301", []string{
			"H9 marker", fmt.Sprintf(`href="/servers/%d"`, lon), fmt.Sprintf(`href="/x400?server_id=%d&amp;status=all"`, lon), "connector " + sum.RemoteConnector,
			`title="9301: The receiving MTA matched`, `<span class="ev-fields">remote_address: 172.16.5.1</span>`, `data-ws="/ws?event_id=9301&amp;types=event"`,
		}, "9301"},
		{"requestor server", "?server=CORPNET/PO-SALES&event_id=4395", []string{
			`<a href="/dirsync" title="dir-sync requestor">CORPNET/PO-SALES</a>`, "ReqTx R=13 (was 12), S=10, I=3, 42 sent.",
			"R=13: the current requestor sync number from REQTRANS.GLB.",
		}, "4395"},
		{"severity and site", "?severity=warning&site=London", []string{"H9 marker"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.do("GET", "/events"+tc.query, e.Viewer, nil)
			if code != 200 {
				t.Fatalf("status %d, want 200; %s", code, body)
			}
			page := string(body)
			for _, w := range tc.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			rows := rowRE.FindAllStringSubmatch(page, -1)
			if len(rows) == 0 {
				t.Fatalf("got no rows, want some")
			}
			if tc.wantEventID != "" {
				ids := regexp.MustCompile(`class="evid">(\d+)<`).FindAllStringSubmatch(page, -1)
				for _, m := range ids {
					if m[1] != tc.wantEventID {
						t.Errorf("row with event ID %s, want only %s", m[1], tc.wantEventID)
					}
				}
			}
			if strings.Contains(tc.query, "severity=warning") && strings.Contains(page, `class="badge sev info"`) {
				t.Errorf("an info row under severity=warning")
			}
		})
	}
}

func TestEventsPageNewestFirstAndResumesFromNewest(t *testing.T) {
	e, sum := seededEnv(t)
	for i := range 3 {
		// Q243632's Event 9156, which the demo seed does not log.
		postEvents(t, e, map[string]any{"server": sum.RemoteServer, "source": "MSExchangeMTA", "event_id": 9156, "severity": "warning",
			"description": fmt.Sprintf("A resource limit has been reached while attempting to open an association. There are no free control blocks available for network type 1. The configured count is %d. [BASE IL MAIN BASE 1 282] (10)", 70+i)})
	}
	_, body := e.do("GET", "/events?event_id=9156", e.Viewer, nil)
	rows := rowRE.FindAllStringSubmatch(string(body), -1)
	if len(rows) != 3 {
		t.Fatalf("got %d rows, want 3", len(rows))
	}
	id := func(i int) int { n, _ := strconv.Atoi(rows[i][1]); return n }
	if !(id(0) > id(1) && id(1) > id(2)) {
		t.Errorf("row ids %s %s %s, want newest first", rows[0][1], rows[1][1], rows[2][1])
	}
	if want := `data-after-id="` + rows[0][1] + `"`; !strings.Contains(string(body), want) {
		t.Errorf("page lacks %s (resume after the newest row)", want)
	}
}

func TestEventsPageRefusesBadFilter(t *testing.T) {
	e := newEnv(t)
	code, body := e.do("GET", "/events?severity=loud", e.Viewer, nil)
	if code != 422 {
		t.Fatalf("status %d, want 422", code)
	}
	if !strings.Contains(string(body), "severity must be info, warning or error") {
		t.Errorf("page does not name the bad filter: %s", body)
	}
}

var scriptTagRE = regexp.MustCompile(`(?i)<script[^>]*>`)

// TestLivePagesHaveNoInlineScriptOrStyle: the CSP forbids both.
func TestLivePagesHaveNoInlineScriptOrStyle(t *testing.T) {
	e, _ := seededEnv(t)
	for _, path := range []string{"/events", "/events?event_id=9301", "/noc", "/noc/tiles"} {
		code, body := e.do("GET", path, e.Viewer, nil)
		if code != 200 {
			t.Fatalf("%s: status %d, want 200", path, code)
		}
		page := string(body)
		for _, tag := range scriptTagRE.FindAllString(page, -1) {
			if !strings.Contains(tag, " src=") {
				t.Errorf("%s: inline script %s", path, tag)
			}
		}
		if regexp.MustCompile(`(?i)<style|\sstyle="|\son[a-z]+="`).MatchString(page) {
			t.Errorf("%s: inline style or event handler attribute", path)
		}
	}
}

func TestEventsPageNeedsViewer(t *testing.T) {
	e := newEnv(t)
	if code, _ := e.do("GET", "/events", e.Agent, nil); code != 403 {
		t.Errorf("agent token: status %d, want 403", code)
	}
}
