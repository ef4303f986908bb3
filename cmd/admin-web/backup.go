package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"time"

	_ "modernc.org/sqlite" // the driver, also registered by internal/store
)

// cmdBackup copies a live database consistently with VACUUM INTO (a
// snapshot in one read transaction, so writers keep going), syncs the copy
// to disk, and checks it with PRAGMA integrity_check. It never copies the
// file bytes: a copy of a WAL database taken mid-write is torn.
func cmdBackup(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fset := newFlags("backup", stderr)
	db := dbFlag(fset, getenv)
	to := fset.String("to", "", "the backup file to create (must not exist)")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if *to == "" || fset.NArg() != 0 {
		return errors.New("usage: admin-web backup --db FILE --to FILE")
	}
	if _, err := os.Stat(*db); err != nil {
		return fmt.Errorf("backup: database %s: %w", *db, err)
	}
	if _, err := os.Stat(*to); err == nil {
		return fmt.Errorf("backup: %s already exists; choose a new file (a backup never overwrites)", *to)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backup: %s: %w", *to, err)
	}

	start := time.Now()
	if err := vacuumInto(ctx, *db, *to); err != nil {
		return err
	}
	if err := syncFile(*to); err != nil {
		return err
	}
	tables, err := checkBackup(ctx, *to)
	if err != nil {
		return err
	}
	info, err := os.Stat(*to)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s with VACUUM INTO: %d bytes, %d tables, integrity_check ok, in %s\n",
		*db, *to, info.Size(), tables, time.Since(start).Round(time.Millisecond))
	return nil
}

func sqliteDSN(path string, pragmas ...string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	return "file:" + path + "?" + q.Encode()
}

func vacuumInto(ctx context.Context, src, dst string) error {
	// Not query_only: SQLite counts writing the INTO file as a write.
	d, err := sql.Open("sqlite", sqliteDSN(src))
	if err != nil {
		return fmt.Errorf("backup: open %s: %w", src, err)
	}
	defer d.Close()
	d.SetMaxOpenConns(1)
	if _, err := d.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("backup: VACUUM INTO %s: %w", dst, err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("backup: sync %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("backup: sync %s: %w", path, err)
	}
	return f.Close()
}

// checkBackup opens the copy read-only, runs PRAGMA integrity_check
// (which must say "ok") and counts its tables.
func checkBackup(ctx context.Context, path string) (int, error) {
	d, err := sql.Open("sqlite", sqliteDSN(path, "query_only(1)"))
	if err != nil {
		return 0, fmt.Errorf("backup: open copy: %w", err)
	}
	defer d.Close()
	rows, err := d.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return 0, fmt.Errorf("backup: integrity_check: %w", err)
	}
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return 0, fmt.Errorf("backup: integrity_check: %w", err)
		}
		problems = append(problems, line)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("backup: integrity_check: %w", err)
	}
	if len(problems) != 1 || problems[0] != "ok" {
		return 0, fmt.Errorf("backup: integrity_check of %s failed: %v", path, problems)
	}
	var n int
	if err := d.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("backup: read copy: %w", err)
	}
	return n, nil
}
