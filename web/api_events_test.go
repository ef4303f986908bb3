package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"mailnet/internal/ingest"
	"mailnet/internal/live"
	"mailnet/internal/store"
	"mailnet/web"
)

// liveEnv is a console with its hub and ingest writer in reach.
type liveEnv struct {
	*env
	Hub    *live.Hub
	Ingest *ingest.Writer
	closed bool
}

type liveOpts struct {
	ingest ingest.Options
	ws     web.WSOptions
}

// newLiveEnv starts the real router on the SQLite file at path (made in
// t.TempDir() when empty) with its own hub and writer.
func newLiveEnv(t *testing.T, path string, o liveOpts) *liveEnv {
	t.Helper()
	base, cfg := startEnv(t, envOptions{path: path, ingest: o.ingest, mutate: func(c *web.Config) { c.WS = o.ws }})
	e := &liveEnv{env: base, Hub: cfg.Hub, Ingest: cfg.Ingest}
	t.Cleanup(e.close)
	return e
}

// close stops the console as serve does: websockets told, ingest drained,
// then the database closed.
func (e *liveEnv) close() {
	if e.closed {
		return
	}
	e.closed = true
	e.Hub.Close()
	e.HTTP.Close()
	e.Ingest.Close()
	e.Store.Close()
}

// exec runs raw SQL in one write transaction (test fixtures).
func (e *liveEnv) exec(query string, args ...any) {
	e.t.Helper()
	err := e.Store.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.ExecContext(context.Background(), query, args...)
		return err
	})
	if err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
}

// seed makes sites HQ (1) and Branch (2), servers EXCH1 (1, HQ) and
// MAC1 (2, Branch), and requestor NET1/PO1 (1) on DX EXCH1.
func (e *liveEnv) seed() {
	now := time.Now().UTC().Format(time.RFC3339)
	e.exec(`INSERT INTO sites (id, name, created_at) VALUES (1, 'HQ', ?), (2, 'Branch', ?)`, now, now)
	e.exec(`INSERT INTO servers (id, name, site_id, kind, serial, created_at, updated_at) VALUES
		(1, 'EXCH1', 1, 'exchange', 'S1', ?, ?), (2, 'MAC1', 2, 'msmail-mac', 'S2', ?, ?)`, now, now, now, now)
	e.exec(`INSERT INTO requestors (id, network, postoffice, dx_server_id, export_on_next_cycle, created_at, updated_at)
		VALUES (1, 'NET1', 'PO1', 1, 1, ?, ?)`, now, now)
	e.Ingest.Invalidate()
}

type evIn = map[string]any

func ev(server string, id int, sev string) evIn {
	return evIn{"server": server, "source": "MSExchangeMTA", "event_id": id, "category": "Received",
		"severity": sev, "description": fmt.Sprintf("event %d on %s", id, server)}
}

type eventsPage struct {
	Events      []live.EventData `json:"events"`
	NextAfterID int64            `json:"next_after_id"`
}

func (e *liveEnv) post(events []evIn) int {
	e.t.Helper()
	var out struct{ Accepted int }
	e.json("POST", "/api/v1/events", e.Agent, events, http.StatusAccepted, &out)
	return out.Accepted
}

func (e *liveEnv) events(query string) eventsPage {
	e.t.Helper()
	var p eventsPage
	e.json("GET", "/api/v1/events?"+query, e.Viewer, nil, http.StatusOK, &p)
	return p
}

func (e *liveEnv) count() int {
	e.t.Helper()
	var n int
	if err := e.Store.DB().QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil {
		e.t.Fatalf("count: %v", err)
	}
	return n
}

func TestIngestStoresEvents(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{})
	e.seed()
	one := ev("exch1", 9301, "warning")
	one["time"] = "2024-05-01T10:00:00+02:00"
	one["fields"] = map[string]string{"remote_address": "10.0.0.5", "connector": "X400-A"}
	if got := e.post([]evIn{one, ev("MAC1", 4395, "info")}); got != 2 {
		t.Fatalf("accepted %d, want 2", got)
	}
	p := e.events("")
	if len(p.Events) != 2 {
		t.Fatalf("got %d events, want 2", len(p.Events))
	}
	got := p.Events[0]
	if got.Server != "EXCH1" || got.EventID != 9301 || got.Severity != "warning" || got.UnknownServer {
		t.Errorf("got %+v, want EXCH1 9301 warning, known server", got)
	}
	if want := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC); !got.Time.Equal(want) || got.Time.Location() != time.UTC {
		t.Errorf("time %v, want %v in UTC", got.Time, want)
	}
	if got.Fields["remote_address"] != "10.0.0.5" {
		t.Errorf("fields %v, want remote_address 10.0.0.5", got.Fields)
	}
	if p.Events[1].Time.IsZero() || time.Since(p.Events[1].Time) > time.Minute {
		t.Errorf("event without time got %v, want the console's clock", p.Events[1].Time)
	}
	if p.NextAfterID != p.Events[1].ID {
		t.Errorf("next_after_id %d, want %d", p.NextAfterID, p.Events[1].ID)
	}
	var last int64
	if err := e.Store.DB().QueryRow(`SELECT last_event_id FROM servers WHERE id = 2`).Scan(&last); err != nil || last != p.Events[1].ID {
		t.Errorf("MAC1 last_event_id %d (%v), want %d", last, err, p.Events[1].ID)
	}
}

