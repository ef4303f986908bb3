package web_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"
)

// TestMergePatchConnectors: PATCH of a connector is a JSON merge patch
// (RFC 7396) through the real router: a field left out stays, null clears.
func TestMergePatchConnectors(t *testing.T) {
	e := newEnv(t)
	n := newInvNet(t, e)
	var ab, mm invConnector
	e.json("POST", "/api/v1/connectors", e.Admin, map[string]any{"kind": "x400", "name": "TCP to MTA B", "server_id": n.ExchA,
		"remote_server_id": n.ExchB, "stack_addresses": []string{"10.1.0.5"}, "override_address": "10.0.0.6"}, 201, &ab)
	e.json("POST", "/api/v1/connectors", e.Admin, map[string]any{"kind": "msmail", "name": "MS Mail Connector", "server_id": n.ExchA,
		"poll_minutes": 30, "logging": map[string]string{"Interface": "maximum", "Maintenance": "minimum"}}, 201, &mm)
	abPath, mmPath := fmt.Sprintf("/api/v1/connectors/%d", ab.ID), fmt.Sprintf("/api/v1/connectors/%d", mm.ID)

	var got invConnector
	// Absent: a patch of the stack leaves the override.
	e.json("PATCH", abPath, e.Admin, `{"stack_addresses": ["10.1.0.5"]}`, 200, &got)
	if got.OverrideAddress != "10.0.0.6" {
		t.Errorf("override after a patch without it: %q, want 10.0.0.6 (absent leaves it)", got.OverrideAddress)
	}
	// null clears the override, and leaves the stack.
	got = invConnector{}
	e.json("PATCH", abPath, e.Admin, `{"override_address": null}`, 200, &got)
	if got.OverrideAddress != "" {
		t.Errorf("override after null: %q, want cleared", got.OverrideAddress)
	}
	if !slices.Equal(got.StackAddresses, []string{"10.1.0.5"}) {
		t.Errorf("stack after clearing the override: %v, want [10.1.0.5]", got.StackAddresses)
	}
	e.json("GET", abPath, e.Viewer, nil, 200, &got)
	if got.OverrideAddress != "" {
		t.Errorf("override read back after null: %q", got.OverrideAddress)
	}
	// null on the stack empties it.
	got = invConnector{}
	e.json("PATCH", abPath, e.Admin, `{"stack_addresses": null}`, 200, &got)
	if len(got.StackAddresses) != 0 {
		t.Errorf("stack after null: %v, want empty", got.StackAddresses)
	}

	// msmail: a logging patch leaves the poll interval.
	got = invConnector{}
	e.json("PATCH", mmPath, e.Admin, `{"logging": {"Interface": "medium"}}`, 200, &got)
	if got.PollMinutes != 30 || got.Logging["Interface"] != "medium" || got.Logging["Maintenance"] != "minimum" {
		t.Errorf("after logging patch: poll %d, logging %v; want 30, Interface medium, Maintenance minimum", got.PollMinutes, got.Logging)
	}
	// One category null removes that category only.
	got = invConnector{}
	e.json("PATCH", mmPath, e.Admin, `{"logging": {"Maintenance": null}}`, 200, &got)
	if !maps.Equal(got.Logging, map[string]string{"Interface": "medium"}) {
		t.Errorf("after logging.Maintenance null: %v, want only Interface medium", got.Logging)
	}
	// poll_minutes null returns to the default, and leaves logging.
	got = invConnector{}
	e.json("PATCH", mmPath, e.Admin, `{"poll_minutes": null}`, 200, &got)
	if got.PollMinutes != 5 || got.Logging["Interface"] != "medium" {
		t.Errorf("after poll_minutes null: poll %d, logging %v; want 5 and Interface medium", got.PollMinutes, got.Logging)
	}
	// logging null clears every category.
	got = invConnector{}
	e.json("PATCH", mmPath, e.Admin, `{"logging": null}`, 200, &got)
	if len(got.Logging) != 0 || got.PollMinutes != 5 {
		t.Errorf("after logging null: %v, poll %d; want no levels, poll 5", got.Logging, got.PollMinutes)
	}
	// A wrong type inside a patch field still names the field.
	e.refused(t, "PATCH", mmPath, e.Admin, `{"poll_minutes": "often"}`, 400, "poll_minutes")
	e.refused(t, "PATCH", mmPath, e.Admin, `{"logging": {"Interface": "loud"}}`, 422, "logging.Interface")
}

// TestMergePatchServers: null on a required field is a 422 naming it and
// changes nothing; null on an optional one clears it; absent stays.
func TestMergePatchServers(t *testing.T) {
	e := newEnv(t)
	n := newInvNet(t, e)
	path := fmt.Sprintf("/api/v1/servers/%d", n.ExchB)
	for _, f := range []string{"name", "site_id", "kind", "serial", "status"} {
		t.Run(f+" null", func(t *testing.T) {
			e.refused(t, "PATCH", path, e.Admin, `{"`+f+`": null}`, 422, f)
		})
	}
	var sv invServer
	e.json("PATCH", path, e.Admin, `{"version": "5.5 SP2"}`, 200, &sv)
	e.json("PATCH", path, e.Admin, `{"name": "EXCH-B2"}`, 200, &sv)
	if sv.Version != "5.5 SP2" || !slices.Equal(sv.Addresses, []string{"10.1.0.5"}) {
		t.Errorf("after renaming: version %q, addresses %v; absent fields must stay", sv.Version, sv.Addresses)
	}
	sv = invServer{}
	e.json("PATCH", path, e.Admin, `{"version": null, "addresses": null}`, 200, &sv)
	if sv.Version != "" || len(sv.Addresses) != 0 || sv.Name != "EXCH-B2" {
		t.Errorf("after version and addresses null: %+v; want both cleared, name kept", sv)
	}
}

// TestMergePatchDX: null clears a DX setting back to its default.
func TestMergePatchDX(t *testing.T) {
	e := newEnv(t)
	n := newInvNet(t, e)
	path := fmt.Sprintf("/api/v1/dx-servers/%d", n.ExchA)
	var d struct {
		AdminAccount string `json:"admin_account"`
		Paused       bool   `json:"paused"`
		CycleMinutes int    `json:"cycle_minutes"`
	}
	e.json("PATCH", path, e.Admin, `{"admin_account": "MAILNET\\dxadmin", "paused": true, "cycle_minutes": 15}`, 200, &d)
	e.json("PATCH", path, e.Admin, `{"cycle_minutes": null, "admin_account": null}`, 200, &d)
	if d.CycleMinutes != 60 || d.AdminAccount != "" || !d.Paused {
		t.Errorf("after null: %+v; want cycle 60, no admin account, still paused", d)
	}
}
