package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"mailnet/internal/mailnet"
)

const userCols = `id, alias, display_name, server_id, in_all_listing, message_count`

func scanUser(sc rowScanner) (mailnet.User, error) {
	var u mailnet.User
	var listed int
	err := sc.Scan(&u.ID, &u.Alias, &u.DisplayName, &u.ServerID, &listed, &u.MessageCount)
	u.InAllListing = listed != 0
	return u, err
}

// UserFilter selects a page of users. Pages are keyset: ids above AfterID,
// in id order, at most Limit (after skipping Offset, for pages that link
// to page N).
type UserFilter struct {
	ServerID int64  // 0: every server
	Q        string // substring of the alias or the display name, case-insensitive
	AfterID  int64
	Offset   int
	Limit    int
}

func (f UserFilter) where() (string, []any) {
	var where []string
	var args []any
	where = append(where, "id > ?")
	args = append(args, f.AfterID)
	if f.ServerID != 0 {
		where = append(where, "server_id = ?")
		args = append(args, f.ServerID)
	}
	if f.Q != "" {
		where = append(where, `(alias LIKE ? ESCAPE '\' OR display_name LIKE ? ESCAPE '\')`)
		p := likePattern(f.Q)
		args = append(args, p, p)
	}
	return strings.Join(where, " AND "), args
}

// CountUsers counts the users f matches (ignoring Offset and Limit).
func (s *Store) CountUsers(ctx context.Context, f UserFilter) (int64, error) {
	where, args := f.where()
	var n int64
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE `+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// Users returns one page of users matching f, by id.
func (s *Store) Users(ctx context.Context, f UserFilter) ([]mailnet.User, error) {
	where, args := f.where()
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit, f.Offset)
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM users WHERE `+where+` ORDER BY id LIMIT ? OFFSET ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	out := []mailnet.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UserByID returns the user, or a not-found error.
func (s *Store) UserByID(ctx context.Context, id int64) (mailnet.User, error) {
	return userByID(ctx, s.r, id)
}

// UserByID returns the user as the transaction sees it.
func (tx *Tx) UserByID(ctx context.Context, id int64) (mailnet.User, error) {
	return userByID(ctx, tx, id)
}

func userByID(ctx context.Context, q rowQuerier, id int64) (mailnet.User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return u, mailnet.NotFound("user", id)
	}
	if err != nil {
		return u, fmt.Errorf("user %d: %w", id, err)
	}
	return u, nil
}

// InsertUser stores u on its home server, sets its ID and adds one to the
// server's user count in the same transaction. An alias in use is a
// conflict naming the field.
func (tx *Tx) InsertUser(ctx context.Context, u *mailnet.User) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO users (alias, display_name, server_id, in_all_listing, created_at)
		VALUES (?, ?, ?, ?, ?)`, u.Alias, u.DisplayName, u.ServerID, boolInt(u.InAllListing), fmtTime(tx.now))
	if IsUnique(err) {
		return mailnet.Errorf(mailnet.KindConflict, "alias", "a user with alias %q already exists", u.Alias)
	}
	if IsForeignKey(err) {
		return mailnet.Invalid("server_id", "server %d does not exist", u.ServerID)
	}
	if err != nil {
		return fmt.Errorf("insert user: %w", err)
	}
	u.ID, _ = res.LastInsertId()
	u.MessageCount = 0
	if err := tx.AddServerCounts(ctx, u.ServerID, 1, 0); err != nil {
		return err
	}
	return nil
}

// AddServerCounts adds to a server's kept user and message counters.
func (tx *Tx) AddServerCounts(ctx context.Context, serverID, users, messages int64) error {
	res, err := tx.ExecContext(ctx, `UPDATE servers SET user_count = user_count + ?, message_count = message_count + ? WHERE id = ?`,
		users, messages, serverID)
	if err != nil {
		return fmt.Errorf("server %d counters: %w", serverID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return mailnet.NotFound("server", serverID)
	}
	return nil
}
