package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailnet/internal/mailnet"
)

// postForm POSTs a form with the bearer token (no Origin or Sec-Fetch-Site:
// not a browser, so cross-origin protection lets it through) and returns
// the status, the Location and the body, without following a redirect.
func (e *env) postForm(path, token string, form url.Values) (int, string, string) {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.HTTP.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatalf("request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := *e.HTTP.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Do(req)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(body)
}

// adminPage GETs path as the admin and fails unless the status is want.
func (e *env) adminPage(path string, want int, headers ...string) string {
	e.t.Helper()
	got, _, body := e.get(path, e.Admin, headers...)
	if got != want {
		e.t.Fatalf("GET %s as admin: status %d, want %d; body %.800s", path, got, want, body)
	}
	return string(body)
}

var postFormAction = regexp.MustCompile(`<form[^>]*method="post"[^>]*action="([^"]+)"`)

// postForms lists the actions of a page's POST forms, except sign-out.
func postForms(body string) []string {
	var out []string
	for _, m := range postFormAction.FindAllStringSubmatch(body, -1) {
		if m[1] != "/logout" {
			out = append(out, m[1])
		}
	}
	return out
}

// deliver gives user n messages through the API.
func (e *env) deliver(t *testing.T, user int64, n int) {
	t.Helper()
	msgs := make([]map[string]any, n)
	for i := range msgs {
		msgs[i] = map[string]any{"folder": "Inbox", "subject": fmt.Sprintf("m%d", i), "size": 100}
	}
	e.json("POST", fmt.Sprintf("/api/v1/users/%d/messages", user), e.Admin, msgs, 201, nil)
}

var jobPath = regexp.MustCompile(`^/jobs/(\d+)$`)

// jobOf reads the job id from a redirect to its page.
func jobOf(t *testing.T, loc string) int64 {
	t.Helper()
	m := jobPath.FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("redirect to %q, want /jobs/{id}", loc)
	}
	var id int64
	fmt.Sscan(m[1], &id)
	return id
}

func TestResolvePreviewShowsCounts(t *testing.T) {
	e := newEnv(t)
	n := seedNetwork(t, e.Store)
	e.deliver(t, n.Alice.ID, 3)
	path := "/duplicates/resolve?serial=" + url.QueryEscape(n.MacA.Serial)
	body := e.adminPage(path, 200)
	checkCSP(t, path, body)
	e.dumpHTML(t, "resolve.html", body)
	// MAC-REDMOND and MAC-PARIS have one user each: the lower id is kept,
	// MAC-PARIS's user alice moves with her 3 messages.
	mustContain(t, path, body, "keep (survivor)", "From MAC-PARIS (Paris): 1 user, 3 messages", "alice",
		"<strong>1 user</strong> with", "<strong>3 messages</strong>", "MAC-PARIS → ", "Start 1 move job",
		`action="/duplicates/resolve"`)
	if strings.Contains(body, `<option value="`+itoa(n.MacA.ID)+`"`) || strings.Contains(body, `<option value="`+itoa(n.MacB.ID)+`"`) {
		t.Errorf("%s: a server of the duplicate group is offered as a target", path)
	}
	for _, want := range []int64{n.Exch1.ID, n.Exch2.ID, n.PC1.ID} {
		if !strings.Contains(body, `<option value="`+itoa(want)+`"`) {
			t.Errorf("%s: running server %d missing from the targets", path, want)
		}
	}

	// A target inside the group is refused with the field marked.
	bad := path + "&to=" + itoa(n.MacA.ID)
	body = e.adminPage(bad, 422)
	mustContain(t, bad, body, `aria-invalid="true"`, "shares its serial number with another server")
	if strings.Contains(body, "Start 1 move job") {
		t.Errorf("%s: a refused target still offers to start", bad)
	}

	// The dashboard's group links here.
	mustContain(t, "/duplicates", e.adminPage("/duplicates", 200), `href="/duplicates/resolve?serial=31-0042"`)
}

