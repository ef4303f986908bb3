package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// LastEventID returns the highest event id ever assigned (0 when none
// was): the events table is AUTOINCREMENT, so ids are never reused, and
// they are assigned in commit order because one connection writes.
func (s *Store) LastEventID(ctx context.Context) (int64, error) {
	var seq sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'events'`).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("last event id: %w", err)
	}
	return seq.Int64, nil
}