func TestIngestRefusesBadBatchWhole(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{})
	good := ev("EXCH1", 1, "info")
	with := func(k string, v any) evIn {
		m := ev("EXCH1", 2, "info")
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"bad severity", []evIn{good, good, good, with("severity", "fatal")}, 422, "[3].severity"},
		{"missing event_id", []evIn{good, with("event_id", nil)}, 422, "[1].event_id"},
		{"missing server", []evIn{with("server", "")}, 422, "[0].server"},
		{"bad time", []evIn{good, with("time", "yesterday")}, 422, "[1].time"},
		{"unknown field", []evIn{good, with("colour", "red")}, 422, "[1].colour"},
		{"wrong type", []evIn{with("event_id", "9301")}, 422, "[0].event_id"},
		{"fields not strings", []evIn{good, with("fields", map[string]int{"to": 1})}, 422, "[1].fields"},
		{"not an array", `{"server":"x"}`, 400, ""},
		{"malformed", `[{"server":`, 400, ""},
		{"too large", "[" + strings.Repeat(" ", web.MaxIngestBody) + "]", 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body struct{ Error, Field string }
			e.json("POST", "/api/v1/events", e.Agent, tt.body, tt.status, &body)
			if !strings.HasPrefix(body.Field, tt.field) {
				t.Errorf("field %q, want %q (error %q)", body.Field, tt.field, body.Error)
			}
			if n := e.count(); n != 0 {
				t.Errorf("%d events stored, want 0", n)
			}
		})
	}
	t.Run("viewer may not ingest", func(t *testing.T) {
		e.json("POST", "/api/v1/events", e.Viewer, []evIn{good}, http.StatusForbidden, nil)
	})
}

func TestIngestIdempotentRetry(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{})
	batch := []evIn{ev("EXCH1", 1, "info"), ev("EXCH1", 2, "info"), ev("EXCH1", 3, "info")}
	for i := range batch {
		batch[i]["idempotency_key"] = fmt.Sprintf("agent-1/%d", i)
	}
	for try := range 3 {
		if got := e.post(batch); got != 3 {
			t.Fatalf("try %d: accepted %d, want 3", try, got)
		}
	}
	if n := e.count(); n != 3 {
		t.Errorf("%d events stored after three tries, want 3", n)
	}
}

func TestIngestUnknownServerStoredAndMarked(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{})
	e.seed()
	e.post([]evIn{ev("GHOST", 1, "error"), ev("NET1/PO1", 2, "info"), ev("NET9/PO9", 3, "info")})
	p := e.events("")
	want := map[string]bool{"GHOST": true, "NET1/PO1": false, "NET9/PO9": true}
	for _, got := range p.Events {
		if got.UnknownServer != want[got.Server] {
			t.Errorf("%s unknown_server %v, want %v", got.Server, got.UnknownServer, want[got.Server])
		}
		if got.ServerID != 0 {
			t.Errorf("%s server_id %d, want none", got.Server, got.ServerID)
		}
	}
	if len(p.Events) != 3 {
		t.Errorf("got %d events, want 3", len(p.Events))
	}
}

