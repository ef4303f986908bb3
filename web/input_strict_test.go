package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"mailnet/internal/actions"
	"mailnet/internal/ingest"
	"mailnet/internal/mailnet"
)

// errBody is the API's error answer.
type errBody struct {
	Error string `json:"error"`
	Field string `json:"field"`
}

func (e *env) refusedWith(t *testing.T, method, path, token string, body any, status int, field string) errBody {
	t.Helper()
	got, raw := e.do(method, path, token, body)
	var eb errBody
	_ = json.Unmarshal(raw, &eb)
	if got != status || eb.Field != field {
		t.Errorf("%s %s %q: %d field %q (%s), want %d naming %q", method, path, body, got, eb.Field, eb.Error, status, field)
	}
	return eb
}

func (e *env) countRows(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := e.Store.DB().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestJSONBodiesAreStrict: keys that only match case-insensitively,
// duplicate keys, invalid UTF-8 and non-integer JSON ids are refused with
// the field named, and nothing is written. encoding/json took all four.
func TestJSONBodiesAreStrict(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, path, body string
		status           int
		field            string
	}{
		{"key in another case", "/api/v1/sites", `{"NAME":"HQ"}`, 400, "NAME"},
		{"duplicate key", "/api/v1/sites", `{"name":"HQ","name":"Branch"}`, 400, "name"},
		{"invalid UTF-8", "/api/v1/sites", "{\"name\":\"H\xffQ\"}", 400, "name"},
		{"lone surrogate", "/api/v1/sites", `{"name":"H\ud800Q"}`, 400, "name"},
		{"id as 1.0", "/api/v1/servers", `{"name":"EX","site_id":1.0,"kind":"exchange","serial":"1"}`, 400, "site_id"},
		{"id as 1e0", "/api/v1/servers", `{"name":"EX","site_id":1e0,"kind":"exchange","serial":"1"}`, 400, "site_id"},
		{"nested duplicate", "/api/v1/servers", `{"name":"EX","site_id":1,"kind":"exchange","serial":"1","addresses":[],"addresses":["10.0.0.1"]}`, 400, "addresses"},
	}
	e.json("POST", "/api/v1/sites", e.Admin, map[string]string{"name": "Main"}, http.StatusCreated, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.refusedWith(t, "POST", tt.path, e.Admin, tt.body, tt.status, tt.field)
		})
	}
	if n := e.countRows(t, "sites"); n != 1 {
		t.Errorf("%d sites, want 1: a refused body changed something", n)
	}
	if n := e.countRows(t, "servers"); n != 0 {
		t.Errorf("%d servers, want 0", n)
	}
}

// TestIDsAreCanonical: "01", "+1", "1.0" and " 1" are not id 1, in the
// path or the query.
func TestIDsAreCanonical(t *testing.T) {
	e := newEnv(t)
	var site struct{ ID int64 }
	e.json("POST", "/api/v1/sites", e.Admin, map[string]string{"name": "HQ"}, http.StatusCreated, &site)
	var sv struct{ ID int64 }
	e.json("POST", "/api/v1/servers", e.Admin, map[string]any{"name": "EX", "site_id": site.ID, "kind": "exchange", "serial": "1"}, http.StatusCreated, &sv)
	if sv.ID != 1 {
		t.Fatalf("server id %d, want 1", sv.ID)
	}
	e.json("GET", "/api/v1/servers/1", e.Viewer, nil, http.StatusOK, nil)
	for _, id := range []string{"01", "%2B1", "1.0", "%201", "1%20", "0x1", "1e0"} {
		if got, _ := e.do("GET", "/api/v1/servers/"+id, e.Viewer, nil); got != http.StatusNotFound {
			t.Errorf("GET /api/v1/servers/%s: %d, want 404", id, got)
		}
	}
	for _, q := range []string{"after_id=01", "after_id=%2B1", "after_id=1.0", "after_id=%201", "event_id=01", "limit=%2B5"} {
		if got, _ := e.do("GET", "/api/v1/events?"+q, e.Viewer, nil); got != http.StatusUnprocessableEntity {
			t.Errorf("GET /api/v1/events?%s: %d, want 422", q, got)
		}
	}
	for _, q := range []string{"server_id=01", "server_id=%2B1", "after_id=007"} {
		if got, _ := e.do("GET", "/api/v1/users?"+q, e.Viewer, nil); got != http.StatusUnprocessableEntity {
			t.Errorf("GET /api/v1/users?%s: %d, want 422", q, got)
		}
	}
	e.json("GET", "/api/v1/users?server_id=1", e.Viewer, nil, http.StatusOK, nil)
	// The pages read ids by the same rule as the API.
	for _, path := range []string{"/api/v1/reports/servers?site_id=", "/servers?site="} {
		if got, body := e.do("GET", path+"1", e.Viewer, nil); got != http.StatusOK {
			t.Errorf("GET %s1: %d, want 200 (%.200s)", path, got, body)
		}
		if got, _ := e.do("GET", path+"01", e.Viewer, nil); got != http.StatusUnprocessableEntity {
			t.Errorf("GET %s01: %d, want 422", path, got)
		}
	}
}

