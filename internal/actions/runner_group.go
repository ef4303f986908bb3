package actions

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"mailnet/internal/failpoint"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// groupMove takes a group of items, moved in batches, through the phases
// of a move: start (queued -> copying), copy, verify (-> verified),
// switch (-> switched) and release (-> done), or back to the source
// (cancelled, failed) before the switch. Each phase commits what it did
// before the next begins, so that a runner after a crash resumes every
// item from the state its row records. A phase that sees a cancel sets
// cancelled, and runGroup rolls the group back.
type groupMove struct {
	r       *Runner
	ctx     context.Context
	job     int64
	items   []*mailnet.MoveItem
	servers []int64         // the servers the items move between
	cursors map[int64]int64 // item -> highest source id copied (store.CopyCursor)
	// checked verifies each committed copy batch on a reader connection
	// while the writer copies the next (store.VerifyRange).
	checked   *rangeChecker
	cancelled bool
}

// runGroup moves group g of job jobID in batches, phase by phase.
func (r *Runner) runGroup(ctx context.Context, jobID int64, g []*mailnet.MoveItem) error {
	m := &groupMove{r: r, ctx: ctx, job: jobID, items: g, servers: serversOf(g), cursors: map[int64]int64{}}
	defer m.close()
	for _, phase := range []func() error{m.start, m.copy, m.verify, m.switchUsers, m.release} {
		if err := phase(); err != nil {
			return err
		}
		if m.cancelled {
			return r.rollbackAll(ctx, jobID, g, mailnet.ItemCancelled, cancelledMessage)
		}
	}
	return nil
}

func (m *groupMove) close() {
	if m.checked != nil {
		m.checked.wait()
	}
}

