package web_test

import (
	"context"
	"fmt"
	"html"
	"net/url"
	"strings"
	"testing"

	"mailnet/internal/store"
)

// The API and the move page refuse the same move targets with the same
// status, message and field, and the refusal changes nothing: no job, no
// audit row. Before the rule moved into internal/actions, the API took a
// move onto a server sharing the source's serial (202) that the page
// refused (422).
func TestMoveTargetRuleIsTheSameForAPIAndPage(t *testing.T) {
	e := newEnv(t)
	n := seedNetwork(t, e.Store)
	e.deliver(t, n.Alice.ID, 2)
	err := e.Store.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.ExecContext(context.Background(), `UPDATE servers SET status = 'stopped' WHERE id = ?`, n.Exch1.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	page := fmt.Sprintf("/servers/%d/move", n.MacB.ID)
	for _, c := range []struct {
		name string
		to   int64
		want string // in the message
	}{
		{"shares the source's serial", n.MacA.ID, "shares its serial number"},
		{"stopped", n.Exch1.ID, "is stopped"},
		{"unknown", 99999, "does not exist"},
		{"the source itself", n.MacB.ID, "the server the users move off"},
	} {
		for _, evacuate := range []bool{false, true} {
			name := c.name
			api := map[string]any{"user_ids": []int64{n.Alice.ID}, "to_server_id": c.to}
			form := url.Values{"user": {itoa(n.Alice.ID)}, "to": {itoa(c.to)}}
			if evacuate {
				name += "/evacuate"
				api = map[string]any{"from_server_id": n.MacB.ID, "to_server_id": c.to, "all": true}
				form = url.Values{"all": {"1"}, "to": {itoa(c.to)}}
			}
			if c.to == n.MacB.ID && !evacuate {
				// A selection names no source: the API refuses it as the
				// user's own server (on user_ids), the page as its source.
				continue
			}
			t.Run(name, func(t *testing.T) {
				before := invState(t, e)
				eb := e.refused(t, "POST", "/api/v1/moves", e.Admin, api, 422, "to_server_id")
				if !strings.Contains(eb.Error, c.want) {
					t.Errorf("API: message %q, want it to say %q", eb.Error, c.want)
				}
				st, _, body := e.postForm(page, e.Admin, form)
				if st != 422 {
					t.Fatalf("page: status %d, want 422; body %.500s", st, body)
				}
				if !strings.Contains(body, "<strong>"+html.EscapeString(eb.Error)+"</strong>") {
					t.Errorf("page: the refusal does not read %q as the API's does", eb.Error)
				}
				if !strings.Contains(body, "Field: <code>to_server_id</code>") {
					t.Errorf("page: field to_server_id not named")
				}
				// The preview (a GET) refuses it the same way.
				q := form
				q.Set("step", "preview")
				if got, _, body := e.get(page+"?"+q.Encode(), e.Admin); got != 422 || !strings.Contains(string(body), html.EscapeString(eb.Error)) {
					t.Errorf("preview: status %d, want 422 with %q", got, eb.Error)
				}
				if after := invState(t, e); after != before {
					t.Errorf("refused moves changed the database:\nbefore %s\nafter  %s", before, after)
				}
				if jobs := countRows(t, e, "jobs"); jobs != 0 {
					t.Errorf("refused moves created %d jobs, want 0", jobs)
				}
			})
		}
	}
}

func countRows(t *testing.T, e *env, table string) int {
	t.Helper()
	var n int
	if err := e.Store.DB().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
