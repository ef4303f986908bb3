package actions

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

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

// ConnectorPatch changes a connector, as a JSON merge patch (RFC 7396):
// a field left out is unchanged, null clears it. override_address null
// (or "") clears the override; stack_addresses null empties the Stack;
// poll_minutes null returns to DefaultPollMinutes; logging null clears
// every category and {"logging": {"MTA": null}} one. UpdateRemoteStack
// also sets the stack of the matching x400 connector on the remote server
// to the override, so that it accepts the connections (the "Connector
// override" action). LoggingRevertAt schedules the categories this patch
// sets back to the levels they had before, at that time; null cancels
// every scheduled revert of the connector.
type ConnectorPatch struct {
	StackAddresses    Patch[[]string]           `json:"stack_addresses"`
	OverrideAddress   Patch[string]             `json:"override_address"`
	UpdateRemoteStack bool                      `json:"update_remote_stack"`
	PollMinutes       Patch[int]                `json:"poll_minutes"`
	Logging           Patch[map[string]*string] `json:"logging"`
	LoggingRevertAt   Patch[time.Time]          `json:"logging_revert_at"`
}

// MaxLoggingRevert is how far ahead a logging revert may be scheduled.
const MaxLoggingRevert = 30 * 24 * time.Hour

// patchLogging applies a merge patch of logging levels to base. It
// returns the new levels, the categories set to a level, and those
// removed.
func patchLogging(base map[string]string, p Patch[map[string]*string]) (out map[string]string, set, removed []string, err error) {
	out = maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	if p.Null {
		removed = slices.Sorted(maps.Keys(out))
		return map[string]string{}, nil, removed, nil
	}
	for _, cat := range slices.Sorted(maps.Keys(p.Value)) {
		c, err := cleanName("logging", cat)
		if err != nil {
			return nil, nil, nil, err
		}
		lv := p.Value[cat]
		if lv == nil {
			for k := range out {
				if strings.EqualFold(k, c) {
					delete(out, k)
					removed = append(removed, k)
				}
			}
			continue
		}
		one, err := cleanLogging(nil, map[string]string{c: *lv})
		if err != nil {
			return nil, nil, nil, err
		}
		out[c] = one[c]
		set = append(set, c)
	}
	return out, set, removed, nil
}

