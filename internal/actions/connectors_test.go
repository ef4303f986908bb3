package actions_test

import (
	"context"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"mailnet/internal/actions"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// TestLoggingRevertSurvivesRestart: a logging level set with a revert time
// is set back by the console at that time (by the store's clock), after a
// restart too, with its own audit row; a category raised twice reverts to
// the level it had first.
func TestLoggingRevertSurvivesRestart(t *testing.T) {
	ctx := invCtx
	path := filepath.Join(t.TempDir(), "revert.db")
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	open := func() *actions.Actions {
		st, err := store.Open(context.Background(), path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		st.Now = func() time.Time { return now }
		return actions.New(st, nil, nil)
	}
	a := open()
	site, err := a.CreateSite(ctx, actions.SiteInput{Name: "HQ"})
	if err != nil {
		t.Fatal(err)
	}
	sv, err := a.CreateServer(ctx, actions.ServerInput{Name: "EXCH-A", SiteID: site.ID, Kind: "exchange", Serial: "EX-1", Addresses: []string{"10.0.0.5"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.CreateConnector(ctx, actions.ConnectorInput{Kind: "msmail", Name: "MS Mail Connector", ServerID: sv.Server.ID,
		Logging: map[string]string{"Interface": "minimum"}})
	if err != nil {
		t.Fatal(err)
	}
	level := func(s string) *string { return &s }
	at := now.Add(2 * time.Hour)
	p := actions.ConnectorPatch{
		Logging:         actions.Some(map[string]*string{"Interface": level("maximum"), "Maintenance": level("medium")}),
		LoggingRevertAt: actions.Some(at),
	}
	res, err := a.UpdateConnector(ctx, c.ID, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Reverts) != 2 {
		t.Fatalf("scheduled reverts: %+v, want Interface and Maintenance", res.Reverts)
	}
	// Raised again before the revert: still reverts to minimum.
	if _, err := a.UpdateConnector(ctx, c.ID, actions.ConnectorPatch{Logging: actions.Some(map[string]*string{"Interface": level("medium")}),
		LoggingRevertAt: actions.Some(at)}); err != nil {
		t.Fatal(err)
	}
	// In the past: refused, naming the field.
	if _, err := a.UpdateConnector(ctx, c.ID, actions.ConnectorPatch{Logging: actions.Some(map[string]*string{"Interface": level("maximum")}),
		LoggingRevertAt: actions.Some(now.Add(-time.Minute))}); err == nil || !hasField(err, "logging_revert_at") {
		t.Errorf("revert time in the past: got %v, want a logging_revert_at error", err)
	}
	if n, err := a.RevertDueLogging(ctx); err != nil || n != 0 {
		t.Fatalf("reverts before the time: %d, %v; want none", n, err)
	}
	a.Store.Close()

	// The console restarts after the revert time.
	now = at.Add(time.Minute)
	a = open()
	defer a.Store.Close()
	n, err := a.RevertDueLogging(ctx)
	if err != nil || n != 2 {
		t.Fatalf("reverts after restart: %d, %v; want 2", n, err)
	}
	got, err := a.Store.ConnectorByID(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got.Logging, map[string]string{"Interface": "minimum"}) {
		t.Errorf("logging after the revert: %v, want Interface back to minimum and Maintenance gone", got.Logging)
	}
	if k := invCount(t, a, `SELECT count(*) FROM audit WHERE action = 'connector.logging_revert' AND object_id = ?`, c.ID); k != 1 {
		t.Errorf("revert audit rows: %d, want 1", k)
	}
	if k := invCount(t, a, `SELECT count(*) FROM connector_logging_reverts`); k != 0 {
		t.Errorf("reverts left after applying: %d", k)
	}
	if n, err := a.RevertDueLogging(ctx); err != nil || n != 0 {
		t.Errorf("second pass: %d, %v; want nothing left", n, err)
	}
}

func hasField(err error, field string) bool {
	e, ok := mailnet.AsError(err)
	return ok && e.Field == field
}
