package mailnet

import "time"

// Read models the pages show: audit subjects, a server's dependents and
// state before a decommission, the dir-sync history and findings, runs of
// the manual dir-sync procedure, and scheduled logging reverts. The store
// fills them; the web views render them without importing the store.

// AuditObject names one object an audit row is about.
type AuditObject struct {
	Type string
	ID   int64
}

// AuditName is an audited object's current name and the server it lives
// on (a user's home, a connector's local server; 0 when none).
type AuditName struct {
	Name     string
	ServerID int64
}

// Dependents is what keeps a server from being decommissioned.
type Dependents struct {
	Users      int64 `json:"users"`      // users homed on it
	Moves      int64 `json:"moves"`      // active or queued move items from or to it
	Requestors int64 `json:"requestors"` // dir-sync requestors using it as DX or as their server
	Messages   int64 `json:"messages"`   // messages still stored on it (none once users and moves are gone)
}

// ServerState is the part of a server that a decommission changes, as the
// audit log records it.
type ServerState struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Serial     string `json:"serial"`
	Status     string `json:"status"`
	Routes     int64  `json:"routes"`
	Connectors int64  `json:"connectors"`
}

// DirSyncCycle is one ReqTx or SrvTx of a requestor's history.
type DirSyncCycle struct {
	ID          int64     `json:"id"`
	RequestorID int64     `json:"requestor_id"`
	EventID     int64     `json:"event_id,omitempty"`
	At          time.Time `json:"at"`
	Kind        string    `json:"kind"`
	R           int64     `json:"r"`
	Was         int64     `json:"was"` // r# of a ReqTx, s# of a SrvTx
	S           int64     `json:"s"`
	I           int64     `json:"i"`
	Sent        int64     `json:"sent"`
	FullExport  bool      `json:"full_export,omitempty"`
	Late        bool      `json:"late,omitempty"`
}

// DirSyncFinding is one stored finding with its lifecycle.
type DirSyncFinding struct {
	ID              int64      `json:"id"`
	RequestorID     int64      `json:"requestor_id,omitempty"`
	Requestor       string     `json:"requestor,omitempty"` // NET/PO of the requestor, if any
	SubjectName     string     `json:"subject_name,omitempty"`
	Rule            string     `json:"rule"`
	Kind            string     `json:"kind"`
	Severity        string     `json:"severity"`
	Text            string     `json:"text"`
	Cause           string     `json:"cause,omitempty"`
	Fix             string     `json:"fix,omitempty"`
	Source          string     `json:"source,omitempty"`
	EventID         int64      `json:"event_id,omitempty"`
	OpenedAt        time.Time  `json:"opened_at"`
	SeenAt          time.Time  `json:"seen_at"`
	SeenCount       int64      `json:"seen_count"`
	ResolvedAt      *time.Time `json:"resolved_at"`
	Resolution      string     `json:"resolution,omitempty"` // cleared or acknowledged
	ResolvedEventID int64      `json:"resolved_event_id,omitempty"`
	AckBy           string     `json:"ack_by,omitempty"`
	AckNote         string     `json:"ack_note,omitempty"`
}

// DirSyncRun is one run of the manual dir-sync procedure.
type DirSyncRun struct {
	ID           int64      `json:"id"`
	StartedBy    string     `json:"started_by"`
	StartedAt    time.Time  `json:"started_at"`
	RequestorIDs []int64    `json:"requestor_ids"`
	Scope        string     `json:"scope,omitempty"`
	Drive        string     `json:"drive"`
	Outcome      string     `json:"outcome"`
	Note         string     `json:"note,omitempty"`
	FinishedAt   *time.Time `json:"finished_at"`
	FinishedBy   string     `json:"finished_by,omitempty"`
}

// LoggingRevert is a diagnostics logging level that the console sets back
// by itself: at At, Category of connector ConnectorID returns to To (""
// when the category had no level before).
type LoggingRevert struct {
	ConnectorID int64     `json:"connector_id"`
	Category    string    `json:"category"`
	To          string    `json:"revert_to"`
	At          time.Time `json:"revert_at"`
}

// RequestorChange is one change ingest made to a requestor.
type RequestorChange struct {
	ID          int64     `json:"id"`
	RequestorID int64     `json:"requestor_id"`
	Requestor   string    `json:"requestor"`
	EventID     int64     `json:"event_id,omitempty"`
	At          time.Time `json:"at"`
	Field       string    `json:"field"`
	Before      string    `json:"before"`
	After       string    `json:"after"`
	Detail      string    `json:"detail,omitempty"`
}

// Any reports whether anything still depends on the server.
func (d Dependents) Any() bool { return d.Users+d.Moves+d.Requestors+d.Messages > 0 }
