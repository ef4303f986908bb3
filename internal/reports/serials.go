package reports

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// Finding is one finding of a family of sibling articles: the serial
// numbers (R10-R14) or the MTA (R6-R9). It names the servers (and
// connectors) it is about, the article, and its fix.
type Finding struct {
	Rule         string  `json:"rule"`     // a short name, e.g. "wgpo-serial"
	Article      string  `json:"article"`  // e.g. "Q142196, Q132560"
	Severity     string  `json:"severity"` // info, warning or error
	ServerIDs    []int64 `json:"server_ids"`
	ConnectorIDs []int64 `json:"connector_ids,omitempty"`
	Finding      string  `json:"finding"`
	Fix          string  `json:"fix"`
}

// Serial rules.
const (
	RulePCDuplicateSerial   = "pc-postoffice-duplicate-serial" // R10, R11(b)
	RuleConnectorPOSerial   = "connector-postoffice-serial"    // R10
	RuleWGPOSerial          = "wgpo-serial"                    // R11(a)
	RuleGatewaySerialRange  = "x400-gateway-serial-range"      // R11(c)
	RuleUnscannedServer     = "appletalk-no-serial"            // R12
	RuleDataFileReset       = "appletalk-data-file-reset"      // R13
	RuleMail20SiteIsolation = "mail20-site-isolation"          // R14(a)
	RuleServerNotSeen       = "appletalk-not-seen"             // R14(b)
)

// Serials the articles name.
const (
	// WGPOSerial is the serial every Workgroup postoffice, and Mail Server
	// 3.5 installed from BackOffice 1.5, carries (Q132560, Q142196).
	WGPOSerial = "0799-99992"
	// ConnectorPOSerial is the serial of every MS Mail Connector
	// postoffice (Q151228: "22- 28798").
	ConnectorPOSerial = "22-28798"
	// GatewaySerialMax is the largest second part of a postoffice serial
	// that the MS Mail Gateway to X.400 3.0 handles (Q194712).
	GatewaySerialMax = 64536
	// NotSeenAfter is two network scans of six hours (Q101931, Q68364).
	NotSeenAfter = 12 * time.Hour
)

// q209486Steps is the procedure for changing a PC postoffice's serial.
const q209486Steps = "Change the serial with the procedure of Q209486: copy Access*.glb and Admin.nme, make new init disks for remote users, notify the async postoffices, rename P1 to Pold, wait for the MMF updates, swap Master.glb, then rename Pold back to P1. Unlike an AppleTalk server's, a PC postoffice's serial can be changed."

// SerialChecks reads the inventory and applies BuildSerialFindings.
func SerialChecks(ctx context.Context, st *store.Store) ([]Finding, error) {
	rows, err := st.ReportServers(ctx)
	if err != nil {
		return nil, err
	}
	servers, sites := serversOfRows(rows)
	conns, err := st.Connectors(ctx, 0)
	if err != nil {
		return nil, err
	}
	return BuildSerialFindings(servers, sites, conns, st.Now()), nil
}

// serversOfRows turns the server report's rows into the servers the
// serial rules read, and the site names by id.
func serversOfRows(rows []store.ServerReportRow) ([]mailnet.Server, map[int64]string) {
	servers := make([]mailnet.Server, 0, len(rows))
	sites := map[int64]string{}
	for _, r := range rows {
		servers = append(servers, mailnet.Server{ID: r.ID, Name: r.Name, SiteID: r.SiteID, Kind: r.Kind, Version: r.Version,
			Serial: r.Serial, Status: r.Status, UserCount: r.UserCount, LastEventAt: r.LastEventAt})
		sites[r.SiteID] = r.Site
	}
	return servers, sites
}

