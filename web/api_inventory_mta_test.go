package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// The articles' own 9301 texts (KB-RULES R3, R5).
const (
	// Q169113, as the article wraps it: the address 4E434F5354455354 is
	// the cluster node NCOSTEST; the stack names the receiver servername.
	q169113Event = `The message transfer gateway that uses the network address
  4E434F5354455354 and the transport stack
  /o=Microsoft/ou=sitename/cn=Configuration/cn=Servers
  /cn=servername/cn=TCP (mtaname) could not be found. Check the
  configuration of the mail gateway. [BASE IL TCP/IP DRVR 36 218] (10)`
	// Q256844, with its placeholders filled: %2 is C0A83207 (192.168.50.7,
	// "pulled from the IP RAS pool on the receiving server"), %1 HUB's
	// stack.
	q256844Event = `The message transfer gateway that uses the network address C0A83207 and the
  transport stack /o=Microsoft/ou=sitename/cn=Configuration/cn=Servers/cn=HUB/cn=TCP could not be found. Check the configuration of the mail
  gateway.`
)

type mtaServer struct {
	ID      int64 `json:"id"`
	Name    string
	Cluster *struct {
		VirtualAddress string `json:"virtual_address"`
		Nodes          []struct {
			Name    string `json:"name"`
			Address string `json:"address"`
		} `json:"nodes"`
	} `json:"cluster"`
	RASPool *string `json:"ras_pool"`
}

type mtaFinding struct {
	Rule         string  `json:"rule"`
	Article      string  `json:"article"`
	Severity     string  `json:"severity"`
	ServerIDs    []int64 `json:"server_ids"`
	ConnectorIDs []int64 `json:"connector_ids"`
	Finding      string  `json:"finding"`
	Fix          string  `json:"fix"`
}

