package dirsync

import (
	"context"
	"fmt"
	"strconv"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// Ingest reads the dir-sync evidence of one stored event (ev.ID set) in
// the ingest transaction: it attributes the event to a requestor
// (requestors maps store.FoldName("NET/PO") to the requestor id), records
// the evidence, applies a ReqTx or SrvTx with the sequence rules, opens
// and clears findings, reads R20-R22 events, and records every change it
// makes to a requestor with the event. It returns the requestor it
// changed (0: none).
func Ingest(ctx context.Context, tx *store.Tx, requestors map[string]int64, ev mailnet.Event) (int64, error) {
	lookup := func(names ...string) (int64, string) {
		for _, n := range names {
			if id, ok := requestors[store.FoldName(n)]; ok {
				return id, n
			}
		}
		return 0, ""
	}
	if e, ok := ReadEvidence(ev); ok {
		id, name := lookup(e.Candidates...)
		if e.Unparsed != "" {
			if id != 0 && e.Kind != "" {
				if err := tx.AddDirSyncEvidence(ctx, id, ev.ID, e.Kind, ev.Time); err != nil {
					return 0, err
				}
			}
			f := UnparsedFinding(name, e.Unparsed)
			return id, openFinding(ctx, tx, id, firstOr(name, ev.Server), f, ev)
		}
		if id == 0 {
			if e.Tx == nil {
				return 0, nil // transfer evidence of a postoffice the console does not track
			}
			f := Finding{Rule: "R21", Kind: KindUnattributed, Severity: "warning",
				Text:   fmt.Sprintf("%s on %s names no registered requestor (%v): %q", e.Tx.Kind, ev.Server, e.Candidates, e.Tx.Raw),
				Cause:  "the $SYSTEM address is not a Remote Dir-Sync Requestor of any DX the console knows",
				Fix:    "Register the requestor, or correct the agent that logs it.",
				Source: "Q147084"}
			return 0, openFinding(ctx, tx, 0, ev.Server, f, ev)
		}
		kinds := []string{e.Kind}
		if e.Tx != nil && e.Kind != EvReqTx && e.Kind != EvSrvTx {
			// A 4395/4355 carrying the message: both steps are seen.
			kinds = append(kinds, map[string]string{ReqTx: EvReqTx, SrvTx: EvSrvTx}[e.Tx.Kind])
		}
		for _, k := range kinds {
			if err := tx.AddDirSyncEvidence(ctx, id, ev.ID, k, ev.Time); err != nil {
				return 0, err
			}
		}
		if e.Tx == nil {
			return 0, nil
		}
		return id, applyTx(ctx, tx, id, *e.Tx, ev)
	}
	re, ok := ReadRuleEvent(ev, func(addr string) bool { id, _ := lookup(addr); return id != 0 })
	if !ok {
		return 0, nil
	}
	id, _ := lookup(re.Name)
	if re.Finding != nil {
		if err := openFinding(ctx, tx, id, firstOr(re.Name, ev.Server), *re.Finding, ev); err != nil {
			return 0, err
		}
	}
	if re.ExpectFullExport && id != 0 {
		x, err := tx.DirSyncExtra(ctx, id)
		if err != nil {
			return 0, err
		}
		if !x.ExpectFullExport {
			x.ExpectFullExport = true
			if err := tx.SaveDirSyncExtra(ctx, id, x); err != nil {
				return 0, err
			}
			if err := change(ctx, tx, id, ev, "expect_full_export", "false", "true", fmt.Sprintf("event %d announces a full export", ev.EventID)); err != nil {
				return 0, err
			}
		}
	}
	return id, nil
}

func firstOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func openFinding(ctx context.Context, tx *store.Tx, requestorID int64, name string, f Finding, ev mailnet.Event) error {
	fid, isNew, err := tx.OpenDirSyncFinding(ctx, store.DirSyncFinding{RequestorID: requestorID, SubjectName: name, Rule: f.Rule, Kind: f.Kind,
		Severity: f.Severity, Text: f.Text, Cause: f.Cause, Fix: f.Fix, Source: f.Source, EventID: ev.ID}, ev.Time)
	if err != nil || requestorID == 0 || !isNew {
		return err
	}
	return change(ctx, tx, requestorID, ev, "finding", "", f.Rule+" "+f.Kind, fmt.Sprintf("finding %d opened: %s", fid, f.Text))
}

func change(ctx context.Context, tx *store.Tx, id int64, ev mailnet.Event, field, before, after, detail string) error {
	return tx.AddRequestorChange(ctx, store.RequestorChange{RequestorID: id, EventID: ev.ID, At: ev.Time,
		Field: field, Before: before, After: after, Detail: detail})
}

func applyTx(ctx context.Context, tx *store.Tx, id int64, dtx Tx, ev mailnet.Event) error {
	r, err := tx.RequestorSync(ctx, id)
	if mailnet.ErrorKind(err) == mailnet.KindNotFound {
		return nil // removed since the name cache was loaded
	}
	if err != nil {
		return err
	}
	x, err := tx.DirSyncExtra(ctx, id)
	if err != nil {
		return err
	}
	st := State{Requestor: r, ExportSetAt: x.ExportSetAt, Unconfirmed: x.Unconfirmed, ExpectFullExport: x.ExpectFullExport}
	out := Apply(st, dtx, ev.Time)
	if out.Again {
		return nil // the other side's copy of the message already applied
	}
	was := dtx.WasR
	if dtx.Kind == SrvTx {
		was = dtx.WasS
	}
	if err := tx.AddDirSyncCycle(ctx, store.DirSyncCycle{RequestorID: id, EventID: ev.ID, At: ev.Time, Kind: dtx.Kind,
		R: dtx.R, Was: was, S: dtx.S, I: dtx.I, Sent: dtx.Sent, FullExport: out.FullExport, Late: out.Late}); err != nil {
		return err
	}
	if out.Late {
		return change(ctx, tx, id, ev, "late_"+dtx.Kind, "", dtx.Raw,
			"logged before the last "+dtx.Kind+" already applied: kept in the history, changes nothing")
	}
	n := out.State
	why := dtx.Raw
	if out.FullExport {
		why += " (full export)"
	}
	for _, c := range []struct {
		field         string
		before, after int64
	}{{"requestor_sync", r.RequestorSync, n.RequestorSync}, {"server_sync", r.ServerSync, n.ServerSync}, {"imports", r.Imports, n.Imports}} {
		if c.before != c.after {
			if err := change(ctx, tx, id, ev, c.field, strconv.FormatInt(c.before, 10), strconv.FormatInt(c.after, 10), why); err != nil {
				return err
			}
		}
	}
	if out.FlagCleared {
		if err := change(ctx, tx, id, ev, "export_on_next_cycle", "true", "false",
			"cleared by the first SrvTx logged after it was set: "+dtx.Raw); err != nil {
			return err
		}
	}
	if err := tx.SaveRequestorSync(ctx, n.Requestor); err != nil {
		return err
	}
	if err := tx.SaveDirSyncExtra(ctx, id, store.DirSyncExtra{ExportSetAt: n.ExportSetAt, Unconfirmed: n.Unconfirmed,
		ExpectFullExport: n.ExpectFullExport}); err != nil {
		return err
	}
	found := map[string]bool{}
	for _, f := range out.Found {
		found[f.Kind] = true
		if err := openFinding(ctx, tx, id, r.Address(), f, ev); err != nil {
			return err
		}
	}
	var clean []string
	for _, k := range out.Checked {
		if !found[k] {
			clean = append(clean, k)
		}
	}
	ids, err := tx.ClearDirSyncFindings(ctx, id, clean, ev.ID, ev.Time)
	if err != nil {
		return err
	}
	for _, fid := range ids {
		if err := change(ctx, tx, id, ev, "finding", "open", "cleared", fmt.Sprintf("finding %d resolved by a clean cycle: %s", fid, dtx.Raw)); err != nil {
			return err
		}
	}
	return nil
}
