package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"mailnet/internal/mailnet"
)

// The DN is derived, not stored: /o=ORG/ou=SITE/cn=Configuration/cn=Connections/cn=RDN
// from the organization and the local server's site (KB197378).
const connectorSelect = `SELECT c.id, c.kind, c.name, c.server_id, c.remote_server_id, c.stack_addresses,
		c.override_address, c.poll_minutes, c.logging, (SELECT name FROM organization WHERE id = 1), st.name
	FROM connectors c JOIN servers sv ON sv.id = c.server_id JOIN sites st ON st.id = sv.site_id`

// ConnectorDN is the distinguished name of connector rdn on a server of
// site in organization org.
func ConnectorDN(org, site, rdn string) string {
	return "/o=" + org + "/ou=" + site + "/cn=Configuration/cn=Connections/cn=" + rdn
}

func scanConnector(sc rowScanner) (mailnet.Connector, error) {
	var c mailnet.Connector
	var remote, poll sql.NullInt64
	var override sql.NullString
	var stack, logging, org, site string
	err := sc.Scan(&c.ID, &c.Kind, &c.Name, &c.ServerID, &remote, &stack, &override, &poll, &logging, &org, &site)
	if err != nil {
		return c, err
	}
	c.RemoteServerID = remote.Int64
	c.StackAddresses = unmarshalList(stack)
	c.OverrideAddress = override.String
	c.PollMinutes = int(poll.Int64)
	c.Logging = map[string]string{}
	_ = json.Unmarshal([]byte(logging), &c.Logging)
	c.DN = ConnectorDN(org, site, c.Name)
	return c, nil
}

// Connectors returns the connectors, by id; with serverID set, those whose
// local or remote end it is.
func (s *Store) Connectors(ctx context.Context, serverID int64) ([]mailnet.Connector, error) {
	query := connectorSelect + ` ORDER BY c.id`
	var args []any
	if serverID != 0 {
		query = connectorSelect + ` WHERE c.server_id = ?1 OR c.remote_server_id = ?1 ORDER BY c.id`
		args = append(args, serverID)
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("connectors: %w", err)
	}
	defer rows.Close()
	out := []mailnet.Connector{}
	for rows.Next() {
		c, err := scanConnector(rows)
		if err != nil {
			return nil, fmt.Errorf("connectors: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ConnectorByID returns the connector, or a not-found error.
func (s *Store) ConnectorByID(ctx context.Context, id int64) (mailnet.Connector, error) {
	return connectorByID(ctx, s.r, id)
}

// ConnectorByID returns the connector as the transaction sees it.
func (tx *Tx) ConnectorByID(ctx context.Context, id int64) (mailnet.Connector, error) {
	return connectorByID(ctx, tx, id)
}

func connectorByID(ctx context.Context, q rowQuerier, id int64) (mailnet.Connector, error) {
	c, err := scanConnector(q.QueryRowContext(ctx, connectorSelect+` WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, mailnet.NotFound("connector", id)
	}
	if err != nil {
		return c, fmt.Errorf("connector %d: %w", id, err)
	}
	return c, nil
}

// RemoteX400Connector returns the x400 connector on server serverID whose
// remote end is remoteServerID (the lowest id if there are several), or a
// not-found error.
func (tx *Tx) RemoteX400Connector(ctx context.Context, serverID, remoteServerID int64) (mailnet.Connector, error) {
	c, err := scanConnector(tx.QueryRowContext(ctx, connectorSelect+`
		WHERE c.kind = 'x400' AND c.server_id = ? AND c.remote_server_id = ? ORDER BY c.id LIMIT 1`, serverID, remoteServerID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, mailnet.NotFound("x400 connector", fmt.Sprintf("on server %d to server %d", serverID, remoteServerID))
	}
	if err != nil {
		return c, fmt.Errorf("remote connector: %w", err)
	}
	return c, nil
}

func connectorArgs(c *mailnet.Connector) (remote, override, poll any, stack, logging string) {
	if c.RemoteServerID != 0 {
		remote = c.RemoteServerID
	}
	if c.OverrideAddress != "" {
		override = c.OverrideAddress
	}
	if c.PollMinutes != 0 {
		poll = c.PollMinutes
	}
	lg := c.Logging
	if lg == nil {
		lg = map[string]string{}
	}
	b, _ := json.Marshal(lg)
	return remote, override, poll, marshalList(c.StackAddresses), string(b)
}

// InsertConnector stores c and sets its ID and DN. A name (RDN) already
// used on the same server is a conflict naming the field.
func (tx *Tx) InsertConnector(ctx context.Context, c *mailnet.Connector) error {
	remote, override, poll, stack, logging := connectorArgs(c)
	now := fmtTime(tx.now)
	res, err := tx.ExecContext(ctx, `INSERT INTO connectors (kind, name, server_id, remote_server_id, stack_addresses,
		override_address, poll_minutes, logging, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Kind, c.Name, c.ServerID, remote, stack, override, poll, logging, now, now)
	if IsUnique(err) {
		return mailnet.Errorf(mailnet.KindConflict, "name", "server %d already has a connector named %q", c.ServerID, c.Name)
	}
	if err != nil {
		return fmt.Errorf("insert connector: %w", err)
	}
	c.ID, _ = res.LastInsertId()
	stored, err := tx.ConnectorByID(ctx, c.ID)
	if err != nil {
		return err
	}
	c.DN = stored.DN
	return nil
}

// UpdateConnector writes c's stack addresses, override, poll interval and
// logging levels. Kind, name and ends are fixed.
func (tx *Tx) UpdateConnector(ctx context.Context, c mailnet.Connector) error {
	_, override, poll, stack, logging := connectorArgs(&c)
	res, err := tx.ExecContext(ctx, `UPDATE connectors SET stack_addresses = ?, override_address = ?, poll_minutes = ?,
		logging = ?, updated_at = ? WHERE id = ?`, stack, override, poll, logging, fmtTime(tx.now), c.ID)
	if err != nil {
		return fmt.Errorf("update connector %d: %w", c.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return mailnet.NotFound("connector", c.ID)
	}
	return nil
}

// ConnectorsOf returns the connectors whose local end is serverID, by id.
func (tx *Tx) ConnectorsOf(ctx context.Context, serverID int64) ([]mailnet.Connector, error) {
	rows, err := tx.QueryContext(ctx, connectorSelect+` WHERE c.server_id = ? ORDER BY c.id`, serverID)
	if err != nil {
		return nil, fmt.Errorf("connectors of server %d: %w", serverID, err)
	}
	defer rows.Close()
	out := []mailnet.Connector{}
	for rows.Next() {
		c, err := scanConnector(rows)
		if err != nil {
			return nil, fmt.Errorf("connectors of server %d: %w", serverID, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
