package actions_test

import (
	"context"
	"strings"
	"testing"

	"mailnet/internal/actions"
	"mailnet/internal/crashtest"
	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
)

func TestDecommissionRefusesWhileSomethingDependsOnIt(t *testing.T) {
	cases := []struct {
		name  string
		setup func(f *fixture, victim int64)
		want  string
	}{
		{"users", func(f *fixture, v int64) {
			f.exec(`INSERT INTO users (alias, display_name, server_id, created_at) VALUES ('stay', 'Stay', ?, 'now')`, v)
			f.exec(`UPDATE servers SET user_count = 1 WHERE id = ?`, v)
		}, "1 user"},
		{"a queued move to it", func(f *fixture, v int64) {
			f.start(actions.MoveRequest{UserIDs: f.nw.Users[0], ToServerID: v})
		}, "1 active or queued move"},
		{"a requestor using it as DX", func(f *fixture, v int64) {
			f.exec(`INSERT INTO requestors (network, postoffice, dx_server_id, created_at, updated_at) VALUES ('NET', 'PO1', ?, 'now', 'now')`, v)
		}, "1 dir-sync requestor"},
		{"a requestor homed on it", func(f *fixture, v int64) {
			f.exec(`INSERT INTO requestors (network, postoffice, dx_server_id, server_id, created_at, updated_at) VALUES ('NET', 'PO2', ?, ?, 'now', 'now')`, f.nw.Servers[0], v)
		}, "1 dir-sync requestor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, crashtest.Spec{Servers: 2, Users: []int{1}, Messages: 1})
			victim := f.nw.Servers[1]
			c.setup(f, victim)
			_, err := f.a.Decommission(adminCtx, actions.DecommissionRequest{ServerID: victim})
			e, ok := mailnet.AsError(err)
			if !ok || e.Kind != mailnet.KindConflict || !strings.Contains(e.Message, c.want) {
				t.Fatalf("got %v, want a conflict naming %q", err, c.want)
			}
			if got := f.count(`SELECT count(*) FROM servers WHERE id = ? AND status = 'running'`, victim); got != 1 {
				t.Errorf("refused decommission changed the status")
			}
		})
	}
}

func TestDecommissionRemovesRoutesAndConnectorsAndResolvesDuplicates(t *testing.T) {
	f := newFixture(t, crashtest.Spec{Servers: 3, Users: []int{1}, Messages: 1})
	s1, s2, s3 := f.nw.Servers[0], f.nw.Servers[1], f.nw.Servers[2]
	// S3 is a second copy of S2's serial at another site: Q99393.
	f.exec(`INSERT INTO sites (name, created_at) VALUES ('Other', 'now')`)
	f.exec(`UPDATE servers SET serial = (SELECT serial FROM servers WHERE id = ?), site_id = (SELECT id FROM sites WHERE name = 'Other') WHERE id = ?`, s2, s3)
	f.exec(`UPDATE servers SET kind = 'msmail-mac' WHERE id IN (?, ?)`, s2, s3)
	f.exec(`INSERT INTO routes (from_server_id, to_server_id, configured, updated_at) VALUES (?, ?, 'direct', 'now'), (?, ?, 'direct', 'now'), (?, ?, 'direct', 'now')`, s1, s3, s3, s1, s1, s2)
	f.exec(`INSERT INTO routes (from_server_id, to_server_id, configured, via_server_id, updated_at) VALUES (?, ?, 'indirect', ?, 'now')`, s2, s1, s3)
	f.exec(`INSERT INTO connectors (kind, name, server_id, remote_server_id, created_at, updated_at) VALUES
		('x400', 'to-s1', ?, ?, 'now', 'now'), ('x400', 'to-s3', ?, ?, 'now', 'now'), ('x400', 'to-s2', ?, ?, 'now', 'now')`, s3, s1, s1, s3, s1, s2)
	before, err := reports.LoadConflicts(context.Background(), f.st)
	if err != nil || !before.IsImpacted(s2) {
		t.Fatalf("before: S2 impacted = %v (%v), want true", before.IsImpacted(s2), err)
	}

	got, err := f.a.Decommission(adminCtx, actions.DecommissionRequest{ServerID: s3, Reroute: actions.RerouteDirect})
	if err != nil {
		t.Fatalf("decommission: %v", err)
	}
	if got.Status != mailnet.StatusDecommissioned {
		t.Errorf("status: got %s, want decommissioned", got.Status)
	}
	if n := f.count(`SELECT count(*) FROM routes WHERE ? IN (from_server_id, to_server_id, via_server_id)`, s3); n != 0 {
		t.Errorf("routes from, to or via S3: got %d, want 0", n)
	}
	if n := f.count(`SELECT count(*) FROM routes`); n != 2 {
		t.Errorf("other routes: got %d, want 2 (S1 to S2 stays, S2 to S1 re-homed)", n)
	}
	if n := f.count(`SELECT count(*) FROM routes WHERE from_server_id = ? AND to_server_id = ? AND configured = 'direct' AND via_server_id IS NULL`, s2, s1); n != 1 {
		t.Errorf("S2 to S1, relayed through S3: got %d direct entries, want 1", n)
	}
	if n := f.count(`SELECT count(*) FROM connectors WHERE ? IN (server_id, remote_server_id)`, s3); n != 0 {
		t.Errorf("connectors at either end of S3: got %d, want 0", n)
	}
	if n := f.count(`SELECT count(*) FROM connectors`); n != 1 {
		t.Errorf("other connectors: got %d, want 1", n)
	}
	after, err := reports.LoadConflicts(context.Background(), f.st)
	if err != nil || after.InGroup(s2) {
		t.Errorf("after: S2 in a duplicate group = %v (%v), want false", after.InGroup(s2), err)
	}
	if n := f.count(`SELECT count(*) FROM audit WHERE action = 'server.decommission' AND object_id = ? AND actor = 'alice'
		AND json_extract(before, '$.status') = 'running' AND json_extract(after, '$.status') = 'decommissioned'`, s3); n != 1 {
		t.Errorf("audit rows with before/after: got %d, want 1", n)
	}
	if _, err := f.a.Decommission(adminCtx, actions.DecommissionRequest{ServerID: s3}); mailnet.ErrorKind(err) != mailnet.KindConflict {
		t.Errorf("second decommission: got %v, want a conflict", err)
	}
	if _, err := f.a.Decommission(adminCtx, actions.DecommissionRequest{ServerID: 999}); mailnet.ErrorKind(err) != mailnet.KindNotFound {
		t.Errorf("unknown server: got %v, want not found", err)
	}
}

