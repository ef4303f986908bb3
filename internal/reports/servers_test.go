package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"mailnet/internal/store"
)

func loadedFixture() []store.ServerReportRow {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	return []store.ServerReportRow{
		{ID: 1, Name: "beta", SiteID: 1, Site: "East", Kind: "msmail-mac", Version: "3.1", Serial: "100", Addresses: []string{"10.0.0.1"}, Status: "running", UserCount: 5, MessageCount: 50, LastEventID: 9, LastEventAt: at},
		{ID: 2, Name: "Alpha", SiteID: 2, Site: "West", Kind: "msmail-mac", Version: "3.0", Serial: "100", Addresses: []string{"10.0.1.1", "10.0.1.2"}, Status: "running", UserCount: 7, MessageCount: 10},
		{ID: 3, Name: "gamma", SiteID: 1, Site: "East", Kind: "exchange", Version: "5.5.2448.0", Serial: "200", Addresses: []string{}, Status: "stopped", UserCount: 0},
		{ID: 4, Name: "delta", SiteID: 1, Site: "East", Kind: "exchange", Version: "5.5.2232.0", Serial: "200", Addresses: []string{"192.168.1.4"}, Status: "decommissioned"},
		{ID: 5, Name: "eps", SiteID: 1, Site: "East", Kind: "msmail-pc", Version: "3.5", Serial: "300", Addresses: []string{}, Status: "running"},
		{ID: 6, Name: "zeta", SiteID: 1, Site: "East", Kind: "msmail-pc", Version: "3.5", Serial: "300", Addresses: []string{}, Status: "running", UserCount: 1},
	}
}

func ids(rows []ServerRow) []int64 {
	var out []int64
	for _, r := range rows {
		out = append(out, r.ID)
	}
	return out
}

func TestBuildServerRows(t *testing.T) {
	conns := map[int64][]int64{1: {10, 11}}
	tests := []struct {
		name string
		q    ServerQuery
		want []int64
	}{
		{"default sort by name, case-insensitive", ServerQuery{}, []int64{2, 1, 4, 5, 3, 6}},
		{"by users descending, ties by id", ServerQuery{Sort: "users", Desc: true}, []int64{2, 1, 6, 3, 4, 5}},
		{"by version numerically", ServerQuery{Sort: "version"}, []int64{2, 1, 5, 6, 4, 3}},
		{"by site", ServerQuery{Sort: "site"}, []int64{1, 3, 4, 5, 6, 2}},
		{"by last event", ServerQuery{Sort: "last_event", Desc: true}, []int64{1, 2, 3, 4, 5, 6}},
		{"duplicates only", ServerQuery{DuplicateOnly: true, Sort: "serial"}, []int64{1, 2, 5, 6}},
		{"q matches an address", ServerQuery{Q: "10.0.1."}, []int64{2}},
		{"q matches a serial", ServerQuery{Q: "200", Sort: "name"}, []int64{4, 3}},
		{"q matches a name ignoring case", ServerQuery{Q: "ALP"}, []int64{2}},
		{"site", ServerQuery{SiteID: 2}, []int64{2}},
		{"kind and status", ServerQuery{Kind: "exchange", Status: "stopped"}, []int64{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BuildServerRows(loadedFixture(), conns, tt.q)
			if !reflect.DeepEqual(ids(got), tt.want) {
				t.Errorf("ids %v, want %v", ids(got), tt.want)
			}
		})
	}
}

func TestBuildServerRowsFlags(t *testing.T) {
	rows := BuildServerRows(loadedFixture(), map[int64][]int64{1: {10, 11}}, ServerQuery{Sort: "serial"})
	by := map[int64]ServerRow{}
	for _, r := range rows {
		by[r.ID] = r
	}
	tests := []struct {
		id       int64
		dup      bool
		group    string
		impacted bool
	}{
		{1, true, "100", true},  // two sites
		{2, true, "100", true},  // two sites
		{3, false, "", false},   // its twin is decommissioned
		{4, false, "", false},   // decommissioned
		{5, true, "300", false}, // one site: flagged, no impact
		{6, true, "300", false},
	}
	for _, tt := range tests {
		r := by[tt.id]
		if r.DuplicateSerial != tt.dup || r.DuplicateGroup != tt.group || r.Impacted != tt.impacted {
			t.Errorf("server %d: duplicate %v group %q impacted %v, want %v %q %v", tt.id, r.DuplicateSerial, r.DuplicateGroup, r.Impacted, tt.dup, tt.group, tt.impacted)
		}
	}
	if r := by[1]; r.ConnectorCount != 2 || !reflect.DeepEqual(r.ConnectorIDs, []int64{10, 11}) {
		t.Errorf("server 1 connectors %d %v, want 2 [10 11]", r.ConnectorCount, r.ConnectorIDs)
	}
	if r := by[2]; r.ConnectorIDs == nil || r.LastEventAt != nil {
		t.Errorf("server 2 connector_ids %v last_event_at %v, want [] and nil", r.ConnectorIDs, r.LastEventAt)
	}
}

