package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/schollz/progressbar/v3"

	"mailnet/internal/actions"
	"mailnet/internal/demo"
	"mailnet/internal/store"
	"mailnet/internal/tracking"
)

// demoConfig is what demo is told.
type demoConfig struct {
	db    string
	opt   demo.Options
	quiet bool
	// trackingRecords is how many message tracking records to generate
	// over the network (--tracking-records; 0: none).
	trackingRecords int64
}

func parseDemo(args []string, getenv env, stderr io.Writer) (demoConfig, error) {
	fs := newFlags("demo", stderr)
	db := dbFlag(fs, getenv)
	servers := fs.integer("servers", "", 10000, 1, math.MaxInt32, "servers to generate")
	users := fs.integer("users", "", 1000000, 0, math.MaxInt32, "users to generate")
	messages := fs.integer("messages", "", 5000000, 0, math.MaxInt32, "messages to generate")
	seed := fs.integer("seed", "", 1, math.MinInt64, math.MaxInt64, "random seed: the same seed gives the same network")
	batch := fs.integer("batch", "", 20000, 1, math.MaxInt32, "rows per transaction")
	quiet := fs.boolean("quiet", "", "no progress bar")
	trackingRecords := fs.integer("tracking-records", "", 0, 0, 100_000_000, "message tracking records to generate over the network's servers")
	if err := fs.Parse(args); err != nil {
		return demoConfig{}, err
	}
	if fs.NArg() > 0 {
		return demoConfig{}, fmt.Errorf("demo: unexpected argument %q", fs.Arg(0))
	}
	return demoConfig{db: *db, quiet: *quiet, trackingRecords: *trackingRecords, opt: demo.Options{
		Servers: int(*servers), Users: int(*users), Messages: int(*messages), Seed: *seed, Batch: int(*batch),
	}}, nil
}

// cmdDemo generates a large network for benchmarks into an empty database.
// It holds the database's lock while it writes, so it refuses a database
// a console is serving (and a console waits for it to finish).
func cmdDemo(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	cfg, err := parseDemo(args, getenv, stderr)
	if err != nil {
		return err
	}
	opt, db := cfg.opt, cfg.db
	plan, err := demo.NewPlan(opt)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	lock, err := lockDatabase(db, "demo")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer lock.Release()
	st, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	_, n, err := st.BulkInventoryCounts(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("demo: %s already holds %d servers; generate into a new file", db, n)
	}

	total := plan.Rows()
	var bar *progressbar.ProgressBar
	if !cfg.quiet {
		bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("generating"),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rows"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }),
		)
	}
	start := time.Now()
	err = plan.Write(ctx, st, opt, func(done, total int64) {
		if bar != nil {
			_ = bar.Set64(done)
		}
	})
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("demo: interrupted; %s holds a partial network, delete it", db)
		}
		return fmt.Errorf("demo: %w", err)
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "Generated %s in %s: %d sites, %d servers (%d duplicate-serial pairs), %d users, %d messages, %d routes, %d connectors, %d requestors.\n",
		db, elapsed.Round(time.Millisecond), len(plan.Sites), plan.Servers, plan.DuplicatePairs(),
		plan.Users, plan.Messages, plan.Routes, plan.Connectors, plan.Requestors)
	fmt.Fprintf(stdout, "%d rows at %.0f rows/s.\n", total, float64(total)/elapsed.Seconds())
	if cfg.trackingRecords > 0 {
		return demoTracking(ctx, st, cfg, stdout)
	}
	return nil
}

// demoTracking generates the tracking records of demo --tracking-records
// through the tracking store's group-committing writer.
func demoTracking(ctx context.Context, st *store.Store, cfg demoConfig, stdout io.Writer) error {
	tk := tracking.NewSQLite(st, tracking.Options{})
	defer tk.Close()
	start := time.Now()
	n, err := demo.GenerateTracking(ctx, st, tk, cfg.trackingRecords, uint64(cfg.opt.Seed), time.Now().UTC(), nil)
	if err != nil {
		return fmt.Errorf("demo tracking: %w", err)
	}
	el := time.Since(start)
	fmt.Fprintf(stdout, "%d tracking records in %s: %.0f records/s.\n", n, el.Round(time.Millisecond), float64(n)/el.Seconds())
	return nil
}

// startDemo seeds an empty database with the demo network for serve
// --demo; a database that already holds servers is left alone.
func startDemo(ctx context.Context, st *store.Store, acts *actions.Actions, log *slog.Logger, stdout io.Writer) error {
	sum, err := demo.Seed(ctx, st)
	if err != nil {
		return fmt.Errorf("demo seed: %w", err)
	}
	if !sum.Seeded {
		log.Info("demo: database left alone", "reason", sum.Skipped)
		return nil
	}
	log.Info("demo network seeded", "servers", sum.Servers, "users", sum.Users, "messages", sum.Messages, "elapsed", sum.Elapsed)
	fmt.Fprint(stdout, sum.String())
	return nil
}
