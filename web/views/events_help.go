package views

import (
	"strconv"

	"mailnet/internal/dirsync"
)

// EventHelp explains one known event ID in the words of the seed
// articles. The event log page shows it beside the event and as the
// tooltip of the ID; the NOC screen uses Short as a tooltip too.
type EventHelp struct {
	ID      int
	Source  string // the service that logs it
	Title   string
	Short   string // one line, for tooltips
	Details []string
	Article string // where it comes from
}

// eventHelp is the one table of known event IDs.
var eventHelp = []EventHelp{
	{
		ID: 9301, Source: "MSExchangeMTA", Title: "Message transfer gateway could not be found",
		Short: "The receiving MTA matched an inbound connection to no local X.400 connector: the network address (hex) is the caller, the transport stack names the receiver.",
		Details: []string{
			"Logged by the MTA of the receiving server when an incoming connection comes from an X.400 MTA whose IP address or server name is not configured on the Stack property page of any locally installed X.400 connector; the connection does not work.",
			"Its text: \"The message transfer gateway that uses the network address 91F5C11B and the transport stack /o=Org/ou=Site/cn=Configuration/cn=Servers/cn=LocalMTA/cn=TCP (LocalMTA) could not be found.\" Eight hex digits are the caller's IPv4 address, one byte per pair (91F5C11B is 145.245.193.27); a longer string is the caller's name in hex-encoded ASCII (Q193380).",
			"With a host name on the Stack page the MTA logs one informational 9301, looks the caller up and accepts it (Q189345); a second 9301, or a 9202, means the lookup failed and the connection was dropped (Q193380).",
			"By default the MTA lets the transport choose among all the virtual server IP addresses of a multihomed server for outgoing connections, so 9301 appears \"approximately half of the times\" a connection is attempted from a multihomed server with two addresses, one of them configured.",
			"Fix (Exchange Server 5.5 Service Pack 2 or later): on the multihomed server set the connector's Stack IP Address Override (HKLM\\System\\CurrentControlSet\\Services\\MSExchangeMTA\\Parameters\\<connector RDN>\\Stack IP Address Override), restart the MTA, and configure the receiving connector's stack with that address.",
		},
		Article: "KB197378",
	},
	{
		ID: 4395, Source: "MSExchangePCMTA", Title: "Dir-sync mail moved out / sent",
		Short: "A dir-sync message left a mailbox store: Moved Out on the requestor (its ReqTx), Sent on the DX server (its SrvTx).",
		Details: []string{
			"Category Moved Out, on the requestor postoffice: \"Mail sent from \\\\<Requestor Server>\\MAILDATA\", FROM: <Requestor Network>/<Requestor PO>/$SYSTEM, TO: <DXA Server Organization>/<DXA Server Site>/$SYSTEM. It carries the requestor's ReqTx update to the dir-sync server (step T1).",
			"Category Sent, on the DX server: \"Mail sent from \\\\<DXA Server>\\MAILDAT$\", FROM: <DXA Server Organization>/<DXA Server Site>/$SYSTEM, TO: <Requestor Network>/<Requestor PO>/$SYSTEM. It carries the server's SrvTx update back to the requestor (step T2).",
		},
		Article: "Manual dir-sync with Exchange as the dir-sync server",
	},
	{
		ID: 4355, Source: "MSExchangePCMTA", Title: "Dir-sync mail received / moved in",
		Short: "A dir-sync message arrived: Received on the DX server (a requestor's ReqTx), Moved In on the requestor (the server's SrvTx).",
		Details: []string{
			"Category Received, on the DX server: \"Mail received on \\\\<DXA Server>\\MAILDAT$\", FROM: <Requestor Network>/<Requestor PO>/$SYSTEM, TO: <DXA Server Organization>/<DXA Server Site>/$SYSTEM: the requestor's ReqTx reached the dir-sync server.",
			"Category Moved In, on the requestor postoffice: \"Mail received on \\\\<Requestor Server>\\MAILDATA\", FROM: <DXA Server Organization>/<DXA Server Site>/$SYSTEM, TO: <Requestor Network>/<Requestor PO>/$SYSTEM: the server's SrvTx reached the requestor, which then runs reqmain -r, import and rebuild (step T3).",
		},
		Article: "Manual dir-sync with Exchange as the dir-sync server",
	},
	{
		ID: 9298, Source: "MSExchangeMTA", Title: "MTA service startup complete",
		Short: "The MTA started and reported its version and build, e.g. \"version 5.0 (build 1457.8)\".",
		Details: []string{
			"Logged by the message transfer agent when its service starts: \"Microsoft Exchange Server MTA Service startup complete, version 5.0 (build 1457.8).\" The build places the MTA on the build table of Q163294 (5.5 SP1 is 2232.18, SP2 2448.1, SP3 2650.24).",
			"The console learns each server's MTA build from it: the Stack IP Address Override works only from 5.5.2431.0 (SP2, KB197378), and builds 2354-2620 may not log Event 9301 at all (Q234962).",
		},
		Article: "Q174695, Q163294",
	},
	{
		ID: 9299, Source: "MSExchangeMTA", Title: "MTA service startup complete",
		Short: "The MTA started and reported its version and build, e.g. \"version 5.0 (build 1457.8)\".",
		Details: []string{
			"Logged by the message transfer agent when its service starts: \"Microsoft Exchange Server MTA Service startup complete, version 5.0 (build 1457.8).\" The build places the MTA on the build table of Q163294 (5.5 SP1 is 2232.18, SP2 2448.1, SP3 2650.24).",
			"The console learns each server's MTA build from it: the Stack IP Address Override works only from 5.5.2431.0 (SP2, KB197378), and builds 2354-2620 may not log Event 9301 at all (Q234962).",
		},
		Article: "Q174695, Q163294",
	},
	{
		ID: 9202, Source: "MSExchangeMTA", Title: "Sockets error on accept()",
		Short: "\"A sockets error 0 on an accept() call was detected.\" Beside a 9301, the connection was dropped.",
		Details: []string{
			"Logged by the receiving MTA: \"A sockets error 0 on an accept() call was detected. The MTA will attempt to recover the sockets connection.\" Q193380 shows it after the second Event 9301, when the reverse lookup of the caller failed and the connection attempt was terminated.",
		},
		Article: "Q193380",
	},
	{
		ID: 9156, Source: "MSExchangeMTA", Title: "No free control blocks",
		Short: "The MTA ran out of TCP/IP control blocks; the configured count is too small for its X.400 connectors.",
		Details: []string{
			"\"A resource limit has been reached while attempting to open an association. There are no free control blocks available for network type 1. The configured count is 70.\" Set TCP/IP Control blocks to (10 * number of X.400 connectors) + 10 and restart the MTA (Q200259, Q243632).",
		},
		Article: "Q200259, Q243632",
	},
}

