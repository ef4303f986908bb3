package reports

import (
	"context"
	"fmt"
	"strings"
	"time"

	"mailnet/internal/dirsync"
	"mailnet/internal/store"
)

// DefaultSilentCycles is how many DX cycles a requestor may miss before
// the dir-sync report calls it silent.
const DefaultSilentCycles = 3

// Dir-sync status words.
const (
	StatusInSync  = "in_sync"
	StatusWaiting = "waiting_t2" // T1 done, the DX has not answered yet
	StatusBehind  = "behind"
	StatusSilent  = "silent"
)

// DirSyncRow is a dir-sync requestor (the API's requestor object) with its
// state read from the last ReqTx and SrvTx and its findings.
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
	// Unacknowledged is R minus it: requestor updates the server has not
	// confirmed yet (normal between T1 and T2).
	AcknowledgedR  int64 `json:"acknowledged_r"`
	Unacknowledged int64 `json:"unacknowledged"`
	// Lag is counted in cycles of the DX's schedule: whole cycles since
	// the requestor's last complete cycle (its last SrvTx; its
	// registration if it never had one). 0 or 1 is normal.
	Lag int64 `json:"lag"`
	// CyclesBehind is how many DX cycles have passed since the last ReqTx
	// (since the requestor was registered if it never sent one).
	CyclesBehind int64      `json:"cycles_behind"`
	LastCycleAt  *time.Time `json:"last_cycle_at"` // the later of the last ReqTx and SrvTx
	// Status is in_sync, waiting_t2, behind or silent; StatusText says it
	// in words ("behind 3 cycles").
	Status     string `json:"status"`
	StatusText string `json:"status_text"`
	// PendingExport: Export on Next Cycle is set and waits for a cycle.
	PendingExport bool `json:"pending_export"`
	// Silent: no ReqTx for more than the allowed cycles of the DX's cycle.
	Silent       bool `json:"silent"`
	DXPaused     bool `json:"dx_paused"`
	CycleMinutes int  `json:"cycle_minutes"`
	// DXNote says what a paused DX means for this version: on Exchange
	// 5.0 and later (and 4.0 with PauseKicksDX=1) pausing triggers T2.
	DXNote string `json:"dx_note,omitempty"`
	// Findings are the open findings: stored (from the events) and those
	// the inventory shows now (R19 (a), R22's names, a 4.0 DX without
	// PauseKicksDX). Anomalies are their texts, plus silence.
	Findings  []store.DirSyncFinding `json:"findings"`
	Anomalies []string               `json:"anomalies"`
	// The inventory facts the rules R19 (b), R19 (c) and R21 (a) read.
	store.RequestorFacts
}

// DirSync reports every requestor at time now. A requestor is silent when
// it has sent no ReqTx for more than silentCycles (DefaultSilentCycles if
// not positive) of its DX's cycle_minutes.
func DirSync(ctx context.Context, st *store.Store, now time.Time, silentCycles int) ([]DirSyncRow, error) {
	reqs, err := st.ReportRequestors(ctx)
	if err != nil {
		return nil, err
	}
	open, err := st.DirSyncFindings(ctx, store.FindingFilter{Open: true, Limit: 1000})
	if err != nil {
		return nil, err
	}
	byReq := map[int64][]store.DirSyncFinding{}
	for _, f := range open {
		if f.RequestorID != 0 {
			byReq[f.RequestorID] = append(byReq[f.RequestorID], f)
		}
	}
	addrs := make([]string, len(reqs))
	for i := range reqs {
		addrs[i] = reqs[i].Address()
	}
	collide := dirsync.PrefixCollisions(addrs)
	facts, err := st.LoadDirSyncRuleFacts(ctx, changeCandidates(reqs))
	if err != nil {
		return nil, err
	}
	out := make([]DirSyncRow, 0, len(reqs))
	for _, r := range reqs {
		row := BuildDirSyncRow(r, now, silentCycles)
		stored := byReq[r.ID]
		// Oldest first, after the current ones.
		for i := len(stored) - 1; i >= 0; i-- {
			row.Findings = append(row.Findings, stored[i])
			row.Anomalies = append(row.Anomalies, stored[i].Text)
		}
		for _, f := range collide[r.Address()] {
			row.Findings = append(row.Findings, current(f))
			row.Anomalies = append(row.Anomalies, f.Text)
		}
		addInventoryFindings(&row, r, facts, now)
		out = append(out, row)
	}
	return out, nil
}

