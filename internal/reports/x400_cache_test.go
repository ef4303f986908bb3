package reports

import (
	"context"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailnet/internal/store"
)

// The cache answers as X400Check does, and rebuilds exactly when what the
// check reads changed: the inventory, an X.400 event, or the window
// moving past its oldest event; a stream of other events leaves it be.
func TestX400CacheFollowsInventoryAndEvidence(t *testing.T) {
	ctx := context.Background()
	var clock atomic.Int64
	clock.Store(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "x400cache.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Now = now
	t.Cleanup(func() { st.Close() })
	f := &fx{t: t, st: st, now: now().Format(store.TimeLayout)}
	site := f.site("Site")
	local := f.server("LocalMTA", site, "exchange", "5.5 SP3", "", "10.0.2.1")
	remote := f.server("RemoteMTA", site, "exchange", "5.5 SP3", "", "145.245.193.27")
	toLocal := f.x400("TCP to LocalMTA", remote, local, "")
	f.x400("TCP to RemoteMTA", local, remote, "", "remotemta.org.com")

	c := NewX400Cache(st)
	find := func(res *X400Result, id int64) X400Finding {
		t.Helper()
		for _, x := range res.Findings {
			if x.ConnectorID == id {
				return x
			}
		}
		t.Fatalf("no finding for connector %d", id)
		return X400Finding{}
	}
	check := func(what string) *X400Result {
		t.Helper()
		res, err := c.Check(ctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		fresh, err := X400Check(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		for i := range fresh.Findings {
			if g, w := res.Findings[i], fresh.Findings[i]; !reflect.DeepEqual(g, w) {
				t.Errorf("%s: cached %+v, X400Check %+v", what, g, w)
			}
		}
		if !reflect.DeepEqual(res.UnknownCallers, fresh.UnknownCallers) || !reflect.DeepEqual(res.MTA, fresh.MTA) {
			t.Errorf("%s: cached callers %+v and MTA findings %+v, X400Check %+v %+v", what, res.UnknownCallers, res.MTA, fresh.UnknownCallers, fresh.MTA)
		}
		return res
	}

	r1 := check("first")
	if r2 := check("again"); r2 != r1 {
		t.Error("nothing changed, yet the check was built again")
	}

	// ingest stores an event as the ingest writer does: an
	// event-log-only write, which leaves the inventory version be.
	ingest := func(eventID int, description string) {
		t.Helper()
		err := st.Write(ctx, func(tx *store.Tx) error {
			tx.EventLogOnly()
			_, err := tx.ExecContext(ctx, `INSERT INTO events (time, server, server_id, source, event_id, severity, description, fields)
				VALUES (?, 'LocalMTA', ?, 'MSExchangeMTA', ?, 'warning', ?, '{}')`, now().Format(store.TimeLayout), local, eventID, description)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	inv := st.InventoryVersion()
	ingest(1000, "unrelated")
	if st.InventoryVersion() != inv {
		t.Error("an event-log-only write moved the inventory version")
	}
	if r := check("after an unrelated event"); r != r1 {
		t.Error("an event the check does not read rebuilt it")
	}

	// Q193380's own 9301, logged by LocalMTA for RemoteMTA's address.
	ingest(9301, q193380)
	r3 := check("after a 9301")
	if r3 == r1 || find(r3, toLocal).Observed9301 != 1 {
		t.Errorf("after Q193380's 9301: observed %d (rebuilt %v), want 1", find(r3, toLocal).Observed9301, r3 != r1)
	}

	// A second 9301 from a caller that is no server, and RemoteMTA's
	// startup event with its build (as Q174695 quotes it): the findings built
	// again on new evidence alone are those of a fresh check.
	ingest(9301, gateway9301("C0A80009", "LocalMTA"))
	if r := check("after an unknown caller"); len(r.UnknownCallers) != 1 {
		t.Errorf("unknown callers %+v, want 192.168.0.9", r.UnknownCallers)
	}
	err = st.Write(ctx, func(tx *store.Tx) error {
		tx.EventLogOnly()
		_, err := tx.ExecContext(ctx, `INSERT INTO events (time, server, server_id, source, event_id, severity, description, fields)
			VALUES (?, 'RemoteMTA', ?, 'MSExchangeMTA', 9299, 'info', ?, '{}')`, now().Format(store.TimeLayout), remote,
			"Microsoft Exchange Server MTA Service startup complete, version 5.5 (build 2232.18).")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := check("after a startup event"); find(r, toLocal).MTABuild == find(r1, toLocal).MTABuild {
		t.Errorf("MTA build %q after RemoteMTA's startup event, want the build it names", find(r, toLocal).MTABuild)
	}

	// An inventory change: the override on RemoteMTA's connector.
	f.exec(`UPDATE connectors SET override_address = '145.245.193.27' WHERE id = ?`, toLocal)
	if r := check("after the override"); find(r, toLocal).Override != "145.245.193.27" {
		t.Errorf("override %q after setting it", find(r, toLocal).Override)
	}

	// 25 hours on, the 9301 has left the window.
	clock.Add(int64(25 * time.Hour))
	if r := check("a day later"); find(r, toLocal).Observed9301 != 0 {
		t.Errorf("observed %d a day after the only 9301, want 0", find(r, toLocal).Observed9301)
	}

	// One shared result, paged by many requests at once (run with -race).
	res, _ := c.Check(ctx)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			page, _ := res.Page(X400Query{Limit: 10})
			if len(page) == 0 || page[0].Prediction == "" {
				t.Error("a page of the shared result without its text")
			}
		})
	}
	wg.Wait()
}

func TestEventMarksChangeOnAddAndPrune(t *testing.T) {
	ctx := context.Background()
	f := newFx(t)
	site := f.site("Site")
	local := f.server("LocalMTA", site, "exchange", "5.5 SP3", "")
	before, err := f.st.EventMarks(ctx, 9301, 9202)
	if err != nil {
		t.Fatal(err)
	}
	if before[0] != (store.EventMark{EventID: 9301}) || before[1] != (store.EventMark{EventID: 9202}) {
		t.Fatalf("marks of an empty log %+v", before)
	}
	f.event9301(local, time.Now(), q193380, nil)
	f.event9301(local, time.Now(), q193380Second, nil)
	added, _ := f.st.EventMarks(ctx, 9301, 9202)
	if added[0].Count != 2 || added[0].Max <= added[0].Min || added[1] != before[1] {
		t.Errorf("after two 9301: %+v", added)
	}
	f.exec(`DELETE FROM events WHERE id = ?`, added[0].Max)
	if pruned, _ := f.st.EventMarks(ctx, 9301); pruned[0] == added[0] {
		t.Errorf("mark %+v unchanged after a delete", pruned[0])
	}
}
