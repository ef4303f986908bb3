package web_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

var badgeRE = regexp.MustCompile(`(?s)<li class="overview-badge ([a-z]+)" id="check-([a-z0-9-]+)"><a href="([^"]+)">.*?<strong class="count">(\d+)</strong>`)

// badges reads the overview's checks: key -> "severity count href".
func badges(t *testing.T, body string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range badgeRE.FindAllStringSubmatch(body, -1) {
		out[m[2]] = m[1] + " " + m[4] + " " + m[3]
	}
	return out
}

func TestOverviewBadgesEveryCheck(t *testing.T) {
	e := newEnv(t)
	n := seedNetwork(t, e.Store)
	body := e.page("/", 200)
	checkCSP(t, "/", body)
	e.dumpHTML(t, "overview.html", body)
	got := badges(t, body)
	// MAC-REDMOND and MAC-PARIS share 31-0042 across sites (Q99393): one
	// group; its routes MAC-REDMOND→EXCH-RED and EXCH-PAR→MAC-PARIS do not
	// deliver, nor does PCPO-ZULU→EXCH-PAR via EXCH-RED (PCPO-ZULU has no
	// route to its relay). Every running server is silent (no events), and
	// the test's agent token has never been used.
	want := map[string]string{
		"duplicates":    "bad 1 /duplicates",
		"routing":       "bad 3 /routing",
		"stale-servers": "warn 5 /servers?sort=last_event",
		"stale-agents":  "warn 1 /tokens",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("badge %s: got %q, want %q", k, got[k], w)
		}
	}
	for _, k := range []string{"duplicates", "routing", "x400", "dirsync", "serials", "stale-servers", "stale-agents"} {
		if _, ok := got[k]; !ok {
			t.Errorf("no badge for %s", k)
		}
	}
	mustContain(t, "/", body, "checks need attention", `aria-current="page"`, ">Overview<")

	// A change shows up with the object's name, linked, and a running job.
	e.json("POST", "/api/v1/moves", e.Admin, map[string]any{"user_ids": []int64{n.Alice.ID}, "to_server_id": n.Exch2.ID}, 202, nil)
	body = e.page("/", 200)
	mustContain(t, "/ after a move", body, `id="overview-jobs"`, "queued", `<code>move.start</code>`,
		fmt.Sprintf(`href="/servers/%d">EXCH-PAR</a>`, n.Exch2.ID))
	if !strings.Contains(body, `id="overview-changes"`) {
		t.Errorf("/: no recent changes")
	}
}
