package tracking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// broadPrefix is how many messages a subject prefix may match before the
// search walks the messages newest first instead of the prefix's index
// range: the first 100 of a prefix that matches one message in twelve
// are found after about 1,200, where sorting the range reads all of them.
const broadPrefix = 5000

// searchSQLBy builds the query for q: the most selective exact field
// drives it (message id, recipient, sender, subject prefix), the rest
// filter; byID drives a subject search by the newest messages rather
// than by the subject index.
func searchSQLBy(q Query, limit int, byID bool) (string, []any) {
	var b strings.Builder
	var args []any
	where := []string{}
	b.WriteString(`SELECT m.id, m.message_id, m.sender, m.subject, m.first_seen, m.last_seen, m.state, m.complete FROM `)
	order := "m.id DESC"
	switch {
	case q.MessageID != "":
		b.WriteString(`tracking_messages m`)
		where = append(where, `m.id IN (SELECT msg FROM tracking_ids WHERE ident = ?)`)
		args = append(args, q.MessageID)
	case q.Recipient != "":
		b.WriteString(`tracking_recipients r CROSS JOIN tracking_messages m ON m.id = r.msg`)
		where = append(where, `r.addr = ?`)
		args = append(args, q.Recipient)
		order = "r.msg DESC"
		if q.AfterID > 0 {
			where = append(where, `r.msg < ?`)
			args = append(args, q.AfterID)
		}
	default:
		b.WriteString(`tracking_messages m`)
	}
	if q.Recipient != "" && q.MessageID != "" {
		where = append(where, `EXISTS (SELECT 1 FROM tracking_recipients WHERE addr = ? AND msg = m.id)`)
		args = append(args, q.Recipient)
	}
	if q.Address != "" {
		where = append(where, `(m.sender = ? OR m.id IN (SELECT msg FROM tracking_recipients WHERE addr = ?))`)
		args = append(args, q.Address, q.Address)
	}
	if q.Sender != "" {
		where = append(where, `m.sender = ?`)
		args = append(args, q.Sender)
	}
	if q.Subject != "" && byID {
		// The unary + keeps the planner off the subject index (the
		// column's NOCASE collation still applies).
		where = append(where, `+m.subject >= ? AND +m.subject < ?`)
		args = append(args, q.Subject, q.Subject+"\U0010FFFF")
	} else if q.Subject != "" {
		where = append(where, `m.subject >= ? AND m.subject < ?`)
		args = append(args, q.Subject, q.Subject+"\U0010FFFF")
	}
	if q.AfterID > 0 && q.Recipient == "" {
		where = append(where, `m.id < ?`)
		args = append(args, q.AfterID)
	}
	if !q.After.IsZero() {
		where = append(where, `m.last_seen >= ?`)
		args = append(args, q.After.UnixMilli())
	}
	if !q.Before.IsZero() {
		where = append(where, `m.first_seen < ?`)
		args = append(args, q.Before.UnixMilli())
	}
	if q.State != "" {
		where = append(where, `m.state = ?`)
		args = append(args, stateCode(q.State))
	}
	if q.Server != "" {
		where = append(where, `EXISTS (SELECT 1 FROM tracking_records tr WHERE tr.msg = m.id AND tr.server = (SELECT id FROM tracking_names WHERE name = ?))`)
		args = append(args, q.Server)
	}
	if len(where) > 0 {
		b.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	fmt.Fprintf(&b, " ORDER BY %s LIMIT %d", order, limit)
	return b.String(), args
}

// Search answers one page of q, newest message first.
func (s *SQLite) Search(ctx context.Context, q Query) (Page, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	ms, err := s.page(ctx, q, limit+1)
	if err != nil {
		return Page{}, err
	}
	p := Page{Messages: ms}
	if len(ms) > limit {
		p.Messages = ms[:limit]
		p.NextAfterID = ms[limit-1].ID
	}
	return p, nil
}

func (s *SQLite) page(ctx context.Context, q Query, limit int) ([]Summary, error) {
	db := s.st.DB()
	byID := false
	if q.Subject != "" && q.MessageID == "" && q.Recipient == "" && q.Sender == "" && q.Address == "" {
		// How broad is the prefix? Counted in the index, up to broadPrefix.
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM tracking_messages WHERE subject >= ? AND subject < ? LIMIT ?)`,
			q.Subject, q.Subject+"\U0010FFFF", broadPrefix).Scan(&n); err != nil {
			return nil, fmt.Errorf("search tracking: %w", err)
		}
		byID = n >= broadPrefix
	}
	query, args := searchSQLBy(q, limit, byID)
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("search tracking: %w", err)
	}
	var out []Summary
	for rows.Next() {
		var m Summary
		var first, last int64
		var state int
		if err := rows.Scan(&m.ID, &m.MessageID, &m.Sender, &m.Subject, &first, &last, &state, &m.Complete); err != nil {
			rows.Close()
			return nil, err
		}
		m.FirstSeen, m.LastSeen, m.State = time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC(), stateOf(state)
		out = append(out, m)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("search tracking: %w", err)
	}
	for i := range out {
		if out[i].Recipients, err = recipients(ctx, db, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func recipients(ctx context.Context, db querier, msg int64) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT addr FROM tracking_recipients WHERE msg = ? ORDER BY addr`, msg)
	if err != nil {
		return nil, fmt.Errorf("recipients: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Export calls fn for every match of q, a page of 1,000 at a time.
func (s *SQLite) Export(ctx context.Context, q Query, fn func(Summary) error) error {
	q.Limit = 1000
	for {
		p, err := s.Search(ctx, q)
		if err != nil {
			return err
		}
		for _, m := range p.Messages {
			if err := fn(m); err != nil {
				return err
			}
		}
		if p.NextAfterID == 0 {
			return nil
		}
		q.AfterID = p.NextAfterID
	}
}

// Trace stitches the message known by id (a message id, MTS-ID or remote
// id) into a trace, as of now.
func (s *SQLite) Trace(ctx context.Context, id string) (Trace, error) {
	db := s.st.DB()
	var tr Trace
	var first, last int64
	err := db.QueryRowContext(ctx, `SELECT m.id, m.message_id, m.sender, m.subject, m.first_seen, m.last_seen
		FROM tracking_ids i JOIN tracking_messages m ON m.id = i.msg WHERE i.ident = ?`, id).
		Scan(&tr.ID, &tr.MessageID, &tr.Sender, &tr.Subject, &first, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return Trace{}, mailnet.NotFound("tracked message", id)
	}
	if err != nil {
		return Trace{}, fmt.Errorf("trace: %w", err)
	}
	recs, err := records(ctx, db, tr.ID)
	if err != nil {
		return Trace{}, err
	}
	net, err := s.network(ctx, db, false)
	if err != nil {
		return Trace{}, err
	}
	st := Stitch(recs, net, s.st.Now())
	st.ID, st.MessageID, st.Sender, st.Subject = tr.ID, tr.MessageID, tr.Sender, tr.Subject
	if st.Recipients, err = recipients(ctx, db, tr.ID); err != nil {
		return Trace{}, err
	}
	rows, err := db.QueryContext(ctx, `SELECT ident FROM tracking_ids WHERE msg = ? ORDER BY ident`, tr.ID)
	if err != nil {
		return Trace{}, fmt.Errorf("trace ids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return Trace{}, err
		}
		st.IDs = append(st.IDs, s)
	}
	return st, rows.Err()
}

// Prune removes whole messages (their records, ids and recipients): those
// last seen before cutoff, through the last_seen index, then the oldest
// while more than maxRecords records remain (0: no size limit).
func (s *SQLite) Prune(ctx context.Context, cutoff time.Time, maxRecords int64, batch int) (int64, error) {
	if batch <= 0 {
		batch = 1000
	}
	var total int64
	if !cutoff.IsZero() {
		for {
			n, more, err := s.pruneBatch(ctx, `SELECT id FROM tracking_messages WHERE last_seen < ? ORDER BY last_seen LIMIT ?`, cutoff.UnixMilli(), batch)
			total += n
			if err != nil || !more {
				if err != nil {
					return total, err
				}
				break
			}
		}
	}
	if maxRecords > 0 {
		var count int64
		if err := s.st.DB().QueryRowContext(ctx, `SELECT count(*) FROM tracking_records`).Scan(&count); err != nil {
			return total, fmt.Errorf("count tracking: %w", err)
		}
		for count > maxRecords {
			// Each message has a record at least: taking no more
			// messages than the excess never removes a whole batch too many.
			n, more, err := s.pruneBatch(ctx, `SELECT id FROM tracking_messages ORDER BY last_seen LIMIT ?2`, nil, int(min(int64(batch), count-maxRecords)))
			total += n
			count -= n
			if err != nil {
				return total, err
			}
			if !more {
				break
			}
		}
	}
	return total, nil
}

// pruneBatch deletes the messages pick selects, in one transaction, and
// says whether it found any.
func (s *SQLite) pruneBatch(ctx context.Context, pick string, arg any, batch int) (int64, bool, error) {
	var n int64
	found := false
	err := s.st.Write(ctx, func(tx *store.Tx) error {
		tx.EventLogOnly()
		rows, err := tx.QueryContext(ctx, pick, arg, batch)
		if err != nil {
			return err
		}
		var ids []any
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if len(ids) == 0 {
			return nil
		}
		found = true
		// Inside the transaction, which holds the one writer connection:
		// the tracking writer's next transaction sees it and drops its
		// id cache, which may name these messages.
		s.pruneGen.Add(1)
		in := "(" + strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + ")"
		res, err := tx.ExecContext(ctx, `DELETE FROM tracking_records WHERE msg IN `+in, ids...)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		for _, q := range []string{
			`DELETE FROM tracking_ids WHERE msg IN `,
			`DELETE FROM tracking_recipients WHERE msg IN `,
			`DELETE FROM tracking_messages WHERE id IN `,
		} {
			if _, err := tx.ExecContext(ctx, q+in, ids...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return n, false, fmt.Errorf("prune tracking: %w", err)
	}
	return n, found, nil
}
