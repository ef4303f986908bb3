package actions

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"mailnet/internal/live"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// Reroute values of a DecommissionRequest.
const (
	RerouteNone   = ""       // refuse while other servers' routes relay through the server
	RerouteDirect = "direct" // re-home those routes as direct connections
)

// DecommissionRequest says which server to take out of the network and
// how to re-home the routes between other servers that relay through it.
type DecommissionRequest struct {
	ServerID int64
	// Reroute is "direct" to make every relayed route direct; RerouteVia a
	// server to relay them through instead. At most one of the two.
	Reroute    string
	RerouteVia int64
	// Plan, when set, is the DecommissionPlan.ID the admin saw: the
	// decommission is refused if the plan changed since.
	Plan string
}

// DecommissionResult is the server's state after the decommission and the
// relayed routes it re-homed, as they are now.
type DecommissionResult struct {
	store.ServerState
	Rerouted []mailnet.Route `json:"rerouted"`
}

// Decommission takes server id out of the network: refused (409, naming
// what remains) while users, active or queued moves from or to it,
// dir-sync requestors or stored messages depend on it, and while other
// servers' indirect routes relay through it unless req says how to
// re-home them. On success its status is decommissioned, the relayed
// routes are re-homed, and its routing entries (from and to it) and
// connectors (at either end) are gone, in one audited transaction. A
// decommissioned server no longer counts in a duplicate-serial group
// (internal/reports.FindConflicts), so the group it was in resolves.
func (a *Actions) Decommission(ctx context.Context, req DecommissionRequest) (DecommissionResult, error) {
	var res DecommissionResult
	id := req.ServerID
	switch {
	case req.Reroute != RerouteNone && req.Reroute != RerouteDirect:
		return res, mailnet.Invalid("reroute", "reroute must be \"direct\"; use reroute_via to name a relay server")
	case req.Reroute != RerouteNone && req.RerouteVia != 0:
		return res, mailnet.Invalid("reroute_via", "give either reroute or reroute_via, not both")
	case req.RerouteVia < 0:
		return res, mailnet.Invalid("reroute_via", "reroute_via must be a server id")
	}
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		plan, err := tx.DecommissionPlan(ctx, id)
		if err != nil {
			return err
		}
		before := plan.State
		if before.Status == mailnet.StatusDecommissioned {
			return mailnet.Conflict("server %s is already decommissioned", before.Name)
		}
		if req.Plan != "" && req.Plan != plan.ID {
			return mailnet.Errorf(mailnet.KindConflict, "plan", "what depends on %s changed since the preview: review the new preview", before.Name)
		}
		if plan.Deps.Any() {
			return mailnet.Conflict("server %s cannot be decommissioned while %s depend on it", before.Name, remaining(plan.Deps))
		}
		via := req.RerouteVia
		if len(plan.Relays) > 0 {
			if req.Reroute == RerouteNone && via == 0 {
				return mailnet.Conflict("server %s cannot be decommissioned while %s relay through it (%s): re-home them direct or via another server",
					before.Name, plural(len(plan.Relays), "route", "routes"), a.routeNames(ctx, tx, plan.Relays))
			}
			if via != 0 {
				if err := checkRelay(ctx, tx, id, via); err != nil {
					return err
				}
			}
			if err := tx.RerouteRelays(ctx, id, via); err != nil {
				return err
			}
		}
		for _, rt := range plan.Relays {
			rt.Configured, rt.ViaServerID = mailnet.RouteDirect, 0
			if via != 0 && via != rt.FromServerID && via != rt.ToServerID {
				rt.Configured, rt.ViaServerID = mailnet.RouteIndirect, via
			}
			res.Rerouted = append(res.Rerouted, rt)
		}
		if err := tx.Decommission(ctx, id); err != nil {
			return err
		}
		after := before
		after.Status = mailnet.StatusDecommissioned
		after.Routes, after.Connectors = 0, 0
		res.ServerState = after
		detail := fmt.Sprintf("decommissioned %s (serial %s); removed %d routing entries and %d connectors",
			before.Name, before.Serial, before.Routes-int64(len(plan.Relays)), before.Connectors)
		if len(plan.Relays) > 0 {
			how := "direct"
			if via != 0 {
				how = "via " + a.serverName(ctx, tx, via)
			}
			detail += fmt.Sprintf("; re-homed %s that relayed through it %s", plural(len(plan.Relays), "route", "routes"), how)
		}
		return tx.Audit(ctx, "server.decommission", "server", id,
			decommissionAudit{ServerState: before, Relays: plan.Relays},
			decommissionAudit{ServerState: after, Relays: res.Rerouted}, detail)
	})
	if err != nil {
		return res, err
	}
	a.Live.Publish(live.Frame{Type: live.TypeInventory, Data: live.Inventory{Object: "server", ID: id, Action: "updated"}})
	return res, nil
}

// decommissionAudit is the audit's before and after of a decommission.
type decommissionAudit struct {
	store.ServerState
	Relays []mailnet.Route `json:"relays,omitempty"`
}

// checkRelay validates the server the relayed routes of server id are to
// go through: it exists, runs, is not id, and shares no serial.
func checkRelay(ctx context.Context, tx *store.Tx, id, via int64) error {
	if via == id {
		return mailnet.Invalid("reroute_via", "the routes cannot relay through the server being decommissioned")
	}
	t, err := tx.MoveTarget(ctx, via)
	if errors.Is(err, mailnet.ErrNotFound) {
		return mailnet.Invalid("reroute_via", "server %d does not exist", via)
	}
	if err != nil {
		return err
	}
	switch {
	case t.Status != mailnet.StatusRunning:
		return mailnet.Invalid("reroute_via", "%s is %s, not running: choose a running relay", t.Name, t.Status)
	case t.SerialTwins > 0:
		return mailnet.Invalid("reroute_via", "%s shares its serial number with another server (Q99393): its routes show No Connection", t.Name)
	}
	return nil
}

// routeNames lists up to 10 routes as "A → B".
func (a *Actions) routeNames(ctx context.Context, tx *store.Tx, routes []mailnet.Route) string {
	var parts []string
	for i, rt := range routes {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("and %d more", len(routes)-10))
			break
		}
		parts = append(parts, a.serverName(ctx, tx, rt.FromServerID)+" → "+a.serverName(ctx, tx, rt.ToServerID))
	}
	return strings.Join(parts, ", ")
}

func (a *Actions) serverName(ctx context.Context, tx *store.Tx, id int64) string {
	t, err := tx.MoveTarget(ctx, id)
	if err != nil {
		return fmt.Sprintf("server %d", id)
	}
	return t.Name
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
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
