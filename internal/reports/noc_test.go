package reports

import (
	"reflect"
	"testing"
	"time"

	"mailnet/internal/mailnet"
)

func TestBuildNOC(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	all := NOCTiles{Servers: true, Duplicates: true, X400: true, DirSync: true, Moves: true, Rate: true, Events: true}
	// Servers 1 and 2 are at site 10 (the site's report rows); 3 is not.
	atTen := []ServerRow{
		{ID: 1, Name: "EXCH-LON-01", SiteID: 10, Status: mailnet.StatusRunning, DuplicateSerial: true},
		{ID: 2, Name: "PO-LON", SiteID: 10, Status: mailnet.StatusStopped},
	}
	network := append([]ServerRow{{ID: 3, Name: "MAC-SEA", SiteID: 20, Status: mailnet.StatusDecommissioned, DuplicateSerial: true},
		{ID: 4, Name: "MAC-SEA-2", SiteID: 20, Status: mailnet.StatusRunning}}, atTen...)
	dups := []DuplicateGroup{{Serial: "A", Sites: []int64{10, 20}}, {Serial: "B", Sites: []int64{20}}}
	x400 := []X400Finding{
		{Connector: "low", ServerID: 1, RemoteServerID: 3, FailureRatio: 0.25, Observed9301: 4},
		{Connector: "away", ServerID: 3, RemoteServerID: 4, FailureRatio: 0.9},
		{Connector: "high-few", ServerID: 2, RemoteServerID: 3, FailureRatio: 0.5, Observed9301: 1},
		{Connector: "high-many", ServerID: 3, RemoteServerID: 1, FailureRatio: 0.5, Observed9301: 7},
	}
	dirsync := []DirSyncRow{
		{Postoffice: "LAGGING", DXServerID: 1, Lag: 30},
		{Postoffice: "PO-LON", DXServerID: 99, Silent: true, DXPaused: true}, // at the site by its postoffice's name
		{Postoffice: "PENDING", DXServerID: 2, PendingExport: true, Anomalies: []string{"x"}},
		{Postoffice: "ELSEWHERE", DXServerID: 3, Lag: 500, Silent: true},
	}
	job := func(id int64, status string) mailnet.JobDetail {
		return mailnet.JobDetail{Job: mailnet.Job{ID: id, Status: status}}
	}
	jobs := []mailnet.JobDetail{job(9, mailnet.JobRunning), job(8, mailnet.JobDone), job(7, mailnet.JobQueued),
		job(6, mailnet.JobQueued), job(5, mailnet.JobRunning), job(4, mailnet.JobQueued)}
	latest := &mailnet.Event{ID: 77}
	warnings := []mailnet.Event{{ID: 76, Severity: mailnet.SeverityWarning}}
	rateStart := now.Add(-59 * time.Minute)
	connectors := func(fs []X400Finding) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Connector)
		}
		return out
	}
	postoffices := func(rs []DirSyncRow) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Postoffice)
		}
		return out
	}

	for _, tc := range []struct {
		name  string
		q     NOCQuery
		in    NOCInputs
		check func(t *testing.T, d NOC)
	}{
		{"whole network, every tile", NOCQuery{Tiles: all, Now: now},
			NOCInputs{Servers: network, Duplicates: dups, X400: x400, DirSync: dirsync, Jobs: jobs,
				Rate: []int64{1, 2, 3}, RateStart: rateStart, Warnings: warnings, Latest: latest},
			func(t *testing.T, d NOC) {
				if d.Generated != now {
					t.Errorf("Generated %v, want %v", d.Generated, now)
				}
				if got := [4]int{d.Running, d.Stopped, d.Decommissioned, d.Flagged}; got != [4]int{2, 1, 1, 2} {
					t.Errorf("running, stopped, decommissioned, flagged = %v, want [2 1 1 2]", got)
				}
				if len(d.Duplicates) != 2 {
					t.Errorf("%d duplicate groups, want 2", len(d.Duplicates))
				}
				// Worst ratio first; equal ratios by more 9301s.
				if got := connectors(d.X400); !reflect.DeepEqual(got, []string{"away", "high-many", "high-few", "low"}) {
					t.Errorf("x400 order %v", got)
				}
				if d.X400Total != 4 || d.X400More != 0 {
					t.Errorf("x400 total %d, more %d; want 4, 0", d.X400Total, d.X400More)
				}
				// Silent first (+1000), then by lag, pending exports (+100) and anomalies.
				if got := postoffices(d.DirSync); !reflect.DeepEqual(got, []string{"ELSEWHERE", "PO-LON", "PENDING", "LAGGING"}) {
					t.Errorf("dirsync order %v", got)
				}
				if d.DirSyncTotal != 4 || d.MaxLag != 500 || d.PendingExports != 1 || d.Anomalous != 1 || d.Silent != 2 || !d.DXPaused {
					t.Errorf("dirsync totals %d lag %d pending %d anomalous %d silent %d paused %v",
						d.DirSyncTotal, d.MaxLag, d.PendingExports, d.Anomalous, d.Silent, d.DXPaused)
				}
				var ids []int64
				for _, j := range d.Moves {
					ids = append(ids, j.ID)
				}
				if !reflect.DeepEqual(ids, []int64{9, 7, 6, 5}) {
					t.Errorf("moves %v, want the first %d queued or running: [9 7 6 5]", ids, NOCMoveRows)
				}
				if !reflect.DeepEqual(d.Rate, []int64{1, 2, 3}) || d.RateStart != rateStart {
					t.Errorf("rate %v from %v", d.Rate, d.RateStart)
				}
				if d.Latest != latest || len(d.Warnings) != 1 {
					t.Errorf("events: latest %v, %d warnings", d.Latest, len(d.Warnings))
				}
			}},
		{"one site narrows duplicates, connectors and requestors", NOCQuery{Tiles: all, SiteID: 10, Now: now},
			NOCInputs{Servers: atTen, Duplicates: dups, X400: x400, DirSync: dirsync},
			func(t *testing.T, d NOC) {
				if got := [4]int{d.Running, d.Stopped, d.Decommissioned, d.Flagged}; got != [4]int{1, 1, 0, 1} {
					t.Errorf("counts %v, want [1 1 0 1]", got)
				}
				if len(d.Duplicates) != 1 || d.Duplicates[0].Serial != "A" {
					t.Errorf("duplicates %v, want group A only", d.Duplicates)
				}
				if got := connectors(d.X400); !reflect.DeepEqual(got, []string{"high-many", "high-few", "low"}) {
					t.Errorf("x400 %v: a finding is at the site when either end is", got)
				}
				if got := postoffices(d.DirSync); !reflect.DeepEqual(got, []string{"PO-LON", "PENDING", "LAGGING"}) {
					t.Errorf("dirsync %v: at the site by DX server or postoffice name", got)
				}
				if d.Silent != 1 || d.MaxLag != 30 {
					t.Errorf("silent %d, max lag %d; want 1, 30", d.Silent, d.MaxLag)
				}
			}},
		{"only the chosen tiles are filled", NOCQuery{Tiles: NOCTiles{X400: true}, Now: now},
			NOCInputs{Servers: network, Duplicates: dups, X400: x400, DirSync: dirsync, Jobs: jobs, Latest: latest},
			func(t *testing.T, d NOC) {
				if d.Running != 0 || d.Duplicates != nil || d.DirSync != nil || d.Moves != nil || d.Latest != nil {
					t.Errorf("tiles not chosen were filled: %+v", d)
				}
				if d.X400Total != 4 {
					t.Errorf("x400 total %d, want 4", d.X400Total)
				}
			}},
		{"rows beyond a tile's size are counted, not shown", NOCQuery{Tiles: NOCTiles{X400: true, DirSync: true}, Now: now},
			NOCInputs{X400: make([]X400Finding, NOCX400Rows+3), DirSync: make([]DirSyncRow, NOCDirSyncRows+2)},
			func(t *testing.T, d NOC) {
				if len(d.X400) != NOCX400Rows || d.X400More != 3 || d.X400Total != NOCX400Rows+3 {
					t.Errorf("x400 shown %d, more %d, total %d", len(d.X400), d.X400More, d.X400Total)
				}
				if len(d.DirSync) != NOCDirSyncRows || d.DirSyncTotal != NOCDirSyncRows+2 {
					t.Errorf("dirsync shown %d, total %d", len(d.DirSync), d.DirSyncTotal)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := connectors(tc.in.X400)
			tc.check(t, BuildNOC(tc.q, tc.in))
			if !reflect.DeepEqual(connectors(tc.in.X400), before) {
				t.Errorf("BuildNOC reordered its input")
			}
		})
	}
}

