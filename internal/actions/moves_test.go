package actions_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailnet/internal/actions"
	"mailnet/internal/crashtest"
	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

var adminCtx = mailnet.WithPrincipal(context.Background(), &mailnet.Principal{Name: "alice", Role: mailnet.RoleAdmin})

type fixture struct {
	t   *testing.T
	st  *store.Store
	a   *actions.Actions
	raw *sql.DB // read-write handle for checks and sabotage
	nw  crashtest.Network
}

func newFixture(t *testing.T, spec crashtest.Spec) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "moves.db")
	st, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	nw, err := crashtest.Seed(context.Background(), st, spec)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	return &fixture{t: t, st: st, a: actions.New(st, nil, nil), raw: st.DB(), nw: nw}
}

// exec runs a write outside the runner, as another writer of the console would.
func (f *fixture) exec(query string, args ...any) {
	f.t.Helper()
	err := f.st.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.ExecContext(context.Background(), query, args...)
		return err
	})
	if err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
}

func (f *fixture) start(req actions.MoveRequest) mailnet.JobDetail {
	f.t.Helper()
	j, err := f.a.StartMove(adminCtx, req)
	if err != nil {
		f.t.Fatalf("start move: %v", err)
	}
	return j
}

func (f *fixture) run(id int64, opt actions.RunnerOptions) mailnet.JobDetail {
	f.t.Helper()
	if err := f.a.NewRunner(opt).RunJob(context.Background(), id); err != nil {
		f.t.Fatalf("run job %d: %v", id, err)
	}
	j, err := f.st.Job(context.Background(), id)
	if err != nil {
		f.t.Fatalf("job %d: %v", id, err)
	}
	return j
}

