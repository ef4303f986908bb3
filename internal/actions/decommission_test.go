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
			_, err := f.a.Decommission(adminCtx, victim)
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

	got, err := f.a.Decommission(adminCtx, s3)
	if err != nil {
		t.Fatalf("decommission: %v", err)
	}
	if got.Status != mailnet.StatusDecommissioned {
		t.Errorf("status: got %s, want decommissioned", got.Status)
	}
	if n := f.count(`SELECT count(*) FROM routes WHERE ? IN (from_server_id, to_server_id, via_server_id)`, s3); n != 0 {
		t.Errorf("routes from, to or via S3: got %d, want 0", n)
	}
	if n := f.count(`SELECT count(*) FROM routes`); n != 1 {
		t.Errorf("other routes: got %d, want 1 (S1 to S2 stays)", n)
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
	if _, err := f.a.Decommission(adminCtx, s3); mailnet.ErrorKind(err) != mailnet.KindConflict {
		t.Errorf("second decommission: got %v, want a conflict", err)
	}
	if _, err := f.a.Decommission(adminCtx, 999); mailnet.ErrorKind(err) != mailnet.KindNotFound {
		t.Errorf("unknown server: got %v, want not found", err)
	}
}
