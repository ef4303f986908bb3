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
}

// DefaultDXCycleMinutes is the dir-sync cycle of a new DX server (the
// schema's default).
const DefaultDXCycleMinutes = 60

// UpdateDXServer applies p to the DX settings of server serverID, making
// the Exchange server a DX server if it is not one yet.
func (a *Actions) UpdateDXServer(ctx context.Context, serverID int64, p DXPatch) (mailnet.DXServer, error) {
	var d mailnet.DXServer
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
		before, d = old, old
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