// mtaState fingerprints the facts tables and the audit log, for refusals.
func mtaState(t *testing.T, e *env) string {
	t.Helper()
	var out string
	err := e.Store.DB().QueryRow(`SELECT (SELECT count(*) FROM audit) || '|' ||
		(SELECT coalesce(group_concat(server_id || virtual_address || nodes, ','), '') FROM server_clusters) || '|' ||
		(SELECT coalesce(group_concat(server_id || first_address || last_address, ','), '') FROM server_ras_pools) || '|' ||
		(SELECT coalesce(group_concat(connector_id || transport, ','), '') FROM connector_transports) || '|' ||
		(SELECT group_concat(name, ',') FROM servers)`).Scan(&out)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mtaFindings(t *testing.T, e *env) []mtaFinding {
	t.Helper()
	var got struct {
		MTA []mtaFinding `json:"mta_findings"`
	}
	e.json("GET", "/api/v1/reports/x400", e.Viewer, nil, http.StatusOK, &got)
	return got.MTA
}

func findingOf(fs []mtaFinding, rule string) (mtaFinding, bool) {
	i := slices.IndexFunc(fs, func(f mtaFinding) bool { return f.Rule == rule })
	if i < 0 {
		return mtaFinding{}, false
	}
	return fs[i], true
}

// TestMTAClusterAndRASThroughTheAPI: the cluster, the RAS pool and the
// transport are set by merge patch (null clears), refused with the field
// named and nothing changed, audited; fed the articles' own Event 9301,
// the X.400 report's mta_findings name Q169113 and Q256844 with their
// fixes, and the server and connector pages show them.
func TestMTAClusterAndRASThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	r := rep{t, e}
	site := r.site("sitename")
	x := r.server("servername", site, "exchange", "5.5 SP3", "SX", "10.0.0.1")
	c := r.server("EXCLUSTER", site, "exchange", "5.5 SP3", "SC", "10.0.0.50")
	hub := r.server("HUB", site, "exchange", "5.5 SP3", "SH", "10.1.0.1")
	branch := r.server("BRANCH", site, "exchange", "5.5 SP3", "SB", "10.2.0.9")
	mac := r.server("MACSRV", site, "msmail-mac", "3.1", "SM", "10.3.0.1")
	xc := r.create("/api/v1/connectors", map[string]any{"kind": "x400", "name": "TCP to EXCLUSTER", "server_id": x, "remote_server_id": c, "stack_addresses": []string{"10.0.0.50"}})
	r.create("/api/v1/connectors", map[string]any{"kind": "x400", "name": "TCP to servername", "server_id": c, "remote_server_id": x, "stack_addresses": []string{"10.0.0.1"}})
	bh := r.create("/api/v1/connectors", map[string]any{"kind": "x400", "name": "TCP to MTA B", "server_id": branch, "remote_server_id": hub, "stack_addresses": []string{"10.1.0.1"}})
	r.create("/api/v1/connectors", map[string]any{"kind": "x400", "name": "TCP to BRANCH", "server_id": hub, "remote_server_id": branch, "stack_addresses": []string{"10.2.0.9"}})
	mm := r.create("/api/v1/connectors", map[string]any{"kind": "msmail", "name": "MS Mail Connector", "server_id": hub})
	cPath, hubPath, macPath := fmt.Sprintf("/api/v1/servers/%d", c), fmt.Sprintf("/api/v1/servers/%d", hub), fmt.Sprintf("/api/v1/servers/%d", mac)
	bhPath := fmt.Sprintf("/api/v1/connectors/%d", bh)

	// Nothing recorded: no finding of either rule, and the facts are null.
	var sv mtaServer
	e.json("GET", cPath, e.Viewer, nil, 200, &sv)
	if sv.Cluster != nil || sv.RASPool != nil {
		t.Fatalf("new server: cluster %+v, ras_pool %v; want both null", sv.Cluster, sv.RASPool)
	}
	if fs := mtaFindings(t, e); slices.ContainsFunc(fs, func(f mtaFinding) bool {
		return f.Rule == "cluster-node-source-address" || f.Rule == "ras-pool-source-address"
	}) {
		t.Fatalf("findings before any fact: %+v", fs)
	}

	// Set the cluster, then merge: nodes replaced, virtual_address kept.
	e.json("PATCH", cPath, e.Admin, `{"cluster": {"virtual_address": "10.0.0.50", "nodes": [{"name": "NODE2", "address": "10.0.0.52"}]}}`, 200, &sv)
	e.json("PATCH", cPath, e.Admin, `{"cluster": {"nodes": [{"name": "NCOSTEST", "address": "10.0.0.51"}, {"name": "NODE2", "address": "10.0.0.52"}]}}`, 200, &sv)
	if sv.Cluster == nil || sv.Cluster.VirtualAddress != "10.0.0.50" || len(sv.Cluster.Nodes) != 2 || sv.Cluster.Nodes[0].Name != "NCOSTEST" {
		t.Fatalf("cluster after the merge: %+v, want virtual 10.0.0.50 and nodes NCOSTEST, NODE2", sv.Cluster)
	}
	e.json("PATCH", hubPath, e.Admin, `{"ras_pool": "192.168.50.0/24"}`, 200, &sv)
	if sv.RASPool == nil || *sv.RASPool != "192.168.50.0-192.168.50.255" {
		t.Fatalf("ras_pool %v, want 192.168.50.0-192.168.50.255", sv.RASPool)
	}
	var conn struct {
		ID        int64  `json:"id"`
		Transport string `json:"transport"`
	}
	e.json("GET", bhPath, e.Viewer, nil, 200, &conn)
	if conn.Transport != "lan" {
		t.Fatalf("transport of a new x400 connector %q, want lan", conn.Transport)
	}
	e.json("PATCH", bhPath, e.Admin, `{"transport": "rras"}`, 200, &conn)
	if conn.Transport != "rras" {
		t.Fatalf("transport after the patch %q, want rras", conn.Transport)
	}

	// Refusals name the field and change nothing (facts, audit, server).
	for _, tt := range []struct {
		path, body string
		status     int
		field      string
	}{
		{cPath, `{"cluster": {"virtual_address": "cluster-ip"}}`, 422, "cluster.virtual_address"},
		{cPath, `{"cluster": {"nodes": [{"name": "N1", "address": "10.0.0.60"}, {"name": "N2", "address": "10.0.0.60"}]}}`, 422, "cluster.nodes[1].address"},
		{cPath, `{"cluster": {"nodes": [{"name": "", "address": "10.0.0.61"}]}}`, 422, "cluster.nodes[0].name"},
		{cPath, `{"cluster": {"nodes": [{"nmae": "N1", "address": "10.0.0.61"}]}}`, 400, "cluster.nodes[0].nmae"},
		{cPath, `{"cluster": "yes"}`, 400, "cluster"},
		{cPath, `{"name": "RENAMED", "ras_pool": "192.168.50.20-192.168.50.10"}`, 422, "ras_pool"},
		{hubPath, `{"ras_pool": "10.1.0.0/24"}`, 422, "ras_pool"}, // holds HUB's own address
		{macPath, `{"ras_pool": "192.168.60.0/24"}`, 422, "ras_pool"},
		{macPath, `{"cluster": {"virtual_address": "10.3.0.9"}}`, 422, "cluster"},
		{bhPath, `{"transport": "dialup"}`, 422, "transport"},
		{fmt.Sprintf("/api/v1/connectors/%d", mm), `{"transport": "rras"}`, 422, "transport"},
	} {
		before := mtaState(t, e)
		e.refusedWith(t, "PATCH", tt.path, e.Admin, tt.body, tt.status, tt.field)
		if after := mtaState(t, e); after != before {
			t.Errorf("PATCH %s %s was refused but changed:\nbefore %s\nafter  %s", tt.path, tt.body, before, after)
		}
	}
	e.refusedWith(t, "PATCH", cPath, e.Viewer, `{"ras_pool": null}`, 403, "")

	// Every change is audited.
	var n int
	if err := e.Store.DB().QueryRow(`SELECT (SELECT count(*) FROM audit WHERE action = 'server.mta_facts') * 10 + (SELECT count(*) FROM audit WHERE action = 'connector.transport')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 31 {
		t.Errorf("audit rows: %d server.mta_facts, %d connector.transport; want 3 and 1", n/10, n%10)
	}

	// Static findings: the cluster's peer lists only the IP address; the
	// dial-up connector has no override.
	fs := mtaFindings(t, e)
	if f, ok := findingOf(fs, "cluster-node-source-address"); !ok || f.Severity != "warning" || !strings.Contains(f.Finding, "message flow will not occur if you just list the IP address on the Stack tab") {
		t.Errorf("static R3: %+v (found %v)", f, ok)
	}
	if f, ok := findingOf(fs, "ras-pool-source-address"); !ok || f.Severity != "warning" {
		t.Errorf("static R5: %+v (found %v)", f, ok)
	}

	// The articles' events, as the agents ship them.
	st, body := e.do("POST", "/api/v1/events", e.Agent, []map[string]any{
		{"server": "servername", "source": "MSExchangeMTA", "event_id": 9301, "category": "Configuration", "severity": "info", "description": q169113Event},
		{"server": "HUB", "source": "MSExchangeMTA", "event_id": 9301, "category": "Configuration", "severity": "warning", "description": q256844Event},
	})
	if st != http.StatusAccepted {
		t.Fatalf("POST /api/v1/events: %d %s", st, body)
	}
	fs = mtaFindings(t, e)
	r3, ok := findingOf(fs, "cluster-node-source-address")
	if !ok || r3.Severity != "error" || r3.Article != "Q169113" || !slices.Contains(r3.ServerIDs, x) || !slices.Contains(r3.ConnectorIDs, xc) {
		t.Fatalf("R3 after Q169113's event: %+v (found %v)", r3, ok)
	}
	for _, w := range []string{"from its node NCOSTEST instead of its virtual IP 10.0.0.50", "INADDR_ANY", "Remote Host Name", "This will need to be done on both servers"} {
		if !strings.Contains(r3.Finding+" "+r3.Fix, w) {
			t.Errorf("R3 %q / %q lacks %q", r3.Finding, r3.Fix, w)
		}
	}
	r5, ok := findingOf(fs, "ras-pool-source-address")
	if !ok || r5.Severity != "error" || r5.Article != "Q256844" || !slices.Contains(r5.ConnectorIDs, bh) {
		t.Fatalf("R5 after Q256844's event: %+v (found %v)", r5, ok)
	}
	for _, w := range []string{"BRANCH dials HUB over Routing and RAS and presents the pool address 192.168.50.7; HUB's connector expects 10.2.0.9",
		`Stack IP Address Override of connector "TCP to MTA B" to 10.2.0.9`, `Parameters\TCP to MTA B\Stack IP Address Override`, "restart the MTA on BRANCH"} {
		if !strings.Contains(r5.Finding+" "+r5.Fix, w) {
			t.Errorf("R5 %q / %q lacks %q", r5.Finding, r5.Fix, w)
		}
	}
	// Neither caller is taken for a WinSock proxy.
	if _, ok := findingOf(fs, "proxy-source-address"); ok {
		t.Errorf("a cluster node or a pool address was taken for a proxy: %+v", fs)
	}

	// The pages show them where they belong.
	for _, pg := range []struct {
		path  string
		words []string
	}{
		{fmt.Sprintf("/servers/%d", x), []string{"Q169113", "NCOSTEST", "Remote Host Name"}},
		{fmt.Sprintf("/servers/%d", c), []string{"Q169113", "10.0.0.50", "NCOSTEST 10.0.0.51", `action="/servers/` + fmt.Sprint(c) + `/mta"`}},
		{fmt.Sprintf("/servers/%d", hub), []string{"Q256844", "192.168.50.0-192.168.50.255", "presents the pool address 192.168.50.7"}},
		{fmt.Sprintf("/connectors/%d", bh), []string{"Q256844", `<option value="rras" selected`, "TCP to MTA B"}},
		// The X.400 check's page lists the MTA family's findings too.
		{"/x400", []string{`id="mta-findings"`, "Q169113", "Q256844"}},
	} {
		st, html := e.getPage(e.Admin, pg.path)
		if st != 200 {
			t.Fatalf("GET %s: %d", pg.path, st)
		}
		for _, w := range pg.words {
			if !strings.Contains(html, w) && !strings.Contains(html, strings.ReplaceAll(w, `"`, "&#34;")) {
				t.Errorf("GET %s lacks %q", pg.path, w)
			}
		}
	}

	// The fix applied: the override on BRANCH's connector ends R5.
	e.json("PATCH", bhPath, e.Admin, `{"override_address": "10.2.0.9"}`, 200, &conn)
	if conn.Transport != "rras" {
		t.Errorf("transport after an override patch %q, want rras kept", conn.Transport)
	}
	if _, ok := findingOf(mtaFindings(t, e), "ras-pool-source-address"); ok {
		t.Errorf("R5 remains after the override that Q256844 prescribes")
	}
	// null clears: the cluster, the pool and the transport.
	e.json("PATCH", cPath, e.Admin, `{"cluster": null}`, 200, &sv)
	e.json("PATCH", hubPath, e.Admin, `{"ras_pool": null}`, 200, &sv)
	e.json("PATCH", bhPath, e.Admin, `{"transport": null}`, 200, &conn)
	e.json("GET", cPath, e.Viewer, nil, 200, &sv)
	if sv.Cluster != nil {
		t.Errorf("cluster after null: %+v", sv.Cluster)
	}
	e.json("GET", hubPath, e.Viewer, nil, 200, &sv)
	if sv.RASPool != nil || conn.Transport != "lan" {
		t.Errorf("after null: ras_pool %v, transport %q; want null and lan", sv.RASPool, conn.Transport)
	}
	if _, ok := findingOf(mtaFindings(t, e), "cluster-node-source-address"); ok {
		t.Errorf("R3 remains after the cluster was cleared")
	}
}

