package actions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
// DryRun previews the change without making it; PlanID, from a preview,
// makes the change refuse if the selection changed since.
type ExportSelection struct {
	IDs        []int64 `json:"ids"`
	Network    string  `json:"network"`
	DXServerID int64   `json:"dx_server_id"`
	Enabled    *bool   `json:"enabled"`
	DryRun     bool    `json:"dry_run"`
	PlanID     string  `json:"plan_id"`
}

// MaxSelection bounds the ids of one selection.
const MaxSelection = 10000

// ExportRow is one requestor of an Export on Next Cycle plan or result.
type ExportRow struct {
	ID      int64  `json:"id"`
	Address string `json:"address"`
	Before  bool   `json:"before"`
	After   bool   `json:"after"`
	Changed bool   `json:"changed"`
	Result  string `json:"result,omitempty"` // "set", "cleared", "unchanged" once applied
}

// ExportPlan is what an Export on Next Cycle change does: its rows and
// its identity (a hash of the selection, the requestors and their flags).
type ExportPlan struct {
	PlanID  string      `json:"plan_id"`
	Enabled bool        `json:"enabled"`
	Rows    []ExportRow `json:"rows"`
	Changes int         `json:"changes"`
	Applied bool        `json:"applied"`
}

func planID(enabled bool, found []mailnet.Requestor) string {
	h := sha256.New()
	fmt.Fprintf(h, "export:%v", enabled)
	for _, r := range found {
		fmt.Fprintf(h, "|%d:%v", r.ID, r.ExportOnNextCycle)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// selectExport checks sel and returns the requestors it selects, by id.
func selectExport(ctx context.Context, tx *store.Tx, sel ExportSelection) ([]mailnet.Requestor, error) {
	network := strings.TrimSpace(sel.Network)
	ids := slices.Clone(sel.IDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if sel.DXServerID != 0 {
		if _, err := tx.ServerByID(ctx, sel.DXServerID); isNotFound(err) {
			return nil, mailnet.Invalid("dx_server_id", "server %d does not exist", sel.DXServerID)
		} else if err != nil {
			return nil, err
		}
	}
	found, err := tx.Requestors(ctx, store.RequestorFilter{IDs: ids, Network: network, DXServerID: sel.DXServerID})
	if err != nil {
		return nil, err
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
		return nil, mailnet.Invalid("ids", "no requestor with id %s", strings.Join(missing, ", "))
	case len(found) == 0 && network != "":
		return nil, mailnet.Invalid("network", "no requestor matches network %q", network)
	case len(found) == 0:
		return nil, mailnet.Invalid("dx_server_id", "server %d has no requestors", sel.DXServerID)
	}
	return found, nil
}

func checkSelection(sel ExportSelection) error {
	if sel.Enabled == nil {
		return mailnet.Invalid("enabled", "enabled (true or false) is required")
	}
	bulk := strings.TrimSpace(sel.Network) != "" || sel.DXServerID != 0
	switch {
	case len(sel.IDs) > 0 && bulk:
		return mailnet.Invalid("ids", "select requestors by ids, or by network and dx_server_id, not both")
	case len(sel.IDs) == 0 && !bulk:
		return mailnet.Invalid("ids", "select requestors by ids, network or dx_server_id")
	case len(sel.IDs) > MaxSelection:
		return mailnet.Invalid("ids", "%d ids given; at most %d at once", len(sel.IDs), MaxSelection)
	}
	return nil
}

func planFor(enabled bool, found []mailnet.Requestor) ExportPlan {
	p := ExportPlan{PlanID: planID(enabled, found), Enabled: enabled, Rows: make([]ExportRow, len(found))}
	for i, r := range found {
		p.Rows[i] = ExportRow{ID: r.ID, Address: r.Address(), Before: r.ExportOnNextCycle, After: enabled, Changed: r.ExportOnNextCycle != enabled}
		if p.Rows[i].Changed {
			p.Changes++
		}
	}
	return p
}

// PlanExportOnNextCycle previews SetExportOnNextCycle: it changes nothing.
func (a *Actions) PlanExportOnNextCycle(ctx context.Context, sel ExportSelection) (ExportPlan, error) {
	if err := checkSelection(sel); err != nil {
		return ExportPlan{}, err
	}
	var p ExportPlan
	errPreview := errors.New("preview")
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		found, err := selectExport(ctx, tx, sel)
		if err != nil {
			return err
		}
		p = planFor(*sel.Enabled, found)
		return errPreview // roll back: a preview writes nothing
	})
	if err != nil && !errors.Is(err, errPreview) {
		return ExportPlan{}, fmt.Errorf("export on next cycle preview: %w", err)
	}
	return p, nil
}

// ApplyExportOnNextCycle sets or clears Export on Next Cycle on the
// selected requestors, all or none, with one audit row for each one it
// changes, and returns the per-row results. With sel.PlanID it refuses
// (a conflict on plan_id) when the selection no longer gives that plan.
func (a *Actions) ApplyExportOnNextCycle(ctx context.Context, sel ExportSelection) (ExportPlan, error) {
	if err := checkSelection(sel); err != nil {
		return ExportPlan{}, err
	}
	var p ExportPlan
	var changed []int64
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		found, err := selectExport(ctx, tx, sel)
		if err != nil {
			return err
		}
		p = planFor(*sel.Enabled, found)
		if sel.PlanID != "" && sel.PlanID != p.PlanID {
			return mailnet.Errorf(mailnet.KindConflict, "plan_id", "the selection changed since the preview (plan %s, now %s): preview again", sel.PlanID, p.PlanID)
		}
		changed = changed[:0]
		for i := range found {
			row := &p.Rows[i]
			if !row.Changed {
				row.Result = "unchanged"
				continue
			}
			before := found[i]
			if err := tx.SetExportOnNextCycle(ctx, before.ID, *sel.Enabled); err != nil {
				return err
			}
			after := before
			after.ExportOnNextCycle = *sel.Enabled
			if err := tx.Audit(ctx, "requestor.export_on_next_cycle", "requestor", before.ID, before, after, "plan "+p.PlanID); err != nil {
				return err
			}
			row.Result = map[bool]string{true: "set", false: "cleared"}[*sel.Enabled]
			changed = append(changed, before.ID)
		}
		p.Applied = true
		return nil
	})
	if err != nil {
		return ExportPlan{}, fmt.Errorf("export on next cycle: %w", err)
	}
	for _, id := range changed {
		a.published("requestor", id, "updated")
	}
	return p, nil
}

