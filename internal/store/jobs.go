package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"mailnet/internal/mailnet"
)

// Move item states. queued, copying, verified and switched are active: the
// partial unique index move_items_one_active allows one such item per user.
const (
	ItemQueued    = "queued"
	ItemCopying   = "copying"
	ItemVerified  = "verified"
	ItemSwitched  = "switched"
	ItemDone      = "done"
	ItemFailed    = "failed"
	ItemCancelled = "cancelled"
)

// JobKindMove is the kind of a move (or evacuate) job.
const JobKindMove = "move"

// JobUnitMessages says what total and done count in a move job.
const JobUnitMessages = "messages"

// JobDetail is a job as the API shows it: the contract's {id, kind,
// status, total, done} plus what pages need. For a move, total and done
// count messages (unit "messages"); users_total and users_done count users.
type JobDetail struct {
	mailnet.Job
	Unit            string     `json:"unit"`
	UsersTotal      int64      `json:"users_total"`
	UsersDone       int64      `json:"users_done"`
	ToServerID      int64      `json:"to_server_id,omitempty"`
	Actor           string     `json:"actor"`
	CancelRequested bool       `json:"cancel_requested"`
	CreatedAt       string     `json:"created_at"`
	StartedAt       string     `json:"started_at,omitempty"`
	FinishedAt      string     `json:"finished_at,omitempty"`
	Items           []MoveItem `json:"items,omitempty"`
}

// Finished reports whether the job has ended.
func (j *JobDetail) Finished() bool {
	return j.Status == mailnet.JobDone || j.Status == mailnet.JobFailed || j.Status == mailnet.JobCancelled
}

