package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"mailnet/internal/mailnet"
)

// errGroupRefused rolls back a group that does not qualify for MoveGroup.
var errGroupRefused = errors.New("the group does not qualify for a set-based move")

// GroupMove is what MoveGroup did for one user.
type GroupMove struct {
	Item    *mailnet.MoveItem
	Address string // the forward's address
	N       int64  // messages moved
}

// MoveGroup is MoveWhole for every user of items at once, with one
// statement per step for the whole group instead of one per user: copy,
// verify, forwards, switch, release, items. It applies only when every
// item goes from the same source to the same target, every user is still
// on that source and the target holds none of their rows; then it does the
// same checks as MoveWhole, summed and per user. If any of that does not
// hold it changes nothing (a savepoint) and returns ok false: the caller
// moves the users one by one (WholeMover), which fails only the users at
// fault. Server counters, job counts and audit rows are the caller's.
func (tx *Tx) MoveGroup(ctx context.Context, items []*mailnet.MoveItem) (moves []GroupMove, ok bool, err error) {
	if len(items) == 0 {
		return nil, true, nil
	}
	from, to := items[0].FromServerID, items[0].ToServerID
	ids := make([]int64, len(items))
	seen := make(map[int64]bool, len(items))
	for i, it := range items {
		if it.FromServerID != from || it.ToServerID != to || seen[it.UserID] {
			return nil, false, nil
		}
		seen[it.UserID] = true
		ids[i] = it.UserID
	}
	users, err := json.Marshal(ids)
	if err != nil {
		return nil, false, err
	}
	err = tx.InSavepoint(ctx, "move_group", func() error {
		var err error
		if moves, ok, err = tx.moveGroup(ctx, items, string(users), from, to); err == nil && !ok {
			return errGroupRefused
		}
		return err
	})
	if errors.Is(err, errGroupRefused) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	for i := range moves {
		it := moves[i].Item
		it.State, it.Total, it.Copied, it.Error = mailnet.ItemDone, max(it.Total, moves[i].N), moves[i].N, ""
	}
	return moves, true, nil
}

