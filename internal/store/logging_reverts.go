package store

import (
	"context"
	"fmt"
	"mailnet/internal/mailnet"
	"time"
)

// LoggingRevert is mailnet.LoggingRevert, kept here for the queries that fill it.
type LoggingRevert = mailnet.LoggingRevert

// SetLoggingRevert schedules (or reschedules) the revert of one category.
func (tx *Tx) SetLoggingRevert(ctx context.Context, r LoggingRevert) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO connector_logging_reverts (connector_id, category, revert_to, revert_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (connector_id, category) DO UPDATE SET revert_to = excluded.revert_to, revert_at = excluded.revert_at`,
		r.ConnectorID, r.Category, r.To, fmtTime(r.At))
	if err != nil {
		return fmt.Errorf("schedule logging revert of connector %d: %w", r.ConnectorID, err)
	}
	return nil
}

// DeleteLoggingRevert drops the scheduled revert of one category of a
// connector, or of every category when category is "". It reports how
// many were dropped.
func (tx *Tx) DeleteLoggingRevert(ctx context.Context, connectorID int64, category string) (int64, error) {
	q, args := `DELETE FROM connector_logging_reverts WHERE connector_id = ?`, []any{connectorID}
	if category != "" {
		q, args = q+` AND category = ?`, append(args, category)
	}
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("drop logging revert of connector %d: %w", connectorID, err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// LoggingRevertsOf returns the scheduled reverts of a connector, by
// category, in the transaction.
func (tx *Tx) LoggingRevertsOf(ctx context.Context, connectorID int64) ([]LoggingRevert, error) {
	return scanReverts(tx.QueryContext(ctx, revertSelect+` WHERE connector_id = ? ORDER BY category`, connectorID))
}

// LoggingReverts returns the scheduled reverts of a connector (every
// connector when connectorID is 0), by time.
func (s *Store) LoggingReverts(ctx context.Context, connectorID int64) ([]LoggingRevert, error) {
	if connectorID == 0 {
		return scanReverts(s.r.QueryContext(ctx, revertSelect+` ORDER BY revert_at, connector_id, category`))
	}
	return scanReverts(s.r.QueryContext(ctx, revertSelect+` WHERE connector_id = ? ORDER BY category`, connectorID))
}

// DueLoggingReverts returns the reverts due at now, by time.
func (s *Store) DueLoggingReverts(ctx context.Context, now time.Time) ([]LoggingRevert, error) {
	return scanReverts(s.r.QueryContext(ctx, revertSelect+` WHERE revert_at <= ? ORDER BY revert_at, connector_id, category`, fmtTime(now)))
}

const revertSelect = `SELECT connector_id, category, revert_to, revert_at FROM connector_logging_reverts`

type rowsLike interface {
	Next() bool
	Scan(...any) error
	Close() error
	Err() error
}

func scanReverts[R rowsLike](rows R, err error) ([]LoggingRevert, error) {
	if err != nil {
		return nil, fmt.Errorf("logging reverts: %w", err)
	}
	defer rows.Close()
	out := []LoggingRevert{}
	for rows.Next() {
		var r LoggingRevert
		var at string
		if err := rows.Scan(&r.ConnectorID, &r.Category, &r.To, &at); err != nil {
			return nil, fmt.Errorf("logging reverts: %w", err)
		}
		r.At = parseTime(at)
		out = append(out, r)
	}
	return out, rows.Err()
}
