package actions_test

import (
	"testing"
	"time"

	"mailnet/internal/actions"
	"mailnet/internal/mailnet"
)

// TestRunbookFixesPreparationC: the runbook's one-click fixes set
// MSExchangePCMTA to maximum (with a revert to the level it had) and the
// connector's polling to 1 minute, each with its audit row; a fix already
// in place writes nothing; bad input names its field and changes nothing.
func TestRunbookFixesPreparationC(t *testing.T) {
	a, _ := newInvActions(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	a.Store.Now = func() time.Time { return now }
	site, err := a.CreateSite(invCtx, actions.SiteInput{Name: "HQ"})
	if err != nil {
		t.Fatal(err)
	}
	sv, err := a.CreateServer(invCtx, actions.ServerInput{Name: "EXDX", SiteID: site.ID, Kind: "exchange", Serial: "EX-9", Addresses: []string{"10.0.0.9"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.CreateConnector(invCtx, actions.ConnectorInput{Kind: "msmail", Name: "MS Mail Connector", ServerID: sv.Server.ID,
		Logging: map[string]string{actions.PCMTACategory: "minimum"}})
	if err != nil {
		t.Fatal(err)
	}
	audits := func() int64 {
		return invCount(t, a, `SELECT count(*) FROM audit WHERE action = 'connector.update' AND object_id = ?`, c.ID)
	}

	for _, bad := range []struct {
		in    actions.RunbookFix
		field string
	}{
		{actions.RunbookFix{ConnectorID: c.ID, Fix: "everything"}, "fix"},
		{actions.RunbookFix{ConnectorID: 0, Fix: actions.RunbookFixPoll}, "connector_id"},
		{actions.RunbookFix{ConnectorID: c.ID, Fix: actions.RunbookFixPCMTALogging, RevertAfter: 31 * 24 * time.Hour}, "revert_minutes"},
		{actions.RunbookFix{ConnectorID: c.ID, Fix: actions.RunbookFixPoll, RevertAfter: time.Hour}, "revert_minutes"},
	} {
		if _, err := a.ApplyRunbookFix(invCtx, bad.in); !hasField(err, bad.field) {
			t.Errorf("%+v: got %v, want an error naming %s", bad.in, err, bad.field)
		}
	}
	if n := audits(); n != 0 {
		t.Fatalf("audit rows after refused fixes: %d, want 0", n)
	}

	res, err := a.ApplyRunbookFix(invCtx, actions.RunbookFix{ConnectorID: c.ID, Fix: actions.RunbookFixPCMTALogging, RevertAfter: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !actions.PCMTAAtMaximum(res.Connector) {
		t.Errorf("logging after the fix: %v, want %s at maximum", res.Connector.Logging, actions.PCMTACategory)
	}
	if len(res.Reverts) != 1 || res.Reverts[0].Category != actions.PCMTACategory || res.Reverts[0].To != "minimum" || !res.Reverts[0].At.Equal(now.Add(2*time.Hour)) {
		t.Errorf("reverts: %+v, want %s back to minimum at %s", res.Reverts, actions.PCMTACategory, now.Add(2*time.Hour))
	}
	if n := audits(); n != 1 {
		t.Errorf("audit rows after the logging fix: %d, want 1", n)
	}

	res, err = a.ApplyRunbookFix(invCtx, actions.RunbookFix{ConnectorID: c.ID, Fix: actions.RunbookFixPoll})
	if err != nil {
		t.Fatal(err)
	}
	if res.Connector.PollMinutes != 1 {
		t.Errorf("poll after the fix: %d, want 1", res.Connector.PollMinutes)
	}
	if n := audits(); n != 2 {
		t.Errorf("audit rows after the poll fix: %d, want 2", n)
	}

	// Already in place: nothing is written.
	for _, fix := range []string{actions.RunbookFixPCMTALogging, actions.RunbookFixPoll} {
		if _, err := a.ApplyRunbookFix(invCtx, actions.RunbookFix{ConnectorID: c.ID, Fix: fix}); err != nil {
			t.Fatal(err)
		}
	}
	if n := audits(); n != 2 {
		t.Errorf("audit rows after repeating the fixes: %d, want still 2", n)
	}

	x4, err := a.CreateServer(invCtx, actions.ServerInput{Name: "EXB", SiteID: site.ID, Kind: "exchange", Serial: "EX-10", Addresses: []string{"10.0.0.10"}})
	if err != nil {
		t.Fatal(err)
	}
	xc, err := a.CreateConnector(invCtx, actions.ConnectorInput{Kind: mailnet.ConnectorX400, Name: "X400 to B", ServerID: sv.Server.ID, RemoteServerID: x4.Server.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ApplyRunbookFix(invCtx, actions.RunbookFix{ConnectorID: xc.ID, Fix: actions.RunbookFixPoll}); !hasField(err, "connector_id") {
		t.Errorf("fix on an X.400 connector: got %v, want a connector_id error", err)
	}
}
