package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"mailnet/internal/mailnet"
)

// The event log page and the NOC wall screen read the newest events and
// the event rate; both are keyset reads on the events indexes.

// RecentQuery selects the newest events: the filters of EventQuery (its
// AfterID is a lower bound, Limit the page size), below BeforeID when it
// is set, and only the given severities when Severities is not empty.
type RecentQuery struct {
	EventQuery
	BeforeID   int64
	Severities []string
}

// RecentEvents returns the events matching q, newest (highest id) first.
func (s *Store) RecentEvents(ctx context.Context, q RecentQuery) ([]mailnet.Event, error) {
	where := []string{"id > ?"}
	args := []any{q.AfterID}
	if q.BeforeID > 0 {
		where = append(where, "id < ?")
		args = append(args, q.BeforeID)
	}
	if q.Server != "" {
		where = append(where, "server = ?")
		args = append(args, q.Server)
	}
	if q.SiteID != 0 {
		where = append(where, "server_id IN (SELECT id FROM servers WHERE site_id = ?)")
		args = append(args, q.SiteID)
	}
	if q.Source != "" {
		where = append(where, "source = ?")
		args = append(args, q.Source)
	}
	if q.EventID >= 0 {
		where = append(where, "event_id = ?")
		args = append(args, q.EventID)
	}
	switch {
	case len(q.Severities) > 0:
		where = append(where, "severity IN ("+strings.TrimSuffix(strings.Repeat("?,", len(q.Severities)), ",")+")")
		for _, sev := range q.Severities {
			args = append(args, sev)
		}
	case q.Severity != "":
		where = append(where, "severity = ?")
		args = append(args, q.Severity)
	}
	if !q.Since.IsZero() {
		where = append(where, "time >= ?")
		args = append(args, fmtTime(q.Since))
	}
	if !q.Until.IsZero() {
		where = append(where, "time < ?")
		args = append(args, fmtTime(q.Until))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, `SELECT `+eventCols+` FROM events WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("recent events: %w", err)
	}
	defer rows.Close()
	out := make([]mailnet.Event, 0, min(limit, 256))
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("recent events: %w", err)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

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
