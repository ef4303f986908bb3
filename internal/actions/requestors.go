package actions

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// RequestorInput is a Remote Dir-Sync Requestor to create: a PC Mail
// postoffice NETWORK/POSTOFFICE that synchronizes with the DX on the
// Exchange server DXServerID. ServerID, optional, is the postoffice's own
// server.
type RequestorInput struct {
	Network           string `json:"network"`
	Postoffice        string `json:"postoffice"`
	DXServerID        int64  `json:"dx_server_id"`
	ServerID          int64  `json:"server_id"`
	RequestorSync     int64  `json:"requestor_sync"`
	ServerSync        int64  `json:"server_sync"`
	Imports           int64  `json:"imports"`
	ExportOnNextCycle bool   `json:"export_on_next_cycle"`
}

// cleanPOName checks a network or postoffice name; events name the
// requestor NETWORK/POSTOFFICE, so neither may hold a slash.
func cleanPOName(field, s string) (string, error) {
	s, err := cleanName(field, s)
	if err != nil {
		return "", err
	}
	if strings.Contains(s, "/") {
		return "", mailnet.Invalid(field, "%s may not contain \"/\": events name a requestor NETWORK/POSTOFFICE", field)
	}
	return s, nil
}

// dxServer checks that id is an Exchange server, not decommissioned, for
// field.
func dxServer(ctx context.Context, tx *store.Tx, field string, id int64) (mailnet.Server, error) {
	sv, err := liveServer(ctx, tx, field, id)
	if err != nil {
		return sv, err
	}
	if sv.Kind != mailnet.ServerKindExchange {
		return sv, mailnet.Invalid(field, "server %s is %s; a dir-sync server must be an Exchange server", sv.Name, sv.Kind)
	}
	return sv, nil
}

// CreateRequestor creates a requestor under its DX server, making that
// Exchange server a DX server if it is not one yet.
func (a *Actions) CreateRequestor(ctx context.Context, in RequestorInput) (mailnet.Requestor, error) {
	r := mailnet.Requestor{DXServerID: in.DXServerID, RequestorSync: in.RequestorSync, ServerSync: in.ServerSync,
		Imports: in.Imports, ExportOnNextCycle: in.ExportOnNextCycle}
	var err error
	if r.Network, err = cleanPOName("network", in.Network); err != nil {
		return r, err
	}
	if r.Postoffice, err = cleanPOName("postoffice", in.Postoffice); err != nil {
		return r, err
	}
	for _, n := range []struct {
		field string
		v     int64
	}{{"requestor_sync", r.RequestorSync}, {"server_sync", r.ServerSync}, {"imports", r.Imports}} {
		if n.v < 0 {
			return r, mailnet.Invalid(n.field, "%s must be 0 or more, not %d", n.field, n.v)
		}
	}
	err = a.Store.Write(ctx, func(tx *store.Tx) error {
		if _, err := dxServer(ctx, tx, "dx_server_id", r.DXServerID); err != nil {
			return err
		}
		if in.ServerID != 0 {
			if _, err := liveServer(ctx, tx, "server_id", in.ServerID); err != nil {
				return err
			}
		}
		newDX, err := tx.EnsureDXServer(ctx, r.DXServerID)
		if err != nil {
			return err
		}
		if err := tx.InsertRequestor(ctx, &r, in.ServerID); err != nil {
			return err
		}
		detail := ""
		if newDX {
			detail = fmt.Sprintf("server %d became a dir-sync server", r.DXServerID)
		}
		return tx.Audit(ctx, "requestor.create", "requestor", r.ID, nil, r, detail)
	})
	if err != nil {
		return mailnet.Requestor{}, fmt.Errorf("create requestor: %w", err)
	}
	a.published("requestor", r.ID, "created")
	return r, nil
}

// ExportSelection chooses requestors for Export on Next Cycle: by IDs, or
// in bulk by Network and/or DXServerID (both given: both must match).
type ExportSelection struct {
	IDs        []int64 `json:"ids"`
	Network    string  `json:"network"`
	DXServerID int64   `json:"dx_server_id"`
	Enabled    *bool   `json:"enabled"`
}

// MaxSelection bounds the ids of one selection.
const MaxSelection = 10000

// SetExportOnNextCycle sets or clears Export on Next Cycle on the selected
// requestors, all or none, with one audit row each, and returns them.
func (a *Actions) SetExportOnNextCycle(ctx context.Context, sel ExportSelection) ([]mailnet.Requestor, error) {
	if sel.Enabled == nil {
		return nil, mailnet.Invalid("enabled", "enabled (true or false) is required")
	}
	network := strings.TrimSpace(sel.Network)
	bulk := network != "" || sel.DXServerID != 0
	switch {
	case len(sel.IDs) > 0 && bulk:
		return nil, mailnet.Invalid("ids", "select requestors by ids, or by network and dx_server_id, not both")
	case len(sel.IDs) == 0 && !bulk:
		return nil, mailnet.Invalid("ids", "select requestors by ids, network or dx_server_id")
	case len(sel.IDs) > MaxSelection:
		return nil, mailnet.Invalid("ids", "%d ids given; at most %d at once", len(sel.IDs), MaxSelection)
	}
	ids := slices.Clone(sel.IDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var out []mailnet.Requestor
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		if sel.DXServerID != 0 {
			if _, err := tx.ServerByID(ctx, sel.DXServerID); isNotFound(err) {
				return mailnet.Invalid("dx_server_id", "server %d does not exist", sel.DXServerID)
			} else if err != nil {
				return err
			}
		}
		found, err := tx.Requestors(ctx, store.RequestorFilter{IDs: ids, Network: network, DXServerID: sel.DXServerID})
		if err != nil {
			return err
		}
		switch {
		case len(ids) > 0 && len(found) != len(ids):
			have := map[int64]bool{}
			for _, r := range found {
				have[r.ID] = true
			}
			var missing []string
			for _, id := range ids {
				if !have[id] {
					missing = append(missing, fmt.Sprint(id))
				}
			}
			return mailnet.Invalid("ids", "no requestor with id %s", strings.Join(missing, ", "))
		case len(found) == 0 && network != "":
			return mailnet.Invalid("network", "no requestor matches network %q", network)
		case len(found) == 0:
			return mailnet.Invalid("dx_server_id", "server %d has no requestors", sel.DXServerID)
		}
		for i := range found {
			before := found[i]
			if err := tx.SetExportOnNextCycle(ctx, before.ID, *sel.Enabled); err != nil {
				return err
			}
			found[i].ExportOnNextCycle = *sel.Enabled
			if err := tx.Audit(ctx, "requestor.export_on_next_cycle", "requestor", before.ID, before, found[i], ""); err != nil {
				return err
			}
		}
		out = found
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("export on next cycle: %w", err)
	}
	for _, r := range out {
		a.published("requestor", r.ID, "updated")
	}
	return out, nil
}
