package actions_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"mailnet/internal/actions"
	"mailnet/internal/crashtest"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// twoRunners is one database file opened by two stores, each with its
// own actions, as two console processes would have.
type twoRunners struct {
	t      *testing.T
	st     [2]*store.Store
	a      [2]*actions.Actions
	nw     crashtest.Network
	userOf map[int64][]int64 // job -> its users
}

func newTwoRunners(t *testing.T, spec crashtest.Spec) *twoRunners {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "two.db")
	x := &twoRunners{t: t, userOf: map[int64][]int64{}}
	for i := range x.st {
		st, err := store.Open(ctx, path, store.Options{})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		if i == 0 {
			if x.nw, err = crashtest.Seed(ctx, st, spec); err != nil {
				t.Fatalf("seed: %v", err)
			}
		}
		x.st[i], x.a[i] = st, actions.New(st, nil, nil)
	}
	return x
}

func (x *twoRunners) start(users []int64, to int64) int64 {
	x.t.Helper()
	j, err := x.a[0].StartMove(adminCtx, actions.MoveRequest{UserIDs: users, ToServerID: to})
	if err != nil {
		x.t.Fatalf("start move: %v", err)
	}
	x.userOf[j.ID] = users
	return j.ID
}

// checkOnce checks that job id ended done with every user moved, and that
// the audit log says so once: one end of the job, one move per user.
func (x *twoRunners) checkOnce(id int64) {
	x.t.Helper()
	j, err := x.st[0].Job(context.Background(), id)
	if err != nil {
		x.t.Fatal(err)
	}
	if j.Status != mailnet.JobDone {
		x.t.Errorf("job %d: got %s (%s), want done", id, j.Status, j.Error)
	}
	for _, it := range j.Items {
		if it.State != mailnet.ItemDone || it.Error != "" {
			x.t.Errorf("job %d user %s: got %s %q, want done", id, it.Alias, it.State, it.Error)
		}
	}
	var ends, moves int
	db := x.st[0].DB()
	if err := db.QueryRow(`SELECT count(*) FROM audit WHERE object_type = 'job' AND object_id = ?
		AND action IN ('move.complete', 'move.fail', 'move.cancelled')`, id).Scan(&ends); err != nil {
		x.t.Fatal(err)
	}
	if ends != 1 {
		x.t.Errorf("job %d ended %d times in the audit log, want once", id, ends)
	}
	if err := db.QueryRow(`SELECT count(*) FROM audit WHERE action = 'user.move'
		AND detail GLOB '* by job ' || ? || '[ ;]*'`, id).Scan(&moves); err != nil {
		x.t.Fatal(err)
	}
	if moves != len(x.userOf[id]) {
		x.t.Errorf("job %d: %d user.move audit rows, want %d", id, moves, len(x.userOf[id]))
	}
	if err := crashtest.Check(context.Background(), db, x.userOf[id], 30); err != nil {
		x.t.Error(err)
	}
}

// TestTwoRunnersRunEachJobOnce runs each job with one runner and, while
// it works (after its first committed transaction), with a second runner
// over another store of the same file: the second must be refused, and
// the job must run exactly once with a truthful result. Before jobs had
// an owner and a lease, both runners worked the job, and users that had
// moved ended "refused, nothing changed".
func TestTwoRunnersRunEachJobOnce(t *testing.T) {
	for _, c := range []struct {
		name  string
		batch int
	}{{"whole", 100}, {"batched", 7}} {
		t.Run(c.name, func(t *testing.T) {
			x := newTwoRunners(t, crashtest.Spec{Servers: 2, Users: []int{8}, Messages: 30})
			id := x.start(x.nw.Users[0], x.nw.Servers[1])
			r2 := x.a[1].NewRunner(actions.RunnerOptions{Batch: c.batch})
			var second error
			calls := 0
			r1 := x.a[0].NewRunner(actions.RunnerOptions{Batch: c.batch, OnBatch: func(job int64) {
				if calls++; calls == 1 {
					second = r2.RunJob(context.Background(), job)
				}
			}})
			if err := r1.RunJob(context.Background(), id); err != nil {
				t.Fatalf("first runner: %v", err)
			}
			if calls == 0 {
				t.Fatal("the first runner committed no batch")
			}
			if !errors.Is(second, actions.ErrJobOwnedElsewhere) {
				t.Errorf("second runner on a job the first is running: got %v, want ErrJobOwnedElsewhere", second)
			}
			x.checkOnce(id)
		})
	}
}

