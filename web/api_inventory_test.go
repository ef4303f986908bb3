package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// invError is the JSON body of a refused request.
type invError struct {
	Error string `json:"error"`
	Field string `json:"field"`
}

type invServer struct {
	ID              int64    `json:"id"`
	Name            string   `json:"name"`
	SiteID          int64    `json:"site_id"`
	Kind            string   `json:"kind"`
	Version         string   `json:"version"`
	Serial          string   `json:"serial"`
	Addresses       []string `json:"addresses"`
	Status          string   `json:"status"`
	UserCount       int64    `json:"user_count"`
	MessageCount    int64    `json:"message_count"`
	DuplicateSerial bool     `json:"duplicate_serial"`
	Warning         string   `json:"warning"`
}

type invUser struct {
	ID                     int64  `json:"id"`
	Alias                  string `json:"alias"`
	DisplayName            string `json:"display_name"`
	ServerID               int64  `json:"server_id"`
	InAllListing           bool   `json:"in_all_listing"`
	InAllListingConfigured bool   `json:"in_all_listing_configured"`
	HiddenReason           string `json:"hidden_reason"`
	MessageCount           int64  `json:"message_count"`
}

type invConnector struct {
	ID              int64             `json:"id"`
	Kind            string            `json:"kind"`
	Name            string            `json:"name"`
	DN              string            `json:"dn"`
	ServerID        int64             `json:"server_id"`
	RemoteServerID  int64             `json:"remote_server_id"`
	StackAddresses  []string          `json:"stack_addresses"`
	OverrideAddress string            `json:"override_address"`
	PollMinutes     int               `json:"poll_minutes"`
	Logging         map[string]string `json:"logging"`
	RemoteConnector *invConnector     `json:"remote_connector"`
	Warning         string            `json:"warning"`
}

type invRoute struct {
	FromServerID int64  `json:"from_server_id"`
	ToServerID   int64  `json:"to_server_id"`
	Configured   string `json:"configured"`
	ViaServerID  int64  `json:"via_server_id"`
	Effective    string `json:"effective"`
	Reason       string `json:"reason"`
}

type invRequestor struct {
	ID                int64  `json:"id"`
	Network           string `json:"network"`
	Postoffice        string `json:"postoffice"`
	DXServerID        int64  `json:"dx_server_id"`
	RequestorSync     int64  `json:"requestor_sync"`
	ServerSync        int64  `json:"server_sync"`
	Imports           int64  `json:"imports"`
	ExportOnNextCycle bool   `json:"export_on_next_cycle"`
}

// invState fingerprints every inventory table and the audit and event
// logs, so a test can assert that a refused request changed nothing.
func invState(t *testing.T, e *env) string {
	t.Helper()
	var out string
	err := e.Store.DB().QueryRow(`SELECT
		(SELECT count(*) FROM audit) || '|' || (SELECT count(*) FROM events) || '|' ||
		(SELECT coalesce(group_concat(id || name, ','), '') FROM sites) || '|' ||
		(SELECT coalesce(group_concat(id || name || site_id || kind || version || serial || addresses || status || user_count || message_count, ','), '') FROM servers) || '|' ||
		(SELECT coalesce(group_concat(id || alias || display_name || server_id || in_all_listing || message_count, ','), '') FROM users) || '|' ||
		(SELECT count(*) FROM messages) || '|' ||
		(SELECT coalesce(group_concat(from_server_id || configured || to_server_id || coalesce(via_server_id, ''), ','), '') FROM routes) || '|' ||
		(SELECT coalesce(group_concat(id || name || stack_addresses || coalesce(override_address, '') || coalesce(poll_minutes, '') || logging, ','), '') FROM connectors) || '|' ||
		(SELECT coalesce(group_concat(id || network || postoffice || dx_server_id || export_on_next_cycle, ','), '') FROM requestors) || '|' ||
		(SELECT coalesce(group_concat(server_id || admin_account || paused || copy_admin || forward_to_admin, ','), '') FROM dx_servers)`).Scan(&out)
	if err != nil {
		t.Fatalf("state: %v", err)
	}
	return out
}

// refused sends a request that must fail with status and field, and
// checks that it changed nothing.
func (e *env) refused(t *testing.T, method, path, token string, body any, status int, field string) invError {
	t.Helper()
	before := invState(t, e)
	got, raw := e.do(method, path, token, body)
	if got != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, got, status, raw)
	}
	var eb invError
	if err := json.Unmarshal(raw, &eb); err != nil {
		t.Fatalf("%s %s: error body %s: %v", method, path, raw, err)
	}
	if eb.Field != field {
		t.Errorf("%s %s: field %q, want %q (error %q)", method, path, eb.Field, field, eb.Error)
	}
	if eb.Error == "" {
		t.Errorf("%s %s: empty error message", method, path)
	}
	if after := invState(t, e); after != before {
		t.Errorf("%s %s was refused but changed the database:\nbefore %s\nafter  %s", method, path, before, after)
	}
	return eb
}

// invNet is a small network: sites HQ and Branch; EXCH-A (multihomed)
// and MAC-A at HQ, EXCH-B at Branch.
type invNet struct {
	HQ, Branch         int64
	ExchA, ExchB, MacA int64
}

func newInvNet(t *testing.T, e *env) invNet {
	t.Helper()
	var n invNet
	var site struct{ ID int64 }
	e.json("POST", "/api/v1/sites", e.Admin, map[string]any{"name": "HQ"}, 201, &site)
	n.HQ = site.ID
	e.json("POST", "/api/v1/sites", e.Admin, map[string]any{"name": "Branch"}, 201, &site)
	n.Branch = site.ID
	var sv invServer
	e.json("POST", "/api/v1/servers", e.Admin, map[string]any{"name": "EXCH-A", "site_id": n.HQ, "kind": "exchange", "version": "5.5 SP1",
		"serial": "EX-100", "addresses": []string{"10.0.0.5", "10.0.0.6"}}, 201, &sv)
	n.ExchA = sv.ID
	e.json("POST", "/api/v1/servers", e.Admin, map[string]any{"name": "EXCH-B", "site_id": n.Branch, "kind": "exchange",
		"serial": "EX-200", "addresses": []string{"10.1.0.5"}}, 201, &sv)
	n.ExchB = sv.ID
	e.json("POST", "/api/v1/servers", e.Admin, map[string]any{"name": "MAC-A", "site_id": n.HQ, "kind": "msmail-mac",
		"serial": "MAC-1", "addresses": []string{}}, 201, &sv)
	n.MacA = sv.ID
	return n
}

