package reports

import (
	"context"
	"strings"
	"testing"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

func TestX400Rule(t *testing.T) {
	tests := []struct {
		name      string
		in        X400Input
		wantRatio float64
		wantK     int
		status    string
	}{
		{"two addresses, one on the stack: about half",
			X400Input{AName: "A", AAddresses: []string{"10.0.0.1", "10.0.0.2"}, BStack: []string{"10.0.0.1"}}, 0.5, 1, X400Intermittent},
		{"three addresses, one on the stack",
			X400Input{AName: "A", AAddresses: []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}, BStack: []string{"10.0.0.3"}}, 2.0 / 3, 1, X400Intermittent},
		{"override on the stack",
			X400Input{AName: "A", AAddresses: []string{"10.0.0.1", "10.0.0.2"}, Override: "10.0.0.2", BStack: []string{"10.0.0.2"}}, 0, 1, X400OK},
		{"override not on the stack fails every time",
			X400Input{AName: "A", AAddresses: []string{"10.0.0.1", "10.0.0.2"}, Override: "10.0.0.2", BStack: []string{"10.0.0.1"}}, 1, 1, X400Failing},
		{"no address on the stack: mail does not flow",
			X400Input{AName: "A", AAddresses: []string{"10.0.0.1", "10.0.0.2"}, BStack: []string{"10.9.9.9"}}, 1, 0, X400NoFlow},
		{"override and nothing on the stack",
			X400Input{AName: "A", AAddresses: []string{"10.0.0.1", "10.0.0.2"}, Override: "10.0.0.1"}, 1, 0, X400NoFlow},
		{"single-homed on the stack",
			X400Input{AName: "A", AAddresses: []string{"10.0.0.1"}, BStack: []string{"10.0.0.1"}}, 0, 1, X400OK},
		{"single-homed not on the stack",
			X400Input{AName: "A", AAddresses: []string{"10.0.0.1"}, BStack: []string{"10.0.0.7"}}, 1, 0, X400NoFlow},
		{"server-name entry accepts every address",
			X400Input{AName: "EXCH-A", AAddresses: []string{"10.0.0.1", "10.0.0.2"}, BStack: []string{"exch-a"}}, 0, 2, X400OK},
		{"all addresses on the stack",
			X400Input{AName: "A", AAddresses: []string{"10.0.0.1", "10.0.0.2"}, BStack: []string{"10.0.0.2", "10.0.0.1"}}, 0, 2, X400OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := X400Rule(tt.in)
			if diff := got.FailureRatio - tt.wantRatio; diff > 1e-9 || diff < -1e-9 {
				t.Errorf("failure ratio %v, want %v", got.FailureRatio, tt.wantRatio)
			}
			if got.Accepted != tt.wantK {
				t.Errorf("accepted %d, want %d", got.Accepted, tt.wantK)
			}
			if got.Status != tt.status {
				t.Errorf("status %q, want %q", got.Status, tt.status)
			}
		})
	}
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"5.5.2232.0", "5.5.2431.0", -1},
		{"5.5.2431.0", "5.5.2431.0", 0},
		{"5.5.2650.21", "5.5.2431.0", 1},
		{"5.5", "5.5.2431.0", -1},
		{"5.5 SP1", "5.5.2431.0", -1},
		{"10.0", "9.9", 1},
	}
	for _, tt := range tests {
		if got := CompareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// q193380 is Q193380's first Event 9301 as the article quotes it, for a
// caller at 145.245.193.27 and the receiving server LocalMTA.
const q193380 = `The message transfer gateway that uses the network address 91F5C11B and the transport stack /o=Org/ou=Site/cn=Configuration/cn=Servers/cn=LocalMTA/cn=TCP (LocalMTA) could not be found. Check the configuration of the mail gateway. [BASE IL TCP/IP DRVR 8 218] (10)`

// q193380Second is its second event: the caller named by hex-encoded
// ASCII ("RemoteMTA") after the reverse lookup failed.
const q193380Second = `The message transfer gateway that uses the network address 52656d6f74654d5441 and the transport stack /o=Org/ou=Site/cn=Configuration/cn=Servers/cn=LocalMTA/cn=TCP (LocalMTA) could not be found. Check the configuration of the mail gateway. [BASE IL TCP/IP DRVR 8 218] (10)`

const q193380_9202 = `A sockets error 0 on an accept() call was detected. The MTA will attempt to recover the sockets connection. Control block index: 1. [BASE IL TCP/IP DRVR 8 256] (12)`

// gateway9301 is Q193380's text for another caller and receiver.
func gateway9301(callerHex, receiver string) string {
	return strings.NewReplacer("91F5C11B", callerHex, "LocalMTA", receiver).Replace(q193380)
}

func evidence(e9301 ...store.ReportEvent) X400Evidence { return X400Evidence{Events9301: e9301} }

func TestBuildX400Fix(t *testing.T) {
	a := mailnet.Server{ID: 1, Name: "EXA", Kind: mailnet.ServerKindExchange, Version: "5.5.2448.1", Addresses: []string{"10.0.0.1", "10.0.0.2"}}
	b := mailnet.Server{ID: 2, Name: "EXB", Kind: mailnet.ServerKindExchange, Version: "5.5.2650.24", Addresses: []string{"10.1.0.1"}}
	conns := []mailnet.Connector{
		{ID: 10, Kind: "x400", Name: "TCP to MTA B", ServerID: 1, RemoteServerID: 2},
		{ID: 11, Kind: "x400", Name: "TCP to MTA A", ServerID: 2, RemoteServerID: 1, StackAddresses: []string{"10.0.0.2"}},
	}
	servers := map[int64]mailnet.Server{1: a, 2: b}
	now := time.Now()
	got := BuildX400(conns, servers, evidence(
		store.ReportEvent{ServerID: 2, Time: now, Description: gateway9301("0A000001", "EXB")},                            // 10.0.0.1: A
		store.ReportEvent{ServerID: 2, Time: now.Add(time.Hour), Fields: map[string]string{"remote_address": "10.0.0.1"}}, // an agent's fields
		store.ReportEvent{ServerID: 2, Time: now.Add(2 * time.Hour), Description: gateway9301("0A000011", "EXB")},         // 10.0.0.17: nobody
		store.ReportEvent{ServerID: 1, Time: now, Description: gateway9301("0A000001", "EXA")},                            // logged by A itself
	)).Findings()
	if len(got) != 2 {
		t.Fatalf("%d findings, want 2", len(got))
	}
	f := got[0]
	if f.Status != X400Intermittent || f.FailureRatio != 0.5 {
		t.Errorf("status %q ratio %v, want intermittent 0.5", f.Status, f.FailureRatio)
	}
	if f.Observed9301 != 2 {
		t.Errorf("observed_9301 = %d, want 2 (only B's events whose caller is A)", f.Observed9301)
	}
	for _, want := range []string{
		`1. Set the Stack IP Address Override of connector "TCP to MTA B" on EXA to 10.0.0.2`,
		`HKEY_LOCAL_MACHINE\System\CurrentControlSet\Services\MSExchangeMTA\Parameters\TCP to MTA B\Stack IP Address Override`,
		"2. Restart the Exchange MTA service on EXA",
		`3. Configure connector "TCP to MTA A" on EXB`,
	} {
		if !strings.Contains(f.Fix, want) {
			t.Errorf("fix %q, want it to contain %q", f.Fix, want)
		}
	}
	if strings.Contains(f.Fix, "Service Pack 2") {
		t.Errorf("fix %q asks for SP2 on a server that runs it (5.5.2448.1)", f.Fix)
	}
	if !strings.Contains(f.Prediction, "approximately half") {
		t.Errorf("prediction %q, want it to say approximately half", f.Prediction)
	}
	// B -> A: B is single-homed and A's connector has no stack: no flow.
	if got[1].Status != X400NoFlow || got[1].FailureRatio != 1 {
		t.Errorf("B->A status %q ratio %v, want no_flow 1", got[1].Status, got[1].FailureRatio)
	}
	if !strings.Contains(got[1].Fix, "Add 10.1.0.1") || strings.Contains(got[1].Fix, "Service Pack 2") {
		t.Errorf("B->A fix %q, want adding B's address to A's stack without an override", got[1].Fix)
	}
	// A runs 5.5.2448.1, a Q234962 build: no 9301 proves nothing there.
	if !got[1].BlindSpot || !strings.Contains(got[1].Note, "Q234962") {
		t.Errorf("B->A note %q blind %v, want the Q234962 caveat for A's build 2448", got[1].Note, got[1].BlindSpot)
	}
}

func TestX400ReadsRealEvidence(t *testing.T) {
	// Servers MAIL and MAIL-2: a 9301 naming MAIL-2's stack from a caller
	// that is no server must not be counted against MAIL -> MAIL-2.
	mail := mailnet.Server{ID: 1, Name: "MAIL", Kind: mailnet.ServerKindExchange, Version: "5.5 SP3", Addresses: []string{"10.0.0.1", "10.0.0.2"}}
	mail2 := mailnet.Server{ID: 2, Name: "MAIL-2", Kind: mailnet.ServerKindExchange, Version: "5.5 SP3", Addresses: []string{"10.0.1.1"}}
	local := mailnet.Server{ID: 3, Name: "LocalMTA", Kind: mailnet.ServerKindExchange, Version: "5.5 SP3", Addresses: []string{"10.0.2.1"}}
	remote := mailnet.Server{ID: 4, Name: "RemoteMTA", Kind: mailnet.ServerKindExchange, Version: "5.5 SP3", Addresses: []string{"145.245.193.27"}}
	servers := map[int64]mailnet.Server{1: mail, 2: mail2, 3: local, 4: remote}
	conns := []mailnet.Connector{
		{ID: 10, Kind: "x400", Name: "MAIL to MAIL-2", ServerID: 1, RemoteServerID: 2},
		{ID: 11, Kind: "x400", Name: "MAIL-2 to MAIL", ServerID: 2, RemoteServerID: 1, StackAddresses: []string{"10.0.0.1"}},
		{ID: 12, Kind: "x400", Name: "TCP to LocalMTA", ServerID: 4, RemoteServerID: 3},
		{ID: 13, Kind: "x400", Name: "TCP to RemoteMTA", ServerID: 3, RemoteServerID: 4, StackAddresses: []string{"remotemta.org.com"}},
	}
	now := time.Now()
	t.Run("unknown caller is no connector's", func(t *testing.T) {
		res := BuildX400(conns, servers, evidence(
			store.ReportEvent{ServerID: 2, Time: now, Description: gateway9301("C0A80009", "MAIL-2")}, // 192.168.0.9
		))
		if res.At(0).Observed9301 != 0 {
			t.Errorf("MAIL -> MAIL-2 observed %d, want 0: the caller is no server", res.At(0).Observed9301)
		}
		if len(res.UnknownCallers) != 1 || res.UnknownCallers[0].Address != "192.168.0.9" || res.UnknownCallers[0].ServerID != 2 {
			t.Errorf("unknown callers %+v, want 192.168.0.9 at MAIL-2", res.UnknownCallers)
		}
	})
	t.Run("Q193380's own description is read", func(t *testing.T) {
		res := BuildX400(conns, servers, evidence(store.ReportEvent{ServerID: 3, Time: now, Description: q193380}))
		f := *res.At(2)
		if f.Observed9301 != 1 || f.Failed9301 != 0 {
			t.Errorf("RemoteMTA -> LocalMTA observed %d failed %d, want 1 0", f.Observed9301, f.Failed9301)
		}
		// One 9301 and a host-name Stack entry: Q189345, informational.
		if f.Status != X400OK || !f.ByLookup || !strings.Contains(f.Note, "Q189345") {
			t.Errorf("status %q by lookup %v note %q, want ok by lookup with the Q189345 note", f.Status, f.ByLookup, f.Note)
		}
	})
	t.Run("Q193380's pair means no flow", func(t *testing.T) {
		res := BuildX400(conns, servers, evidence(
			store.ReportEvent{ServerID: 3, Time: now, Description: q193380},
			store.ReportEvent{ServerID: 3, Time: now.Add(2 * time.Second), Description: q193380Second},
		))
		f := *res.At(2)
		if f.Status != X400NoFlow || f.Failed9301 != 1 || f.Observed9301 != 2 {
			t.Errorf("status %q failed %d observed %d, want no_flow 1 2", f.Status, f.Failed9301, f.Observed9301)
		}
		for _, want := range []string{"27.193.245.145.in-addr.arpa IN PTR remotemta.org.com", "nslookup 145.245.193.27"} {
			if !strings.Contains(f.Fix, want) {
				t.Errorf("fix %q, want %q", f.Fix, want)
			}
		}
		if len(res.UnknownCallers) != 0 {
			t.Errorf("unknown callers %+v: the second event's name is the same caller", res.UnknownCallers)
		}
	})
	t.Run("9301 then 9202 means no flow", func(t *testing.T) {
		ev := evidence(store.ReportEvent{ServerID: 3, Time: now, Description: q193380})
		ev.Events9202 = []store.ReportEvent{{ServerID: 3, Time: now.Add(time.Second), Description: q193380_9202}}
		f := BuildX400(conns, servers, ev).At(2)
		if f.Status != X400NoFlow || f.Failed9301 != 1 {
			t.Errorf("status %q failed %d, want no_flow 1", f.Status, f.Failed9301)
		}
	})
}

func TestX400OverrideNeedsSP2(t *testing.T) {
	stack := []string{"10.0.0.1"}
	for _, tt := range []struct {
		version, startup string
		status           string
		sp2First         bool
	}{
		{"5.5.2232.18", "", X400Intermittent, true}, // SP1 ignores the override
		{"5.5 SP1", "", X400Intermittent, true},
		{"5.5 SP2", "", X400OK, false},
		{"5.5 (build 2448.1)", "", X400OK, false},
		// The inventory says SP2 but the MTA reported SP1 at startup.
		{"5.5 SP2", "Microsoft Exchange Server MTA Service startup complete, version 5.5 (build 2232.18).", X400Intermittent, true},
	} {
		t.Run(tt.version+tt.startup, func(t *testing.T) {
			a := mailnet.Server{ID: 1, Name: "EXA", Kind: mailnet.ServerKindExchange, Version: tt.version, Addresses: []string{"10.0.0.1", "10.0.0.2"}}
			b := mailnet.Server{ID: 2, Name: "EXB", Kind: mailnet.ServerKindExchange, Version: "5.5 SP3", Addresses: []string{"10.1.0.1"}}
			conns := []mailnet.Connector{
				{ID: 10, Kind: "x400", Name: "TCP to MTA B", ServerID: 1, RemoteServerID: 2, OverrideAddress: "10.0.0.1"},
				{ID: 11, Kind: "x400", Name: "TCP to MTA A", ServerID: 2, RemoteServerID: 1, StackAddresses: stack},
			}
			ev := X400Evidence{Startups: map[int64]store.ReportEvent{}}
			if tt.startup != "" {
				ev.Startups[1] = store.ReportEvent{ServerID: 1, Description: tt.startup}
			}
			f := BuildX400(conns, map[int64]mailnet.Server{1: a, 2: b}, ev).At(0)
			if f.Status != tt.status {
				t.Errorf("status %q, want %q (%s)", f.Status, tt.status, f.Prediction)
			}
			if got := strings.HasPrefix(f.Fix, "1. Install Exchange Server 5.5 Service Pack 2"); got != tt.sp2First {
				t.Errorf("fix %q: SP2 first = %v, want %v", f.Fix, got, tt.sp2First)
			}
		})
	}
}

func TestX400FromStore(t *testing.T) {
	f := newFx(t)
	site := f.site("S1")
	a := f.server("EXA", site, "exchange", "5.5.2448.0", "A1", "10.0.0.1", "10.0.0.2")
	b := f.server("EXB", site, "exchange", "5.5.2448.0", "B1", "10.1.0.1")
	ab := f.x400("TCP to MTA B", a, b, "")
	f.x400("TCP to MTA A", b, a, "", "10.0.0.1")
	now := time.Now().UTC()
	f.event9301(b, now.Add(-time.Hour), gateway9301("0A000002", "EXB"), nil)
	f.event9301(b, now.Add(-48*time.Hour), gateway9301("0A000002", "EXB"), nil)
	f.event9301(b, now.Add(-time.Minute), "", map[string]string{"remote_address": "10.0.0.2"})

	got, err := X400(context.Background(), f.st)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d findings, want one per x400 connector (2)", len(got))
	}
	if got[0].ConnectorID != ab || got[0].FailureRatio != 0.5 || got[0].Observed9301 != 2 {
		t.Errorf("A->B: connector %d ratio %v observed %d, want %d 0.5 2 (the 48 h old event is outside the window)",
			got[0].ConnectorID, got[0].FailureRatio, got[0].Observed9301, ab)
	}

	// Setting the override to the address B lists clears the finding.
	f.exec(`UPDATE connectors SET override_address = '10.0.0.1' WHERE id = ?`, ab)
	got, err = X400(context.Background(), f.st)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].FailureRatio != 0 || got[0].Status != X400OK {
		t.Errorf("after the override: ratio %v status %q, want 0 ok", got[0].FailureRatio, got[0].Status)
	}
}

