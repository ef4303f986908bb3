package store

import (
	"context"
	"fmt"

	"mailnet/internal/mailnet"
)

// JobsBefore returns up to limit jobs whose id is below before (0: from
// the newest), newest first: a keyset page of the job history (the jobs
// primary key), whatever its length.
func (s *Store) JobsBefore(ctx context.Context, before int64, limit int) ([]mailnet.JobDetail, error) {
	if limit <= 0 {
		limit = 100
	}
	if before <= 0 {
		before = 1 << 62
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs j WHERE j.id < ? ORDER BY j.id DESC LIMIT ?`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	defer rows.Close()
	out := []mailnet.JobDetail{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}
