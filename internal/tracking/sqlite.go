package tracking

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"mailnet/internal/store"
)

// Options tune the SQLite store's writer; zero values take the defaults.
type Options struct {
	MaxTx     int   // records per transaction at most (whole batches are never split)
	MaxQueued int   // records waiting for the writer; beyond: ErrBusy (429)
	MaxBatch  int   // records one batch may carry (413 beyond)
	MaxBytes  int64 // request bytes in flight across batches (Reserve); beyond: 429
	// X400 is the X.400 check the traces' evidence reads: the console's
	// reports.X400Cache, which reads again only what changed. Nil runs
	// reports.X400Check, which reads the whole inventory.
	X400 func(context.Context) (*reports.X400Result, error)
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

// minRecordBytes is about the least JSON a record takes: a body of n
// bytes holds at most n/minRecordBytes+1 records.
const minRecordBytes = 64

// Reserve holds n request bytes against MaxBytes, or refuses with 429.
// It also refuses (429) a body whose records may not fit in the writer's
// queue as it stands, before a byte of it is decoded: measured with 32
// posts in flight, refusing only after the decode (in Submit) spent 3.5
// times the CPU per stored record.
func (s *SQLite) Reserve(n int64) (*Reservation, error) {
	est := int(min(int64(s.opt.MaxBatch), n/minRecordBytes+1))
	s.mu.Lock()
	full := s.queued+est > s.opt.MaxQueued
	s.mu.Unlock()
	if full {
		s.refused.Add(1)
		return nil, ErrBusy
	}
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
// cached for a few seconds (and dropped after a commit in which a server
// started sending tracking). fresh reads them through db and leaves the
// cache alone: the writer's transaction sees its own new senders.
func (s *SQLite) network(ctx context.Context, db querier, fresh bool) (*netView, error) {
	s.invMu.Lock()
	defer s.invMu.Unlock()
	if !fresh && s.inv != nil && time.Since(s.invAt) < 5*time.Second {
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
	if !fresh {
		s.inv, s.invAt = nv, time.Now()
	}
	return nv, nil
}
