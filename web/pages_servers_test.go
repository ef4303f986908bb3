package web_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"mailnet/internal/demo"
)

var reportRow = regexp.MustCompile(`<tr(?: class="([^"]*)")?><td><a href="/servers/\d+">([^<]+)</a></td>`)

// reportNames returns the server names of the report's rows in order, and
// the row class of each.
func reportNames(body string) (names []string, classes map[string]string) {
	classes = map[string]string{}
	for _, m := range reportRow.FindAllStringSubmatch(body, -1) {
		names = append(names, m[2])
		classes[m[2]] = m[1]
	}
	return names, classes
}

func TestPagesRenderKeyContent(t *testing.T) {
	e := newEnv(t)
	n := seedNetwork(t, e.Store)
	tests := []struct {
		name, path, file string
		wants            []string
	}{
		{"overview at root", "/", "root.html", []string{"Overview", `id="check-duplicates"`, `href="/duplicates"`, `href="/routing"`, `href="/x400"`, `href="/dirsync"`}},
		{"report", "/servers", "servers.html", []string{"Global Server Report", "31-0042", "10.1.0.11", "duplicate serial"}},
		{"server detail", "/servers/" + itoa(n.Exch1.ID), "server.html", []string{"EXCH-RED", "multihomed", "TCP to MTA B", "carol", "Carol Lee", "/o=", "MSExchangeMTA: medium"}},
		{"duplicates", "/duplicates", "duplicates.html", []string{"Duplicate serial numbers", `id="serial-31-0042"`, "KB", "Recommended resolution"}},
		{"routing", "/routing", "routing.html", []string{"configured versus effective", "<svg", "No Connection", "link none", "srv dup"}},
		{"x400", "/x400", "x400.html", []string{"X.400 connector check", "KB197378", "TCP to MTA B", "9301"}},
		{"dirsync", "/dirsync", "dirsync.html", []string{"Directory synchronization", "ReqTx", "No dir-sync requestor"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := e.page(tc.path, http.StatusOK)
			e.dumpHTML(t, tc.file, body)
			mustContain(t, tc.path, body, tc.wants...)
			mustContain(t, tc.path, body, "<!doctype html>", `class="lead"`, "Sign out")
			checkCSP(t, tc.path, body)
		})
	}
}

func TestServerReportMarksDuplicatePair(t *testing.T) {
	e := newEnv(t)
	seedNetwork(t, e.Store)
	body := e.page("/servers", http.StatusOK)
	_, classes := reportNames(body)
	for name, want := range map[string]string{"MAC-PARIS": "dup", "MAC-REDMOND": "dup", "EXCH-RED": "", "EXCH-PAR": "", "PCPO-ZULU": ""} {
		if got, ok := classes[name]; !ok || got != want {
			t.Errorf("row %s: class %q (present %v), want %q", name, got, ok, want)
		}
	}
	if got := strings.Count(body, `href="/duplicates#serial-31-0042"`); got != 2 {
		t.Errorf("links to the duplicate group: got %d, want 2", got)
	}
	if !strings.Contains(body, `<span class="count" title="1 duplicate-serial groups">1</span>`) {
		t.Errorf("navigation: no duplicate count badge of 1")
	}
}

func TestDuplicatesPageExplainsGroup(t *testing.T) {
	e := newEnv(t)
	seedNetwork(t, e.Store)
	body := e.page("/duplicates", http.StatusOK)
	mustContain(t, "/duplicates", body,
		`id="serial-31-0042"`,
		"MAC-REDMOND", "MAC-PARIS",
		"suddenly default to No Connection",
		"disappear from the All listing",
		"different sites",
		"It is not possible to change the serial number",
		`Routes now "No Connection" (2)`,
		"Users hidden from the All listing (2)",
		"alice", "bob",
		"Recommended resolution",
		"move users off, then remove",
		"routing and user name propagation return to normal",
	)
	if strings.Contains(body, "All clear") {
		t.Errorf("duplicates page says all clear while a group exists")
	}
}

func TestDuplicatesPageAllClear(t *testing.T) {
	e := newEnv(t)
	body := e.page("/duplicates", http.StatusOK)
	mustContain(t, "/duplicates", body, "All clear", "unique serial number")
	if strings.Contains(body, `class="count"`) {
		t.Errorf("navigation shows a duplicate count with no groups")
	}
}

