package tracking

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"mailnet/internal/store"
)

// The writer's transaction: what used to be a statement per record, per
// id and per message is now one pass in Go and a few multi-row
// statements. Profiled on 6-hop messages (BenchmarkSubmit), the old
// writer spent 64% of its time in database/sql's per-statement path: a
// lookup per id, an INSERT ... RETURNING and an UPDATE per message, an
// INSERT per record. Now:
//
//   - every id of the transaction that the cache does not hold is looked
//     up in one IN (...) query per 500 ids, before any record is added;
//   - a new message's id is allocated in Go (max(id)+1: only this writer
//     inserts messages, on the one writer connection), and its row is
//     inserted once, at the end, with its final times and state;
//   - records, ids and recipients are inserted by multi-row statements.

// maxCachedIDs bounds the writer's id cache.
const maxCachedIDs = 500_000

// lookupChunk is how many ids one IN (...) lookup carries.
const lookupChunk = 500

func (s *SQLite) commit(bs []*batch) error {
	ctx := context.Background()
	if s.names == nil {
		if err := s.loadNames(ctx); err != nil {
			return err
		}
	}
	n := 0
	sendsChanged := false
	err := s.st.Write(ctx, func(tx *store.Tx) error {
		tx.EventLogOnly()
		// Checked under the writer connection, which a prune holds too.
		if g := s.pruneGen.Load(); s.ids == nil || g != s.idsGen || len(s.ids) > maxCachedIDs {
			s.ids, s.idsGen = make(map[string]int64, 1024), g
		}
		w, err := newTxWriter(ctx, tx, s)
		if err != nil {
			return err
		}
		defer w.close()
		if err := w.prefetch(bs); err != nil {
			return err
		}
		for _, b := range bs {
			for i := range b.recs {
				if err := w.add(&b.recs[i]); err != nil {
					return err
				}
				n++
			}
		}
		err = w.finish()
		sendsChanged = w.sendsChanged
		return err
	})
	if err != nil {
		s.names, s.ids = nil, nil // the rolled-back ids are not to be trusted
		s.invMu.Lock()
		s.inv = nil
		s.invMu.Unlock()
		return fmt.Errorf("store tracking: %w", err)
	}
	s.stored.Add(int64(n))
	s.txs.Add(1)
	if sendsChanged {
		s.invMu.Lock()
		s.inv = nil // a server has started sending tracking
		s.invMu.Unlock()
	}
	return nil
}

func (s *SQLite) loadNames(ctx context.Context) error {
	rows, err := s.st.DB().QueryContext(ctx, `SELECT id, name, sends FROM tracking_names`)
	if err != nil {
		return fmt.Errorf("tracking names: %w", err)
	}
	defer rows.Close()
	m := map[string]nameRow{}
	for rows.Next() {
		var r nameRow
		var name string
		if err := rows.Scan(&r.id, &name, &r.sends); err != nil {
			return err
		}
		m[strings.ToLower(name)] = r
	}
	if err := rows.Err(); err != nil {
		return err
	}
	s.names = m
	return nil
}

// bulkInsert inserts rows of cols values, perStmt rows a statement.
type bulkInsert struct {
	w       *txWriter
	head    string // "INSERT ... VALUES "
	tuple   string // "(?, ?, ?)"
	cols    int
	perStmt int
	full    *sql.Stmt
	args    []any
}

func (b *bulkInsert) sql(rows int) string {
	var sb strings.Builder
	sb.WriteString(b.head)
	for i := range rows {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(b.tuple)
	}
	return sb.String()
}

func (b *bulkInsert) add(vals ...any) error {
	b.args = append(b.args, vals...)
	if len(b.args) < b.cols*b.perStmt {
		return nil
	}
	if b.full == nil {
		st, err := b.w.tx.PrepareContext(b.w.ctx, b.sql(b.perStmt))
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		b.full = st
		b.w.stmts = append(b.w.stmts, st)
	}
	if _, err := b.full.ExecContext(b.w.ctx, b.args...); err != nil {
		return fmt.Errorf("%s: %w", strings.TrimSpace(b.head[:min(len(b.head), 40)]), err)
	}
	clear(b.args)
	b.args = b.args[:0]
	return nil
}