// BuildSerialFindings applies R10-R14 to servers (decommissioned ones are
// left out), their sites' names and the connectors.
func BuildSerialFindings(servers []mailnet.Server, sites map[int64]string, conns []mailnet.Connector, now time.Time) []Finding {
	live := make([]mailnet.Server, 0, len(servers))
	byID := map[int64]mailnet.Server{}
	for _, s := range servers {
		if s.Status != mailnet.StatusDecommissioned {
			live = append(live, s)
			byID[s.ID] = s
		}
	}
	var out []Finding
	add := func(f Finding) { out = append(out, f) }

	// R10, R11(b): postoffices that share a serial.
	pcBySerial := map[string][]mailnet.Server{}
	for _, s := range live {
		if s.Kind == mailnet.ServerKindMSMailPC && s.Serial != "" {
			pcBySerial[normalSerial(s.Serial)] = append(pcBySerial[normalSerial(s.Serial)], s)
		}
	}
	for _, group := range pcBySerial {
		if len(group) < 2 {
			continue
		}
		add(Finding{Rule: RulePCDuplicateSerial, Article: "Q151228, Q132560", Severity: mailnet.SeverityError, ServerIDs: serverIDs(group),
			Finding: fmt.Sprintf("Postoffices %s share serial %s: a PC MTA that serves both refuses them (\"have the same postoffice serial number\", Event 4188).", names(group), group[0].Serial),
			Fix:     q209486Steps + " If both definitions point at the same share, remove the duplicate postoffice definition or drive mapping instead."})
	}

	for _, s := range live {
		switch s.Kind {
		case mailnet.ServerKindMSMailPC:
			// R11(a): the shared installation serial.
			if normalSerial(s.Serial) == normalSerial(WGPOSerial) {
				add(Finding{Rule: RuleWGPOSerial, Article: "Q142196, Q132560", Severity: mailnet.SeverityWarning, ServerIDs: []int64{s.ID},
					Finding: fmt.Sprintf("Postoffice %s uses serial %s, the non-unique serial of every Workgroup postoffice and of Mail Server 3.5 installed from BackOffice 1.5 (Q142196, Q132560).", s.Name, s.Serial),
					Fix:     q209486Steps})
			}
			// R11(c): a serial the X.400 gateway 3.0 cannot handle.
			if n, ok := serialSecondPart(s.Serial); ok && n > GatewaySerialMax {
				add(Finding{Rule: RuleGatewaySerialRange, Article: "Q194712", Severity: mailnet.SeverityWarning, ServerIDs: []int64{s.ID},
					Finding: fmt.Sprintf("Postoffice %s has serial %s, whose second part exceeds %s: the Microsoft Mail Gateway to X.400 3.0 may not start on it (Q194712).", s.Name, s.Serial, formatInt(GatewaySerialMax)),
					Fix:     "If the postoffice runs the X.400 gateway 3.0, install X400gate.exe 3.2.1 (X400gy2k.exe), or change the serial (Q209486)."})
			}
		case mailnet.ServerKindMSMailMac:
			// R12: no serial yet.
			if s.Serial == "" {
				add(Finding{Rule: RuleUnscannedServer, Article: "Q99164", Severity: mailnet.SeverityWarning, ServerIDs: []int64{s.ID},
					Finding: fmt.Sprintf("AppleTalk server %s has no serial number recorded: an upgrade server, or one not yet scanned. An upgrade server has no serial of its own and cannot create a new data file (Q99164).", s.Name),
					Fix:     "Back up its \"Microsoft Mail Data\" file, then record the serial once the Global Server Report shows it. The serial cannot be changed after it is written to the data file."})
			}
			// R13: a fresh data file after a System 7 upgrade.
			if s.Serial != "" && s.UserCount <= 1 && strings.Contains(strings.ToUpper(s.Name), strings.ToUpper(s.Serial)) {
				add(Finding{Rule: RuleDataFileReset, Article: "Q105542", Severity: mailnet.SeverityError, ServerIDs: []int64{s.ID},
					Finding: fmt.Sprintf("Server %s is named after its own serial and has %d user: it started with a fresh Microsoft Mail Data file (typical after a System 7 upgrade) and lost its user list and friendly name (Q105542).", s.Name, s.UserCount),
					Fix:     "Move the new (about 600K) data file out of the Extensions folder, move the original data file from the System Folder into Extensions, restart and verify, then delete the small file."})
			}
			// R14(b): not heard from for two scans.
			if s.Status == mailnet.StatusRunning && !s.LastEventAt.IsZero() && now.Sub(s.LastEventAt) > NotSeenAfter {
				add(Finding{Rule: RuleServerNotSeen, Article: "Q140077, Q101931", Severity: mailnet.SeverityWarning, ServerIDs: []int64{s.ID},
					Finding: fmt.Sprintf("AppleTalk server %s was last heard from %s ago, more than two network scans (every six hours).", s.Name, now.Sub(s.LastEventAt).Round(time.Minute)),
					Fix:     "Check the routers between the administrator and the server; the Global Server Report's \"Last seen\" is the time of the most recent server-to-server communication (Q140077)."})
			}
		}
	}

	// R14(a): Mail 2.0 servers stay in site Local and exchange no user
	// lists with 3.0 servers elsewhere.
	var v2 []mailnet.Server
	others := map[string][]mailnet.Server{}
	for _, s := range live {
		if s.Kind != mailnet.ServerKindMSMailMac {
			continue
		}
		switch {
		case strings.HasPrefix(strings.TrimSpace(s.Version), "2."):
			v2 = append(v2, s)
		case strings.HasPrefix(strings.TrimSpace(s.Version), "3.") && !strings.EqualFold(sites[s.SiteID], "Local"):
			others[sites[s.SiteID]] = append(others[sites[s.SiteID]], s)
		}
	}
	if len(v2) > 0 {
		for _, site := range slices.Sorted(mapKeys(others)) {
			group := others[site]
			add(Finding{Rule: RuleMail20SiteIsolation, Article: "Q71216", Severity: mailnet.SeverityWarning, ServerIDs: append(serverIDs(v2), serverIDs(group)...),
				Finding: fmt.Sprintf("Users on the Mail 2.0 servers %s (always in site Local) will not appear on the Mail 3.0 servers of site %s (%s), and the reverse (Q71216).", names(v2), site, names(group)),
				Fix:     "Upgrade the Mail 2.0 servers, or keep the 3.0 servers that must exchange user lists with them in site Local."})
		}
	}

	// R10: Exchange servers linked through the MS Mail Connector: every
	// connector postoffice carries serial 22-28798.
	for _, c := range conns {
		a, b := byID[c.ServerID], byID[c.RemoteServerID]
		if c.Kind != mailnet.ConnectorMSMail || a.Kind != mailnet.ServerKindExchange || b.Kind != mailnet.ServerKindExchange || a.ID > b.ID && hasMSMailLink(conns, b.ID, a.ID) {
			continue
		}
		add(Finding{Rule: RuleConnectorPOSerial, Article: "Q151228", Severity: mailnet.SeverityError, ServerIDs: []int64{a.ID, b.ID},
			Finding: fmt.Sprintf("Exchange servers %s and %s are linked through the Microsoft Mail Connector: both connector postoffices carry serial %s, so the PC MTA stops with service specific error 3 and Event 4188 (Q151228).", a.Name, b.Name, ConnectorPOSerial),
			Fix:     "Replace the MS Mail Connector backbone with a site or X.400 connector: \"Microsoft does not recommend using the Microsoft Mail Connector as a backbone for Microsoft Exchange Servers\" (Q151228)."})
	}

	slices.SortStableFunc(out, func(x, y Finding) int {
		return cmp.Or(cmp.Compare(severityRank(y.Severity), severityRank(x.Severity)), cmp.Compare(x.Rule, y.Rule), slices.Compare(x.ServerIDs, y.ServerIDs))
	})
	if out == nil {
		out = []Finding{}
	}
	return out
}