func TestServerReportSortAndFilter(t *testing.T) {
	e := newEnv(t)
	n := seedNetwork(t, e.Store)
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"EXCH-PAR", "EXCH-RED", "MAC-PARIS", "MAC-REDMOND", "PCPO-ZULU"}},
		{"?sort=name&dir=desc", []string{"PCPO-ZULU", "MAC-REDMOND", "MAC-PARIS", "EXCH-RED", "EXCH-PAR"}},
		{"?sort=users&dir=desc", []string{"MAC-REDMOND", "MAC-PARIS", "EXCH-RED", "EXCH-PAR", "PCPO-ZULU"}}, // ties by id
		{"?q=mac", []string{"MAC-PARIS", "MAC-REDMOND"}},
		{"?q=10.1.0.11", []string{"EXCH-RED"}},
		{"?kind=exchange", []string{"EXCH-PAR", "EXCH-RED"}},
		{"?site=" + itoa(n.Redmond.ID), []string{"EXCH-RED", "MAC-REDMOND"}},
		{"?duplicates=1&sort=site", []string{"MAC-PARIS", "MAC-REDMOND"}},
		{"?status=stopped", nil},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			got, _ := reportNames(e.page("/servers"+tc.query, http.StatusOK))
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("rows %v, want %v", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"?sort=color", "?dir=up", "?kind=fax", "?site=abc"} {
		if got, _, _ := e.get("/servers"+bad, e.Viewer); got != http.StatusUnprocessableEntity {
			t.Errorf("GET /servers%s: status %d, want 422", bad, got)
		}
	}
	// The header link of the sorted column flips the direction.
	body := e.page("/servers?sort=name&dir=asc", http.StatusOK)
	if !strings.Contains(body, `href="/servers?dir=desc&amp;sort=name"`) {
		t.Errorf("name heading does not link to the descending sort")
	}
}

func TestServerReportFragmentForHTMX(t *testing.T) {
	e := newEnv(t)
	seedNetwork(t, e.Store)
	full := e.page("/servers?q=mac", http.StatusOK)
	frag := e.page("/servers?q=mac", http.StatusOK, "HX-Request", "true")
	if !strings.Contains(full, "<html") || !strings.Contains(full, `<form class="filters"`) {
		t.Errorf("full page lacks the layout or the filter form")
	}
	if strings.Contains(frag, "<html") || strings.Contains(frag, "<header") || strings.Contains(frag, "<form") {
		t.Errorf("fragment holds the layout or the form: %.300s", frag)
	}
	if !strings.HasPrefix(strings.TrimSpace(frag), `<div id="report">`) {
		t.Errorf("fragment does not start with the report div: %.100s", frag)
	}
	if got, _ := reportNames(frag); strings.Join(got, ",") != "MAC-PARIS,MAC-REDMOND" {
		t.Errorf("fragment rows %v, want [MAC-PARIS MAC-REDMOND]", got)
	}
	_, h, _ := e.get("/servers", e.Viewer, "HX-Request", "true")
	if v := h.Values("Vary"); !strings.Contains(strings.Join(v, ","), "HX-Request") {
		t.Errorf("Vary %v, want HX-Request", v)
	}
	if cc := h.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
}

func TestServerReportEmptyState(t *testing.T) {
	e := newEnv(t)
	body := e.page("/servers", http.StatusOK)
	mustContain(t, "/servers", body, "No servers yet", "admin-web serve --demo", "POST", "/api/v1/servers", "curl")
	if names, _ := reportNames(body); len(names) != 0 {
		t.Errorf("empty inventory shows rows %v", names)
	}
	checkCSP(t, "/servers", body)
}

var cssURL = regexp.MustCompile(`href="(/static/app\.[0-9a-f]{8}\.css)"`)
var jsURL = regexp.MustCompile(`src="(/static/(?:htmx-[0-9.]+\.min|app)\.[0-9a-f]{8}\.js)"`)

func TestStaticAssetsHashed(t *testing.T) {
	e := newEnv(t)
	body := e.page("/servers", http.StatusOK)
	css := cssURL.FindStringSubmatch(body)
	js := jsURL.FindAllStringSubmatch(body, -1)
	if css == nil || len(js) != 2 {
		t.Fatalf("page links css %v and scripts %v, want one hashed css and two hashed scripts", css, js)
	}
	tests := []struct{ path, ctype, contains string }{
		{css[1], "text/css; charset=utf-8", "--bad"},
		{js[0][1], "text/javascript; charset=utf-8", "htmx"},
		{js[1][1], "text/javascript; charset=utf-8", "historyCacheSize = 0"},
	}
	for _, tc := range tests {
		got, h, b := e.get(tc.path, "") // public: no token needed
		if got != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", tc.path, got)
			continue
		}
		if ct := h.Get("Content-Type"); ct != tc.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, ct, tc.ctype)
		}
		if cc := h.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") || !strings.Contains(cc, "immutable") {
			t.Errorf("GET %s: Cache-Control %q, want a year, immutable", tc.path, cc)
		}
		if !strings.Contains(string(b), tc.contains) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
		}
	}
	for _, p := range []string{"/static/app.css", "/static/app.00000000.css", "/static/nothing.js", "/static/htmx-LICENSE.txt"} {
		if got, _, _ := e.get(p, ""); got != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, got)
		}
	}
}