// SetExportOnNextCycle applies sel (see ApplyExportOnNextCycle) and
// returns the selected requestors as they are now.
func (a *Actions) SetExportOnNextCycle(ctx context.Context, sel ExportSelection) ([]mailnet.Requestor, error) {
	p, err := a.ApplyExportOnNextCycle(ctx, sel)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(p.Rows))
	for i, r := range p.Rows {
		ids[i] = r.ID
	}
	return a.Store.Requestors(ctx, store.RequestorFilter{IDs: ids})
}

// AckFinding acknowledges an open dir-sync finding with a note (required),
// audited and recorded in the requestor's history.
func (a *Actions) AckFinding(ctx context.Context, id int64, note string) (store.DirSyncFinding, error) {
	note = strings.TrimSpace(note)
	if note == "" {
		return store.DirSyncFinding{}, mailnet.Invalid("note", "note is required: say why the finding is acknowledged")
	}
	if err := checkText("note", note, 1000); err != nil {
		return store.DirSyncFinding{}, err
	}
	var f store.DirSyncFinding
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		before, err := tx.DirSyncFinding(ctx, id)
		if err != nil {
			return err
		}
		if before.ResolvedAt != nil {
			return mailnet.Errorf(mailnet.KindConflict, "id", "finding %d is already %s", id, before.Resolution)
		}
		who := mailnet.ActorName(ctx)
		if err := tx.AckDirSyncFinding(ctx, id, who, note); err != nil {
			return err
		}
		if f, err = tx.DirSyncFinding(ctx, id); err != nil {
			return err
		}
		if f.RequestorID != 0 {
			if err := tx.AddRequestorChange(ctx, store.RequestorChange{RequestorID: f.RequestorID, At: tx.Now(), Field: "finding",
				Before: "open", After: "acknowledged", Detail: fmt.Sprintf("finding %d (%s) acknowledged by %s: %s", id, f.Rule, who, note)}); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, "dirsync.finding.acknowledge", "dirsync_finding", id, before, f, note)
	})
	if err != nil {
		return store.DirSyncFinding{}, fmt.Errorf("acknowledge finding %d: %w", id, err)
	}
	if f.RequestorID != 0 {
		a.published("requestor", f.RequestorID, "updated")
	}
	return f, nil
}
