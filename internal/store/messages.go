package store

import (
	"context"
	"fmt"

	"mailnet/internal/mailnet"
)

// MessagesOnServer returns one page of user's messages stored on server
// (copies made by a move in progress live on the target until the switch),
// ids above afterID, by id, at most limit.
func (s *Store) MessagesOnServer(ctx context.Context, userID, serverID, afterID int64, limit int) ([]mailnet.Message, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, user_id, folder, subject, size, received_at FROM messages
		WHERE user_id = ? AND server_id = ? AND id > ? ORDER BY id LIMIT ?`, userID, serverID, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("messages of user %d: %w", userID, err)
	}
	defer rows.Close()
	out := []mailnet.Message{}
	for rows.Next() {
		var m mailnet.Message
		var at string
		if err := rows.Scan(&m.ID, &m.UserID, &m.Folder, &m.Subject, &m.Size, &at); err != nil {
			return nil, fmt.Errorf("messages of user %d: %w", userID, err)
		}
		m.ReceivedAt = parseTime(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

// DeliverMessages stores msgs for user on server with one prepared
// statement, sets their IDs and UserID, and adds their number to the
// user's and the server's message counters, all in tx.
func (tx *Tx) DeliverMessages(ctx context.Context, userID, serverID int64, msgs []mailnet.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO messages (user_id, server_id, folder, subject, size, received_at)
		VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("deliver: %w", err)
	}
	defer stmt.Close()
	for i := range msgs {
		m := &msgs[i]
		res, err := stmt.ExecContext(ctx, userID, serverID, m.Folder, m.Subject, m.Size, fmtTime(m.ReceivedAt))
		if err != nil {
			return fmt.Errorf("deliver message %d of %d: %w", i+1, len(msgs), err)
		}
		m.ID, _ = res.LastInsertId()
		m.UserID = userID
	}
	n := int64(len(msgs))
	res, err := tx.ExecContext(ctx, `UPDATE users SET message_count = message_count + ? WHERE id = ?`, n, userID)
	if err != nil {
		return fmt.Errorf("user %d message count: %w", userID, err)
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return mailnet.NotFound("user", userID)
	}
	return tx.AddServerCounts(ctx, serverID, 0, n)
}
