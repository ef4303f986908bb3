package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
//   - source rows are released only after the switch.
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
func (tx *Tx) MoveItem(ctx context.Context, id int64) (MoveItem, error) {
	var it MoveItem
	err := tx.QueryRowContext(ctx, `
		SELECT m.id, m.job_id, m.user_id, coalesce(u.alias, ''), m.from_server_id, m.to_server_id,
		       m.state, m.total, m.copied, m.error, m.updated_at
		FROM move_items m LEFT JOIN users u ON u.id = m.user_id WHERE m.id = ?`, id).
		Scan(&it.ID, &it.JobID, &it.UserID, &it.Alias, &it.FromServerID, &it.ToServerID,
			&it.State, &it.Total, &it.Copied, &it.Error, &it.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return it, fmt.Errorf("move item %d: %w", id, sql.ErrNoRows)
	}
	return it, err
}

// CancelRequested reports whether job id has been asked to cancel.
func (tx *Tx) CancelRequested(ctx context.Context, jobID int64) (bool, error) {
	var c int
	err := tx.QueryRowContext(ctx, `SELECT cancel_requested FROM jobs WHERE id = ?`, jobID).Scan(&c)
	return c != 0, err
}

// CopyCursor returns the highest source message id already copied for the
// item: copies are made in source id order, one whole batch per
// transaction, so every source row up to it has its copy.
func (s *Store) CopyCursor(ctx context.Context, it *MoveItem) (int64, error) {
	var c int64
	err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(copy_of), 0) FROM messages
		WHERE user_id = ? AND server_id = ? AND copy_of IS NOT NULL`, it.UserID, it.ToServerID).Scan(&c)
	if err != nil {
		return 0, fmt.Errorf("copy cursor of item %d: %w", it.ID, err)
	}
	return c, nil
}

// CountSource returns how many messages the item's user has on the source.
func (tx *Tx) CountSource(ctx context.Context, it *MoveItem) (int64, error) {
	return countMessages(ctx, tx, it.UserID, it.FromServerID, false)
}

// CountOnTarget returns how many rows of the item's user the target holds
// (copies and anything else): before the first copy it must be 0.
func (tx *Tx) CountOnTarget(ctx context.Context, it *MoveItem) (int64, error) {
	return countMessages(ctx, tx, it.UserID, it.ToServerID, false)
}

func countMessages(ctx context.Context, q querier, user, server int64, copiesOnly bool) (int64, error) {
	query := `SELECT count(*) FROM messages WHERE user_id = ? AND server_id = ?`
	if copiesOnly {
		query += ` AND copy_of IS NOT NULL`
	}
	var n int64
	if err := q.QueryRowContext(ctx, query, user, server).Scan(&n); err != nil {
		return 0, fmt.Errorf("count messages of user %d on server %d: %w", user, server, err)
	}
	return n, nil
}

// CopyBatch copies the next limit source messages after cursor to the
// target (limit <= 0: all of them) and counts them on the item and the
// job. It returns the new cursor, how many source rows it covered and
// whether more may remain (it covered exactly limit). The copies count on
// the target server at once.
func (tx *Tx) CopyBatch(ctx context.Context, it *MoveItem, cursor int64, limit int) (next, covered int64, more bool, err error) {
	var hi sql.NullInt64
	if limit > 0 {
		err = tx.QueryRowContext(ctx, `SELECT count(*), max(id) FROM (SELECT id FROM messages
			WHERE user_id = ? AND server_id = ? AND id > ? ORDER BY id LIMIT ?)`,
			it.UserID, it.FromServerID, cursor, limit).Scan(&covered, &hi)
	} else {
		err = tx.QueryRowContext(ctx, `SELECT count(*), max(id) FROM messages WHERE user_id = ? AND server_id = ? AND id > ?`,
			it.UserID, it.FromServerID, cursor).Scan(&covered, &hi)
	}
	if err != nil {
		return cursor, 0, false, fmt.Errorf("copy batch of item %d: %w", it.ID, err)
	}
	if !hi.Valid {
		return cursor, 0, false, nil
	}
	res, err := tx.ExecContext(ctx, `
		INSERT INTO messages (user_id, server_id, folder, subject, size, received_at, copy_of)
		SELECT user_id, ?, folder, subject, size, received_at, id FROM messages
		WHERE user_id = ? AND server_id = ? AND id > ? AND id <= ? ORDER BY id
		ON CONFLICT (copy_of, server_id) WHERE copy_of IS NOT NULL DO NOTHING`,
		it.ToServerID, it.UserID, it.FromServerID, cursor, hi.Int64)
	if err != nil {
		return cursor, 0, false, fmt.Errorf("copy batch of item %d: %w", it.ID, err)
	}
	n, _ := res.RowsAffected()
	if err := tx.countCopied(ctx, it, n); err != nil {
		return cursor, 0, false, err
	}
	if n > 0 {
		if err := tx.AddServerCounts(ctx, it.ToServerID, 0, n); err != nil {
			return cursor, 0, false, err
		}
	}
	return hi.Int64, covered, limit > 0 && covered == int64(limit), nil
}

// countCopied adds n copies to the item and its job;
// when the source grew during the copy, the item's and job's totals grow
// with it.
func (tx *Tx) countCopied(ctx context.Context, it *MoveItem, n int64) error {
	if n == 0 {
		return nil
	}
	it.Copied += n
	grow := max(0, it.Copied-it.Total)
	it.Total += grow
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE move_items SET copied = ?, total = ?, updated_at = ? WHERE id = ?`, []any{it.Copied, it.Total, fmtTime(tx.now), it.ID}},
		{`UPDATE jobs SET done = done + ?, total = total + ? WHERE id = ?`, []any{n, grow, it.JobID}},
	} {
		if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
			return fmt.Errorf("count copies of item %d: %w", it.ID, err)
		}
	}
	return nil
}

