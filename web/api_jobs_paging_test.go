package web_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"mailnet/internal/store"
)

type jobsPage struct {
	Jobs []struct {
		ID int64 `json:"id"`
	} `json:"jobs"`
	NextBeforeID *int64 `json:"next_before_id"`
}

// GET /api/v1/jobs pages newest first by before_id, as DESIGN.md's paging
// convention says: each page has at most limit jobs, next_before_id is the
// last id of a page with more to come, the last page has none, and the
// pages together are every job once; a limit outside 1-1000 or a bad
// before_id is a 422 naming it.
func TestJobsPaging(t *testing.T) {
	e := newEnv(t)
	s := seedNetwork(t, e.Store)
	ctx := context.Background()
	var want []int64
	err := e.Store.Write(ctx, func(tx *store.Tx) error {
		for range 5 {
			id, err := tx.InsertJob(ctx, "move", s.Exch1.ID, "test")
			if err != nil {
				return err
			}
			want = append([]int64{id}, want...) // newest first
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var all jobsPage
	e.json("GET", "/api/v1/jobs", e.Viewer, nil, 200, &all)
	if len(all.Jobs) != 5 || all.NextBeforeID != nil {
		t.Fatalf("default page: %d jobs, next_before_id %v; want the 5 jobs and none", len(all.Jobs), all.NextBeforeID)
	}

	var walked []int64
	before := int64(0)
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatalf("more than 3 pages of limit 2 for 5 jobs")
		}
		path := "/api/v1/jobs?limit=2"
		if before != 0 {
			path += fmt.Sprintf("&before_id=%d", before)
		}
		var p jobsPage
		e.json("GET", path, e.Viewer, nil, 200, &p)
		if len(p.Jobs) > 2 {
			t.Fatalf("limit=2 gave %d jobs", len(p.Jobs))
		}
		for _, j := range p.Jobs {
			walked = append(walked, j.ID)
		}
		if p.NextBeforeID == nil {
			break
		}
		if last := walked[len(walked)-1]; *p.NextBeforeID != last {
			t.Errorf("next_before_id = %d, want the page's last id %d", *p.NextBeforeID, last)
		}
		before = *p.NextBeforeID
	}
	if !slices.Equal(walked, want) {
		t.Errorf("pages of 2: %v, want %v (newest first, each once)", walked, want)
	}

	for _, q := range []string{"limit=0", "limit=1001", "limit=x"} {
		e.refused(t, "GET", "/api/v1/jobs?"+q, e.Viewer, nil, 422, "limit")
	}
	for _, q := range []string{"before_id=0", "before_id=-1", "before_id=x"} {
		e.refused(t, "GET", "/api/v1/jobs?"+q, e.Viewer, nil, 422, "before_id")
	}
}