func (b *bulkInsert) flush() error {
	if len(b.args) == 0 {
		return nil
	}
	if _, err := b.w.tx.ExecContext(b.w.ctx, b.sql(len(b.args)/b.cols), b.args...); err != nil {
		return fmt.Errorf("%s: %w", strings.TrimSpace(b.head[:min(len(b.head), 40)]), err)
	}
	clear(b.args)
	b.args = b.args[:0]
	return nil
}

// txWriter holds one transaction's statements and what it has done to
// each message, applied once per message at the end.
type txWriter struct {
	ctx     context.Context
	tx      *store.Tx
	s       *SQLite
	touched map[int64]*touch
	rcpts   map[rcptKey]bool
	stmts   []*sql.Stmt
	nextMsg int64 // the id the next new message takes

	sendsChanged bool

	recs, ids, rcptRows, msgs *bulkInsert
	updateMsg, selectRecs     *sql.Stmt
}

type rcptKey struct {
	msg  int64
	addr string
}

// touch is one message's changes in this transaction.
type touch struct {
	first, last     int64
	messageID       string
	sender, subject string
	// created: the message is new in this transaction and its row not
	// yet inserted (finish inserts it with its final state).
	created bool
	recs    []Record // its records of this transaction
}

func newTxWriter(ctx context.Context, tx *store.Tx, s *SQLite) (*txWriter, error) {
	w := &txWriter{ctx: ctx, tx: tx, s: s, touched: map[int64]*touch{}, rcpts: map[rcptKey]bool{}}
	w.recs = &bulkInsert{w: w, head: `INSERT INTO tracking_records (msg, t, server, event, partner, size, remote_id) VALUES `, tuple: `(?,?,?,?,?,?,?)`, cols: 7, perStmt: 128}
	w.ids = &bulkInsert{w: w, head: `INSERT OR IGNORE INTO tracking_ids (ident, msg) VALUES `, tuple: `(?,?)`, cols: 2, perStmt: 256}
	w.rcptRows = &bulkInsert{w: w, head: `INSERT OR IGNORE INTO tracking_recipients (addr, msg) VALUES `, tuple: `(?,?)`, cols: 2, perStmt: 256}
	w.msgs = &bulkInsert{w: w, head: `INSERT INTO tracking_messages (id, message_id, sender, subject, first_seen, last_seen, state, complete) VALUES `, tuple: `(?,?,?,?,?,?,?,?)`, cols: 8, perStmt: 64}
	for _, p := range []struct {
		dst *(*sql.Stmt)
		q   string
	}{
		{&w.updateMsg, `UPDATE tracking_messages SET
			sender = CASE WHEN sender = '' THEN ?2 ELSE sender END,
			subject = CASE WHEN subject = '' THEN ?3 ELSE subject END,
			first_seen = min(first_seen, ?4), last_seen = max(last_seen, ?5),
			state = ?6, complete = ?7
			WHERE id = ?1`},
		{&w.selectRecs, recordsSQL},
	} {
		st, err := tx.PrepareContext(ctx, p.q)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("prepare: %w", err)
		}
		*p.dst = st
		w.stmts = append(w.stmts, st)
	}
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM tracking_messages`).Scan(&w.nextMsg); err != nil {
		w.close()
		return nil, fmt.Errorf("next message id: %w", err)
	}
	return w, nil
}

func (w *txWriter) close() {
	for _, st := range w.stmts {
		st.Close()
	}
}

// prefetch looks up, a chunk at a time, every id of the batches that the
// cache does not hold, and caches what it finds: afterwards an id missing
// from the cache is an id no message has yet.
func (w *txWriter) prefetch(bs []*batch) error {
	var want []any
	seen := map[string]bool{}
	ask := func(id string) {
		if id == "" || seen[id] {
			return
		}
		if _, ok := w.s.ids[id]; ok {
			return
		}
		seen[id] = true
		want = append(want, id)
	}
	for _, b := range bs {
		for i := range b.recs {
			ask(b.recs[i].MessageID)
			ask(b.recs[i].RemoteID)
		}
	}
	for len(want) > 0 {
		chunk := want[:min(len(want), lookupChunk)]
		want = want[len(chunk):]
		q := `SELECT ident, msg FROM tracking_ids WHERE ident IN (?` + strings.Repeat(",?", len(chunk)-1) + `)`
		rows, err := w.tx.QueryContext(w.ctx, q, chunk...)
		if err != nil {
			return fmt.Errorf("look up ids: %w", err)
		}
		for rows.Next() {
			var id string
			var msg int64
			if err := rows.Scan(&id, &msg); err != nil {
				rows.Close()
				return err
			}
			w.s.ids[id] = msg
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("look up ids: %w", err)
		}
	}
	return nil
}

func (w *txWriter) name(name string, sends bool) (int64, error) {
	k := name
	r, ok := w.s.names[k]
	if !ok {
		k = strings.ToLower(name)
		r, ok = w.s.names[k]
	}
	if ok {
		if sends && !r.sends {
			if _, err := w.tx.ExecContext(w.ctx, `UPDATE tracking_names SET sends = 1 WHERE id = ?`, r.id); err != nil {
				return 0, err
			}
			r.sends = true
			w.s.names[k] = r
			w.sendsChanged = true
		}
		return r.id, nil
	}
	var id int64
	if err := w.tx.QueryRowContext(w.ctx, `INSERT INTO tracking_names (name, sends) VALUES (?, ?) RETURNING id`, name, sends).Scan(&id); err != nil {
		return 0, fmt.Errorf("intern %q: %w", name, err)
	}
	w.s.names[k] = nameRow{id: id, sends: sends}
	w.sendsChanged = w.sendsChanged || sends
	return id, nil
}

func (w *txWriter) add(r *Record) error {
	sid, err := w.name(r.Server, true)
	if err != nil {
		return err
	}
	var pid int64
	if r.Partner != "" {
		if pid, err = w.name(r.Partner, false); err != nil {
			return err
		}
	}
	msg, err := w.resolve(r)
	if err != nil {
		return err
	}
	code, _ := eventCode(r.Event)
	var remote any
	if r.RemoteID != "" {
		remote = r.RemoteID
	}
	t := r.Time.UnixMilli()
	if err := w.recs.add(msg, t, sid, code, pid, r.Size, remote); err != nil {
		return err
	}
	for _, a := range r.Recipients {
		k := rcptKey{msg, strings.ToLower(a)}
		if w.rcpts[k] {
			continue
		}
		w.rcpts[k] = true
		if err := w.rcptRows.add(a, msg); err != nil {
			return err
		}
	}
	tc := w.touch(msg)
	tc.first, tc.last = min(tc.first, t), max(tc.last, t)
	if tc.sender == "" {
		tc.sender = r.Sender
	}
	if tc.subject == "" {
		tc.subject = r.Subject
	}
	tc.recs = append(tc.recs, *r)
	return nil
}

func (w *txWriter) touch(msg int64) *touch {
	tc := w.touched[msg]
	if tc == nil {
		tc = &touch{first: 1<<63 - 1, last: -1 << 63}
		w.touched[msg] = tc
	}
	return tc
}

// resolve finds the message a record belongs to by its message id and
// remote id (all of which prefetch put in the cache if they exist),
// creating it, or merging two messages the record links.
func (w *txWriter) resolve(r *Record) (int64, error) {
	var found [2]int64
	nf := 0
	m1, ok1 := w.s.ids[r.MessageID]
	if ok1 {
		found[nf] = m1
		nf++
	}
	hasRemote := r.RemoteID != "" && r.RemoteID != r.MessageID
	ok2 := false
	if hasRemote {
		var m2 int64
		if m2, ok2 = w.s.ids[r.RemoteID]; ok2 {
			found[nf] = m2
			nf++
		}
	}
	var msg int64
	switch {
	case nf == 0:
		msg = w.nextMsg
		w.nextMsg++
		tc := w.touch(msg)
		tc.created, tc.messageID = true, r.MessageID
	case nf == 2 && found[0] != found[1]:
		msg = min(found[0], found[1])
		if err := w.merge(msg, max(found[0], found[1])); err != nil {
			return 0, err
		}
		return msg, nil // both ids are msg's now
	default:
		msg = found[0]
	}
	if !ok1 {
		if err := w.ids.add(r.MessageID, msg); err != nil {
			return 0, err
		}
		w.s.ids[r.MessageID] = msg
	}
	if hasRemote && !ok2 {
		if err := w.ids.add(r.RemoteID, msg); err != nil {
			return 0, err
		}
		w.s.ids[r.RemoteID] = msg
	}
	return msg, nil
}

// flush writes what the transaction holds back: the rows of the new
// messages (with their times so far; finish restates them), ids,
// recipients and records. A merge needs them in the tables.
func (w *txWriter) flush() error {
	var created []int64
	for msg, tc := range w.touched {
		if tc.created {
			created = append(created, msg)
		}
	}
	slices.Sort(created)
	for _, msg := range created {
		tc := w.touched[msg]
		if err := w.msgs.add(msg, tc.messageID, tc.sender, tc.subject, tc.first, tc.last, 0, false); err != nil {
			return err
		}
		tc.created = false
	}
	for _, b := range []*bulkInsert{w.msgs, w.ids, w.rcptRows, w.recs} {
		if err := b.flush(); err != nil {
			return err
		}
	}
	return nil
}

// merge folds message from into into: one message seen under two ids
// before a record linked them.
func (w *txWriter) merge(into, from int64) error {
	if err := w.flush(); err != nil {
		return err
	}
	// Repoint the cached ids of from (read by its index, not by walking
	// the cache).
	rows, err := w.tx.QueryContext(w.ctx, `SELECT ident FROM tracking_ids WHERE msg = ?`, from)
	if err != nil {
		return fmt.Errorf("merge messages: %w", err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		if _, ok := w.s.ids[id]; ok {
			w.s.ids[id] = into
		}
	}
	rows.Close()
	for _, q := range []string{
		`UPDATE tracking_records SET msg = ?1 WHERE msg = ?2`,
		`UPDATE tracking_ids SET msg = ?1 WHERE msg = ?2`,
		`INSERT OR IGNORE INTO tracking_recipients (addr, msg) SELECT addr, ?1 FROM tracking_recipients WHERE msg = ?2`,
		`DELETE FROM tracking_recipients WHERE msg = ?2`,
		`UPDATE tracking_messages SET
			first_seen = min(first_seen, (SELECT first_seen FROM tracking_messages WHERE id = ?2)),
			last_seen = max(last_seen, (SELECT last_seen FROM tracking_messages WHERE id = ?2)),
			sender = CASE WHEN sender = '' THEN (SELECT sender FROM tracking_messages WHERE id = ?2) ELSE sender END,
			subject = CASE WHEN subject = '' THEN (SELECT subject FROM tracking_messages WHERE id = ?2) ELSE subject END
			WHERE id = ?1`,
		`DELETE FROM tracking_messages WHERE id = ?2`,
	} {
		if _, err := w.tx.ExecContext(w.ctx, q, into, from); err != nil {
			return fmt.Errorf("merge messages: %w", err)
		}
	}
	if tc := w.touched[from]; tc != nil {
		into := w.touch(into)
		into.first, into.last = min(into.first, tc.first), max(into.last, tc.last)
		delete(w.touched, from)
	}
	w.touch(into) // restated from its records in the table
	for k := range w.rcpts {
		if k.msg == from {
			delete(w.rcpts, k)
		}
	}
	return nil
}

// finish writes the buffered rows and stores the state of every message
// the transaction touched: a new message's row goes in once, with its
// final state; an older one is restated from all its records.
func (w *txWriter) finish() error {
	for _, b := range []*bulkInsert{w.ids, w.rcptRows, w.recs} {
		if err := b.flush(); err != nil {
			return err
		}
	}
	net, err := w.s.network(w.ctx, w.tx, w.sendsChanged)
	if err != nil {
		return err
	}
	now := w.s.st.Now()
	var created []int64
	for msg, tc := range w.touched {
		if tc.created {
			created = append(created, msg)
			continue
		}
		recs, err := scanRecords(w.selectRecs.QueryContext(w.ctx, msg))
		if err != nil {
			return err
		}
		tr := Stitch(recs, net, now)
		if _, err := w.updateMsg.ExecContext(w.ctx, msg, tc.sender, tc.subject, tc.first, tc.last, stateCode(tr.State), tr.Complete); err != nil {
			return fmt.Errorf("update message: %w", err)
		}
	}
	slices.Sort(created) // appended in key order
	for _, msg := range created {
		tc := w.touched[msg]
		tr := Stitch(tc.recs, net, now)
		if err := w.msgs.add(msg, tc.messageID, tc.sender, tc.subject, tc.first, tc.last, stateCode(tr.State), tr.Complete); err != nil {
			return err
		}
	}
	return w.msgs.flush()
}