func TestResolveStartsJobThenCancel(t *testing.T) {
	e := newEnv(t)
	n := seedNetwork(t, e.Store)
	e.deliver(t, n.Alice.ID, 4)
	form := url.Values{"serial": {n.MacA.Serial}, "to": {itoa(n.Exch2.ID)}}
	form.Set("plan", planOf(t, e.adminPage("/duplicates/resolve?"+form.Encode(), 200)))
	st, loc, body := e.postForm("/duplicates/resolve", e.Admin, form)
	if st != http.StatusSeeOther {
		t.Fatalf("POST /duplicates/resolve: status %d, want 303; body %.500s", st, body)
	}
	id := jobOf(t, loc)

	page := e.adminPage(loc, 200)
	checkCSP(t, loc, page)
	e.dumpHTML(t, "job-queued.html", page)
	mustContain(t, loc, page, "queued", `<progress class="job-bar" max="4" value="0">`, `data-f="total">4</span>`,
		`data-live="true"`, `src="/static/job.`, "Queued: 1 user to move", "alice", "MAC-PARIS", "EXCH-PAR", "Cancel job", `action="/jobs/`+itoa(id)+`/cancel"`, ">Refresh</a>")

	// The 1 s refresh gets the fragment only.
	_, hdr, frag := e.get(loc, e.Viewer, "HX-Request", "true")
	if strings.Contains(string(frag), "<html") || !strings.HasPrefix(strings.TrimSpace(string(frag)), `<section id="job-progress"`) {
		t.Errorf("htmx refresh of %s: got %.200s, want only the progress section", loc, frag)
	}
	if hdr.Get("Cache-Control") != "no-store" {
		t.Errorf("fragment Cache-Control: got %q, want no-store", hdr.Get("Cache-Control"))
	}

	jobs := e.adminPage("/jobs", 200)
	checkCSP(t, "/jobs", jobs)
	e.dumpHTML(t, "jobs.html", jobs)
	mustContain(t, "/jobs", jobs, `href="/jobs/`+itoa(id)+`"`, "queued", "admin-token", "0 / 4 messages", `<a href="/jobs" aria-current="page"`)

	st, loc, body = e.postForm(fmt.Sprintf("/jobs/%d/cancel", id), e.Admin, nil)
	if st != http.StatusSeeOther || loc != fmt.Sprintf("/jobs/%d?cancel=done", id) {
		t.Fatalf("cancel: status %d to %q, want 303 to /jobs/%d?cancel=done; body %.300s", st, loc, id, body)
	}
	page = e.adminPage(loc, 200)
	mustContain(t, loc, page, "Cancelled before it started", "job-cancelled")
	if strings.Contains(page, `data-live="true"`) || strings.Contains(page, "Cancel job") {
		t.Errorf("cancelled job page still listens or offers a cancel")
	}
	mustContain(t, loc, page, "Cancelled: 0 users of 1 moved; 1 not moved (1 skipped before they started, 0 cancelled and rolled back).")
	if strings.Contains(page, "1 of 1") {
		t.Errorf("a cancelled job reads as all done")
	}
	// Cancelling again is a conflict shown on the job page.
	st, _, body = e.postForm(fmt.Sprintf("/jobs/%d/cancel", id), e.Admin, nil)
	if st != http.StatusConflict || !strings.Contains(body, "already finished") {
		t.Errorf("second cancel: status %d, want 409 naming the finished job; body %.300s", st, body)
	}
}