// relayFixture is four servers where S1→S2 and S2→S1 relay through S3.
func relayFixture(t *testing.T) (*fixture, int64, int64, int64, int64) {
	f := newFixture(t, crashtest.Spec{Servers: 4, Users: []int{1}, Messages: 1})
	s1, s2, s3, s4 := f.nw.Servers[0], f.nw.Servers[1], f.nw.Servers[2], f.nw.Servers[3]
	f.exec(`INSERT INTO routes (from_server_id, to_server_id, configured, via_server_id, updated_at) VALUES
		(?, ?, 'indirect', ?, 'now'), (?, ?, 'indirect', ?, 'now')`, s1, s2, s3, s2, s1, s3)
	f.exec(`INSERT INTO routes (from_server_id, to_server_id, configured, updated_at) VALUES
		(?, ?, 'direct', 'now'), (?, ?, 'direct', 'now'), (?, ?, 'direct', 'now'), (?, ?, 'direct', 'now')`, s1, s4, s4, s1, s4, s2, s2, s4)
	return f, s1, s2, s3, s4
}

func TestDecommissionRefusesWhileRoutesRelayThroughIt(t *testing.T) {
	f, s1, s2, s3, _ := relayFixture(t)
	_, err := f.a.Decommission(adminCtx, actions.DecommissionRequest{ServerID: s3})
	e, ok := mailnet.AsError(err)
	if !ok || e.Kind != mailnet.KindConflict || !strings.Contains(e.Message, "2 routes relay through it") {
		t.Fatalf("got %v, want a conflict naming the 2 relayed routes", err)
	}
	for _, name := range f.names(s1, s2) {
		if !strings.Contains(e.Message, name) {
			t.Errorf("message %q does not name %s", e.Message, name)
		}
	}
	if n := f.count(`SELECT count(*) FROM routes WHERE via_server_id = ?`, s3); n != 2 {
		t.Errorf("refused decommission changed the routes: %d via S3, want 2", n)
	}
	if n := f.count(`SELECT count(*) FROM servers WHERE id = ? AND status = 'running'`, s3); n != 1 {
		t.Errorf("refused decommission changed the status")
	}
}

func TestDecommissionReroutesViaAServer(t *testing.T) {
	f, s1, s2, s3, s4 := relayFixture(t)
	res, err := f.a.Decommission(adminCtx, actions.DecommissionRequest{ServerID: s3, RerouteVia: s4})
	if err != nil {
		t.Fatalf("decommission: %v", err)
	}
	if len(res.Rerouted) != 2 {
		t.Errorf("rerouted: got %d, want 2", len(res.Rerouted))
	}
	if n := f.count(`SELECT count(*) FROM routes WHERE configured = 'indirect' AND via_server_id = ? AND
		((from_server_id = ? AND to_server_id = ?) OR (from_server_id = ? AND to_server_id = ?))`, s4, s1, s2, s2, s1); n != 2 {
		t.Errorf("routes between S1 and S2 via S4: got %d, want 2", n)
	}
	if n := f.count(`SELECT count(*) FROM audit WHERE action = 'server.decommission' AND object_id = ?
		AND json_array_length(before, '$.relays') = 2 AND json_extract(after, '$.relays[0].via_server_id') = ?`, s3, s4); n != 1 {
		t.Errorf("audit row with the relays before and after: got %d, want 1", n)
	}
	gaps, err := reports.RoutingGaps(context.Background(), f.st)
	if err != nil || len(gaps) != 0 {
		t.Errorf("routing gaps after: %v (%v), want none", gaps, err)
	}
}

