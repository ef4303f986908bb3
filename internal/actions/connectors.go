package actions

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// ConnectorInput is a connector to create. For x400, StackAddresses is the
// Stack property page and OverrideAddress the Stack IP Address Override;
// for msmail, PollMinutes is "Check for mail every N minutes".
type ConnectorInput struct {
	Kind            string            `json:"kind"`
	Name            string            `json:"name"`
	ServerID        int64             `json:"server_id"`
	RemoteServerID  int64             `json:"remote_server_id"`
	StackAddresses  []string          `json:"stack_addresses"`
	OverrideAddress string            `json:"override_address"`
	PollMinutes     *int              `json:"poll_minutes"`
	Logging         map[string]string `json:"logging"`
}

// DefaultPollMinutes is the Microsoft Mail Connector's polling interval
// when none is given.
const DefaultPollMinutes = 5

// cleanStack checks a Stack property page. KB197378: the receiving MTA "can
// only have one IP address or one server name defined on the Stack
// property page for each X.400 Connector object".
func cleanStack(in []string) ([]string, error) {
	if len(in) > 1 {
		return nil, mailnet.Invalid("stack_addresses", "an X.400 connector's Stack property page holds one IP address or one server name (KB197378), not %d", len(in))
	}
	out := []string{}
	for _, s := range in {
		s = strings.TrimSpace(s)
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a.Unmap().String())
			continue
		}
		if !validHostName(s) {
			return nil, mailnet.Invalid("stack_addresses", "%q is neither an IP address nor a server name", s)
		}
		out = append(out, s)
	}
	return out, nil
}

// validHostName accepts a server name as a stack entry: letters, digits,
// hyphens, underscores and dots, at most MaxNameLen long.
func validHostName(s string) bool {
	if s == "" || len(s) > MaxNameLen || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return false
		}
	}
	return true
}

// cleanOverride checks a Stack IP Address Override: one of the local
// server's own addresses (KB197378: it is the From address of outbound
// connections), or empty to clear it.
func cleanOverride(s string, local mailnet.Server) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	a, err := cleanAddr("override_address", s)
	if err != nil {
		return "", err
	}
	if !local.HasAddress(a) {
		return "", mailnet.Invalid("override_address", "%s is not an address of server %s (%s)", a, local.Name, strings.Join(local.Addresses, ", "))
	}
	return a, nil
}

// cleanLogging checks diagnostics logging levels per category and merges
// them into base (nil: a new map).
func cleanLogging(base, in map[string]string) (map[string]string, error) {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	for _, cat := range slices.Sorted(maps.Keys(in)) {
		c, err := cleanName("logging", cat)
		if err != nil {
			return nil, err
		}
		level := strings.ToLower(strings.TrimSpace(in[cat]))
		if !slices.Contains(mailnet.LoggingLevels, level) {
			return nil, mailnet.Invalid("logging."+c, "the logging level of %s must be none, minimum, medium or maximum, not %q", c, in[cat])
		}
		out[c] = level
	}
	return out, nil
}

func cleanPoll(p *int) (int, error) {
	if p == nil {
		return DefaultPollMinutes, nil
	}
	if *p < 1 || *p > 1440 {
		return 0, mailnet.Invalid("poll_minutes", "poll_minutes (\"Check for mail every N minutes\") must be from 1 to 1440, not %d", *p)
	}
	return *p, nil
}

// CreateConnector creates a connector on its local server. Its DN is
// derived from the organization, the local server's site and its name.
func (a *Actions) CreateConnector(ctx context.Context, in ConnectorInput) (mailnet.Connector, error) {
	c := mailnet.Connector{Kind: in.Kind, ServerID: in.ServerID, RemoteServerID: in.RemoteServerID}
	if in.Kind != mailnet.ConnectorX400 && in.Kind != mailnet.ConnectorMSMail {
		return c, mailnet.Invalid("kind", "kind must be x400 or msmail, not %q", in.Kind)
	}
	var err error
	if c.Name, err = cleanName("name", in.Name); err != nil {
		return c, err
	}
	if c.Logging, err = cleanLogging(nil, in.Logging); err != nil {
		return c, err
	}
	switch c.Kind {
	case mailnet.ConnectorX400:
		if c.StackAddresses, err = cleanStack(in.StackAddresses); err != nil {
			return c, err
		}
		if in.PollMinutes != nil {
			return c, mailnet.Invalid("poll_minutes", "poll_minutes is for msmail connectors; an X.400 connector does not poll")
		}
	case mailnet.ConnectorMSMail:
		if len(in.StackAddresses) > 0 {
			return c, mailnet.Invalid("stack_addresses", "only an X.400 connector has a Stack property page")
		}
		if strings.TrimSpace(in.OverrideAddress) != "" {
			return c, mailnet.Invalid("override_address", "only an X.400 connector has a Stack IP Address Override")
		}
		c.StackAddresses = []string{}
		if c.PollMinutes, err = cleanPoll(in.PollMinutes); err != nil {
			return c, err
		}
	}
	err = a.Store.Write(ctx, func(tx *store.Tx) error {
		local, err := liveServer(ctx, tx, "server_id", c.ServerID)
		if err != nil {
			return err
		}
		if c.RemoteServerID == 0 && c.Kind == mailnet.ConnectorX400 {
			return mailnet.Invalid("remote_server_id", "an X.400 connector needs remote_server_id, the server it connects to")
		}
		if c.RemoteServerID != 0 {
			if c.RemoteServerID == c.ServerID {
				return mailnet.Invalid("remote_server_id", "a connector joins two different servers")
			}
			if _, err := liveServer(ctx, tx, "remote_server_id", c.RemoteServerID); err != nil {
				return err
			}
		}
		if c.Kind == mailnet.ConnectorX400 {
			if c.OverrideAddress, err = cleanOverride(in.OverrideAddress, local); err != nil {
				return err
			}
		}
		existing, err := tx.ConnectorsOf(ctx, c.ServerID)
		if err != nil {
			return err
		}
		for _, o := range existing {
			if strings.EqualFold(o.Name, c.Name) {
				return mailnet.Errorf(mailnet.KindConflict, "name", "server %s already has a connector named %q", local.Name, o.Name)
			}
		}
		if err := tx.InsertConnector(ctx, &c); err != nil {
			return err
		}
		return tx.Audit(ctx, "connector.create", "connector", c.ID, nil, c, "")
	})
	if err != nil {
		return mailnet.Connector{}, fmt.Errorf("create connector: %w", err)
	}
	a.published("connector", c.ID, "created")
	return c, nil
}