// VerifyCopies compares, on one snapshot, the item's source messages up to
// cursor with their copies on the target, field by field inside SQLite
// (no row leaves the engine): as many copies as originals, and every
// original paired through copy_of with a copy of the same user, folder,
// subject, size and received time. It returns ErrVerify (wrapped, with
// the figures) when they differ.
func (s *Store) VerifyCopies(ctx context.Context, it *MoveItem, cursor int64) error {
	return verifyCopies(ctx, s.r, it, cursor)
}

// verifyCopies is VerifyCopies on q. A join, not an aggregate digest of
// both sides: measured here on 100,000 rows it costs about as much as
// scanning both sides (45 ms warm), less than a digest computed by a Go
// SQL function (125-200 ms), and it compares every field exactly.
func verifyCopies(ctx context.Context, q querier, it *MoveItem, cursor int64) error {
	var src, dst, matched int64
	err := q.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM messages WHERE user_id = ?1 AND server_id = ?2 AND id <= ?4),
		(SELECT count(*) FROM messages WHERE user_id = ?1 AND server_id = ?3 AND copy_of IS NOT NULL),
		(SELECT count(*) FROM messages s JOIN messages c ON c.copy_of = s.id AND c.server_id = ?3
			WHERE s.user_id = ?1 AND s.server_id = ?2 AND s.id <= ?4
			AND c.user_id = s.user_id AND c.folder = s.folder AND c.subject = s.subject
			AND c.size = s.size AND c.received_at = s.received_at)`,
		it.UserID, it.FromServerID, it.ToServerID, cursor).Scan(&src, &dst, &matched)
	if err != nil {
		return fmt.Errorf("verify item %d: %w", it.ID, err)
	}
	if src != dst || src != matched {
		return fmt.Errorf("%w: source has %d messages, target %d copies, %d of them identical", ErrVerify, src, dst, matched)
	}
	return nil
}

// SwitchUser is the switch, in the caller's transaction: it copies what
// was delivered to the source since cursor, checks that the target holds
// as many copies as the source has messages, rehomes the user guarded by
// the expected source (ErrSwitchGuard if the user is elsewhere), moves the
// user counters, records the forward from the old address and marks the
// item switched. It returns the forward's address.
func (tx *Tx) SwitchUser(ctx context.Context, it *MoveItem, cursor int64) (string, error) {
	if _, _, _, err := tx.CopyBatch(ctx, it, cursor, 0); err != nil {
		return "", err
	}
	src, err := countMessages(ctx, tx, it.UserID, it.FromServerID, false)
	if err != nil {
		return "", err
	}
	// Every row of the user on the target is a copy (the target held none
	// when the copy started, and deliveries go to the source until now):
	// counting them all reads the index only.
	dst, err := countMessages(ctx, tx, it.UserID, it.ToServerID, false)
	if err != nil {
		return "", err
	}
	if src != dst {
		return "", fmt.Errorf("%w: source has %d messages, target %d copies", ErrVerify, src, dst)
	}
	res, err := tx.ExecContext(ctx, `UPDATE users SET server_id = ? WHERE id = ? AND server_id = ?`,
		it.ToServerID, it.UserID, it.FromServerID)
	if err != nil {
		return "", fmt.Errorf("switch user %d: %w", it.UserID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", ErrSwitchGuard
	}
	var alias, fromName string
	if err := tx.QueryRowContext(ctx, `SELECT u.alias, s.name FROM users u, servers s WHERE u.id = ? AND s.id = ?`,
		it.UserID, it.FromServerID).Scan(&alias, &fromName); err != nil {
		return "", fmt.Errorf("switch user %d: %w", it.UserID, err)
	}
	address := alias + "@" + fromName
	now := fmtTime(tx.now)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE servers SET user_count = user_count - 1, updated_at = ? WHERE id = ?`, []any{now, it.FromServerID}},
		{`UPDATE servers SET user_count = user_count + 1, updated_at = ? WHERE id = ?`, []any{now, it.ToServerID}},
		{`INSERT INTO forwards (user_id, from_server_id, to_server_id, address, created_at) VALUES (?, ?, ?, ?, ?)`,
			[]any{it.UserID, it.FromServerID, it.ToServerID, address, now}},
		{`UPDATE move_items SET state = 'switched', total = ?, copied = ?, updated_at = ? WHERE id = ?`,
			[]any{max(it.Total, dst), dst, now, it.ID}},
	} {
		if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
			return "", fmt.Errorf("switch user %d: %w", it.UserID, err)
		}
	}
	it.State = ItemSwitched
	return address, nil
}

