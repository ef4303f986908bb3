package web_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// rep builds a network through the inventory API for the report tests.
type rep struct {
	t *testing.T
	e *env
}

func (r rep) create(path string, body any) int64 {
	r.t.Helper()
	var out struct {
		ID int64 `json:"id"`
	}
	r.e.json("POST", path, r.e.Admin, body, http.StatusCreated, &out)
	if out.ID == 0 {
		r.t.Fatalf("POST %s: no id in the answer", path)
	}
	return out.ID
}

func (r rep) site(name string) int64 { return r.create("/api/v1/sites", map[string]any{"name": name}) }

func (r rep) server(name string, site int64, kind, version, serial string, addrs ...string) int64 {
	if addrs == nil {
		addrs = []string{}
	}
	return r.create("/api/v1/servers", map[string]any{"name": name, "site_id": site, "kind": kind, "version": version, "serial": serial, "addresses": addrs})
}

func (r rep) user(alias string, server int64) int64 {
	return r.create("/api/v1/users", map[string]any{"alias": alias, "display_name": alias, "server_id": server})
}

func (r rep) route(from, to int64) {
	r.t.Helper()
	st, body := r.e.do("POST", "/api/v1/routes", r.e.Admin, map[string]any{"from_server_id": from, "to_server_id": to, "configured": "direct"})
	if st != http.StatusOK && st != http.StatusCreated {
		r.t.Fatalf("POST /api/v1/routes: status %d, body %s", st, body)
	}
}

func TestReportsRequireViewer(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/api/v1/reports/servers", "/api/v1/reports/duplicate-serials", "/api/v1/reports/x400", "/api/v1/reports/dirsync"} {
		if st, _ := e.do("GET", path, "", nil); st != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: status %d, want 401", path, st)
		}
		if st, _ := e.do("GET", path, e.Agent, nil); st != http.StatusForbidden {
			t.Errorf("GET %s with an agent token: status %d, want 403", path, st)
		}
		if st, body := e.do("GET", path, e.Viewer, nil); st != http.StatusOK {
			t.Errorf("GET %s with a viewer token: status %d, want 200; %s", path, st, body)
		}
		if st, _ := e.do("POST", path, e.Admin, "{}"); st != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: status %d, want 405", path, st)
		}
	}
}

func TestReportServersAPI(t *testing.T) {
	e := newEnv(t)
	r := rep{t, e}
	east, west := r.site("East"), r.site("West")
	a := r.server("MACA", east, "msmail-mac", "3.1", "777", "10.0.0.1")
	b := r.server("MACB", west, "msmail-mac", "3.1", "777")
	c := r.server("EXC", east, "exchange", "5.5.2448.0", "900", "10.0.0.9", "10.0.0.10")
	r.user("ann", a)
	r.user("bob", a)

	var got struct {
		Servers []struct {
			ID              int64    `json:"id"`
			Name            string   `json:"name"`
			Site            string   `json:"site"`
			Addresses       []string `json:"addresses"`
			UserCount       int64    `json:"user_count"`
			MessageCount    int64    `json:"message_count"`
			DuplicateSerial bool     `json:"duplicate_serial"`
			DuplicateGroup  string   `json:"duplicate_group"`
			Impacted        bool     `json:"impacted"`
		} `json:"servers"`
	}
	e.json("GET", "/api/v1/reports/servers?sort=users&desc=1", e.Viewer, nil, http.StatusOK, &got)
	if len(got.Servers) != 3 || got.Servers[0].ID != a || got.Servers[0].UserCount != 2 || got.Servers[0].Site != "East" {
		t.Fatalf("servers %+v, want 3 with MACA first (2 users, East)", got.Servers)
	}
	for _, s := range got.Servers {
		wantDup := s.ID == a || s.ID == b
		if s.DuplicateSerial != wantDup || s.Impacted != wantDup || (wantDup && s.DuplicateGroup != "777") {
			t.Errorf("%s: duplicate_serial %v group %q impacted %v, want %v", s.Name, s.DuplicateSerial, s.DuplicateGroup, s.Impacted, wantDup)
		}
	}

	e.json("GET", "/api/v1/reports/servers?duplicate_only=true&sort=name", e.Viewer, nil, http.StatusOK, &got)
	if len(got.Servers) != 2 || got.Servers[0].ID != a || got.Servers[1].ID != b {
		t.Errorf("duplicate_only: %+v, want MACA and MACB", got.Servers)
	}
	e.json("GET", fmt.Sprintf("/api/v1/reports/servers?q=10.0.0.9&site_id=%d", east), e.Viewer, nil, http.StatusOK, &got)
	if len(got.Servers) != 1 || got.Servers[0].ID != c || len(got.Servers[0].Addresses) != 2 {
		t.Errorf("q by address: %+v, want EXC with 2 addresses", got.Servers)
	}

	for _, tt := range []struct{ query, field string }{
		{"sort=colour", "sort"}, {"site_id=x", "site_id"}, {"kind=vax", "kind"}, {"format=xml", "format"}, {"desc=maybe", "desc"},
	} {
		var ie invError
		e.json("GET", "/api/v1/reports/servers?"+tt.query, e.Viewer, nil, http.StatusUnprocessableEntity, &ie)
		if ie.Field != tt.field {
			t.Errorf("?%s: field %q, want %q", tt.query, ie.Field, tt.field)
		}
	}
}