// TestNamesUniqueUnderFolding: a name that folds (NFKC, case fold) to one
// in use is a conflict, for servers and sites; ingest resolves every
// spelling to the one server. SQLite's NOCASE folds ASCII only, so the
// Kelvin sign made a second server that ingest then confused.
func TestNamesUniqueUnderFolding(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{})
	var site struct{ ID int64 }
	e.json("POST", "/api/v1/sites", e.Admin, map[string]string{"name": "HQ"}, http.StatusCreated, &site)
	e.refusedWith(t, "POST", "/api/v1/sites", e.Admin, map[string]string{"name": "ＨＱ"}, 409, "name")
	e.refusedWith(t, "POST", "/api/v1/sites", e.Admin, map[string]string{"name": "hq"}, 409, "name")

	kelvin := "\u212aELVIN-1" // KELVIN SIGN
	var sv struct{ ID int64 }
	e.json("POST", "/api/v1/servers", e.Admin, map[string]any{"name": kelvin, "site_id": site.ID, "kind": "exchange", "serial": "K1"}, http.StatusCreated, &sv)
	for _, name := range []string{"KELVIN-1", "kelvin-1", "ＫＥＬＶＩＮ-1"} {
		e.refusedWith(t, "POST", "/api/v1/servers", e.Admin, map[string]any{"name": name, "site_id": site.ID, "kind": "exchange", "serial": "K2"}, 409, "name")
	}
	var other struct{ ID int64 }
	e.json("POST", "/api/v1/servers", e.Admin, map[string]any{"name": "OTHER", "site_id": site.ID, "kind": "exchange", "serial": "K3"}, http.StatusCreated, &other)
	e.refusedWith(t, "PATCH", fmt.Sprintf("/api/v1/servers/%d", other.ID), e.Admin, map[string]any{"name": "kelvin-1"}, 409, "name")
	if n := e.countRows(t, "servers"); n != 2 {
		t.Fatalf("%d servers, want 2", n)
	}
	e.post([]evIn{ev("KELVIN-1", 1, "info"), ev(kelvin, 2, "info"), ev("kelvin-1", 3, "info")})
	for _, got := range e.events("").Events {
		if got.ServerID != sv.ID || got.Server != kelvin {
			t.Errorf("event for %q went to server %d %q, want %d %q", got.Server, got.ServerID, got.Server, sv.ID, kelvin)
		}
	}
}

// TestLookAlikeNamesAreFlagged: a name mixing Latin and Cyrillic letters
// is created, and the answer and the audit row carry a warning.
func TestLookAlikeNamesAreFlagged(t *testing.T) {
	e := newEnv(t)
	var site struct {
		ID       int64
		Warnings []string
	}
	e.json("POST", "/api/v1/sites", e.Admin, map[string]string{"name": "HQ"}, http.StatusCreated, &site)
	if len(site.Warnings) != 0 {
		t.Errorf("plain name warned: %q", site.Warnings)
	}
	var mixed struct {
		ID       int64
		Name     string
		Warnings []string
	}
	e.json("POST", "/api/v1/sites", e.Admin, map[string]string{"name": "Br\u0430nch"}, http.StatusCreated, &mixed) // Cyrillic а
	if len(mixed.Warnings) != 1 || !strings.Contains(mixed.Warnings[0], "Cyrillic") {
		t.Errorf("mixed-script site warnings %q, want one naming Cyrillic", mixed.Warnings)
	}
	var sv struct {
		ID       int64
		Warnings []string
	}
	e.json("POST", "/api/v1/servers", e.Admin, map[string]any{"name": "EX\u0421H-1", "site_id": site.ID, "kind": "exchange", "serial": "9"}, http.StatusCreated, &sv) // Cyrillic С
	if len(sv.Warnings) != 1 || !strings.Contains(sv.Warnings[0], "Cyrillic") {
		t.Errorf("mixed-script server warnings %q, want one naming Cyrillic", sv.Warnings)
	}
	var detail string
	if err := e.Store.DB().QueryRow(`SELECT detail FROM audit WHERE action = 'server.create' AND object_id = ?`, sv.ID).Scan(&detail); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(detail, "Cyrillic") {
		t.Errorf("audit detail %q does not note the look-alike name", detail)
	}
}

// TestIngestRefusesFarFutureTime: more than 24 hours ahead is refused,
// naming [i].time; a clock a little ahead is fine.
func TestIngestRefusesFarFutureTime(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{})
	at := func(d time.Duration) evIn {
		m := ev("EXCH1", 1, "info")
		m["time"] = time.Now().Add(d).UTC().Format(time.RFC3339)
		return m
	}
	var body errBody
	e.json("POST", "/api/v1/events", e.Agent, []evIn{at(time.Hour), at(25 * time.Hour)}, http.StatusUnprocessableEntity, &body)
	if body.Field != "[1].time" {
		t.Errorf("field %q, want [1].time (%s)", body.Field, body.Error)
	}
	if n := e.count(); n != 0 {
		t.Errorf("%d events stored, want 0", n)
	}
	e.json("POST", "/api/v1/events", e.Agent, []evIn{at(23 * time.Hour)}, http.StatusAccepted, nil)
}

