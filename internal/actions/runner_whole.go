package actions

import (
	"context"
	"errors"

	"mailnet/internal/failpoint"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// small reports whether group g is moved whole in one transaction: every
// item still queued and the group within one batch (groupItems puts an
// item larger than a batch in a group of its own).
func (r *Runner) small(g []*mailnet.MoveItem) bool {
	var size int64
	for _, it := range g {
		if it.State != mailnet.ItemQueued {
			return false
		}
		size += it.Total
	}
	return size <= int64(r.opt.Batch)
}

// movedUser is one user moved whole: to the forward's address, with n
// messages, the item's total grown by grow.
type movedUser struct {
	it      *mailnet.MoveItem
	address string
	n, grow int64
}

// runSmallGroup moves a group of small mailboxes in one transaction (see
// moveWhole); a user whose verify or switch guard fails is rolled back
// alone and fails. The transaction is the unit of crash safety: after a
// crash every item of the group is still queued, with nothing copied.
func (r *Runner) runSmallGroup(ctx context.Context, jobID int64, g []*mailnet.MoveItem) error {
	var cancelled bool
	servers := map[int64]bool{}
	err := r.write(ctx, jobID, serversOf(g), func(tx *store.Tx, cancel bool) error {
		clear(servers)
		if cancelled = cancel; cancel {
			for _, it := range g {
				if err := tx.SetItemState(ctx, it.ID, mailnet.ItemCancelled, store.ItemNotStarted); err != nil {
					return err
				}
			}
			return nil
		}
		moved, err := moveWhole(ctx, tx, g)
		if err != nil {
			return err
		}
		if err := recordMoved(ctx, tx, jobID, moved, servers); err != nil {
			return err
		}
		failpoint.Hit("move.in-small-group")
		return nil
	})
	if err != nil {
		// The transaction rolled back: the items are queued again on disk.
		for _, it := range g {
			it.State = mailnet.ItemQueued
		}
		return err
	}
	for _, it := range g {
		if cancelled {
			it.State = mailnet.ItemCancelled
		} else if it.State == mailnet.ItemQueued {
			it.State = mailnet.ItemFailed
		}
	}
	r.publishServers(servers)
	r.progress(ctx, jobID, false)
	if r.opt.OnBatch != nil {
		r.opt.OnBatch(jobID)
	}
	r.yield()
	return nil
}

// moveWhole moves the users of g in tx: the whole group set-based when it
// qualifies (store.Tx.MoveGroup: one statement per step), otherwise each
// user inside a savepoint (store.WholeMover: copy, verify, switch,
// release). If the group does not qualify (a user elsewhere, rows already
// on the target, copies that differ) MoveGroup changed nothing, and the
// users move one by one so that only those at fault fail.
func moveWhole(ctx context.Context, tx *store.Tx, g []*mailnet.MoveItem) ([]movedUser, error) {
	totals := make([]int64, len(g))
	for i, it := range g {
		totals[i] = it.Total
	}
	moves, ok, err := tx.MoveGroup(ctx, g)
	if err != nil {
		return nil, err
	}
	out := make([]movedUser, 0, len(g))
	if ok {
		for i, m := range moves {
			out = append(out, movedUser{it: m.Item, address: m.Address, n: m.N, grow: m.Item.Total - totals[i]})
		}
		return out, nil
	}
	mover := tx.NewWholeMover()
	defer mover.Close()
	for i, it := range g {
		addr, n, err := mover.Move(ctx, it)
		if errors.Is(err, store.ErrVerify) || errors.Is(err, store.ErrSwitchGuard) {
			if err := tx.SetItemState(ctx, it.ID, mailnet.ItemFailed, "move refused, nothing changed: "+err.Error()); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, movedUser{it: it, address: addr, n: n, grow: it.Total - totals[i]})
	}
	return out, nil
}

// recordMoved writes, in tx, what moving users whole changed beside their
// rows: the servers' counters (once per server), the audit rows (one
// statement per hundred) and the job's counts; servers gets the servers
// touched.
func recordMoved(ctx context.Context, tx *store.Tx, jobID int64, moved []movedUser, servers map[int64]bool) error {
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
	audits := make([]store.AuditRow, 0, len(moved))
	for _, m := range moved {
		done += m.n
		grow += m.grow
		add(m.it.FromServerID, -1, -m.n)
		add(m.it.ToServerID, 1, m.n)
		audits = append(audits, userMoveAudit(jobID, m.it, m.address, m.n))
	}
	if err := tx.AuditMany(ctx, audits); err != nil {
		return err
	}
	for id, d := range counts {
		if err := tx.AddServerCounts(ctx, id, d.users, d.messages); err != nil {
			return err
		}
		servers[id] = true
	}
	return tx.AddJobDone(ctx, jobID, done, grow)
}