// start counts what each queued user has on the source now and marks it
// copying. A user with rows already on the target fails here: until the
// switch, the user's rows on the target must be this move's copies and
// nothing else. A cancel ends every queued user here, with nothing copied.
func (m *groupMove) start() error {
	queued := inState(m.items, mailnet.ItemQueued)
	if len(queued) == 0 {
		return nil
	}
	next := map[int64]string{}
	err := m.r.write(m.ctx, m.job, nil, func(tx *store.Tx, cancel bool) error {
		clear(next)
		for _, it := range queued {
			state, err := m.startItem(tx, it, cancel)
			if err != nil {
				return err
			}
			next[it.ID] = state
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, it := range queued {
		it.State = next[it.ID]
	}
	failpoint.Hit("move.after-start")
	m.r.progress(m.ctx, m.job, false)
	return nil
}

// startItem is start for one item in tx; it returns the item's new state.
func (m *groupMove) startItem(tx *store.Tx, it *mailnet.MoveItem, cancel bool) (string, error) {
	ctx := m.ctx
	if cancel {
		return mailnet.ItemCancelled, tx.SetItemState(ctx, it.ID, mailnet.ItemCancelled, store.ItemNotStarted)
	}
	if k, err := tx.CountOnTarget(ctx, it); err != nil {
		return "", err
	} else if k > 0 {
		msg := fmt.Sprintf("the target already holds %d messages of the user; nothing was copied", k)
		return mailnet.ItemFailed, tx.SetItemState(ctx, it.ID, mailnet.ItemFailed, msg)
	}
	n, err := tx.CountSource(ctx, it)
	if err != nil {
		return "", err
	}
	if err := tx.AddJobTotal(ctx, m.job, n-it.Total); err != nil {
		return "", err
	}
	if err := tx.SetItemTotal(ctx, it.ID, n); err != nil {
		return "", err
	}
	it.Total = n
	return mailnet.ItemCopying, tx.SetItemState(ctx, it.ID, mailnet.ItemCopying, "")
}

// copied is one item's part of a copy batch, which started at cursor from.
type copied struct {
	store.Batch
	from int64
}

// copy copies the items being copied in transactions of about Batch rows
// across the group, and hands each committed batch to the range checker.
// An item copied from cursor 0 in this run with every range passing skips
// the full verify; any other (resumed, or a range failed) gets it.
func (m *groupMove) copy() error {
	for _, it := range inState(m.items, mailnet.ItemCopying, mailnet.ItemVerified) {
		c, err := m.r.a.Store.CopyCursor(m.ctx, it)
		if err != nil {
			return err
		}
		m.cursors[it.ID] = c
	}
	pending := inState(m.items, mailnet.ItemCopying)
	m.checked = newRangeChecker(m.ctx, m.r.a.Store)
	for _, it := range pending {
		if m.cursors[it.ID] != 0 {
			m.checked.skip(it.ID)
		}
	}
	for len(pending) > 0 {
		if m.r.stopping() {
			return errStopped
		}
		batches, err := m.copyBatch(pending)
		if err != nil || m.cancelled {
			return err
		}
		failpoint.Hit("move.after-batch")
		m.r.progress(m.ctx, m.job, false)
		if m.r.opt.OnBatch != nil {
			m.r.opt.OnBatch(m.job)
		}
		var left []*mailnet.MoveItem
		for _, it := range pending {
			b, ok := batches[it.ID]
			if ok && b.Next > b.from {
				m.checked.check(*it, b.from, b.Batch)
			}
			if !ok || b.More {
				left = append(left, it)
			}
		}
		pending = left
		m.r.yield()
	}
	return nil
}

// copyBatch copies, in one transaction, the next batch of each pending
// item until about Batch rows are covered, and advances their cursors.
func (m *groupMove) copyBatch(pending []*mailnet.MoveItem) (map[int64]copied, error) {
	var out map[int64]copied
	err := m.r.write(m.ctx, m.job, m.servers, func(tx *store.Tx, cancel bool) error {
		out = map[int64]copied{}
		if m.cancelled = cancel; cancel {
			return nil
		}
		budget := m.r.opt.Batch
		for _, it := range pending {
			if budget <= 0 {
				break
			}
			from := m.cursors[it.ID]
			b, err := tx.CopyBatch(m.ctx, it, from, budget)
			if err != nil {
				return err
			}
			out[it.ID] = copied{Batch: b, from: from}
			budget -= int(b.Covered)
		}
		failpoint.Hit("move.in-batch")
		return nil
	})
	if err != nil {
		return nil, err
	}
	for id, b := range out {
		m.cursors[id] = b.Next
	}
	return out, nil
}

// verify checks what was copied, field by field, source against copies:
// by the range checker's batches, or in full. A user whose copies differ
// is rolled back and fails; the others are marked verified.
func (m *groupMove) verify() error {
	passed := m.checked.wait()
	var verified []*mailnet.MoveItem
	for _, it := range inState(m.items, mailnet.ItemCopying) {
		if passed[it.ID] {
			verified = append(verified, it)
			continue
		}
		err := m.r.a.Store.VerifyCopies(m.ctx, it, m.cursors[it.ID])
		if errors.Is(err, store.ErrVerify) {
			if err := m.r.rollback(m.ctx, it, mailnet.ItemFailed, "verify failed: "+err.Error()); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		verified = append(verified, it)
	}
	if len(verified) == 0 {
		return nil
	}
	err := m.r.write(m.ctx, m.job, nil, func(tx *store.Tx, _ bool) error {
		for _, it := range verified {
			if err := tx.SetItemState(m.ctx, it.ID, mailnet.ItemVerified, ""); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, it := range verified {
		it.State = mailnet.ItemVerified
	}
	failpoint.Hit("move.after-verify")
	return nil
}

// switchUsers rehomes the verified users on the target (switchAll); a
// user whose switch was refused is rolled back and fails.
func (m *groupMove) switchUsers() error {
	toSwitch := inState(m.items, mailnet.ItemVerified)
	if len(toSwitch) == 0 {
		return nil
	}
	if m.r.stopping() {
		return errStopped
	}
	refused, err := m.switchAll(toSwitch)
	if err != nil || m.cancelled {
		return err
	}
	failpoint.Hit("move.after-switch")
	servers := map[int64]bool{}
	for _, it := range toSwitch {
		if err, bad := refused[it.ID]; bad {
			if err := m.r.rollback(m.ctx, it, mailnet.ItemFailed, "switch refused: "+err.Error()); err != nil {
				return err
			}
			continue
		}
		it.State = mailnet.ItemSwitched
		servers[it.FromServerID], servers[it.ToServerID] = true, true
	}
	m.r.publishServers(servers)
	return nil
}

// switchAll switches users in one transaction, each guarded by the
// expected source and undone alone (a savepoint) if its switch is
// refused; it returns the refused users with the reason.
func (m *groupMove) switchAll(users []*mailnet.MoveItem) (map[int64]error, error) {
	var refused map[int64]error
	err := m.r.write(m.ctx, m.job, nil, func(tx *store.Tx, cancel bool) error {
		refused = map[int64]error{}
		if m.cancelled = cancel; cancel {
			return nil
		}
		sp := tx.NewSavepoint("switch_user")
		defer sp.Close()
		for _, it := range users {
			err := sp.Run(m.ctx, func() error {
				addr, n, err := tx.SwitchUser(m.ctx, it, m.cursors[it.ID])
				if err != nil {
					return err
				}
				return tx.AuditMany(m.ctx, []store.AuditRow{userMoveAudit(m.job, it, addr, n)})
			})
			if errors.Is(err, store.ErrVerify) || errors.Is(err, store.ErrSwitchGuard) {
				refused[it.ID] = err
				continue
			}
			if err != nil {
				return err
			}
		}
		failpoint.Hit("move.in-switch")
		return nil
	})
	return refused, err
}

// release deletes each switched user's messages on the old home in
// batches (store.Tx.ReleaseBatch), now that the new home is
// authoritative, and then marks the user done.
func (m *groupMove) release() error {
	for _, it := range inState(m.items, mailnet.ItemSwitched) {
		for {
			if m.r.stopping() {
				return errStopped
			}
			var empty bool
			err := m.r.write(m.ctx, m.job, []int64{it.FromServerID, it.ToServerID}, func(tx *store.Tx, _ bool) error {
				var err error
				empty, err = tx.ReleaseBatch(m.ctx, it, m.r.opt.Batch)
				return err
			})
			if err != nil {
				return err
			}
			failpoint.Hit("move.after-release-batch")
			m.r.progress(m.ctx, m.job, false)
			if empty {
				it.State = mailnet.ItemDone
				break
			}
			m.r.yield()
		}
	}
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
	it    mailnet.MoveItem
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
func (c *rangeChecker) check(it mailnet.MoveItem, lo int64, b store.Batch) {
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
