package actions

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"mailnet/internal/live"
	"mailnet/internal/mailnet"
	"mailnet/internal/mta"
	"mailnet/internal/store"
)

// ServerInput is a server to register.
type ServerInput struct {
	Name      string   `json:"name"`
	SiteID    int64    `json:"site_id"`
	Kind      string   `json:"kind"`
	Version   string   `json:"version"`
	Serial    string   `json:"serial"`
	Addresses []string `json:"addresses"`
	Status    string   `json:"status"` // running (default) or stopped
}

// ServerCreated is a registered server and, when its serial was already
// in use, the other servers that carry it, a warning and the event raised.
type ServerCreated struct {
	Server     mailnet.Server
	Duplicates []mailnet.Server
	Warning    string
	Event      *mailnet.Event
	// Warnings are every warning of the create: the duplicate serial's
	// and a look-alike name's (store.NameWarning).
	Warnings []string
}

// Duplicate-serial events raised by the console itself.
const (
	ConsoleSource           = "MailnetAdmin"
	EventDuplicateSerial    = 1001
	CategoryDuplicateSerial = "Duplicate Serial"
)

func validKind(k string) bool {
	return k == mailnet.ServerKindMSMailMac || k == mailnet.ServerKindMSMailPC || k == mailnet.ServerKindExchange
}

// cleanStatus checks a status given by a create or an update: only running
// and stopped; decommissioning is its own action.
func cleanStatus(s string) (string, error) {
	switch s {
	case mailnet.StatusRunning, mailnet.StatusStopped:
		return s, nil
	case mailnet.StatusDecommissioned:
		return "", mailnet.Invalid("status", "a server is decommissioned with POST /api/v1/servers/{id}/decommission, which checks what depends on it")
	}
	return "", mailnet.Invalid("status", "status must be running or stopped, not %q", s)
}

func (in ServerInput) clean() (mailnet.Server, error) {
	var sv mailnet.Server
	var err error
	if sv.Name, err = cleanName("name", in.Name); err != nil {
		return sv, err
	}
	if in.SiteID <= 0 {
		return sv, mailnet.Invalid("site_id", "site_id is required")
	}
	sv.SiteID = in.SiteID
	if !validKind(in.Kind) {
		return sv, mailnet.Invalid("kind", "kind must be msmail-mac, msmail-pc or exchange, not %q", in.Kind)
	}
	sv.Kind = in.Kind
	if sv.Version, err = cleanVersion(in.Version); err != nil {
		return sv, err
	}
	// An AppleTalk server not yet scanned has no serial (an upgrade server
	// before its data file is found, Q99164): accepted, and flagged by the
	// serial checks. Every other server names its serial.
	if sv.Kind != mailnet.ServerKindMSMailMac || strings.TrimSpace(in.Serial) != "" {
		if sv.Serial, err = cleanName("serial", in.Serial); err != nil {
			return sv, err
		}
	}
	if sv.Addresses, err = cleanAddrs("addresses", in.Addresses); err != nil {
		return sv, err
	}
	sv.Status = mailnet.StatusRunning
	if in.Status != "" {
		if sv.Status, err = cleanStatus(in.Status); err != nil {
			return sv, err
		}
	}
	return sv, nil
}