func hasMSMailLink(conns []mailnet.Connector, from, to int64) bool {
	for _, c := range conns {
		if c.Kind == mailnet.ConnectorMSMail && c.ServerID == from && c.RemoteServerID == to {
			return true
		}
	}
	return false
}

// normalSerial compares postoffice serials as the articles write them:
// "22- 28798" is 22-28798, "799-99992" is 0799-99992.
func normalSerial(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	first, second, ok := strings.Cut(s, "-")
	if !ok {
		return s
	}
	return strings.TrimLeft(first, "0") + "-" + second
}

// serialSecondPart is the yyyyy of a postoffice serial xx-yyyyy.
func serialSecondPart(s string) (int, bool) {
	_, second, ok := strings.Cut(normalSerial(s), "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(second)
	return n, err == nil
}

func severityRank(s string) int {
	switch s {
	case mailnet.SeverityError:
		return 2
	case mailnet.SeverityWarning:
		return 1
	}
	return 0
}

func serverIDs(servers []mailnet.Server) []int64 {
	out := make([]int64, len(servers))
	for i, s := range servers {
		out[i] = s.ID
	}
	slices.Sort(out)
	return out
}

func names(servers []mailnet.Server) string {
	n := make([]string, len(servers))
	for i, s := range servers {
		n[i] = s.Name
	}
	slices.Sort(n)
	return strings.Join(n, ", ")
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func formatInt(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