// ConnectorPatch changes a connector. OverrideAddress "" clears the
// override; UpdateRemoteStack also sets the stack of the matching x400
// connector on the remote server to the override, so that it accepts the
// connections (the "Connector override" action).
type ConnectorPatch struct {
	StackAddresses    *[]string         `json:"stack_addresses"`
	OverrideAddress   *string           `json:"override_address"`
	UpdateRemoteStack bool              `json:"update_remote_stack"`
	PollMinutes       *int              `json:"poll_minutes"`
	Logging           map[string]string `json:"logging"`
}

// ConnectorUpdated is a changed connector, the remote one when its stack
// was changed too, and a warning when the remote stack will refuse the
// override.
type ConnectorUpdated struct {
	Connector mailnet.Connector
	Remote    *mailnet.Connector
	Warning   string
}

// UpdateConnector applies p to connector id, and with UpdateRemoteStack
// the remote connector's stack, in one transaction.
func (a *Actions) UpdateConnector(ctx context.Context, id int64, p ConnectorPatch) (ConnectorUpdated, error) {
	var out ConnectorUpdated
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		before, err := tx.ConnectorByID(ctx, id)
		if err != nil {
			return err
		}
		c := before
		c.StackAddresses = slices.Clone(before.StackAddresses)
		x400 := c.Kind == mailnet.ConnectorX400
		if p.StackAddresses != nil {
			if !x400 && len(*p.StackAddresses) > 0 {
				return mailnet.Invalid("stack_addresses", "only an X.400 connector has a Stack property page")
			}
			if c.StackAddresses, err = cleanStack(*p.StackAddresses); err != nil {
				return err
			}
		}
		if p.OverrideAddress != nil {
			if !x400 && strings.TrimSpace(*p.OverrideAddress) != "" {
				return mailnet.Invalid("override_address", "only an X.400 connector has a Stack IP Address Override")
			}
			local, err := tx.ServerByID(ctx, c.ServerID)
			if err != nil {
				return err
			}
			if c.OverrideAddress, err = cleanOverride(*p.OverrideAddress, local); err != nil {
				return err
			}
		}
		if p.PollMinutes != nil {
			if x400 {
				return mailnet.Invalid("poll_minutes", "poll_minutes is for msmail connectors; an X.400 connector does not poll")
			}
			if c.PollMinutes, err = cleanPoll(p.PollMinutes); err != nil {
				return err
			}
		}
		if p.Logging != nil {
			if c.Logging, err = cleanLogging(before.Logging, p.Logging); err != nil {
				return err
			}
		}
		var remote *mailnet.Connector
		if x400 && c.RemoteServerID != 0 {
			r, err := tx.RemoteX400Connector(ctx, c.RemoteServerID, c.ServerID)
			if err != nil && !isNotFound(err) {
				return err
			}
			if err == nil {
				remote = &r
			}
		}
		if p.UpdateRemoteStack {
			switch {
			case !x400:
				return mailnet.Invalid("update_remote_stack", "only an X.400 connector has a remote stack")
			case c.OverrideAddress == "":
				return mailnet.Invalid("update_remote_stack", "set override_address to update the remote stack with it")
			case remote == nil:
				return mailnet.Invalid("update_remote_stack", "no X.400 connector on server %d connects back to server %d", c.RemoteServerID, c.ServerID)
			}
		}
		if err := tx.UpdateConnector(ctx, c); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "connector.update", "connector", c.ID, before, c, ""); err != nil {
			return err
		}
		out.Connector = c
		if p.UpdateRemoteStack {
			rBefore := *remote
			r := *remote
			r.StackAddresses = []string{c.OverrideAddress}
			if err := tx.UpdateConnector(ctx, r); err != nil {
				return err
			}
			detail := fmt.Sprintf("stack set to the Stack IP Address Override of connector %q (KB197378)", c.Name)
			if err := tx.Audit(ctx, "connector.update", "connector", r.ID, rBefore, r, detail); err != nil {
				return err
			}
			out.Remote = &r
		} else if remote != nil && c.OverrideAddress != "" && !slices.Contains(remote.StackAddresses, c.OverrideAddress) {
			out.Warning = fmt.Sprintf("the Stack property page of connector %q on the remote server does not list %s: "+
				"every outbound connection will fail with Event 9301 until it does (send update_remote_stack)", remote.Name, c.OverrideAddress)
		}
		return nil
	})
	if err != nil {
		return ConnectorUpdated{}, fmt.Errorf("update connector %d: %w", id, err)
	}
	a.published("connector", id, "updated")
	if out.Remote != nil {
		a.published("connector", out.Remote.ID, "updated")
	}
	return out, nil
}