// ReleaseBatch deletes up to limit of the user's messages left on the old
// home after the switch, with one DELETE over a primary-key range, and
// counts them off the old server. Only originals whose copy is on the new
// home are deleted (a probe of the covering index messages_copy); if any
// in the range has none, it refuses with ErrVerify rather than lose a
// message. It returns how many it deleted; 0 means the release is complete.
func (tx *Tx) ReleaseBatch(ctx context.Context, it *MoveItem, limit int) (int64, error) {
	var lo, hi sql.NullInt64
	var covered int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*), min(id), max(id) FROM (SELECT id FROM messages
		WHERE user_id = ? AND server_id = ? ORDER BY id LIMIT ?)`, it.UserID, it.FromServerID, limit).Scan(&covered, &lo, &hi); err != nil {
		return 0, fmt.Errorf("release item %d: %w", it.ID, err)
	}
	if !hi.Valid {
		return 0, nil
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE user_id = ?1 AND server_id = ?2 AND id BETWEEN ?3 AND ?4
		AND EXISTS (SELECT 1 FROM messages c WHERE c.copy_of = messages.id AND c.server_id = ?5)`,
		it.UserID, it.FromServerID, lo.Int64, hi.Int64, it.ToServerID)
	if err != nil {
		return 0, fmt.Errorf("release item %d: %w", it.ID, err)
	}
	n, _ := res.RowsAffected()
	if n != covered {
		// The switch checked the counts; a difference here means someone
		// else changed the messages. Refuse rather than lose one.
		return 0, fmt.Errorf("release item %d: %w: %d originals in ids %d..%d but %d with a copy", it.ID, ErrVerify, covered, lo.Int64, hi.Int64, n)
	}
	if err := tx.AddServerCounts(ctx, it.FromServerID, 0, -n); err != nil {
		return 0, err
	}
	return n, nil
}

// DropCopiesBatch deletes up to limit of the item's copies on the target
// (a cancelled or failed move before its switch) and counts them off the
// item, the job and the target server. It returns how many it deleted; 0
// means none are left.
func (tx *Tx) DropCopiesBatch(ctx context.Context, it *MoveItem, limit int) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE id IN (SELECT id FROM messages
		WHERE user_id = ? AND server_id = ? AND copy_of IS NOT NULL ORDER BY id LIMIT ?)`, it.UserID, it.ToServerID, limit)
	if err != nil {
		return 0, fmt.Errorf("drop copies of item %d: %w", it.ID, err)
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		return 0, nil
	}
	it.Copied = max(0, it.Copied-n)
	if err := tx.AddServerCounts(ctx, it.ToServerID, 0, -n); err != nil {
		return 0, err
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE move_items SET copied = ?, updated_at = ? WHERE id = ?`, []any{it.Copied, fmtTime(tx.now), it.ID}},
		{`UPDATE jobs SET done = max(0, done - ?) WHERE id = ?`, []any{n, it.JobID}},
	} {
		if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
			return 0, fmt.Errorf("drop copies of item %d: %w", it.ID, err)
		}
	}
	return n, nil
}

