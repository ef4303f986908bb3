package reports

import (
	"context"
	"strings"
	"testing"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

func TestBuildDirSyncRowStatusAndLagInCycles(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	base := store.ReportRequestor{
		Requestor: mailnet.Requestor{ID: 1, Network: "NET", Postoffice: "PO1", DXServerID: 9,
			RequestorSync: 12, ServerSync: 20, Imports: 3,
			LastReqTx: "ReqTx R=12 (was 11), S=19, I=3, 1 sent.", LastReqTxAt: now.Add(-30 * time.Minute),
			LastSrvTx: "SrvTx R=11 S=19 (was 18), I=3 1 sent", LastSrvTxAt: now.Add(-40 * time.Minute)},
		CreatedAt: now.Add(-100 * time.Hour), DXServer: "DX1", DXKnown: true, CycleMinutes: 60, DXVersion: "5.5",
	}
	tests := []struct {
		name   string
		mod    func(r *store.ReportRequestor)
		status string
		text   string
		lag    int64
	}{
		// Mid-cycle: T1 done, one update not acknowledged yet. Normal, not "lagging".
		{"T1 done, waiting for T2", func(r *store.ReportRequestor) {}, StatusWaiting, "waiting for T2", 0},
		{"acknowledged", func(r *store.ReportRequestor) {
			r.LastSrvTx, r.LastSrvTxAt = "SrvTx R=12 S=20 (was 19), I=3 1 sent", now.Add(-10*time.Minute)
		}, StatusInSync, "in sync", 0},
		{"one cycle since the last SrvTx is normal", func(r *store.ReportRequestor) {
			r.LastSrvTxAt, r.LastReqTxAt = now.Add(-70*time.Minute), now.Add(-80*time.Minute)
		}, StatusInSync, "in sync", 1},
		// ReqTx still coming, but no SrvTx for six cycles: behind, with its lag.
		{"six cycles without a SrvTx", func(r *store.ReportRequestor) {
			r.LastSrvTxAt = now.Add(-6*time.Hour - time.Minute)
		}, StatusBehind, "behind 6 cycles", 6},
		{"silent", func(r *store.ReportRequestor) {
			r.LastReqTxAt, r.LastSrvTxAt = now.Add(-6*time.Hour-time.Minute), now.Add(-6*time.Hour)
		}, StatusSilent, "silent", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			tt.mod(&r)
			got := BuildDirSyncRow(r, now, 3)
			if got.Status != tt.status || got.StatusText != tt.text || got.Lag != tt.lag {
				t.Errorf("status %s %q lag %d, want %s %q lag %d", got.Status, got.StatusText, got.Lag, tt.status, tt.text, tt.lag)
			}
		})
	}
}

func TestBuildDirSyncRowPausedDX(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	r := store.ReportRequestor{Requestor: mailnet.Requestor{ID: 1, Network: "NET", Postoffice: "PO1", RequestorSync: 1, ServerSync: 1,
		LastSrvTx: "SrvTx R=1 S=1 (was 0), I=0 1 sent", LastSrvTxAt: now, LastReqTx: "ReqTx R=1 (was 0), S=0, I=0, 1 sent.", LastReqTxAt: now},
		CreatedAt: now, DXServer: "DX1", DXKnown: true, DXPaused: true, CycleMinutes: 60, DXVersion: "5.0"}
	got := BuildDirSyncRow(r, now, 3)
	if len(got.Findings) != 0 || !strings.Contains(got.DXNote, "triggers T2") {
		t.Errorf("paused 5.0 DX: findings %q note %q; want no anomaly and the T2 note", got.Anomalies, got.DXNote)
	}
	r.DXVersion = "4.0"
	got = BuildDirSyncRow(r, now, 3)
	if len(got.Findings) != 1 || got.Findings[0].Kind != "pause-kicks-dx-missing" || !strings.Contains(got.Findings[0].Fix, `HKLM\SYSTEM\CurrentControlSet\Services\MSExchangeDX`) {
		t.Errorf("4.0 DX without PauseKicksDX: %+v", got.Findings)
	}
	r.PauseKicksDX = true
	if got = BuildDirSyncRow(r, now, 3); len(got.Findings) != 0 {
		t.Errorf("4.0 DX with PauseKicksDX=1: %+v, want none", got.Findings)
	}
}

func TestBuildDirSyncRowNewRequestorWithoutExport(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	r := store.ReportRequestor{Requestor: mailnet.Requestor{ID: 1, Network: "NET", Postoffice: "NEW"},
		CreatedAt: now, DXServer: "DX1", DXKnown: true, CycleMinutes: 60, DXVersion: "5.5"}
	got := BuildDirSyncRow(r, now, 3)
	if len(got.Findings) != 1 || got.Findings[0].Rule != "R19(a)" {
		t.Fatalf("new requestor without export: %+v, want R19(a)", got.Findings)
	}
	r.ExportOnNextCycle = true
	if got = BuildDirSyncRow(r, now, 3); len(got.Findings) != 0 {
		t.Errorf("with Export on Next Cycle set: %+v, want none", got.Findings)
	}
}

func TestDirSyncFromStore(t *testing.T) {
	f := newFx(t)
	site := f.site("S")
	dx := f.server("DX1", site, "exchange", "5.5", "1")
	f.exec(`INSERT INTO dx_servers (server_id, paused, cycle_minutes, updated_at) VALUES (?, 1, 60, ?)`, dx, f.now)
	f.exec(`INSERT INTO requestors (network, postoffice, dx_server_id, requestor_sync, server_sync, export_on_next_cycle, created_at, updated_at)
		VALUES ('ANZAUDCU', 'MEL227TRK0', ?, 4, 2, 1, ?, ?), ('ANZAUDCU', 'MEL227TRK', ?, 0, 0, 1, ?, ?)`, dx, f.now, f.now, dx, f.now, f.now)
	f.exec(`INSERT INTO dirsync_findings (requestor_id, rule, kind, severity, text, opened_at, seen_at) VALUES
		(1, 'R15(3)', 'srvtx-missed-reqtx', 'warning', 'SrvTx to ANZAUDCU/MEL227TRK0 acknowledges R=3', ?, ?),
		(1, 'R16', 'import-sync-regression', 'error', 'resolved one', ?, ?)`, f.now, f.now, f.now, f.now)
	f.exec(`UPDATE dirsync_findings SET resolved_at = ?, resolution = 'cleared' WHERE rule = 'R16'`, f.now)
	rows, err := DirSync(context.Background(), f.st, time.Now().UTC(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	r := rows[1]
	if r.Address != "ANZAUDCU/MEL227TRK0" || !r.DXPaused || !r.PendingExport || r.RequestorSync != 4 || r.ServerSync != 2 || r.DXNote == "" {
		t.Errorf("row %+v, want MEL227TRK0 paused (with the note), pending export, R=4 S=2", r)
	}
	var rules []string
	for _, f := range r.Findings {
		rules = append(rules, f.Rule)
	}
	if strings.Join(rules, ",") != "R15(3),R22" {
		t.Errorf("findings %q, want the open stored one and the R22 name collision, not the resolved one", rules)
	}
}