func TestReportServersCSV(t *testing.T) {
	e := newEnv(t)
	r := rep{t, e}
	site := r.site("East")
	r.server("MACA", site, "msmail-mac", "3.1", "1", "10.0.0.1", "10.0.0.2")
	for _, how := range []struct {
		name, query, accept string
	}{{"format=csv", "?format=csv", ""}, {"Accept: text/csv", "", "text/csv"}} {
		t.Run(how.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.HTTP.URL+"/api/v1/reports/servers"+how.query, nil)
			req.Header.Set("Authorization", "Bearer "+e.Viewer)
			if how.accept != "" {
				req.Header.Set("Accept", how.accept)
			}
			res, err := e.HTTP.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
				t.Errorf("content type %q, want text/csv", ct)
			}
			if cd := res.Header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, "servers.csv") {
				t.Errorf("content disposition %q, want an attachment servers.csv", cd)
			}
			recs, err := csv.NewReader(res.Body).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 2 || recs[0][0] != "id" || recs[1][1] != "MACA" || recs[1][7] != "10.0.0.1 10.0.0.2" {
				t.Errorf("csv %q, want a header and MACA with both addresses", recs)
			}
		})
	}
	req, _ := http.NewRequest("GET", e.HTTP.URL+"/api/v1/reports/servers?format=json", nil)
	req.Header.Set("Authorization", "Bearer "+e.Viewer)
	res, err := e.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string][]map[string]any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || len(body["servers"]) != 1 {
		t.Errorf("format=json body %v (%v), want one server", body, err)
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.Contains(cd, "servers.json") {
		t.Errorf("format=json content disposition %q, want an attachment servers.json", cd)
	}
}

type dupGroups struct {
	Groups []struct {
		Serial             string     `json:"serial"`
		ServerIDs          []int64    `json:"server_ids"`
		SameSite           bool       `json:"same_site"`
		Impact             string     `json:"impact"`
		RoutesNoConnection []invRoute `json:"routes_no_connection"`
		HiddenUserIDs      []int64    `json:"hidden_user_ids"`
		Recommendation     struct {
			KeepServerID    int64    `json:"keep_server_id"`
			RemoveServerIDs []int64  `json:"remove_server_ids"`
			MoveUserIDs     []int64  `json:"move_user_ids"`
			TargetServerID  int64    `json:"target_server_id"`
			Steps           []string `json:"steps"`
			Text            string   `json:"text"`
		} `json:"recommendation"`
	} `json:"groups"`
}