func TestInventoryRoles(t *testing.T) {
	e := newEnv(t)
	n := newInvNet(t, e)
	reads := []string{"/api/v1/sites", "/api/v1/servers", fmt.Sprintf("/api/v1/servers/%d", n.ExchA), "/api/v1/users",
		"/api/v1/routes", "/api/v1/connectors", "/api/v1/requestors", "/api/v1/dx-servers"}
	for _, p := range reads {
		t.Run("GET "+p, func(t *testing.T) {
			if got, _ := e.do("GET", p, e.Viewer, nil); got != 200 {
				t.Errorf("viewer: status %d, want 200", got)
			}
			if got, _ := e.do("GET", p, "", nil); got != 401 {
				t.Errorf("no token: status %d, want 401", got)
			}
			if got, _ := e.do("GET", p, e.Agent, nil); got != 403 {
				t.Errorf("agent: status %d, want 403", got)
			}
		})
	}
	writes := []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/sites", map[string]any{"name": "X"}},
		{"POST", "/api/v1/servers", map[string]any{"name": "X", "site_id": n.HQ, "kind": "exchange", "serial": "X"}},
		{"PATCH", fmt.Sprintf("/api/v1/servers/%d", n.ExchA), map[string]any{"name": "X"}},
		{"DELETE", fmt.Sprintf("/api/v1/servers/%d", n.MacA), nil},
		{"POST", "/api/v1/users", map[string]any{"alias": "x", "display_name": "X", "server_id": n.ExchA}},
		{"POST", "/api/v1/users/1/messages", []any{}},
		{"POST", "/api/v1/routes", map[string]any{"from_server_id": n.ExchA, "to_server_id": n.ExchB, "configured": "direct"}},
		{"POST", "/api/v1/connectors", map[string]any{"kind": "msmail", "name": "X", "server_id": n.ExchA}},
		{"PATCH", "/api/v1/connectors/1", map[string]any{"override_address": ""}},
		{"POST", "/api/v1/requestors", map[string]any{"network": "N", "postoffice": "P", "dx_server_id": n.ExchA}},
		{"POST", "/api/v1/requestors/export-on-next-cycle", map[string]any{"ids": []int{1}, "enabled": true}},
		{"PUT", fmt.Sprintf("/api/v1/dx-servers/%d", n.ExchA), map[string]any{"paused": true}},
		{"PATCH", fmt.Sprintf("/api/v1/dx-servers/%d", n.ExchA), map[string]any{"paused": true}},
	}
	for _, w := range writes {
		t.Run(w.method+" "+w.path, func(t *testing.T) {
			e.refused(t, w.method, w.path, e.Viewer, w.body, 403, "")
			e.refused(t, w.method, w.path, "", w.body, 401, "")
		})
	}
}

func TestServersCreateReadUpdateDelete(t *testing.T) {
	e := newEnv(t)
	n := newInvNet(t, e)
	var sv invServer
	e.json("POST", "/api/v1/servers", e.Admin, map[string]any{"name": "  PC-PO1 ", "site_id": n.HQ, "kind": "msmail-pc",
		"version": "3.5", "serial": "PC-1", "addresses": []string{"::ffff:10.0.0.9", "2001:DB8::1"}, "status": "stopped"}, 201, &sv)
	if sv.Name != "PC-PO1" || sv.Kind != "msmail-pc" || sv.Status != "stopped" || sv.DuplicateSerial || sv.Warning != "" {
		t.Errorf("created: got %+v", sv)
	}
	if want := []string{"10.0.0.9", "2001:db8::1"}; !slices.Equal(sv.Addresses, want) {
		t.Errorf("addresses: got %v, want normalized %v", sv.Addresses, want)
	}
	var list struct{ Servers []invServer }
	e.json("GET", "/api/v1/servers", e.Viewer, nil, 200, &list)
	if len(list.Servers) != 4 {
		t.Errorf("servers: got %d, want 4", len(list.Servers))
	}
	path := fmt.Sprintf("/api/v1/servers/%d", sv.ID)
	var got invServer
	e.json("PATCH", path, e.Admin, map[string]any{"name": "PC-PO1B", "site_id": n.Branch, "version": "3.5a",
		"addresses": []string{"10.0.0.10"}, "status": "running", "serial": "PC-1", "kind": "msmail-pc"}, 200, &got)
	if got.Name != "PC-PO1B" || got.SiteID != n.Branch || got.Version != "3.5a" || got.Status != "running" || got.Serial != "PC-1" ||
		!slices.Equal(got.Addresses, []string{"10.0.0.10"}) {
		t.Errorf("patched: got %+v", got)
	}
	e.json("GET", path, e.Viewer, nil, 200, &got)
	if got.Name != "PC-PO1B" {
		t.Errorf("read back: name %q, want PC-PO1B", got.Name)
	}
	var audits int
	e.Store.DB().QueryRow(`SELECT count(*) FROM audit WHERE action = 'server.update' AND object_id = ? AND before IS NOT NULL AND after IS NOT NULL`, sv.ID).Scan(&audits)
	if audits != 1 {
		t.Errorf("server.update audit rows: got %d, want 1", audits)
	}
	e.json("POST", "/api/v1/routes", e.Admin, map[string]any{"from_server_id": sv.ID, "to_server_id": n.ExchA, "configured": "direct"}, 201, nil)
	if got, body := e.do("DELETE", path, e.Admin, nil); got != 204 {
		t.Fatalf("delete: status %d, want 204; %s", got, body)
	}
	e.refused(t, "GET", path, e.Viewer, nil, 404, "")
	var routes struct{ Routes []invRoute }
	e.json("GET", "/api/v1/routes", e.Viewer, nil, 200, &routes)
	if len(routes.Routes) != 0 {
		t.Errorf("routes after delete: got %v, want none", routes.Routes)
	}
}

