package web_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// x400Pair is EXCH-A (multihomed, 5.5 SP2) and EXCH-B with connectors
// both ways; B's Stack lists only A's first address.
func x400Pair(t *testing.T, e *env, aVersion string) (n invNet, ab, ba invConnector) {
	t.Helper()
	n = newInvNet(t, e)
	e.json("PATCH", fmt.Sprintf("/api/v1/servers/%d", n.ExchA), e.Admin, map[string]any{"version": aVersion}, 200, nil)
	e.json("POST", "/api/v1/connectors", e.Admin, map[string]any{"kind": "x400", "name": "TCP to MTA B", "server_id": n.ExchA,
		"remote_server_id": n.ExchB, "stack_addresses": []string{"10.1.0.5"}}, 201, &ab)
	e.json("POST", "/api/v1/connectors", e.Admin, map[string]any{"kind": "x400", "name": "TCP to MTA A", "server_id": n.ExchB,
		"remote_server_id": n.ExchA, "stack_addresses": []string{"10.0.0.5"}}, 201, &ba)
	return n, ab, ba
}

func (e *env) getPage(token, path string) (int, string) {
	e.t.Helper()
	status, body := e.do("GET", path, token, nil)
	return status, string(body)
}

// TestX400FixPreviewAndApply: the preview shows both ends and the
// predicted ratio before and after; the admin's POST applies both ends
// in one change (one audit row per connector) and redirects 303; a
// viewer cannot; clearing is offered and works.
func TestX400FixPreviewAndApply(t *testing.T) {
	e := newEnv(t)
	_, ab, ba := x400Pair(t, e, "5.5 SP2")
	path := fmt.Sprintf("/x400/fix/%d", ab.ID)

	status, body := e.getPage(e.Viewer, path)
	if status != 200 {
		t.Fatalf("preview: %d %s", status, body)
	}
	for _, want := range []string{
		`HKEY_LOCAL_MACHINE\System\CurrentControlSet\Services\MSExchangeMTA\Parameters\TCP to MTA B\Stack IP Address Override`,
		"Restart the Microsoft Exchange MTA service",
		"TCP to MTA A", // B's connector
		"10.0.0.5",     // the address B accepts: proposed
	} {
		if !strings.Contains(body, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if strings.Contains(body, "Service Pack 2 or later on") {
		t.Errorf("preview asks for SP2 on an SP2 server")
	}
	if got := ratioAfter(body, "<th>Before</th>"); got != "50%" {
		t.Errorf("before: %q, want 50%% (one of two addresses accepted)", got)
	}
	if got := ratioAfter(body, "<th>After</th>"); got != "0%" {
		t.Errorf("after: %q, want 0%%", got)
	}
	if strings.Contains(body, `action="/x400/fix/`) {
		t.Errorf("a viewer is offered the apply form")
	}
	form := url.Values{"action": {"set"}, "address": {"10.0.0.6"}}
	if s, _ := e.formPost(e.Viewer, path, form); s != 403 {
		t.Errorf("viewer POST: %d, want 403", s)
	}
	// Another address than the proposed one: the preview follows it.
	_, body = e.getPage(e.Admin, path+"?action=set&address=10.0.0.6")
	if !strings.Contains(body, `value="10.0.0.6"`) || !strings.Contains(body, "Apply at both ends") {
		t.Errorf("admin preview for 10.0.0.6 lacks the form with that address")
	}

	s, loc := e.formPost(e.Admin, path, form)
	if s != 303 || loc != path+"?done=set" {
		t.Fatalf("apply: %d to %q, want 303 to %s?done=set", s, loc, path)
	}
	var a, b invConnector
	e.json("GET", fmt.Sprintf("/api/v1/connectors/%d", ab.ID), e.Viewer, nil, 200, &a)
	e.json("GET", fmt.Sprintf("/api/v1/connectors/%d", ba.ID), e.Viewer, nil, 200, &b)
	if a.OverrideAddress != "10.0.0.6" || !slices.Equal(b.StackAddresses, []string{"10.0.0.6"}) {
		t.Errorf("after apply: override %q, B's stack %v; want 10.0.0.6 at both ends", a.OverrideAddress, b.StackAddresses)
	}
	for _, id := range []int64{ab.ID, ba.ID} {
		var k int
		e.Store.DB().QueryRow(`SELECT count(*) FROM audit WHERE action = 'connector.update' AND object_id = ?`, id).Scan(&k)
		if k != 1 {
			t.Errorf("audit rows for connector %d: %d, want 1", id, k)
		}
	}
	_, body = e.getPage(e.Viewer, path+"?done=set")
	if !strings.Contains(body, "Applied") {
		t.Errorf("page after apply does not say it was applied")
	}

	// Refused: an address that is not A's; 422, nothing changes.
	s, _ = e.formPost(e.Admin, path, url.Values{"action": {"set"}, "address": {"10.9.9.9"}})
	if s != 422 {
		t.Errorf("foreign address: %d, want 422", s)
	}
	e.json("GET", fmt.Sprintf("/api/v1/connectors/%d", ab.ID), e.Viewer, nil, 200, &a)
	if a.OverrideAddress != "10.0.0.6" {
		t.Errorf("refused apply changed the override to %q", a.OverrideAddress)
	}

	// Clearing: A's override only.
	_, body = e.getPage(e.Admin, path+"?action=clear")
	if !strings.Contains(body, "Clear the override of TCP to MTA B") {
		t.Errorf("clear preview lacks its button")
	}
	if s, _ := e.formPost(e.Admin, path, url.Values{"action": {"clear"}}); s != 303 {
		t.Fatalf("clear: %d, want 303", s)
	}
	e.json("GET", fmt.Sprintf("/api/v1/connectors/%d", ab.ID), e.Viewer, nil, 200, &a)
	if a.OverrideAddress != "" {
		t.Errorf("after clear: override %q", a.OverrideAddress)
	}
}

// TestX400FixSP2First: on an SP1 server the preview puts SP2 first and
// predicts no improvement until it is installed.
func TestX400FixSP2First(t *testing.T) {
	e := newEnv(t)
	_, ab, _ := x400Pair(t, e, "5.5 SP1")
	_, body := e.getPage(e.Admin, fmt.Sprintf("/x400/fix/%d", ab.ID))
	i := strings.Index(body, "First, install Exchange Server 5.5 Service Pack 2")
	j := strings.Index(body, "Stack IP Address Override</code>")
	if i < 0 || j < 0 || i > j {
		t.Errorf("SP2 step at %d, registry step at %d: want SP2 first", i, j)
	}
	if got := ratioAfter(body, "<th>After</th>"); got != "50%" {
		t.Errorf("after, without SP2: %q, want 50%% (SP1 ignores the override)", got)
	}
	if got := ratioAfter(body, "<th>After, with SP2</th>"); got != "0%" {
		t.Errorf("after, with SP2: %q, want 0%%", got)
	}
}

// TestX400FixCrossOriginRefused: the fix form is a state change; a
// signed-in admin's browser posting from another origin is refused.
func TestX400FixCrossOriginRefused(t *testing.T) {
	e, _ := newAuthEnv(t, nil)
	_, ab, _ := x400Pair(t, e, "5.5 SP2")
	e.addAccount("alice", "admin", "correct horse battery")
	b := e.browser()
	b.login("alice", "correct horse battery")
	path := fmt.Sprintf("/x400/fix/%d", ab.ID)
	form := url.Values{"action": {"set"}, "address": {"10.0.0.5"}}
	if s, _ := b.text("POST", path, form, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); s != 403 {
		t.Errorf("cross-site fix: %d, want 403", s)
	}
	res := b.do("POST", path, form, "Origin", e.HTTP.URL, "Sec-Fetch-Site", "same-origin")
	if res.StatusCode != 303 {
		t.Errorf("same-origin fix: %d, want 303", res.StatusCode)
	}
}

// TestX400PageProblemsFirstPaged: the page lists problems by default,
// pages them server-side, states each kind of fix once, and filters.
func TestX400PageProblemsFirstPaged(t *testing.T) {
	e := newEnv(t)
	n, _, _ := x400Pair(t, e, "5.5 SP2")
	// More multihomed peers of B, each intermittent.
	for i := range 3 {
		var sv invServer
		e.json("POST", "/api/v1/servers", e.Admin, map[string]any{"name": fmt.Sprintf("EXCH-C%d", i), "site_id": n.HQ, "kind": "exchange",
			"version": "5.5 SP2", "serial": fmt.Sprintf("EX-3%d", i), "addresses": []string{fmt.Sprintf("10.2.%d.1", i), fmt.Sprintf("10.2.%d.2", i)}}, 201, &sv)
		e.json("POST", "/api/v1/connectors", e.Admin, map[string]any{"kind": "x400", "name": fmt.Sprintf("TCP C%d to B", i), "server_id": sv.ID,
			"remote_server_id": n.ExchB}, 201, nil)
	}
	status, body := e.getPage(e.Viewer, "/x400?limit=2")
	if status != 200 {
		t.Fatalf("page: %d", status)
	}
	if strings.Contains(body, ">TCP to MTA A<") {
		t.Errorf("the ok connector B->A is on the problems page")
	}
	if c := strings.Count(body, "<tr id=\"c"); c != 2 {
		t.Errorf("%d rows on a page of 2", c)
	}
	if !strings.Contains(body, "after_id=") {
		t.Errorf("no link to the next page")
	}
	if c := strings.Count(body, "Restart the Microsoft Exchange MTA service on A"); c != 1 {
		t.Errorf("the override fix is stated %d times, want once (a legend)", c)
	}
	_, all := e.getPage(e.Viewer, "/x400?status=all")
	if !strings.Contains(all, ">TCP to MTA A<") {
		t.Errorf("status=all lacks the ok connector")
	}
	_, ok := e.getPage(e.Viewer, "/x400?status=ok")
	if strings.Contains(ok, ">TCP to MTA B<") || !strings.Contains(ok, ">TCP to MTA A<") {
		t.Errorf("status=ok is not only the ok connector")
	}
	_, bySite := e.getPage(e.Viewer, fmt.Sprintf("/x400?status=all&site_id=%d", n.Branch))
	// Every connector touches B (Branch), so all are there; HQ-only would drop none either.
	if !strings.Contains(bySite, ">TCP C0 to B<") {
		t.Errorf("site filter lost a connector to B")
	}
	_, byServer := e.getPage(e.Viewer, fmt.Sprintf("/x400?status=all&server_id=%d", n.ExchA))
	if strings.Contains(byServer, ">TCP C0 to B<") || !strings.Contains(byServer, ">TCP to MTA B<") {
		t.Errorf("server filter: want only A's connectors")
	}
	if s, _ := e.getPage(e.Viewer, "/x400?status=bogus"); s != 422 {
		t.Errorf("bad status: %d, want 422", s)
	}
}

// TestConnectorPagePollAndLogging: the MS Mail Connector's poll interval
// and a logging level with a revert time are set from the page; the
// revert happens at that time by the console's clock, audited.
func TestConnectorPagePollAndLogging(t *testing.T) {
	e, clk := newAuthEnv(t, nil)
	n := newInvNet(t, e)
	var mm invConnector
	e.json("POST", "/api/v1/connectors", e.Admin, map[string]any{"kind": "msmail", "name": "MS Mail Connector", "server_id": n.ExchA,
		"logging": map[string]string{"MSExchangePCMTA": "none"}}, 201, &mm)
	path := fmt.Sprintf("/connectors/%d", mm.ID)
	status, body := e.getPage(e.Viewer, path)
	if status != 200 || !strings.Contains(body, "Check for mail every") || !strings.Contains(body, "MSExchangePCMTA") {
		t.Fatalf("page: %d, want the poll interval and the logging category", status)
	}
	if s, loc := e.formPost(e.Admin, path+"/poll", url.Values{"poll_minutes": {"15"}}); s != 303 || loc != path+"?done=poll" {
		t.Errorf("poll: %d to %q", s, loc)
	}
	if s, _ := e.formPost(e.Admin, path+"/poll", url.Values{"poll_minutes": {"0"}}); s != 422 {
		t.Errorf("poll 0: %d, want 422", s)
	}
	if s, _ := e.formPost(e.Viewer, path+"/poll", url.Values{"poll_minutes": {"20"}}); s != 403 {
		t.Errorf("viewer poll: %d, want 403", s)
	}
	if s, _ := e.formPost(e.Admin, path+"/logging", url.Values{"level.MSExchangePCMTA": {"maximum"}, "revert_minutes": {"60"}}); s != 303 {
		t.Fatalf("logging: %d, want 303", s)
	}
	var got invConnector
	e.json("GET", "/api/v1/connectors/"+fmt.Sprint(mm.ID), e.Viewer, nil, 200, &got)
	if got.PollMinutes != 15 || got.Logging["MSExchangePCMTA"] != "maximum" {
		t.Errorf("after the forms: poll %d, logging %v", got.PollMinutes, got.Logging)
	}
	_, body = e.getPage(e.Viewer, path)
	if !strings.Contains(body, "back to none at") {
		t.Errorf("page does not show the scheduled revert")
	}
	acts := e.acts()
	if k, err := acts.RevertDueLogging(t.Context()); err != nil || k != 0 {
		t.Fatalf("revert before its time: %d, %v", k, err)
	}
	clk.Add(61 * time.Minute)
	if k, err := acts.RevertDueLogging(t.Context()); err != nil || k != 1 {
		t.Fatalf("revert at its time: %d, %v; want 1", k, err)
	}
	e.json("GET", "/api/v1/connectors/"+fmt.Sprint(mm.ID), e.Viewer, nil, 200, &got)
	if got.Logging["MSExchangePCMTA"] != "none" {
		t.Errorf("after the revert: %v, want MSExchangePCMTA back to none", got.Logging)
	}
	var k int
	e.Store.DB().QueryRow(`SELECT count(*) FROM audit WHERE action = 'connector.logging_revert' AND object_id = ?`, mm.ID).Scan(&k)
	if k != 1 {
		t.Errorf("revert audit rows: %d, want 1", k)
	}
}

// formPost posts a form with a bearer token (no browser headers) and
// returns the status and the redirect target.
func (e *env) formPost(token, path string, form url.Values) (int, string) {
	e.t.Helper()
	b := e.browser()
	res := b.do("POST", path, form, "Authorization", "Bearer "+token)
	return res.StatusCode, res.Header.Get("Location")
}

// ratioAfter is the first bold figure after marker in body.
func ratioAfter(body, marker string) string {
	i := strings.Index(body, marker)
	if i < 0 {
		return ""
	}
	rest := body[i:]
	j := strings.Index(rest, "<strong>")
	if j < 0 {
		return ""
	}
	rest = rest[j+len("<strong>"):]
	k := strings.Index(rest, "</strong>")
	if k < 0 {
		return ""
	}
	return rest[:k]
}
