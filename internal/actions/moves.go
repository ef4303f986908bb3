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
}

// MaxMoveUsers bounds one selection; an evacuation is not bounded.
const MaxMoveUsers = 10000

// StartMove validates req and queues a move job with one item per user,
// in one transaction: the unique index move_items_one_active refuses a
// user who is already moving (409). After the commit it wakes the runner.
func (a *Actions) StartMove(ctx context.Context, req MoveRequest) (store.JobDetail, error) {
	if req.ToServerID <= 0 {
		return store.JobDetail{}, mailnet.Invalid("to_server_id", "to_server_id is required")
	}
	if req.All {
		if req.FromServerID <= 0 {
			return store.JobDetail{}, mailnet.Invalid("from_server_id", "from_server_id is required with \"all\"")
		}
		if len(req.UserIDs) > 0 {
			return store.JobDetail{}, mailnet.Invalid("user_ids", "give user_ids or \"all\" with from_server_id, not both")
		}
		if req.FromServerID == req.ToServerID {
			return store.JobDetail{}, mailnet.Invalid("to_server_id", "to_server_id is the server being evacuated")
		}
	} else {
		if len(req.UserIDs) == 0 {
			return store.JobDetail{}, mailnet.Invalid("user_ids", "select at least one user to move")
		}
		if len(req.UserIDs) > MaxMoveUsers {
			return store.JobDetail{}, mailnet.Invalid("user_ids", "at most %d users per move; evacuate a whole server with \"all\"", MaxMoveUsers)
		}
		if req.FromServerID != 0 {
			return store.JobDetail{}, mailnet.Invalid("from_server_id", "from_server_id goes with \"all\": true")
		}
	}
	actor := mailnet.ActorName(ctx)
	var jobID int64
	var users []store.MoveCandidate
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		name, status, err := tx.ServerStatus(ctx, req.ToServerID)
		if errors.Is(err, mailnet.ErrNotFound) {
			return mailnet.Invalid("to_server_id", "server %d does not exist", req.ToServerID)
		}
		if err != nil {
			return err
		}
		if status != mailnet.StatusRunning {
			return mailnet.Invalid("to_server_id", "server %s is %s; moves go to a running server", name, status)
		}
		if req.All {
			if _, _, err := tx.ServerStatus(ctx, req.FromServerID); errors.Is(err, mailnet.ErrNotFound) {
				return mailnet.Invalid("from_server_id", "server %d does not exist", req.FromServerID)
			} else if err != nil {
				return err
			}
			if users, err = tx.MoveCandidatesOn(ctx, req.FromServerID); err != nil {
				return err
			}
			if len(users) == 0 {
				return mailnet.Invalid("from_server_id", "server %d has no users to move", req.FromServerID)
			}
		} else {
			seen := map[int64]bool{}
			for _, id := range req.UserIDs {
				if seen[id] {
					continue
				}
				seen[id] = true
				u, err := tx.MoveCandidate(ctx, id)
				if errors.Is(err, mailnet.ErrNotFound) {
					return mailnet.Invalid("user_ids", "user %d does not exist", id)
				}
				if err != nil {
					return err
				}
				if u.ServerID == req.ToServerID {
					return mailnet.Invalid("user_ids", "user %s is already on server %s", u.Alias, name)
				}
				users = append(users, u)
			}
		}
		if jobID, err = tx.InsertJob(ctx, store.JobKindMove, req.ToServerID, actor); err != nil {
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
		detail := fmt.Sprintf("move %d users (%d messages) to %s", len(users), total, name)
		if req.All {
			after["from_server_id"] = req.FromServerID
			detail = fmt.Sprintf("evacuate server %d: %s", req.FromServerID, detail)
		}
		return tx.Audit(ctx, "move.start", "job", jobID, nil, after, detail)
	})
	if err != nil {
		return store.JobDetail{}, err
	}
	a.jobPosted()
	j, err := a.Store.JobSummary(ctx, jobID)
	if err != nil {
		return store.JobDetail{}, err
	}
	a.Live.Publish(live.Frame{Type: live.TypeJob, Data: j})
	return j, nil
}

// jobPosted wakes a runner waiting on a.posted; a signal already pending
// covers this one too.
func (a *Actions) jobPosted() {
	select {
	case a.posted <- struct{}{}:
	default:
	}
}
