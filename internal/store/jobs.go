package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"mailnet/internal/mailnet"
)

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ItemNotStarted is the error of an item cancelled before it started
// (nothing of the user's was touched): the job counts it as skipped.
const ItemNotStarted = "cancelled before it started"

// jobColumns ends with the job's item counts, read in one pass over its
// items as a JSON array (users, moved, failed, cancelled, skipped,
// messages moved, lowest and highest source, sources).
const jobColumns = `j.id, j.kind, j.status, j.total, j.done, coalesce(j.to_server_id, 0), j.actor, j.error,
	j.cancel_requested, j.created_at, coalesce(j.started_at, ''), coalesce(j.finished_at, ''),
	(SELECT json_array(count(*),
		coalesce(sum(m.state = 'done'), 0),
		coalesce(sum(m.state = 'failed'), 0),
		coalesce(sum(m.state = 'cancelled' AND m.error <> '` + ItemNotStarted + `'), 0),
		coalesce(sum(m.state = 'cancelled' AND m.error = '` + ItemNotStarted + `'), 0),
		coalesce(sum(CASE WHEN m.state = 'done' THEN m.copied END), 0),
		coalesce(min(m.from_server_id), 0), coalesce(max(m.from_server_id), 0),
		count(DISTINCT m.from_server_id))
		FROM move_items m WHERE m.job_id = j.id)`

func scanJob(sc interface{ Scan(...any) error }) (mailnet.JobDetail, error) {
	var j mailnet.JobDetail
	var cancel int
	var created, started, finished string
	var counts string
	err := sc.Scan(&j.ID, &j.Kind, &j.Status, &j.Total, &j.Done, &j.ToServerID, &j.Actor, &j.Error,
		&cancel, &created, &started, &finished, &counts)
	if err != nil {
		return j, err
	}
	var c [9]int64
	if err := json.Unmarshal([]byte(counts), &c); err != nil {
		return j, fmt.Errorf("job %d counts %q: %w", j.ID, counts, err)
	}
	j.UsersTotal, j.Moved, j.Failed, j.Cancelled, j.Skipped, j.MessagesMoved = c[0], c[1], c[2], c[3], c[4], c[5]
	j.UsersDone = j.Moved + j.Failed + j.Cancelled + j.Skipped
	if c[6] == c[7] {
		j.FromServerID = c[6]
	}
	j.Sources = c[8]
	j.CancelRequested = cancel != 0
	j.CreatedAt, j.StartedAt, j.FinishedAt = parseTime(created), parseTime(started), parseTime(finished)
	if j.Kind == mailnet.JobKindMove {
		j.Unit = mailnet.JobUnitMessages
	}
	return j, err
}

func jobByID(ctx context.Context, q querier, id int64) (mailnet.JobDetail, error) {
	j, err := scanJob(q.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs j WHERE j.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return mailnet.JobDetail{}, mailnet.NotFound("job", id)
	}
	if err != nil {
		return mailnet.JobDetail{}, fmt.Errorf("job %d: %w", id, err)
	}
	return j, nil
}

const itemColumns = `m.id, m.job_id, m.user_id, coalesce(u.alias, ''), m.from_server_id, m.to_server_id,
	m.state, m.total, m.copied, m.error, m.updated_at`

func scanItem(sc interface{ Scan(...any) error }) (mailnet.MoveItem, error) {
	var it mailnet.MoveItem
	var updated string
	err := sc.Scan(&it.ID, &it.JobID, &it.UserID, &it.Alias, &it.FromServerID, &it.ToServerID,
		&it.State, &it.Total, &it.Copied, &it.Error, &updated)
	it.UpdatedAt = parseTime(updated)
	return it, err
}

