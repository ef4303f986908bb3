package demo_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"mailnet/internal/demo"
	"mailnet/internal/store"
)

func openStore(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "demo.db"), store.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// seeded returns a freshly seeded database of the test's own.
func seeded(t *testing.T) (*store.Store, demo.Summary) {
	t.Helper()
	st := openStore(t)
	sum, err := demo.Seed(context.Background(), st)
	if err != nil {
		t.Fatalf("Seed: %v", err)
	}
	if !sum.Seeded {
		t.Fatalf("Seed on an empty database did not seed: %s", sum.Skipped)
	}
	return st, sum
}

var shared struct {
	once sync.Once
	dir  string
	st   *store.Store
	sum  demo.Summary
	err  error
}

// seededShared returns one seeded database shared by the tests that only
// read it.
func seededShared(t *testing.T) (*store.Store, demo.Summary) {
	t.Helper()
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "demo-test-")
		if shared.err != nil {
			return
		}
		shared.st, shared.err = store.Open(context.Background(), filepath.Join(shared.dir, "demo.db"), store.Options{})
		if shared.err != nil {
			return
		}
		shared.sum, shared.err = demo.Seed(context.Background(), shared.st)
	})
	if shared.err != nil {
		t.Fatalf("seed: %v", shared.err)
	}
	return shared.st, shared.sum
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.st != nil {
		shared.st.Close()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	if template.dir != "" {
		os.RemoveAll(template.dir)
	}
	os.Exit(code)
}

