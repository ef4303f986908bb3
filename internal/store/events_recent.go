package store

import (
	"context"
	"fmt"
	"time"

	"mailnet/internal/mailnet"
)

// The event log page and the NOC wall screen show the event rate.

// EventsPerMinute counts the events of the minutes from since (truncated
// to the minute) up to and including the minute of until: one count per
// minute, oldest first. siteID (0: every site) limits them to the
// servers of one site.
func (s *Store) EventsPerMinute(ctx context.Context, since, until time.Time, siteID int64) ([]int64, error) {
	since, until = since.UTC().Truncate(time.Minute), until.UTC()
	n := int(until.Sub(since)/time.Minute) + 1
	if n <= 0 || n > 24*60 {
		return nil, mailnet.Invalid("since", "the range must be between one minute and a day")
	}
	q := `SELECT substr(time, 1, 16), count(*) FROM events WHERE time >= ?`
	args := []any{fmtTime(since)}
	if siteID != 0 {
		q += ` AND server_id IN (SELECT id FROM servers WHERE site_id = ?)`
		args = append(args, siteID)
	}
	rows, err := s.r.QueryContext(ctx, q+` GROUP BY 1`, args...)
	if err != nil {
		return nil, fmt.Errorf("events per minute: %w", err)
	}
	defer rows.Close()
	out := make([]int64, n)
	for rows.Next() {
		var minute string
		var c int64
		if err := rows.Scan(&minute, &c); err != nil {
			return nil, fmt.Errorf("events per minute: %w", err)
		}
		t, err := time.Parse("2006-01-02T15:04", minute)
		if err != nil {
			continue
		}
		if i := int(t.Sub(since) / time.Minute); i >= 0 && i < n {
			out[i] += c
		}
	}
	return out, rows.Err()
}