func current(f dirsync.Finding) store.DirSyncFinding {
	return store.DirSyncFinding{Rule: f.Rule, Kind: f.Kind, Severity: f.Severity, Text: f.Text, Cause: f.Cause, Fix: f.Fix, Source: f.Source}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// PauseTriggersT2 reports whether pausing the DX of this Exchange version
// triggers T2: by default from 5.0 on; on 4.0 only with PauseKicksDX=1.
func PauseTriggersT2(version string, pauseKicksDX bool) bool {
	return pauseKicksDX || !strings.HasPrefix(strings.TrimSpace(version), "4.")
}

// BuildDirSyncRow is the pure rule of DirSync for one requestor, without
// its stored findings.
func BuildDirSyncRow(r store.ReportRequestor, now time.Time, silentCycles int) DirSyncRow {
	if silentCycles <= 0 {
		silentCycles = DefaultSilentCycles
	}
	cycle := r.CycleMinutes
	if cycle <= 0 {
		cycle = 60
	}
	period := time.Duration(cycle) * time.Minute
	row := DirSyncRow{
		ID: r.ID, Network: r.Network, Postoffice: r.Postoffice, Address: r.Address(),
		DXServerID: r.DXServerID, DXServer: r.DXServer,
		RequestorSync: r.RequestorSync, ServerSync: r.ServerSync, Imports: r.Imports,
		ExportOnNextCycle: r.ExportOnNextCycle, PendingExport: r.ExportOnNextCycle,
		LastReqTx: r.LastReqTx, LastReqTxAt: timePtr(r.LastReqTxAt),
		LastSrvTx: r.LastSrvTx, LastSrvTxAt: timePtr(r.LastSrvTxAt),
		DXPaused: r.DXPaused, CycleMinutes: cycle,
		Findings: []store.DirSyncFinding{}, Anomalies: []string{},
	}
	if tx, ok := dirsync.Parse(r.LastSrvTx); ok && tx.Kind == dirsync.SrvTx {
		row.AcknowledgedR = tx.R
	}
	if r.LastReqTx != "" || r.LastSrvTx != "" {
		row.Unacknowledged = max(0, r.RequestorSync-row.AcknowledgedR)
	}
	last := r.LastReqTxAt
	if r.LastSrvTxAt.After(last) {
		last = r.LastSrvTxAt
	}
	row.LastCycleAt = timePtr(last)

	cycles := func(since time.Time) int64 {
		if since.IsZero() || !now.After(since) {
			return 0
		}
		return int64(now.Sub(since) / period)
	}
	sinceReq := r.LastReqTxAt
	if sinceReq.IsZero() {
		sinceReq = r.CreatedAt
	}
	row.CyclesBehind = cycles(sinceReq)
	complete := r.LastSrvTxAt
	if complete.IsZero() {
		complete = r.CreatedAt
	}
	row.Lag = cycles(complete)
	row.Silent = row.CyclesBehind > int64(silentCycles)
	waiting := !r.LastReqTxAt.IsZero() && r.LastReqTxAt.After(r.LastSrvTxAt)
	switch {
	case row.Silent:
		row.Status, row.StatusText = StatusSilent, "silent"
	case row.Lag >= 2:
		row.Status, row.StatusText = StatusBehind, fmt.Sprintf("behind %d cycles", row.Lag)
	case waiting:
		row.Status, row.StatusText = StatusWaiting, "waiting for T2"
	default:
		row.Status, row.StatusText = StatusInSync, "in sync"
	}

	name := nameOr(r.DXServer, r.DXServerID)
	if r.DXPaused {
		if PauseTriggersT2(r.DXVersion, r.PauseKicksDX) {
			row.DXNote = fmt.Sprintf("%s is paused: on this version pausing the DX triggers T2, so the cycle runs (\"Error 2140: An internal Windows NT error occurred\" on pause is harmless)", name)
		} else {
			row.DXNote = fmt.Sprintf("%s is paused, but on Exchange 4.0 pausing triggers T2 only with PauseKicksDX=1", name)
		}
	}
	add := func(f store.DirSyncFinding) {
		row.Findings = append(row.Findings, f)
		row.Anomalies = append(row.Anomalies, f.Text)
	}
	if !r.DXKnown {
		add(store.DirSyncFinding{Rule: "DX", Kind: "no-dx-settings", Severity: "warning",
			Text: fmt.Sprintf("server %s has no DX settings: it is not a dir-sync server", name)})
	}
	if r.DXKnown && !PauseTriggersT2(r.DXVersion, r.PauseKicksDX) {
		add(store.DirSyncFinding{Rule: "DX", Kind: "pause-kicks-dx-missing", Severity: "warning",
			Text:   fmt.Sprintf("%s runs Exchange %s: pausing the DX does not trigger T2 until PauseKicksDX=1 is set and the service restarted", name, r.DXVersion),
			Cause:  "\"For Microsoft Exchange Server version 4.0, enable the Pause button\"",
			Fix:    `Add PauseKicksDX (REG_DWORD 1) under HKLM\SYSTEM\CurrentControlSet\Services\MSExchangeDX, then stop and restart the Microsoft Exchange Directory Synchronization service.`,
			Source: "Q147464"})
	}
	if r.RequestorSync == 0 && r.ServerSync == 0 && r.Imports == 0 && r.LastReqTx == "" && r.LastSrvTx == "" && !r.ExportOnNextCycle {
		f := dirsync.Finding{Rule: "R19(a)", Kind: dirsync.KindNewWithoutExport, Severity: "warning",
			Text:   fmt.Sprintf("New requestor %s will not receive the full Exchange address list", r.Address()),
			Cause:  "\"Place a check mark in the 'Export on Next Cycle' box\" when creating a Remote Dirsync Requestor",
			Fix:    "Set Export on Next Cycle for this requestor.",
			Source: "Q180297, Q269129"}
		add(current(f))
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
