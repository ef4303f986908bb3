package demo

import (
	"context"
	"fmt"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/mta"
	"mailnet/internal/store"
)

// The demo's cluster and Routing and RAS cases (KB-RULES R3, R5).
const (
	// Q169113: EXCH-DAL-01 runs on a Microsoft Cluster; its virtual IP is
	// its address, and it calls EXCH-ATL-01 from its active node.
	clusterServer = "EXCH-DAL-01"
	clusterPeer   = "EXCH-ATL-01"
	clusterNode1  = "DALNODE1"
	clusterNode2  = "DALNODE2"
	// Q256844: EXCH-SYD-01 dials EXCH-LON-01 over Routing and RAS, and
	// gets an address of EXCH-LON-01's RAS pool.
	rasServer = "EXCH-LON-01"
	rasDialer = "EXCH-SYD-01"
	rasPool   = "10.251.1.1-10.251.1.50"
	rasCaller = "10.251.1.7"
)

// mtaFamilyEvents are the articles' Event 9301 for the two cases, in the
// MTA's own words: the node's name hex-encoded (as Q169113's
// 4E434F5354455354 is "NCOSTEST"), and the pool address (Q256844).
func mtaFamilyEvents(org string, now time.Time, id map[string]int64) []store.BulkEvent {
	ev := func(server string, at time.Time, caller string) store.BulkEvent {
		return store.BulkEvent{Time: at, Server: server, ServerID: id[server],
			Source: "MSExchangeMTA", EventID: mta.EventGatewayNotFound, Category: "Configuration", Severity: mailnet.SeverityWarning,
			Description: mta.Text9301(caller, mta.StackDN(org, serverSite(server), server), server)}
	}
	return []store.BulkEvent{
		ev(clusterPeer, now.Add(-75*time.Minute), clusterNode1),
		ev(clusterPeer, now.Add(-35*time.Minute), clusterNode1),
		ev(rasServer, now.Add(-50*time.Minute), rasCaller),
	}
}

// seedMTAFacts records the cluster, the RAS pool and the dial-up
// connector, after the bulk load.
func seedMTAFacts(ctx context.Context, st *store.Store, id map[string]int64, addrs [][]string) error {
	pool, err := mta.ParseRASPool(rasPool)
	if err != nil {
		return err
	}
	conns, err := st.Connectors(ctx, id[rasDialer])
	if err != nil {
		return err
	}
	var dial int64
	for _, c := range conns {
		if c.Kind == mailnet.ConnectorX400 && c.ServerID == id[rasDialer] && c.RemoteServerID == id[rasServer] {
			dial = c.ID
		}
	}
	if dial == 0 {
		return fmt.Errorf("demo: no X.400 connector from %s to %s", rasDialer, rasServer)
	}
	cluster := &mta.Cluster{VirtualAddress: addrs[id[clusterServer]-1][0], Nodes: []mta.ClusterNode{
		{Name: clusterNode1, Address: "10.250.1.11"}, {Name: clusterNode2, Address: "10.250.1.12"}}}
	return st.Write(ctx, func(tx *store.Tx) error {
		if err := tx.SetServerMTAFacts(ctx, id[clusterServer], mta.ServerFacts{Cluster: cluster}); err != nil {
			return err
		}
		if err := tx.SetServerMTAFacts(ctx, id[rasServer], mta.ServerFacts{RASPool: &pool}); err != nil {
			return err
		}
		return tx.SetConnectorTransport(ctx, dial, mta.TransportRRAS)
	})
}
