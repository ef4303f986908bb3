package reports

import (
	"context"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// Conflicts says which servers the duplicate-serial rule of Q99393 puts
// out of the network. Two or more servers that are not decommissioned and
// share a serial form a group. Q99393 gives the cause as two servers "at
// different sites" on a routed network: there, no warning is shown, every
// routing entry to or from them falls to "No Connection" and their users
// vanish from the All listing of the other servers. On one site the
// standard duplicate message stops the second copy instead, so a
// single-site group is flagged but has no routing impact.
type Conflicts struct {
	// Group maps each server in a duplicate group to its serial.
	Group map[int64]string
	// Impacted maps each server whose routing and listing are cut off to
	// its serial.
	Impacted map[int64]string
	// Groups is the number of duplicate groups (a serial shared within
	// one kind).
	Groups int
}

// InGroup reports whether server id shares its serial.
func (c Conflicts) InGroup(id int64) bool { _, ok := c.Group[id]; return ok }

// IsImpacted reports whether server id is cut off by a duplicate serial.
func (c Conflicts) IsImpacted(id int64) bool { _, ok := c.Impacted[id]; return ok }

// FindConflicts applies the rule to servers, which may be all servers or
// only those that share a serial (store.DuplicateSerialServers). A serial
// identifies a server among servers of its own product, so only servers
// of one kind can share one: an Exchange server and an AppleTalk server
// whose serial strings match are no conflict (Q151228, Q58184). An empty
// serial (an upgrade server not yet scanned, Q99164) shares nothing. Only
// AppleTalk servers lose routes and listings (Q99393); postoffices and
// Exchange servers that share a serial are flagged, with their own
// articles' findings (SerialFindings).
func FindConflicts(servers []mailnet.Server) Conflicts {
	type key struct{ kind, serial string }
	bySerial := map[key][]*mailnet.Server{}
	for i := range servers {
		sv := &servers[i]
		if sv.Status == mailnet.StatusDecommissioned || sv.Serial == "" {
			continue
		}
		k := key{sv.Kind, sv.Serial}
		bySerial[k] = append(bySerial[k], sv)
	}
	c := Conflicts{Group: map[int64]string{}, Impacted: map[int64]string{}}
	for k, group := range bySerial {
		if len(group) < 2 {
			continue
		}
		c.Groups++
		sites := map[int64]bool{}
		for _, sv := range group {
			c.Group[sv.ID] = k.serial
			sites[sv.SiteID] = true
		}
		if len(sites) < 2 || k.kind != mailnet.ServerKindMSMailMac {
			continue
		}
		for _, sv := range group {
			c.Impacted[sv.ID] = k.serial
		}
	}
	return c
}

// LoadConflicts reads the servers that share a serial and applies the rule.
func LoadConflicts(ctx context.Context, st *store.Store) (Conflicts, error) {
	servers, err := st.DuplicateSerialServers(ctx)
	if err != nil {
		return Conflicts{}, err
	}
	return FindConflicts(servers), nil
}

// ListedInAll reports whether a user configured to show in the All listing
// (configured) and homed on server shows there, given the conflicts.
func (c Conflicts) ListedInAll(configured bool, server int64) bool {
	return configured && !c.IsImpacted(server)
}
