package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"mailnet/internal/mta"
)

// The cluster and RAS facts of servers and connectors (migration 0009,
// KB-RULES R3 and R5): a row exists only where a fact is set.

// MTAFacts returns every server's cluster and RAS pool and every
// connector's transport other than the network.
func (s *Store) MTAFacts(ctx context.Context) (mta.Facts, error) {
	f := mta.Facts{Servers: map[int64]mta.ServerFacts{}, Transports: map[int64]string{}}
	err := s.Read(ctx, func(tx *sql.Tx) error {
		cl, err := clusters(ctx, tx, 0)
		if err != nil {
			return err
		}
		for id, c := range cl {
			sf := f.Servers[id]
			sf.Cluster = c
			f.Servers[id] = sf
		}
		pools, err := rasPools(ctx, tx, 0)
		if err != nil {
			return err
		}
		for id, p := range pools {
			sf := f.Servers[id]
			sf.RASPool = p
			f.Servers[id] = sf
		}
		f.Transports, err = transports(ctx, tx, 0)
		return err
	})
	if err != nil {
		return mta.Facts{}, fmt.Errorf("mta facts: %w", err)
	}
	return f, nil
}

// ServerMTAFacts returns one server's cluster and RAS pool (either nil
// when not set).
func (s *Store) ServerMTAFacts(ctx context.Context, serverID int64) (mta.ServerFacts, error) {
	return serverFacts(ctx, s.r, serverID)
}

// ServerMTAFacts returns one server's facts as the transaction sees them.
func (tx *Tx) ServerMTAFacts(ctx context.Context, serverID int64) (mta.ServerFacts, error) {
	return serverFacts(ctx, tx, serverID)
}

func serverFacts(ctx context.Context, q rowQuerier, serverID int64) (mta.ServerFacts, error) {
	var f mta.ServerFacts
	cl, err := clusters(ctx, q, serverID)
	if err != nil {
		return f, fmt.Errorf("server %d cluster: %w", serverID, err)
	}
	f.Cluster = cl[serverID]
	pools, err := rasPools(ctx, q, serverID)
	if err != nil {
		return f, fmt.Errorf("server %d RAS pool: %w", serverID, err)
	}
	f.RASPool = pools[serverID]
	return f, nil
}

// SetServerMTAFacts replaces a server's cluster and RAS pool: a nil one
// is cleared.
func (tx *Tx) SetServerMTAFacts(ctx context.Context, serverID int64, f mta.ServerFacts) error {
	if f.Cluster == nil {
		if _, err := tx.ExecContext(ctx, `DELETE FROM server_clusters WHERE server_id = ?`, serverID); err != nil {
			return fmt.Errorf("clear cluster of server %d: %w", serverID, err)
		}
	} else {
		nodes := f.Cluster.Nodes
		if nodes == nil {
			nodes = []mta.ClusterNode{}
		}
		b, err := json.Marshal(nodes)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO server_clusters (server_id, virtual_address, nodes) VALUES (?, ?, ?)
			ON CONFLICT (server_id) DO UPDATE SET virtual_address = excluded.virtual_address, nodes = excluded.nodes`,
			serverID, f.Cluster.VirtualAddress, string(b)); err != nil {
			return fmt.Errorf("set cluster of server %d: %w", serverID, err)
		}
	}
	if f.RASPool == nil {
		if _, err := tx.ExecContext(ctx, `DELETE FROM server_ras_pools WHERE server_id = ?`, serverID); err != nil {
			return fmt.Errorf("clear RAS pool of server %d: %w", serverID, err)
		}
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO server_ras_pools (server_id, first_address, last_address) VALUES (?, ?, ?)
		ON CONFLICT (server_id) DO UPDATE SET first_address = excluded.first_address, last_address = excluded.last_address`,
		serverID, f.RASPool.First.String(), f.RASPool.Last.String()); err != nil {
		return fmt.Errorf("set RAS pool of server %d: %w", serverID, err)
	}
	return nil
}

// ConnectorTransport returns a connector's transport (mta.TransportLAN
// unless set).
func (s *Store) ConnectorTransport(ctx context.Context, connectorID int64) (string, error) {
	return connectorTransport(ctx, s.r, connectorID)
}

// ConnectorTransport returns a connector's transport as the transaction
// sees it.
func (tx *Tx) ConnectorTransport(ctx context.Context, connectorID int64) (string, error) {
	return connectorTransport(ctx, tx, connectorID)
}

