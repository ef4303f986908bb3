package reports

import (
	"context"
	"strings"
	"testing"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

func TestBuildDirSyncRow(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	base := store.ReportRequestor{
		Requestor: mailnet.Requestor{ID: 1, Network: "NET", Postoffice: "PO1", DXServerID: 9,
			RequestorSync: 12, ServerSync: 8, Imports: 3,
			LastReqTx: "ReqTx R=12 (was 11), S=8, I=3, 5 sent.", LastReqTxAt: now.Add(-30 * time.Minute),
			LastSrvTx: "SrvTx R=11 S=8 (was 7), I=3 4 sent", LastSrvTxAt: now.Add(-20 * time.Minute),
			Anomalies: []string{"stored one"}},
		CreatedAt: now.Add(-100 * time.Hour), DXServer: "DX1", DXKnown: true, CycleMinutes: 60,
	}
	tests := []struct {
		name      string
		mod       func(r *store.ReportRequestor)
		lag       int64
		silent    bool
		anomalies []string // substrings, in order
	}{
		{"in step", func(r *store.ReportRequestor) {}, 1, false, []string{"stored one"}},
		{"silent for more than three cycles", func(r *store.ReportRequestor) { r.LastReqTxAt = now.Add(-4*time.Hour - time.Minute) }, 1, true,
			[]string{"stored one", "silent: no ReqTx for 4 cycles of 60 minutes"}},
		{"exactly three cycles is not silent", func(r *store.ReportRequestor) { r.LastReqTxAt = now.Add(-3 * time.Hour) }, 1, false, []string{"stored one"}},
		{"short cycles", func(r *store.ReportRequestor) { r.CycleMinutes = 5 }, 1, true, []string{"stored one", "silent: no ReqTx for 6 cycles of 5 minutes"}},
		{"never sent a ReqTx", func(r *store.ReportRequestor) {
			r.LastReqTx, r.LastReqTxAt, r.LastSrvTx, r.LastSrvTxAt, r.Anomalies = "", time.Time{}, "", time.Time{}, nil
		}, 0, true, []string{"silent: no ReqTx since the requestor was registered"}},
		{"paused DX", func(r *store.ReportRequestor) { r.DXPaused = true }, 1, false, []string{"stored one", "DX server DX1 is paused"}},
		{"acknowledged", func(r *store.ReportRequestor) { r.LastSrvTx = "SrvTx R=12 S=8 (was 7), I=3 4 sent" }, 0, false, []string{"stored one"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			r.Anomalies = append([]string(nil), base.Anomalies...)
			tt.mod(&r)
			got := BuildDirSyncRow(r, now, 3)
			if got.Lag != tt.lag || got.Silent != tt.silent {
				t.Errorf("lag %d silent %v, want %d %v", got.Lag, got.Silent, tt.lag, tt.silent)
			}
			if len(got.Anomalies) != len(tt.anomalies) {
				t.Fatalf("anomalies %q, want %d matching %q", got.Anomalies, len(tt.anomalies), tt.anomalies)
			}
			for i, want := range tt.anomalies {
				if !strings.Contains(got.Anomalies[i], want) {
					t.Errorf("anomaly %d = %q, want it to contain %q", i, got.Anomalies[i], want)
				}
			}
		})
	}
}

func TestDirSyncFromStore(t *testing.T) {
	f := newFx(t)
	site := f.site("S")
	dx := f.server("DX1", site, "exchange", "5.5", "1")
	f.exec(`INSERT INTO dx_servers (server_id, paused, cycle_minutes, updated_at) VALUES (?, 1, 60, ?)`, dx, f.now)
	f.exec(`INSERT INTO requestors (network, postoffice, dx_server_id, requestor_sync, server_sync, export_on_next_cycle, anomalies, created_at, updated_at)
		VALUES ('NET', 'PO1', ?, 4, 2, 1, '["SrvTx acknowledges R=3, but the requestor''s last R is 4"]', ?, ?)`, dx, f.now, f.now)
	rows, err := DirSync(context.Background(), f.st, time.Now().UTC(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	r := rows[0]
	if r.Address != "NET/PO1" || !r.DXPaused || !r.PendingExport || r.RequestorSync != 4 || r.ServerSync != 2 {
		t.Errorf("row %+v, want NET/PO1 paused, pending export, R=4 S=2", r)
	}
	if len(r.Anomalies) != 2 || !strings.Contains(r.Anomalies[0], "acknowledges R=3") || !strings.Contains(r.Anomalies[1], "paused") {
		t.Errorf("anomalies %q, want the stored one then the paused DX", r.Anomalies)
	}
}
