package actions

import (
	"context"
	"fmt"
	"strings"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// DXPatch changes a directory synchronization server's settings (the DX
// server's General property page), as a JSON merge patch (RFC 7396):
// absent fields stay; null clears (no admin account, the switches off,
// cycle_minutes back to DefaultDXCycleMinutes).
type DXPatch struct {
	AdminAccount   Patch[string] `json:"admin_account"`
	Paused         Patch[bool]   `json:"paused"`
	CopyAdmin      Patch[bool]   `json:"copy_admin"`
	ForwardToAdmin Patch[bool]   `json:"forward_to_admin"`
	CycleMinutes   Patch[int]    `json:"cycle_minutes"`
	// PauseKicksDX records that PauseKicksDX=1 is set in the registry of
	// an Exchange 4.0 DX (and the service restarted), so pausing triggers T2.
	PauseKicksDX Patch[bool] `json:"pause_kicks_dx"`
	// KeepUpdatesDays is the DX's Keep Updates time in days (R17 (b),
	// Q108067); null makes it unknown again.
	KeepUpdatesDays Patch[int] `json:"keep_updates_days"`
	// RequestorOf names the MS Mail dir-sync server (NETWORK/POSTOFFICE)
	// this server's Dir-Sync Requestor object requests from (R21 (b),
	// Q201084); null or "" clears it.
	RequestorOf Patch[string] `json:"requestor_of"`
}

// DXSettings are a DX server's settings as the pages and the API show them.
type DXSettings struct {
	mailnet.DXServer
	PauseKicksDX bool `json:"pause_kicks_dx"`
}

// DefaultDXCycleMinutes is the dir-sync cycle of a new DX server (the
// schema's default).
const DefaultDXCycleMinutes = 60

// UpdateDXServer applies p to the DX settings of server serverID, making
// the Exchange server a DX server if it is not one yet.
func (a *Actions) UpdateDXServer(ctx context.Context, serverID int64, p DXPatch) (DXSettings, error) {
	var d DXSettings
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		sv, err := tx.ServerByID(ctx, serverID)
		if err != nil {
			return err
		}
		if sv.Kind != mailnet.ServerKindExchange {
			return mailnet.Invalid("server_id", "server %s is %s; only an Exchange server can be a dir-sync server", sv.Name, sv.Kind)
		}
		if sv.Status == mailnet.StatusDecommissioned {
			return mailnet.Invalid("server_id", "server %s is decommissioned", sv.Name)
		}
		var before any
		if _, err := tx.EnsureDXServer(ctx, serverID); err != nil {
			return err
		}
		old, err := tx.DXServer(ctx, serverID)
		if err != nil {
			return err
		}
		kicks, err := tx.DXPauseKicksOf(ctx, serverID)
		if err != nil {
			return err
		}
		before, d = DXSettings{old, kicks}, DXSettings{old, kicks}
		if p.AdminAccount.Set {
			d.AdminAccount = strings.TrimSpace(p.AdminAccount.Value)
			if err := checkText("admin_account", d.AdminAccount, MaxNameLen); err != nil {
				return err
			}
		}
		if p.Paused.Set {
			d.Paused = p.Paused.Value
		}
		if p.CopyAdmin.Set {
			d.CopyAdmin = p.CopyAdmin.Value
		}
		if p.ForwardToAdmin.Set {
			d.ForwardToAdmin = p.ForwardToAdmin.Value
		}
		if p.CycleMinutes.Set {
			m := p.CycleMinutes.Or(DefaultDXCycleMinutes)
			if m < 1 || m > 1440 {
				return mailnet.Invalid("cycle_minutes", "cycle_minutes must be from 1 to 1440, not %d", m)
			}
			d.CycleMinutes = m
		}
		if p.PauseKicksDX.Set {
			d.PauseKicksDX = p.PauseKicksDX.Value
		}
		if err := applyDXRuleFacts(&d.DXServer, p); err != nil {
			return err
		}
		if err := tx.UpsertDXServer(ctx, d.DXServer); err != nil {
			return err
		}
		if err := tx.SetDXPauseKicks(ctx, serverID, d.PauseKicksDX); err != nil {
			return err
		}
		return tx.Audit(ctx, "dx.update", "dx_server", serverID, before, d, "")
	})
	if err != nil {
		return DXSettings{}, fmt.Errorf("update dx server %d: %w", serverID, err)
	}
	a.published("dx_server", serverID, "updated")
	return d, nil
}

// RunInput starts a run of the manual dir-sync procedure for the chosen
// requestors (IDs) or every requestor of a Network; Drive is the drive
// letter connected to the Mail database, filled into the commands.
type RunInput struct {
	IDs     []int64 `json:"ids"`
	Network string  `json:"network"`
	Drive   string  `json:"drive"`
}

// StartRun records a run of the manual procedure (who, when, which
// requestors), audited.
func (a *Actions) StartRun(ctx context.Context, in RunInput) (store.DirSyncRun, error) {
	drive := strings.ToUpper(strings.TrimSuffix(strings.TrimSpace(in.Drive), ":"))
	if drive == "" {
		drive = "M"
	}
	if len(drive) != 1 || drive[0] < 'A' || drive[0] > 'Z' {
		return store.DirSyncRun{}, mailnet.Invalid("drive", "drive must be one letter A to Z, not %q", in.Drive)
	}
	network := strings.TrimSpace(in.Network)
	if (len(in.IDs) == 0) == (network == "") {
		return store.DirSyncRun{}, mailnet.Invalid("ids", "choose requestors by ids or by network, one of the two")
	}
	if len(in.IDs) > MaxSelection {
		return store.DirSyncRun{}, mailnet.Invalid("ids", "%d ids given; at most %d at once", len(in.IDs), MaxSelection)
	}
	run := store.DirSyncRun{Scope: network, Drive: drive}
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		on := true
		found, err := selectExport(ctx, tx, ExportSelection{IDs: in.IDs, Network: network, Enabled: &on})
		if err != nil {
			return err
		}
		for _, r := range found {
			run.RequestorIDs = append(run.RequestorIDs, r.ID)
		}
		if err := tx.InsertDirSyncRun(ctx, &run); err != nil {
			return err
		}
		return tx.Audit(ctx, "dirsync.run.start", "dirsync_run", run.ID, nil, run, "")
	})
	if err != nil {
		return store.DirSyncRun{}, fmt.Errorf("start dir-sync run: %w", err)
	}
	return run, nil
}

// FinishRun records how a running run ended: completed or abandoned.
func (a *Actions) FinishRun(ctx context.Context, id int64, outcome, note string) (store.DirSyncRun, error) {
	if outcome != "completed" && outcome != "abandoned" {
		return store.DirSyncRun{}, mailnet.Invalid("outcome", "outcome must be completed or abandoned, not %q", outcome)
	}
	note = strings.TrimSpace(note)
	if err := checkText("note", note, 1000); err != nil {
		return store.DirSyncRun{}, err
	}
	var run store.DirSyncRun
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		before, err := tx.DirSyncRunTx(ctx, id)
		if err != nil {
			return err
		}
		if before.Outcome != "running" {
			return mailnet.Errorf(mailnet.KindConflict, "outcome", "run %d is already %s", id, before.Outcome)
		}
		if err := tx.FinishDirSyncRun(ctx, id, outcome, note); err != nil {
			return err
		}
		if run, err = tx.DirSyncRunTx(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, "dirsync.run.finish", "dirsync_run", id, before, run, note)
	})
	if err != nil {
		return store.DirSyncRun{}, fmt.Errorf("finish dir-sync run %d: %w", id, err)
	}
	return run, nil
}
