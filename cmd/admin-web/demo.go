package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/schollz/progressbar/v3"

	"mailnet/internal/actions"
	"mailnet/internal/demo"
	"mailnet/internal/store"
)

// cmdDemo generates a large network for benchmarks into an empty database.
func cmdDemo(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	db := dbFlag(fs, getenv)
	servers := fs.Int("servers", 10000, "servers to generate")
	users := fs.Int("users", 1000000, "users to generate")
	messages := fs.Int("messages", 5000000, "messages to generate")
	seed := fs.Int64("seed", 1, "random seed: the same seed gives the same network")
	batch := fs.Int("batch", 20000, "rows per transaction")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("demo: unexpected argument %q", fs.Arg(0))
	}
	opt := demo.Options{Servers: *servers, Users: *users, Messages: *messages, Seed: *seed, Batch: *batch}
	plan, err := demo.NewPlan(opt)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	st, err := store.Open(ctx, *db, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	_, n, err := st.BulkInventoryCounts(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("demo: %s already holds %d servers; generate into a new file", *db, n)
	}

	total := plan.Rows()
	var bar *progressbar.ProgressBar
	if !*quiet {
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
			return fmt.Errorf("demo: interrupted; %s holds a partial network, delete it", *db)
		}
		return fmt.Errorf("demo: %w", err)
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "Generated %s in %s: %d sites, %d servers (%d duplicate-serial pairs), %d users, %d messages, %d routes, %d connectors, %d requestors.\n",
		*db, elapsed.Round(time.Millisecond), len(plan.Sites), plan.Servers, plan.DuplicatePairs(),
		plan.Users, plan.Messages, plan.Routes, plan.Connectors, plan.Requestors)
	fmt.Fprintf(stdout, "%d rows at %.0f rows/s.\n", total, float64(total)/elapsed.Seconds())
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
