package mailnet

import (
	"encoding/json"
	"time"
)

// JobKindMove is the kind of a move (or evacuate) job.
const JobKindMove = "move"

// JobUnitMessages says what total and done count in a move job.
const JobUnitMessages = "messages"

// Move item states. Queued, copying, verified and switched are active: the
// database allows one active item per user (move_items_one_active).
const (
	ItemQueued    = "queued"
	ItemCopying   = "copying"
	ItemVerified  = "verified"
	ItemSwitched  = "switched"
	ItemDone      = "done"
	ItemFailed    = "failed"
	ItemCancelled = "cancelled"
)

// JobDetail is a job as the API shows it: the contract's {id, kind,
// status, total, done} plus what pages need. For a move, total and done
// count messages (unit "messages"); users_total and users_done count
// users. Times are zero when not set.
type JobDetail struct {
	Job
	Unit       string
	UsersTotal int64
	UsersDone  int64 // users whose item has ended: Moved + Failed + Cancelled + Skipped
	// How the users' items ended: moved (done), failed, cancelled after
	// they started (their copies rolled back), skipped (cancelled before
	// they started: nothing of theirs was touched).
	Moved, Failed, Cancelled, Skipped int64
	// MessagesMoved counts the messages of the moved users.
	MessagesMoved int64
	// FromServerID is the server the users come from when they all come
	// from one (0 otherwise); Sources is how many servers they come from.
	FromServerID    int64
	Sources         int64
	ToServerID      int64
	Actor           string
	CancelRequested bool
	CreatedAt       time.Time
	StartedAt       time.Time
	FinishedAt      time.Time
	Items           []MoveItem
}

// Finished reports whether the job has ended.
func (j *JobDetail) Finished() bool {
	return j.Status == JobDone || j.Status == JobFailed || j.Status == JobCancelled
}

// MoveItem is one user of a move job.
type MoveItem struct {
	ID           int64
	JobID        int64
	UserID       int64
	Alias        string
	FromServerID int64
	ToServerID   int64
	State        string
	Total        int64
	Copied       int64
	Error        string
	UpdatedAt    time.Time
}

// Active reports whether the item still holds its user's one active move.
func (it *MoveItem) Active() bool {
	switch it.State {
	case ItemQueued, ItemCopying, ItemVerified, ItemSwitched:
		return true
	}
	return false
}

// apiTime is how the API writes a job's times: RFC 3339 in UTC with
// fixed-width nanoseconds, as they are stored.
const apiTime = "2006-01-02T15:04:05.000000000Z07:00"

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(apiTime)
}

// jobJSON is JobDetail on the wire.
type jobJSON struct {
	Job
	Unit            string     `json:"unit"`
	UsersTotal      int64      `json:"users_total"`
	UsersDone       int64      `json:"users_done"`
	Moved           int64      `json:"moved"`
	Failed          int64      `json:"failed"`
	Cancelled       int64      `json:"cancelled"`
	Skipped         int64      `json:"skipped"`
	MessagesMoved   int64      `json:"messages_moved"`
	FromServerID    int64      `json:"from_server_id,omitempty"`
	Sources         int64      `json:"sources"`
	ToServerID      int64      `json:"to_server_id,omitempty"`
	Actor           string     `json:"actor"`
	CancelRequested bool       `json:"cancel_requested"`
	CreatedAt       string     `json:"created_at"`
	StartedAt       string     `json:"started_at,omitempty"`
	FinishedAt      string     `json:"finished_at,omitempty"`
	Items           []MoveItem `json:"items,omitempty"`
}

// MarshalJSON writes the job as the API shows it.
func (j JobDetail) MarshalJSON() ([]byte, error) {
	return json.Marshal(jobJSON{Job: j.Job, Unit: j.Unit, UsersTotal: j.UsersTotal, UsersDone: j.UsersDone,
		Moved: j.Moved, Failed: j.Failed, Cancelled: j.Cancelled, Skipped: j.Skipped, MessagesMoved: j.MessagesMoved,
		FromServerID: j.FromServerID, Sources: j.Sources, ToServerID: j.ToServerID, Actor: j.Actor, CancelRequested: j.CancelRequested,
		CreatedAt: stamp(j.CreatedAt), StartedAt: stamp(j.StartedAt), FinishedAt: stamp(j.FinishedAt), Items: j.Items})
}

// UnmarshalJSON reads what MarshalJSON writes (API clients, tests).
func (j *JobDetail) UnmarshalJSON(b []byte) error {
	var w jobJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*j = JobDetail{Job: w.Job, Unit: w.Unit, UsersTotal: w.UsersTotal, UsersDone: w.UsersDone,
		Moved: w.Moved, Failed: w.Failed, Cancelled: w.Cancelled, Skipped: w.Skipped, MessagesMoved: w.MessagesMoved,
		FromServerID: w.FromServerID, Sources: w.Sources, ToServerID: w.ToServerID, Actor: w.Actor, CancelRequested: w.CancelRequested, Items: w.Items}
	var err error
	for _, f := range []struct {
		dst *time.Time
		src string
	}{{&j.CreatedAt, w.CreatedAt}, {&j.StartedAt, w.StartedAt}, {&j.FinishedAt, w.FinishedAt}} {
		if f.src == "" {
			continue
		}
		if *f.dst, err = time.Parse(time.RFC3339Nano, f.src); err != nil {
			return err
		}
	}
	return nil
}

// itemJSON is MoveItem on the wire.
type itemJSON struct {
	ID           int64  `json:"id"`
	JobID        int64  `json:"job_id"`
	UserID       int64  `json:"user_id"`
	Alias        string `json:"alias"`
	FromServerID int64  `json:"from_server_id"`
	ToServerID   int64  `json:"to_server_id"`
	State        string `json:"state"`
	Total        int64  `json:"total"`
	Copied       int64  `json:"copied"`
	Error        string `json:"error,omitempty"`
	UpdatedAt    string `json:"updated_at"`
}

// MarshalJSON writes the item as the API shows it.
func (it MoveItem) MarshalJSON() ([]byte, error) {
	return json.Marshal(itemJSON{ID: it.ID, JobID: it.JobID, UserID: it.UserID, Alias: it.Alias,
		FromServerID: it.FromServerID, ToServerID: it.ToServerID, State: it.State, Total: it.Total,
		Copied: it.Copied, Error: it.Error, UpdatedAt: stamp(it.UpdatedAt)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (it *MoveItem) UnmarshalJSON(b []byte) error {
	var w itemJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*it = MoveItem{ID: w.ID, JobID: w.JobID, UserID: w.UserID, Alias: w.Alias, FromServerID: w.FromServerID,
		ToServerID: w.ToServerID, State: w.State, Total: w.Total, Copied: w.Copied, Error: w.Error}
	if w.UpdatedAt != "" {
		t, err := time.Parse(time.RFC3339Nano, w.UpdatedAt)
		if err != nil {
			return err
		}
		it.UpdatedAt = t
	}
	return nil
}
