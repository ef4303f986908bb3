package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"mailnet/internal/mailnet"
)

func TestDecommissionReHomesTheRoutesThatRelayThroughIt(t *testing.T) {
	e := newEnv(t)
	n := seedNetwork(t, e.Store)
	// MAC-REDMOND reaches PCPO-ZULU through EXCH-PAR, which has no users.
	e.json("POST", "/api/v1/routes", e.Admin, map[string]any{"from_server_id": n.MacA.ID, "to_server_id": n.PC1.ID,
		"configured": "indirect", "via_server_id": n.Exch2.ID}, 201, nil)
	api := fmt.Sprintf("/api/v1/servers/%d/decommission", n.Exch2.ID)

	st, out := e.do("POST", api, e.Admin, nil)
	if st != http.StatusConflict || !strings.Contains(string(out), "MAC-REDMOND → PCPO-ZULU") {
		t.Errorf("POST %s without reroute: status %d, want 409 naming the route; body %s", api, st, out)
	}
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{"reroute_via": n.Exch2.ID}, "reroute_via"},
		{map[string]any{"reroute_via": n.MacB.ID}, "reroute_via"}, // shares a serial (Q99393)
		{map[string]any{"reroute_via": 9999}, "reroute_via"},
		{map[string]any{"reroute": "around"}, "reroute"},
		{map[string]any{"reroute": "direct", "plan": "stale"}, "plan"},
	} {
		e.refused(t, "POST", api, e.Admin, c.body, statusFor(c.field), c.field)
	}

	path := fmt.Sprintf("/servers/%d/decommission", n.Exch2.ID)
	body := e.adminPage(path, 200)
	checkCSP(t, path, body)
	mustContain(t, path, body, "Routes that relay through EXCH-PAR (1)", `name="reroute" value="direct"`,
		`<option value="`+itoa(n.Exch1.ID)+`">EXCH-RED`)
	if strings.Contains(body, `<option value="`+itoa(n.MacB.ID)+`"`) {
		t.Errorf("%s offers MAC-PARIS, which shares a serial, as a relay", path)
	}
	plan := planOf(t, body)

	// The dependents change after the preview: Start refuses and shows the new one.
	e.json("POST", "/api/v1/routes", e.Admin, map[string]any{"from_server_id": n.MacB.ID, "to_server_id": n.PC1.ID,
		"configured": "indirect", "via_server_id": n.Exch2.ID}, 201, nil)
	form := url.Values{"plan": {plan}, "reroute": {"via"}, "via": {itoa(n.Exch1.ID)}}
	st, _, out2 := e.postForm(path, e.Admin, form)
	if st != http.StatusConflict || !strings.Contains(out2, "changed since the preview") || !strings.Contains(out2, "Routes that relay through EXCH-PAR (2)") {
		t.Fatalf("POST %s with a stale plan: status %d, want 409 with the new preview; body %.400s", path, st, out2)
	}
	form.Set("plan", planOf(t, out2))
	st, loc, out2 := e.postForm(path, e.Admin, form)
	if st != http.StatusSeeOther {
		t.Fatalf("POST %s: status %d (to %q), want 303; body %.400s", path, st, loc, out2)
	}
	var routes struct{ Routes []mailnet.Route }
	e.json("GET", fmt.Sprintf("/api/v1/routes?server_id=%d", n.PC1.ID), e.Viewer, nil, 200, &routes)
	relayed := 0
	for _, rt := range routes.Routes {
		if rt.ToServerID == n.PC1.ID && (rt.FromServerID == n.MacA.ID || rt.FromServerID == n.MacB.ID) {
			relayed++
			if rt.Configured != mailnet.RouteIndirect || rt.ViaServerID != n.Exch1.ID {
				t.Errorf("route %d→%d: %s via %d, want indirect via EXCH-RED", rt.FromServerID, rt.ToServerID, rt.Configured, rt.ViaServerID)
			}
		}
	}
	if relayed != 2 {
		t.Errorf("relayed routes to PCPO-ZULU after: %d, want 2 (re-homed, not dropped)", relayed)
	}
}

func statusFor(field string) int {
	if field == "plan" {
		return http.StatusConflict
	}
	return http.StatusUnprocessableEntity
}