func TestServerValidation(t *testing.T) {
	e := newEnv(t)
	n := newInvNet(t, e)
	good := func(change map[string]any) map[string]any {
		m := map[string]any{"name": "NEW", "site_id": n.HQ, "kind": "exchange", "serial": "NEW-1", "addresses": []string{"10.9.0.1"}}
		for k, v := range change {
			if v == nil {
				delete(m, k)
				continue
			}
			m[k] = v
		}
		return m
	}
	long := strings.Repeat("x", 65)
	tests := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"no name", good(map[string]any{"name": nil}), 422, "name"},
		{"blank name", good(map[string]any{"name": "   "}), 422, "name"},
		{"long name", good(map[string]any{"name": long}), 422, "name"},
		{"unprintable name", good(map[string]any{"name": "A\x07B"}), 422, "name"},
		{"duplicate name, other case", good(map[string]any{"name": "exch-a"}), 409, "name"},
		{"unknown site", good(map[string]any{"site_id": 999}), 422, "site_id"},
		{"no site", good(map[string]any{"site_id": nil}), 422, "site_id"},
		{"bad kind", good(map[string]any{"kind": "lotus"}), 422, "kind"},
		{"no serial", good(map[string]any{"serial": ""}), 422, "serial"},
		{"bad address", good(map[string]any{"addresses": []string{"10.0.0.300"}}), 422, "addresses"},
		{"repeated address", good(map[string]any{"addresses": []string{"10.0.0.1", "10.0.0.01"}}), 422, "addresses"},
		{"repeated address, mapped", good(map[string]any{"addresses": []string{"10.0.0.1", "::ffff:10.0.0.1"}}), 422, "addresses"},
		{"bad status", good(map[string]any{"status": "paused"}), 422, "status"},
		{"decommissioned", good(map[string]any{"status": "decommissioned"}), 422, "status"},
		{"long version", good(map[string]any{"version": long}), 422, "version"},
		{"unknown field", good(map[string]any{"colour": "red"}), 400, "colour"},
		{"wrong type", good(map[string]any{"site_id": "one"}), 400, "site_id"},
		{"malformed", `{"name": "X",`, 400, ""},
		{"not an object", `[1]`, 400, ""},
		{"too large", `{"name": "` + strings.Repeat("x", 2<<20) + `"}`, 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.refused(t, "POST", "/api/v1/servers", e.Admin, tt.body, tt.status, tt.field)
		})
	}
	path := fmt.Sprintf("/api/v1/servers/%d", n.ExchA)
	patches := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"changed serial", map[string]any{"serial": "EX-999"}, 422, "serial"},
		{"changed kind", map[string]any{"kind": "msmail-pc"}, 422, "kind"},
		{"decommission by patch", map[string]any{"status": "decommissioned"}, 422, "status"},
		{"name in use", map[string]any{"name": "EXCH-B"}, 409, "name"},
		{"unknown site", map[string]any{"site_id": 999}, 422, "site_id"},
		{"bad address", map[string]any{"addresses": []string{"host.example"}}, 422, "addresses"},
		{"empty name", map[string]any{"name": ""}, 422, "name"},
		{"unknown field", map[string]any{"id": 5}, 400, "id"},
	}
	for _, tt := range patches {
		t.Run("PATCH "+tt.name, func(t *testing.T) {
			e.refused(t, "PATCH", path, e.Admin, tt.body, tt.status, tt.field)
		})
	}
	// Only a PC postoffice's serial can change (Q209486); an AppleTalk
	// server's never can (Q99393), and the refusal says so.
	eb := e.refused(t, "PATCH", fmt.Sprintf("/api/v1/servers/%d", n.MacA), e.Admin, map[string]any{"serial": "MAC-9"}, 422, "serial")
	if !strings.Contains(eb.Error, "not possible to change the serial number") || !strings.Contains(eb.Error, "Q99393") {
		t.Errorf("serial error %q does not quote Q99393", eb.Error)
	}
	var po invServer
	e.json("POST", "/api/v1/servers", e.Admin, map[string]any{"name": "PO-WGPO", "site_id": n.HQ, "kind": "msmail-pc", "version": "3.5", "serial": "0799-99992"}, 201, &po)
	e.json("PATCH", fmt.Sprintf("/api/v1/servers/%d", po.ID), e.Admin, map[string]any{"serial": "22-31415"}, 200, &po)
	if po.Serial != "22-31415" {
		t.Errorf("PC postoffice serial after PATCH: %q, want 22-31415 (Q209486)", po.Serial)
	}
	// Versions as administrators write them are read; one that names no
	// version is refused, naming the field.
	for _, v := range []string{"5.5 SP2", "5.5.2448.1", "5.5 (build 2448.1)", "4.0 SP4"} {
		e.json("PATCH", path, e.Admin, map[string]any{"version": v}, 200, nil)
	}
	e.refused(t, "PATCH", path, e.Admin, map[string]any{"version": "latest"}, 422, "version")
	e.refused(t, "PATCH", path, e.Admin, map[string]any{"version": "5.5 SP9"}, 422, "version")
	// An AppleTalk server not yet scanned registers without a serial (Q99164).
	e.json("POST", "/api/v1/servers", e.Admin, map[string]any{"name": "MAC-NEW", "site_id": n.HQ, "kind": "msmail-mac", "version": "3.1"}, 201, nil)
	e.refused(t, "PATCH", "/api/v1/servers/999", e.Admin, map[string]any{"name": "Z"}, 404, "")
	e.refused(t, "PATCH", "/api/v1/servers/abc", e.Admin, map[string]any{"name": "Z"}, 404, "")
	e.refused(t, "DELETE", "/api/v1/servers/999", e.Admin, nil, 404, "")
}

