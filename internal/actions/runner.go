package actions

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"mailnet/internal/failpoint"
	"mailnet/internal/live"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// RunnerOptions tune the job runner.
type RunnerOptions struct {
	Workers int // jobs run at once; default 2
	// Batch is the message rows per write transaction (default 5000): a
	// copy or release batch of a large mailbox, and the size of a group of
	// small mailboxes moved whole in one transaction.
	Batch int
	// Poll is how often to look for queued jobs (default 250ms); StartMove
	// also wakes the runner at once, so the poll is only a fallback (jobs
	// queued by another process, retries after a backoff).
	Poll time.Duration
	// Pause is slept after each write transaction so that other writers
	// (ingest, inventory) get the one writer connection; 0 only yields.
	Pause time.Duration
	// OnBatch, if set, is called after each committed copy batch (tests).
	OnBatch func(jobID int64)
}

// Runner runs move jobs. Jobs are rows: every state change commits before
// the work it starts, so a runner started after a crash picks up queued
// and interrupted jobs where the database says they are. Items of a job
// run in order, small ones grouped so that one transaction carries about
// Batch rows whatever the mailbox sizes.
type Runner struct {
	a    *Actions
	opt  RunnerOptions
	stop chan struct{}
	wake chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	mu      sync.Mutex
	active  map[int64]bool
	backoff map[int64]time.Time
	lastPub map[int64]time.Time
}

var errStopped = errors.New("job runner stopping")

// NewRunner returns a runner over a's store; Start starts it.
func (a *Actions) NewRunner(opt RunnerOptions) *Runner {
	if opt.Workers <= 0 {
		opt.Workers = 2
	}
	if opt.Batch <= 0 {
		opt.Batch = 5000
	}
	if opt.Poll <= 0 {
		opt.Poll = 250 * time.Millisecond
	}
	return &Runner{a: a, opt: opt, stop: make(chan struct{}), wake: make(chan struct{}, 1),
		active: map[int64]bool{}, backoff: map[int64]time.Time{}, lastPub: map[int64]time.Time{}}
}

// Start picks up every queued or interrupted job now, then new ones as
// they are queued, until Stop.
func (r *Runner) Start() {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(r.opt.Poll)
		defer t.Stop()
		for {
			r.schedule()
			select {
			case <-r.stop:
				return
			case <-t.C:
			case <-r.wake:
			case <-r.a.posted: // nil when Actions was not built by New: the poll does
			}
		}
	}()
}

// Wake makes the runner look for queued jobs now.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Stop stops the runner after the transactions in flight; jobs left
// running resume at the next start.
func (r *Runner) Stop() {
	r.once.Do(func() { close(r.stop) })
	r.wg.Wait()
}

func (r *Runner) stopping() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

