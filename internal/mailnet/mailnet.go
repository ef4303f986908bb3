// Package mailnet holds the domain of Mailnet Admin: the objects of the
// mail network as DESIGN.md and the seeds describe them, the roles, and the
// error kinds every layer shares. It imports nothing of the project.
package mailnet

import "time"

// Server kinds.
const (
	ServerKindMSMailMac = "msmail-mac" // Microsoft Mail for AppleTalk Networks
	ServerKindMSMailPC  = "msmail-pc"  // Microsoft Mail for PC Networks postoffice
	ServerKindExchange  = "exchange"   // Microsoft Exchange Server
)

// Server statuses.
const (
	StatusRunning        = "running"
	StatusStopped        = "stopped"
	StatusDecommissioned = "decommissioned"
)

// Routing connections, configured or effective.
const (
	RouteDirect   = "direct"
	RouteIndirect = "indirect"
	RouteNone     = "none" // "No Connection" in the Mail Network Administrator
)

// Connector kinds and diagnostics logging levels.
const (
	ConnectorX400   = "x400"
	ConnectorMSMail = "msmail"
)

// LoggingLevels are the diagnostics logging levels, lowest first.
var LoggingLevels = []string{"none", "minimum", "medium", "maximum"}

// Event severities.
const (
	SeverityInfo    = "info"
	SeverityWarning = "warning"
	SeverityError   = "error"
)

// Job statuses.
const (
	JobQueued    = "queued"
	JobRunning   = "running"
	JobDone      = "done"
	JobFailed    = "failed"
	JobCancelled = "cancelled"
)

type Site struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Server is a mail server. Its serial number is immutable once registered
// and may repeat across servers (Q99393).
type Server struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	SiteID       int64     `json:"site_id"`
	Kind         string    `json:"kind"`
	Version      string    `json:"version"`
	Serial       string    `json:"serial"`
	Addresses    []string  `json:"addresses"`
	Status       string    `json:"status"`
	UserCount    int64     `json:"-"`
	MessageCount int64     `json:"-"`
	LastEventID  int64     `json:"-"`
	LastEventAt  time.Time `json:"-"`
}

// Multihomed reports whether the server has two or more network addresses.
func (s *Server) Multihomed() bool { return len(s.Addresses) > 1 }

// HasAddress reports whether addr is one of the server's addresses.
func (s *Server) HasAddress(addr string) bool {
	for _, a := range s.Addresses {
		if a == addr {
			return true
		}
	}
	return false
}

// Route is the routing entry from one server to another: what the
// administrator configured and what is in effect.
type Route struct {
	FromServerID int64  `json:"from_server_id"`
	ToServerID   int64  `json:"to_server_id"`
	Configured   string `json:"configured"`
	ViaServerID  int64  `json:"via_server_id,omitempty"`
	Effective    string `json:"effective"`
	Reason       string `json:"reason"`
}

// User is a mailbox. InAllListing is as configured; whether the user is
// shown in the All listing of other servers also depends on duplicates.
type User struct {
	ID           int64  `json:"id"`
	Alias        string `json:"alias"`
	DisplayName  string `json:"display_name"`
	ServerID     int64  `json:"server_id"`
	InAllListing bool   `json:"in_all_listing"`
	MessageCount int64  `json:"message_count"`
}

type Message struct {
	ID         int64     `json:"id"`
	UserID     int64     `json:"user_id"`
	Folder     string    `json:"folder"`
	Subject    string    `json:"subject"`
	Size       int64     `json:"size"`
	ReceivedAt time.Time `json:"received_at"`
}

// Connector joins a server to a remote one. For X.400, StackAddresses is
// the Stack property page (the addresses accepted inbound) and
// OverrideAddress the Stack IP Address Override used outbound (KB197378).
type Connector struct {
	ID              int64             `json:"id"`
	Kind            string            `json:"kind"`
	Name            string            `json:"name"`
	DN              string            `json:"dn"`
	ServerID        int64             `json:"server_id"`
	RemoteServerID  int64             `json:"remote_server_id"`
	StackAddresses  []string          `json:"stack_addresses"`
	OverrideAddress string            `json:"override_address"`
	PollMinutes     int               `json:"poll_minutes"`
	Logging         map[string]string `json:"logging"`
}

// DXServer is an Exchange server acting as the directory synchronization
// server.
type DXServer struct {
	ServerID       int64  `json:"server_id"`
	AdminAccount   string `json:"admin_account"`
	Paused         bool   `json:"paused"`
	CopyAdmin      bool   `json:"copy_admin"`
	ForwardToAdmin bool   `json:"forward_to_admin"`
	CycleMinutes   int    `json:"cycle_minutes"`
	// KeepUpdatesDays is the Keep Updates time in days (nil: unknown): a
	// requestor inactive for longer misses purged updates (R17 (b), Q108067).
	KeepUpdatesDays *int `json:"keep_updates_days"`
	// RequestorOf is the MS Mail dir-sync server (NETWORK/POSTOFFICE) that
	// this Exchange server's Dir-Sync Requestor object requests from, ""
	// for none: one per organization (R21 (b), Q201084).
	RequestorOf string `json:"requestor_of"`
}

// Requestor is a Remote Dir-Sync Requestor: a PC Mail postoffice that
// synchronizes with a DX server. R, S and I are read from ReqTx and SrvTx.
type Requestor struct {
	ID                int64     `json:"id"`
	Network           string    `json:"network"`
	Postoffice        string    `json:"postoffice"`
	DXServerID        int64     `json:"dx_server_id"`
	RequestorSync     int64     `json:"requestor_sync"`
	ServerSync        int64     `json:"server_sync"`
	Imports           int64     `json:"imports"`
	ExportOnNextCycle bool      `json:"export_on_next_cycle"`
	LastReqTx         string    `json:"last_reqtx,omitempty"`
	LastReqTxAt       time.Time `json:"-"`
	LastSrvTx         string    `json:"last_srvtx,omitempty"`
	LastSrvTxAt       time.Time `json:"-"`
	Anomalies         []string  `json:"-"`
}

// Address is the requestor's name as events carry it: NETWORK/POSTOFFICE.
func (r *Requestor) Address() string { return r.Network + "/" + r.Postoffice }

type Event struct {
	ID          int64             `json:"id"`
	Time        time.Time         `json:"time"`
	Server      string            `json:"server"`
	ServerID    int64             `json:"server_id,omitempty"`
	Source      string            `json:"source"`
	EventID     int               `json:"event_id"`
	Category    string            `json:"category"`
	Severity    string            `json:"severity"`
	Description string            `json:"description"`
	Subject     string            `json:"subject"`
	Fields      map[string]string `json:"fields,omitempty"`
	Unknown     bool              `json:"unknown_server,omitempty"`
}

type Job struct {
	ID     int64  `json:"id"`
	Kind   string `json:"kind"`
	Status string `json:"status"`
	Total  int64  `json:"total"`
	Done   int64  `json:"done"`
	Error  string `json:"error,omitempty"`
}

// AuditEntry is one append-only row of the audit log.
type AuditEntry struct {
	ID         int64     `json:"id"`
	Time       time.Time `json:"time"`
	Actor      string    `json:"actor"`
	Action     string    `json:"action"`
	ObjectType string    `json:"object_type"`
	ObjectID   int64     `json:"object_id,omitempty"`
	Before     any       `json:"before,omitempty"`
	After      any       `json:"after,omitempty"`
	Detail     string    `json:"detail,omitempty"`
}
