package ingest

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"mailnet/internal/dirsync"
	"mailnet/internal/live"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// Options tune the writer; zero values take the defaults.
type Options struct {
	// MaxTx is how many events one transaction carries at most (whole
	// batches are never split, so one large batch may exceed it).
	MaxTx int
	// MaxQueued bounds the events waiting for the writer; beyond it Submit
	// refuses with ErrBusy (429) instead of growing memory. It holds for
	// the first batch too: a batch larger than the queue is ErrTooLarge.
	MaxQueued int
	// MaxBatch is the most events one batch may carry (413 beyond it);
	// at most MaxQueued.
	MaxBatch int
	// MaxBytes bounds the request bytes in flight across every batch, from
	// the first byte read until the batch commits (Reserve); a batch that
	// does not fit is refused with ErrBusy (429) rather than waited for.
	MaxBytes int64
	// NamesTTL is how long the name cache is trusted without an inventory
	// frame; a miss reloads it when it is older than NamesMissTTL.
	NamesTTL     time.Duration
	NamesMissTTL time.Duration
}

func (o *Options) defaults() {
	if o.MaxTx <= 0 {
		o.MaxTx = 5000
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = 50000
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	o.MaxBatch = min(o.MaxBatch, o.MaxQueued)
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.NamesTTL <= 0 {
		o.NamesTTL = 30 * time.Second
	}
	if o.NamesMissTTL <= 0 {
		o.NamesMissTTL = 250 * time.Millisecond
	}
}

// Defaults of Options.
const (
	DefaultMaxBatch = 10_000
	DefaultMaxBytes = 16 << 20
)

// ErrBusy is returned when the queue is full: the agent retries later.
var ErrBusy = mailnet.Errorf(mailnet.KindTooMany, "", "the ingest queue is full; retry after a second")

// ErrBytesBusy is returned when the bytes in flight are at their bound.
var ErrBytesBusy = mailnet.Errorf(mailnet.KindTooMany, "", "the console is reading as many event batches as it holds; retry after a second")

// ErrClosed is returned after Close.
var ErrClosed = mailnet.Errorf(mailnet.KindTooMany, "", "the console is shutting down; retry later")

// batch is one Submit's events, waiting for the commit that carries them.
type batch struct {
	items []Item
	done  chan struct{}
	err   error
	res   *Reservation // released after the commit; may be nil
}

// Stats are the writer's counters.
type Stats struct {
	Queued       int64 // events waiting now
	Stored       int64 // events stored
	Duplicates   int64 // events skipped by their idempotency key
	Transactions int64
	Refused      int64 // batches refused with 429
	BytesHeld    int64 // request bytes reserved now (Reserve)
}

// Writer is the single ingest writer.
type Writer struct {
	st  *store.Store
	pub live.Publisher
	log *slog.Logger
	opt Options

	bytesHeld atomic.Int64 // reserved request bytes (Reserve)

	mu       sync.Mutex
	queue    []*batch
	queued   int
	catchups []chan struct{} // PublishCommitted callers waiting
	closed   bool
	wake     chan struct{}
	stop     chan struct{}
	exited   chan struct{}

	// published is the highest event id whose frame went out (-1:
	// unknown yet); only the writer's goroutine touches it.
	published int64

	names      store.EventNames
	namesAt    time.Time
	namesStale atomic.Bool

	stored, dups, txs, refused atomic.Int64
}

// New starts the writer over st, publishing to pub.
func New(st *store.Store, pub live.Publisher, log *slog.Logger, opt Options) *Writer {
	opt.defaults()
	if pub == nil {
		pub = live.Nop{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Writer{
		st: st, pub: pub, log: log, opt: opt,
		wake:   make(chan struct{}, 1),
		stop:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	live.SetEventSource(pub, w)
	go w.run()
	return w
}

// PublishCommitted publishes, in id order, every stored event whose frame
// has not gone out (events that actions stored in their own transactions)
// and waits until it has. The writer is the one place event frames come
// from, so clients that skip ids at or below the last they saw miss none.
func (w *Writer) PublishCommitted(ctx context.Context) error {
	done := make(chan struct{})
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.catchups = append(w.catchups, done)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	select {
	case <-done:
		return nil
	case <-w.exited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Invalidate makes the next batch reload the name cache; call it when the
// inventory changes (wire it to inventory frames).
func (w *Writer) Invalidate() { w.namesStale.Store(true) }

// Observe is a live.Publisher that invalidates the name cache on
// inventory frames.
func (w *Writer) Observe(f live.Frame) {
	if f.Type == live.TypeInventory {
		w.Invalidate()
	}
}

// MaxBatch is the most events one batch may carry.
func (w *Writer) MaxBatch() int { return w.opt.MaxBatch }

// Reservation holds request bytes against Options.MaxBytes until it is
// released, by Release or by the commit of the batch submitted with it.
type Reservation struct {
	w    *Writer
	n    int64
	once sync.Once
}

// Release gives the bytes back; it is safe to call more than once, and
// on nil.
func (r *Reservation) Release() {
	if r == nil {
		return
	}
	r.once.Do(func() { r.w.bytesHeld.Add(-r.n) })
}

// Reserve takes n bytes of the in-flight bound for one request body, or
// refuses at once with ErrBusy (429) when they do not fit: memory is
// bounded by what the console holds, never by how many agents post at
// once. A body larger than the whole bound is ErrTooLarge-kind (413).
func (w *Writer) Reserve(n int64) (*Reservation, error) {
	if n > w.opt.MaxBytes {
		return nil, mailnet.Errorf(mailnet.KindTooLarge, "body", "a batch may be at most %d bytes", w.opt.MaxBytes)
	}
	n = max(n, 1)
	for {
		held := w.bytesHeld.Load()
		if held+n > w.opt.MaxBytes {
			w.refused.Add(1)
			return nil, ErrBytesBusy
		}
		if w.bytesHeld.CompareAndSwap(held, held+n) {
			return &Reservation{w: w, n: n}, nil
		}
	}
}

// Submit queues a validated batch and waits for the transaction that
// carries it to commit. It returns how many events are accepted (stored
// now or earlier under the same idempotency key).
func (w *Writer) Submit(ctx context.Context, items []Item) (int, error) {
	return w.SubmitReserved(ctx, items, nil)
}

// SubmitReserved is Submit for a batch read under res, which it releases
// once the batch is committed or refused (even when ctx ends first: the
// queued events still hold their memory until then).
func (w *Writer) SubmitReserved(ctx context.Context, items []Item, res *Reservation) (int, error) {
	if len(items) == 0 {
		res.Release()
		return 0, nil
	}
	if len(items) > w.opt.MaxBatch {
		res.Release()
		return 0, mailnet.Errorf(mailnet.KindTooLarge, "body", "a batch may carry at most %d events, not %d", w.opt.MaxBatch, len(items))
	}
	b := &batch{items: items, done: make(chan struct{}), res: res}
	w.mu.Lock()
	switch {
	case w.closed:
		w.mu.Unlock()
		res.Release()
		return 0, ErrClosed
	case w.queued+len(items) > w.opt.MaxQueued:
		w.mu.Unlock()
		w.refused.Add(1)
		res.Release()
		return 0, ErrBusy
	}
	w.queue = append(w.queue, b)
	w.queued += len(items)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	select {
	case <-b.done:
		if b.err != nil {
			return 0, b.err
		}
		return len(items), nil
	case <-ctx.Done():
		// The batch still commits; the agent's retry finds it by key.
		return 0, ctx.Err()
	}
}

// Close stops accepting batches, commits what is queued and waits for the
// writer to exit.
func (w *Writer) Close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.exited
		return
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	<-w.exited
}

// Stats returns the writer's counters.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	q := w.queued
	w.mu.Unlock()
	return Stats{Queued: int64(q), Stored: w.stored.Load(), Duplicates: w.dups.Load(),
		Transactions: w.txs.Load(), Refused: w.refused.Load(), BytesHeld: w.bytesHeld.Load()}
}

// take removes whole batches from the queue up to MaxTx events (at least
// one batch).
func (w *Writer) take() []*batch {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, events := 0, 0
	for n < len(w.queue) && (n == 0 || events+len(w.queue[n].items) <= w.opt.MaxTx) {
		events += len(w.queue[n].items)
		n++
	}
	group := w.queue[:n:n]
	w.queue = w.queue[n:]
	if len(w.queue) == 0 {
		w.queue = nil
	}
	w.queued -= events
	return group
}

func (w *Writer) takeCatchups() []chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.catchups
	w.catchups = nil
	return c
}

func (w *Writer) run() {
	defer close(w.exited)
	w.published = -1
	if id, err := w.st.LastEventID(context.Background()); err != nil {
		w.log.Error("ingest: last event id; frames start with the next commit", "err", err)
	} else {
		w.published = id
	}
	for {
		group := w.take()
		waiting := w.takeCatchups()
		if len(group) == 0 && len(waiting) == 0 {
			select {
			case <-w.wake:
				continue
			case <-w.stop:
				if g := w.take(); len(g) > 0 {
					w.commit(g)
					continue
				}
				w.finishCatchups(w.takeCatchups())
				return
			}
		}
		if len(group) > 0 {
			w.commit(group)
		}
		w.finishCatchups(waiting)
	}
}

// finishCatchups publishes what others committed, then releases the
// callers of PublishCommitted.
func (w *Writer) finishCatchups(waiting []chan struct{}) {
	if len(waiting) == 0 {
		return
	}
	frames, err := w.missed(0, nil)
	if err != nil {
		w.log.Error("ingest: publish committed events", "err", err)
	}
	live.PublishAll(w.pub, frames)
	for _, c := range waiting {
		close(c)
	}
}

// missed appends to frames the frames of stored events after the last
// published id and below before (0: no bound), in id order, and moves the
// mark. The table's ids follow commit order, so whatever lies between is
// committed by now.
func (w *Writer) missed(before int64, frames []live.Frame) ([]live.Frame, error) {
	if w.published < 0 {
		return frames, nil
	}
	ctx := context.Background()
	reloaded := false
	for range 100_000 {
		if before > 0 && w.published >= before-1 {
			return frames, nil
		}
		evs, err := w.st.Events(ctx, store.EventQuery{AfterID: w.published, EventID: -1, Limit: 500})
		if err != nil {
			return frames, err
		}
		for _, ev := range evs {
			if before > 0 && ev.ID >= before {
				w.published = before - 1
				return frames, nil
			}
			ref, ok := w.names.Servers[store.FoldName(ev.Server)]
			if !ok && !reloaded && !ev.Unknown {
				reloaded = true
				if names, err := w.st.EventNameIndex(ctx); err == nil {
					w.names, w.namesAt = names, time.Now()
					ref, ok = w.names.Servers[store.FoldName(ev.Server)]
				}
			}
			site := int64(0)
			if ok && ref.ID == ev.ServerID {
				site = ref.SiteID
			}
			frames = append(frames, live.EventFrame(ev, site))
			w.published = ev.ID
		}
		if len(evs) < 500 {
			if before > 0 {
				w.published = max(w.published, before-1)
			}
			return frames, nil
		}
	}
	return frames, nil
}

// stored is what a committed group publishes.
type result struct {
	events     []mailnet.Event
	sites      []int64
	requestors []int64
}

// commit writes a group in one transaction; if that fails, each batch is
// retried alone so that one batch's failure is not its neighbours'.
func (w *Writer) commit(group []*batch) {
	res, err := w.write(group)
	if err != nil && len(group) > 1 {
		w.log.Warn("ingest group failed; retrying its batches one by one", "batches", len(group), "err", err)
		for _, b := range group {
			w.commit([]*batch{b})
		}
		return
	}
	if err == nil {
		// Publish before answering: an agent that hears 202 knows the
		// frames are out.
		frames := make([]live.Frame, 0, len(res.events)+len(res.requestors))
		if len(res.events) > 0 {
			// Events stored by others since the last publication go
			// first: frames leave in id order.
			first := res.events[0].ID
			if w.published >= 0 && first > w.published+1 {
				var err error
				if frames, err = w.missed(first, frames); err != nil {
					w.log.Error("ingest: publish events committed elsewhere", "err", err)
				}
			}
			w.published = res.events[len(res.events)-1].ID
		}
		for i := range res.events {
			frames = append(frames, live.EventFrame(res.events[i], res.sites[i]))
		}
		for _, id := range res.requestors {
			frames = append(frames, live.Frame{Type: live.TypeInventory, Data: live.Inventory{Object: "requestor", ID: id, Action: "updated"}})
		}
		live.PublishAll(w.pub, frames)
	} else {
		w.log.Error("ingest batch failed", "events", len(group[0].items), "err", err)
	}
	for _, b := range group {
		b.err = err
		b.res.Release()
		close(b.done)
	}
}

// lookup resolves every name of the group from the cache, reloading it
// once when it is stale or misses a name and is not fresh.
func (w *Writer) lookup(group []*batch) store.EventNames {
	ctx := context.Background()
	stale := w.namesStale.Load() || w.names.Servers == nil || time.Since(w.namesAt) > w.opt.NamesTTL
	if !stale && time.Since(w.namesAt) > w.opt.NamesMissTTL {
	scan:
		for _, b := range group {
			for i := range b.items {
				k := store.FoldName(b.items[i].Event.Server)
				if _, ok := w.names.Servers[k]; ok {
					continue
				}
				if _, ok := w.names.Requestors[k]; ok {
					continue
				}
				stale = true
				break scan
			}
		}
	}
	if stale {
		w.namesStale.Store(false)
		names, err := w.st.EventNameIndex(ctx)
		if err != nil {
			w.log.Error("ingest name cache", "err", err)
		} else {
			w.names, w.namesAt = names, time.Now()
		}
	}
	return w.names
}

func (w *Writer) write(group []*batch) (result, error) {
	ctx := context.Background()
	names := w.lookup(group)
	var res result
	var stored, dups int64
	err := w.st.Write(ctx, func(tx *store.Tx) error {
		tx.EventLogOnly() // events, servers' last event, requestors' numbers
		res = result{}
		stored, dups = 0, 0
		ins, err := tx.EventInserter(ctx)
		if err != nil {
			return err
		}
		defer ins.Close()
		type last struct {
			id int64
			at time.Time
		}
		lastBy := map[int64]last{}
		touched := map[int64]bool{}
		for _, b := range group {
			for i := range b.items {
				ev := b.items[i].Event // a copy: a retried group starts clean
				key := store.FoldName(ev.Server)
				var site, requestor int64
				if ref, ok := names.Servers[key]; ok {
					ev.Server, ev.ServerID, site = ref.Name, ref.ID, ref.SiteID
				} else if id, ok := names.Requestors[key]; ok {
					requestor = id
				} else {
					ev.Unknown = true
				}
				ok, err := ins.Insert(ctx, &ev, b.items[i].Key, b.items[i].TokenID, requestor)
				if err != nil {
					return err
				}
				if !ok {
					dups++
					continue
				}
				stored++
				res.events = append(res.events, ev)
				res.sites = append(res.sites, site)
				if ev.ServerID != 0 {
					lastBy[ev.ServerID] = last{ev.ID, ev.Time}
				}
				// Dir-sync evidence counts wherever it is logged: on the
				// postoffice's side and on the DX server's.
				if id, err := dirsync.Ingest(ctx, tx, names.Requestors, ev); err != nil {
					return err
				} else if id != 0 {
					touched[id] = true
				}
			}
		}
		for id, l := range lastBy {
			if err := tx.SetServerLastEvent(ctx, id, l.id, l.at); err != nil {
				return err
			}
		}
		for id := range touched {
			res.requestors = append(res.requestors, id)
		}
		return nil
	})
	if err != nil {
		return result{}, err
	}
	w.txs.Add(1)
	w.stored.Add(stored)
	w.dups.Add(dups)
	return res, nil
}
