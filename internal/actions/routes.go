package actions

import (
	"context"
	"fmt"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// RouteInput is the configured routing entry from one server to another.
type RouteInput struct {
	FromServerID int64  `json:"from_server_id"`
	ToServerID   int64  `json:"to_server_id"`
	Configured   string `json:"configured"`
	ViaServerID  int64  `json:"via_server_id"`
}

// SetRoute creates or replaces the configured entry for a pair of servers
// and reports whether it was created. The effective routing is derived on
// read (reports.EffectiveRoute).
func (a *Actions) SetRoute(ctx context.Context, in RouteInput) (mailnet.Route, bool, error) {
	switch in.Configured {
	case mailnet.RouteDirect, mailnet.RouteNone:
		if in.ViaServerID != 0 {
			return mailnet.Route{}, false, mailnet.Invalid("via_server_id", "via_server_id is only for an indirect route")
		}
	case mailnet.RouteIndirect:
		if in.ViaServerID == 0 {
			return mailnet.Route{}, false, mailnet.Invalid("via_server_id", "an indirect route needs via_server_id")
		}
	default:
		return mailnet.Route{}, false, mailnet.Invalid("configured", "configured must be direct, indirect or none, not %q", in.Configured)
	}
	rt := mailnet.Route{FromServerID: in.FromServerID, ToServerID: in.ToServerID, Configured: in.Configured, ViaServerID: in.ViaServerID}
	created := false
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		if _, err := liveServer(ctx, tx, "from_server_id", rt.FromServerID); err != nil {
			return err
		}
		if _, err := liveServer(ctx, tx, "to_server_id", rt.ToServerID); err != nil {
			return err
		}
		if rt.FromServerID == rt.ToServerID {
			return mailnet.Invalid("to_server_id", "a route joins two different servers")
		}
		if rt.ViaServerID != 0 {
			if rt.ViaServerID == rt.FromServerID || rt.ViaServerID == rt.ToServerID {
				return mailnet.Invalid("via_server_id", "via_server_id must differ from both ends of the route")
			}
			if _, err := liveServer(ctx, tx, "via_server_id", rt.ViaServerID); err != nil {
				return err
			}
		}
		var before any
		old, err := tx.Route(ctx, rt.FromServerID, rt.ToServerID)
		switch {
		case isNotFound(err):
			created = true
		case err != nil:
			return err
		default:
			before = old
		}
		if err := tx.UpsertRoute(ctx, rt); err != nil {
			return err
		}
		action := "route.update"
		if created {
			action = "route.create"
		}
		return tx.Audit(ctx, action, "route", 0, before, rt, fmt.Sprintf("server %d to server %d", rt.FromServerID, rt.ToServerID))
	})
	if err != nil {
		return mailnet.Route{}, false, fmt.Errorf("set route: %w", err)
	}
	what := "updated"
	if created {
		what = "created"
	}
	a.published("route", rt.FromServerID, what)
	return rt, created, nil
}