func TestMoveFormPreviewStartAndDecommission(t *testing.T) {
	e := newEnv(t)
	n := seedNetwork(t, e.Store)
	e.deliver(t, n.Alice.ID, 5)
	base := fmt.Sprintf("/servers/%d/move", n.MacB.ID)

	body := e.adminPage(base+"?q=ali", 200)
	checkCSP(t, base, body)
	mustContain(t, base, body, `name="user" value="`+itoa(n.Alice.ID)+`"`, "All 1 user of MAC-PARIS (evacuate)")
	if strings.Contains(body, `<option value="`+itoa(n.MacB.ID)+`"`) {
		t.Errorf("%s: the source server is offered as a target", base)
	}

	preview := fmt.Sprintf("%s?user=%d&to=%d&step=preview", base, n.Alice.ID, n.Exch2.ID)
	body = e.adminPage(preview, 200)
	e.dumpHTML(t, "move-preview.html", body)
	mustContain(t, preview, body, "<strong>1 user</strong>", "<strong>5 messages</strong>", "from <a href=\"/servers/"+itoa(n.MacB.ID)+"\">MAC-PARIS</a>",
		">EXCH-PAR</a>", "Start move")

	cases := []struct {
		name   string
		form   url.Values
		status int
		marked string
	}{
		{"no user selected", url.Values{"to": {itoa(n.Exch2.ID)}}, 422, `class="users invalid"`},
		{"no target", url.Values{"user": {itoa(n.Alice.ID)}}, 422, `aria-invalid="true"`},
		{"target is the source", url.Values{"user": {itoa(n.Alice.ID)}, "to": {itoa(n.MacB.ID)}}, 422, `aria-invalid="true"`},
		{"user of another server", url.Values{"user": {itoa(n.Carol.ID)}, "to": {itoa(n.Exch2.ID)}}, 422, "is not homed on MAC-PARIS"},
		{"bad id", url.Values{"user": {"x"}, "to": {itoa(n.Exch2.ID)}}, 422, `class="users invalid"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, _, body := e.postForm(base, e.Admin, c.form)
			if st != c.status || !strings.Contains(body, c.marked) {
				t.Errorf("POST %s %v: status %d, want %d with %q; body %.300s", base, c.form, st, c.status, c.marked, body)
			}
		})
	}
	var jobs struct{ Jobs []mailnet.JobDetail }
	e.json("GET", "/api/v1/jobs", e.Viewer, nil, 200, &jobs)
	if len(jobs.Jobs) != 0 {
		t.Fatalf("refused forms created %d jobs, want 0", len(jobs.Jobs))
	}

	st, loc, body := e.postForm(base, e.Admin, url.Values{"user": {itoa(n.Alice.ID)}, "to": {itoa(n.Exch2.ID)}, "plan": {planOf(t, e.adminPage(preview, 200))}})
	if st != http.StatusSeeOther {
		t.Fatalf("POST %s: status %d, want 303; body %.500s", base, st, body)
	}
	id := jobOf(t, loc)
	startRunner(t, e)
	var j mailnet.JobDetail
	for deadline := time.Now().Add(10 * time.Second); j.Status != mailnet.JobDone; {
		if time.Now().After(deadline) {
			t.Fatalf("job %d: %s after 10 s, want done", id, j.Status)
		}
		time.Sleep(20 * time.Millisecond)
		e.json("GET", fmt.Sprintf("/api/v1/jobs/%d", id), e.Viewer, nil, 200, &j)
	}
	page := e.adminPage(loc, 200)
	e.dumpHTML(t, "job-done.html", page)
	mustContain(t, loc, page, "job-done", `<progress class="job-bar" max="5" value="5">`, `<strong class="users-moved" data-f="moved">1</strong> moved of <span data-f="users_total">1</span>`,
		"Done: 1 user moved with 5 messages.", `data-live="false"`,
		"item-done", "MAC-PARIS has no users left.", `href="/servers/`+itoa(n.MacB.ID)+`/decommission"`, "messages/s")
	if strings.Contains(page, `data-live="true"`) {
		t.Errorf("%s: a finished job still listens", loc)
	}

	// MAC-PARIS is empty: decommission it, and the duplicate group is gone.
	dpath := fmt.Sprintf("/servers/%d/decommission", n.MacB.ID)
	body = e.adminPage(dpath, 200)
	checkCSP(t, dpath, body)
	mustContain(t, dpath, body, "Nothing depends on MAC-PARIS", "resolves the group", "Routing entries to or from MAC-PARIS (1)",
		"Decommission MAC-PARIS: remove 1 routing entry and 0 connectors")
	st, loc, body = e.postForm(dpath, e.Admin, url.Values{"plan": {planOf(t, body)}})
	if st != http.StatusSeeOther || loc != fmt.Sprintf("/servers/%d?done=decommissioned", n.MacB.ID) {
		t.Fatalf("POST %s: status %d to %q, want 303 to the server page; body %.300s", dpath, st, loc, body)
	}
	mustContain(t, loc, e.adminPage(loc, 200), "MAC-PARIS is decommissioned.")
	mustContain(t, "/duplicates", e.adminPage("/duplicates", 200), "All clear")
	sv, err := e.Store.ServerByID(t.Context(), n.MacB.ID)
	if err != nil || sv.Status != mailnet.StatusDecommissioned {
		t.Errorf("MAC-PARIS: status %q (%v), want decommissioned", sv.Status, err)
	}
}

func TestDecommissionConfirmationNamesRoutesAndBlockers(t *testing.T) {
	e := newEnv(t)
	n := seedNetwork(t, e.Store)
	path := fmt.Sprintf("/servers/%d/decommission", n.Exch1.ID)
	body := e.adminPage(path, 200)
	checkCSP(t, path, body)
	e.dumpHTML(t, "decommission-blocked.html", body)
	// EXCH-RED: routes MAC-REDMOND→EXCH-RED, EXCH-RED→PCPO-ZULU and
	// PCPO-ZULU→EXCH-PAR via EXCH-RED; X.400 connectors both ways with
	// EXCH-PAR; one user, carol.
	mustContain(t, path, body, "Routing entries to or from EXCH-RED (2)", "Connectors at either end (2)",
		"Routes that relay through EXCH-RED (1)", "<td>indirect via EXCH-RED</td>",
		"TCP to MTA B", "TCP to MTA A", "<strong>1 user</strong> homed on it",
		`href="/servers/`+itoa(n.Exch1.ID)+`/move?all=1"`)
	if forms := postForms(body); len(forms) != 0 {
		t.Errorf("%s: blocked server offers forms %v, want none", path, forms)
	}
	st, _, out := e.postForm(path, e.Admin, nil)
	if st != http.StatusConflict || !strings.Contains(out, "1 user") || !strings.Contains(out, "Routing entries to or from EXCH-RED (2)") {
		t.Errorf("POST %s: status %d, want 409 naming 1 user and the 2 routes; body %.400s", path, st, out)
	}
	if sv, _ := e.Store.ServerByID(t.Context(), n.Exch1.ID); sv.Status != mailnet.StatusRunning {
		t.Errorf("refused decommission changed the status to %q", sv.Status)
	}
}

func TestMovePagesViewerSeesNoActions(t *testing.T) {
	e := newEnv(t)
	n := seedNetwork(t, e.Store)
	e.deliver(t, n.Alice.ID, 1)
	start := url.Values{"serial": {n.MacA.Serial}, "to": {itoa(n.Exch2.ID)}}
	start.Set("plan", planOf(t, e.adminPage("/duplicates/resolve?"+start.Encode(), 200)))
	st, loc, _ := e.postForm("/duplicates/resolve", e.Admin, start)
	if st != http.StatusSeeOther {
		t.Fatalf("start: status %d", st)
	}
	pages := []string{
		"/duplicates",
		"/duplicates/resolve?serial=" + url.QueryEscape(n.MacA.Serial),
		fmt.Sprintf("/servers/%d", n.MacB.ID),
		fmt.Sprintf("/servers/%d/move?user=%d&to=%d&step=preview", n.MacB.ID, n.Alice.ID, n.Exch2.ID),
		fmt.Sprintf("/servers/%d/decommission", n.PC1.ID),
		loc,
		"/jobs",
	}
	for _, p := range pages {
		body := e.page(p, 200)
		checkCSP(t, p, body)
		if forms := postForms(body); len(forms) != 0 {
			t.Errorf("viewer GET %s: POST forms %v, want none", p, forms)
		}
		for _, b := range []string{"Cancel job", "Start move", "Start 1 move job", "Move users</a>"} {
			if strings.Contains(body, b) {
				t.Errorf("viewer GET %s: shows %q", p, b)
			}
		}
	}
	posts := []struct {
		path string
		form url.Values
	}{
		{"/duplicates/resolve", url.Values{"serial": {n.MacA.Serial}, "to": {itoa(n.Exch2.ID)}}},
		{fmt.Sprintf("/servers/%d/move", n.MacB.ID), url.Values{"all": {"1"}, "to": {itoa(n.Exch2.ID)}}},
		{loc + "/cancel", nil},
		{fmt.Sprintf("/servers/%d/decommission", n.PC1.ID), nil},
	}
	for _, p := range posts {
		if st, _, body := e.postForm(p.path, e.Viewer, p.form); st != http.StatusForbidden {
			t.Errorf("viewer POST %s: status %d, want 403; body %.200s", p.path, st, body)
		}
	}
	if sv, _ := e.Store.ServerByID(t.Context(), n.PC1.ID); sv.Status != mailnet.StatusRunning {
		t.Errorf("viewer POST changed PCPO-ZULU to %q", sv.Status)
	}
	var jobs struct{ Jobs []mailnet.JobDetail }
	e.json("GET", "/api/v1/jobs", e.Viewer, nil, 200, &jobs)
	if len(jobs.Jobs) != 1 || jobs.Jobs[0].Status != mailnet.JobQueued {
		t.Errorf("jobs after viewer POSTs: got %+v, want the one queued job", jobs.Jobs)
	}
}

func TestAdminSeesServerActionsAndJobsNav(t *testing.T) {
	e := newEnv(t)
	n := seedNetwork(t, e.Store)
	path := fmt.Sprintf("/servers/%d", n.MacB.ID)
	body := e.adminPage(path, 200)
	mustContain(t, path, body, `href="/servers/`+itoa(n.MacB.ID)+`/move"`, `href="/servers/`+itoa(n.MacB.ID)+`/decommission"`,
		`<a href="/jobs"`)
	if got, _, _ := e.get("/jobs/999", e.Viewer); got != http.StatusNotFound {
		t.Errorf("GET /jobs/999: status %d, want 404", got)
	}
	if got, _, _ := e.get("/duplicates/resolve?serial=NOPE", e.Viewer); got != http.StatusOK {
		t.Errorf("GET resolve of an unknown serial: status %d, want 200 (nothing to resolve)", got)
	}
	if got, _, _ := e.get("/duplicates/resolve", e.Viewer); got != http.StatusUnprocessableEntity {
		t.Errorf("GET resolve without a serial: status %d, want 422", got)
	}
}

var planRE = regexp.MustCompile(`name="plan" value="([0-9a-f]+)"`)

// planOf returns the plan identity a preview page carries in its form.
func planOf(t *testing.T, body string) string {
	t.Helper()
	m := planRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no plan in the page's form")
	}
	return m[1]
}
