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

func TestContainsToken(t *testing.T) {
	tests := []struct {
		s, tok string
		want   bool
	}{
		{"connection from 10.0.0.1 refused", "10.0.0.1", true},
		{"connection from 10.0.0.12 refused", "10.0.0.1", false},
		{"10.0.0.1", "10.0.0.1", true},
		{"from 110.0.0.1", "10.0.0.1", false},
		{"(10.0.0.1)", "10.0.0.1", true},
	}
	for _, tt := range tests {
		if got := containsToken(tt.s, tt.tok); got != tt.want {
			t.Errorf("containsToken(%q, %q) = %v, want %v", tt.s, tt.tok, got, tt.want)
		}
	}
}

func TestBuildX400Fix(t *testing.T) {
	a := mailnet.Server{ID: 1, Name: "EXA", Kind: mailnet.KindExchange, Version: "5.5.2232.0", Addresses: []string{"10.0.0.1", "10.0.0.2"}}
	b := mailnet.Server{ID: 2, Name: "EXB", Kind: mailnet.KindExchange, Version: "5.5.2448.0", Addresses: []string{"10.1.0.1"}}
	conns := []mailnet.Connector{
		{ID: 10, Kind: "x400", Name: "TCP to MTA B", ServerID: 1, RemoteServerID: 2},
		{ID: 11, Kind: "x400", Name: "TCP to MTA A", ServerID: 2, RemoteServerID: 1, StackAddresses: []string{"10.0.0.2"}},
	}
	servers := map[int64]mailnet.Server{1: a, 2: b}
	events := []store.ReportEvent{
		{ServerID: 2, Description: "connection from 10.0.0.1 was refused"},
		{ServerID: 2, Fields: map[string]string{"remote_address": "10.0.0.1"}},
		{ServerID: 2, Description: "connection from 10.0.0.17 was refused"},
		{ServerID: 1, Description: "connection from 10.0.0.1 was refused"},
	}
	got := BuildX400(conns, servers, events)
	if len(got) != 2 {
		t.Fatalf("%d findings, want 2", len(got))
	}
	f := got[0]
	if f.Status != X400Intermittent || f.FailureRatio != 0.5 {
		t.Errorf("status %q ratio %v, want intermittent 0.5", f.Status, f.FailureRatio)
	}
	if f.Observed9301 != 2 {
		t.Errorf("observed_9301 = %d, want 2 (only B's events naming A's addresses)", f.Observed9301)
	}
	for _, want := range []string{
		`Stack IP Address Override of connector "TCP to MTA B" on EXA to 10.0.0.2`,
		`HKEY_LOCAL_MACHINE\System\CurrentControlSet\Services\MSExchangeMTA\Parameters\TCP to MTA B\Stack IP Address Override`,
		"Restart the Exchange MTA service on EXA",
		`connector "TCP to MTA A" on EXB`,
		"Service Pack 2 (MTA 5.5.2431.0)",
	} {
		if !strings.Contains(f.Fix, want) {
			t.Errorf("fix %q, want it to contain %q", f.Fix, want)
		}
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
	if !strings.Contains(got[1].Note, "KB 234962") {
		t.Errorf("B->A note %q, want the KB 234962 caveat (failures predicted, none observed)", got[1].Note)
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
	f.event9301(b, now.Add(-time.Hour), "connection from 10.0.0.2 refused", nil)
	f.event9301(b, now.Add(-48*time.Hour), "connection from 10.0.0.2 refused", nil)
	f.event9301(b, now.Add(-time.Minute), "", map[string]string{"connector": "TCP to MTA B"})

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
