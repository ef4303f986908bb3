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
	// Lease is how long a job stays this runner's after its last write
	// transaction (default 30s, and at least 20 pauses): another runner on
	// the same database takes a job over only once its lease has lapsed,
	// or at once when its owner's process is gone.
	Lease time.Duration
	// OnBatch, if set, is called after each committed copy batch (tests).
	OnBatch func(jobID int64)
	// OnSchedule, if set, is called after each look for queued jobs
	// (tests wait on it instead of sleeping).
	OnSchedule func()
}

// Runner runs move jobs. Jobs are rows: every state change commits before
// the work it starts, so a runner started after a crash picks up queued
// and interrupted jobs where the database says they are. Items of a job
// run in order, small ones grouped so that one transaction carries about
// Batch rows whatever the mailbox sizes.
//
// A job has one owner at a time (see store.ClaimJob): a runner claims it
// before working it, and every write transaction it makes for the job
// first checks that it still owns it and renews the lease
// (store.HoldJob). A runner whose lease was taken over stops working the
// job, so two runners on one database never work the same job.
type Runner struct {
	a     *Actions
	opt   RunnerOptions
	owner string // this runner's id, as jobs.owner records it
	stop  chan struct{}
	wake  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once

	mu      sync.Mutex
	active  map[int64]bool
	backoff map[int64]time.Time
	lastPub map[int64]time.Time
}

var errStopped = errors.New("job runner stopping")

// ErrJobOwnedElsewhere is returned by RunJob for a job another runner
// holds the lease of.
var ErrJobOwnedElsewhere = store.ErrJobOwned

// ErrLeaseLost is returned by RunJob when another runner took the job over
// while this one worked it (its lease had lapsed): this one stopped.
var ErrLeaseLost = store.ErrLeaseLost

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
	if opt.Lease <= 0 {
		opt.Lease = 30 * time.Second
	}
	opt.Lease = max(opt.Lease, 20*opt.Pause)
	return &Runner{a: a, opt: opt, owner: newOwner(), stop: make(chan struct{}), wake: make(chan struct{}, 1),
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
			if r.opt.OnSchedule != nil {
				r.opt.OnSchedule()
			}
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

// Stop stops the runner after the transactions in flight and gives up
// the leases of the jobs it leaves running: they resume at the next start,
// or in another runner at once.
func (r *Runner) Stop() {
	r.once.Do(func() {
		close(r.stop)
		r.wg.Wait()
		if err := r.a.Store.ReleaseJobs(context.Background(), r.owner); err != nil {
			r.a.Log.Warn("job runner: release leases", "err", err)
		}
		forgetOwner(r.owner)
	})
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
			elsewhere := errors.Is(err, ErrJobOwnedElsewhere) || errors.Is(err, ErrLeaseLost)
			r.mu.Lock()
			delete(r.active, id)
			switch {
			case elsewhere:
				// Another runner has it: look again once its lease could lapse.
				r.backoff[id] = time.Now().Add(r.opt.Lease / 2)
			case err != nil && !errors.Is(err, errStopped):
				r.backoff[id] = time.Now().Add(5 * time.Second)
			}
			r.mu.Unlock()
			switch {
			case elsewhere:
				r.a.Log.Info("job is run by another runner", "job", id, "err", err)
			case err != nil && !errors.Is(err, errStopped):
				r.a.Log.Error("job failed to run; will retry", "job", id, "err", err)
			}
			r.Wake()
		}()
	}
}