// ConnectorUpdated is a changed connector, the remote one when its stack
// was changed too, and a warning when the remote stack will refuse the
// override.
type ConnectorUpdated struct {
	Connector mailnet.Connector
	Remote    *mailnet.Connector
	Warning   string
	// Reverts are the connector's scheduled logging reverts after the
	// change.
	Reverts []store.LoggingRevert
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
		if p.StackAddresses.Set { // null: an empty Stack
			if !x400 && len(p.StackAddresses.Value) > 0 {
				return mailnet.Invalid("stack_addresses", "only an X.400 connector has a Stack property page")
			}
			if c.StackAddresses, err = cleanStack(p.StackAddresses.Value); err != nil {
				return err
			}
		}
		if p.OverrideAddress.Set { // null or "": no override
			if !x400 && strings.TrimSpace(p.OverrideAddress.Value) != "" {
				return mailnet.Invalid("override_address", "only an X.400 connector has a Stack IP Address Override")
			}
			local, err := tx.ServerByID(ctx, c.ServerID)
			if err != nil {
				return err
			}
			if c.OverrideAddress, err = cleanOverride(p.OverrideAddress.Value, local); err != nil {
				return err
			}
		}
		if p.PollMinutes.Present() {
			if x400 {
				return mailnet.Invalid("poll_minutes", "poll_minutes is for msmail connectors; an X.400 connector does not poll")
			}
			if c.PollMinutes, err = cleanPoll(&p.PollMinutes.Value); err != nil {
				return err
			}
		} else if p.PollMinutes.Null && !x400 {
			c.PollMinutes = DefaultPollMinutes
		}
		var setCats, removedCats []string
		if p.Logging.Set {
			if c.Logging, setCats, removedCats, err = patchLogging(before.Logging, p.Logging); err != nil {
				return err
			}
		}
		if err := a.patchReverts(ctx, tx, before, p, setCats, removedCats); err != nil {
			return err
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
		if out.Reverts, err = tx.LoggingRevertsOf(ctx, c.ID); err != nil {
			return err
		}
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

// patchReverts schedules, keeps or drops the logging reverts of connector
// before for patch p, which set the categories set and removed removed.
// A revert already scheduled for a category keeps the level it returns
// to: raising a level twice still reverts to the first one.
func (a *Actions) patchReverts(ctx context.Context, tx *store.Tx, before mailnet.Connector, p ConnectorPatch, set, removed []string) error {
	for _, cat := range removed {
		if _, err := tx.DeleteLoggingRevert(ctx, before.ID, cat); err != nil {
			return err
		}
	}
	if p.LoggingRevertAt.Null {
		_, err := tx.DeleteLoggingRevert(ctx, before.ID, "")
		return err
	}
	if !p.LoggingRevertAt.Set {
		return nil
	}
	at := p.LoggingRevertAt.Value.UTC()
	now := tx.Now()
	switch {
	case len(set) == 0:
		return mailnet.Invalid("logging_revert_at", "logging_revert_at reverts the logging levels this change sets; set at least one category in logging")
	case !at.After(now):
		return mailnet.Invalid("logging_revert_at", "logging_revert_at must be in the future, not %s", at.Format(time.RFC3339))
	case at.Sub(now) > MaxLoggingRevert:
		return mailnet.Invalid("logging_revert_at", "logging_revert_at may be at most %d days ahead", int(MaxLoggingRevert/(24*time.Hour)))
	}
	pending, err := tx.LoggingRevertsOf(ctx, before.ID)
	if err != nil {
		return err
	}
	for _, cat := range set {
		to := before.Logging[cat]
		for _, r := range pending {
			if r.Category == cat {
				to = r.To
			}
		}
		if err := tx.SetLoggingRevert(ctx, store.LoggingRevert{ConnectorID: before.ID, Category: cat, To: to, At: at}); err != nil {
			return err
		}
	}
	return nil
}

// RevertDueLogging sets back every logging level whose revert time has
// come (by the store's clock), one transaction and one audit row per
// connector, and reports how many categories it reverted.
func (a *Actions) RevertDueLogging(ctx context.Context) (int, error) {
	due, err := a.Store.DueLoggingReverts(ctx, a.Store.Now())
	if err != nil {
		return 0, err
	}
	ids := []int64{}
	for _, r := range due {
		if !slices.Contains(ids, r.ConnectorID) {
			ids = append(ids, r.ConnectorID)
		}
	}
	n := 0
	for _, id := range ids {
		k := 0
		err := a.Store.Write(ctx, func(tx *store.Tx) error {
			k = 0
			before, err := tx.ConnectorByID(ctx, id)
			if err != nil {
				return err
			}
			pending, err := tx.LoggingRevertsOf(ctx, id)
			if err != nil {
				return err
			}
			c := before
			c.Logging = maps.Clone(before.Logging)
			if c.Logging == nil {
				c.Logging = map[string]string{}
			}
			var done []string
			for _, r := range pending {
				if r.At.After(tx.Now()) {
					continue // rescheduled since the list was read
				}
				if r.To == "" {
					delete(c.Logging, r.Category)
				} else {
					c.Logging[r.Category] = r.To
				}
				if _, err := tx.DeleteLoggingRevert(ctx, id, r.Category); err != nil {
					return err
				}
				to := r.To
				if to == "" {
					to = "no level"
				}
				done = append(done, fmt.Sprintf("%s from %s back to %s", r.Category, orNone(before.Logging[r.Category]), to))
				k++
			}
			if k == 0 {
				return nil
			}
			if err := tx.UpdateConnector(ctx, c); err != nil {
				return err
			}
			return tx.Audit(ctx, "connector.logging_revert", "connector", id, before, c,
				"diagnostics logging reverted at the scheduled time: "+strings.Join(done, "; "))
		})
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("revert logging of connector %d: %w", id, err)
		}
		if k > 0 {
			n += k
			a.published("connector", id, "updated")
		}
	}
	return n, nil
}

func orNone(s string) string {
	if s == "" {
		return "no level"
	}
	return s
}

// StartLoggingReverts applies due logging reverts now and then every
// poll, until the returned stop is called (it waits for a pass in
// flight). The reverts are rows, so one due while the console was down is
// applied at the next start.
func (a *Actions) StartLoggingReverts(poll time.Duration) (stop func()) {
	if poll <= 0 {
		poll = 15 * time.Second
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(poll)
		defer t.Stop()
		for {
			if _, err := a.RevertDueLogging(context.Background()); err != nil {
				a.Log.Error("logging reverts", "err", err)
			}
			select {
			case <-quit:
				return
			case <-t.C:
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(quit) })
		<-done
	}
}
