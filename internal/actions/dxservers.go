package actions

import (
	"context"
	"fmt"
	"strings"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// DXPatch changes a directory synchronization server's settings (the DX
// server's General property page). Absent fields stay.
type DXPatch struct {
	AdminAccount   *string `json:"admin_account"`
	Paused         *bool   `json:"paused"`
	CopyAdmin      *bool   `json:"copy_admin"`
	ForwardToAdmin *bool   `json:"forward_to_admin"`
	CycleMinutes   *int    `json:"cycle_minutes"`
}

// UpdateDXServer applies p to the DX settings of server serverID, making
// the Exchange server a DX server if it is not one yet.
func (a *Actions) UpdateDXServer(ctx context.Context, serverID int64, p DXPatch) (mailnet.DXServer, error) {
	var d mailnet.DXServer
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		sv, err := tx.ServerByID(ctx, serverID)
		if err != nil {
			return err
		}
		if sv.Kind != mailnet.KindExchange {
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
		before, d = old, old
		if p.AdminAccount != nil {
			d.AdminAccount = strings.TrimSpace(*p.AdminAccount)
			if err := checkText("admin_account", d.AdminAccount, MaxNameLen); err != nil {
				return err
			}
		}
		if p.Paused != nil {
			d.Paused = *p.Paused
		}
		if p.CopyAdmin != nil {
			d.CopyAdmin = *p.CopyAdmin
		}
		if p.ForwardToAdmin != nil {
			d.ForwardToAdmin = *p.ForwardToAdmin
		}
		if p.CycleMinutes != nil {
			if *p.CycleMinutes < 1 || *p.CycleMinutes > 1440 {
				return mailnet.Invalid("cycle_minutes", "cycle_minutes must be from 1 to 1440, not %d", *p.CycleMinutes)
			}
			d.CycleMinutes = *p.CycleMinutes
		}
		if err := tx.UpsertDXServer(ctx, d); err != nil {
			return err
		}
		return tx.Audit(ctx, "dx.update", "dx_server", serverID, before, d, "")
	})
	if err != nil {
		return mailnet.DXServer{}, fmt.Errorf("update dx server %d: %w", serverID, err)
	}
	a.published("dx_server", serverID, "updated")
	return d, nil
}
