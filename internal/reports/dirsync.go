package reports

import (
	"context"
	"fmt"
	"time"

	"mailnet/internal/dirsync"
	"mailnet/internal/store"
)

// DefaultSilentCycles is how many DX cycles a requestor may miss before
// the dir-sync report calls it silent.
const DefaultSilentCycles = 3

// DirSyncRow is a dir-sync requestor (the API's requestor object) with its
// state read from the last ReqTx and SrvTx and its anomalies.
type DirSyncRow struct {
	ID                int64  `json:"id"`
	Network           string `json:"network"`
	Postoffice        string `json:"postoffice"`
	Address           string `json:"address"` // NETWORK/POSTOFFICE
	DXServerID        int64  `json:"dx_server_id"`
	DXServer          string `json:"dx_server"`
	RequestorSync     int64  `json:"requestor_sync"` // R
	ServerSync        int64  `json:"server_sync"`    // S
	Imports           int64  `json:"imports"`        // I
	ExportOnNextCycle bool   `json:"export_on_next_cycle"`

	LastReqTx   string     `json:"last_reqtx"`
	LastReqTxAt *time.Time `json:"last_reqtx_at"`
	LastSrvTx   string     `json:"last_srvtx"`
	LastSrvTxAt *time.Time `json:"last_srvtx_at"`

	// AcknowledgedR is the R that the last SrvTx acknowledged (0: none);
	// Lag is R minus it: requestor updates the server has not confirmed.
	AcknowledgedR int64 `json:"acknowledged_r"`
	Lag           int64 `json:"lag"`
	// CyclesBehind is how many DX cycles have passed since the last ReqTx
	// (since the requestor was registered if it never sent one).
	CyclesBehind int64      `json:"cycles_behind"`
	LastCycleAt  *time.Time `json:"last_cycle_at"` // the later of the last ReqTx and SrvTx
	// PendingExport: Export on Next Cycle is set and waits for a cycle.
	PendingExport bool `json:"pending_export"`
	// Silent: no ReqTx for more than the allowed cycles of the DX's cycle.
	Silent       bool `json:"silent"`
	DXPaused     bool `json:"dx_paused"`
	CycleMinutes int  `json:"cycle_minutes"`
	// Anomalies are those stored while reading ReqTx/SrvTx subjects, then
	// the current ones: silent, DX paused, unacknowledged updates.
	Anomalies []string `json:"anomalies"`
}

// DirSync reports every requestor at time now. A requestor is silent when
// it has sent no ReqTx for more than silentCycles (DefaultSilentCycles if
// not positive) of its DX's cycle_minutes; a paused DX is an anomaly on
// each of its requestors.
func DirSync(ctx context.Context, st *store.Store, now time.Time, silentCycles int) ([]DirSyncRow, error) {
	reqs, err := st.ReportRequestors(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]DirSyncRow, 0, len(reqs))
	for _, r := range reqs {
		out = append(out, BuildDirSyncRow(r, now, silentCycles))
	}
	return out, nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// BuildDirSyncRow is the pure rule of DirSync for one requestor.
func BuildDirSyncRow(r store.ReportRequestor, now time.Time, silentCycles int) DirSyncRow {
	if silentCycles <= 0 {
		silentCycles = DefaultSilentCycles
	}
	cycle := r.CycleMinutes
	if cycle <= 0 {
		cycle = 60
	}
	row := DirSyncRow{
		ID: r.ID, Network: r.Network, Postoffice: r.Postoffice, Address: r.Address(),
		DXServerID: r.DXServerID, DXServer: r.DXServer,
		RequestorSync: r.RequestorSync, ServerSync: r.ServerSync, Imports: r.Imports,
		ExportOnNextCycle: r.ExportOnNextCycle, PendingExport: r.ExportOnNextCycle,
		LastReqTx: r.LastReqTx, LastReqTxAt: timePtr(r.LastReqTxAt),
		LastSrvTx: r.LastSrvTx, LastSrvTxAt: timePtr(r.LastSrvTxAt),
		DXPaused: r.DXPaused, CycleMinutes: cycle,
		Anomalies: append([]string{}, r.Anomalies...),
	}
	if tx, ok := dirsync.Parse(r.LastSrvTx); ok && tx.Kind == dirsync.SrvTx {
		row.AcknowledgedR = tx.R
	}
	if r.LastReqTx != "" || r.LastSrvTx != "" {
		row.Lag = max(0, r.RequestorSync-row.AcknowledgedR)
	}
	last := r.LastReqTxAt
	if r.LastSrvTxAt.After(last) {
		last = r.LastSrvTxAt
	}
	row.LastCycleAt = timePtr(last)

	since := r.LastReqTxAt
	if since.IsZero() {
		since = r.CreatedAt
	}
	if !since.IsZero() && now.After(since) {
		row.CyclesBehind = int64(now.Sub(since) / (time.Duration(cycle) * time.Minute))
	}
	row.Silent = row.CyclesBehind > int64(silentCycles)

	if row.DXPaused {
		row.Anomalies = append(row.Anomalies, fmt.Sprintf("the DX server %s is paused: no dir-sync cycle runs for this requestor", nameOr(r.DXServer, r.DXServerID)))
	}
	if !r.DXKnown {
		row.Anomalies = append(row.Anomalies, fmt.Sprintf("server %s has no DX settings: it is not a dir-sync server", nameOr(r.DXServer, r.DXServerID)))
	}
	if row.Silent {
		if r.LastReqTxAt.IsZero() {
			row.Anomalies = append(row.Anomalies, fmt.Sprintf("silent: no ReqTx since the requestor was registered, %d cycles of %d minutes ago (more than %d)", row.CyclesBehind, cycle, silentCycles))
		} else {
			row.Anomalies = append(row.Anomalies, fmt.Sprintf("silent: no ReqTx for %d cycles of %d minutes (more than %d)", row.CyclesBehind, cycle, silentCycles))
		}
	}
	return row
}

func nameOr(name string, id int64) string {
	if name != "" {
		return name
	}
	return fmt.Sprintf("%d", id)
}
