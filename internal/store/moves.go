package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"mailnet/internal/mailnet"
)

// The steps of moving one user's mailbox, each a piece of one write
// transaction (the caller commits) or a read snapshot. The runner in
// internal/actions strings them together; every step can be repeated after
// a crash without losing or duplicating a message:
//
//   - copies carry copy_of = the source row and the unique index
//     messages_copy (copy_of, server_id) turns a repeated batch into no-op;
//   - before the first copy the target must hold none of the user's rows,
//     so until the switch the user's rows on the target are this move's
//     copies and nothing else;
//   - the switch is guarded by the expected source server;
//   - source rows are released only after the switch;
//   - the runner writes through WriteMove: foreign keys are checked once a
//     transaction instead of once a row;
//   - each of the runner's transactions first checks that it still owns
//     the job (Tx.HoldJob), so no two runners work one job.
//
// Three algorithms, a file each: moves_batched.go moves a big mailbox in
// batches (copy, verify, switch, release, each batch a transaction);
// moves_whole.go moves a small mailbox whole in one transaction, inside a
// savepoint; moves_group.go moves a group of small mailboxes set-based,
// one statement per step for the whole group.
//
// copy_of stays set after the move (clearing it would rewrite every row
// once more). It cannot be mistaken for a later move's copy: the release
// deletes every original, a copy's id is always above its original's, so
// the original's id is never reused while the copy exists, and a later
// move of the user starts only with the target empty of the user's rows.
//
// Counters (as store.BulkCounterMismatches checks them): servers.message_count
// counts the rows stored on the server, copies included (a copy is counted
// on the target in the transaction that makes it, and off it when a cancel
// drops it; the release counts the originals off the source);
// users.message_count counts the user's rows on the home server, which the
// switch leaves unchanged because it requires as many copies as originals.

// ErrSwitchGuard is returned when the user is no longer on the expected
// source server at the switch.
var ErrSwitchGuard = errors.New("the user is no longer on the source server")

// ErrVerify is returned when the copies do not match the source.
var ErrVerify = errors.New("copies do not match the source")

// MoveItem returns item id inside the transaction.
func (tx *Tx) MoveItem(ctx context.Context, id int64) (mailnet.MoveItem, error) {
	it, err := scanItem(tx.QueryRowContext(ctx, `SELECT `+itemColumns+`
		FROM move_items m LEFT JOIN users u ON u.id = m.user_id WHERE m.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return it, fmt.Errorf("move item %d: %w", id, sql.ErrNoRows)
	}
	return it, err
}

// CopyCursor returns the highest source message id already copied for the
// item: copies are made in source id order, one whole batch per
// transaction, so every source row up to it has its copy.
func (s *Store) CopyCursor(ctx context.Context, it *mailnet.MoveItem) (int64, error) {
	var c int64
	err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(copy_of), 0) FROM messages
		WHERE user_id = ? AND server_id = ? AND copy_of IS NOT NULL`, it.UserID, it.ToServerID).Scan(&c)
	if err != nil {
		return 0, fmt.Errorf("copy cursor of item %d: %w", it.ID, err)
	}
	return c, nil
}

// CountSource returns how many messages the item's user has on the source:
// the user's counter, which every delivery and move keeps in the same
// transaction as its rows (BulkCounterMismatches checks it), and 0 if the
// user is no longer there. It only sizes the progress bar: the copy grows
// the total if it finds more, and the switch counts the rows themselves.
func (tx *Tx) CountSource(ctx context.Context, it *mailnet.MoveItem) (int64, error) {
	var n int64
	err := tx.QueryRowContext(ctx, `SELECT message_count FROM users WHERE id = ? AND server_id = ?`, it.UserID, it.FromServerID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("count messages of user %d on server %d: %w", it.UserID, it.FromServerID, err)
	}
	return n, nil
}

// CountOnTarget returns how many rows of the item's user the target holds
// (copies and anything else): before the first copy it must be 0.
func (tx *Tx) CountOnTarget(ctx context.Context, it *mailnet.MoveItem) (int64, error) {
	return countMessages(ctx, tx, it.UserID, it.ToServerID)
}

func countMessages(ctx context.Context, q querier, user, server int64) (int64, error) {
	var n int64
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM messages WHERE user_id = ? AND server_id = ?`, user, server).Scan(&n); err != nil {
		return 0, fmt.Errorf("count messages of user %d on server %d: %w", user, server, err)
	}
	return n, nil
}

// AddJobDone adds done to job id's done count and grow to its total.
func (tx *Tx) AddJobDone(ctx context.Context, id, done, grow int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE jobs SET done = done + ?, total = total + ? WHERE id = ?`, done, grow, id); err != nil {
		return fmt.Errorf("job %d counts: %w", id, err)
	}
	return nil
}

// AuditRow is one row for AuditMany.
type AuditRow struct {
	Action, ObjectType string
	ObjectID           int64
	Before, After      any
	Detail             string
}

// AuditMany is Audit for many rows with one statement per up to 100 rows.
func (tx *Tx) AuditMany(ctx context.Context, rows []AuditRow) error {
	const per = 100
	actor := mailnet.ActorName(ctx)
	now := fmtTime(tx.now)
	for len(rows) > 0 {
		chunk := rows[:min(per, len(rows))]
		rows = rows[len(chunk):]
		var q strings.Builder
		q.WriteString(`INSERT INTO audit (time, actor, action, object_type, object_id, before, after, detail) VALUES `)
		args := make([]any, 0, 8*len(chunk))
		for i, r := range chunk {
			b, err := jsonOrNull(r.Before)
			if err != nil {
				return err
			}
			a, err := jsonOrNull(r.After)
			if err != nil {
				return err
			}
			var oid any
			if r.ObjectID != 0 {
				oid = r.ObjectID
			}
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, now, actor, r.Action, r.ObjectType, oid, b, a, r.Detail)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("audit %s: %w", chunk[0].Action, err)
		}
	}
	return nil
}