var eventHelpByID = func() map[int]*EventHelp {
	m := make(map[int]*EventHelp, len(eventHelp))
	for i := range eventHelp {
		m[eventHelp[i].ID] = &eventHelp[i]
	}
	return m
}()

// HelpFor returns the explanation of event ID id, or nil for an ID the
// table does not know.
func HelpFor(id int) *EventHelp { return eventHelpByID[id] }

// KnownEvents returns the table, in its order.
func KnownEvents() []EventHelp { return eventHelp }

// EventTooltip is the one-line explanation of id, or "" when unknown.
func EventTooltip(id int) string {
	if h := HelpFor(id); h != nil {
		return strconv.Itoa(id) + ": " + h.Short + " (" + h.Article + ")"
	}
	return ""
}

// SubjectHelp explains a ReqTx or SrvTx subject field by field, with the
// meanings of the article's tables; nil for any other subject.
func SubjectHelp(subject string) []string {
	tx, ok := dirsync.Parse(subject)
	if !ok {
		return nil
	}
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	if tx.Kind == dirsync.ReqTx {
		return []string{
			"ReqTx: the requestor update to the dir-sync server.",
			"R=" + n(tx.R) + ": the current requestor sync number from REQTRANS.GLB.",
			"(was " + n(tx.WasR) + "): the old requestor sync number from REQCONF.GLB.",
			"S=" + n(tx.S) + ": the requestor's server sync number from REQCONF.GLB.",
			"I=" + n(tx.I) + ": the number of imports requested to date from REQCONF.GLB.",
			n(tx.Sent) + " sent: the number of address updates contained in the attachment.",
		}
	}
	return []string{
		"SrvTx: the server's update to the requestor.",
		"R=" + n(tx.R) + ": the requestor sync number sent from the requestor, an acknowledgment of the updates received by the server.",
		"S=" + n(tx.S) + ": the new server sync number for the requestor.",
		"(was " + n(tx.WasS) + "): the old server sync number for the requestor.",
		"I=" + n(tx.I) + ": the number of imports requested to date by the requestor.",
		n(tx.Sent) + " sent: the number of updates sent back to the requestor.",
	}
}

// SubjectTooltip is SubjectHelp as one line, or "".
func SubjectTooltip(subject string) string {
	h := SubjectHelp(subject)
	out := ""
	for i, l := range h {
		if i > 0 {
			out += " "
		}
		out += l
	}
	return out
}
