package web_test

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
)

type routePage struct {
	Routes []struct {
		From int64 `json:"from_server_id"`
		To   int64 `json:"to_server_id"`
	} `json:"routes"`
	NextAfter string `json:"next_after"`
}

// GET /api/v1/routes pages by the (from, to) cursor: each page has at
// most limit routes, next_after names where the next starts, the last
// page names none, and the pages together are every route once, in order.
func TestRoutesPaging(t *testing.T) {
	e := newEnv(t)
	n := seedNetwork(t, e.Store)
	var all routePage
	e.json("GET", "/api/v1/routes?limit=1000", e.Viewer, nil, 200, &all)
	if len(all.Routes) != 4 || all.NextAfter != "" {
		t.Fatalf("limit=1000: %d routes, next_after %q; want the 4 routes and no next_after", len(all.Routes), all.NextAfter)
	}
	var walked []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > 4 {
			t.Fatalf("more than 4 pages of limit 1 for 4 routes")
		}
		var p routePage
		e.json("GET", "/api/v1/routes?limit=1&after="+url.QueryEscape(after), e.Viewer, nil, 200, &p)
		if len(p.Routes) > 1 {
			t.Fatalf("limit=1 gave %d routes", len(p.Routes))
		}
		for _, r := range p.Routes {
			walked = append(walked, fmt.Sprintf("%d:%d", r.From, r.To))
		}
		if p.NextAfter == "" {
			break
		}
		if want := walked[len(walked)-1]; p.NextAfter != want {
			t.Errorf("next_after = %q, want the last route's %q", p.NextAfter, want)
		}
		after = p.NextAfter
	}
	var want []string
	for _, r := range all.Routes {
		want = append(want, fmt.Sprintf("%d:%d", r.From, r.To))
	}
	if !slices.Equal(walked, want) {
		t.Errorf("pages of 1: %v, want %v", walked, want)
	}

	// The default page is 100: the 4 routes, with no next.
	var def routePage
	e.json("GET", "/api/v1/routes", e.Viewer, nil, 200, &def)
	if len(def.Routes) != 4 || def.NextAfter != "" {
		t.Errorf("default page: %d routes, next_after %q", len(def.Routes), def.NextAfter)
	}
	// A server's routes page the same way.
	var one routePage
	e.json("GET", fmt.Sprintf("/api/v1/routes?server_id=%d&limit=1", n.Exch1.ID), e.Viewer, nil, 200, &one)
	if len(one.Routes) != 1 || one.NextAfter == "" {
		t.Errorf("server_id=EXCH-RED&limit=1: %d routes, next_after %q; want 1 and a next", len(one.Routes), one.NextAfter)
	}

	for _, q := range []string{"limit=0", "limit=1001", "limit=x"} {
		e.refused(t, "GET", "/api/v1/routes?"+q, e.Viewer, nil, 422, "limit")
	}
	for _, q := range []string{"after=5", "after=a:b", "after=-1:3", "after=1:2:3"} {
		e.refused(t, "GET", "/api/v1/routes?"+q, e.Viewer, nil, 422, "after")
	}
}

// Every id-ordered list of the API pages alike: limit bounds are a 422
// naming limit, next_after_id is the last id of a full page with more to
// come, and the last page has none.
func TestListPaging(t *testing.T) {
	e := newEnv(t)
	seedNetwork(t, e.Store)
	lists := []struct {
		path, name string
		total      int
	}{
		{"/api/v1/servers", "servers", 5},
		{"/api/v1/sites", "sites", 2},
		{"/api/v1/users", "users", 3},
		{"/api/v1/connectors", "connectors", 3},
	}
	for _, l := range lists {
		t.Run(l.name, func(t *testing.T) {
			var ids []int64
			after := int64(0)
			for pages := 0; ; pages++ {
				if pages > l.total {
					t.Fatalf("more pages than items")
				}
				var p map[string]any
				e.json("GET", fmt.Sprintf("%s?limit=2&after_id=%d", l.path, after), e.Viewer, nil, 200, &p)
				items, _ := p[l.name].([]any)
				if len(items) > 2 {
					t.Fatalf("limit=2 gave %d", len(items))
				}
				for _, it := range items {
					ids = append(ids, int64(it.(map[string]any)["id"].(float64)))
				}
				next, more := p["next_after_id"].(float64)
				if !more {
					break
				}
				if int64(next) != ids[len(ids)-1] {
					t.Errorf("next_after_id %v, want the last id %d", next, ids[len(ids)-1])
				}
				after = int64(next)
			}
			if len(ids) != l.total || !slices.IsSorted(ids) {
				t.Errorf("walked ids %v, want %d ascending", ids, l.total)
			}
			// A page that ends exactly at the last item names no next.
			var last map[string]any
			e.json("GET", fmt.Sprintf("%s?limit=%d", l.path, l.total), e.Viewer, nil, 200, &last)
			if _, more := last["next_after_id"]; more {
				t.Errorf("limit=%d (all of them): next_after_id %v, want none", l.total, last["next_after_id"])
			}
			for _, q := range []string{"limit=0", "limit=1001", "limit=-5"} {
				e.refused(t, "GET", l.path+"?"+q, e.Viewer, nil, 422, "limit")
			}
		})
	}
}