func TestDecommissionValidatesTheRelay(t *testing.T) {
	cases := []struct {
		name  string
		setup func(f *fixture, s1, s4 int64)
		req   func(s3, s4 int64) actions.DecommissionRequest
		field string
	}{
		{"unknown server", nil, func(s3, _ int64) actions.DecommissionRequest {
			return actions.DecommissionRequest{ServerID: s3, RerouteVia: 999}
		}, "reroute_via"},
		{"itself", nil, func(s3, _ int64) actions.DecommissionRequest {
			return actions.DecommissionRequest{ServerID: s3, RerouteVia: s3}
		}, "reroute_via"},
		{"stopped", func(f *fixture, _, s4 int64) { f.exec(`UPDATE servers SET status = 'stopped' WHERE id = ?`, s4) },
			func(s3, s4 int64) actions.DecommissionRequest {
				return actions.DecommissionRequest{ServerID: s3, RerouteVia: s4}
			}, "reroute_via"},
		{"shares a serial", func(f *fixture, s1, s4 int64) {
			f.exec(`UPDATE servers SET serial = (SELECT serial FROM servers WHERE id = ?) WHERE id = ?`, s1, s4)
		}, func(s3, s4 int64) actions.DecommissionRequest {
			return actions.DecommissionRequest{ServerID: s3, RerouteVia: s4}
		}, "reroute_via"},
		{"unknown reroute", nil, func(s3, _ int64) actions.DecommissionRequest {
			return actions.DecommissionRequest{ServerID: s3, Reroute: "sideways"}
		}, "reroute"},
		{"both", nil, func(s3, s4 int64) actions.DecommissionRequest {
			return actions.DecommissionRequest{ServerID: s3, Reroute: "direct", RerouteVia: s4}
		}, "reroute_via"},
		{"a stale plan", nil, func(s3, _ int64) actions.DecommissionRequest {
			return actions.DecommissionRequest{ServerID: s3, Reroute: "direct", Plan: "0123"}
		}, "plan"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, s1, _, s3, s4 := relayFixture(t)
			if c.setup != nil {
				c.setup(f, s1, s4)
			}
			_, err := f.a.Decommission(adminCtx, c.req(s3, s4))
			e, ok := mailnet.AsError(err)
			if !ok || e.Field != c.field {
				t.Fatalf("got %v, want an error on field %q", err, c.field)
			}
			if n := f.count(`SELECT count(*) FROM routes WHERE via_server_id = ?`, s3); n != 2 {
				t.Errorf("refused decommission changed the routes: %d via S3, want 2", n)
			}
		})
	}
}

func TestDecommissionPlanIdentity(t *testing.T) {
	f, _, _, s3, _ := relayFixture(t)
	plan, err := f.st.DecommissionPreview(context.Background(), s3)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Relays) != 2 || plan.ID == "" {
		t.Fatalf("preview: %d relays, plan %q; want 2 and an identity", len(plan.Relays), plan.ID)
	}
	// Another server's route starts relaying through S3 after the preview.
	f.exec(`UPDATE routes SET configured = 'indirect', via_server_id = ? WHERE from_server_id = ? AND to_server_id = ?`,
		s3, f.nw.Servers[3], f.nw.Servers[0])
	_, err = f.a.Decommission(adminCtx, actions.DecommissionRequest{ServerID: s3, Reroute: "direct", Plan: plan.ID})
	if e, ok := mailnet.AsError(err); !ok || e.Kind != mailnet.KindConflict || e.Field != "plan" {
		t.Fatalf("got %v, want a conflict on the plan", err)
	}
	now, err := f.st.DecommissionPreview(context.Background(), s3)
	if err != nil {
		t.Fatal(err)
	}
	if now.ID == plan.ID || len(now.Relays) != 3 {
		t.Fatalf("new preview: %d relays, same identity %v; want 3 and a new identity", len(now.Relays), now.ID == plan.ID)
	}
	if _, err := f.a.Decommission(adminCtx, actions.DecommissionRequest{ServerID: s3, Reroute: "direct", Plan: now.ID}); err != nil {
		t.Fatalf("decommission with the new plan: %v", err)
	}
}

func (f *fixture) names(ids ...int64) []string {
	f.t.Helper()
	var out []string
	for _, id := range ids {
		var n string
		if err := f.raw.QueryRow(`SELECT name FROM servers WHERE id = ?`, id).Scan(&n); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}