func (f *fixture) check(users []int64, perUser int) {
	f.t.Helper()
	if err := crashtest.Check(context.Background(), f.raw, users, perUser); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) home(user int64) int64 {
	f.t.Helper()
	var id int64
	if err := f.raw.QueryRow(`SELECT server_id FROM users WHERE id = ?`, user).Scan(&id); err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *fixture) count(query string, args ...any) int64 {
	f.t.Helper()
	var n int64
	if err := f.raw.QueryRow(query, args...).Scan(&n); err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestMoveCarriesEveryMessage(t *testing.T) {
	f := newFixture(t, crashtest.Spec{Servers: 2, Users: []int{3}, Messages: 250})
	users, to := f.nw.Users[0], f.nw.Servers[1]
	j := f.start(actions.MoveRequest{UserIDs: users, ToServerID: to})
	if j.Status != mailnet.JobQueued || j.Kind != "move" || j.Total != 750 || j.UsersTotal != 3 || j.Unit != "messages" {
		t.Fatalf("new job: got %+v, want queued move of 750 messages, 3 users", j)
	}
	j = f.run(j.ID, actions.RunnerOptions{Batch: 100})
	if j.Status != mailnet.JobDone || j.Done != 750 || j.Total != 750 || j.UsersDone != 3 {
		t.Fatalf("job: got status %s done %d/%d users %d, want done 750/750 users 3", j.Status, j.Done, j.Total, j.UsersDone)
	}
	for _, it := range j.Items {
		if it.State != mailnet.ItemDone || it.Copied != 250 {
			t.Errorf("item %d: got %s %d copied, want done 250", it.ID, it.State, it.Copied)
		}
	}
	f.check(users, 250)
	for _, u := range users {
		if got := f.home(u); got != to {
			t.Errorf("user %d home: got %d, want %d", u, got, to)
		}
	}
	if got := f.count(`SELECT count(*) FROM forwards WHERE from_server_id = ? AND to_server_id = ? AND address LIKE 'u1-%@S1'`, f.nw.Servers[0], to); got != 3 {
		t.Errorf("forwards: got %d, want 3", got)
	}
	for action, want := range map[string]int64{"move.start": 1, "user.move": 3, "move.complete": 1} {
		if got := f.count(`SELECT count(*) FROM audit WHERE action = ?`, action); got != want {
			t.Errorf("audit %s rows: got %d, want %d", action, got, want)
		}
	}
	if got := f.count(`SELECT count(*) FROM audit WHERE action = 'move.complete' AND actor = 'job:' || ? || ' for alice'`, j.ID); got != 1 {
		t.Errorf("runner's audit actor: got %d rows by job:%d for alice, want 1", got, j.ID)
	}
}

func TestEvacuateMovesEveryUser(t *testing.T) {
	f := newFixture(t, crashtest.Spec{Servers: 3, Users: []int{20, 2}, Messages: 30})
	from, to := f.nw.Servers[0], f.nw.Servers[2]
	j := f.start(actions.MoveRequest{FromServerID: from, ToServerID: to, All: true})
	if j.UsersTotal != 20 || j.Total != 600 {
		t.Fatalf("evacuate job: got %d users %d messages, want 20 and 600", j.UsersTotal, j.Total)
	}
	j = f.run(j.ID, actions.RunnerOptions{Batch: 100})
	if j.Status != mailnet.JobDone {
		t.Fatalf("job status: got %s (%s), want done", j.Status, j.Error)
	}
	f.check(append(f.nw.Users[0], f.nw.Users[1]...), 30)
	if got := f.count(`SELECT user_count FROM servers WHERE id = ?`, from); got != 0 {
		t.Errorf("evacuated server user_count: got %d, want 0", got)
	}
}

// oneItem starts a move of the first server's first user to the second
// server and returns its item, for tests that drive the store's steps by
// hand instead of the runner.
func (f *fixture) oneItem() mailnet.MoveItem {
	f.t.Helper()
	j := f.start(actions.MoveRequest{UserIDs: f.nw.Users[0][:1], ToServerID: f.nw.Servers[1]})
	full, err := f.st.Job(context.Background(), j.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return full.Items[0]
}

// copyBatch runs CopyBatch in a write transaction of its own.
func (f *fixture) copyBatch(it *mailnet.MoveItem, cursor int64, limit int) store.Batch {
	f.t.Helper()
	var b store.Batch
	err := f.st.Write(context.Background(), func(tx *store.Tx) error {
		var err error
		b, err = tx.CopyBatch(context.Background(), it, cursor, limit)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func TestCopyBatchRetryIsIdempotent(t *testing.T) {
	f := newFixture(t, crashtest.Spec{Servers: 2, Users: []int{1}, Messages: 50})
	it := f.oneItem()
	var inserted [2]int64
	for i := range inserted {
		before := it.Copied
		// The same batch twice, as after a crash that lost the commit's answer.
		f.copyBatch(&it, 0, 30)
		inserted[i] = it.Copied - before
	}
	if inserted != [2]int64{30, 0} {
		t.Errorf("rows inserted by the batch and its retry: got %v, want [30 0]", inserted)
	}
	if got := f.count(`SELECT count(*) FROM messages WHERE copy_of IS NOT NULL`); got != 30 {
		t.Errorf("copies: got %d, want 30", got)
	}
}

// VerifyRange passes a batch whose copies all match, fails the batch with
// a garbled copy, and fails a batch whose copies it is told are elsewhere:
// the fast check never passes what the full verify would refuse.
func TestVerifyRangeChecksEachBatch(t *testing.T) {
	f := newFixture(t, crashtest.Spec{Servers: 2, Users: []int{1}, Messages: 50})
	ctx := context.Background()
	it := f.oneItem()
	first := f.copyBatch(&it, 0, 20)
	batches := []store.Batch{first, f.copyBatch(&it, first.Next, 20)}
	los := []int64{0, first.Next}
	for i, b := range batches {
		if b.Covered != 20 || b.CopyHi-b.CopyLo != 20 {
			t.Fatalf("batch %d: covered %d, copies (%d, %d]; want 20 and 20", i, b.Covered, b.CopyLo, b.CopyHi)
		}
		if err := f.st.VerifyRange(ctx, &it, los[i], b); err != nil {
			t.Errorf("batch %d of intact copies: %v", i, err)
		}
	}
	f.exec(`UPDATE messages SET size = size + 1 WHERE id = ?`, batches[1].CopyHi)
	if err := f.st.VerifyRange(ctx, &it, los[1], batches[1]); !errors.Is(err, store.ErrVerify) {
		t.Errorf("batch with a garbled copy: got %v, want ErrVerify", err)
	}
	if err := f.st.VerifyRange(ctx, &it, los[0], batches[0]); err != nil {
		t.Errorf("the other batch: %v", err)
	}
	moved := batches[0]
	moved.CopyLo, moved.CopyHi = batches[1].CopyLo, batches[1].CopyHi
	if err := f.st.VerifyRange(ctx, &it, los[0], moved); !errors.Is(err, store.ErrVerify) {
		t.Errorf("batch told its copies are another batch's: got %v, want ErrVerify", err)
	}
}

// ReleaseBatch deletes originals only once the user is homed on the
// target.
func TestReleaseBatchRefusesBeforeSwitch(t *testing.T) {
	f := newFixture(t, crashtest.Spec{Servers: 2, Users: []int{1}, Messages: 30})
	it := f.oneItem()
	f.copyBatch(&it, 0, 0)
	err := f.st.WriteMove(context.Background(), []int64{it.FromServerID, it.ToServerID}, func(tx *store.Tx) error {
		_, err := tx.ReleaseBatch(context.Background(), &it, 100)
		return err
	})
	if !errors.Is(err, store.ErrSwitchGuard) {
		t.Fatalf("release before the switch: got %v, want ErrSwitchGuard", err)
	}
	if got := f.count(`SELECT count(*) FROM messages WHERE server_id = ?`, f.nw.Servers[0]); got != 30 {
		t.Errorf("originals after the refused release: got %d, want 30", got)
	}
}

// WriteMove checks its servers, runs without foreign key enforcement (so
// crashtest.Check must catch what enforcement would have refused) and
// leaves the writer enforcing again for everyone else.
func TestWriteMoveEnforcesOnceAndRestores(t *testing.T) {
	f := newFixture(t, crashtest.Spec{Servers: 2, Users: []int{1}, Messages: 3})
	ctx := context.Background()
	from := f.nw.Servers[0]
	called := false
	err := f.st.WriteMove(ctx, []int64{from, 999999}, func(*store.Tx) error { called = true; return nil })
	if mailnet.ErrorKind(err) != mailnet.KindNotFound || called {
		t.Fatalf("move to a missing server: got %v (fn called: %v), want not found before fn", err, called)
	}
	orphan := `INSERT INTO messages (user_id, server_id, folder, subject, size, received_at) VALUES (?, ?, 'Inbox', 'orphan', 1, '2024-01-01T00:00:00Z')`
	if err := f.st.WriteMove(ctx, []int64{from}, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, orphan, 999999, from)
		return err
	}); err != nil {
		t.Fatalf("unenforced insert: %v", err)
	}
	if err := crashtest.Check(ctx, f.raw, nil, 0); err == nil || !strings.Contains(err.Error(), "foreign key") {
		t.Errorf("check with a message of a missing user: got %v, want a broken foreign key", err)
	}
	err = f.st.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, orphan, 999998, from)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Errorf("enforced insert after WriteMove: got %v, want a foreign key error", err)
	}
}

func TestVerifyFailureLeavesSourceIntact(t *testing.T) {
	f := newFixture(t, crashtest.Spec{Servers: 2, Users: []int{1}, Messages: 40})
	user, from := f.nw.Users[0][0], f.nw.Servers[0]
	j := f.start(actions.MoveRequest{UserIDs: []int64{user}, ToServerID: f.nw.Servers[1]})
	sabotaged := false
	j = f.run(j.ID, actions.RunnerOptions{Batch: 10, OnBatch: func(int64) {
		if !sabotaged {
			sabotaged = true
			f.exec(`UPDATE messages SET subject = 'garbled' WHERE id = (SELECT min(id) FROM messages WHERE copy_of IS NOT NULL)`)
		}
	}})
	if j.Status != mailnet.JobFailed || j.Items[0].State != mailnet.ItemFailed || !strings.Contains(j.Items[0].Error, "verify") {
		t.Fatalf("job: got %s, item %s %q; want failed, failed, a verify error", j.Status, j.Items[0].State, j.Items[0].Error)
	}
	if got := f.home(user); got != from {
		t.Errorf("home: got %d, want the source %d", got, from)
	}
	f.check([]int64{user}, 40)
	if got := f.count(`SELECT count(*) FROM audit WHERE action = 'move.fail'`); got != 1 {
		t.Errorf("move.fail audit rows: got %d, want 1", got)
	}
}

func TestSwitchIsGuardedByTheSource(t *testing.T) {
	f := newFixture(t, crashtest.Spec{Servers: 3, Users: []int{1}, Messages: 20})
	user, elsewhere := f.nw.Users[0][0], f.nw.Servers[2]
	j := f.start(actions.MoveRequest{UserIDs: []int64{user}, ToServerID: f.nw.Servers[1]})
	moved := false
	j = f.run(j.ID, actions.RunnerOptions{Batch: 5, OnBatch: func(int64) {
		if !moved {
			// Someone rehomes the user, with their messages, mid-copy.
			moved = true
			f.exec(`UPDATE messages SET server_id = ? WHERE user_id = ? AND copy_of IS NULL`, elsewhere, user)
			f.exec(`UPDATE users SET server_id = ? WHERE id = ?`, elsewhere, user)
			err := f.st.Write(context.Background(), func(tx *store.Tx) error { return crashtest.Recount(context.Background(), tx.Tx) })
			if err != nil {
				t.Fatal(err)
			}
		}
	}})
	it := j.Items[0]
	if it.State != mailnet.ItemFailed {
		t.Fatalf("item: got %s, want failed", it.State)
	}
	if got := f.home(user); got != elsewhere {
		t.Errorf("home: got %d, want %d (left where the other writer put it)", got, elsewhere)
	}
	if got := f.count(`SELECT count(*) FROM messages WHERE user_id = ? AND server_id = ?`, user, elsewhere); got != 20 {
		t.Errorf("messages at the user's home: got %d, want 20", got)
	}
	if got := f.count(`SELECT count(*) FROM messages WHERE copy_of IS NOT NULL`); got != 0 {
		t.Errorf("copies left: got %d, want 0", got)
	}
}

func TestCancelBeforeSwitchKeepsUserOnSource(t *testing.T) {
	f := newFixture(t, crashtest.Spec{Servers: 2, Users: []int{1}, Messages: 60})
	user, from := f.nw.Users[0][0], f.nw.Servers[0]
	j := f.start(actions.MoveRequest{UserIDs: []int64{user}, ToServerID: f.nw.Servers[1]})
	var res actions.CancelResult
	j = f.run(j.ID, actions.RunnerOptions{Batch: 10, OnBatch: func(id int64) {
		if res.Message == "" {
			var err error
			if res, err = f.a.CancelJob(adminCtx, id); err != nil {
				t.Errorf("cancel: %v", err)
			}
		}
	}})
	if res.Immediate || res.Completing != 0 {
		t.Errorf("cancel result: got %+v, want a deferred cancel with nothing completing", res)
	}
	if j.Status != mailnet.JobCancelled || j.Items[0].State != mailnet.ItemCancelled {
		t.Fatalf("job %s item %s, want cancelled, cancelled", j.Status, j.Items[0].State)
	}
	if got := f.home(user); got != from {
		t.Errorf("home: got %d, want %d", got, from)
	}
	f.check([]int64{user}, 60)
	if _, err := f.a.CancelJob(adminCtx, j.ID); mailnet.ErrorKind(err) != mailnet.KindConflict {
		t.Errorf("cancel a finished job: got %v, want a conflict", err)
	}
}

func TestCancelAfterSwitchCompletesTheSwitchedUser(t *testing.T) {
	f := newFixture(t, crashtest.Spec{Servers: 2, Users: []int{2}, Messages: 30})
	u1, u2 := f.nw.Users[0][0], f.nw.Users[0][1]
	from, to := f.nw.Servers[0], f.nw.Servers[1]
	j := f.start(actions.MoveRequest{UserIDs: []int64{u1, u2}, ToServerID: to})
	var res actions.CancelResult
	j = f.run(j.ID, actions.RunnerOptions{Batch: 20, OnBatch: func(id int64) {
		// Cancel once the first user has switched and the second is copying.
		if res.Message == "" && f.home(u1) == to {
			var err error
			if res, err = f.a.CancelJob(adminCtx, id); err != nil {
				t.Errorf("cancel: %v", err)
			}
		}
	}})
	if res.Completing != 1 || !strings.Contains(res.Message, "1 users already switched complete") {
		t.Errorf("cancel result: got %+v, want 1 completing, said so", res)
	}
	if j.Status != mailnet.JobCancelled {
		t.Fatalf("job: got %s, want cancelled", j.Status)
	}
	states := []string{j.Items[0].State, j.Items[1].State}
	if states[0] != mailnet.ItemDone || states[1] != mailnet.ItemCancelled {
		t.Errorf("item states: got %v, want [done cancelled]", states)
	}
	if f.home(u1) != to || f.home(u2) != from {
		t.Errorf("homes: got %d and %d, want %d and %d", f.home(u1), f.home(u2), to, from)
	}
	f.check([]int64{u1, u2}, 30)
}

func TestCancelQueuedJobIsImmediate(t *testing.T) {
	f := newFixture(t, crashtest.Spec{Servers: 2, Users: []int{1}, Messages: 5})
	j := f.start(actions.MoveRequest{UserIDs: f.nw.Users[0], ToServerID: f.nw.Servers[1]})
	res, err := f.a.CancelJob(adminCtx, j.ID)
	if err != nil || !res.Immediate || res.Job.Status != mailnet.JobCancelled {
		t.Fatalf("cancel queued: got %+v, %v; want immediate, cancelled", res, err)
	}
	// The user is free to move again.
	f.start(actions.MoveRequest{UserIDs: f.nw.Users[0], ToServerID: f.nw.Servers[1]})
}

func TestMessagesDeliveredDuringCopyArrive(t *testing.T) {
	f := newFixture(t, crashtest.Spec{Servers: 2, Users: []int{1}, Messages: 50})
	user, from := f.nw.Users[0][0], f.nw.Servers[0]
	j := f.start(actions.MoveRequest{UserIDs: []int64{user}, ToServerID: f.nw.Servers[1]})
	delivered := 0
	j = f.run(j.ID, actions.RunnerOptions{Batch: 10, OnBatch: func(int64) {
		if delivered < 3 {
			delivered++
			f.exec(`INSERT INTO messages (user_id, server_id, folder, subject, size, received_at)
				VALUES (?, ?, 'Inbox', 'late ' || ?, 1, '2025-01-01T00:00:00Z')`, user, from, delivered)
			f.exec(`UPDATE users SET message_count = message_count + 1 WHERE id = ?`, user)
			f.exec(`UPDATE servers SET message_count = message_count + 1 WHERE id = ?`, from)
		}
	}})
	if j.Status != mailnet.JobDone || j.Done != 53 || j.Total != 53 {
		t.Fatalf("job: got %s %d/%d, want done 53/53", j.Status, j.Done, j.Total)
	}
	f.check([]int64{user}, 53)
}

func TestOneActiveMovePerUser(t *testing.T) {
	f := newFixture(t, crashtest.Spec{Servers: 3, Users: []int{2}, Messages: 1})
	f.start(actions.MoveRequest{UserIDs: f.nw.Users[0][:1], ToServerID: f.nw.Servers[1]})
	_, err := f.a.StartMove(adminCtx, actions.MoveRequest{UserIDs: f.nw.Users[0], ToServerID: f.nw.Servers[2]})
	e, ok := mailnet.AsError(err)
	if !ok || e.Kind != mailnet.KindConflict || e.Field != "user_ids" || !strings.Contains(e.Message, "u1-1") {
		t.Fatalf("second move of u1-1: got %v, want a conflict on user_ids naming u1-1", err)
	}
	if got := f.count(`SELECT count(*) FROM jobs`); got != 1 {
		t.Errorf("jobs after the refused move: got %d, want 1 (nothing written)", got)
	}
	// The database itself refuses, whatever the code above it does.
	err = f.st.Write(context.Background(), func(tx *store.Tx) error {
		return tx.InsertMoveItem(context.Background(), 1, f.nw.Users[0][0], f.nw.Servers[0], f.nw.Servers[2], 0)
	})
	if !errors.Is(err, store.ErrActiveMove) {
		t.Errorf("direct insert of a second active item: got %v, want ErrActiveMove", err)
	}
}

func TestStartMoveValidation(t *testing.T) {
	f := newFixture(t, crashtest.Spec{Servers: 4, Users: []int{1, 1}, Messages: 1})
	s1, s2, s3, s4 := f.nw.Servers[0], f.nw.Servers[1], f.nw.Servers[2], f.nw.Servers[3]
	u1 := f.nw.Users[0][0]
	f.exec(`UPDATE servers SET status = 'decommissioned' WHERE id = ?`, s3)
	f.exec(`UPDATE servers SET status = 'stopped' WHERE id = ?`, s4)
	cases := []struct {
		name  string
		req   actions.MoveRequest
		field string
	}{
		{"empty selection", actions.MoveRequest{ToServerID: s2}, "user_ids"},
		{"no target", actions.MoveRequest{UserIDs: []int64{u1}}, "to_server_id"},
		{"unknown target", actions.MoveRequest{UserIDs: []int64{u1}, ToServerID: 999}, "to_server_id"},
		{"unknown user", actions.MoveRequest{UserIDs: []int64{999}, ToServerID: s2}, "user_ids"},
		{"decommissioned target", actions.MoveRequest{UserIDs: []int64{u1}, ToServerID: s3}, "to_server_id"},
		{"stopped target", actions.MoveRequest{UserIDs: []int64{u1}, ToServerID: s4}, "to_server_id"},
		{"already on target", actions.MoveRequest{UserIDs: []int64{u1}, ToServerID: s1}, "user_ids"},
		{"evacuate unknown server", actions.MoveRequest{FromServerID: 999, ToServerID: s2, All: true}, "from_server_id"},
		{"evacuate empty server", actions.MoveRequest{FromServerID: s4, ToServerID: s2, All: true}, "from_server_id"},
		{"evacuate onto itself", actions.MoveRequest{FromServerID: s1, ToServerID: s1, All: true}, "to_server_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.a.StartMove(adminCtx, c.req)
			e, ok := mailnet.AsError(err)
			if !ok || e.Kind != mailnet.KindInvalid || e.Field != c.field {
				t.Errorf("got %v, want 422 on %s", err, c.field)
			}
		})
	}
	if got := f.count(`SELECT count(*) FROM jobs`); got != 0 {
		t.Errorf("jobs after refused requests: got %d, want 0", got)
	}
}