func TestIngestQueueFullIs429(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{ingest: ingest.Options{MaxQueued: 2}})
	// The first use of a token records it through the writer connection:
	// get that done before holding the connection.
	e.do("GET", "/api/v1/events", e.Agent, nil)
	// Hold the writer connection so the ingest writer cannot commit.
	holding, release := make(chan struct{}), make(chan struct{})
	go e.Store.Write(context.Background(), func(tx *store.Tx) error {
		close(holding)
		<-release
		return nil
	})
	<-holding
	two := []evIn{ev("EXCH1", 1, "info"), ev("EXCH1", 2, "info")}
	var wg sync.WaitGroup
	status := make([]int, 2)
	post := func(i int) {
		defer wg.Done()
		status[i], _ = e.do("POST", "/api/v1/events", e.Agent, two)
	}
	// waitStats polls the writer's counters until ok holds: a condition,
	// never a fixed wait.
	waitStats := func(what string, ok func(ingest.Stats) bool) {
		for range 1000 {
			if ok(e.Ingest.Stats()) {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("%s: stats %+v", what, e.Ingest.Stats())
	}
	wg.Add(2)
	go post(0) // taken by the writer, which then waits for the connection
	// Taken: its bytes are held and nothing waits in the queue.
	waitStats("the first batch taken by the writer", func(st ingest.Stats) bool { return st.BytesHeld > 0 && st.Queued == 0 })
	go post(1) // waits in the queue
	waitStats("the second batch queued", func(st ingest.Stats) bool { return st.Queued == 2 })
	req, _ := http.NewRequest("POST", e.HTTP.URL+"/api/v1/events", strings.NewReader(`[{"server":"EXCH1","source":"s","event_id":3,"severity":"info"}]`))
	req.Header.Set("Authorization", "Bearer "+e.Agent)
	res, err := e.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Errorf("status %d, Retry-After %q; want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	close(release)
	wg.Wait()
	if status[0] != 202 || status[1] != 202 {
		t.Errorf("queued batches got %v, want 202 both", status)
	}
	if n := e.count(); n != 4 {
		t.Errorf("%d events stored, want 4", n)
	}
}

func TestIngestDirSyncUpdatesRequestor(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{})
	e.seed()
	sync := func(subject string) {
		m := ev("NET1/PO1", 0, "info")
		m["source"], m["subject"] = "MSExchangeDX", subject
		e.post([]evIn{m})
	}
	type state struct {
		R, S, I  int64
		Export   bool
		ReqTx    string
		SrvTx    string
		Anomaly  string
		SrvTxSet bool
	}
	read := func() state {
		var st state
		var reqtx, srvtx, srvAt *string
		if err := e.Store.DB().QueryRow(`SELECT requestor_sync, server_sync, imports, export_on_next_cycle, last_reqtx, last_srvtx, last_srvtx_at, anomalies
			FROM requestors WHERE id = 1`).Scan(&st.R, &st.S, &st.I, &st.Export, &reqtx, &srvtx, &srvAt, &st.Anomaly); err != nil {
			t.Fatalf("requestor: %v", err)
		}
		if reqtx != nil {
			st.ReqTx = *reqtx
		}
		if srvtx != nil {
			st.SrvTx = *srvtx
		}
		st.SrvTxSet = srvAt != nil
		return st
	}
	sync("ReqTx R=5 (was 4), S=7, I=2, 1 sent.")
	got := read()
	if got.R != 5 || got.I != 2 || !got.Export || got.ReqTx == "" {
		t.Errorf("after ReqTx got %+v, want R=5 I=2, export still on, last_reqtx set", got)
	}
	sync("SrvTx R=5 S=8 (was 7), I=2 3 sent")
	got = read()
	if got.S != 8 || got.Export || got.SrvTx == "" || !got.SrvTxSet {
		t.Errorf("after SrvTx got %+v, want S=8, export cleared, last_srvtx and its time set", got)
	}
	sync("SrvTx R=5 S=12 (was 10), I=2 0 sent") // S skips
	var text string
	if err := e.Store.DB().QueryRow(`SELECT text FROM dirsync_findings WHERE requestor_id = 1 AND kind = 'srvtx-was-mismatch'
		AND resolved_at IS NULL`).Scan(&text); err != nil || !strings.Contains(text, "skipped") {
		t.Errorf("open finding %q (%v), want the skipped server sync number", text, err)
	}
	// The next clean cycle resolves it by itself.
	sync("SrvTx R=5 S=13 (was 12), I=2 1 sent")
	var resolution string
	if err := e.Store.DB().QueryRow(`SELECT resolution FROM dirsync_findings WHERE requestor_id = 1 AND kind = 'srvtx-was-mismatch'`).
		Scan(&resolution); err != nil || resolution != "cleared" {
		t.Errorf("finding after a clean SrvTx: resolution %q (%v), want cleared", resolution, err)
	}
}

// The article's T1 and T2 evidence logged on the DX server's side (an
// Exchange server name, not NET/PO) counts for the requestor its FROM/TO
// lines name, and every change is recorded with its event.
func TestIngestDirSyncEvidenceOnTheDXServer(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{})
	e.seed()
	dx := func(id int, category, desc, subject string) {
		m := ev("EXCH1", id, "info")
		m["source"], m["category"], m["description"], m["subject"] = "MSExchangePCMTA", category, desc, subject
		e.post([]evIn{m})
	}
	dx(4355, "Received", "Mail received on \\\\EXCH1\\MAILDAT$\nFROM: NET1/PO1/$SYSTEM\nTO: ORG/SITE/$SYSTEM", "ReqTx R=5 (was 4), S=7, I=2, 1 sent.")
	dx(4395, "Sent", "Mail sent from \\\\EXCH1\\MAILDAT$\nFROM: ORG/SITE/$SYSTEM\nTO: NET1/PO1/$SYSTEM", "SrvTx R=5 S=8 (was 7), I=2 1 sent")
	var r, srv int64
	var export bool
	if err := e.Store.DB().QueryRow(`SELECT requestor_sync, server_sync, export_on_next_cycle FROM requestors WHERE id = 1`).Scan(&r, &srv, &export); err != nil {
		t.Fatal(err)
	}
	if r != 5 || srv != 8 || export {
		t.Fatalf("after the DX-side ReqTx and SrvTx: R=%d S=%d export=%v, want 5, 8, cleared", r, srv, export)
	}
	var kinds string
	if err := e.Store.DB().QueryRow(`SELECT group_concat(kind, ',') FROM (SELECT kind FROM dirsync_evidence WHERE requestor_id = 1 ORDER BY id)`).Scan(&kinds); err != nil || kinds != "received,reqtx,sent,srvtx" {
		t.Errorf("evidence %q (%v), want received,reqtx,sent,srvtx", kinds, err)
	}
	var changes int
	if err := e.Store.DB().QueryRow(`SELECT count(*) FROM requestor_changes WHERE requestor_id = 1 AND event_id IS NOT NULL
		AND field IN ('requestor_sync', 'server_sync', 'export_on_next_cycle')`).Scan(&changes); err != nil || changes != 4 {
		// R 0->5 and the baseline S 0->7 from the first ReqTx, S 7->8 and the flag from the SrvTx.
		t.Errorf("%d recorded changes (%v), want R, the baseline S, S and the flag, each with its event", changes, err)
	}
}

