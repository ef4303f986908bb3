package web_test

import (
	"context"
	"fmt"
	"net/http"
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
			sv := mailnet.Server{Name: fmt.Sprintf("BULK-%03d", i), SiteID: site, Kind: mailnet.KindExchange,
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
