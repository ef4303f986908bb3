package actions

import (
	"context"
	"fmt"
	"strings"

	"mailnet/internal/live"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// Decommission takes server id out of the network: refused (409, naming
// what remains) while users, active or queued moves from or to it,
// dir-sync requestors or stored messages depend on it. On success its
// status is decommissioned and its routing entries (from, to and via it)
// and connectors (at either end) are gone, in one audited transaction. A
// decommissioned server no longer counts in a duplicate-serial group
// (internal/reports.FindConflicts), so the group it was in resolves.
func (a *Actions) Decommission(ctx context.Context, id int64) (store.ServerState, error) {
	var after store.ServerState
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		before, err := tx.ServerStateForUpdate(ctx, id)
		if err != nil {
			return err
		}
		if before.Status == mailnet.StatusDecommissioned {
			return mailnet.Conflict("server %s is already decommissioned", before.Name)
		}
		d, err := tx.DecommissionDependents(ctx, id)
		if err != nil {
			return err
		}
		if d.Any() {
			return mailnet.Conflict("server %s cannot be decommissioned while %s depend on it", before.Name, remaining(d))
		}
		if err := tx.Decommission(ctx, id); err != nil {
			return err
		}
		after = before
		after.Status = mailnet.StatusDecommissioned
		after.Routes, after.Connectors = 0, 0
		return tx.Audit(ctx, "server.decommission", "server", id, before, after,
			fmt.Sprintf("decommissioned %s (serial %s); removed %d routing entries and %d connectors",
				before.Name, before.Serial, before.Routes, before.Connectors))
	})
	if err != nil {
		return after, err
	}
	a.Live.Publish(live.Frame{Type: live.TypeInventory, Data: live.Inventory{Object: "server", ID: id, Action: "updated"}})
	return after, nil
}

// remaining names what still depends on a server: "2 users, 1 active move".
func remaining(d store.Dependents) string {
	var parts []string
	add := func(n int64, one, many string) {
		switch {
		case n == 1:
			parts = append(parts, "1 "+one)
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", n, many))
		}
	}
	add(d.Users, "user", "users")
	add(d.Moves, "active or queued move", "active or queued moves")
	add(d.Requestors, "dir-sync requestor", "dir-sync requestors")
	add(d.Messages, "stored message", "stored messages")
	return strings.Join(parts, ", ")
}
