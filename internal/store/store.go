// Package store owns the SQLite database: opening it with the right
// pragmas (one writer connection, a reader pool), applying migrations, and
// the typed queries and transactions of every aggregate. It holds no HTML
// and no business rule beyond what the schema enforces.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"mailnet/internal/mailnet"
	"mailnet/migrations"
)

// Store is the database. Writes go through one connection (SQLite has one
// writer; queuing in Go beats SQLITE_BUSY), reads through a pool.
type Store struct {
	w   *sql.DB
	r   *sql.DB
	Now func() time.Time // the clock, injected for tests
	ver version          // committed writes, for read caches (version.go)
}

// Options tune Open.
type Options struct {
	Readers int // reader pool size; default 2*GOMAXPROCS, at least 4
}

func dsn(path string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "journal_size_limit(67108864)")
	q.Add("_pragma", "cache_size(-65536)")
	q.Add("_pragma", "temp_store(memory)")
	// A row that INSERT OR REPLACE deletes fires its delete triggers only
	// with recursive triggers on: the inventory change log and the serial
	// counts (migrations 0012, 0013) then see it.
	q.Add("_pragma", "recursive_triggers(1)")
	if writer {
		q.Add("_pragma", "synchronous(FULL)")
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "synchronous(FULL)")
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the database at path and applies every
// pending migration.
func Open(ctx context.Context, path string, opt Options) (*Store, error) {
	w, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	if err := fillNameKeys(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	n := opt.Readers
	if n <= 0 {
		n = max(4, 2*runtime.GOMAXPROCS(0))
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(0)
	return &Store{w: w, r: r, Now: func() time.Time { return time.Now().UTC() }}, nil
}

// Migrate applies pending migrations to the database at path and reports
// what it applied.
func Migrate(ctx context.Context, path string) ([]string, error) {
	w, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, err
	}
	defer w.Close()
	w.SetMaxOpenConns(1)
	p, err := goose.NewProvider(goose.DialectSQLite3, w, migrations.FS)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	var applied []string
	for _, r := range res {
		applied = append(applied, r.Source.Path)
	}
	return applied, nil
}

func migrate(ctx context.Context, w *sql.DB) error {
	p, err := goose.NewProvider(goose.DialectSQLite3, w, migrations.FS)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Close closes both pools, readers first.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// DB returns the reader pool, for reports that run their own queries.
func (s *Store) DB() *sql.DB { return s.r }

// Tx is a write transaction, with the clock and the audit helper.
type Tx struct {
	*sql.Tx
	now          time.Time
	eventLogOnly bool // see EventLogOnly
}

// Now is the time the transaction started, in UTC.
func (tx *Tx) Now() time.Time { return tx.now }

// Write runs fn in one immediate transaction on the writer connection and
// commits if fn returns nil. Publish to the live hub after Write returns,
// never inside fn.
func (s *Store) Write(ctx context.Context, fn func(tx *Tx) error) error {
	return s.write(ctx, s.w, fn)
}

// WriteMove runs fn like Write, for a transaction of a move between the
// given servers, without foreign key enforcement. It checks once, under
// the writer lock, that each of the servers exists; fn must set no foreign
// key but to one of them or to a user id read from an existing row, as the
// copy, switch and release of a move do (move_items, which references
// both servers, keeps either from being deleted meanwhile). SQLite's
// enforcement looks up each parent for every row inserted and turns a
// DELETE into two passes (every rowid first, then a seek for each);
// without it, measured on one user's 100,000 messages, the copy and the
// release run 10-20% faster. crashtest.Check runs foreign_key_check after
// every kill.
func (s *Store) WriteMove(ctx context.Context, servers []int64, fn func(tx *Tx) error) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`); err != nil {
			// A connection left unenforced must serve no one else: the
			// pool opens a new one, with the DSN's pragmas.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return s.write(ctx, conn, func(tx *Tx) error {
		for _, id := range servers {
			var ok bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM servers WHERE id = ?)`, id).Scan(&ok); err != nil {
				return fmt.Errorf("move: %w", err)
			}
			if !ok {
				return mailnet.NotFound("server", id)
			}
		}
		return fn(tx)
	})
}

func (s *Store) write(ctx context.Context, db interface {
	BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
}, fn func(tx *Tx) error) error {
	sqlTx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer sqlTx.Rollback()
	tx := &Tx{Tx: sqlTx, now: s.Now().UTC()}
	if err := fn(tx); err != nil {
		return err
	}
	err = sqlTx.Commit()
	s.bump(tx)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Read runs fn in one read transaction, so that every query sees the same
// snapshot.
func (s *Store) Read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}

// Audit appends one row to the audit log inside tx. before and after are
// stored as JSON; either may be nil.
func (tx *Tx) Audit(ctx context.Context, action, objectType string, objectID int64, before, after any, detail string) error {
	b, err := jsonOrNull(before)
	if err != nil {
		return err
	}
	a, err := jsonOrNull(after)
	if err != nil {
		return err
	}
	var oid any
	if objectID != 0 {
		oid = objectID
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO audit (time, actor, action, object_type, object_id, before, after, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		fmtTime(tx.now), mailnet.ActorName(ctx), action, objectType, oid, b, a, detail)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

func jsonOrNull(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("audit json: %w", err)
	}
	return string(b), nil
}

// TimeLayout is how times are stored: RFC 3339 in UTC with fixed-width
// nanoseconds, so text order is time order.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func fmtTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func parseNullTime(s sql.NullString) time.Time {
	if !s.Valid {
		return time.Time{}
	}
	return parseTime(s.String)
}

// errCode returns the SQLite extended result code of err, or 0.
func errCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// IsConstraint reports whether err is a constraint violation.
func IsConstraint(err error) bool { return errCode(err)&0xff == sqlite3.SQLITE_CONSTRAINT }

// IsUnique reports whether err is a UNIQUE or PRIMARY KEY violation.
func IsUnique(err error) bool {
	c := errCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// IsForeignKey reports whether err is a FOREIGN KEY violation.
func IsForeignKey(err error) bool { return errCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY }

func marshalList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func unmarshalList(s string) []string {
	out := []string{}
	_ = json.Unmarshal([]byte(s), &out)
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Ping checks that a reader can query the database.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}