func TestEventQueryFiltersAndPaging(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{})
	e.seed()
	var batch []evIn
	for i := range 30 {
		server, sev := "EXCH1", "info"
		if i%3 == 0 {
			server, sev = "MAC1", "error"
		}
		m := ev(server, 9300+i%2, sev)
		m["time"] = time.Date(2024, 1, 1, 0, i, 0, 0, time.UTC).Format(time.RFC3339)
		batch = append(batch, m)
	}
	e.post(batch)
	tests := []struct {
		query string
		want  int
	}{
		{"", 30},
		{"server=MAC1", 10},
		{"site=Branch", 10},
		{"site=1", 20},
		{"event_id=9301", 15},
		{"severity=error", 10},
		{"source=MSExchangeMTA", 30},
		{"since=2024-01-01T00:10:00Z&until=2024-01-01T00:20:00Z", 10},
		{"server=EXCH1&event_id=9300", 10},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			if got := len(e.events(tt.query + "&limit=1000").Events); got != tt.want {
				t.Errorf("got %d events, want %d", got, tt.want)
			}
		})
	}
	t.Run("keyset pages", func(t *testing.T) {
		var seen []int64
		after := int64(0)
		for range 10 {
			p := e.events(fmt.Sprintf("after_id=%d&limit=7", after))
			if len(p.Events) == 0 {
				break
			}
			for _, ev := range p.Events {
				seen = append(seen, ev.ID)
			}
			after = p.NextAfterID
		}
		if len(seen) != 30 {
			t.Fatalf("paged through %d events, want 30", len(seen))
		}
		for i := 1; i < len(seen); i++ {
			if seen[i] <= seen[i-1] {
				t.Fatalf("ids %v not strictly ascending", seen)
			}
		}
	})
	bad := []struct{ query, field string }{
		{"limit=0", "limit"}, {"limit=1001", "limit"}, {"after_id=-1", "after_id"}, {"event_id=x", "event_id"},
		{"severity=fatal", "severity"}, {"since=yesterday", "since"}, {"site=Nowhere", "site"},
	}
	for _, b := range bad {
		t.Run("bad "+b.query, func(t *testing.T) {
			var body struct{ Field string }
			e.json("GET", "/api/v1/events?"+b.query, e.Viewer, nil, http.StatusUnprocessableEntity, &body)
			if body.Field != b.field {
				t.Errorf("field %q, want %q", body.Field, b.field)
			}
		})
	}
}
