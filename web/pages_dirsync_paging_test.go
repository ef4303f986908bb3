package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// The dir-sync page's requestors table pages by 100: 150 requestors show
// as rows 1-100 on page 1, with a link to page 2, and rows 101-150 there.
func TestDirSyncTablePages(t *testing.T) {
	e := newEnv(t)
	n := seedNetwork(t, e.Store)
	ctx := context.Background()
	err := e.Store.Write(ctx, func(tx *store.Tx) error {
		for i := range 150 {
			r := mailnet.Requestor{Network: "NET", Postoffice: fmt.Sprintf("PO%03d", i), DXServerID: n.Exch1.ID}
			if err := tx.InsertRequestor(ctx, &r, 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rows := func(page string) int { return strings.Count(page, `<tr data-address="NET/`) }
	p1 := e.page("/dirsync", 200)
	if got := rows(p1); got != 100 {
		t.Errorf("page 1: %d requestor rows, want 100", got)
	}
	mustContain(t, "page 1", p1, "showing 1–100 of 150 requestors", `href="/dirsync?page=2#requestors"`, "NET/PO000")
	p2 := e.page("/dirsync?page=2", 200)
	if got := rows(p2); got != 50 {
		t.Errorf("page 2: %d requestor rows, want 50", got)
	}
	mustContain(t, "page 2", p2, "showing 101–150 of 150 requestors", "NET/PO149")
	if strings.Contains(p2, "NET/PO000<") {
		t.Errorf("page 2 shows the first requestor")
	}
	if got, _, _ := e.get("/dirsync?page=x", e.Viewer); got != 422 {
		t.Errorf("/dirsync?page=x: status %d, want 422", got)
	}
}