func TestDuplicateSerialIsStoredWithWarningAndEvent(t *testing.T) {
	e := newEnv(t)
	n := newInvNet(t, e)
	var sv invServer
	e.json("POST", "/api/v1/servers", e.Admin, map[string]any{"name": "EXCH-C", "site_id": n.Branch, "kind": "exchange",
		"serial": "EX-100", "addresses": []string{"10.2.0.5"}}, 201, &sv)
	if sv.ID == 0 || sv.Serial != "EX-100" || !sv.DuplicateSerial {
		t.Fatalf("created: got %+v, want stored with duplicate_serial", sv)
	}
	for _, want := range []string{"EXCH-A", "Q99393", "EX-100"} {
		if !strings.Contains(sv.Warning, want) {
			t.Errorf("warning %q does not name %q", sv.Warning, want)
		}
	}
	var source, category, severity, server, description string
	var eventID int
	err := e.Store.DB().QueryRow(`SELECT source, event_id, category, severity, server, description FROM events WHERE server_id = ?`, sv.ID).
		Scan(&source, &eventID, &category, &severity, &server, &description)
	if err != nil {
		t.Fatalf("event row: %v", err)
	}
	if source != "MailnetAdmin" || eventID != 1001 || category != "Duplicate Serial" || severity != "warning" || server != "EXCH-C" {
		t.Errorf("event: got %s %d %s %s %s", source, eventID, category, severity, server)
	}
	if !strings.Contains(description, "EXCH-A") || !strings.Contains(description, "EXCH-C") {
		t.Errorf("event description %q does not name both servers", description)
	}
	var audits int
	e.Store.DB().QueryRow(`SELECT count(*) FROM audit WHERE action = 'server.create' AND object_id = ?`, sv.ID).Scan(&audits)
	if audits != 1 {
		t.Errorf("server.create audit rows: got %d, want 1", audits)
	}
	var got invServer
	e.json("GET", fmt.Sprintf("/api/v1/servers/%d", n.ExchA), e.Viewer, nil, 200, &got)
	if !got.DuplicateSerial {
		t.Errorf("EXCH-A: duplicate_serial false, want true")
	}
	var other invServer
	e.json("POST", "/api/v1/servers", e.Admin, map[string]any{"name": "UNIQUE", "site_id": n.HQ, "kind": "exchange", "serial": "U-1"}, 201, &other)
	if other.DuplicateSerial || other.Warning != "" {
		t.Errorf("unique serial flagged: %+v", other)
	}
}

func TestUsersMessagesAndCounters(t *testing.T) {
	e := newEnv(t)
	n := newInvNet(t, e)
	var u invUser
	e.json("POST", "/api/v1/users", e.Admin, map[string]any{"alias": "ann", "display_name": "Ann Smith", "server_id": n.ExchA}, 201, &u)
	if !u.InAllListing || !u.InAllListingConfigured || u.HiddenReason != "" || u.ServerID != n.ExchA {
		t.Errorf("created user: got %+v", u)
	}
	var hidden invUser
	e.json("POST", "/api/v1/users", e.Admin, map[string]any{"alias": "bob", "display_name": "Bob", "server_id": n.ExchA, "in_all_listing": false}, 201, &hidden)
	if hidden.InAllListing || hidden.InAllListingConfigured || hidden.HiddenReason == "" {
		t.Errorf("unlisted user: got %+v", hidden)
	}
	var sv invServer
	e.json("GET", fmt.Sprintf("/api/v1/servers/%d", n.ExchA), e.Viewer, nil, 200, &sv)
	if sv.UserCount != 2 {
		t.Errorf("user_count: got %d, want 2", sv.UserCount)
	}
	msgs := []map[string]any{
		{"folder": "Inbox", "subject": "one", "size": 100, "received_at": "2024-05-01T09:30:00+02:00"},
		{"folder": "", "subject": "two", "size": 0},
		{"folder": "Sent", "subject": "three", "size": 5},
	}
	var delivered struct {
		Messages []struct {
			ID         int64  `json:"id"`
			UserID     int64  `json:"user_id"`
			Folder     string `json:"folder"`
			ReceivedAt string `json:"received_at"`
		}
		Delivered int
	}
	path := fmt.Sprintf("/api/v1/users/%d/messages", u.ID)
	e.json("POST", path, e.Admin, msgs, 201, &delivered)
	if delivered.Delivered != 3 || len(delivered.Messages) != 3 || delivered.Messages[0].UserID != u.ID ||
		delivered.Messages[0].ReceivedAt != "2024-05-01T07:30:00Z" || delivered.Messages[1].Folder != "Inbox" {
		t.Errorf("delivered: got %+v", delivered)
	}
	e.json("GET", fmt.Sprintf("/api/v1/servers/%d", n.ExchA), e.Viewer, nil, 200, &sv)
	e.json("GET", fmt.Sprintf("/api/v1/users/%d", u.ID), e.Viewer, nil, 200, &u)
	if sv.MessageCount != 3 || u.MessageCount != 3 {
		t.Errorf("message counts: server %d, user %d; want 3 and 3", sv.MessageCount, u.MessageCount)
	}
	var list struct {
		Messages []struct {
			Subject string `json:"subject"`
		}
		NextAfterID int64 `json:"next_after_id"`
	}
	e.json("GET", path+"?limit=2", e.Viewer, nil, 200, &list)
	if len(list.Messages) != 2 || list.Messages[0].Subject != "one" || list.NextAfterID == 0 {
		t.Errorf("first page: got %+v", list)
	}
	e.json("GET", fmt.Sprintf("%s?after_id=%d", path, list.NextAfterID), e.Viewer, nil, 200, &list)
	if len(list.Messages) != 1 || list.Messages[0].Subject != "three" {
		t.Errorf("second page: got %+v", list)
	}
	var audits int
	e.Store.DB().QueryRow(`SELECT count(*) FROM audit WHERE action IN ('user.create', 'message.deliver')`).Scan(&audits)
	if audits != 3 {
		t.Errorf("user.create and message.deliver audit rows: got %d, want 3", audits)
	}

	t.Run("refused deliveries", func(t *testing.T) {
		tests := []struct {
			name   string
			body   any
			status int
			field  string
		}{
			{"negative size", []map[string]any{{"subject": "ok", "size": 1}, {"subject": "bad", "size": -1}}, 422, "size"},
			{"bad time", []map[string]any{{"subject": "x", "received_at": "yesterday"}}, 422, "received_at"},
			{"long folder", []map[string]any{{"folder": strings.Repeat("f", 256)}}, 422, "folder"},
			{"unknown field", []map[string]any{{"subject": "x", "flag": true}}, 400, "[0].flag"},
			{"not an array", map[string]any{"subject": "x"}, 400, ""},
			{"null", "null", 400, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { e.refused(t, "POST", path, e.Admin, tt.body, tt.status, tt.field) })
		}
		e.refused(t, "POST", "/api/v1/users/999/messages", e.Admin, msgs, 404, "")
	})

	t.Run("refused users", func(t *testing.T) {
		tests := []struct {
			name   string
			body   any
			status int
			field  string
		}{
			{"alias in use", map[string]any{"alias": "ANN", "display_name": "A", "server_id": n.ExchA}, 409, "alias"},
			{"no alias", map[string]any{"display_name": "A", "server_id": n.ExchA}, 422, "alias"},
			{"no display name", map[string]any{"alias": "zed", "server_id": n.ExchA}, 422, "display_name"},
			{"unknown server", map[string]any{"alias": "zed", "display_name": "Z", "server_id": 999}, 422, "server_id"},
			{"no server", map[string]any{"alias": "zed", "display_name": "Z"}, 422, "server_id"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { e.refused(t, "POST", "/api/v1/users", e.Admin, tt.body, tt.status, tt.field) })
		}
	})

	t.Run("list filters", func(t *testing.T) {
		e.json("POST", "/api/v1/users", e.Admin, map[string]any{"alias": "carl", "display_name": "Carl Annan", "server_id": n.ExchB}, 201, nil)
		tests := []struct {
			query string
			want  []string
		}{
			{"", []string{"ann", "bob", "carl"}},
			{fmt.Sprintf("?server_id=%d", n.ExchB), []string{"carl"}},
			{"?q=ann", []string{"ann", "carl"}},
			{"?limit=1", []string{"ann"}},
			{fmt.Sprintf("?after_id=%d", u.ID), []string{"bob", "carl"}},
			{"?limit=1000", []string{"ann", "bob", "carl"}},
		}
		for _, tt := range tests {
			var got struct{ Users []invUser }
			e.json("GET", "/api/v1/users"+tt.query, e.Viewer, nil, 200, &got)
			var aliases []string
			for _, u := range got.Users {
				aliases = append(aliases, u.Alias)
			}
			if !slices.Equal(aliases, tt.want) {
				t.Errorf("users%s: got %v, want %v", tt.query, aliases, tt.want)
			}
		}
		e.refused(t, "GET", "/api/v1/users?limit=0", e.Viewer, nil, 422, "limit")
		e.refused(t, "GET", "/api/v1/users?after_id=x", e.Viewer, nil, 422, "after_id")
		e.refused(t, "GET", "/api/v1/users/999", e.Viewer, nil, 404, "")
	})

	t.Run("duplicate serial hides users", func(t *testing.T) {
		// A serial identifies a server among its own product's: an Exchange
		// server that carries EXCH-A's serial string cuts nothing off.
		e.json("POST", "/api/v1/servers", e.Admin, map[string]any{"name": "EXCH-TWIN", "site_id": n.Branch, "kind": "exchange", "serial": "EX-100"}, 201, nil)
		var got invUser
		e.json("GET", fmt.Sprintf("/api/v1/users/%d", u.ID), e.Viewer, nil, 200, &got)
		if !got.InAllListing || got.HiddenReason != "" {
			t.Errorf("user on an Exchange server whose serial string repeats: got %+v, want listed", got)
		}
		// An AppleTalk twin of MAC-A at the other site hides MAC-A's users (Q99393).
		var mia invUser
		e.json("POST", "/api/v1/users", e.Admin, map[string]any{"alias": "mia", "display_name": "Mia", "server_id": n.MacA}, 201, &mia)
		e.json("POST", "/api/v1/servers", e.Admin, map[string]any{"name": "MAC-TWIN", "site_id": n.Branch, "kind": "msmail-mac", "serial": "MAC-1"}, 201, nil)
		e.json("GET", fmt.Sprintf("/api/v1/users/%d", mia.ID), e.Viewer, nil, 200, &got)
		if got.InAllListing || !got.InAllListingConfigured || !strings.Contains(got.HiddenReason, "MAC-A") || !strings.Contains(got.HiddenReason, "MAC-1") {
			t.Errorf("user on impacted server: got %+v, want hidden with a reason naming MAC-A and MAC-1", got)
		}
	})

	t.Run("delete refused while users remain", func(t *testing.T) {
		eb := e.refused(t, "DELETE", fmt.Sprintf("/api/v1/servers/%d", n.ExchA), e.Admin, nil, 409, "")
		if !strings.Contains(eb.Error, "2 users") || !strings.Contains(eb.Error, "3 messages") {
			t.Errorf("error %q does not name the 2 users and 3 messages", eb.Error)
		}
	})
}