// CreateServer registers a server. A serial already carried by another
// server is stored all the same (it is the network's real state, Q99393)
// and flagged: the result names the other servers, and a warning event is
// recorded in the same transaction as the server and its audit row.
func (a *Actions) CreateServer(ctx context.Context, in ServerInput) (ServerCreated, error) {
	sv, err := in.clean()
	if err != nil {
		return ServerCreated{}, err
	}
	var out ServerCreated
	err = a.Store.Write(ctx, func(tx *store.Tx) error {
		site, err := tx.SiteByID(ctx, sv.SiteID)
		if isNotFound(err) {
			return mailnet.Invalid("site_id", "site %d does not exist", sv.SiteID)
		}
		if err != nil {
			return err
		}
		dups, err := tx.ServersWithSerial(ctx, sv.Serial)
		if err != nil {
			return err
		}
		if err := tx.InsertServer(ctx, &sv); err != nil {
			return err
		}
		out = ServerCreated{Server: sv, Duplicates: dups}
		detail := ""
		if len(dups) > 0 {
			others, err := describeServers(ctx, tx, dups)
			if err != nil {
				return err
			}
			out.Warning = fmt.Sprintf("serial number %s is already used by %s. Q99393: two servers with the same serial number "+
				"at different sites make routing default to \"No Connection\" and their users disappear from the All listing, "+
				"with no warning. It is not possible to change the serial number of a mail server: keep one, move the users "+
				"off the others and remove them.", sv.Serial, others)
			ev := &mailnet.Event{
				Server:   sv.Name,
				ServerID: sv.ID,
				Source:   ConsoleSource,
				EventID:  EventDuplicateSerial,
				Category: CategoryDuplicateSerial,
				Severity: mailnet.SeverityWarning,
				Description: fmt.Sprintf("Server %s (site %s) was registered with serial number %s, which %s already carries (Q99393).",
					sv.Name, site.Name, sv.Serial, others),
				Fields: map[string]string{"serial": sv.Serial},
			}
			if err := tx.InsertConsoleEvent(ctx, ev); err != nil {
				return err
			}
			out.Event = ev
			detail = out.Warning
			out.Warnings = append(out.Warnings, out.Warning)
		}
		if w := store.NameWarning(sv.Name); w != "" {
			out.Warnings = append(out.Warnings, w)
			detail = strings.TrimSpace(detail + " " + w)
		}
		return tx.Audit(ctx, "server.create", "server", sv.ID, nil, sv, detail)
	})
	if err != nil {
		return ServerCreated{}, fmt.Errorf("create server: %w", err)
	}
	a.published("server", out.Server.ID, "created")
	if out.Event != nil {
		// The event's frame comes from the one place that sends event
		// frames in id order (the ingest writer), never from here: a frame
		// sent out of order is skipped by clients that saw a higher id.
		// The frame goes out even if ctx ends while this waits.
		_ = live.PublishCommitted(ctx, a.Live)
	}
	return out, nil
}

// describeServers names servers with their sites: `MAC-A (site HQ), ...`.
func describeServers(ctx context.Context, tx *store.Tx, servers []mailnet.Server) (string, error) {
	parts := make([]string, 0, len(servers))
	for _, o := range servers {
		site, err := tx.SiteByID(ctx, o.SiteID)
		if err != nil {
			return "", err
		}
		parts = append(parts, fmt.Sprintf("%s (site %s)", o.Name, site.Name))
	}
	return strings.Join(parts, ", "), nil
}

// ServerPatch changes a server, as a JSON merge patch (RFC 7396): absent
// fields stay, null clears (version and addresses; name, site_id, kind,
// serial and status cannot be cleared: null is a 422). Kind may be sent (a
// client sending the object back) but not changed; a serial changes only
// where its product allows it (serialChangeAllowed).
type ServerPatch struct {
	Name      Patch[string]   `json:"name"`
	SiteID    Patch[int64]    `json:"site_id"`
	Kind      Patch[string]   `json:"kind"`
	Version   Patch[string]   `json:"version"`
	Serial    Patch[string]   `json:"serial"`
	Addresses Patch[[]string] `json:"addresses"`
	Status    Patch[string]   `json:"status"`
}

// required refuses null on the fields a server cannot be without.
func (p ServerPatch) required() error {
	for _, f := range []struct {
		name string
		null bool
	}{{"name", p.Name.Null}, {"site_id", p.SiteID.Null}, {"kind", p.Kind.Null}, {"serial", p.Serial.Null}, {"status", p.Status.Null}} {
		if f.null {
			return mailnet.Invalid(f.name, "%s cannot be null: it is required (leave it out to keep it)", f.name)
		}
	}
	return nil
}