// TestRunnerStopsOnALostLease lets the first runner's lease lapse while
// it works and a second runner take the job over and finish it: the first
// must then stop without writing, and the job must still have run once.
func TestRunnerStopsOnALostLease(t *testing.T) {
	for _, c := range []struct {
		name  string
		batch int
	}{{"whole", 100}, {"batched", 7}} {
		t.Run(c.name, func(t *testing.T) {
			x := newTwoRunners(t, crashtest.Spec{Servers: 2, Users: []int{8}, Messages: 30})
			id := x.start(x.nw.Users[0], x.nw.Servers[1])
			r2 := x.a[1].NewRunner(actions.RunnerOptions{Batch: c.batch})
			var second error
			calls := 0
			r1 := x.a[0].NewRunner(actions.RunnerOptions{Batch: c.batch, OnBatch: func(job int64) {
				if calls++; calls != 1 {
					return
				}
				// The first runner stalls past its lease (as a process
				// stopped by a debugger or swapped out would).
				err := x.st[1].Write(context.Background(), func(tx *store.Tx) error {
					_, err := tx.ExecContext(context.Background(), `UPDATE jobs SET lease_until = '2000-01-01T00:00:00.000000000Z' WHERE id = ?`, job)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				second = r2.RunJob(context.Background(), job)
			}})
			err := r1.RunJob(context.Background(), id)
			if !errors.Is(err, actions.ErrLeaseLost) {
				t.Errorf("first runner after its lease was taken: got %v, want ErrLeaseLost", err)
			}
			if second != nil {
				t.Errorf("second runner taking over a lapsed lease: %v", second)
			}
			x.checkOnce(id)
		})
	}
}

// TestRunnerTakesOverTheLeaseOfAnEndedProcess: a job whose lease is held,
// far from lapsing, by a runner of a process on this host that has ended
// (killed in the middle of the job) is taken over at once, as a console
// restarted after a crash must; a lease of a process that still runs is
// not.
func TestRunnerTakesOverTheLeaseOfAnEndedProcess(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("the runner cannot tell here whether a process has ended")
	}
	x := newTwoRunners(t, crashtest.Spec{Servers: 2, Users: []int{2}, Messages: 30})
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	ended := exec.Command(os.Args[0], "-test.run", "^$")
	if err := ended.Run(); err != nil {
		t.Fatalf("run a process to end: %v", err)
	}
	parent := os.Getppid() // the go command, running while this test does
	for _, c := range []struct {
		name  string
		pid   int
		taken bool
	}{{"running", parent, false}, {"ended", ended.Process.Pid, true}} {
		t.Run(c.name, func(t *testing.T) {
			users := x.nw.Users[0][:1]
			if c.taken {
				users = x.nw.Users[0][1:]
			}
			id := x.start(users, x.nw.Servers[1])
			owner := fmt.Sprintf("%s/%d/0123456789ab", host, c.pid)
			err := x.st[0].Write(context.Background(), func(tx *store.Tx) error {
				_, err := tx.ExecContext(context.Background(), `UPDATE jobs SET owner = ?, lease_until = '9999-01-01T00:00:00.000000000Z', status = 'running' WHERE id = ?`, owner, id)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			err = x.a[1].NewRunner(actions.RunnerOptions{}).RunJob(context.Background(), id)
			if !c.taken {
				if !errors.Is(err, actions.ErrJobOwnedElsewhere) {
					t.Errorf("job leased by process %d, which runs: got %v, want ErrJobOwnedElsewhere", c.pid, err)
				}
				// Once that lease lapses, the job is taken over.
				err = x.st[0].Write(context.Background(), func(tx *store.Tx) error {
					_, err := tx.ExecContext(context.Background(), `UPDATE jobs SET lease_until = '2000-01-01T00:00:00.000000000Z' WHERE id = ?`, id)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				err = x.a[1].NewRunner(actions.RunnerOptions{}).RunJob(context.Background(), id)
			}
			if err != nil {
				t.Fatalf("job leased by process %d (%s): %v", c.pid, c.name, err)
			}
			x.checkOnce(id)
		})
	}
}
