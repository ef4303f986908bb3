package actions

import (
	"context"
	"fmt"

	"mailnet/internal/live"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// CancelResult says what a cancel did.
type CancelResult struct {
	Job mailnet.JobDetail `json:"job"`
	// Immediate is true when the job had not started and is now
	// cancelled; false when the runner will stop it between batches.
	Immediate bool `json:"immediate"`
	// Completing counts users already switched to the new server: a
	// switch cannot be undone safely, so those moves complete.
	Completing int64  `json:"completing"`
	Message    string `json:"message"`
}

// CancelJob cancels job id. A queued job is cancelled at once. A running
// one is marked; the runner then deletes the copies of every user not yet
// switched, who stays on the source with every message, and completes the
// users already switched. A finished job is a 409.
func (a *Actions) CancelJob(ctx context.Context, id int64) (CancelResult, error) {
	var res CancelResult
	err := a.Store.Write(ctx, func(tx *store.Tx) error {
		j, err := tx.Job(ctx, id)
		if err != nil {
			return err
		}
		if j.Finished() {
			return mailnet.Conflict("job %d has already finished (%s)", id, j.Status)
		}
		items, err := tx.MoveItems(ctx, id)
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.State == mailnet.ItemSwitched || it.State == mailnet.ItemDone {
				res.Completing++
			}
		}
		if j.CancelRequested {
			res.Message = "cancel already requested"
			return nil
		}
		if err := tx.RequestCancel(ctx, id); err != nil {
			return err
		}
		if j.Status == mailnet.JobQueued {
			// Nothing has been copied yet: every item ends here.
			for _, it := range items {
				if err := tx.SetItemState(ctx, it.ID, mailnet.ItemCancelled, store.ItemNotStarted); err != nil {
					return err
				}
			}
			if err := tx.SetJobStatus(ctx, id, mailnet.JobCancelled, ""); err != nil {
				return err
			}
			res.Immediate = true
			res.Message = "cancelled before it started; nothing was copied"
		} else {
			res.Message = "cancelling: users not yet switched stay on their server with every message"
			if res.Completing > 0 {
				res.Message += fmt.Sprintf("; %d users already switched complete their move", res.Completing)
			}
		}
		return tx.Audit(ctx, "move.cancel", "job", id, map[string]any{"status": j.Status},
			map[string]any{"cancel_requested": true, "immediate": res.Immediate, "completing": res.Completing}, res.Message)
	})
	if err != nil {
		return res, err
	}
	if res.Job, err = a.Store.JobSummary(ctx, id); err != nil {
		return res, err
	}
	a.Live.Publish(live.Frame{Type: live.TypeJob, Data: res.Job})
	return res, nil
}