func connectorTransport(ctx context.Context, q rowQuerier, connectorID int64) (string, error) {
	m, err := transports(ctx, q, connectorID)
	if err != nil {
		return "", fmt.Errorf("connector %d transport: %w", connectorID, err)
	}
	if t := m[connectorID]; t != "" {
		return t, nil
	}
	return mta.TransportLAN, nil
}

// ConnectorTransports returns the transport of every connector that does
// not use the network, by connector id.
func (s *Store) ConnectorTransports(ctx context.Context) (map[int64]string, error) {
	m, err := transports(ctx, s.r, 0)
	if err != nil {
		return nil, fmt.Errorf("connector transports: %w", err)
	}
	return m, nil
}

// SetConnectorTransport sets a connector's transport; mta.TransportLAN
// (or "") removes the row.
func (tx *Tx) SetConnectorTransport(ctx context.Context, connectorID int64, transport string) error {
	var err error
	if transport == "" || transport == mta.TransportLAN {
		_, err = tx.ExecContext(ctx, `DELETE FROM connector_transports WHERE connector_id = ?`, connectorID)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO connector_transports (connector_id, transport) VALUES (?, ?)
			ON CONFLICT (connector_id) DO UPDATE SET transport = excluded.transport`, connectorID, transport)
	}
	if err != nil {
		return fmt.Errorf("set transport of connector %d: %w", connectorID, err)
	}
	return nil
}

// clusters reads server_clusters: every row, or one server's (id > 0).
func clusters(ctx context.Context, q rowQuerier, id int64) (map[int64]*mta.Cluster, error) {
	query, args := `SELECT server_id, virtual_address, nodes FROM server_clusters`, []any{}
	if id > 0 {
		query, args = query+` WHERE server_id = ?`, []any{id}
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]*mta.Cluster{}
	for rows.Next() {
		var sid int64
		var c mta.Cluster
		var nodes string
		if err := rows.Scan(&sid, &c.VirtualAddress, &nodes); err != nil {
			return nil, err
		}
		c.Nodes = []mta.ClusterNode{}
		if err := json.Unmarshal([]byte(nodes), &c.Nodes); err != nil {
			return nil, fmt.Errorf("server %d cluster nodes: %w", sid, err)
		}
		out[sid] = &c
	}
	return out, rows.Err()
}

// rasPools reads server_ras_pools: every row, or one server's (id > 0).
func rasPools(ctx context.Context, q rowQuerier, id int64) (map[int64]*mta.RASPool, error) {
	query, args := `SELECT server_id, first_address, last_address FROM server_ras_pools`, []any{}
	if id > 0 {
		query, args = query+` WHERE server_id = ?`, []any{id}
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]*mta.RASPool{}
	for rows.Next() {
		var sid int64
		var first, last string
		if err := rows.Scan(&sid, &first, &last); err != nil {
			return nil, err
		}
		a, err1 := netip.ParseAddr(first)
		b, err2 := netip.ParseAddr(last)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("server %d RAS pool: %w", sid, err)
		}
		out[sid] = &mta.RASPool{First: a, Last: b}
	}
	return out, rows.Err()
}

// transports reads connector_transports: every row, or one connector's
// (id > 0).
func transports(ctx context.Context, q rowQuerier, id int64) (map[int64]string, error) {
	query, args := `SELECT connector_id, transport FROM connector_transports`, []any{}
	if id > 0 {
		query, args = query+` WHERE connector_id = ?`, []any{id}
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var cid int64
		var t string
		if err := rows.Scan(&cid, &t); err != nil {
			return nil, err
		}
		out[cid] = t
	}
	return out, rows.Err()
}

// KnownCallers reports which of the callers (an Event 9301's decoded
// address or name) is an address or the name of a server of the
// inventory, lower-cased.
func (s *Store) KnownCallers(ctx context.Context, callers []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(callers) == 0 {
		return out, nil
	}
	want := map[string]bool{}
	for _, c := range callers {
		want[strings.ToLower(c)] = true
	}
	rows, err := s.r.QueryContext(ctx, `SELECT lower(name) FROM servers UNION ALL SELECT lower(j.value) FROM servers, json_each(servers.addresses) j`)
	if err != nil {
		return nil, fmt.Errorf("known callers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("known callers: %w", err)
		}
		if want[v] {
			out[v] = true
		}
	}
	return out, rows.Err()
}