func TestReportDuplicateSerialsAPI(t *testing.T) {
	e := newEnv(t)
	r := rep{t, e}
	east, west := r.site("East"), r.site("West")
	a := r.server("MACA", east, "msmail-mac", "3.1", "777")
	b := r.server("MACB", west, "msmail-mac", "3.1", "777")
	other := r.server("MACC", west, "msmail-mac", "3.1", "778")
	u1 := r.user("ann", a)
	u2 := r.user("bob", a)
	u3 := r.user("cat", b)
	r.route(a, other)
	r.route(other, b)

	var got dupGroups
	e.json("GET", "/api/v1/reports/duplicate-serials", e.Viewer, nil, http.StatusOK, &got)
	if len(got.Groups) != 1 {
		t.Fatalf("groups %+v, want 1", got.Groups)
	}
	g := got.Groups[0]
	if g.Serial != "777" || !slices.Equal(g.ServerIDs, []int64{a, b}) || g.SameSite {
		t.Errorf("group serial %q servers %v same_site %v, want 777 [%d %d] false", g.Serial, g.ServerIDs, g.SameSite, a, b)
	}
	if len(g.RoutesNoConnection) != 2 {
		t.Errorf("routes_no_connection %+v, want both routes", g.RoutesNoConnection)
	}
	for _, rt := range g.RoutesNoConnection {
		if rt.Configured != "direct" || rt.Effective != "none" || rt.Reason == "" {
			t.Errorf("route %+v, want configured direct, effective none, with a reason", rt)
		}
	}
	if !slices.Equal(g.HiddenUserIDs, []int64{u1, u2, u3}) {
		t.Errorf("hidden_user_ids %v, want [%d %d %d]", g.HiddenUserIDs, u1, u2, u3)
	}
	rec := g.Recommendation
	if rec.KeepServerID != a || !slices.Equal(rec.RemoveServerIDs, []int64{b}) || !slices.Equal(rec.MoveUserIDs, []int64{u3}) || rec.TargetServerID != other {
		t.Errorf("recommendation %+v, want keep %d, remove [%d], move [%d] to %d", rec, a, b, u3, other)
	}
	if len(rec.Steps) < 3 || !strings.Contains(rec.Text, "not possible to change the serial number") {
		t.Errorf("recommendation steps %q, want Q99393's resolution", rec.Steps)
	}

	// Resolve: move cat off MACB, decommission it. The group disappears
	// and the routes return to their configured connection.
	startRunner(t, e)
	var job struct {
		ID int64 `json:"id"`
	}
	e.json("POST", "/api/v1/moves", e.Admin, map[string]any{"user_ids": []int64{u3}, "to_server_id": other}, http.StatusAccepted, &job)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var j struct {
			Status string `json:"status"`
		}
		e.json("GET", fmt.Sprintf("/api/v1/jobs/%d", job.ID), e.Admin, nil, http.StatusOK, &j)
		if j.Status == "done" {
			break
		}
		if j.Status == "failed" || j.Status == "cancelled" || time.Now().After(deadline) {
			t.Fatalf("move job status %q, want done", j.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.json("POST", fmt.Sprintf("/api/v1/servers/%d/decommission", b), e.Admin, nil, http.StatusOK, nil)
	e.json("GET", "/api/v1/reports/duplicate-serials", e.Viewer, nil, http.StatusOK, &got)
	if len(got.Groups) != 0 {
		t.Errorf("after decommission: groups %+v, want none", got.Groups)
	}
	var routes struct {
		Routes []invRoute `json:"routes"`
	}
	e.json("GET", "/api/v1/routes", e.Viewer, nil, http.StatusOK, &routes)
	for _, rt := range routes.Routes {
		if rt.Effective != rt.Configured {
			t.Errorf("after decommission: route %+v, want effective = configured", rt)
		}
	}
}

func TestReportX400API(t *testing.T) {
	// Q193380's text, for the caller 10.0.0.2 (0A000002) at EXB.
	const text9301 = `The message transfer gateway that uses the network address 0A000002 and the transport stack
/o=Org/ou=East/cn=Configuration/cn=Servers/cn=EXB/cn=TCP (EXB) could not be found. Check the
configuration of the mail gateway. [BASE IL TCP/IP DRVR 8 218] (10)`
	e := newEnv(t)
	r := rep{t, e}
	site := r.site("East")
	a := r.server("EXA", site, "exchange", "5.5.2232.0", "A1", "10.0.0.1", "10.0.0.2")
	b := r.server("EXB", site, "exchange", "5.5.2448.0", "B1", "10.1.0.1")
	ab := r.create("/api/v1/connectors", map[string]any{"kind": "x400", "name": "TCP to MTA B", "server_id": a, "remote_server_id": b, "stack_addresses": []string{"10.1.0.1"}})
	r.create("/api/v1/connectors", map[string]any{"kind": "x400", "name": "TCP to MTA A", "server_id": b, "remote_server_id": a, "stack_addresses": []string{"10.0.0.1"}})
	st, body := e.do("POST", "/api/v1/events", e.Agent, []map[string]any{
		{"server": "EXB", "source": "MSExchangeMTA", "event_id": 9301, "severity": "warning", "description": text9301},
		{"server": "EXB", "source": "MSExchangeMTA", "event_id": 9301, "severity": "warning", "description": text9301},
	})
	if st != http.StatusAccepted {
		t.Fatalf("POST /api/v1/events: status %d, body %s", st, body)
	}

	var got struct {
		Findings []struct {
			ConnectorID  int64   `json:"connector_id"`
			FailureRatio float64 `json:"failure_ratio"`
			Observed9301 int     `json:"observed_9301"`
			Status       string  `json:"status"`
			Fix          string  `json:"fix"`
		} `json:"findings"`
	}
	e.json("GET", "/api/v1/reports/x400", e.Viewer, nil, http.StatusOK, &got)
	if len(got.Findings) != 2 {
		t.Fatalf("findings %+v, want one per x400 connector", got.Findings)
	}
	f := got.Findings[0]
	if f.ConnectorID != ab || f.FailureRatio != 0.5 || f.Status != "intermittent" || f.Observed9301 != 2 {
		t.Errorf("A->B finding %+v, want connector %d ratio 0.5 intermittent with 2 observed", f, ab)
	}
	if !strings.Contains(f.Fix, "Stack IP Address Override") || !strings.Contains(f.Fix, "10.0.0.1") || !strings.Contains(f.Fix, "5.5.2431.0") {
		t.Errorf("fix %q, want the override to 10.0.0.1 and the SP2 requirement", f.Fix)
	}
	if got.Findings[1].FailureRatio != 0 || got.Findings[1].Status != "ok" {
		t.Errorf("B->A finding %+v, want ok", got.Findings[1])
	}
}

func TestReportDirSyncAPI(t *testing.T) {
	e := newEnv(t)
	r := rep{t, e}
	site := r.site("East")
	dx := r.server("DX1", site, "exchange", "5.5.2448.0", "D1")
	e.json("PUT", fmt.Sprintf("/api/v1/dx-servers/%d", dx), e.Admin, map[string]any{"paused": true}, http.StatusOK, nil)
	r.create("/api/v1/requestors", map[string]any{"network": "NET", "postoffice": "PO1", "dx_server_id": dx})

	var got struct {
		Requestors []struct {
			Network       string   `json:"network"`
			Postoffice    string   `json:"postoffice"`
			RequestorSync int64    `json:"requestor_sync"`
			DXPaused      bool     `json:"dx_paused"`
			DXNote        string   `json:"dx_note"`
			Anomalies     []string `json:"anomalies"`
		} `json:"requestors"`
	}
	e.json("GET", "/api/v1/reports/dirsync", e.Viewer, nil, http.StatusOK, &got)
	if len(got.Requestors) != 1 || !got.Requestors[0].DXPaused {
		t.Fatalf("requestors %+v, want NET/PO1 with a paused DX", got.Requestors)
	}
	// Pausing a 5.5 DX is how T2 is triggered: a note, not an anomaly.
	if n := got.Requestors[0].DXNote; !strings.Contains(n, "triggers T2") {
		t.Errorf("dx_note %q, want the paused DX explained", n)
	}
	if a := got.Requestors[0].Anomalies; len(a) != 1 || !strings.Contains(a[0], "will not receive the full Exchange address list") {
		t.Errorf("anomalies %q, want only R19 (a): a new requestor without Export on Next Cycle", a)
	}
	var ie invError
	e.json("GET", "/api/v1/reports/dirsync?silent_cycles=0", e.Viewer, nil, http.StatusUnprocessableEntity, &ie)
	if ie.Field != "silent_cycles" {
		t.Errorf("silent_cycles=0: field %q, want silent_cycles", ie.Field)
	}
}

func TestReportX400APIPagesAndUnknownCallers(t *testing.T) {
	e := newEnv(t)
	r := rep{t, e}
	site := r.site("East")
	a := r.server("EXA", site, "exchange", "5.5 SP3", "A1", "10.0.0.1", "10.0.0.2")
	b := r.server("EXB", site, "exchange", "5.5 SP3", "B1", "10.1.0.1")
	ab := r.create("/api/v1/connectors", map[string]any{"kind": "x400", "name": "TCP to MTA B", "server_id": a, "remote_server_id": b, "stack_addresses": []string{"10.1.0.1"}})
	ba := r.create("/api/v1/connectors", map[string]any{"kind": "x400", "name": "TCP to MTA A", "server_id": b, "remote_server_id": a, "stack_addresses": []string{"10.0.0.1"}})
	// Q193380's text at EXB for a caller that is no server: 192.168.7.7.
	st, body := e.do("POST", "/api/v1/events", e.Agent, []map[string]any{{"server": "EXB", "source": "MSExchangeMTA", "event_id": 9301, "severity": "warning",
		"description": "The message transfer gateway that uses the network address C0A80707 and the transport stack /o=Org/ou=East/cn=Configuration/cn=Servers/cn=EXB/cn=TCP (EXB) could not be found. Check the configuration of the mail gateway. [BASE IL TCP/IP DRVR 8 218] (10)"}})
	if st != http.StatusAccepted {
		t.Fatalf("POST /api/v1/events: %d %s", st, body)
	}
	type page struct {
		Findings []struct {
			ConnectorID  int64 `json:"connector_id"`
			Observed9301 int   `json:"observed_9301"`
		} `json:"findings"`
		UnknownCallers []struct {
			ServerID int64  `json:"server_id"`
			Address  string `json:"address"`
			Count    int    `json:"count"`
		} `json:"unknown_callers"`
		NextAfterID int64 `json:"next_after_id"`
	}
	var p1, p2 page
	e.json("GET", "/api/v1/reports/x400?limit=1", e.Viewer, nil, http.StatusOK, &p1)
	if len(p1.Findings) != 1 || p1.Findings[0].ConnectorID != ab || p1.NextAfterID != ab {
		t.Fatalf("first page %+v, want connector %d and next_after_id %d", p1, ab, ab)
	}
	if p1.Findings[0].Observed9301 != 0 {
		t.Errorf("A->B observed %d, want 0: the caller is no server", p1.Findings[0].Observed9301)
	}
	if len(p1.UnknownCallers) != 1 || p1.UnknownCallers[0].Address != "192.168.7.7" || p1.UnknownCallers[0].ServerID != b || p1.UnknownCallers[0].Count != 1 {
		t.Errorf("unknown_callers %+v, want 192.168.7.7 once at server %d", p1.UnknownCallers, b)
	}
	e.json("GET", fmt.Sprintf("/api/v1/reports/x400?limit=1&after_id=%d", p1.NextAfterID), e.Viewer, nil, http.StatusOK, &p2)
	if len(p2.Findings) != 1 || p2.Findings[0].ConnectorID != ba || p2.NextAfterID != 0 {
		t.Errorf("second page %+v, want connector %d and no next", p2, ba)
	}
	var probs page
	e.json("GET", "/api/v1/reports/x400?status=problems", e.Viewer, nil, http.StatusOK, &probs)
	if len(probs.Findings) != 1 || probs.Findings[0].ConnectorID != ab {
		t.Errorf("problems %+v, want only A->B (intermittent)", probs.Findings)
	}
	st, body = e.do("GET", "/api/v1/reports/x400?status=broken", e.Viewer, nil)
	if st != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"field":"status"`) {
		t.Errorf("status=broken: %d %s, want 422 naming status", st, body)
	}
}

func TestReportSerialsAPI(t *testing.T) {
	e := newEnv(t)
	r := rep{t, e}
	site := r.site("East")
	po := r.server("PO-WG", site, "msmail-pc", "3.5", "0799-99992")
	var got struct {
		Findings []struct {
			Rule      string  `json:"rule"`
			Article   string  `json:"article"`
			ServerIDs []int64 `json:"server_ids"`
			Fix       string  `json:"fix"`
		} `json:"findings"`
	}
	e.json("GET", "/api/v1/reports/serials", e.Viewer, nil, http.StatusOK, &got)
	found := false
	for _, f := range got.Findings {
		if f.Rule == "wgpo-serial" && len(f.ServerIDs) == 1 && f.ServerIDs[0] == po && strings.Contains(f.Fix, "Q209486") {
			found = true
		}
	}
	if !found {
		t.Errorf("findings %+v, want the WGPO serial finding (Q142196) for PO-WG with the Q209486 fix", got.Findings)
	}
}