// TestIdempotencyKeyPerToken: a second agent reusing a key stores its own
// event; the same agent's retry is still a duplicate.
func TestIdempotencyKeyPerToken(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{})
	ctx := mailnet.WithPrincipal(context.Background(), &mailnet.Principal{Name: "test", Role: mailnet.RoleAdmin})
	_, second, err := actions.New(e.Store, nil, nil).CreateToken(ctx, "agent-2", "agent")
	if err != nil {
		t.Fatal(err)
	}
	keyed := func(id int) []evIn {
		m := ev("EXCH1", id, "info")
		m["idempotency_key"] = "batch-1/0"
		return []evIn{m}
	}
	e.json("POST", "/api/v1/events", e.Agent, keyed(1), http.StatusAccepted, nil)
	e.json("POST", "/api/v1/events", second, keyed(2), http.StatusAccepted, nil)
	e.json("POST", "/api/v1/events", e.Agent, keyed(1), http.StatusAccepted, nil)
	if n := e.count(); n != 2 {
		t.Errorf("%d events stored, want 2 (one per agent; the retry a duplicate)", n)
	}
	var ids []int
	for _, got := range e.events("").Events {
		ids = append(ids, got.EventID)
	}
	if fmt.Sprint(ids) != "[1 2]" {
		t.Errorf("event ids %v, want [1 2]", ids)
	}
}

// TestIngestBatchBounds: a batch larger than the per-batch cap, or than
// the whole queue, is refused with 413 before anything is queued, even
// when the queue is empty; bytes in flight past the bound get 429 with
// Retry-After.
func TestIngestBatchBounds(t *testing.T) {
	batch := func(n int) []evIn {
		out := make([]evIn, n)
		for i := range out {
			out[i] = ev("EXCH1", i, "info")
		}
		return out
	}
	t.Run("per-batch cap", func(t *testing.T) {
		e := newLiveEnv(t, "", liveOpts{ingest: ingest.Options{MaxBatch: 5}})
		var body errBody
		e.json("POST", "/api/v1/events", e.Agent, batch(6), http.StatusRequestEntityTooLarge, &body)
		if body.Field != "body" {
			t.Errorf("field %q, want body", body.Field)
		}
		e.json("POST", "/api/v1/events", e.Agent, batch(5), http.StatusAccepted, nil)
		if n := e.count(); n != 5 {
			t.Errorf("%d events stored, want 5", n)
		}
	})
	t.Run("larger than the queue, first batch", func(t *testing.T) {
		e := newLiveEnv(t, "", liveOpts{ingest: ingest.Options{MaxQueued: 5, MaxBatch: 100}})
		e.json("POST", "/api/v1/events", e.Agent, batch(6), http.StatusRequestEntityTooLarge, nil)
		if n := e.count(); n != 0 {
			t.Errorf("%d events stored, want 0", n)
		}
	})
	t.Run("bytes in flight", func(t *testing.T) {
		e := newLiveEnv(t, "", liveOpts{ingest: ingest.Options{MaxBytes: 4096}})
		e.json("POST", "/api/v1/events", e.Agent, strings.Repeat(" ", 5000)+"[]", http.StatusRequestEntityTooLarge, nil)
		held, err := e.Ingest.Reserve(4095) // another agent's body, being read
		if err != nil {
			t.Fatal(err)
		}
		got, _ := e.do("POST", "/api/v1/events", e.Agent, batch(1))
		if got != http.StatusTooManyRequests {
			t.Errorf("over the byte bound: %d, want 429", got)
		}
		req, _ := http.NewRequest("POST", e.HTTP.URL+"/api/v1/events", strings.NewReader(`[]`))
		req.Header.Set("Authorization", "Bearer "+e.Agent)
		res, err := e.HTTP.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
			t.Errorf("status %d, Retry-After %q; want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
		}
		held.Release()
		e.json("POST", "/api/v1/events", e.Agent, batch(1), http.StatusAccepted, nil)
		if b := e.Ingest.Stats().BytesHeld; b != 0 {
			t.Errorf("%d bytes still held after the commit, want 0", b)
		}
	})
}

// TestIngestDuplicateKeyInEvent: a member given twice inside an event is
// refused naming the event and the field.
func TestIngestDuplicateKeyInEvent(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{})
	body := `[{"server":"EXCH1","source":"s","event_id":1,"severity":"info"},
		{"server":"EXCH1","server":"MAC1","source":"s","event_id":2,"severity":"info"}]`
	e.refusedWith(t, "POST", "/api/v1/events", e.Agent, body, 400, "[1].server")
	e.refusedWith(t, "POST", "/api/v1/events", e.Agent, `[{"SERVER":"EXCH1","source":"s","event_id":1,"severity":"info"}]`, 422, "[0].SERVER")
	e.refusedWith(t, "POST", "/api/v1/events", e.Agent, `[{"server":"EXCH1","source":"s","event_id":1.0,"severity":"info"}]`, 422, "[0].event_id")
	if n := e.count(); n != 0 {
		t.Errorf("%d events stored, want 0", n)
	}
}
