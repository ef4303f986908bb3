package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"mailnet/internal/actions"
	"mailnet/internal/crashtest"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

func seedMoves(t *testing.T, e *env, spec crashtest.Spec) crashtest.Network {
	t.Helper()
	nw, err := crashtest.Seed(context.Background(), e.Store, spec)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	return nw
}

// startRunner runs move jobs against the env's database.
func startRunner(t *testing.T, e *env) {
	t.Helper()
	r := actions.New(e.Store, nil, nil).NewRunner(actions.RunnerOptions{Poll: 10 * time.Millisecond})
	r.Start()
	t.Cleanup(r.Stop)
}

func TestAPIMoveLifecycle(t *testing.T) {
	e := newEnv(t)
	nw := seedMoves(t, e, crashtest.Spec{Servers: 2, Users: []int{2}, Messages: 20})
	body := map[string]any{"user_ids": nw.Users[0], "to_server_id": nw.Servers[1]}
	if got, _ := e.do("POST", "/api/v1/moves", e.Viewer, body); got != 403 {
		t.Errorf("viewer POST /moves: got %d, want 403", got)
	}
	var j mailnet.JobDetail
	e.json("POST", "/api/v1/moves", e.Admin, body, 202, &j)
	if j.ID == 0 || j.Kind != "move" || j.Status != "queued" || j.Total != 40 || j.UsersTotal != 2 {
		t.Fatalf("job: got %+v, want a queued move of 40 messages and 2 users", j)
	}
	startRunner(t, e)
	deadline := time.Now().Add(10 * time.Second)
	for j.Status != "done" {
		if time.Now().After(deadline) || j.Status == "failed" || j.Status == "cancelled" {
			t.Fatalf("job: %s after waiting, want done", j.Status)
		}
		time.Sleep(20 * time.Millisecond)
		e.json("GET", fmt.Sprintf("/api/v1/jobs/%d", j.ID), e.Viewer, nil, 200, &j)
	}
	if j.Done != 40 || len(j.Items) != 2 || j.Items[0].State != "done" || j.Items[0].Copied != 20 {
		t.Errorf("finished job: got done %d, items %+v; want 40 and two done items of 20", j.Done, j.Items)
	}
	var list struct{ Jobs []mailnet.JobDetail }
	e.json("GET", "/api/v1/jobs", e.Viewer, nil, 200, &list)
	if len(list.Jobs) != 1 || list.Jobs[0].ID != j.ID {
		t.Errorf("job list: got %+v, want the one job", list.Jobs)
	}
	if got, out := e.do("POST", fmt.Sprintf("/api/v1/jobs/%d/cancel", j.ID), e.Admin, nil); got != 409 {
		t.Errorf("cancel a finished job: got %d %s, want 409", got, out)
	}
	if err := crashtest.Check(context.Background(), e.Store.DB(), nw.Users[0], 20); err != nil {
		t.Error(err)
	}
}

func TestAPIMoveRefusals(t *testing.T) {
	e := newEnv(t)
	nw := seedMoves(t, e, crashtest.Spec{Servers: 3, Users: []int{2}, Messages: 1})
	u1, s1, s2, s3 := nw.Users[0][0], nw.Servers[0], nw.Servers[1], nw.Servers[2]
	e.json("POST", "/api/v1/moves", e.Admin, map[string]any{"user_ids": []int64{u1}, "to_server_id": s2}, 202, nil)
	cases := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"empty selection", map[string]any{"user_ids": []int64{}, "to_server_id": s2}, 422, "user_ids"},
		{"unknown user", map[string]any{"user_ids": []int64{999}, "to_server_id": s2}, 422, "user_ids"},
		{"unknown server", map[string]any{"user_ids": []int64{nw.Users[0][1]}, "to_server_id": 999}, 422, "to_server_id"},
		{"already on target", map[string]any{"user_ids": []int64{nw.Users[0][1]}, "to_server_id": s1}, 422, "user_ids"},
		{"user already moving", map[string]any{"user_ids": []int64{u1}, "to_server_id": s3}, 409, "user_ids"},
		{"unknown field", map[string]any{"users": []int64{u1}, "to_server_id": s3}, 400, "users"},
		{"evacuate without source", map[string]any{"all": true, "to_server_id": s3}, 422, "from_server_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body struct{ Error, Field string }
			e.json("POST", "/api/v1/moves", e.Admin, c.body, c.status, &body)
			if body.Field != c.field {
				t.Errorf("field: got %q, want %q (%s)", body.Field, c.field, body.Error)
			}
		})
	}
	if got, _ := e.do("GET", "/api/v1/jobs/999", e.Viewer, nil); got != 404 {
		t.Errorf("unknown job: got %d, want 404", got)
	}
}

func TestAPICancelQueuedAndEvacuate(t *testing.T) {
	e := newEnv(t)
	nw := seedMoves(t, e, crashtest.Spec{Servers: 2, Users: []int{3}, Messages: 2})
	var j mailnet.JobDetail
	e.json("POST", "/api/v1/moves", e.Admin, map[string]any{"from_server_id": nw.Servers[0], "to_server_id": nw.Servers[1], "all": true}, 202, &j)
	if j.UsersTotal != 3 || j.Total != 6 {
		t.Errorf("evacuate job: got %d users, %d messages; want 3 and 6", j.UsersTotal, j.Total)
	}
	var res struct {
		Job       mailnet.JobDetail
		Immediate bool
	}
	e.json("POST", fmt.Sprintf("/api/v1/jobs/%d/cancel", j.ID), e.Admin, nil, 200, &res)
	if !res.Immediate || res.Job.Status != "cancelled" {
		t.Errorf("cancel queued: got %+v, want immediate cancelled", res)
	}
}

func TestAPIDecommission(t *testing.T) {
	e := newEnv(t)
	nw := seedMoves(t, e, crashtest.Spec{Servers: 3, Users: []int{1}, Messages: 1})
	s1, s3 := nw.Servers[0], nw.Servers[2]
	var body struct{ Error string }
	e.json("POST", fmt.Sprintf("/api/v1/servers/%d/decommission", s1), e.Admin, nil, 409, &body)
	if !strings.Contains(body.Error, "1 user") {
		t.Errorf("refusal: got %q, want it to name 1 user", body.Error)
	}
	if got, _ := e.do("POST", fmt.Sprintf("/api/v1/servers/%d/decommission", s3), e.Viewer, nil); got != 403 {
		t.Errorf("viewer decommission: got %d, want 403", got)
	}
	var st store.ServerState
	e.json("POST", fmt.Sprintf("/api/v1/servers/%d/decommission", s3), e.Admin, nil, 200, &st)
	if st.Status != "decommissioned" {
		t.Errorf("status: got %q, want decommissioned", st.Status)
	}
	e.json("POST", "/api/v1/moves", e.Admin, map[string]any{"user_ids": nw.Users[0], "to_server_id": s3}, 422, &body)
	if got, _ := e.do("POST", "/api/v1/servers/999/decommission", e.Admin, nil); got != 404 {
		t.Errorf("unknown server: got %d, want 404", got)
	}
}