func TestServerQueryValidate(t *testing.T) {
	tests := []struct {
		q     ServerQuery
		field string
	}{
		{ServerQuery{Sort: "colour"}, "sort"},
		{ServerQuery{Kind: "vax"}, "kind"},
		{ServerQuery{Status: "asleep"}, "status"},
		{ServerQuery{Sort: "messages", Kind: "exchange", Status: "running"}, ""},
	}
	for _, tt := range tests {
		err := tt.q.Validate()
		got := ""
		if err != nil {
			got = err.(interface{ Error() string }).Error()
		}
		if (tt.field == "") != (err == nil) || (err != nil && !strings.Contains(got, tt.field)) {
			t.Errorf("Validate(%+v) = %v, want an error on %q", tt.q, err, tt.field)
		}
	}
}

// The hand-written encoder must write what encoding/json would.
func TestWriteServersJSONMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC)
	rows := []ServerRow{
		{ID: 1, Name: `q"uote\back<tag>&amp`, Site: "tab\there\nnl\x01", Kind: "exchange", Version: "é ünï 日本", Serial: "\u2028\u2029",
			Addresses: []string{"10.0.0.1", "x\xffy"}, Status: "running", ConnectorIDs: []int64{3, 4}, ConnectorCount: 2,
			LastEventID: 7, LastEventAt: &at, DuplicateSerial: true, DuplicateGroup: "\u2028\u2029", Impacted: true},
		{ID: 2, Name: "plain", ConnectorIDs: []int64{}, Addresses: []string{}},
		{ID: 3},
	}
	var buf bytes.Buffer
	if err := WriteServersJSON(&buf, rows); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(map[string]any{"servers": rows})
	if strings.TrimSpace(buf.String()) != string(want) {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestWriteServersCSV(t *testing.T) {
	rows := BuildServerRows(loadedFixture(), map[int64][]int64{1: {10, 11}}, ServerQuery{})
	rows[0].Name = "=HYPERLINK(1)"
	var buf bytes.Buffer
	if err := WriteServersCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(rows)+1 || !reflect.DeepEqual(recs[0], ServerCSVHeader) {
		t.Fatalf("%d records, header %v, want %d and %v", len(recs), recs[0], len(rows)+1, ServerCSVHeader)
	}
	if recs[1][1] != "'=HYPERLINK(1)" {
		t.Errorf("formula cell %q, want it prefixed with an apostrophe", recs[1][1])
	}
	if recs[2][7] != "10.0.0.1" || recs[2][12] != "10 11" || recs[2][15] != "true" {
		t.Errorf("row beta = %v, want addresses 10.0.0.1, connectors \"10 11\", duplicate true", recs[2])
	}
}

func TestServersFromStore(t *testing.T) {
	f := newFx(t)
	east, west := f.site("East"), f.site("West")
	a := f.server("A", east, "msmail-mac", "3.1", "1", "10.0.0.1", "10.0.0.2")
	b := f.server("B", west, "msmail-mac", "3.1", "1")
	f.user("u1", a, true)
	f.x400("x", a, b, "")
	rows, err := Servers(context.Background(), f.st, ServerQuery{Sort: "name"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Site != "East" || rows[0].UserCount != 1 || len(rows[0].Addresses) != 2 || rows[0].ConnectorCount != 1 || !rows[0].Impacted {
		t.Errorf("rows %+v, want A at East with 1 user, 2 addresses, 1 connector, impacted", rows)
	}
	if _, err := Servers(context.Background(), f.st, ServerQuery{Sort: "bogus"}); err == nil {
		t.Errorf("sort=bogus accepted, want an error")
	}
}