func TestRoutesAPI(t *testing.T) {
	e := newEnv(t)
	n := newInvNet(t, e)
	var rt invRoute
	e.json("POST", "/api/v1/routes", e.Admin, map[string]any{"from_server_id": n.ExchA, "to_server_id": n.ExchB, "configured": "direct"}, 201, &rt)
	if rt.Configured != "direct" || rt.Effective != "direct" || rt.Reason != "" {
		t.Errorf("created: got %+v", rt)
	}
	e.json("POST", "/api/v1/routes", e.Admin, map[string]any{"from_server_id": n.ExchA, "to_server_id": n.ExchB, "configured": "indirect", "via_server_id": n.MacA}, 200, &rt)
	if rt.Configured != "indirect" || rt.ViaServerID != n.MacA || rt.Effective != "indirect" {
		t.Errorf("updated: got %+v", rt)
	}
	e.json("POST", "/api/v1/routes", e.Admin, map[string]any{"from_server_id": n.ExchB, "to_server_id": n.MacA, "configured": "none"}, 201, nil)
	var list struct{ Routes []invRoute }
	e.json("GET", fmt.Sprintf("/api/v1/routes?server_id=%d", n.ExchB), e.Viewer, nil, 200, &list)
	if len(list.Routes) != 2 {
		t.Errorf("routes of EXCH-B: got %d, want 2", len(list.Routes))
	}
	e.json("GET", fmt.Sprintf("/api/v1/routes?server_id=%d", n.ExchA), e.Viewer, nil, 200, &list)
	if len(list.Routes) != 1 {
		t.Errorf("routes of EXCH-A: got %d, want 1", len(list.Routes))
	}

	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"bad configured", map[string]any{"from_server_id": n.ExchA, "to_server_id": n.ExchB, "configured": "sometimes"}, "configured"},
		{"indirect without via", map[string]any{"from_server_id": n.ExchA, "to_server_id": n.ExchB, "configured": "indirect"}, "via_server_id"},
		{"direct with via", map[string]any{"from_server_id": n.ExchA, "to_server_id": n.ExchB, "configured": "direct", "via_server_id": n.MacA}, "via_server_id"},
		{"via is an end", map[string]any{"from_server_id": n.ExchA, "to_server_id": n.ExchB, "configured": "indirect", "via_server_id": n.ExchB}, "via_server_id"},
		{"unknown via", map[string]any{"from_server_id": n.ExchA, "to_server_id": n.ExchB, "configured": "indirect", "via_server_id": 999}, "via_server_id"},
		{"unknown from", map[string]any{"from_server_id": 999, "to_server_id": n.ExchB, "configured": "direct"}, "from_server_id"},
		{"unknown to", map[string]any{"from_server_id": n.ExchA, "to_server_id": 999, "configured": "direct"}, "to_server_id"},
		{"to itself", map[string]any{"from_server_id": n.ExchA, "to_server_id": n.ExchA, "configured": "direct"}, "to_server_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { e.refused(t, "POST", "/api/v1/routes", e.Admin, tt.body, 422, tt.field) })
	}

	// An Exchange server that carries EXCH-A's serial string cuts nothing
	// off; an AppleTalk twin of MAC-A at the other site cuts every route
	// to, from or via MAC-A (Q99393).
	e.json("POST", "/api/v1/servers", e.Admin, map[string]any{"name": "TWIN", "site_id": n.Branch, "kind": "exchange", "serial": "EX-100"}, 201, nil)
	e.json("POST", "/api/v1/servers", e.Admin, map[string]any{"name": "MAC-TWIN", "site_id": n.Branch, "kind": "msmail-mac", "serial": "MAC-1"}, 201, nil)
	e.json("GET", "/api/v1/routes", e.Viewer, nil, 200, &list)
	cut := 0
	for _, r := range list.Routes {
		switch {
		case r.FromServerID == n.MacA || r.ToServerID == n.MacA || r.ViaServerID == n.MacA:
			cut++
			if r.Effective != "none" || !strings.Contains(r.Reason, "MAC-A") || !strings.Contains(r.Reason, "No Connection") {
				t.Errorf("route touching MAC-A: got %+v, want none with a reason", r)
			}
		default:
			if r.Effective != r.Configured || r.Reason != "" {
				t.Errorf("route %+v: want effective = configured", r)
			}
		}
	}
	if cut == 0 {
		t.Errorf("no route touches MAC-A; the test needs one")
	}
}

