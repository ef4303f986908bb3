package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"mailnet/internal/mailnet"
)

// The resolve page's Start sends the target chosen on screen with the
// previewed plan: a target changed after the preview (the trap of a hidden
// to=) is not started blindly but previewed, then honoured.
func TestResolveStartHonoursAChangedTarget(t *testing.T) {
	e := newEnv(t)
	n := seedNetwork(t, e.Store)
	e.deliver(t, n.Alice.ID, 2)
	q := url.Values{"serial": {n.MacA.Serial}, "to": {itoa(n.Exch2.ID)}}
	body := e.adminPage("/duplicates/resolve?"+q.Encode(), 200)
	mustContain(t, "resolve", body, `form="resolve-form" formmethod="post"`)
	old := planOf(t, body)

	// The admin picks another target and presses Start without updating the preview.
	form := url.Values{"serial": {n.MacA.Serial}, "to": {itoa(n.PC1.ID)}, "plan": {old}}
	st, _, out := e.postForm("/duplicates/resolve", e.Admin, form)
	if st != http.StatusConflict || !strings.Contains(out, "changed since the preview") {
		t.Fatalf("POST with a changed target: status %d, want 409 and the new preview; body %.400s", st, out)
	}
	mustContain(t, "new preview", out, `<option value="`+itoa(n.PC1.ID)+`" selected`, "MAC-PARIS → PCPO-ZULU")
	var jobs struct{ Jobs []mailnet.JobDetail }
	e.json("GET", "/api/v1/jobs", e.Viewer, nil, 200, &jobs)
	if len(jobs.Jobs) != 0 {
		t.Fatalf("a refused Start queued %d jobs", len(jobs.Jobs))
	}
	fresh := planOf(t, out)
	if fresh == old {
		t.Fatalf("the new preview carries the old plan")
	}
	form.Set("plan", fresh)
	st, loc, out := e.postForm("/duplicates/resolve", e.Admin, form)
	if st != http.StatusSeeOther {
		t.Fatalf("POST with the new plan: status %d, want 303; body %.400s", st, out)
	}
	var j mailnet.JobDetail
	e.json("GET", fmt.Sprintf("/api/v1/jobs/%d", jobOf(t, loc)), e.Viewer, nil, 200, &j)
	if j.ToServerID != n.PC1.ID {
		t.Errorf("job target: got %d, want PCPO-ZULU (%d), the target on screen", j.ToServerID, n.PC1.ID)
	}
}

// The move page's Start refuses a selection that differs from the preview.
func TestMoveStartRefusesAChangedSelection(t *testing.T) {
	e := newEnv(t)
	n := seedNetwork(t, e.Store)
	e.deliver(t, n.Alice.ID, 3)
	base := fmt.Sprintf("/servers/%d/move", n.MacB.ID)
	preview := fmt.Sprintf("%s?user=%d&to=%d&step=preview", base, n.Alice.ID, n.Exch2.ID)
	plan := planOf(t, e.adminPage(preview, 200))

	// A message arrives for alice after the preview: the counts changed.
	e.deliver(t, n.Alice.ID, 1)
	form := url.Values{"user": {itoa(n.Alice.ID)}, "to": {itoa(n.Exch2.ID)}, "plan": {plan}}
	st, _, out := e.postForm(base, e.Admin, form)
	if st != http.StatusConflict || !strings.Contains(out, "<strong>4 messages</strong>") {
		t.Fatalf("POST after the users changed: status %d, want 409 with the new preview (4 messages); body %.400s", st, out)
	}
	// Evacuate instead of the previewed selection: refused too.
	form = url.Values{"all": {"1"}, "to": {itoa(n.Exch2.ID)}, "plan": {planOf(t, out)}}
	if st, _, out := e.postForm(base, e.Admin, form); st != http.StatusConflict {
		t.Fatalf("POST all with a selection's plan: status %d, want 409; body %.300s", st, out)
	}
	// The API checks a plan too, in the move's own transaction.
	e.refused(t, "POST", "/api/v1/moves", e.Admin, map[string]any{"user_ids": []int64{n.Alice.ID}, "to_server_id": n.Exch2.ID, "plan": plan}, 409, "plan")

	form = url.Values{"user": {itoa(n.Alice.ID)}, "to": {itoa(n.Exch2.ID)}, "plan": {planOf(t, out)}}
	if st, _, body := e.postForm(base, e.Admin, form); st != http.StatusSeeOther {
		t.Fatalf("POST with the new plan: status %d, want 303; body %.300s", st, body)
	}
}