// TestMTAFactsFromThePages: an admin sets the cluster and RAS pool from
// the server page and the transport from the connector page; a bad
// value is refused naming the field and changes nothing.
func TestMTAFactsFromThePages(t *testing.T) {
	e := newEnv(t)
	r := rep{t, e}
	site := r.site("sitename")
	c := r.server("EXCLUSTER", site, "exchange", "5.5 SP3", "SC", "10.0.0.50")
	x := r.server("servername", site, "exchange", "5.5 SP3", "SX", "10.0.0.1")
	k := r.create("/api/v1/connectors", map[string]any{"kind": "x400", "name": "TCP to servername", "server_id": c, "remote_server_id": x, "stack_addresses": []string{"10.0.0.1"}})

	st, loc := e.formPost(e.Admin, fmt.Sprintf("/servers/%d/mta", c), url.Values{
		"cluster_virtual_address": {"10.0.0.50"}, "cluster_nodes": {"NCOSTEST 10.0.0.51\r\nNODE2 10.0.0.52\r\n"}, "ras_pool": {"192.168.50.1-192.168.50.99"}})
	if st != http.StatusSeeOther || !strings.Contains(loc, "done=mta") {
		t.Fatalf("POST the server form: %d %s", st, loc)
	}
	var sv mtaServer
	e.json("GET", fmt.Sprintf("/api/v1/servers/%d", c), e.Viewer, nil, 200, &sv)
	if sv.Cluster == nil || len(sv.Cluster.Nodes) != 2 || sv.RASPool == nil || *sv.RASPool != "192.168.50.1-192.168.50.99" {
		t.Fatalf("after the form: cluster %+v, pool %v", sv.Cluster, sv.RASPool)
	}
	before := mtaState(t, e)
	st, _ = e.formPost(e.Admin, fmt.Sprintf("/servers/%d/mta", c), url.Values{"cluster_virtual_address": {"10.0.0.50"}, "cluster_nodes": {"NCOSTEST"}})
	if st != 422 || mtaState(t, e) != before {
		t.Errorf("a node line without an address: %d, changed %v; want 422 and no change", st, mtaState(t, e) != before)
	}
	st, _ = e.formPost(e.Viewer, fmt.Sprintf("/servers/%d/mta", c), url.Values{"ras_pool": {""}})
	if st != http.StatusForbidden || mtaState(t, e) != before {
		t.Errorf("a viewer's form: %d; want 403 and no change", st)
	}
	st, loc = e.formPost(e.Admin, fmt.Sprintf("/connectors/%d/transport", k), url.Values{"transport": {"rras"}})
	if st != http.StatusSeeOther || !strings.Contains(loc, "done=transport") {
		t.Fatalf("POST the transport form: %d %s", st, loc)
	}
	var conn struct {
		Transport string `json:"transport"`
	}
	e.json("GET", fmt.Sprintf("/api/v1/connectors/%d", k), e.Viewer, nil, 200, &conn)
	if conn.Transport != "rras" {
		t.Errorf("transport after the form %q, want rras", conn.Transport)
	}
	st, html := e.getPage(e.Admin, fmt.Sprintf("/connectors/%d?done=transport", k))
	if st != 200 || !strings.Contains(html, "over rras") {
		t.Errorf("connector page after saving: %d", st)
	}
	// Empty fields clear both facts.
	if st, _ := e.formPost(e.Admin, fmt.Sprintf("/servers/%d/mta", c), url.Values{"cluster_virtual_address": {""}, "cluster_nodes": {""}, "ras_pool": {""}}); st != http.StatusSeeOther {
		t.Fatalf("clearing form: %d", st)
	}
	e.json("GET", fmt.Sprintf("/api/v1/servers/%d", c), e.Viewer, nil, 200, &sv)
	if sv.Cluster != nil || sv.RASPool != nil {
		t.Errorf("after clearing: cluster %+v, pool %v", sv.Cluster, sv.RASPool)
	}
}
