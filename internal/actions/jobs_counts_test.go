package actions_test

import (
	"context"
	"testing"

	"mailnet/internal/actions"
	"mailnet/internal/crashtest"
	"mailnet/internal/mailnet"
)

// A cancelled job counts how each user ended, so it never reads "done N
// of N": the runner cancels a job with four users after the first has
// moved; the rest are skipped (never started) or cancelled.
func TestCancelledJobCountsHowEachUserEnded(t *testing.T) {
	f := newFixture(t, crashtest.Spec{Servers: 2, Users: []int{4}, Messages: 3})
	j := f.start(actions.MoveRequest{FromServerID: f.nw.Servers[0], ToServerID: f.nw.Servers[1], All: true})
	batches := 0
	j = f.run(j.ID, actions.RunnerOptions{Batch: 1, OnBatch: func(int64) {
		batches++
		if batches == 4 { // the first user's three messages are copied: cancel
			if _, err := f.a.CancelJob(adminCtx, j.ID); err != nil {
				t.Errorf("cancel: %v", err)
			}
		}
	}})
	if j.Status != mailnet.JobCancelled {
		t.Fatalf("status: got %s, want cancelled", j.Status)
	}
	if j.UsersTotal != 4 || j.Moved+j.Cancelled+j.Skipped+j.Failed != 4 || j.UsersDone != 4 {
		t.Fatalf("counts: total %d, moved %d, cancelled %d, skipped %d, failed %d, ended %d; want 4 users all accounted for",
			j.UsersTotal, j.Moved, j.Cancelled, j.Skipped, j.Failed, j.UsersDone)
	}
	if j.Moved == 4 || j.Moved+j.Failed == j.UsersTotal {
		t.Errorf("a cancelled job counts %d of %d users moved", j.Moved, j.UsersTotal)
	}
	if j.Skipped == 0 {
		t.Errorf("skipped: got 0, want the users that never started")
	}
	if j.FromServerID != f.nw.Servers[0] || j.Sources != 1 {
		t.Errorf("source: got server %d (%d sources), want %d", j.FromServerID, j.Sources, f.nw.Servers[0])
	}
	if j.MessagesMoved != 3*j.Moved {
		t.Errorf("messages moved: got %d, want %d (3 per moved user)", j.MessagesMoved, 3*j.Moved)
	}
	var moved, skipped int64
	if err := f.raw.QueryRowContext(context.Background(), `SELECT json_extract(after, '$.moved'), json_extract(after, '$.skipped')
		FROM audit WHERE action = 'move.cancelled' AND object_id = ?`, j.ID).Scan(&moved, &skipped); err != nil {
		t.Fatalf("audit: %v", err)
	}
	if moved != j.Moved || skipped != j.Skipped {
		t.Errorf("audit says %d moved, %d skipped; the job %d, %d", moved, skipped, j.Moved, j.Skipped)
	}
}