// MoveWhole moves a small mailbox in the caller's transaction, inside a
// savepoint: it checks that the target holds none of the user's rows,
// copies every message, verifies the copies field by field against the
// originals, switches the user guarded by the expected source, records the
// forward, deletes the originals and marks the item done. Server counters
// are the caller's (AddServerCounts once per group), as are the job's
// counts and the audit row. On ErrVerify or ErrSwitchGuard (wrapped)
// nothing of the user has changed: the savepoint was rolled back. It
// returns the forward's address and how many messages moved.
func (tx *Tx) MoveWhole(ctx context.Context, it *MoveItem) (address string, n int64, err error) {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT move_whole`); err != nil {
		return "", 0, fmt.Errorf("move user %d: %w", it.UserID, err)
	}
	address, n, err = tx.moveWhole(ctx, it)
	if err != nil {
		if _, e := tx.ExecContext(ctx, `ROLLBACK TO move_whole`); e != nil {
			return "", 0, errors.Join(err, e)
		}
	}
	if _, e := tx.ExecContext(ctx, `RELEASE move_whole`); e != nil {
		return "", 0, errors.Join(err, e)
	}
	return address, n, err
}

func (tx *Tx) moveWhole(ctx context.Context, it *MoveItem) (string, int64, error) {
	if k, err := tx.CountOnTarget(ctx, it); err != nil {
		return "", 0, err
	} else if k > 0 {
		return "", 0, fmt.Errorf("%w: the target already holds %d messages of the user", ErrVerify, k)
	}
	res, err := tx.ExecContext(ctx, `
		INSERT INTO messages (user_id, server_id, folder, subject, size, received_at, copy_of)
		SELECT user_id, ?, folder, subject, size, received_at, id FROM messages
		WHERE user_id = ? AND server_id = ? ORDER BY id`, it.ToServerID, it.UserID, it.FromServerID)
	if err != nil {
		return "", 0, fmt.Errorf("copy user %d: %w", it.UserID, err)
	}
	n, _ := res.RowsAffected()
	// Verify: the target held none of the user's rows and now holds n; the
	// DELETE below must remove n originals; so n originals each paired with
	// an identical copy is a complete check, and needs one join only.
	var matched int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM messages s JOIN messages c ON c.copy_of = s.id AND c.server_id = ?3
		WHERE s.user_id = ?1 AND s.server_id = ?2
		AND c.user_id = s.user_id AND c.folder = s.folder AND c.subject = s.subject
		AND c.size = s.size AND c.received_at = s.received_at`, it.UserID, it.FromServerID, it.ToServerID).Scan(&matched); err != nil {
		return "", 0, fmt.Errorf("verify user %d: %w", it.UserID, err)
	}
	if matched != n {
		return "", 0, fmt.Errorf("%w: %d copies made, %d of them identical to their original", ErrVerify, n, matched)
	}
	if res, err = tx.ExecContext(ctx, `UPDATE users SET server_id = ? WHERE id = ? AND server_id = ?`,
		it.ToServerID, it.UserID, it.FromServerID); err != nil {
		return "", 0, fmt.Errorf("switch user %d: %w", it.UserID, err)
	}
	if k, _ := res.RowsAffected(); k != 1 {
		return "", 0, ErrSwitchGuard
	}
	var alias, fromName string
	if err := tx.QueryRowContext(ctx, `SELECT u.alias, s.name FROM users u, servers s WHERE u.id = ? AND s.id = ?`,
		it.UserID, it.FromServerID).Scan(&alias, &fromName); err != nil {
		return "", 0, fmt.Errorf("switch user %d: %w", it.UserID, err)
	}
	address := alias + "@" + fromName
	now := fmtTime(tx.now)
	if _, err := tx.ExecContext(ctx, `INSERT INTO forwards (user_id, from_server_id, to_server_id, address, created_at) VALUES (?, ?, ?, ?, ?)`,
		it.UserID, it.FromServerID, it.ToServerID, address, now); err != nil {
		return "", 0, fmt.Errorf("switch user %d: %w", it.UserID, err)
	}
	if res, err = tx.ExecContext(ctx, `DELETE FROM messages WHERE user_id = ? AND server_id = ?`, it.UserID, it.FromServerID); err != nil {
		return "", 0, fmt.Errorf("release user %d: %w", it.UserID, err)
	}
	if k, _ := res.RowsAffected(); k != n {
		return "", 0, fmt.Errorf("release user %d: %w: %d originals but %d copies", it.UserID, ErrVerify, k, n)
	}
	total := max(it.Total, n)
	if _, err := tx.ExecContext(ctx, `UPDATE move_items SET state = 'done', total = ?, copied = ?, error = '', updated_at = ? WHERE id = ?`,
		total, n, now, it.ID); err != nil {
		return "", 0, fmt.Errorf("move item %d: %w", it.ID, err)
	}
	it.State, it.Total, it.Copied = ItemDone, total, n
	return address, n, nil
}

// AddJobDone adds done to job id's done count and grow to its total.
func (tx *Tx) AddJobDone(ctx context.Context, id, done, grow int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE jobs SET done = done + ?, total = total + ? WHERE id = ?`, done, grow, id); err != nil {
		return fmt.Errorf("job %d counts: %w", id, err)
	}
	return nil
}