func TestServerDetailPage(t *testing.T) {
	e := newEnv(t)
	n := seedNetwork(t, e.Store)
	body := e.page("/servers/"+itoa(n.MacB.ID), http.StatusOK)
	mustContain(t, "MAC-PARIS", body,
		"Duplicate serial number 31-0042", `href="/duplicates#serial-31-0042"`, "MAC-REDMOND",
		`<tr class="eff-none">`, "shares serial number 31-0042", "alice", "hidden")
	checkCSP(t, "server", body)

	body = e.page("/servers/"+itoa(n.Exch2.ID), http.StatusOK)
	mustContain(t, "EXCH-PAR", body, "TCP to MTA A", "MS Mail Connector", "none (transport picks)", `<td class="num">5</td>`, "MSExchangePCMTA: maximum")
	if strings.Contains(body, "Duplicate serial number") {
		t.Errorf("EXCH-PAR: duplicate warning on a unique serial")
	}

	body = e.page("/servers/"+itoa(n.Exch1.ID)+"?q=car", http.StatusOK)
	mustContain(t, "user search", body, "carol", `1 matching "car"`)
	body = e.page("/servers/"+itoa(n.Exch1.ID)+"?q=zzz", http.StatusOK)
	if strings.Contains(body, "Carol Lee") {
		t.Errorf("user search zzz still lists Carol Lee")
	}

	for _, p := range []string{"/servers/999999", "/servers/abc"} {
		got, h, b := e.get(p, e.Viewer)
		if got != http.StatusNotFound || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(string(b), "404") {
			t.Errorf("GET %s: status %d, type %q, want a 404 page", p, got, h.Get("Content-Type"))
		}
	}
}

func TestRoutingPageFilter(t *testing.T) {
	e := newEnv(t)
	n := seedNetwork(t, e.Store)
	body := e.page("/routing?none=1", http.StatusOK)
	mustContain(t, "none only", body, "showing 1–2 of 2 (of 4 in all)")
	body = e.page("/routing?server=exch-par", http.StatusOK)
	mustContain(t, "one server", body, "showing 1–2 of 2 (of 4 in all)", `href="/servers/`+itoa(n.Exch2.ID)+`">EXCH-PAR</a>:`)
	if got, _, _ := e.get("/routing?server=NOPE", e.Viewer); got != http.StatusUnprocessableEntity {
		t.Errorf("unknown server: status %d, want 422", got)
	}
}

func TestPagesNeedAViewer(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/", "/servers", "/duplicates", "/routing", "/x400", "/dirsync", "/servers/1"} {
		if got, _, _ := e.get(p, e.Agent); got != http.StatusForbidden {
			t.Errorf("GET %s as agent: status %d, want 403", p, got)
		}
		if got, _, _ := e.get(p, ""); got == http.StatusOK {
			t.Errorf("GET %s without sign-in: status 200, want a refusal", p)
		}
	}
	if got, _, _ := e.get("/servers", e.Admin); got != http.StatusOK {
		t.Errorf("GET /servers as admin: status %d, want 200", got)
	}
}

// TestPagesOnDemoNetwork renders every page of the demo network (the three
// seed scenarios): each answers 200 and keeps to the CSP.
func TestPagesOnDemoNetwork(t *testing.T) {
	e := newEnv(t)
	if _, err := demo.Seed(context.Background(), e.Store); err != nil {
		t.Fatalf("demo seed: %v", err)
	}
	servers, err := e.Store.Servers(context.Background())
	if err != nil || len(servers) == 0 {
		t.Fatalf("demo servers: %d, %v", len(servers), err)
	}
	paths := map[string]string{
		"/servers": "demo-servers.html", "/duplicates": "demo-duplicates.html", "/routing": "demo-routing.html",
		"/x400": "demo-x400.html", "/dirsync": "demo-dirsync.html",
	}
	for _, sv := range servers {
		paths["/servers/"+itoa(sv.ID)] = "demo-server-" + itoa(sv.ID) + ".html"
	}
	for p, file := range paths {
		body := e.page(p, http.StatusOK)
		e.dumpHTML(t, file, body)
		checkCSP(t, p, body)
	}
	body := e.page("/duplicates", http.StatusOK)
	if strings.Contains(body, "All clear") {
		t.Errorf("demo /duplicates: all clear, want the Q99393 pair")
	}
}

var exportLink = regexp.MustCompile(`href="(/api/v1/reports/servers\?format=(?:csv|json)[^"]*)"`)

func TestServerReportExportLinksKeepTheFilter(t *testing.T) {
	e := newEnv(t)
	seedNetwork(t, e.Store)
	body := e.page("/servers?q=mac&duplicates=1&sort=name&dir=desc", http.StatusOK)
	links := exportLink.FindAllStringSubmatch(body, -1)
	if len(links) != 2 {
		t.Fatalf("export links %v, want csv and json", links)
	}
	for _, l := range links {
		u := strings.ReplaceAll(l[1], "&amp;", "&")
		got, _, b := e.get(u, e.Viewer)
		if got != http.StatusOK {
			t.Fatalf("GET %s: status %d, want 200; %s", u, got, b)
		}
		if !strings.Contains(string(b), "MAC-PARIS") || strings.Contains(string(b), "EXCH-RED") {
			t.Errorf("GET %s: export does not follow the filter: %.300s", u, b)
		}
	}
}