func TestConnectorsAPI(t *testing.T) {
	e := newEnv(t)
	n := newInvNet(t, e)
	var ab, ba invConnector
	e.json("POST", "/api/v1/connectors", e.Admin, map[string]any{"kind": "x400", "name": "TCP to MTA B", "server_id": n.ExchA,
		"remote_server_id": n.ExchB, "stack_addresses": []string{"10.1.0.5"}, "logging": map[string]string{"X.400 Service": "Maximum"}}, 201, &ab)
	if ab.DN != "/o=Mailnet/ou=HQ/cn=Configuration/cn=Connections/cn=TCP to MTA B" {
		t.Errorf("dn: got %q", ab.DN)
	}
	if ab.Logging["X.400 Service"] != "maximum" || ab.OverrideAddress != "" {
		t.Errorf("created: got %+v", ab)
	}
	e.json("POST", "/api/v1/connectors", e.Admin, map[string]any{"kind": "x400", "name": "TCP to MTA A", "server_id": n.ExchB,
		"remote_server_id": n.ExchA, "stack_addresses": []string{"10.0.0.5"}}, 201, &ba)
	var mm invConnector
	e.json("POST", "/api/v1/connectors", e.Admin, map[string]any{"kind": "msmail", "name": "MS Mail Connector", "server_id": n.ExchA}, 201, &mm)
	if mm.PollMinutes != 5 || len(mm.StackAddresses) != 0 {
		t.Errorf("msmail defaults: got %+v", mm)
	}

	create := []struct {
		name   string
		body   map[string]any
		status int
		field  string
	}{
		{"bad kind", map[string]any{"kind": "smtp", "name": "X", "server_id": n.ExchA, "remote_server_id": n.ExchB}, 422, "kind"},
		{"two stack entries", map[string]any{"kind": "x400", "name": "X", "server_id": n.ExchA, "remote_server_id": n.ExchB,
			"stack_addresses": []string{"10.1.0.5", "10.1.0.6"}}, 422, "stack_addresses"},
		{"bad stack entry", map[string]any{"kind": "x400", "name": "X", "server_id": n.ExchA, "remote_server_id": n.ExchB,
			"stack_addresses": []string{"not a name!"}}, 422, "stack_addresses"},
		{"override not local", map[string]any{"kind": "x400", "name": "X", "server_id": n.ExchA, "remote_server_id": n.ExchB,
			"override_address": "10.1.0.5"}, 422, "override_address"},
		{"override on msmail", map[string]any{"kind": "msmail", "name": "X", "server_id": n.ExchA, "override_address": "10.0.0.5"}, 422, "override_address"},
		{"poll zero", map[string]any{"kind": "msmail", "name": "X", "server_id": n.ExchA, "poll_minutes": 0}, 422, "poll_minutes"},
		{"poll too long", map[string]any{"kind": "msmail", "name": "X", "server_id": n.ExchA, "poll_minutes": 1441}, 422, "poll_minutes"},
		{"bad logging level", map[string]any{"kind": "msmail", "name": "X", "server_id": n.ExchA,
			"logging": map[string]string{"MSExchangePCMTA": "verbose"}}, 422, "logging.MSExchangePCMTA"},
		{"x400 without remote", map[string]any{"kind": "x400", "name": "X", "server_id": n.ExchA}, 422, "remote_server_id"},
		{"unknown server", map[string]any{"kind": "msmail", "name": "X", "server_id": 999}, 422, "server_id"},
		{"unknown remote", map[string]any{"kind": "x400", "name": "X", "server_id": n.ExchA, "remote_server_id": 999}, 422, "remote_server_id"},
		{"name in use", map[string]any{"kind": "x400", "name": "tcp to mta b", "server_id": n.ExchA, "remote_server_id": n.ExchB}, 409, "name"},
		{"no name", map[string]any{"kind": "msmail", "server_id": n.ExchA}, 422, "name"},
	}
	for _, tt := range create {
		t.Run("POST "+tt.name, func(t *testing.T) { e.refused(t, "POST", "/api/v1/connectors", e.Admin, tt.body, tt.status, tt.field) })
	}

	abPath := fmt.Sprintf("/api/v1/connectors/%d", ab.ID)
	patch := []struct {
		name   string
		body   map[string]any
		status int
		field  string
	}{
		{"override not local", map[string]any{"override_address": "10.9.9.9"}, 422, "override_address"},
		{"override not an address", map[string]any{"override_address": "EXCH-A"}, 422, "override_address"},
		{"remote stack without override", map[string]any{"update_remote_stack": true}, 422, "update_remote_stack"},
		{"two stack entries", map[string]any{"stack_addresses": []string{"10.1.0.5", "EXCH-B"}}, 422, "stack_addresses"},
		{"poll on x400", map[string]any{"poll_minutes": 5}, 422, "poll_minutes"},
		{"bad level", map[string]any{"logging": map[string]string{"Interface": "loud"}}, 422, "logging.Interface"},
		{"unknown field", map[string]any{"name": "renamed"}, 400, "name"},
	}
	for _, tt := range patch {
		t.Run("PATCH "+tt.name, func(t *testing.T) { e.refused(t, "PATCH", abPath, e.Admin, tt.body, tt.status, tt.field) })
	}
	e.refused(t, "PATCH", "/api/v1/connectors/999", e.Admin, map[string]any{"override_address": ""}, 404, "")

	// Override without updating the remote: stored, with a warning.
	var got invConnector
	e.json("PATCH", abPath, e.Admin, map[string]any{"override_address": "10.0.0.6"}, 200, &got)
	if got.OverrideAddress != "10.0.0.6" || got.RemoteConnector != nil || !strings.Contains(got.Warning, "9301") {
		t.Errorf("override only: got %+v", got)
	}
	// The connector override action: override and the remote stack at once.
	got = invConnector{}
	e.json("PATCH", abPath, e.Admin, map[string]any{"override_address": "10.0.0.6", "update_remote_stack": true}, 200, &got)
	if got.RemoteConnector == nil || got.RemoteConnector.ID != ba.ID || !slices.Equal(got.RemoteConnector.StackAddresses, []string{"10.0.0.6"}) || got.Warning != "" {
		t.Errorf("override with remote stack: got %+v", got)
	}
	var remote invConnector
	e.json("GET", fmt.Sprintf("/api/v1/connectors/%d", ba.ID), e.Viewer, nil, 200, &remote)
	if !slices.Equal(remote.StackAddresses, []string{"10.0.0.6"}) {
		t.Errorf("remote stack read back: got %v, want [10.0.0.6]", remote.StackAddresses)
	}
	var audits int
	e.Store.DB().QueryRow(`SELECT count(*) FROM audit WHERE action = 'connector.update' AND object_id = ?`, ba.ID).Scan(&audits)
	if audits != 1 {
		t.Errorf("connector.update audit rows for the remote: got %d, want 1", audits)
	}
	// Removing the address the override uses is refused.
	e.refused(t, "PATCH", fmt.Sprintf("/api/v1/servers/%d", n.ExchA), e.Admin, map[string]any{"addresses": []string{"10.0.0.5"}}, 422, "addresses")
	// Clearing the override.
	e.json("PATCH", abPath, e.Admin, map[string]any{"override_address": ""}, 200, &got)
	if got.OverrideAddress != "" {
		t.Errorf("cleared override: got %q", got.OverrideAddress)
	}
	// msmail settings: poll interval and logging merge.
	e.json("PATCH", fmt.Sprintf("/api/v1/connectors/%d", mm.ID), e.Admin, map[string]any{"poll_minutes": 1,
		"logging": map[string]string{"MSExchangePCMTA": "maximum"}}, 200, &got)
	if got.PollMinutes != 1 || got.Logging["MSExchangePCMTA"] != "maximum" {
		t.Errorf("msmail settings: got %+v", got)
	}
	var list struct{ Connectors []invConnector }
	e.json("GET", fmt.Sprintf("/api/v1/connectors?server_id=%d", n.ExchB), e.Viewer, nil, 200, &list)
	if len(list.Connectors) != 2 {
		t.Errorf("connectors touching EXCH-B: got %d, want 2", len(list.Connectors))
	}
	eb := e.refused(t, "DELETE", fmt.Sprintf("/api/v1/servers/%d", n.ExchB), e.Admin, nil, 409, "")
	if !strings.Contains(eb.Error, "2 connectors") {
		t.Errorf("delete error %q does not name the connectors", eb.Error)
	}
}