// MoveItem is one user of a move job.
type MoveItem struct {
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

// Active reports whether the item still holds its user's one active move.
func (it *MoveItem) Active() bool {
	switch it.State {
	case ItemQueued, ItemCopying, ItemVerified, ItemSwitched:
		return true
	}
	return false
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const jobColumns = `j.id, j.kind, j.status, j.total, j.done, coalesce(j.to_server_id, 0), j.actor, j.error,
	j.cancel_requested, j.created_at, coalesce(j.started_at, ''), coalesce(j.finished_at, ''),
	(SELECT count(*) FROM move_items m WHERE m.job_id = j.id),
	(SELECT count(*) FROM move_items m WHERE m.job_id = j.id AND m.state IN ('done', 'failed', 'cancelled'))`

func scanJob(sc interface{ Scan(...any) error }) (JobDetail, error) {
	var j JobDetail
	var cancel int
	err := sc.Scan(&j.ID, &j.Kind, &j.Status, &j.Total, &j.Done, &j.ToServerID, &j.Actor, &j.Error,
		&cancel, &j.CreatedAt, &j.StartedAt, &j.FinishedAt, &j.UsersTotal, &j.UsersDone)
	j.CancelRequested = cancel != 0
	if j.Kind == JobKindMove {
		j.Unit = JobUnitMessages
	}
	return j, err
}

func jobByID(ctx context.Context, q querier, id int64) (JobDetail, error) {
	j, err := scanJob(q.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs j WHERE j.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return JobDetail{}, mailnet.NotFound("job", id)
	}
	if err != nil {
		return JobDetail{}, fmt.Errorf("job %d: %w", id, err)
	}
	return j, nil
}

func moveItems(ctx context.Context, q querier, jobID int64) ([]MoveItem, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT m.id, m.job_id, m.user_id, coalesce(u.alias, ''), m.from_server_id, m.to_server_id,
		       m.state, m.total, m.copied, m.error, m.updated_at
		FROM move_items m LEFT JOIN users u ON u.id = m.user_id
		WHERE m.job_id = ? ORDER BY m.id`, jobID)
	if err != nil {
		return nil, fmt.Errorf("move items of job %d: %w", jobID, err)
	}
	defer rows.Close()
	out := []MoveItem{}
	for rows.Next() {
		var it MoveItem
		if err := rows.Scan(&it.ID, &it.JobID, &it.UserID, &it.Alias, &it.FromServerID, &it.ToServerID,
			&it.State, &it.Total, &it.Copied, &it.Error, &it.UpdatedAt); err != nil {
			return nil, fmt.Errorf("move items of job %d: %w", jobID, err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Job returns job id with its items.
func (s *Store) Job(ctx context.Context, id int64) (JobDetail, error) {
	var j JobDetail
	err := s.Read(ctx, func(tx *sql.Tx) error {
		var err error
		if j, err = jobByID(ctx, tx, id); err != nil {
			return err
		}
		j.Items, err = moveItems(ctx, tx, id)
		return err
	})
	return j, err
}

// JobSummary returns job id without its items.
func (s *Store) JobSummary(ctx context.Context, id int64) (JobDetail, error) {
	return jobByID(ctx, s.r, id)
}

// MoveCandidate is a user as a move request sees it.
type MoveCandidate struct {
	ID           int64
	Alias        string
	ServerID     int64
	MessageCount int64
}

// MoveCandidate returns user id, or mailnet.ErrNotFound.
func (tx *Tx) MoveCandidate(ctx context.Context, id int64) (MoveCandidate, error) {
	c := MoveCandidate{ID: id}
	err := tx.QueryRowContext(ctx, `SELECT alias, server_id, message_count FROM users WHERE id = ?`, id).
		Scan(&c.Alias, &c.ServerID, &c.MessageCount)
	if errors.Is(err, sql.ErrNoRows) {
		return c, mailnet.ErrNotFound
	}
	return c, err
}

// MoveCandidatesOn returns every user homed on server id, by id.
func (tx *Tx) MoveCandidatesOn(ctx context.Context, serverID int64) ([]MoveCandidate, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, alias, server_id, message_count FROM users WHERE server_id = ? ORDER BY id`, serverID)
	if err != nil {
		return nil, fmt.Errorf("users of server %d: %w", serverID, err)
	}
	defer rows.Close()
	var out []MoveCandidate
	for rows.Next() {
		var c MoveCandidate
		if err := rows.Scan(&c.ID, &c.Alias, &c.ServerID, &c.MessageCount); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ServerStatus returns server id's name and status, or mailnet.ErrNotFound.
func (tx *Tx) ServerStatus(ctx context.Context, id int64) (name, status string, err error) {
	err = tx.QueryRowContext(ctx, `SELECT name, status FROM servers WHERE id = ?`, id).Scan(&name, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", mailnet.ErrNotFound
	}
	return name, status, err
}

// ActiveMoveOf returns the job holding user id's active move, or 0.
func (tx *Tx) ActiveMoveOf(ctx context.Context, userID int64) (int64, error) {
	var job int64
	err := tx.QueryRowContext(ctx, `SELECT job_id FROM move_items WHERE user_id = ?
		AND state IN ('queued', 'copying', 'verified', 'switched')`, userID).Scan(&job)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return job, err
}

// AddJobTotal adds delta to job id's total.
func (tx *Tx) AddJobTotal(ctx context.Context, id, delta int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE jobs SET total = max(0, total + ?) WHERE id = ?`, delta, id)
	return err
}

// SetItemTotal sets an item's total.
func (tx *Tx) SetItemTotal(ctx context.Context, itemID, total int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE move_items SET total = ?, updated_at = ? WHERE id = ?`, total, fmtTime(tx.now), itemID)
	return err
}

// Jobs returns the most recent jobs, newest first, without their items.
// limit <= 0 means 100.
func (s *Store) Jobs(ctx context.Context, limit int) ([]JobDetail, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs j ORDER BY j.id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	defer rows.Close()
	out := []JobDetail{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// UnfinishedJobs returns the ids of queued and running jobs, oldest first:
// what the runner must (re)start.
func (s *Store) UnfinishedJobs(ctx context.Context) ([]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM jobs WHERE status IN ('queued', 'running') ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("unfinished jobs: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Job returns job id inside the transaction.
func (tx *Tx) Job(ctx context.Context, id int64) (JobDetail, error) { return jobByID(ctx, tx, id) }

// MoveItems returns the items of job id inside the transaction.
func (tx *Tx) MoveItems(ctx context.Context, jobID int64) ([]MoveItem, error) {
	return moveItems(ctx, tx, jobID)
}

// InsertJob adds a queued job and returns its id.
func (tx *Tx) InsertJob(ctx context.Context, kind string, toServerID int64, actor string) (int64, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO jobs (kind, status, to_server_id, actor, created_at) VALUES (?, 'queued', ?, ?, ?)`,
		kind, toServerID, actor, fmtTime(tx.now))
	if err != nil {
		return 0, fmt.Errorf("insert job: %w", err)
	}
	return res.LastInsertId()
}

// ErrActiveMove is returned (wrapped) by InsertMoveItem when the user
// already has an active move: the unique index move_items_one_active
// refused the row.
var ErrActiveMove = errors.New("user already in an active move")

// InsertMoveItem adds a queued item for userID moving from one server to
// another with total messages, and adds total to the job's total.
func (tx *Tx) InsertMoveItem(ctx context.Context, jobID, userID, from, to, total int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO move_items (job_id, user_id, from_server_id, to_server_id, state, total, updated_at)
		VALUES (?, ?, ?, ?, 'queued', ?, ?)`, jobID, userID, from, to, total, fmtTime(tx.now))
	if IsUnique(err) {
		return fmt.Errorf("move item for user %d: %w", userID, ErrActiveMove)
	}
	if err != nil {
		return fmt.Errorf("move item for user %d: %w", userID, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE jobs SET total = total + ? WHERE id = ?`, total, jobID); err != nil {
		return fmt.Errorf("job total: %w", err)
	}
	return nil
}

// SetJobStatus sets a job's status; running sets started_at once, and a
// final status sets finished_at.
func (tx *Tx) SetJobStatus(ctx context.Context, id int64, status, errText string) error {
	now := fmtTime(tx.now)
	var err error
	switch status {
	case mailnet.JobRunning:
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET status = ?, started_at = coalesce(started_at, ?) WHERE id = ?`, status, now, id)
	case mailnet.JobQueued:
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET status = ? WHERE id = ?`, status, id)
	default:
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET status = ?, error = ?, finished_at = ? WHERE id = ?`, status, errText, now, id)
	}
	if err != nil {
		return fmt.Errorf("job %d status %s: %w", id, status, err)
	}
	return nil
}

// RequestCancel marks job id for cancelling.
func (tx *Tx) RequestCancel(ctx context.Context, id int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE jobs SET cancel_requested = 1 WHERE id = ?`, id); err != nil {
		return fmt.Errorf("cancel job %d: %w", id, err)
	}
	return nil
}

// SetItemState sets an item's state and error.
func (tx *Tx) SetItemState(ctx context.Context, itemID int64, state, errText string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE move_items SET state = ?, error = ?, updated_at = ? WHERE id = ?`,
		state, errText, fmtTime(tx.now), itemID); err != nil {
		return fmt.Errorf("move item %d state %s: %w", itemID, state, err)
	}
	return nil
}