// RunJob claims job id and runs it to its end (or until Stop), resuming
// from the state its rows record. A job another runner holds is
// ErrJobOwnedElsewhere; a job taken over while it ran is ErrLeaseLost.
func (r *Runner) RunJob(ctx context.Context, id int64) error {
	ctx = context.WithoutCancel(ctx) // a cancelled query can poison a pooled connection
	j, wasQueued, err := r.a.Store.ClaimJob(ctx, id, r.owner, r.opt.Lease, ownerGone)
	if err != nil || j.Finished() {
		return err
	}
	ctx = mailnet.WithPrincipal(ctx, &mailnet.Principal{Name: fmt.Sprintf("job:%d for %s", id, j.Actor), Role: mailnet.RoleAdmin})
	if wasQueued {
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

// write runs fn in one write transaction for job jobID, after checking
// that this runner still owns the job and renewing its lease
// (store.HoldJob); cancel says whether a cancel has been asked. With
// servers it is a move's transaction between them (store.WriteMove).
func (r *Runner) write(ctx context.Context, jobID int64, servers []int64, fn func(tx *store.Tx, cancel bool) error) error {
	body := func(tx *store.Tx) error {
		cancel, err := tx.HoldJob(ctx, jobID, r.owner, r.opt.Lease)
		if err != nil {
			return err
		}
		return fn(tx, cancel)
	}
	if len(servers) == 0 {
		return r.a.Store.Write(ctx, body)
	}
	return r.a.Store.WriteMove(ctx, servers, body)
}

// groupItems splits the active items into groups of about batch messages;
// an item bigger than batch is a group of its own.
func groupItems(items []mailnet.MoveItem, batch int) [][]*mailnet.MoveItem {
	var out [][]*mailnet.MoveItem
	var cur []*mailnet.MoveItem
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
func serversOf(g []*mailnet.MoveItem) []int64 {
	var ids []int64
	for _, it := range g {
		ids = append(ids, it.FromServerID, it.ToServerID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

func inState(g []*mailnet.MoveItem, states ...string) []*mailnet.MoveItem {
	var out []*mailnet.MoveItem
	for _, it := range g {
		if slices.Contains(states, it.State) {
			out = append(out, it)
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

// userMoveAudit is the audit row of one user's move by job jobID, the
// same whichever way the user moved (in batches, whole, or with a group).
func userMoveAudit(jobID int64, it *mailnet.MoveItem, address string, messages int64) store.AuditRow {
	return store.AuditRow{Action: "user.move", ObjectType: "user", ObjectID: it.UserID,
		Before: map[string]any{"server_id": it.FromServerID},
		After:  map[string]any{"server_id": it.ToServerID, "forward": address},
		Detail: fmt.Sprintf("%s moved to server %d by job %d with %d messages; %s forwards", it.Alias, it.ToServerID, jobID, messages, address)}
}

// publishServers tells live clients that the servers' counts changed.
func (r *Runner) publishServers(ids map[int64]bool) {
	for id := range ids {
		r.a.Live.Publish(live.Frame{Type: live.TypeInventory, Data: live.Inventory{Object: "server", ID: id, Action: "updated"}})
	}
}

// cancelledMessage is what a user cancelled before the switch reads.
const cancelledMessage = "cancelled before the switch; the user stays on the source with every message"

// rollbackAll rolls back every item of g not yet switched.
func (r *Runner) rollbackAll(ctx context.Context, jobID int64, g []*mailnet.MoveItem, state, msg string) error {
	for _, it := range inState(g, mailnet.ItemQueued, mailnet.ItemCopying, mailnet.ItemVerified) {
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
func (r *Runner) rollback(ctx context.Context, it *mailnet.MoveItem, state, msg string) error {
	for {
		var finished bool
		err := r.write(ctx, it.JobID, nil, func(tx *store.Tx, _ bool) error {
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
	err := r.write(ctx, id, nil, func(tx *store.Tx, _ bool) error {
		j, err := tx.Job(ctx, id)
		if err != nil || j.Finished() {
			return err
		}
		items, err := tx.MoveItems(ctx, id)
		if err != nil {
			return err
		}
		var moved, failed, cancelled, skipped int
		var errs []string
		for _, it := range items {
			switch it.State {
			case mailnet.ItemDone:
				moved++
			case mailnet.ItemFailed:
				failed++
				if len(errs) < 5 {
					errs = append(errs, it.Alias+": "+it.Error)
				}
			case mailnet.ItemCancelled:
				if it.Error == store.ItemNotStarted {
					skipped++
				} else {
					cancelled++
				}
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
		after := map[string]any{"status": status, "moved": moved, "failed": failed, "cancelled": cancelled, "skipped": skipped, "messages": j.Done}
		return tx.Audit(ctx, action, "job", id, map[string]any{"status": j.Status}, after,
			fmt.Sprintf("%d users moved, %d failed, %d cancelled after they started, %d skipped (cancelled before they started)",
				moved, failed, cancelled, skipped))
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