func count(t *testing.T, db *sql.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func serverID(t *testing.T, db *sql.DB, name string) int64 {
	t.Helper()
	return count(t, db, `SELECT id FROM servers WHERE name = ?`, name)
}

func TestSeedIsSized(t *testing.T) {
	st, sum := seeded(t)
	db := st.DB()
	checks := []struct {
		what     string
		got      int64
		min, max int64
	}{
		{"sites", count(t, db, `SELECT count(*) FROM sites`), 6, 10},
		{"servers", count(t, db, `SELECT count(*) FROM servers`), 24, 99},
		{"users", count(t, db, `SELECT count(*) FROM users`), 1000, 9999},
		{"messages", count(t, db, `SELECT count(*) FROM messages`), 10000, 99999},
		{"events", count(t, db, `SELECT count(*) FROM events`), 3, 200},
		{"server kinds", count(t, db, `SELECT count(DISTINCT kind) FROM servers`), 3, 3},
		{"multihomed servers", count(t, db, `SELECT count(*) FROM servers WHERE json_array_length(addresses) > 1`), 2, 99},
		{"distinct folders", count(t, db, `SELECT count(DISTINCT folder) FROM messages`), 3, 3},
		{"direct routes", count(t, db, `SELECT count(*) FROM routes WHERE configured = 'direct'`), 1, 1 << 20},
		{"indirect routes", count(t, db, `SELECT count(*) FROM routes WHERE configured = 'indirect'`), 1, 1 << 20},
	}
	for _, c := range checks {
		if c.got < c.min || c.got > c.max {
			t.Errorf("%s: got %d, want %d..%d", c.what, c.got, c.min, c.max)
		}
	}
	if got := count(t, db, `SELECT count(*) FROM servers`); got != sum.Servers {
		t.Errorf("summary says %d servers, table holds %d", sum.Servers, got)
	}
	if got := count(t, db, `SELECT count(*) FROM users`); got != sum.Users || got != 3000 {
		t.Errorf("users: summary says %d, table holds %d, want 3000", sum.Users, got)
	}
	if got := count(t, db, `SELECT count(*) FROM messages`); got != sum.Messages {
		t.Errorf("summary says %d messages, table holds %d", sum.Messages, got)
	}
	// Serials are unique but for the Q99393 pair.
	if got := count(t, db, `SELECT count(*) FROM (SELECT serial FROM servers GROUP BY serial HAVING count(*) > 1)`); got != 1 {
		t.Errorf("shared serials: got %d, want 1", got)
	}
	if got := count(t, db, `SELECT count(*) - count(DISTINCT lower(alias)) FROM users`); got != 0 {
		t.Errorf("aliases repeated (case-insensitive): got %d, want 0", got)
	}
	// Every server with an event points at its newest one.
	if got := count(t, db, `SELECT count(*) FROM servers s WHERE coalesce(s.last_event_id, 0) <> coalesce((SELECT max(id) FROM events WHERE server_id = s.id), 0)`); got != 0 {
		t.Errorf("servers with a wrong last_event_id: got %d, want 0", got)
	}
}

func TestSeedQ99393DuplicateSerialAtDifferentSites(t *testing.T) {
	st, sum := seededShared(t)
	db := st.DB()
	rows, err := db.Query(`SELECT id, name, site_id, kind, version, user_count FROM servers WHERE serial = ? ORDER BY id`, sum.DuplicateSerial)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type srv struct {
		id, site, users     int64
		name, kind, version string
	}
	var got []srv
	for rows.Next() {
		var s srv
		if err := rows.Scan(&s.id, &s.name, &s.site, &s.kind, &s.version, &s.users); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if len(got) != 2 {
		t.Fatalf("servers with serial %s: got %d, want 2", sum.DuplicateSerial, len(got))
	}
	if got[0].site == got[1].site {
		t.Errorf("the duplicate pair is at one site (%d), want different sites", got[0].site)
	}
	for _, s := range got {
		if s.kind != "msmail-mac" || s.version != "3.1" {
			t.Errorf("%s: got %s %s, want msmail-mac 3.1", s.name, s.kind, s.version)
		}
		if s.users < 10 || s.users > 99 {
			t.Errorf("%s: got %d users, want tens", s.name, s.users)
		}
		if n := count(t, db, `SELECT count(*) FROM messages WHERE server_id = ?`, s.id); n == 0 {
			t.Errorf("%s: no messages", s.name)
		}
		if n := count(t, db, `SELECT count(*) FROM routes WHERE to_server_id = ? AND configured = 'direct'`, s.id); n == 0 {
			t.Errorf("%s: no direct route to it", s.name)
		}
		if n := count(t, db, `SELECT count(*) FROM routes WHERE to_server_id = ? AND configured = 'indirect'`, s.id); n == 0 {
			t.Errorf("%s: no indirect route to it", s.name)
		}
		if n := count(t, db, `SELECT count(*) FROM routes WHERE via_server_id = ?`, s.id); n == 0 {
			t.Errorf("%s: no route through it", s.name)
		}
	}
}

func TestSeedKB197378MultihomedWithoutOverride(t *testing.T) {
	st, sum := seededShared(t)
	db := st.DB()
	var version, addrJSON string
	if err := db.QueryRow(`SELECT version, addresses FROM servers WHERE name = ?`, sum.MultihomedServer).Scan(&version, &addrJSON); err != nil {
		t.Fatal(err)
	}
	var addrs []string
	if err := json.Unmarshal([]byte(addrJSON), &addrs); err != nil {
		t.Fatal(err)
	}
	if version != "5.5.2232.18" {
		t.Errorf("version: got %s, want 5.5.2232.18 (SP1)", version)
	}
	if len(addrs) != 2 {
		t.Fatalf("addresses: got %v, want two", addrs)
	}
	local, remote := serverID(t, db, sum.MultihomedServer), serverID(t, db, sum.RemoteServer)
	if a, b := count(t, db, `SELECT site_id FROM servers WHERE id = ?`, local), count(t, db, `SELECT site_id FROM servers WHERE id = ?`, remote); a == b {
		t.Errorf("remote server at the same site %d, want another site", a)
	}
	var kind, name string
	var override sql.NullString
	if err := db.QueryRow(`SELECT kind, name, override_address FROM connectors WHERE server_id = ? AND remote_server_id = ?`, local, remote).Scan(&kind, &name, &override); err != nil {
		t.Fatalf("connector from %s to %s: %v", sum.MultihomedServer, sum.RemoteServer, err)
	}
	if kind != "x400" || name != "TCP to MTA B" || override.Valid {
		t.Errorf("connector: got %s %q override %v, want x400 \"TCP to MTA B\" without override", kind, name, override)
	}
	var stackJSON string
	if err := db.QueryRow(`SELECT stack_addresses FROM connectors WHERE kind = 'x400' AND server_id = ? AND remote_server_id = ?`, remote, local).Scan(&stackJSON); err != nil {
		t.Fatalf("connector back: %v", err)
	}
	var stack []string
	if err := json.Unmarshal([]byte(stackJSON), &stack); err != nil {
		t.Fatal(err)
	}
	if len(stack) != 1 || (stack[0] != addrs[0] && stack[0] != addrs[1]) {
		t.Errorf("remote stack: got %v, want exactly one of %v", stack, addrs)
	}
	// One stack entry per x400 connector, as the article says; and a
	// healthy pair exists: both stacks list the other's only address.
	if got := count(t, db, `SELECT count(*) FROM connectors WHERE kind = 'x400' AND json_array_length(stack_addresses) <> 1`); got != 0 {
		t.Errorf("x400 connectors without exactly one stack entry: got %d, want 0", got)
	}
	healthy := count(t, db, `
		SELECT count(*) FROM connectors a
		JOIN connectors b ON b.server_id = a.remote_server_id AND b.remote_server_id = a.server_id AND b.kind = 'x400'
		JOIN servers sa ON sa.id = a.server_id JOIN servers sb ON sb.id = b.server_id
		WHERE a.kind = 'x400' AND json_array_length(sa.addresses) = 1 AND json_array_length(sb.addresses) = 1
		  AND a.stack_addresses = sb.addresses AND b.stack_addresses = sa.addresses`)
	if healthy == 0 {
		t.Error("no healthy x400 pair")
	}
	if got := count(t, db, `SELECT count(*) FROM events WHERE event_id = 9301 AND server_id = ?`, remote); got == 0 {
		t.Errorf("9301 events on %s: got 0, want some", sum.RemoteServer)
	}
}

var (
	reqTxRE = regexp.MustCompile(`^ReqTx R=(\d+) \(was (\d+)\), S=(\d+), I=(\d+), (\d+) sent\.$`)
	srvTxRE = regexp.MustCompile(`^SrvTx R=(\d+) S=(\d+) \(was (\d+)\), I=(\d+) (\d+) sent$`)
)

func TestSeedDirSync(t *testing.T) {
	st, sum := seededShared(t)
	db := st.DB()
	dx := serverID(t, db, sum.DXServer)
	var admin string
	var copyAdmin, forward, cycle int
	if err := db.QueryRow(`SELECT admin_account, copy_admin, forward_to_admin, cycle_minutes FROM dx_servers WHERE server_id = ?`, dx).Scan(&admin, &copyAdmin, &forward, &cycle); err != nil {
		t.Fatalf("dx_servers row: %v", err)
	}
	if admin == "" || copyAdmin != 1 || forward != 1 || cycle != 60 {
		t.Errorf("DX: got admin %q copy %d forward %d cycle %d, want an account, 1, 1, 60", admin, copyAdmin, forward, cycle)
	}
	if got := count(t, db, `SELECT count(*) FROM requestors r JOIN servers s ON s.id = r.server_id WHERE r.dx_server_id = ? AND s.kind = 'msmail-pc'`, dx); got < 3 {
		t.Errorf("requestors on PC Mail postoffices: got %d, want several", got)
	}
	if got := count(t, db, `SELECT count(*) FROM requestors WHERE export_on_next_cycle = 1`); got != 1 {
		t.Errorf("requestors flagged export on next cycle: got %d, want 1", got)
	}
	rows, err := db.Query(`SELECT network, postoffice, requestor_sync, server_sync, imports, last_reqtx, last_srvtx, last_reqtx_at, last_srvtx_at FROM requestors`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var network, po, reqtx, srvtx, reqAt, srvAt string
		var r, s, i int64
		if err := rows.Scan(&network, &po, &r, &s, &i, &reqtx, &srvtx, &reqAt, &srvAt); err != nil {
			t.Fatal(err)
		}
		m, n := reqTxRE.FindStringSubmatch(reqtx), srvTxRE.FindStringSubmatch(srvtx)
		if m == nil || n == nil {
			t.Errorf("%s/%s: subjects %q / %q do not match the article's formats", network, po, reqtx, srvtx)
			continue
		}
		want := fmt.Sprintf("R=%d S=%d I=%d", r, s, i)
		if got := fmt.Sprintf("R=%s S=%s I=%s", n[1], n[2], n[4]); got != want {
			t.Errorf("%s/%s: SrvTx says %s, row says %s", network, po, got, want)
		}
		if m[1] != n[1] || m[3] != n[3] {
			t.Errorf("%s/%s: ReqTx R=%s S=%s, SrvTx R=%s was S=%s: want the same", network, po, m[1], m[3], n[1], n[3])
		}
		ra, _ := time.Parse(time.RFC3339Nano, reqAt)
		sa, _ := time.Parse(time.RFC3339Nano, srvAt)
		if d := sa.Sub(ra); d != time.Duration(cycle)*time.Minute {
			t.Errorf("%s/%s: SrvTx %s after ReqTx, want one cycle", network, po, d)
		}
	}
	var reqtx, srvtx string
	if err := db.QueryRow(`SELECT last_reqtx, last_srvtx FROM requestors WHERE network = 'CORPNET' AND postoffice = 'PO-SALES'`).Scan(&reqtx, &srvtx); err != nil {
		t.Fatal(err)
	}
	// x = y + z (Q133428) and R <= S after the cycle (Q96060).
	if reqtx != "ReqTx R=12 (was 8), S=12, I=3, 4 sent." || srvtx != "SrvTx R=12 S=29 (was 12), I=3 17 sent" {
		t.Errorf("CORPNET/PO-SALES: got %q / %q, want the consistent example", reqtx, srvtx)
	}
	var poll int
	var logging string
	if err := db.QueryRow(`SELECT poll_minutes, logging FROM connectors WHERE kind = 'msmail' AND server_id = ?`, dx).Scan(&poll, &logging); err != nil {
		t.Fatalf("msmail connector on the DX: %v", err)
	}
	// Set for everyday running: the runbook's preparation C has its two
	// one-click fixes to offer.
	if poll != 5 || logging != `{"MSExchangePCMTA":"medium"}` {
		t.Errorf("msmail connector: got poll %d logging %s, want 5 and MSExchangePCMTA medium", poll, logging)
	}
	for _, id := range []int{4395, 4355} {
		if got := count(t, db, `SELECT count(*) FROM events WHERE event_id = ? AND source = 'MSExchangePCMTA'`, id); got == 0 {
			t.Errorf("events %d: got 0, want some", id)
		}
	}
}

func assertCounters(t *testing.T, st *store.Store) {
	t.Helper()
	servers, users, err := st.BulkCounterMismatches(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if servers != 0 || users != 0 {
		t.Errorf("counters that differ from COUNT(*): got %d servers and %d users, want 0 and 0", servers, users)
	}
	db := st.DB()
	if a, b := count(t, db, `SELECT sum(user_count) FROM servers`), count(t, db, `SELECT count(*) FROM users`); a != b {
		t.Errorf("sum of servers.user_count: got %d, want %d", a, b)
	}
	if a, b := count(t, db, `SELECT sum(message_count) FROM servers`), count(t, db, `SELECT count(*) FROM messages`); a != b {
		t.Errorf("sum of servers.message_count: got %d, want %d", a, b)
	}
	if a, b := count(t, db, `SELECT sum(message_count) FROM users`), count(t, db, `SELECT count(*) FROM messages`); a != b {
		t.Errorf("sum of users.message_count: got %d, want %d", a, b)
	}
}

func TestSeedCounters(t *testing.T) {
	st, _ := seededShared(t)
	assertCounters(t, st)
}

func TestSeedTwiceDoesNothing(t *testing.T) {
	st, first := seeded(t)
	db := st.DB()
	before := count(t, db, `SELECT count(*) FROM messages`) + count(t, db, `SELECT count(*) FROM events`)
	sum, err := demo.Seed(context.Background(), st)
	if err != nil {
		t.Fatalf("second Seed: %v", err)
	}
	if sum.Seeded || sum.Skipped == "" {
		t.Errorf("second Seed: got seeded=%v skipped=%q, want not seeded with a reason", sum.Seeded, sum.Skipped)
	}
	if got := count(t, db, `SELECT count(*) FROM servers`); got != first.Servers {
		t.Errorf("servers after second Seed: got %d, want %d", got, first.Servers)
	}
	if after := count(t, db, `SELECT count(*) FROM messages`) + count(t, db, `SELECT count(*) FROM events`); after != before {
		t.Errorf("messages+events after second Seed: got %d, want %d", after, before)
	}
}

// digest summarizes a generated network without its times.
func digest(t *testing.T, db *sql.DB) string {
	t.Helper()
	h := sha256.New()
	for _, q := range []string{
		`SELECT id || name || site_id || kind || version || serial || addresses || user_count || message_count FROM servers ORDER BY id`,
		`SELECT id || alias || display_name || server_id || message_count FROM users ORDER BY id`,
		`SELECT user_id || server_id || folder || subject || size FROM messages ORDER BY id`,
		`SELECT from_server_id || to_server_id || configured || coalesce(via_server_id, '') FROM routes ORDER BY 1`,
		`SELECT name || server_id || coalesce(remote_server_id, '') || stack_addresses || coalesce(override_address, '') FROM connectors ORDER BY id`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
		rows.Close()
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestGenerateSmall(t *testing.T) {
	opt := demo.Options{Servers: 50, Users: 2000, Messages: 10000, Seed: 7}
	gen := func() *store.Store {
		st := openStore(t)
		var calls int
		var last, total int64
		if err := demo.Generate(context.Background(), st, opt, func(done, tot int64) {
			calls++
			if done < last {
				t.Errorf("progress went back from %d to %d", last, done)
			}
			last, total = done, tot
		}); err != nil {
			t.Fatalf("Generate: %v", err)
		}
		if calls < 2 || last != total {
			t.Errorf("progress: got %d calls ending at %d of %d, want several ending at the total", calls, last, total)
		}
		return st
	}
	st := gen()
	db := st.DB()
	for _, c := range []struct {
		table string
		want  int64
	}{{"servers", 50}, {"users", 2000}, {"messages", 10000}} {
		if got := count(t, db, `SELECT count(*) FROM `+c.table); got != c.want {
			t.Errorf("%s: got %d, want %d", c.table, got, c.want)
		}
	}
	assertCounters(t, st)
	groups := count(t, db, `SELECT count(*) FROM (SELECT serial FROM servers GROUP BY serial HAVING count(*) > 1 AND count(DISTINCT site_id) > 1)`)
	if groups != demo.DuplicatePairs {
		t.Errorf("duplicate-serial groups at different sites: got %d, want %d", groups, demo.DuplicatePairs)
	}
	if got := count(t, db, `SELECT count(*) - count(DISTINCT lower(alias)) FROM users`); got != 0 {
		t.Errorf("aliases repeated: got %d, want 0", got)
	}
	if got := count(t, db, `SELECT count(*) FROM connectors WHERE kind = 'x400'`); got == 0 {
		t.Error("no x400 connectors")
	}
	if got, n := count(t, db, `SELECT count(*) FROM routes`), int64(50); got == 0 || got > 10*n {
		t.Errorf("routes: got %d, want a few per server", got)
	}
	if a, b := digest(t, db), digest(t, gen().DB()); a != b {
		t.Errorf("two runs with seed %d differ: %s vs %s", opt.Seed, a, b)
	}
}

func TestGenerateRefusesNonEmpty(t *testing.T) {
	st, _ := seeded(t)
	err := demo.Generate(context.Background(), st, demo.Options{Servers: 5, Users: 10, Messages: 10}, nil)
	if !errors.Is(err, store.ErrNotEmpty) {
		t.Errorf("Generate on a seeded database: got %v, want ErrNotEmpty", err)
	}
}

func TestGenerateRejectsBadOptions(t *testing.T) {
	for _, opt := range []demo.Options{
		{Servers: 0, Users: 1, Messages: 1},
		{Servers: 1, Users: -1},
		{Servers: 1, Users: 0, Messages: 5},
		{Servers: demo.MaxServers + 1},
	} {
		if err := demo.Generate(context.Background(), openStore(t), opt, nil); err == nil {
			t.Errorf("Generate(%+v): got nil error, want one", opt)
		}
	}
}
