package reports

import (
	"context"
	"slices"
	"strings"

	"mailnet/internal/mailnet"
	"mailnet/internal/mta"
	"mailnet/internal/store"
)

// MTAFindingsForServer is the MTA family's findings (R3, R5-R9) that name
// server id, read from the part of the network they can involve: its
// x400 connectors (either end), the servers at their other ends, the
// servers the cluster and RAS facts name, and the evidence those servers
// logged. It answers the server and connector pages without the whole
// X.400 check (at 10,000 servers its inventory read alone is several
// times the rest of the page).
func MTAFindingsForServer(ctx context.Context, st *store.Store, id int64) ([]Finding, error) {
	all, err := st.Connectors(ctx, id)
	if err != nil {
		return nil, err
	}
	facts, err := st.MTAFacts(ctx)
	if err != nil {
		return nil, err
	}
	var conns []mailnet.Connector
	ends := map[int64]bool{id: true}
	for _, c := range all {
		if c.Kind != mailnet.ConnectorX400 {
			continue
		}
		conns = append(conns, c)
		for _, e := range []int64{c.ServerID, c.RemoteServerID} {
			if e != 0 {
				ends[e] = true
			}
		}
	}
	for sid := range facts.Servers {
		ends[sid] = true
	}
	ids := sortedKeys(ends)
	servers, err := st.ReportServersByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	since := st.Now().Add(-X400Window)
	in := func(evs []store.ReportEvent) []store.ReportEvent {
		out := evs[:0:0]
		for _, e := range evs {
			if ends[e.ServerID] || e.ServerID == 0 {
				out = append(out, e)
			}
		}
		return out
	}
	var ev X400Evidence
	if ev.Events9301, err = st.ReportEventsByID(ctx, mta.EventGatewayNotFound, since); err != nil {
		return nil, err
	}
	ev.Events9301 = in(ev.Events9301)
	if ev.Events9202, err = st.ReportEventsByID(ctx, mta.EventSocketsError, since); err != nil {
		return nil, err
	}
	ev.Events9202 = in(ev.Events9202)
	if ev.Startups, err = st.ReportLatestEvents(ctx, mta.EventStartupX400, mta.EventStartup); err != nil {
		return nil, err
	}
	mev := MTAEvidence{Facts: facts}
	if mev.Events9156, err = st.ReportEventsByID(ctx, mta.EventNoControlBlocks, since); err != nil {
		return nil, err
	}
	mev.Events9156 = in(mev.Events9156)
	for _, eid := range stallEvents {
		evs, err := st.ReportEventsByID(ctx, eid, since)
		if err != nil {
			return nil, err
		}
		mev.StallEvents = append(mev.StallEvents, in(evs)...)
	}
	// A caller unknown to this part of the network may be a server
	// elsewhere in it: only the callers no server of the inventory has
	// (by address or name) are unknown.
	unknown := BuildX400Lazy(conns, servers, ev).UnknownCallers
	if len(unknown) > 0 {
		callers := make([]string, 0, len(unknown))
		for _, u := range unknown {
			callers = append(callers, u.Address)
			if host, _, ok := strings.Cut(u.Address, "."); ok && !isIPv4(u.Address) {
				callers = append(callers, host)
			}
		}
		known, err := st.KnownCallers(ctx, callers)
		if err != nil {
			return nil, err
		}
		unknown = slices.DeleteFunc(unknown, func(u X400UnknownCaller) bool {
			host, _, _ := strings.Cut(u.Address, ".")
			return known[strings.ToLower(u.Address)] || (!isIPv4(u.Address) && known[strings.ToLower(host)])
		})
	}
	fs := BuildMTAFindings(conns, servers, learnedBuilds(ev.Startups), ev, mev, unknown)
	return FindingsOfServer(fs, id), nil
}