func (tx *Tx) moveGroup(ctx context.Context, items []*mailnet.MoveItem, users string, from, to int64) ([]GroupMove, bool, error) {
	want := int64(len(items))
	// Every user still on the source, the target empty of their rows; every
	// row above base is made by this transaction from here on.
	var onSource, onTarget, base int64
	if err := tx.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM users WHERE id IN (SELECT value FROM json_each(?1)) AND server_id = ?2),
		(SELECT count(*) FROM messages WHERE user_id IN (SELECT value FROM json_each(?1)) AND server_id = ?3),
		(SELECT coalesce(max(id), 0) FROM messages)`, users, from, to).Scan(&onSource, &onTarget, &base); err != nil {
		return nil, false, fmt.Errorf("move group: %w", err)
	}
	if onSource != want || onTarget != 0 {
		return nil, false, nil
	}
	res, err := tx.ExecContext(ctx, `
		INSERT INTO messages (user_id, server_id, folder, subject, size, received_at, copy_of)
		SELECT user_id, ?3, folder, subject, size, received_at, id FROM messages
		WHERE user_id IN (SELECT value FROM json_each(?1)) AND server_id = ?2 ORDER BY user_id, id`, users, from, to)
	if err != nil {
		return nil, false, fmt.Errorf("move group: copy: %w", err)
	}
	n, _ := res.RowsAffected()
	// Verify as MoveWhole does: every new row (all above base, made by the
	// INSERT above) a copy on the target paired with an identical original
	// of the same user on the source; the DELETE below then must remove
	// exactly n originals. The per-user counts read the covering index.
	var matched int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM messages c CROSS JOIN messages s ON s.id = c.copy_of
		WHERE c.id > ?3 AND +c.server_id = ?2
		AND s.user_id = c.user_id AND s.server_id = ?1 AND c.folder = s.folder AND c.subject = s.subject
		AND c.size = s.size AND c.received_at = s.received_at`, from, to, base).Scan(&matched); err != nil {
		return nil, false, fmt.Errorf("move group: verify: %w", err)
	}
	if matched != n {
		return nil, false, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT user_id, count(*) FROM messages
		WHERE user_id IN (SELECT value FROM json_each(?1)) AND server_id = ?2 GROUP BY user_id`, users, to)
	if err != nil {
		return nil, false, fmt.Errorf("move group: count: %w", err)
	}
	per := make(map[int64]int64, len(items))
	var copies int64
	for rows.Next() {
		var u, c int64
		if err := rows.Scan(&u, &c); err != nil {
			rows.Close()
			return nil, false, fmt.Errorf("move group: count: %w", err)
		}
		per[u] = c
		copies += c
	}
	if err := rows.Close(); err != nil {
		return nil, false, fmt.Errorf("move group: count: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("move group: count: %w", err)
	}
	if copies != n {
		return nil, false, nil
	}
	now := fmtTime(tx.now)
	// The forwards first: they read the aliases only while the users are
	// still on the source, and the guarded update below counts them.
	frows, err := tx.QueryContext(ctx, `INSERT INTO forwards (user_id, from_server_id, to_server_id, address, created_at)
		SELECT u.id, ?2, ?3, u.alias || '@' || s.name, ?4 FROM users u, servers s
		WHERE u.id IN (SELECT value FROM json_each(?1)) AND u.server_id = ?2 AND s.id = ?2
		RETURNING user_id, address`, users, from, to, now)
	if err != nil {
		return nil, false, fmt.Errorf("move group: forwards: %w", err)
	}
	addr := make(map[int64]string, len(items))
	for frows.Next() {
		var u int64
		var a string
		if err := frows.Scan(&u, &a); err != nil {
			frows.Close()
			return nil, false, fmt.Errorf("move group: forwards: %w", err)
		}
		addr[u] = a
	}
	if err := frows.Close(); err != nil {
		return nil, false, fmt.Errorf("move group: forwards: %w", err)
	}
	if err := frows.Err(); err != nil {
		return nil, false, fmt.Errorf("move group: forwards: %w", err)
	}
	if int64(len(addr)) != want {
		return nil, false, nil
	}
	if res, err = tx.ExecContext(ctx, `UPDATE users SET server_id = ?3 WHERE id IN (SELECT value FROM json_each(?1)) AND server_id = ?2`,
		users, from, to); err != nil {
		return nil, false, fmt.Errorf("move group: switch: %w", err)
	}
	if k, _ := res.RowsAffected(); k != want {
		return nil, false, nil
	}
	if res, err = tx.ExecContext(ctx, `DELETE FROM messages WHERE user_id IN (SELECT value FROM json_each(?1)) AND server_id = ?2`,
		users, from); err != nil {
		return nil, false, fmt.Errorf("move group: release: %w", err)
	}
	if k, _ := res.RowsAffected(); k != n {
		return nil, false, nil
	}
	type itemRow struct {
		ID int64 `json:"i"`
		N  int64 `json:"n"`
	}
	moves := make([]GroupMove, len(items))
	list := make([]itemRow, len(items))
	for i, it := range items {
		moves[i] = GroupMove{Item: it, Address: addr[it.UserID], N: per[it.UserID]}
		list[i] = itemRow{ID: it.ID, N: per[it.UserID]}
	}
	js, err := json.Marshal(list)
	if err != nil {
		return nil, false, err
	}
	if res, err = tx.ExecContext(ctx, `UPDATE move_items SET state = 'done', total = max(total, json_extract(j.value, '$.n')),
		copied = json_extract(j.value, '$.n'), error = '', updated_at = ?2
		FROM json_each(?1) j WHERE move_items.id = json_extract(j.value, '$.i')`, string(js), now); err != nil {
		return nil, false, fmt.Errorf("move group: items: %w", err)
	}
	if k, _ := res.RowsAffected(); k != want {
		return nil, false, nil
	}
	return moves, true, nil
}