func (r *Runner) schedule() {
	ctx := context.Background()
	ids, err := r.a.Store.UnfinishedJobs(ctx)
	if err != nil {
		r.a.Log.Error("job runner: list jobs", "err", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	for _, id := range ids {
		if r.stopping() || len(r.active) >= r.opt.Workers {
			return
		}
		if r.active[id] || now.Before(r.backoff[id]) {
			continue
		}
		r.active[id] = true
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			err := r.RunJob(ctx, id)
			r.mu.Lock()
			delete(r.active, id)
			if err != nil && !errors.Is(err, errStopped) {
				r.backoff[id] = time.Now().Add(5 * time.Second)
			}
			r.mu.Unlock()
			if err != nil && !errors.Is(err, errStopped) {
				r.a.Log.Error("job failed to run; will retry", "job", id, "err", err)
			}
			r.Wake()
		}()
	}
}

// RunJob runs job id to its end (or until Stop), resuming from the state
// its rows record.
func (r *Runner) RunJob(ctx context.Context, id int64) error {
	ctx = context.WithoutCancel(ctx) // a cancelled query can poison a pooled connection
	j, err := r.a.Store.JobSummary(ctx, id)
	if err != nil || j.Finished() {
		return err
	}
	ctx = mailnet.WithPrincipal(ctx, &mailnet.Principal{Name: fmt.Sprintf("job:%d for %s", id, j.Actor), Role: mailnet.RoleAdmin})
	if j.Status == mailnet.JobQueued {
		err := r.a.Store.Write(ctx, func(tx *store.Tx) error {
			cur, err := tx.Job(ctx, id)
			if err != nil || cur.Status != mailnet.JobQueued {
				return err
			}
			return tx.SetJobStatus(ctx, id, mailnet.JobRunning, "")
		})
		if err != nil {
			return err
		}
		r.progress(ctx, id, true)
	}
	failpoint.Hit("job.after-claim")
	full, err := r.a.Store.Job(ctx, id)
	if err != nil {
		return err
	}
	if full.Finished() {
		return nil
	}
	for _, g := range groupItems(full.Items, r.opt.Batch) {
		if r.stopping() {
			return errStopped
		}
		run := r.runGroup
		if r.small(g) {
			run = r.runSmallGroup
		}
		if err := run(ctx, id, g); err != nil {
			return err
		}
	}
	return r.finish(ctx, id)
}

// groupItems splits the active items into groups of about batch messages;
// an item bigger than batch is a group of its own.
func groupItems(items []store.MoveItem, batch int) [][]*store.MoveItem {
	var out [][]*store.MoveItem
	var cur []*store.MoveItem
	var size int64
	for i := range items {
		it := &items[i]
		if !it.Active() {
			continue
		}
		w := max(it.Total, 1)
		if len(cur) > 0 && size+w > int64(batch) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, it)
		size += w
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// serversOf returns the servers that the items of g move between.
func serversOf(g []*store.MoveItem) []int64 {
	var ids []int64
	for _, it := range g {
		ids = append(ids, it.FromServerID, it.ToServerID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

func inState(g []*store.MoveItem, states ...string) []*store.MoveItem {
	var out []*store.MoveItem
	for _, it := range g {
		for _, s := range states {
			if it.State == s {
				out = append(out, it)
				break
			}
		}
	}
	return out
}

// yield lets other writers have the writer connection between batches.
func (r *Runner) yield() {
	if r.opt.Pause > 0 {
		time.Sleep(r.opt.Pause)
		return
	}
	runtime.Gosched()
}

// runGroup takes a group of items through the move's states: queued ->
// copying -> verified -> switched -> done, or back to the source
// (cancelled, failed) before the switch.
func (r *Runner) runGroup(ctx context.Context, jobID int64, g []*store.MoveItem) error {
	st := r.a.Store
	cancelled := false

	// Start: count what each user has on the source now.
	if queued := inState(g, store.ItemQueued); len(queued) > 0 {
		var c bool
		var refused map[int64]bool
		err := st.Write(ctx, func(tx *store.Tx) error {
			refused = map[int64]bool{}
			var err error
			if c, err = tx.CancelRequested(ctx, jobID); err != nil {
				return err
			}
			for _, it := range queued {
				if c {
					if err := tx.SetItemState(ctx, it.ID, store.ItemCancelled, "cancelled before it started"); err != nil {
						return err
					}
					continue
				}
				if k, err := tx.CountOnTarget(ctx, it); err != nil {
					return err
				} else if k > 0 {
					// Until the switch, the user's rows on the target must be
					// this move's copies and nothing else.
					msg := fmt.Sprintf("the target already holds %d messages of the user; nothing was copied", k)
					if err := tx.SetItemState(ctx, it.ID, store.ItemFailed, msg); err != nil {
						return err
					}
					refused[it.ID] = true
					continue
				}
				n, err := tx.CountSource(ctx, it)
				if err != nil {
					return err
				}
				if err := tx.AddJobTotal(ctx, jobID, n-it.Total); err != nil {
					return err
				}
				if err := tx.SetItemTotal(ctx, it.ID, n); err != nil {
					return err
				}
				it.Total = n
				if err := tx.SetItemState(ctx, it.ID, store.ItemCopying, ""); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, it := range queued {
			switch {
			case c:
				it.State = store.ItemCancelled
			case refused[it.ID]:
				it.State = store.ItemFailed
			default:
				it.State = store.ItemCopying
			}
		}
		failpoint.Hit("move.after-start")
		r.progress(ctx, jobID, false)
	}

	// Copy, in batches of about opt.Batch rows across the group.
	cursors := map[int64]int64{}
	for _, it := range inState(g, store.ItemCopying, store.ItemVerified) {
		c, err := st.CopyCursor(ctx, it)
		if err != nil {
			return err
		}
		cursors[it.ID] = c
	}
	pending := inState(g, store.ItemCopying)
	servers := serversOf(g)
	// Each committed batch is verified on a reader connection while the
	// writer copies the next (see store.VerifyRange). An item copied from
	// cursor 0 in this run with every range passing skips the full
	// verify below; any other (resumed, or a range failed) gets it.
	checked := newRangeChecker(ctx, st)
	defer checked.wait()
	for _, it := range pending {
		if cursors[it.ID] != 0 {
			checked.skip(it.ID)
		}
	}
	for len(pending) > 0 && !cancelled {
		if r.stopping() {
			return errStopped
		}
		var complete map[int64]bool
		var batches map[int64]store.Batch
		before := map[int64]int64{}
		for _, it := range pending {
			before[it.ID] = cursors[it.ID]
		}
		err := st.WriteMove(ctx, servers, func(tx *store.Tx) error {
			complete, batches = map[int64]bool{}, map[int64]store.Batch{}
			for id, c := range before {
				cursors[id] = c // a retried transaction starts over
			}
			c, err := tx.CancelRequested(ctx, jobID)
			if err != nil || c {
				cancelled = c
				return err
			}
			budget := r.opt.Batch
			for _, it := range pending {
				if budget <= 0 {
					break
				}
				b, err := tx.CopyBatch(ctx, it, cursors[it.ID], budget)
				if err != nil {
					return err
				}
				cursors[it.ID] = b.Next
				batches[it.ID] = b
				budget -= int(b.Covered)
				if !b.More {
					complete[it.ID] = true
				}
			}
			failpoint.Hit("move.in-batch")
			return nil
		})
		if err != nil {
			return err
		}
		failpoint.Hit("move.after-batch")
		var left []*store.MoveItem
		for _, it := range pending {
			if !complete[it.ID] {
				left = append(left, it)
			}
		}
		r.progress(ctx, jobID, false)
		if r.opt.OnBatch != nil {
			r.opt.OnBatch(jobID)
		}
		for _, it := range pending {
			if b, ok := batches[it.ID]; ok && b.Next > before[it.ID] {
				checked.check(*it, before[it.ID], b)
			}
		}
		pending = left
		r.yield()
	}
	if cancelled {
		return r.rollbackAll(ctx, jobID, g, store.ItemCancelled, "cancelled before the switch; the user stays on the source with every message")
	}

	// Verify what was copied: count and digest, source against copies.
	passed := checked.wait()
	var verified []*store.MoveItem
	for _, it := range inState(g, store.ItemCopying) {
		if passed[it.ID] {
			verified = append(verified, it)
			continue
		}
		if err := st.VerifyCopies(ctx, it, cursors[it.ID]); err != nil {
			if !errors.Is(err, store.ErrVerify) {
				return err
			}
			if err := r.rollback(ctx, it, store.ItemFailed, "verify failed: "+err.Error()); err != nil {
				return err
			}
			continue
		}
		verified = append(verified, it)
	}
	if len(verified) > 0 {
		err := st.Write(ctx, func(tx *store.Tx) error {
			for _, it := range verified {
				if err := tx.SetItemState(ctx, it.ID, store.ItemVerified, ""); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, it := range verified {
			it.State = store.ItemVerified
		}
		failpoint.Hit("move.after-verify")
	}

	// Switch: one transaction for the group, each user guarded by the
	// expected source and rolled back alone (savepoint) if it fails.
	if toSwitch := inState(g, store.ItemVerified); len(toSwitch) > 0 {
		if r.stopping() {
			return errStopped
		}
		var failed map[int64]error
		err := st.Write(ctx, func(tx *store.Tx) error {
			failed = map[int64]error{}
			c, err := tx.CancelRequested(ctx, jobID)
			if err != nil || c {
				cancelled = c
				return err
			}
			for _, it := range toSwitch {
				if _, err := tx.ExecContext(ctx, `SAVEPOINT switch_user`); err != nil {
					return err
				}
				addr, err := tx.SwitchUser(ctx, it, cursors[it.ID])
				if errors.Is(err, store.ErrVerify) || errors.Is(err, store.ErrSwitchGuard) {
					failed[it.ID] = err
					if _, err := tx.ExecContext(ctx, `ROLLBACK TO switch_user`); err != nil {
						return err
					}
					if _, err := tx.ExecContext(ctx, `RELEASE switch_user`); err != nil {
						return err
					}
					continue
				}
				if err != nil {
					return err
				}
				if err := tx.Audit(ctx, "user.move", "user", it.UserID,
					map[string]any{"server_id": it.FromServerID},
					map[string]any{"server_id": it.ToServerID, "forward": addr},
					fmt.Sprintf("%s switched to server %d by job %d; %s forwards", it.Alias, it.ToServerID, jobID, addr)); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `RELEASE switch_user`); err != nil {
					return err
				}
			}
			failpoint.Hit("move.in-switch")
			return nil
		})
		if err != nil {
			return err
		}
		if cancelled {
			return r.rollbackAll(ctx, jobID, g, store.ItemCancelled, "cancelled before the switch; the user stays on the source with every message")
		}
		failpoint.Hit("move.after-switch")
		servers := map[int64]bool{}
		for _, it := range toSwitch {
			if err, bad := failed[it.ID]; bad {
				if err := r.rollback(ctx, it, store.ItemFailed, "switch refused: "+err.Error()); err != nil {
					return err
				}
				continue
			}
			it.State = store.ItemSwitched
			servers[it.FromServerID], servers[it.ToServerID] = true, true
		}
		for id := range servers {
			r.a.Live.Publish(live.Frame{Type: live.TypeInventory, Data: live.Inventory{Object: "server", ID: id, Action: "updated"}})
		}
	}

	// Release the old copies, now that the new home is authoritative.
	for _, it := range inState(g, store.ItemSwitched) {
		if err := r.release(ctx, jobID, it); err != nil {
			return err
		}
	}
	return nil
}

// release deletes a switched item's messages on the old home in batches
// (store.ReleaseBatch), then marks it done.
func (r *Runner) release(ctx context.Context, jobID int64, it *store.MoveItem) error {
	for {
		if r.stopping() {
			return errStopped
		}
		empty, err := r.a.Store.ReleaseBatch(ctx, it, r.opt.Batch)
		if err != nil {
			return err
		}
		failpoint.Hit("move.after-release-batch")
		r.progress(ctx, jobID, false)
		if empty {
			it.State = store.ItemDone
			return nil
		}
		r.yield()
	}
}

// rollbackAll rolls back every item of g not yet switched.
func (r *Runner) rollbackAll(ctx context.Context, jobID int64, g []*store.MoveItem, state, msg string) error {
	for _, it := range inState(g, store.ItemQueued, store.ItemCopying, store.ItemVerified) {
		if err := r.rollback(ctx, it, state, msg); err != nil {
			return err
		}
	}
	return nil
}

// rollback deletes the item's copies on the target in batches and then
// ends it in state: the user never left the source. The item stays active
// until its last copy is gone, so no other move can start for the user and
// find half of them.
func (r *Runner) rollback(ctx context.Context, it *store.MoveItem, state, msg string) error {
	for {
		var finished bool
		err := r.a.Store.Write(ctx, func(tx *store.Tx) error {
			n, err := tx.DropCopiesBatch(ctx, it, r.opt.Batch)
			if err != nil {
				return err
			}
			if n < int64(r.opt.Batch) {
				finished = true
				return tx.SetItemState(ctx, it.ID, state, msg)
			}
			return nil
		})
		if err != nil {
			return err
		}
		failpoint.Hit("move.after-drop-batch")
		r.progress(ctx, it.JobID, false)
		if finished {
			it.State = state
			return nil
		}
		r.yield()
	}
}

// finish ends the job once every item has ended: cancelled if a cancel was
// asked, failed if any user failed, done otherwise; audited.
func (r *Runner) finish(ctx context.Context, id int64) error {
	err := r.a.Store.Write(ctx, func(tx *store.Tx) error {
		j, err := tx.Job(ctx, id)
		if err != nil || j.Finished() {
			return err
		}
		items, err := tx.MoveItems(ctx, id)
		if err != nil {
			return err
		}
		var moved, failed, cancelled int
		var errs []string
		for _, it := range items {
			switch it.State {
			case store.ItemDone:
				moved++
			case store.ItemFailed:
				failed++
				if len(errs) < 5 {
					errs = append(errs, it.Alias+": "+it.Error)
				}
			case store.ItemCancelled:
				cancelled++
			default:
				return fmt.Errorf("job %d: item %d is still %s", id, it.ID, it.State)
			}
		}
		status, action, errText := mailnet.JobDone, "move.complete", ""
		switch {
		case j.CancelRequested:
			status, action = mailnet.JobCancelled, "move.cancelled"
		case failed > 0:
			status, action = mailnet.JobFailed, "move.fail"
			errText = fmt.Sprintf("%d of %d users failed: %s", failed, len(items), strings.Join(errs, "; "))
		}
		if err := tx.SetJobStatus(ctx, id, status, errText); err != nil {
			return err
		}
		after := map[string]any{"status": status, "moved": moved, "failed": failed, "cancelled": cancelled, "messages": j.Done}
		return tx.Audit(ctx, action, "job", id, map[string]any{"status": j.Status}, after,
			fmt.Sprintf("%d users moved, %d failed, %d cancelled", moved, failed, cancelled))
	})
	if err != nil {
		return err
	}
	r.progress(ctx, id, true)
	r.mu.Lock()
	delete(r.lastPub, id)
	r.mu.Unlock()
	return nil
}

// progress publishes the job's state, at most four times a second per job
// unless forced (a status change).
func (r *Runner) progress(ctx context.Context, id int64, force bool) {
	r.mu.Lock()
	now := time.Now()
	if !force && now.Sub(r.lastPub[id]) < 250*time.Millisecond {
		r.mu.Unlock()
		return
	}
	r.lastPub[id] = now
	r.mu.Unlock()
	j, err := r.a.Store.JobSummary(ctx, id)
	if err != nil {
		r.a.Log.Warn("job progress", "job", id, "err", err)
		return
	}
	r.a.Live.Publish(live.Frame{Type: live.TypeJob, Data: j})
}

// small reports whether group g is moved whole in one transaction: every
// item still queued and the group within one batch (groupItems puts an
// item larger than a batch in a group of its own).
func (r *Runner) small(g []*store.MoveItem) bool {
	var size int64
	for _, it := range g {
		if it.State != store.ItemQueued {
			return false
		}
		size += it.Total
	}
	return size <= int64(r.opt.Batch)
}

// runSmallGroup moves a group of small mailboxes in one transaction: the
// whole group set-based when it qualifies (store.MoveGroup: one statement
// per step, audit rows in one insert), otherwise for each user, inside a
// savepoint, copy, verify, switch, release (see store.MoveWhole); a user
// whose verify or switch guard fails is rolled back alone and fails. The transaction is the unit of crash safety: after
// a crash every item of the group is still queued, with nothing copied.
func (r *Runner) runSmallGroup(ctx context.Context, jobID int64, g []*store.MoveItem) error {
	var cancelled bool
	servers := map[int64]bool{}
	err := r.a.Store.WriteMove(ctx, serversOf(g), func(tx *store.Tx) error {
		clear(servers)
		c, err := tx.CancelRequested(ctx, jobID)
		if err != nil {
			return err
		}
		if cancelled = c; c {
			for _, it := range g {
				if err := tx.SetItemState(ctx, it.ID, store.ItemCancelled, "cancelled before it started"); err != nil {
					return err
				}
			}
			return nil
		}
		type delta struct{ users, messages int64 }
		counts := map[int64]*delta{}
		add := func(id, users, messages int64) {
			if counts[id] == nil {
				counts[id] = &delta{}
			}
			counts[id].users += users
			counts[id].messages += messages
		}
		var done, grow int64
		// Set-based first: one statement per step for the whole group. If
		// the group does not qualify (a user elsewhere, rows already on
		// the target, copies that differ) nothing changed, and the users
		// move one by one below so that only those at fault fail.
		totals := make([]int64, len(g))
		for i, it := range g {
			totals[i] = it.Total
		}
		moves, ok, err := tx.MoveGroup(ctx, g)
		if err != nil {
			return err
		}
		if ok {
			audits := make([]store.AuditRow, 0, len(moves))
			for i, m := range moves {
				it := m.Item
				done += m.N
				grow += it.Total - totals[i]
				add(it.FromServerID, -1, -m.N)
				add(it.ToServerID, 1, m.N)
				audits = append(audits, store.AuditRow{Action: "user.move", ObjectType: "user", ObjectID: it.UserID,
					Before: map[string]any{"server_id": it.FromServerID},
					After:  map[string]any{"server_id": it.ToServerID, "forward": m.Address},
					Detail: fmt.Sprintf("%s moved to server %d by job %d with %d messages; %s forwards", it.Alias, it.ToServerID, jobID, m.N, m.Address)})
			}
			if err := tx.AuditMany(ctx, audits); err != nil {
				return err
			}
		}
		mover := tx.NewWholeMover()
		defer mover.Close()
		for _, it := range g {
			if ok {
				break
			}
			before := it.Total
			addr, n, err := mover.Move(ctx, it)
			if errors.Is(err, store.ErrVerify) || errors.Is(err, store.ErrSwitchGuard) {
				if err := tx.SetItemState(ctx, it.ID, store.ItemFailed, "move refused, nothing changed: "+err.Error()); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			done += n
			grow += it.Total - before
			add(it.FromServerID, -1, -n)
			add(it.ToServerID, 1, n)
			if err := tx.Audit(ctx, "user.move", "user", it.UserID,
				map[string]any{"server_id": it.FromServerID},
				map[string]any{"server_id": it.ToServerID, "forward": addr},
				fmt.Sprintf("%s moved to server %d by job %d with %d messages; %s forwards", it.Alias, it.ToServerID, jobID, n, addr)); err != nil {
				return err
			}
		}
		for id, d := range counts {
			if err := tx.AddServerCounts(ctx, id, d.users, d.messages); err != nil {
				return err
			}
			servers[id] = true
		}
		failpoint.Hit("move.in-small-group")
		return tx.AddJobDone(ctx, jobID, done, grow)
	})
	if err != nil {
		// The transaction rolled back: the items are queued again on disk.
		for _, it := range g {
			it.State = store.ItemQueued
		}
		return err
	}
	for _, it := range g {
		if cancelled {
			it.State = store.ItemCancelled
		} else if it.State == store.ItemQueued {
			it.State = store.ItemFailed
		}
	}
	for id := range servers {
		r.a.Live.Publish(live.Frame{Type: live.TypeInventory, Data: live.Inventory{Object: "server", ID: id, Action: "updated"}})
	}
	r.progress(ctx, jobID, false)
	if r.opt.OnBatch != nil {
		r.opt.OnBatch(jobID)
	}
	r.yield()
	return nil
}

// rangeChecker verifies copied ranges (store.VerifyRange) one after the
// other on a goroutine of its own, off the writer connection.
type rangeChecker struct {
	ctx    context.Context
	st     *store.Store
	ranges chan checkRange
	done   chan struct{}
	once   sync.Once
	// Written by the goroutine only; read after done is closed.
	ok     map[int64]bool
	failed map[int64]bool
	// Written by the caller only.
	skipped map[int64]bool
}

type checkRange struct {
	it    store.MoveItem
	lo    int64
	batch store.Batch
}

func newRangeChecker(ctx context.Context, st *store.Store) *rangeChecker {
	c := &rangeChecker{ctx: ctx, st: st, ranges: make(chan checkRange, 1024), done: make(chan struct{}),
		ok: map[int64]bool{}, failed: map[int64]bool{}, skipped: map[int64]bool{}}
	go func() {
		defer close(c.done)
		for r := range c.ranges {
			if c.failed[r.it.ID] {
				continue
			}
			if err := c.st.VerifyRange(c.ctx, &r.it, r.lo, r.batch); err != nil {
				// The full verify decides (and reports) what is wrong.
				c.failed[r.it.ID] = true
				delete(c.ok, r.it.ID)
				continue
			}
			c.ok[r.it.ID] = true
		}
	}()
	return c
}

// skip marks an item whose copies this checker will not see from the start.
func (c *rangeChecker) skip(id int64) { c.skipped[id] = true }

// check queues batch b of it, copied and committed, which covered its
// source ids (lo, b.Next]. Batches of one item must come in order and
// without gaps.
func (c *rangeChecker) check(it store.MoveItem, lo int64, b store.Batch) {
	if c.skipped[it.ID] {
		return
	}
	select {
	case c.ranges <- checkRange{it: it, lo: lo, batch: b}:
	default:
		// The checker is far behind: leave this item to the full verify.
		c.skipped[it.ID] = true
	}
}

// wait stops the checker and returns the items whose every range passed.
func (c *rangeChecker) wait() map[int64]bool {
	c.once.Do(func() { close(c.ranges) })
	<-c.done
	out := map[int64]bool{}
	for id := range c.ok {
		if !c.skipped[id] && !c.failed[id] {
			out[id] = true
		}
	}
	return out
}
