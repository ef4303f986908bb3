package tracking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// Options tune the SQLite store's writer; zero values take the defaults.
type Options struct {
	MaxTx     int   // records per transaction at most (whole batches are never split)
	MaxQueued int   // records waiting for the writer; beyond: ErrBusy (429)
	MaxBatch  int   // records one batch may carry (413 beyond)
	MaxBytes  int64 // request bytes in flight across batches (Reserve); beyond: 429
}

// Defaults of Options.
const (
	DefaultMaxBatch = 10_000
	DefaultMaxBytes = 32 << 20
)

func (o *Options) defaults() {
	if o.MaxTx <= 0 {
		o.MaxTx = 10_000
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = 100_000
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	o.MaxBatch = min(o.MaxBatch, o.MaxQueued)
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
}

// ErrBusy refuses a batch while the writer's queue is full.
var ErrBusy = mailnet.Errorf(mailnet.KindTooMany, "", "the tracking queue is full; retry after a second")

// ErrBytesBusy refuses a body while the bytes in flight are at their bound.
var ErrBytesBusy = mailnet.Errorf(mailnet.KindTooMany, "", "the console is reading as many tracking batches as it holds; retry after a second")

// ErrClosed refuses batches after Close.
var ErrClosed = mailnet.Errorf(mailnet.KindTooMany, "", "the console is shutting down; retry later")

type batch struct {
	recs []Record
	done chan struct{}
	err  error
}

// SQLite is the default Store: tables in the console's own database,
// written through its one writer connection by a goroutine that commits
// whatever batches are queued in one transaction.
type SQLite struct {
	st  *store.Store
	opt Options

	bytesHeld atomic.Int64

	mu     sync.Mutex
	queue  []*batch
	queued int
	closed bool
	wake   chan struct{}
	exited chan struct{}

	names map[string]nameRow // lower-case name -> row; writer goroutine only
	// ids caches message ids to messages for the writer (a message's
	// records mostly arrive close together); cleared when it grows past
	// maxCachedIDs, on a rollback, and after a prune (pruned bumps).
	ids      map[string]int64
	idsGen   int64
	pruneGen atomic.Int64

	invMu sync.Mutex
	inv   *netView
	invAt time.Time

	evidence evidenceCache // the checks' evidence for traces (checks.go)

	stored, txs, refused atomic.Int64
}

type nameRow struct {
	id    int64
	sends bool
}

// NewSQLite starts the store's writer over st.
func NewSQLite(st *store.Store, opt Options) *SQLite {
	opt.defaults()
	s := &SQLite{st: st, opt: opt, wake: make(chan struct{}, 1), exited: make(chan struct{})}
	go s.run()
	return s
}

// MaxBatch is the most records one batch may carry.
func (s *SQLite) MaxBatch() int { return s.opt.MaxBatch }

// Stats are the writer's counters.
type Stats struct {
	Queued, Stored, Transactions, Refused int64
}

// Stats reports the writer's counters.
func (s *SQLite) Stats() Stats {
	s.mu.Lock()
	q := s.queued
	s.mu.Unlock()
	return Stats{Queued: int64(q), Stored: s.stored.Load(), Transactions: s.txs.Load(), Refused: s.refused.Load()}
}

// Reservation holds request bytes until Release.
type Reservation struct {
	s    *SQLite
	n    int64
	once sync.Once
}

// Release returns the bytes.
func (r *Reservation) Release() {
	if r != nil {
		r.once.Do(func() { r.s.bytesHeld.Add(-r.n) })
	}
}

// Reserve holds n request bytes against MaxBytes, or refuses with 429.
func (s *SQLite) Reserve(n int64) (*Reservation, error) {
	if s.bytesHeld.Add(n) > s.opt.MaxBytes && n < s.opt.MaxBytes {
		s.bytesHeld.Add(-n)
		s.refused.Add(1)
		return nil, ErrBytesBusy
	}
	return &Reservation{s: s, n: n}, nil
}

// Submit queues recs and waits for the transaction that stores them.
func (s *SQLite) Submit(ctx context.Context, recs []Record) (int, error) {
	if len(recs) == 0 {
		return 0, nil
	}
	if len(recs) > s.opt.MaxBatch {
		return 0, mailnet.Errorf(mailnet.KindTooLarge, "body", "a batch may carry at most %d records; split it", s.opt.MaxBatch)
	}
	b := &batch{recs: recs, done: make(chan struct{})}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return 0, ErrClosed
	case s.queued+len(recs) > s.opt.MaxQueued:
		s.mu.Unlock()
		s.refused.Add(1)
		return 0, ErrBusy
	}
	s.queue = append(s.queue, b)
	s.queued += len(recs)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	select {
	case <-b.done:
		return len(recs), b.err
	case <-ctx.Done():
		// The batch may still commit; the agent's retry is idempotent
		// only in effect (a repeated record is a repeated hop).
		return 0, ctx.Err()
	}
}

// Close stops the writer after the queued batches are stored.
func (s *SQLite) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.wake)
	}
	s.mu.Unlock()
	<-s.exited
	return nil
}