func TestRunnerPicksUpQueuedJobs(t *testing.T) {
	f := newFixture(t, crashtest.Spec{Servers: 3, Users: []int{2, 2}, Messages: 10})
	a := f.start(actions.MoveRequest{UserIDs: f.nw.Users[0], ToServerID: f.nw.Servers[2]})
	b := f.start(actions.MoveRequest{UserIDs: f.nw.Users[1], ToServerID: f.nw.Servers[0]})
	r := f.a.NewRunner(actions.RunnerOptions{Poll: 10 * time.Millisecond})
	r.Start()
	defer r.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for _, id := range []int64{a.ID, b.ID} {
		for {
			j, err := f.st.JobSummary(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if j.Finished() {
				if j.Status != mailnet.JobDone {
					t.Errorf("job %d: got %s, want done", id, j.Status)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %d still %s after 10s", id, j.Status)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	f.check(append(f.nw.Users[0], f.nw.Users[1]...), 10)
}

func TestRunnerWakesWhenAJobIsPosted(t *testing.T) {
	f := newFixture(t, crashtest.Spec{Servers: 2, Users: []int{1}, Messages: 10})
	// A poll that never fires in the test: only StartMove's signal can wake it.
	scheduled := make(chan struct{}, 1)
	r := f.a.NewRunner(actions.RunnerOptions{Poll: time.Hour, OnSchedule: func() {
		select {
		case scheduled <- struct{}{}:
		default:
		}
	}})
	r.Start()
	defer r.Stop()
	<-scheduled // the first schedule, with nothing queued, has run
	j := f.start(actions.MoveRequest{UserIDs: f.nw.Users[0], ToServerID: f.nw.Servers[1]})
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := f.st.JobSummary(context.Background(), j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Finished() {
			if got.Status != mailnet.JobDone {
				t.Fatalf("job: got %s, want done", got.Status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still %s 5s after it was posted, with a one-hour poll", got.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
	f.check(f.nw.Users[0], 10)
}

func TestMoveRefusesATargetHoldingTheUsersMessages(t *testing.T) {
	for _, c := range []struct {
		name  string
		batch int // 5: the user is copied in batches; 100: moved whole in one transaction
	}{{"batched", 5}, {"whole", 100}} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, crashtest.Spec{Servers: 2, Users: []int{1}, Messages: 20})
			user, from, to := f.nw.Users[0][0], f.nw.Servers[0], f.nw.Servers[1]
			// A stray row of the user on the target, copy_of set as a
			// leftover copy would have it: the move must not count it as
			// its own copy, nor delete it.
			f.exec(`INSERT INTO messages (user_id, server_id, folder, subject, size, received_at, copy_of)
				VALUES (?, ?, 'Inbox', 'stray', 1, '2025-01-01T00:00:00Z', 999999)`, user, to)
			f.exec(`UPDATE servers SET message_count = message_count + 1 WHERE id = ?`, to)
			j := f.start(actions.MoveRequest{UserIDs: []int64{user}, ToServerID: to})
			j = f.run(j.ID, actions.RunnerOptions{Batch: c.batch})
			if j.Status != mailnet.JobFailed || j.Items[0].State != mailnet.ItemFailed || !strings.Contains(j.Items[0].Error, "already holds 1") {
				t.Fatalf("job %s item %s %q; want failed, failed, naming the 1 message already there", j.Status, j.Items[0].State, j.Items[0].Error)
			}
			if got := f.home(user); got != from {
				t.Errorf("home: got %d, want the source %d", got, from)
			}
			if got := f.count(`SELECT count(*) FROM messages WHERE user_id = ? AND server_id = ?`, user, from); got != 20 {
				t.Errorf("messages on the source: got %d, want 20", got)
			}
			if got := f.count(`SELECT count(*) FROM messages WHERE user_id = ? AND server_id = ?`, user, to); got != 1 {
				t.Errorf("rows on the target: got %d, want the 1 stray", got)
			}
			if s, u, err := f.st.BulkCounterMismatches(context.Background()); err != nil || s != 0 || u != 0 {
				t.Errorf("counter mismatches: got %d servers, %d users (%v), want 0 and 0", s, u, err)
			}
		})
	}
}

func TestCountersFollowTheRowsThroughAMove(t *testing.T) {
	// Small users go whole (one transaction per group), the big one in
	// batches; after either, and after a move back, the counters equal the
	// rows by BulkCounterMismatches' rule.
	f := newFixture(t, crashtest.Spec{Servers: 2, Users: []int{5}, Messages: 40})
	from, to := f.nw.Servers[0], f.nw.Servers[1]
	f.exec(`WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 200)
		INSERT INTO messages (user_id, server_id, folder, subject, size, received_at)
		SELECT ?, ?, 'Inbox', 'extra ' || n, 1, '2025-01-01T00:00:00Z' FROM seq`, f.nw.Users[0][0], from)
	f.exec(`UPDATE users SET message_count = message_count + 200 WHERE id = ?`, f.nw.Users[0][0])
	f.exec(`UPDATE servers SET message_count = message_count + 200 WHERE id = ?`, from)
	for i, dst := range []int64{to, from} {
		j := f.start(actions.MoveRequest{FromServerID: f.home(f.nw.Users[0][0]), ToServerID: dst, All: true})
		j = f.run(j.ID, actions.RunnerOptions{Batch: 100})
		if j.Status != mailnet.JobDone || j.Done != 400 || j.Total != 400 {
			t.Fatalf("move %d: got %s %d/%d (%s), want done 400/400", i+1, j.Status, j.Done, j.Total, j.Error)
		}
		if s, u, err := f.st.BulkCounterMismatches(context.Background()); err != nil || s != 0 || u != 0 {
			t.Errorf("after move %d, counter mismatches: got %d servers, %d users (%v), want 0 and 0", i+1, s, u, err)
		}
		if got := f.count(`SELECT message_count FROM servers WHERE id = ?`, dst); got != 400 {
			t.Errorf("after move %d, target message_count: got %d, want 400", i+1, got)
		}
	}
	if err := crashtest.Check(context.Background(), f.raw, f.nw.Users[0][1:], 40); err != nil {
		t.Error(err)
	}
}
