package web_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// addServers registers n more Exchange servers (BULK-000, BULK-001, ...)
// at site, with distinct serials.
func addServers(t *testing.T, st *store.Store, site int64, n int) {
	t.Helper()
	ctx := mailnet.WithPrincipal(context.Background(), &mailnet.Principal{Name: "test", Role: mailnet.RoleAdmin})
	err := st.Write(ctx, func(tx *store.Tx) error {
		for i := range n {
			sv := mailnet.Server{Name: fmt.Sprintf("BULK-%03d", i), SiteID: site, Kind: mailnet.ServerKindExchange,
				Version: "5.5.2448.1", Serial: fmt.Sprintf("BK-%04d", i), Addresses: []string{fmt.Sprintf("10.9.%d.%d", i/200, i%200+1)},
				Status: mailnet.StatusRunning}
			if err := tx.InsertServer(ctx, &sv); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("add servers: %v", err)
	}
}

// The Global Server Report shows one page of the sorted, filtered rows,
// with links to the others that keep the filter and the sort.
func TestServerReportPages(t *testing.T) {
	e := newEnv(t)
	n := seedNetwork(t, e.Store)
	addServers(t, e.Store, n.Redmond.ID, 25) // 30 servers in all

	body := e.page("/servers?per_page=10", http.StatusOK)
	names, _ := reportNames(body)
	if len(names) != 10 {
		t.Fatalf("page 1 of per_page=10: %d rows, want 10", len(names))
	}
	mustContain(t, "page 1", body, "Showing 1–10 of 30", "Page 1 of 3", `href="/servers?dir=asc&amp;page=2&amp;per_page=10&amp;sort=name"`)
	if strings.Contains(body, `href="/servers?dir=asc&amp;page=0`) {
		t.Errorf("page 1 links to a page 0")
	}

	last := e.page("/servers?per_page=10&page=3", http.StatusOK)
	lastNames, _ := reportNames(last)
	mustContain(t, "page 3", last, "Showing 21–30 of 30", "Page 3 of 3")
	if len(lastNames) != 10 || lastNames[0] == names[0] {
		t.Errorf("page 3: %d rows starting %v", len(lastNames), lastNames[:1])
	}
	// Past the end shows the last page.
	past, _ := reportNames(e.page("/servers?per_page=10&page=40", http.StatusOK))
	if strings.Join(past, ",") != strings.Join(lastNames, ",") {
		t.Errorf("page 40 of 3: got %v, want the last page %v", past, lastNames)
	}
	// The filter applies before paging; the summary counts what it keeps.
	f := e.page("/servers?per_page=10&kind=msmail-mac", http.StatusOK)
	mustContain(t, "filtered", f, "Showing 1–2 of 2", "matching (of 30 servers)")
	if strings.Contains(f, `class="pager"`) {
		t.Errorf("a one-page list shows a pager")
	}
	// The default page is 100 rows: all 30 here.
	all, _ := reportNames(e.page("/servers", http.StatusOK))
	if len(all) != 30 {
		t.Errorf("default page: %d rows, want 30", len(all))
	}
	// The export follows the filter, not the page.
	mustContain(t, "export", f, `/api/v1/reports/servers?format=csv&amp;dir=asc&amp;kind=msmail-mac&amp;sort=name`)

	for q, field := range map[string]string{"page=0": "page", "page=x": "page", "per_page=5": "per_page", "per_page=501": "per_page"} {
		st, _, b := e.get("/servers?"+q, e.Viewer)
		if st != http.StatusUnprocessableEntity || !strings.Contains(string(b), field) {
			t.Errorf("/servers?%s: status %d, want 422 naming %s; body %.200s", q, st, field, b)
		}
	}
}

// The server page puts its problems first: a connector with a KB197378
// problem links to its finding on the X.400 page, the dir-sync server is
// marked, and routes and users fold and page.
func TestServerPageAnswersFirst(t *testing.T) {
	e := newEnv(t)
	n := seedNetwork(t, e.Store)
	ctx := mailnet.WithPrincipal(context.Background(), &mailnet.Principal{Name: "test", Role: mailnet.RoleAdmin})
	if err := e.Store.Write(ctx, func(tx *store.Tx) error { _, err := tx.EnsureDXServer(ctx, n.Exch2.ID); return err }); err != nil {
		t.Fatal(err)
	}
	conns, err := e.Store.Connectors(ctx, n.Exch1.ID)
	if err != nil {
		t.Fatal(err)
	}
	var mtaB int64
	for _, c := range conns {
		if c.Name == "TCP to MTA B" {
			mtaB = c.ID
		}
	}
	body := e.page("/servers/"+itoa(n.Exch1.ID), http.StatusOK)
	link := fmt.Sprintf(`href="/x400?server_id=%d#c-%d"`, n.Exch1.ID, mtaB)
	mustContain(t, "EXCH-RED", body, link, `id="x400-problems"`, "KB197378 problem", `<details class="section" id="routes"`,
		`<details class="section" id="users" open`, "Exchange Server")
	if strings.Index(body, `id="x400-problems"`) > strings.Index(body, `id="connectors"`) {
		t.Errorf("the X.400 problem shows after the connectors, not first")
	}
	if strings.Contains(body, "dir-sync server</a>") {
		t.Errorf("EXCH-RED is marked as the dir-sync server")
	}
	dx := e.page("/servers/"+itoa(n.Exch2.ID), http.StatusOK)
	mustContain(t, "EXCH-PAR", dx, `class="badge dx"`, "dir-sync server")

	// 130 users on EXCH-PAR: pages of 100.
	err = e.Store.Write(ctx, func(tx *store.Tx) error {
		for i := range 130 {
			u := mailnet.User{Alias: fmt.Sprintf("u%03d", i), DisplayName: fmt.Sprintf("User %03d", i), ServerID: n.Exch2.ID, InAllListing: true}
			if err := tx.InsertUser(ctx, &u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p1 := e.page("/servers/"+itoa(n.Exch2.ID), http.StatusOK)
	mustContain(t, "users page 1", p1, "Showing 1–100 of 130 users", "u099", fmt.Sprintf(`href="/servers/%d?upage=2#users"`, n.Exch2.ID))
	if strings.Contains(p1, "u100") {
		t.Errorf("page 1 lists u100")
	}
	p2 := e.page("/servers/"+itoa(n.Exch2.ID)+"?upage=2", http.StatusOK)
	mustContain(t, "users page 2", p2, "Showing 101–130 of 130 users", "u100", "u129", `<details class="section" id="users" open`)
	q := e.page("/servers/"+itoa(n.Exch2.ID)+"?q=u12", http.StatusOK)
	mustContain(t, "search", q, `Showing 1–10 of 10`, `matching "u12"`)
}

// The routing page: the answer first, the table paged, a clicked server's
// routes highlighted on the map, a large network drawn by site with a
// drill-down into one site's servers, and the hover in a static script.
func TestRoutingPagesAndDrillDown(t *testing.T) {
	e := newEnv(t)
	n := seedNetwork(t, e.Store)
	body := e.page("/routing", http.StatusOK)
	mustContain(t, "/routing", body, "of 4 routing entries</strong> are effectively", `id="netmap"`, `class="node" data-id=`,
		`/static/routing.`, "showing 1–4 of 4")
	if strings.Contains(body, "<script>") {
		t.Errorf("/routing has an inline script")
	}
	sel := e.page(fmt.Sprintf("/routing?server=%d", n.Exch1.ID), http.StatusOK)
	mustContain(t, "selected", sel, `class="focus"`, "srv sel", " hl\"")

	// 150 more servers: the map draws sites; a site links to its servers.
	addServers(t, e.Store, n.Redmond.ID, 150)
	ctx := mailnet.WithPrincipal(context.Background(), &mailnet.Principal{Name: "test", Role: mailnet.RoleAdmin})
	err := e.Store.Write(ctx, func(tx *store.Tx) error {
		for _, to := range []int64{n.MacA.ID, n.Exch2.ID} {
			rt := mailnet.Route{FromServerID: n.PC1.ID, ToServerID: to, Configured: mailnet.RouteDirect}
			if err := tx.UpsertRoute(ctx, rt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	big := e.page("/routing", http.StatusOK)
	drill := fmt.Sprintf(`href="/routing?site=%d#map"`, n.Paris.ID)
	mustContain(t, "sites map", big, drill, "Click a site to see its servers")
	if strings.Contains(big, `class="node"`) {
		t.Errorf("a 155-server map draws servers one by one")
	}
	paris := e.page(fmt.Sprintf("/routing?site=%d", n.Paris.ID), http.StatusOK)
	mustContain(t, "drill-down", paris, "Map: site Paris", `class="node" data-id="`+itoa(n.PC1.ID)+`"`,
		`class="node" data-id="`+itoa(n.MacA.ID)+`"`) // MAC-REDMOND: a neighbour at another site
	if strings.Contains(paris, ">BULK-000<") {
		t.Errorf("the Paris drill-down draws a Redmond server with no route to Paris")
	}
	if got, _, _ := e.get("/routing?site=999", e.Viewer); got != http.StatusUnprocessableEntity {
		t.Errorf("/routing?site=999: status %d, want 422", got)
	}

	// 150 routes from PCPO-ZULU (155 in all): the table pages by 100.
	err = e.Store.Write(ctx, func(tx *store.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM servers WHERE name LIKE 'BULK-%'`)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		for _, id := range ids {
			if err := tx.UpsertRoute(ctx, mailnet.Route{FromServerID: n.PC1.ID, ToServerID: id, Configured: mailnet.RouteDirect}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p1 := e.page("/routing", http.StatusOK)
	mustContain(t, "table page 1", p1, "showing 1–100 of 155", "Page 1 of 2", `href="/routing?page=2#table"`)
	p2 := e.page("/routing?page=2", http.StatusOK)
	mustContain(t, "table page 2", p2, "showing 101–155 of 155", "Page 2 of 2")
}

// The sign-in page shows no navigation (there is nowhere to go before
// signing in); a signed-in page does. The stylesheet follows the
// system's dark preference.
func TestLoginWithoutNavigationAndDarkTheme(t *testing.T) {
	e := newEnv(t)
	st, _, login := e.get("/login", "")
	if st != http.StatusOK {
		t.Fatalf("/login: status %d", st)
	}
	if strings.Contains(string(login), `class="site-nav"`) {
		t.Errorf("/login shows the navigation")
	}
	mustContain(t, "/login", string(login), `id="login"`)
	page := e.page("/servers", http.StatusOK)
	mustContain(t, "/servers", page, `class="site-nav"`)
	css := regexp.MustCompile(`/static/app\.[^"]+\.css`).FindString(page)
	_, _, body := e.get(css, "")
	mustContain(t, "app.css", string(body), "@media (prefers-color-scheme: dark)", "color-scheme: light dark")
}

// The export links follow a live filter: the fragment an htmx filter
// request receives carries them, with the filter.
func TestServerExportsFollowLiveFilter(t *testing.T) {
	e := newEnv(t)
	seedNetwork(t, e.Store)
	frag := e.page("/servers?kind=exchange&q=exch", http.StatusOK, "HX-Request", "true")
	if strings.Contains(frag, "<!doctype html>") {
		t.Fatalf("an htmx request got the whole page")
	}
	mustContain(t, "fragment", frag, `/api/v1/reports/servers?format=csv&amp;dir=asc&amp;kind=exchange&amp;q=exch&amp;sort=name`,
		"Export 2 rows")
}