func (s *SQLite) run() {
	defer close(s.exited)
	for {
		_, ok := <-s.wake
		for {
			s.mu.Lock()
			var take []*batch
			n := 0
			for len(s.queue) > 0 && (n == 0 || n+len(s.queue[0].recs) <= s.opt.MaxTx) {
				n += len(s.queue[0].recs)
				take = append(take, s.queue[0])
				s.queue = s.queue[1:]
			}
			s.mu.Unlock()
			if len(take) == 0 {
				break
			}
			err := s.commit(take)
			s.mu.Lock()
			s.queued -= n
			s.mu.Unlock()
			for _, b := range take {
				b.err = err
				close(b.done)
			}
		}
		if !ok {
			return
		}
	}
}

func (s *SQLite) commit(bs []*batch) error {
	ctx := context.Background()
	if s.names == nil {
		if err := s.loadNames(ctx); err != nil {
			return err
		}
	}
	n := 0
	err := s.st.Write(ctx, func(tx *store.Tx) error {
		// Checked under the writer connection, which a prune holds too.
		if g := s.pruneGen.Load(); s.ids == nil || g != s.idsGen || len(s.ids) > maxCachedIDs {
			s.ids, s.idsGen = make(map[string]int64, 1024), g
		}
		w, err := newTxWriter(ctx, tx, s)
		if err != nil {
			return err
		}
		defer w.close()
		for _, b := range bs {
			for i := range b.recs {
				if err := w.add(&b.recs[i]); err != nil {
					return err
				}
				n++
			}
		}
		return w.restate()
	})
	if err != nil {
		s.names, s.ids = nil, nil // the rolled-back ids are not to be trusted
		return fmt.Errorf("store tracking: %w", err)
	}
	s.stored.Add(int64(n))
	s.txs.Add(1)
	s.invMu.Lock()
	s.inv = nil // a server may have started sending tracking
	s.invMu.Unlock()
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

// maxCachedIDs bounds the writer's id cache.
const maxCachedIDs = 500_000

// txWriter holds one transaction's prepared statements and what it has
// done to each message, applied once per message at the end.
type txWriter struct {
	ctx     context.Context
	tx      *store.Tx
	s       *SQLite
	touched map[int64]*touch
	rcpts   map[rcptKey]bool
	stmts   []*sql.Stmt

	lookupID, insertMsg, insertRec, insertID, insertRcpt, updateMsg, selectRecs *sql.Stmt
}

type rcptKey struct {
	msg  int64
	addr string
}

// touch is one message's changes in this transaction.
type touch struct {
	first, last     int64
	sender, subject string
	created         bool     // the message was created in this transaction
	recs            []Record // its records of this transaction
}

func newTxWriter(ctx context.Context, tx *store.Tx, s *SQLite) (*txWriter, error) {
	w := &txWriter{ctx: ctx, tx: tx, s: s, touched: map[int64]*touch{}, rcpts: map[rcptKey]bool{}}
	for _, p := range []struct {
		dst *(*sql.Stmt)
		q   string
	}{
		{&w.lookupID, `SELECT msg FROM tracking_ids WHERE ident = ?`},
		{&w.insertMsg, `INSERT INTO tracking_messages (message_id, sender, subject, first_seen, last_seen) VALUES (?, ?, ?, ?, ?) RETURNING id`},
		{&w.insertRec, `INSERT INTO tracking_records (msg, t, server, event, partner, size, remote_id) VALUES (?, ?, ?, ?, ?, ?, ?)`},
		{&w.insertID, `INSERT OR IGNORE INTO tracking_ids (ident, msg) VALUES (?, ?)`},
		{&w.insertRcpt, `INSERT OR IGNORE INTO tracking_recipients (addr, msg) VALUES (?, ?)`},
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
	return w, nil
}

func (w *txWriter) close() {
	for _, st := range w.stmts {
		st.Close()
	}
}

func (w *txWriter) name(name string, sends bool) (int64, error) {
	k := strings.ToLower(name)
	if r, ok := w.s.names[k]; ok {
		if sends && !r.sends {
			if _, err := w.tx.ExecContext(w.ctx, `UPDATE tracking_names SET sends = 1 WHERE id = ?`, r.id); err != nil {
				return 0, err
			}
			r.sends = true
			w.s.names[k] = r
		}
		return r.id, nil
	}
	var id int64
	if err := w.tx.QueryRowContext(w.ctx, `INSERT INTO tracking_names (name, sends) VALUES (?, ?) RETURNING id`, name, sends).Scan(&id); err != nil {
		return 0, fmt.Errorf("intern %q: %w", name, err)
	}
	w.s.names[k] = nameRow{id: id, sends: sends}
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
	if _, err := w.insertRec.ExecContext(w.ctx, msg, t, sid, code, pid, r.Size, remote); err != nil {
		return fmt.Errorf("insert record: %w", err)
	}
	for _, a := range r.Recipients {
		k := rcptKey{msg, strings.ToLower(a)}
		if w.rcpts[k] {
			continue
		}
		w.rcpts[k] = true
		if _, err := w.insertRcpt.ExecContext(w.ctx, a, msg); err != nil {
			return fmt.Errorf("insert recipient: %w", err)
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
// remote id, creating it, or merging two messages the record links.
func (w *txWriter) resolve(r *Record) (int64, error) {
	ids := []string{r.MessageID}
	if r.RemoteID != "" && r.RemoteID != r.MessageID {
		ids = append(ids, r.RemoteID)
	}
	var found []int64
	cached := 0
	for _, id := range ids {
		if m, ok := w.s.ids[id]; ok {
			found = append(found, m)
			cached++
			continue
		}
		var m int64
		err := w.lookupID.QueryRowContext(w.ctx, id).Scan(&m)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return 0, fmt.Errorf("look up %q: %w", id, err)
		default:
			found = append(found, m)
		}
	}
	var msg int64
	switch {
	case len(found) == 0:
		t := r.Time.UnixMilli()
		if err := w.insertMsg.QueryRowContext(w.ctx, r.MessageID, r.Sender, r.Subject, t, t).Scan(&msg); err != nil {
			return 0, fmt.Errorf("insert message: %w", err)
		}
		w.touch(msg).created = true
	case len(found) == 2 && found[0] != found[1]:
		msg = min(found[0], found[1])
		if err := w.merge(msg, max(found[0], found[1])); err != nil {
			return 0, err
		}
	default:
		msg = found[0]
		if len(found) == len(ids) && cached == len(ids) {
			return msg, nil // every id is known, and known to be msg's
		}
	}
	for _, id := range ids {
		if _, err := w.insertID.ExecContext(w.ctx, id, msg); err != nil {
			return 0, fmt.Errorf("insert id: %w", err)
		}
		if m, ok := w.s.ids[id]; !ok || m == msg {
			w.s.ids[id] = msg
		}
	}
	return msg, nil
}

// merge folds message from into into: one message seen under two ids
// before a record linked them.
func (w *txWriter) merge(into, from int64) error {
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
		into.created = false // its older records are in the table
		delete(w.touched, from)
	}
	w.touch(into).created = false
	for k := range w.rcpts {
		if k.msg == from {
			delete(w.rcpts, k)
		}
	}
	return nil
}

// restate stores the state of every message the transaction touched.
func (w *txWriter) restate() error {
	net, err := w.s.network(w.ctx, w.tx)
	if err != nil {
		return err
	}
	now := w.s.st.Now()
	for msg, tc := range w.touched {
		recs := tc.recs
		if !tc.created {
			var err error
			if recs, err = scanRecords(w.selectRecs.QueryContext(w.ctx, msg)); err != nil {
				return err
			}
		}
		tr := Stitch(recs, net, now)
		if _, err := w.updateMsg.ExecContext(w.ctx, msg, tc.sender, tc.subject, tc.first, tc.last, stateCode(tr.State), tr.Complete); err != nil {
			return fmt.Errorf("update message: %w", err)
		}
	}
	return nil
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

const recordsSQL = `SELECT r.t, s.name, r.event, coalesce(p.name, ''), r.size, coalesce(r.remote_id, '')
		FROM tracking_records r JOIN tracking_names s ON s.id = r.server LEFT JOIN tracking_names p ON p.id = r.partner
		WHERE r.msg = ? ORDER BY r.t, r.id`

func records(ctx context.Context, db querier, msg int64) ([]Record, error) {
	return scanRecords(db.QueryContext(ctx, recordsSQL, msg))
}

func scanRecords(rows *sql.Rows, err error) ([]Record, error) {
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		var t int64
		var code int
		if err := rows.Scan(&t, &r.Server, &code, &r.Partner, &r.Size, &r.RemoteID); err != nil {
			return nil, err
		}
		r.Time = time.UnixMilli(t).UTC()
		r.Event = eventOf(code)
		out = append(out, r)
	}
	return out, rows.Err()
}

// netView is the Network from the inventory and the tracking senders.
type netView struct{ inv, sends map[string]bool }

func (n *netView) InInventory(s string) bool   { return n.inv[strings.ToLower(s)] }
func (n *netView) SendsTracking(s string) bool { return n.sends[strings.ToLower(s)] }

// network reads the inventory's server names and the tracking senders,
// cached for a few seconds (and dropped after each commit).
func (s *SQLite) network(ctx context.Context, db querier) (*netView, error) {
	s.invMu.Lock()
	defer s.invMu.Unlock()
	if s.inv != nil && time.Since(s.invAt) < 5*time.Second {
		return s.inv, nil
	}
	nv := &netView{inv: map[string]bool{}, sends: map[string]bool{}}
	for _, q := range []struct {
		sql string
		dst map[string]bool
	}{
		{`SELECT name FROM servers WHERE status != 'decommissioned'`, nv.inv},
		{`SELECT name FROM tracking_names WHERE sends = 1`, nv.sends},
	} {
		rows, err := db.QueryContext(ctx, q.sql)
		if err != nil {
			return nil, fmt.Errorf("tracking network: %w", err)
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return nil, err
			}
			q.dst[strings.ToLower(n)] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	s.inv, s.invAt = nv, time.Now()
	return nv, nil
}