// UpdateServer applies p to server id.
func (a *Actions) UpdateServer(ctx context.Context, id int64, p ServerPatch) (mailnet.Server, error) {
	var after mailnet.Server
	if err := p.required(); err != nil {
		return after, err
	}
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		before, err := tx.ServerByID(ctx, id)
		if err != nil {
			return err
		}
		sv := before
		sv.Addresses = slices.Clone(before.Addresses)
		if p.Serial.Set && strings.TrimSpace(p.Serial.Value) != before.Serial {
			if err := serialChangeAllowed(before); err != nil {
				return err
			}
			if sv.Serial, err = cleanName("serial", p.Serial.Value); err != nil {
				return err
			}
		}
		if p.Kind.Set && p.Kind.Value != before.Kind {
			return mailnet.Invalid("kind", "the kind of server %s (%s) cannot be changed", before.Name, before.Kind)
		}
		if p.Name.Set {
			if sv.Name, err = cleanName("name", p.Name.Value); err != nil {
				return err
			}
		}
		if p.SiteID.Set {
			if p.SiteID.Value <= 0 {
				return mailnet.Invalid("site_id", "site_id is required")
			}
			if _, err := tx.SiteByID(ctx, p.SiteID.Value); isNotFound(err) {
				return mailnet.Invalid("site_id", "site %d does not exist", p.SiteID.Value)
			} else if err != nil {
				return err
			}
			sv.SiteID = p.SiteID.Value
		}
		if p.Version.Set { // null: not recorded
			if sv.Version, err = cleanVersion(p.Version.Value); err != nil {
				return err
			}
		}
		if p.Addresses.Set { // null: none
			if sv.Addresses, err = cleanAddrs("addresses", p.Addresses.Value); err != nil {
				return err
			}
			if err := overridesStillLocal(ctx, tx, sv); err != nil {
				return err
			}
		}
		if p.Status.Set && p.Status.Value != before.Status {
			if before.Status == mailnet.StatusDecommissioned {
				return mailnet.Errorf(mailnet.KindConflict, "status", "server %s is decommissioned", before.Name)
			}
			if sv.Status, err = cleanStatus(p.Status.Value); err != nil {
				return err
			}
		}
		if err := tx.UpdateServer(ctx, sv); err != nil {
			return err
		}
		after = sv
		return tx.Audit(ctx, "server.update", "server", id, before, sv, "")
	})
	if err != nil {
		return mailnet.Server{}, fmt.Errorf("update server %d: %w", id, err)
	}
	a.published("server", id, "updated")
	return after, nil
}

// overridesStillLocal refuses new addresses for sv that would leave one of
// its x400 connectors with an override that is no longer its own address.
func overridesStillLocal(ctx context.Context, tx *store.Tx, sv mailnet.Server) error {
	conns, err := tx.ConnectorsOf(ctx, sv.ID)
	if err != nil {
		return err
	}
	for _, c := range conns {
		if c.OverrideAddress != "" && !sv.HasAddress(c.OverrideAddress) {
			return mailnet.Invalid("addresses", "connector %q uses %s as its Stack IP Address Override; clear or change it before removing the address",
				c.Name, c.OverrideAddress)
		}
	}
	return nil
}

// DeleteServer removes a server registered by mistake, with its routing
// entries. It is refused while anything else refers to the server.
func (a *Actions) DeleteServer(ctx context.Context, id int64) error {
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		before, err := tx.ServerByID(ctx, id)
		if err != nil {
			return err
		}
		deps, err := tx.ServerDependents(ctx, id)
		if err != nil {
			return err
		}
		if len(deps) > 0 {
			return mailnet.Conflict("server %s still has %s; move or remove them first", before.Name, strings.Join(deps, ", "))
		}
		routes, err := tx.DeleteServer(ctx, id)
		if err != nil {
			return err
		}
		return tx.Audit(ctx, "server.delete", "server", id, before, nil, fmt.Sprintf("removed %d routing entries", routes))
	})
	if err != nil {
		return fmt.Errorf("delete server %d: %w", id, err)
	}
	a.published("server", id, "deleted")
	return nil
}

// cleanVersion reads a version as administrators write it ("5.5 SP2",
// "5.5.2448.1", "5.5 (build 2448.1)", "3.1a"); empty means not recorded.
func cleanVersion(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	if err := checkText("version", v, MaxNameLen); err != nil {
		return "", err
	}
	if _, err := mta.ParseVersion(v); err != nil {
		return "", mailnet.Invalid("version", "%v", err)
	}
	return v, nil
}

// serialChangeAllowed says whether server sv's serial may change. A PC
// postoffice's can, with the procedure of Q209486 (copy Access*.glb and
// Admin.nme, new init disks, notify async postoffices, swap Master.glb
// with P1 renamed). An AppleTalk server's cannot: "It is not possible to
// change the serial number of a mail server" (Q99393) "once the number has
// been written to the data file" (Q99164); one not yet scanned may get its
// first. No article lets the others change theirs.
func serialChangeAllowed(sv mailnet.Server) error {
	switch {
	case sv.Kind == mailnet.ServerKindMSMailPC:
		return nil
	case sv.Kind == mailnet.ServerKindMSMailMac && sv.Serial == "":
		return nil
	case sv.Kind == mailnet.ServerKindMSMailMac:
		return mailnet.Invalid("serial", "it is not possible to change the serial number of a Microsoft Mail for AppleTalk server once it is written to its data file (Q99393, Q99164); server %s keeps serial %s", sv.Name, sv.Serial)
	}
	return mailnet.Invalid("serial", "the serial number of server %s (%s) cannot be changed here; only a PC postoffice's can (Q209486)", sv.Name, sv.Serial)
}