func moveItems(ctx context.Context, q querier, jobID int64) ([]mailnet.MoveItem, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+itemColumns+`
		FROM move_items m LEFT JOIN users u ON u.id = m.user_id
		WHERE m.job_id = ? ORDER BY m.id`, jobID)
	if err != nil {
		return nil, fmt.Errorf("move items of job %d: %w", jobID, err)
	}
	defer rows.Close()
	out := []mailnet.MoveItem{}
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, fmt.Errorf("move items of job %d: %w", jobID, err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Job returns job id with its items.
func (s *Store) Job(ctx context.Context, id int64) (mailnet.JobDetail, error) {
	var j mailnet.JobDetail
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
func (s *Store) JobSummary(ctx context.Context, id int64) (mailnet.JobDetail, error) {
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
func (s *Store) Jobs(ctx context.Context, limit int) ([]mailnet.JobDetail, error) {
	return s.JobsBefore(ctx, 0, limit)
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
func (tx *Tx) Job(ctx context.Context, id int64) (mailnet.JobDetail, error) {
	return jobByID(ctx, tx, id)
}

// MoveItems returns the items of job id inside the transaction.
func (tx *Tx) MoveItems(ctx context.Context, jobID int64) ([]mailnet.MoveItem, error) {
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

// ErrJobOwned is returned by ClaimJob when another runner holds the job's
// lease.
var ErrJobOwned = errors.New("the job is being run by another runner")

// ErrLeaseLost is returned (wrapped) by HoldJob when the runner no longer
// owns the job: another took it over once the lease had lapsed.
var ErrLeaseLost = errors.New("the job's lease was taken over by another runner")

// ClaimJob makes owner the runner of job id, atomically, with a lease
// until now+lease: when the job has no owner, is owner's already, its
// lease has lapsed, or gone says its owner no longer runs (gone may be
// nil). A queued job becomes running. It returns the job as claimed and
// whether it was queued; a finished job is returned unclaimed; a job
// another live runner holds is ErrJobOwned.
func (s *Store) ClaimJob(ctx context.Context, id int64, owner string, lease time.Duration, gone func(owner string) bool) (j mailnet.JobDetail, wasQueued bool, err error) {
	err = s.Write(ctx, func(tx *Tx) error {
		if j, err = tx.Job(ctx, id); err != nil || j.Finished() {
			return err
		}
		var cur, until string
		if err := tx.QueryRowContext(ctx, `SELECT owner, lease_until FROM jobs WHERE id = ?`, id).Scan(&cur, &until); err != nil {
			return fmt.Errorf("claim job %d: %w", id, err)
		}
		// A lapsed lease, or an owner known to be gone, may be taken over.
		var stale string
		if cur != "" && cur != owner && gone != nil && gone(cur) {
			stale = cur
		}
		now := fmtTime(tx.now)
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET owner = ?1, lease_until = ?2
			WHERE id = ?3 AND status IN ('queued', 'running')
			AND (owner = '' OR owner = ?1 OR lease_until < ?4 OR owner = ?5)`,
			owner, fmtTime(tx.now.Add(lease)), id, now, stale)
		if err != nil {
			return fmt.Errorf("claim job %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("job %d: %w (%s, until %s)", id, ErrJobOwned, cur, until)
		}
		if j.Status == mailnet.JobQueued {
			wasQueued = true
			if err := tx.SetJobStatus(ctx, id, mailnet.JobRunning, ""); err != nil {
				return err
			}
			j.Status = mailnet.JobRunning
		}
		return nil
	})
	return j, wasQueued, err
}

// HoldJob checks, inside the transaction, that owner still owns job id,
// and renews its lease to now+lease; it returns whether a cancel has been
// asked. Every write transaction of a runner begins with it: a runner
// that lost the job (ErrLeaseLost) writes nothing more for it.
func (tx *Tx) HoldJob(ctx context.Context, id int64, owner string, lease time.Duration) (cancel bool, err error) {
	var c int
	err = tx.QueryRowContext(ctx, `UPDATE jobs SET lease_until = ? WHERE id = ? AND owner = ? RETURNING cancel_requested`,
		fmtTime(tx.now.Add(lease)), id, owner).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("job %d: %w", id, ErrLeaseLost)
	}
	if err != nil {
		return false, fmt.Errorf("hold job %d: %w", id, err)
	}
	return c != 0, nil
}

// ReleaseJobs ends owner's leases on its unfinished jobs, so that another
// runner may resume them at once (a runner stopping cleanly).
func (s *Store) ReleaseJobs(ctx context.Context, owner string) error {
	return s.Write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE jobs SET lease_until = '' WHERE owner = ? AND status IN ('queued', 'running')`, owner)
		return err
	})
}

// InsertMoveItems is InsertMoveItem for every user of users, with one
// multi-row INSERT per up to 500 users and one update of the job's total.
// A user already in an active move fails the statement (the unique index
// move_items_one_active): it returns that user with ErrActiveMove, and the
// caller's transaction must roll back.
func (tx *Tx) InsertMoveItems(ctx context.Context, jobID, to int64, users []MoveCandidate) (MoveCandidate, error) {
	const per = 500
	now := fmtTime(tx.now)
	var total int64
	for rest := users; len(rest) > 0; {
		chunk := rest[:min(per, len(rest))]
		rest = rest[len(chunk):]
		var q strings.Builder
		q.WriteString(`INSERT INTO move_items (job_id, user_id, from_server_id, to_server_id, state, total, updated_at) VALUES `)
		args := make([]any, 0, 6*len(chunk))
		for i, u := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, 'queued', ?, ?)")
			args = append(args, jobID, u.ID, u.ServerID, to, u.MessageCount, now)
			total += u.MessageCount
		}
		_, err := tx.ExecContext(ctx, q.String(), args...)
		if IsUnique(err) {
			for _, u := range chunk {
				if other, e := tx.ActiveMoveOf(ctx, u.ID); e == nil && other != 0 && other != jobID {
					return u, fmt.Errorf("move item for user %d: %w", u.ID, ErrActiveMove)
				}
			}
			return MoveCandidate{}, fmt.Errorf("move items: %w", ErrActiveMove)
		}
		if err != nil {
			return MoveCandidate{}, fmt.Errorf("move items: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE jobs SET total = total + ? WHERE id = ?`, total, jobID); err != nil {
		return MoveCandidate{}, fmt.Errorf("job total: %w", err)
	}
	return MoveCandidate{}, nil
}

// MoveTarget is what the move-target rule (actions.CheckMoveTarget)
// reads of a server.
type MoveTarget struct {
	ID     int64
	Name   string
	Status string
	// SerialTwins counts the other servers, not decommissioned, that share
	// its serial number (Q99393).
	SerialTwins int64
}

func moveTarget(ctx context.Context, q querier, id int64) (MoveTarget, error) {
	t := MoveTarget{ID: id}
	err := q.QueryRowContext(ctx, `SELECT s.name, s.status,
		(SELECT count(*) FROM servers o WHERE o.serial = s.serial AND o.id <> s.id AND o.status <> 'decommissioned')
		FROM servers s WHERE s.id = ?`, id).Scan(&t.Name, &t.Status, &t.SerialTwins)
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("server %d: %w", id, mailnet.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("move target %d: %w", id, err)
	}
	return t, nil
}

// MoveTarget returns server id as a move target, or mailnet.ErrNotFound.
func (s *Store) MoveTarget(ctx context.Context, id int64) (MoveTarget, error) {
	return moveTarget(ctx, s.r, id)
}

// MoveTarget is Store.MoveTarget inside the transaction.
func (tx *Tx) MoveTarget(ctx context.Context, id int64) (MoveTarget, error) {
	return moveTarget(ctx, tx, id)
}