// TestLoadNOC reads an empty network: every chosen tile is built and
// nothing fails on no data.
func TestLoadNOC(t *testing.T) {
	f := newFx(t)
	now := time.Now().UTC()
	d, err := LoadNOC(t.Context(), f.st, NOCQuery{Tiles: NOCTiles{Servers: true, Duplicates: true, X400: true,
		DirSync: true, Moves: true, Rate: true, Events: true}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if d.Generated != now || len(d.Rate) != NOCRateMinutes || d.Latest != nil {
		t.Errorf("generated %v, %d rate minutes, latest %v", d.Generated, len(d.Rate), d.Latest)
	}
}

// gw9301 is Event 9301 as the MTA logs it, for a caller at hex address addr.
func gw9301(addr string) string {
	return "The message transfer gateway that uses the network address " + addr +
		" and the transport stack /o=Org/ou=LON/cn=Configuration/cn=Servers/cn=EXCH-LON-01/cn=TCP (EXCH-LON-01) could not be found. Check the configuration of the mail gateway."
}

// TestNOCGroupsWarnings: the same warning repeated is one row with its
// count and time span; 9301s are told apart by caller (from the network
// address) and receiving server, other events by ID, severity and server.
func TestNOCGroupsWarnings(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	ev := func(id int64, ago time.Duration, server string, eventID int, sev, desc string) mailnet.Event {
		return mailnet.Event{ID: id, Time: now.Add(-ago), Server: server, EventID: eventID, Severity: sev, Description: desc}
	}
	w, e := mailnet.SeverityWarning, mailnet.SeverityError
	from5 := gw9301("AC100501") // 172.16.5.1
	from9 := gw9301("AC100509") // 172.16.5.9
	type row struct {
		EventID  int
		Server   string
		Caller   string
		Count    int
		Span     time.Duration
		NewestID int64
	}
	rows := func(gs []WarningGroup) []row {
		var out []row
		for _, g := range gs {
			out = append(out, row{g.EventID, g.Server, g.Caller, g.Count, g.Span(), g.Newest.ID})
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		in     []mailnet.Event
		want   []row
		more   int
		capped bool
	}{
		{"none", nil, nil, 0, false},
		{"the same 9301 eight times is one row over its span",
			[]mailnet.Event{
				ev(18, 1*time.Minute, "EXCH-LON-01", 9301, w, from5),
				ev(17, 2*time.Minute, "EXCH-LON-01", 9301, w, from5),
				ev(16, 3*time.Hour, "exch-lon-01", 9301, w, from5), // names compare folded
				ev(15, 4*time.Hour, "EXCH-LON-01", 9301, w, from5),
				ev(14, 5*time.Hour, "EXCH-LON-01", 9301, w, from5),
				ev(13, 6*time.Hour, "EXCH-LON-01", 9301, w, from5),
				ev(12, 7*time.Hour, "EXCH-LON-01", 9301, w, from5),
				ev(11, 23*time.Hour+time.Minute, "EXCH-LON-01", 9301, w, from5),
			},
			[]row{{9301, "EXCH-LON-01", "172.16.5.1", 8, 23 * time.Hour, 18}}, 0, false},
		{"9301s from two callers and on two servers are apart; other events by id and severity",
			[]mailnet.Event{
				ev(30, 1*time.Minute, "EXCH-LON-01", 9301, w, from9),
				ev(29, 2*time.Minute, "EXCH-LON-01", 9301, w, from5),
				ev(28, 3*time.Minute, "EXCH-PAR-01", 9301, w, from5),
				ev(27, 4*time.Minute, "EXCH-LON-01", 9202, e, "A sockets error 10048 on a bind() call"),
				ev(26, 5*time.Minute, "EXCH-LON-01", 9202, w, "A sockets error 10048 on a bind() call"),
				ev(25, 6*time.Minute, "EXCH-LON-01", 9202, e, "A sockets error 10054 on a recv() call"),
				ev(24, 7*time.Minute, "EXCH-LON-01", 9301, w, from9),
				ev(23, 8*time.Minute, "EXCH-LON-01", 9301, w, "garbled"),
			},
			[]row{
				{9301, "EXCH-LON-01", "172.16.5.9", 2, 6 * time.Minute, 30},
				{9301, "EXCH-LON-01", "172.16.5.1", 1, 0, 29},
				{9301, "EXCH-PAR-01", "172.16.5.1", 1, 0, 28},
				{9202, "EXCH-LON-01", "", 2, 2 * time.Minute, 27},
				{9202, "EXCH-LON-01", "", 1, 0, 26},
				{9301, "EXCH-LON-01", "", 1, 0, 23},
			}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := BuildNOC(NOCQuery{Tiles: NOCTiles{Events: true}, Now: now}, NOCInputs{Warnings: tc.in})
			if got := rows(d.Warnings); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("groups\n got %+v\nwant %+v", got, tc.want)
			}
			if d.WarningsMore != tc.more || d.WarningsCap != tc.capped {
				t.Errorf("more %d, capped %v; want %d, %v", d.WarningsMore, d.WarningsCap, tc.more, tc.capped)
			}
		})
	}
	t.Run("groups beyond the tile are counted, a full scan says so", func(t *testing.T) {
		in := make([]mailnet.Event, NOCWarningScan)
		for i := range in {
			in[i] = ev(int64(NOCWarningScan-i), time.Duration(i)*time.Second, "S", 1000+i%(NOCWarningRows+5), w, "x")
		}
		d := BuildNOC(NOCQuery{Tiles: NOCTiles{Events: true}, Now: now}, NOCInputs{Warnings: in})
		if len(d.Warnings) != NOCWarningRows || d.WarningsMore != 5 || !d.WarningsCap {
			t.Errorf("shown %d, more %d, capped %v; want %d, 5, true", len(d.Warnings), d.WarningsMore, d.WarningsCap, NOCWarningRows)
		}
	})
}

// TestNOCCache: the costly tiles are built once for every screen while
// the store is unchanged or they are young; older and changed, a request
// gets the kept ones at once and a rebuild starts behind it, which the
// next request sees. The live tiles are read every time.
func TestNOCCache(t *testing.T) {
	f := newFx(t)
	lon := f.site("LON")
	f.server("EXCH-LON-01", lon, "exchange", "5.5", "S1")
	c := NewNOCCache(f.st, time.Minute)
	builds := make(chan struct{}, 10)
	c.OnBuild = func() { builds <- struct{}{} }
	built := func() int { return len(builds) }
	all := NOCTiles{Servers: true, Duplicates: true, X400: true, DirSync: true, Moves: true, Rate: true, Events: true}
	now := time.Now().UTC()
	load := func(at time.Time, site int64) NOC {
		t.Helper()
		d, err := c.Load(t.Context(), NOCQuery{Tiles: all, SiteID: site, Now: at})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := load(now, 0); d.Running+d.Stopped != 1 || built() != 1 {
		t.Fatalf("cold: %d servers, %d builds; want 1, 1", d.Running+d.Stopped, built())
	}
	if d := load(now, lon); d.Running+d.Stopped != 1 || built() != 1 {
		t.Fatalf("another site's screen: %d servers, %d builds; want 1, 1 (one build for all)", d.Running+d.Stopped, built())
	}
	f.server("EXCH-LON-02", lon, "exchange", "5.5", "S2")
	if d := load(now.Add(30*time.Second), 0); d.Running+d.Stopped != 1 || built() != 1 {
		t.Fatalf("changed but young: %d servers, %d builds; want the kept 1, 1", d.Running+d.Stopped, built())
	}
	if d := load(now.Add(2*time.Minute), 0); d.Running+d.Stopped != 1 {
		t.Fatalf("changed and old: %d servers; want the kept 1 while the rebuild runs", d.Running+d.Stopped)
	}
	// Wait for the rebuild behind that request: singleflight joins it.
	if _, err, _ := c.group.Do("noc", func() (any, error) { return c.slowInputs(t.Context(), now.Add(2*time.Minute)) }); err != nil {
		t.Fatal(err)
	}
	if d := load(now.Add(2*time.Minute), 0); d.Running+d.Stopped != 2 || built() != 2 {
		t.Fatalf("after the rebuild: %d servers, %d builds; want 2, 2", d.Running+d.Stopped, built())
	}
}