// TestX400LazyText: the check without text (X400Check's build) gives the
// same findings as BuildX400 once Page writes a page's text, and leaves
// the rest without it.
func TestX400LazyText(t *testing.T) {
	a := mailnet.Server{ID: 1, Name: "EXA", Kind: mailnet.ServerKindExchange, Version: "5.5 SP1", Addresses: []string{"10.0.0.1", "10.0.0.2"}}
	b := mailnet.Server{ID: 2, Name: "EXB", Kind: mailnet.ServerKindExchange, Version: "5.5.2650.24", Addresses: []string{"10.1.0.1"}}
	conns := []mailnet.Connector{
		{ID: 10, Kind: "x400", Name: "TCP to MTA B", ServerID: 1, RemoteServerID: 2},
		{ID: 11, Kind: "x400", Name: "TCP to MTA A", ServerID: 2, RemoteServerID: 1, StackAddresses: []string{"10.0.0.2"}},
		{ID: 12, Kind: "x400", Name: "TCP to nowhere", ServerID: 2},
	}
	servers := map[int64]mailnet.Server{1: a, 2: b}
	full := BuildX400(conns, servers, X400Evidence{}).Findings()
	lazy := BuildX400Lazy(conns, servers, X400Evidence{})
	if lazy.At(0).Fix != "" {
		t.Errorf("lazy finding has text before Page: %q", lazy.At(0).Fix)
	}
	page, next := lazy.Page(X400Query{Limit: 2})
	if next != 11 || len(page) != 2 {
		t.Fatalf("page of 2: %d findings, next %d; want 2 and 11", len(page), next)
	}
	for i := range page {
		if page[i].Fix != full[i].Fix || page[i].Prediction != full[i].Prediction || page[i].Note != full[i].Note ||
			strings.Join(page[i].FixSteps, "|") != strings.Join(full[i].FixSteps, "|") {
			t.Errorf("finding %d: lazy text %+v, want %+v", i, page[i], full[i])
		}
	}
	if lazy.At(0).Fix != "" {
		t.Errorf("Page wrote into the shared result: %q", lazy.At(0).Fix)
	}
	f := full[0]
	if f.FixKind != FixOverride || f.FixAddress != "10.0.0.2" || !f.NeedsSP2 || f.RemoteConnectorID != 11 {
		t.Errorf("A->B plan: kind %q address %q sp2 %v remote %d; want override 10.0.0.2, SP2 first, remote 11",
			f.FixKind, f.FixAddress, f.NeedsSP2, f.RemoteConnectorID)
	}
	if full[2].FixKind != FixRemote || full[2].Fix == "" {
		t.Errorf("no remote: kind %q fix %q", full[2].FixKind, full[2].Fix)
	}
}
