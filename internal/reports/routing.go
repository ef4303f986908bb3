package reports

import (
	"context"
	"fmt"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// EffectiveRoute returns rt with its effective connection and the reason
// for it. Q99393: while a server shares its serial with a server at
// another site, routing to and from it "defaults to No Connection", so an
// entry whose from, to or via server is impacted is effectively none, and
// the reason names that server and the serial. Otherwise the configured
// connection is in effect and the reason is empty. names maps server ids
// to names for the reason; a missing name reads "server N".
func EffectiveRoute(rt mailnet.Route, c Conflicts, names map[int64]string) mailnet.Route {
	rt.Effective, rt.Reason = rt.Configured, ""
	ends := []struct {
		id   int64
		role string
	}{{rt.FromServerID, "source"}, {rt.ToServerID, "destination"}, {rt.ViaServerID, "relay"}}
	for _, e := range ends {
		if e.id == 0 {
			continue
		}
		serial, ok := c.Impacted[e.id]
		if !ok {
			continue
		}
		name := names[e.id]
		if name == "" {
			name = fmt.Sprintf("server %d", e.id)
		}
		rt.Effective = mailnet.RouteNone
		rt.Reason = fmt.Sprintf("%s (the %s) shares serial number %s with a server at another site; "+
			"routing to and from it defaults to \"No Connection\" (Q99393)", name, e.role, serial)
		return rt
	}
	return rt
}

// Routes returns every configured routing entry (with serverID set, those
// from or to it) with its effective connection and reason.
func Routes(ctx context.Context, st *store.Store, serverID int64) ([]mailnet.Route, error) {
	routes, err := st.Routes(ctx, serverID)
	if err != nil {
		return nil, err
	}
	c, err := LoadConflicts(ctx, st)
	if err != nil {
		return nil, err
	}
	var names map[int64]string
	if len(c.Impacted) > 0 {
		if names, err = st.ServerNameMap(ctx); err != nil {
			return nil, err
		}
	}
	for i := range routes {
		routes[i] = EffectiveRoute(routes[i], c, names)
	}
	return routes, nil
}

// RoutesPage returns one page of routing entries (store.RoutesPage) with
// their effective connection and reason.
func RoutesPage(ctx context.Context, st *store.Store, f store.RouteFilter) ([]mailnet.Route, error) {
	routes, err := st.RoutesPage(ctx, f)
	if err != nil {
		return nil, err
	}
	c, err := LoadConflicts(ctx, st)
	if err != nil {
		return nil, err
	}
	var names map[int64]string
	if len(c.Impacted) > 0 {
		if names, err = st.ServerNameMap(ctx); err != nil {
			return nil, err
		}
	}
	for i := range routes {
		routes[i] = EffectiveRoute(routes[i], c, names)
	}
	return routes, nil
}
