package actions

import (
	"context"
	"errors"
	"fmt"

	"mailnet/internal/live"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// MoveRequest asks for users to move to another server: a selection
// (UserIDs), or every user of a server (All with FromServerID: evacuate).
type MoveRequest struct {
	UserIDs      []int64 `json:"user_ids"`
	FromServerID int64   `json:"from_server_id"`
	ToServerID   int64   `json:"to_server_id"`
	All          bool    `json:"all"`
	// Plan, when set, is the MovePlan.ID of the preview the move starts
	// from: refused (409) if the move would now differ.
	Plan string `json:"plan,omitempty"`
}

// MaxMoveUsers bounds one selection; an evacuation is not bounded.
const MaxMoveUsers = 10000

// CheckMoveTarget is the move-target rule, its one home: users move only
// to a server that exists, is running (not stopped, not decommissioned),
// shares its serial number with no other server (Q99393: servers that
// share a serial are cut off from routing and the All listing until it is
// resolved) and is not the server they move off (from; 0 when the users
// are a selection). The refusal is a 422 on to_server_id. StartMove and
// every page that offers or previews a move apply it through here.
func CheckMoveTarget(t store.MoveTarget, from int64) error {
	switch {
	case t.ID == from:
		return mailnet.Invalid("to_server_id", "server %s is the server the users move off; choose another target", t.Name)
	case t.Status != mailnet.StatusRunning:
		return mailnet.Invalid("to_server_id", "server %s is %s; moves go to a running server", t.Name, t.Status)
	case t.SerialTwins > 0:
		return mailnet.Invalid("to_server_id", "server %s shares its serial number with another server (Q99393); move the users to a server whose serial is unique", t.Name)
	}
	return nil
}

// CheckMoveTo applies CheckMoveTarget to server to, for users moving off
// server from (0: a selection), as StartMove would: a page previews a
// move with it.
func (a *Actions) CheckMoveTo(ctx context.Context, from, to int64) error {
	if to <= 0 {
		return errNoTarget
	}
	t, err := a.Store.MoveTarget(ctx, to)
	if errors.Is(err, mailnet.ErrNotFound) {
		return mailnet.Invalid("to_server_id", "server %d does not exist", to)
	}
	if err != nil {
		return err
	}
	return CheckMoveTarget(t, from)
}

var errNoTarget = mailnet.Invalid("to_server_id", "to_server_id is required: choose the server to move the users to")

// StartMove validates req and queues a move job with one item per user,
// in one transaction: the unique index move_items_one_active refuses a
// user who is already moving (409). After the commit it wakes the runner.
func (a *Actions) StartMove(ctx context.Context, req MoveRequest) (mailnet.JobDetail, error) {
	if err := req.validate(); err != nil {
		return mailnet.JobDetail{}, err
	}
	actor := mailnet.ActorName(ctx)
	var jobID int64
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		target, err := tx.MoveTarget(ctx, req.ToServerID)
		if errors.Is(err, mailnet.ErrNotFound) {
			return mailnet.Invalid("to_server_id", "server %d does not exist", req.ToServerID)
		}
		if err != nil {
			return err
		}
		if err := CheckMoveTarget(target, req.FromServerID); err != nil {
			return err
		}
		users, err := req.users(ctx, tx, target)
		if err != nil {
			return err
		}
		if req.Plan != "" && req.Plan != req.planOf(users).ID() {
			return errPlanChanged
		}
		if jobID, err = tx.InsertJob(ctx, mailnet.JobKindMove, req.ToServerID, actor); err != nil {
			return err
		}
		var total int64
		for _, u := range users {
			total += u.MessageCount
		}
		if u, err := tx.InsertMoveItems(ctx, jobID, req.ToServerID, users); errors.Is(err, store.ErrActiveMove) {
			other, _ := tx.ActiveMoveOf(ctx, u.ID)
			return &mailnet.Error{Kind: mailnet.KindConflict, Field: "user_ids",
				Message: fmt.Sprintf("user %s is already in an active move (job %d)", u.Alias, other)}
		} else if err != nil {
			return err
		}
		after := map[string]any{"to_server_id": req.ToServerID, "users": len(users), "messages": total}
		detail := fmt.Sprintf("move %d users (%d messages) to %s", len(users), total, target.Name)
		if req.All {
			after["from_server_id"] = req.FromServerID
			detail = fmt.Sprintf("evacuate server %d: %s", req.FromServerID, detail)
		}
		return tx.Audit(ctx, "move.start", "job", jobID, nil, after, detail)
	})
	if err != nil {
		return mailnet.JobDetail{}, err
	}
	a.jobPosted()
	j, err := a.Store.JobSummary(ctx, jobID)
	if err != nil {
		return mailnet.JobDetail{}, err
	}
	a.Live.Publish(live.Frame{Type: live.TypeJob, Data: j})
	return j, nil
}

// validate checks the request's shape, before anything is read.
func (req MoveRequest) validate() error {
	if req.ToServerID <= 0 {
		return errNoTarget
	}
	if req.All {
		if req.FromServerID <= 0 {
			return mailnet.Invalid("from_server_id", "from_server_id is required with \"all\"")
		}
		if len(req.UserIDs) > 0 {
			return mailnet.Invalid("user_ids", "give user_ids or \"all\" with from_server_id, not both")
		}
		return nil
	}
	if len(req.UserIDs) == 0 {
		return mailnet.Invalid("user_ids", "select at least one user to move")
	}
	if len(req.UserIDs) > MaxMoveUsers {
		return mailnet.Invalid("user_ids", "at most %d users per move; evacuate a whole server with \"all\"", MaxMoveUsers)
	}
	if req.FromServerID != 0 {
		return mailnet.Invalid("from_server_id", "from_server_id goes with \"all\": true")
	}
	return nil
}

// users reads the users req moves, in tx: every user of the server to
// evacuate, or the selection, none of them already on target.
func (req MoveRequest) users(ctx context.Context, tx *store.Tx, target store.MoveTarget) ([]store.MoveCandidate, error) {
	if req.All {
		if _, err := tx.MoveTarget(ctx, req.FromServerID); errors.Is(err, mailnet.ErrNotFound) {
			return nil, mailnet.Invalid("from_server_id", "server %d does not exist", req.FromServerID)
		} else if err != nil {
			return nil, err
		}
		users, err := tx.MoveCandidatesOn(ctx, req.FromServerID)
		if err != nil {
			return nil, err
		}
		if len(users) == 0 {
			return nil, mailnet.Invalid("from_server_id", "server %d has no users to move", req.FromServerID)
		}
		return users, nil
	}
	var users []store.MoveCandidate
	seen := map[int64]bool{}
	for _, id := range req.UserIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		u, err := tx.MoveCandidate(ctx, id)
		if errors.Is(err, mailnet.ErrNotFound) {
			return nil, mailnet.Invalid("user_ids", "user %d does not exist", id)
		}
		if err != nil {
			return nil, err
		}
		if u.ServerID == target.ID {
			return nil, mailnet.Invalid("user_ids", "user %s is already on server %s", u.Alias, target.Name)
		}
		users = append(users, u)
	}
	return users, nil
}

// jobPosted wakes a runner waiting on a.posted; a signal already pending
// covers this one too.
func (a *Actions) jobPosted() {
	select {
	case a.posted <- struct{}{}:
	default:
	}
}
