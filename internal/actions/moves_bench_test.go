package actions_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"mailnet/internal/actions"
	"mailnet/internal/crashtest"
	"mailnet/internal/store"
)

// The move benchmarks report messages per second against a baseline
// measured in the same run: the same rows copied by one INSERT ... SELECT
// in one transaction, alone. The move runs twice: alone too (ratio), and
// beside another writer and reader every 5 ms (ratio-under-load), which
// the baseline would block for its whole transaction. MAILNET_BENCH_BIG=1 runs the sizes of the brief
// (one user with 100,000 messages; 10,000 users with 1,000,000 messages);
// the default is a tenth and a twentieth of that.
//
//	go test -run '^$' -bench Move -benchtime 1x ./internal/actions/
func BenchmarkMoveOneUser(b *testing.B) {
	msgs := 10000
	if os.Getenv("MAILNET_BENCH_BIG") == "1" {
		msgs = 100000
	}
	benchMove(b, crashtest.Spec{Servers: 2, Users: []int{1}, Messages: msgs}, false)
}

func BenchmarkMoveEvacuate(b *testing.B) {
	spec := crashtest.Spec{Servers: 2, Users: []int{500}, Messages: 100}
	if os.Getenv("MAILNET_BENCH_BIG") == "1" {
		spec.Users = []int{10000}
	}
	benchMove(b, spec, true)
}

func benchStore(b *testing.B, spec crashtest.Spec) (*store.Store, crashtest.Network) {
	b.Helper()
	st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	nw, err := crashtest.Seed(context.Background(), st, spec)
	if err != nil {
		b.Fatal(err)
	}
	return st, nw
}

// benchMove reports, per run, the baseline's rate and the move's rate
// twice: alone, as the baseline runs (ratio, the brief's figure), and
// beside another writer and reader of the console (ratio-under-load), with
// the p99 wait of those two while the move runs.
func benchMove(b *testing.B, spec crashtest.Spec, evacuate bool) {
	ctx := context.Background()
	total := float64(spec.Messages * spec.Users[0])
	var moveRate, loadedRate, baseRate float64
	var writeP99, readP99 time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		base, _ := benchStore(b, spec)
		t0 := time.Now()
		err := base.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO messages (user_id, server_id, folder, subject, size, received_at, copy_of)
				SELECT user_id, 2, folder, subject, size, received_at, id FROM messages WHERE server_id = 1`)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		baseRate = total / time.Since(t0).Seconds()

		b.StartTimer()
		moveRate = total / benchMoveOnce(b, spec, evacuate, nil).Seconds()
		b.StopTimer()

		var writes, reads []time.Duration
		loadedRate = total / benchMoveOnce(b, spec, evacuate, func(st *store.Store) {
			// An ingest-like write and a server-report-like read.
			t := time.Now()
			_ = st.Write(ctx, func(tx *store.Tx) error {
				_, err := tx.ExecContext(ctx, `UPDATE organization SET name = name WHERE id = 1`)
				return err
			})
			writes = append(writes, time.Since(t))
			t = time.Now()
			rows, err := st.DB().QueryContext(ctx, `SELECT id, name, user_count, message_count FROM servers ORDER BY name`)
			if err == nil {
				for rows.Next() {
				}
				rows.Close()
			}
			reads = append(reads, time.Since(t))
		}).Seconds()
		writeP99, readP99 = p99(writes), p99(reads)
	}
	b.ReportMetric(moveRate, "msgs/s")
	b.ReportMetric(baseRate, "baseline-msgs/s")
	b.ReportMetric(moveRate/baseRate, "ratio")
	b.ReportMetric(loadedRate/baseRate, "ratio-under-load")
	b.ReportMetric(float64(writeP99.Microseconds())/1000, "other-write-p99-ms")
	b.ReportMetric(float64(readP99.Microseconds())/1000, "report-read-p99-ms")
}

// benchMoveOnce seeds a store, moves the spec's first server's users to
// the second (all of them with evacuate) and returns how long the job
// took, from the request to its end, after checking that every message is
// there exactly once. If load is set it runs every 5 ms during the move.
func benchMoveOnce(b *testing.B, spec crashtest.Spec, evacuate bool, load func(*store.Store)) time.Duration {
	ctx := context.Background()
	st, nw := benchStore(b, spec)
	a := actions.New(st, nil, nil)
	req := actions.MoveRequest{UserIDs: nw.Users[0], ToServerID: nw.Servers[1]}
	if evacuate {
		req = actions.MoveRequest{FromServerID: nw.Servers[0], ToServerID: nw.Servers[1], All: true}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if load != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
				load(st)
			}
		}()
	}
	t0 := time.Now()
	j, err := a.StartMove(adminCtx, req)
	if err != nil {
		b.Fatal(err)
	}
	if err := a.NewRunner(actions.RunnerOptions{}).RunJob(ctx, j.ID); err != nil {
		b.Fatal(err)
	}
	took := time.Since(t0)
	close(stop)
	wg.Wait()
	if err := crashtest.Check(ctx, st.DB(), nil, 0); err != nil {
		b.Fatal(err)
	}
	return took
}

func p99(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[len(d)*99/100]
}
