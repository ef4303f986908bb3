package reports

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
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
		for _, x := range res.Findings() {
			if x.ConnectorID == id {
				return x
			}
		}
		t.Fatalf("no finding for connector %d", id)
		return X400Finding{}
	}
	check := func(what string) *X400Result {
		t.Helper()
		return checkSameAsFresh(t, c, st, what)
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

// checkSameAsFresh is c.Check, which must answer as X400Check reading
// everything afresh: the same findings with their text, callers and MTA
// findings.
func checkSameAsFresh(t *testing.T, c *X400Cache, st *store.Store, what string) *X400Result {
	t.Helper()
	ctx := context.Background()
	res, err := c.Check(ctx)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	fresh, err := X400Check(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if res.Len() != fresh.Len() {
		t.Fatalf("%s: cached %d findings, X400Check %d", what, res.Len(), fresh.Len())
	}
	cp, _ := res.Page(X400Query{Limit: 1000})
	fp, _ := fresh.Page(X400Query{Limit: 1000})
	for i := range fresh.Len() {
		if g, w := res.At(i), fresh.At(i); !reflect.DeepEqual(g, w) {
			t.Errorf("%s: cached %+v, X400Check %+v", what, g, w)
		}
	}
	if !reflect.DeepEqual(cp, fp) {
		t.Errorf("%s: cached page with text %+v, X400Check %+v", what, cp, fp)
	}
	if !reflect.DeepEqual(res.UnknownCallers, fresh.UnknownCallers) || !reflect.DeepEqual(res.MTA, fresh.MTA) {
		t.Errorf("%s: cached callers %+v and MTA findings %+v, X400Check %+v %+v", what, res.UnknownCallers, res.MTA, fresh.UnknownCallers, fresh.MTA)
	}
	return res
}

// After each of many random inventory changes, of every kind the check
// reads, the cache (which patches in the rows changed and builds again
// only the findings they touch) answers exactly as a fresh X400Check.
func TestX400CachePatchesEveryKindOfChange(t *testing.T) {
	f := newFx(t)
	st := f.st
	rnd := rand.New(rand.NewPCG(1, 2))
	sites := []int64{f.site("Site A"), f.site("Site B")}
	versions := []string{"5.5 SP1", "5.5 SP2", "5.5 SP3", "5.5.2232.18", "5.5 (build 2448.1)", "5.5.2650.24", "4.0", ""}
	addrPool := []string{"10.0.2.1", "10.0.2.2", "145.245.193.27", "192.168.0.9", "172.16.1.1", "10.1.1.1",
		"10.0.3.1", "10.0.3.2", "10.0.3.3", "10.0.3.4", "10.0.3.5", "10.0.3.6"}
	pick := func(list []string) string { return list[rnd.IntN(len(list))] }
	pickID := func(list []int64) int64 { return list[rnd.IntN(len(list))] }
	addrs := func() []string { // none to three, now and then one twice
		out := []string{}
		for range rnd.IntN(4) {
			out = append(out, pick(addrPool))
		}
		return out
	}
	var servers []int64
	names := []string{"LocalMTA", "RemoteMTA", "MAIL", "MAIL-2", "HUB", "EDGE"}
	for i, n := range names {
		servers = append(servers, f.server(n, sites[i%2], "exchange", pick(versions), fmt.Sprint("S", i), addrs()...))
	}
	exchange := slices.Clone(servers) // those that connectors join
	servers = append(servers, f.server("MACMAIL", sites[0], "msmail-mac", "3.1", "M1"))
	stack := func(remote int64) []string {
		out := []string{}
		for range rnd.IntN(3) {
			switch rnd.IntN(3) {
			case 0:
				out = append(out, pick(addrPool[:4])) // often shared: R7
			case 1:
				out = append(out, names[rnd.IntN(len(names))])
			default:
				out = append(out, strings.ToLower(names[rnd.IntN(len(names))])+".org.com")
			}
		}
		return out
	}
	var conns []int64
	added := 0
	addConn := func() {
		a, b := pickID(exchange), pickID(exchange)
		added++
		conns = append(conns, f.x400(fmt.Sprintf("TCP %d", added), a, b, "", stack(b)...))
	}
	for range 10 {
		addConn()
	}
	c := NewX400Cache(st)
	checkSameAsFresh(t, c, st, "first")
	changes := []struct {
		name string
		do   func()
	}{
		{"override", func() {
			var o any
			if rnd.IntN(3) > 0 {
				o = pick(addrPool)
			}
			f.exec(`UPDATE connectors SET override_address = ? WHERE id = ?`, o, conns[rnd.IntN(len(conns))])
		}},
		{"stack", func() {
			f.exec(`UPDATE connectors SET stack_addresses = ? WHERE id = ?`, jsonText(stack(0)), conns[rnd.IntN(len(conns))])
		}},
		{"rename connector", func() {
			f.exec(`UPDATE connectors SET name = name || 'x' WHERE id = ?`, conns[rnd.IntN(len(conns))])
		}},
		{"move connector", func() {
			f.exec(`UPDATE connectors SET server_id = ? WHERE id = ?`, pickID(exchange), conns[rnd.IntN(len(conns))])
		}},
		{"remote server", func() {
			f.exec(`UPDATE connectors SET remote_server_id = ? WHERE id = ?`, servers[rnd.IntN(len(servers))], conns[rnd.IntN(len(conns))])
		}},
		{"no remote server", func() {
			f.exec(`UPDATE connectors SET remote_server_id = NULL WHERE id = ?`, conns[rnd.IntN(len(conns))])
		}},
		{"kind", func() {
			f.exec(`UPDATE connectors SET kind = CASE kind WHEN 'x400' THEN 'msmail' ELSE 'x400' END WHERE id = ?`, conns[rnd.IntN(len(conns))])
		}},
		{"add connector", addConn},
		{"delete connector", func() {
			i := rnd.IntN(len(conns))
			f.exec(`DELETE FROM connectors WHERE id = ?`, conns[i])
			conns = slices.Delete(conns, i, i+1)
			if len(conns) == 0 {
				addConn()
			}
		}},
		{"server addresses", func() {
			f.exec(`UPDATE servers SET addresses = ? WHERE id = ?`, jsonText(addrs()), servers[rnd.IntN(len(servers))])
		}},
		{"server version", func() {
			f.exec(`UPDATE servers SET version = ? WHERE id = ?`, pick(versions), servers[rnd.IntN(len(servers))])
		}},
		{"server name", func() {
			f.exec(`UPDATE servers SET name = name || 'X' WHERE id = ?`, servers[rnd.IntN(len(servers))])
		}},
		{"server status", func() {
			f.exec(`UPDATE servers SET status = ? WHERE id = ?`, pick([]string{"running", "stopped", "decommissioned"}), servers[rnd.IntN(len(servers))])
		}},
		{"server site", func() {
			f.exec(`UPDATE servers SET site_id = ? WHERE id = ?`, sites[rnd.IntN(2)], servers[rnd.IntN(len(servers))])
		}},
		{"add and delete a server", func() {
			id := f.server(fmt.Sprint("NEW", rnd.IntN(1e9)), sites[0], "exchange", pick(versions), "N", addrs()...)
			if rnd.IntN(2) == 0 {
				f.exec(`DELETE FROM servers WHERE id = ?`, id)
			} else {
				exchange = append(exchange, id) // kept: connectors may join it
			}
		}},
		{"cluster", func() {
			id := servers[rnd.IntN(len(servers)-1)]
			if rnd.IntN(2) == 0 {
				f.exec(`DELETE FROM server_clusters WHERE server_id = ?`, id)
				return
			}
			f.exec(`INSERT OR REPLACE INTO server_clusters (server_id, virtual_address, nodes) VALUES (?, ?, ?)`,
				id, pick(addrPool), jsonText([]map[string]string{{"name": "NODE1", "address": pick(addrPool)}}))
		}},
		{"9301", func() {
			caller := pick(addrPool)
			ip, _ := netip.ParseAddr(caller)
			b := ip.As4()
			f.event9301(servers[rnd.IntN(len(servers)-1)], time.Now(), gateway9301(fmt.Sprintf("%02X%02X%02X%02X", b[0], b[1], b[2], b[3]), pick(names)), nil)
		}},
		{"counters", func() {
			f.exec(`UPDATE servers SET user_count = user_count + 1, message_count = message_count + 7 WHERE id = ?`, servers[rnd.IntN(len(servers))])
		}},
	}
	for i := range 300 {
		n := 1 + rnd.IntN(3) // one to three changes between checks
		var what []string
		for range n {
			ch := changes[rnd.IntN(len(changes))]
			ch.do()
			what = append(what, ch.name)
		}
		checkSameAsFresh(t, c, st, fmt.Sprintf("step %d (%s)", i, strings.Join(what, ", ")))
		if t.Failed() {
			return
		}
	}
	// A server without x400 connectors gains two to one address, on an
	// MTA older than 5.5 SP1: R7 (Q200588) names it.
	mta40 := f.server("MTA40", sites[0], "exchange", "4.0", "S40", "10.0.4.1")
	checkSameAsFresh(t, c, st, "a new 4.0 server")
	f.x400("TCP R7 a", mta40, exchange[0], "", "10.0.3.1")
	f.x400("TCP R7 b", mta40, exchange[1], "", "10.0.3.1")
	r7 := false
	for _, x := range checkSameAsFresh(t, c, st, "its two connectors to one address").MTA {
		r7 = r7 || (x.Rule == RuleDuplicateTarget && slices.Equal(x.ServerIDs, []int64{mta40}))
	}
	if !r7 {
		t.Error("no R7 finding for MTA40's two connectors to 10.0.3.1")
	}

	// A write to a column the check does not read keeps the result.
	before, _ := c.Check(context.Background())
	f.exec(`UPDATE servers SET user_count = user_count + 1, updated_at = ? WHERE id = ?`, f.now, servers[0])
	if after, _ := c.Check(context.Background()); after != before {
		t.Error("a change of a server's counters built the check again")
	}
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

// The 9301 memo answers by event id only while the text is the same: an
// id used again (the newest event deleted, then another logged) is read
// again.
func TestMemo9301ReadsAReusedIDAgain(t *testing.T) {
	first := store.ReportEvent{ID: 7, Description: q193380}
	memo := memo9301([]store.ReportEvent{first}, nil)
	again := store.ReportEvent{ID: 7, Description: gateway9301("0A000011", "EXB")}
	ev := X400Evidence{parsed: memo}
	g, err := ev.gateway(again)
	if err != nil || g.Caller() != "10.0.0.17" {
		t.Errorf("reused id 7: caller %q (%v), want 10.0.0.17 from its own text", g.Caller(), err)
	}
	if g, _ := ev.gateway(first); g.Caller() != "145.245.193.27" {
		t.Errorf("id 7 as memoized: caller %q, want 145.245.193.27", g.Caller())
	}
}