func TestRequestorsExportAndDX(t *testing.T) {
	e := newEnv(t)
	n := newInvNet(t, e)
	ids := map[string]int64{}
	for _, r := range []struct{ network, po string }{{"ACME", "HQ"}, {"ACME", "SALES"}, {"OTHER", "PO1"}} {
		dx := n.ExchA
		if r.network == "OTHER" {
			dx = n.ExchB
		}
		var got invRequestor
		e.json("POST", "/api/v1/requestors", e.Admin, map[string]any{"network": r.network, "postoffice": r.po, "dx_server_id": dx,
			"requestor_sync": 3, "server_sync": 7, "imports": 1}, 201, &got)
		if got.RequestorSync != 3 || got.ServerSync != 7 || got.Imports != 1 || got.ExportOnNextCycle {
			t.Errorf("created: got %+v", got)
		}
		ids[r.network+"/"+r.po] = got.ID
	}
	refused := []struct {
		name   string
		body   map[string]any
		status int
		field  string
	}{
		{"pair in use", map[string]any{"network": "acme", "postoffice": "hq", "dx_server_id": n.ExchA}, 409, "postoffice"},
		{"dx not exchange", map[string]any{"network": "N", "postoffice": "P", "dx_server_id": n.MacA}, 422, "dx_server_id"},
		{"dx unknown", map[string]any{"network": "N", "postoffice": "P", "dx_server_id": 999}, 422, "dx_server_id"},
		{"slash in network", map[string]any{"network": "A/B", "postoffice": "P", "dx_server_id": n.ExchA}, 422, "network"},
		{"no postoffice", map[string]any{"network": "N", "dx_server_id": n.ExchA}, 422, "postoffice"},
		{"negative imports", map[string]any{"network": "N", "postoffice": "P", "dx_server_id": n.ExchA, "imports": -1}, 422, "imports"},
	}
	for _, tt := range refused {
		t.Run("POST "+tt.name, func(t *testing.T) { e.refused(t, "POST", "/api/v1/requestors", e.Admin, tt.body, tt.status, tt.field) })
	}

	exported := func() []string {
		var list struct{ Requestors []invRequestor }
		e.json("GET", "/api/v1/requestors", e.Viewer, nil, 200, &list)
		var out []string
		for _, r := range list.Requestors {
			if r.ExportOnNextCycle {
				out = append(out, r.Network+"/"+r.Postoffice)
			}
		}
		return out
	}
	const exportPath = "/api/v1/requestors/export-on-next-cycle"
	var res struct {
		Requestors []invRequestor
		Updated    int
	}
	e.json("POST", exportPath, e.Admin, map[string]any{"ids": []int64{ids["ACME/SALES"]}, "enabled": true}, 200, &res)
	if res.Updated != 1 || !slices.Equal(exported(), []string{"ACME/SALES"}) {
		t.Errorf("by id: updated %d, exported %v", res.Updated, exported())
	}
	e.json("POST", exportPath, e.Admin, map[string]any{"network": "acme", "enabled": true}, 200, &res)
	if res.Updated != 2 || !slices.Equal(exported(), []string{"ACME/HQ", "ACME/SALES"}) {
		t.Errorf("by network: updated %d, exported %v", res.Updated, exported())
	}
	e.json("POST", exportPath, e.Admin, map[string]any{"dx_server_id": n.ExchB, "enabled": true}, 200, &res)
	if res.Updated != 1 || len(exported()) != 3 {
		t.Errorf("by dx server: updated %d, exported %v", res.Updated, exported())
	}
	e.json("POST", exportPath, e.Admin, map[string]any{"ids": []int64{ids["ACME/HQ"], ids["OTHER/PO1"]}, "enabled": false}, 200, &res)
	if !slices.Equal(exported(), []string{"ACME/SALES"}) {
		t.Errorf("cleared two: exported %v, want [ACME/SALES]", exported())
	}
	var audits int
	e.Store.DB().QueryRow(`SELECT count(*) FROM audit WHERE action = 'requestor.export_on_next_cycle'`).Scan(&audits)
	if audits != 6 {
		t.Errorf("export audit rows: got %d, want 6", audits)
	}
	exportRefused := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no enabled", map[string]any{"ids": []int64{ids["ACME/HQ"]}}, "enabled"},
		{"no selection", map[string]any{"enabled": true}, "ids"},
		{"unknown id with a known one", map[string]any{"ids": []int64{ids["ACME/HQ"], 999}, "enabled": true}, "ids"},
		{"ids and network", map[string]any{"ids": []int64{ids["ACME/HQ"]}, "network": "ACME", "enabled": true}, "ids"},
		{"unknown network", map[string]any{"network": "NOPE", "enabled": true}, "network"},
		{"unknown dx", map[string]any{"dx_server_id": 999, "enabled": true}, "dx_server_id"},
	}
	for _, tt := range exportRefused {
		t.Run("export "+tt.name, func(t *testing.T) { e.refused(t, "POST", exportPath, e.Admin, tt.body, 422, tt.field) })
	}

	// DX settings.
	var dxs struct {
		DXServers []struct {
			ServerID       int64  `json:"server_id"`
			AdminAccount   string `json:"admin_account"`
			Paused         bool   `json:"paused"`
			CopyAdmin      bool   `json:"copy_admin"`
			ForwardToAdmin bool   `json:"forward_to_admin"`
		} `json:"dx_servers"`
	}
	e.json("GET", "/api/v1/dx-servers", e.Viewer, nil, 200, &dxs)
	if len(dxs.DXServers) != 2 {
		t.Fatalf("dx servers made by requestors: got %d, want 2", len(dxs.DXServers))
	}
	dxPath := fmt.Sprintf("/api/v1/dx-servers/%d", n.ExchA)
	e.json("PUT", dxPath, e.Admin, map[string]any{"admin_account": "DXADMIN", "paused": true, "copy_admin": true, "forward_to_admin": true}, 200, nil)
	e.json("PATCH", dxPath, e.Admin, map[string]any{"paused": false}, 200, nil)
	e.json("GET", "/api/v1/dx-servers", e.Viewer, nil, 200, &dxs)
	d := dxs.DXServers[0]
	if d.ServerID != n.ExchA || d.AdminAccount != "DXADMIN" || d.Paused || !d.CopyAdmin || !d.ForwardToAdmin {
		t.Errorf("dx settings: got %+v", d)
	}
	e.refused(t, "PUT", fmt.Sprintf("/api/v1/dx-servers/%d", n.MacA), e.Admin, map[string]any{"paused": true}, 422, "server_id")
	e.refused(t, "PUT", "/api/v1/dx-servers/999", e.Admin, map[string]any{"paused": true}, 404, "")
	e.refused(t, "PATCH", dxPath, e.Admin, map[string]any{"admin_account": strings.Repeat("a", 65)}, 422, "admin_account")
	e.refused(t, "PATCH", dxPath, e.Admin, map[string]any{"paused": "yes"}, 400, "paused")
}

func TestSitesAPI(t *testing.T) {
	e := newEnv(t)
	var st struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	e.json("POST", "/api/v1/sites", e.Admin, map[string]any{"name": " Redmond "}, 201, &st)
	if st.Name != "Redmond" || st.ID == 0 {
		t.Errorf("created: got %+v", st)
	}
	e.refused(t, "POST", "/api/v1/sites", e.Admin, map[string]any{"name": "REDMOND"}, 409, "name")
	e.refused(t, "POST", "/api/v1/sites", e.Admin, map[string]any{"name": ""}, 422, "name")
	e.refused(t, "POST", "/api/v1/sites", e.Admin, map[string]any{"name": "x", "id": 3}, 400, "id")
	var list struct {
		Sites []struct{ Name string } `json:"sites"`
	}
	e.json("GET", "/api/v1/sites", e.Viewer, nil, 200, &list)
	if len(list.Sites) != 1 || list.Sites[0].Name != "Redmond" {
		t.Errorf("sites: got %+v", list.Sites)
	}
	if got, _ := e.do("GET", "/api/v1/sites", e.Viewer, nil); got != http.StatusOK {
		t.Errorf("viewer read: status %d", got)
	}
}
