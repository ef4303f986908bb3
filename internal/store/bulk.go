package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The bulk path loads generated networks (the demo and the benchmark
// generator) into an empty inventory. It bypasses actions on purpose: no
// audit rows, no live frames, explicit ids so that rows can reference each
// other without reading back, and multi-row INSERTs prepared once per
// transaction. Counters (servers.user_count, servers.message_count,
// users.message_count) are written as given: the caller computes them as it
// generates, and BulkVerifyCounters says whether it got them right.

// ErrNotEmpty is returned when a bulk load is asked of an inventory that
// already holds servers.
var ErrNotEmpty = errors.New("the inventory is not empty")

// BulkServer is one servers row. ID is explicit.
type BulkServer struct {
	ID           int64
	Name         string
	SiteID       int64
	Kind         string
	Version      string
	Serial       string
	Addresses    []string
	Status       string // "" means running
	UserCount    int64
	MessageCount int64
}

// BulkUser is one users row. ID is explicit.
type BulkUser struct {
	ID           int64
	Alias        string
	DisplayName  string
	ServerID     int64
	InAllListing bool
	MessageCount int64
}

// BulkMessage is one messages row; the database assigns its id.
type BulkMessage struct {
	UserID     int64
	ServerID   int64
	Folder     string
	Subject    string
	Size       int64
	ReceivedAt time.Time
}

// BulkRoute is one configured routing entry. Via is 0 unless Configured is
// indirect.
type BulkRoute struct {
	From, To   int64
	Configured string
	Via        int64
}

// BulkConnector is one connectors row; the database assigns its id.
type BulkConnector struct {
	Kind            string
	Name            string
	ServerID        int64
	RemoteServerID  int64 // 0: none
	StackAddresses  []string
	OverrideAddress string // "": no override
	PollMinutes     int    // 0: not set
	Logging         map[string]string
}

// BulkDX makes an Exchange server the directory synchronization server.
type BulkDX struct {
	ServerID       int64
	AdminAccount   string
	Paused         bool
	CopyAdmin      bool
	ForwardToAdmin bool
	CycleMinutes   int
}

// BulkRequestor is one requestors row. ID is explicit.
type BulkRequestor struct {
	ID                int64
	Network           string
	Postoffice        string
	DXServerID        int64
	ServerID          int64 // the postoffice's server; 0: unknown
	RequestorSync     int64
	ServerSync        int64
	Imports           int64
	ExportOnNextCycle bool
	LastReqTx         string
	LastReqTxAt       time.Time
	LastSrvTx         string
	LastSrvTxAt       time.Time
}

// BulkEvent is one events row; the database assigns its id.
type BulkEvent struct {
	Time        time.Time
	Server      string
	ServerID    int64 // 0: unknown to the inventory
	RequestorID int64 // 0: none
	Source      string
	EventID     int
	Category    string
	Severity    string
	Description string
	Subject     string
	Fields      map[string]string
}

// bulkTable describes one table the bulk path fills, in foreign-key order.
type bulkTable struct {
	name string
	cols []string
}

const (
	tServers = iota
	tDX
	tUsers
	tMessages
	tRoutes
	tConnectors
	tRequestors
	tEvents
	nBulkTables
)

var bulkTables = [nBulkTables]bulkTable{
	tServers:    {"servers", []string{"id", "name", "site_id", "kind", "version", "serial", "addresses", "status", "user_count", "message_count", "created_at", "updated_at"}},
	tDX:         {"dx_servers", []string{"server_id", "admin_account", "paused", "copy_admin", "forward_to_admin", "cycle_minutes", "updated_at"}},
	tUsers:      {"users", []string{"id", "alias", "display_name", "server_id", "in_all_listing", "message_count", "created_at"}},
	tMessages:   {"messages", []string{"user_id", "server_id", "folder", "subject", "size", "received_at"}},
	tRoutes:     {"routes", []string{"from_server_id", "to_server_id", "configured", "via_server_id", "updated_at"}},
	tConnectors: {"connectors", []string{"kind", "name", "server_id", "remote_server_id", "stack_addresses", "override_address", "poll_minutes", "logging", "created_at", "updated_at"}},
	tRequestors: {"requestors", []string{"id", "network", "postoffice", "dx_server_id", "server_id", "requestor_sync", "server_sync", "imports", "export_on_next_cycle", "last_reqtx", "last_reqtx_at", "last_srvtx", "last_srvtx_at", "created_at", "updated_at"}},
	tEvents:     {"events", []string{"time", "server", "server_id", "requestor_id", "source", "event_id", "category", "severity", "description", "subject", "fields"}},
}

// rowsPerStatement bounds a multi-row INSERT: large enough to amortise the
// per-statement cost of database/sql and the driver, small enough to stay
// far below SQLite's limit of 32766 bound parameters.
const rowsPerStatement = 128

// Bulk buffers generated rows and writes them in large transactions. One
// batch is written in the background while the caller generates the next,
// so generation and SQLite share the two cores. It is not safe for
// concurrent use. The context given to NewBulk bounds every write.
type Bulk struct {
	s       *Store
	ctx     context.Context
	batch   int
	pending int
	bufs    [nBulkTables][]any
	spare   [nBulkTables][]any
	flight  chan error // the batch being written, if any
	now     string
	onFlush func(rows int)
	fast    bool
	err     error
}

// NewBulk returns a bulk writer that commits every batch rows (default
// 10,000) and calls onFlush, if not nil, with the rows of each commit (from
// the writing goroutine, one call at a time).
func (s *Store) NewBulk(ctx context.Context, batch int, onFlush func(rows int)) *Bulk {
	if batch <= 0 {
		batch = 10000
	}
	return &Bulk{s: s, ctx: ctx, batch: batch, now: fmtTime(s.Now()), onFlush: onFlush}
}

// Fast trades durability for speed until Close: commits skip the fsync
// (synchronous NORMAL: a crash of the process loses nothing committed, a
// power cut may lose the last batches) and the WAL is checkpointed every
// 80 MB instead of every 4 MB, with a 256 MB page cache. For loading a new database only: the
// writer connection is shared with everything else.
func (b *Bulk) Fast() error {
	if _, err := b.s.w.ExecContext(b.ctx, `PRAGMA synchronous = NORMAL`); err != nil {
		return fmt.Errorf("bulk fast: %w", err)
	}
	if _, err := b.s.w.ExecContext(b.ctx, `PRAGMA wal_autocheckpoint = 20000`); err != nil {
		return fmt.Errorf("bulk fast: %w", err)
	}
	// A large network's indexes outgrow the usual 64 MB page cache.
	if _, err := b.s.w.ExecContext(b.ctx, `PRAGMA cache_size = -262144`); err != nil {
		return fmt.Errorf("bulk fast: %w", err)
	}
	b.fast = true
	return nil
}

// Close waits for the batch in flight and restores the writer's settings
// after Fast. It does not flush: call Flush first.
func (b *Bulk) Close() error {
	err := b.wait()
	if b.fast {
		b.fast = false
		ctx := context.WithoutCancel(b.ctx)
		for _, q := range []string{`PRAGMA wal_checkpoint(TRUNCATE)`, `PRAGMA wal_autocheckpoint = 1000`, `PRAGMA synchronous = FULL`, `PRAGMA cache_size = -65536`} {
			if _, e := b.s.w.ExecContext(ctx, q); e != nil {
				err = errors.Join(err, fmt.Errorf("bulk close: %w", e))
			}
		}
	}
	return err
}

func (b *Bulk) add(t int, vals ...any) error {
	if b.err != nil {
		return b.err
	}
	b.bufs[t] = append(b.bufs[t], vals...)
	b.pending++
	if b.pending >= b.batch {
		return b.dispatch()
	}
	return nil
}

func nullInt(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

func nullString(v string) any {
	if v == "" {
		return nil
	}
	return v
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return fmtTime(t)
}

func jsonMap(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	out, _ := json.Marshal(m)
	return string(out)
}

// Server buffers a server.
func (b *Bulk) Server(r BulkServer) error {
	status := r.Status
	if status == "" {
		status = "running"
	}
	return b.add(tServers, r.ID, r.Name, r.SiteID, r.Kind, r.Version, r.Serial, marshalList(r.Addresses), status, r.UserCount, r.MessageCount, b.now, b.now)
}

// DX buffers a dir-sync server.
func (b *Bulk) DX(r BulkDX) error {
	cycle := r.CycleMinutes
	if cycle <= 0 {
		cycle = 60
	}
	return b.add(tDX, r.ServerID, r.AdminAccount, boolInt(r.Paused), boolInt(r.CopyAdmin), boolInt(r.ForwardToAdmin), cycle, b.now)
}

// User buffers a user.
func (b *Bulk) User(r BulkUser) error {
	return b.add(tUsers, r.ID, r.Alias, r.DisplayName, r.ServerID, boolInt(r.InAllListing), r.MessageCount, b.now)
}

// Message buffers a message.
func (b *Bulk) Message(r BulkMessage) error {
	return b.add(tMessages, r.UserID, r.ServerID, r.Folder, r.Subject, r.Size, fmtTime(r.ReceivedAt))
}

// Route buffers a routing entry.
func (b *Bulk) Route(r BulkRoute) error {
	return b.add(tRoutes, r.From, r.To, r.Configured, nullInt(r.Via), b.now)
}

// Connector buffers a connector.
func (b *Bulk) Connector(r BulkConnector) error {
	var poll any
	if r.PollMinutes > 0 {
		poll = r.PollMinutes
	}
	return b.add(tConnectors, r.Kind, r.Name, r.ServerID, nullInt(r.RemoteServerID), marshalList(r.StackAddresses),
		nullString(r.OverrideAddress), poll, jsonMap(r.Logging), b.now, b.now)
}

// Requestor buffers a dir-sync requestor.
func (b *Bulk) Requestor(r BulkRequestor) error {
	return b.add(tRequestors, r.ID, r.Network, r.Postoffice, r.DXServerID, nullInt(r.ServerID), r.RequestorSync, r.ServerSync,
		r.Imports, boolInt(r.ExportOnNextCycle), nullString(r.LastReqTx), nullTime(r.LastReqTxAt),
		nullString(r.LastSrvTx), nullTime(r.LastSrvTxAt), b.now, b.now)
}

// Event buffers an event. Call BulkSetLastEvents after the last flush.
func (b *Bulk) Event(r BulkEvent) error {
	return b.add(tEvents, fmtTime(r.Time), r.Server, nullInt(r.ServerID), nullInt(r.RequestorID), r.Source, r.EventID,
		r.Category, r.Severity, r.Description, r.Subject, jsonMap(r.Fields))
}

// Flush writes every buffered row and waits until it is committed.
func (b *Bulk) Flush() error {
	if err := b.dispatch(); err != nil {
		return err
	}
	return b.wait()
}

// wait waits for the batch in flight, if any, and takes its buffers back.
func (b *Bulk) wait() error {
	if b.flight != nil {
		if err := <-b.flight; err != nil && b.err == nil {
			b.err = err
		}
		b.flight = nil
	}
	return b.err
}

// dispatch hands the buffered rows to a goroutine that writes them in one
// transaction, tables in foreign-key order, once the previous batch is
// committed.
func (b *Bulk) dispatch() error {
	if err := b.wait(); err != nil {
		return err
	}
	if b.pending == 0 {
		return nil
	}
	bufs, n := b.bufs, b.pending
	b.bufs, b.spare = b.spare, [nBulkTables][]any{}
	b.pending = 0
	done := make(chan error, 1)
	b.flight = done
	go func() {
		err := b.s.Write(b.ctx, func(tx *Tx) error {
			for t := range nBulkTables {
				if err := insertRows(b.ctx, tx, bulkTables[t], bufs[t]); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil && b.onFlush != nil {
			b.onFlush(n)
		}
		for t := range bufs {
			clear(bufs[t])
			bufs[t] = bufs[t][:0]
		}
		b.spare = bufs
		done <- err
	}()
	return nil
}

func insertSQL(t bulkTable, rows int) string {
	var sb strings.Builder
	sb.WriteString("INSERT INTO ")
	sb.WriteString(t.name)
	sb.WriteString(" (")
	sb.WriteString(strings.Join(t.cols, ", "))
	sb.WriteString(") VALUES ")
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(t.cols)), ", ") + ")"
	for i := range rows {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(one)
	}
	return sb.String()
}

// insertRows inserts vals (rows of len(t.cols) values) with one prepared
// statement of rowsPerStatement rows, and one more for the remainder.
func insertRows(ctx context.Context, tx *Tx, t bulkTable, vals []any) error {
	width := len(t.cols)
	rows := len(vals) / width
	if rows == 0 {
		return nil
	}
	full := rows / rowsPerStatement
	if full > 0 {
		stmt, err := tx.PrepareContext(ctx, insertSQL(t, rowsPerStatement))
		if err != nil {
			return fmt.Errorf("bulk %s: %w", t.name, err)
		}
		defer stmt.Close()
		step := rowsPerStatement * width
		for i := range full {
			if _, err := stmt.ExecContext(ctx, vals[i*step:(i+1)*step]...); err != nil {
				return fmt.Errorf("bulk %s: %w", t.name, err)
			}
		}
	}
	if rest := rows % rowsPerStatement; rest > 0 {
		if _, err := tx.ExecContext(ctx, insertSQL(t, rest), vals[full*rowsPerStatement*width:]...); err != nil {
			return fmt.Errorf("bulk %s: %w", t.name, err)
		}
	}
	return nil
}

// BulkInventoryCounts returns how many sites and servers the database holds.
func (s *Store) BulkInventoryCounts(ctx context.Context) (sites, servers int64, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM sites), (SELECT count(*) FROM servers)`).Scan(&sites, &servers)
	if err != nil {
		return 0, 0, fmt.Errorf("inventory counts: %w", err)
	}
	return sites, servers, nil
}

// BulkOrganization returns the organization name (the /o= of DNs).
func (s *Store) BulkOrganization(ctx context.Context) (string, error) {
	var name string
	if err := s.r.QueryRowContext(ctx, `SELECT name FROM organization WHERE id = 1`).Scan(&name); err != nil {
		return "", fmt.Errorf("organization: %w", err)
	}
	return name, nil
}

// BulkEnsureSites returns the ids of the named sites, creating those that
// do not exist, in one transaction. Sites are few, so they are not part of
// the batched path.
func (s *Store) BulkEnsureSites(ctx context.Context, names []string) ([]int64, error) {
	ids := make([]int64, len(names))
	err := s.Write(ctx, func(tx *Tx) error {
		for i, name := range names {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sites (name, name_key, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, name, FoldName(name), fmtTime(tx.Now())); err != nil {
				return fmt.Errorf("site %q: %w", name, err)
			}
			if err := tx.QueryRowContext(ctx, `SELECT id FROM sites WHERE name_key = ? OR name = ? ORDER BY name_key IS NULL LIMIT 1`, FoldName(name), name).Scan(&ids[i]); err != nil {
				return fmt.Errorf("site %q: %w", name, err)
			}
		}
		return nil
	})
	return ids, err
}

// BulkSetLastEvents points every server at its newest event, with one
// aggregate UPDATE.
func (s *Store) BulkSetLastEvents(ctx context.Context) error {
	return s.Write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `
			UPDATE servers SET
				last_event_id = e.id,
				last_event_at = e.time
			FROM (SELECT server_id, max(id) AS id FROM events WHERE server_id IS NOT NULL GROUP BY server_id) AS m
			JOIN events AS e ON e.id = m.id
			WHERE servers.id = m.server_id`)
		if err != nil {
			return fmt.Errorf("last events: %w", err)
		}
		return nil
	})
}

// BulkCounterMismatches returns how many servers and users have a stored
// counter that differs from the rows it counts: a server counts the
// messages stored on it (a move's copies included), a user the messages on
// its home server (see the counter rule in moves.go). Both are 0 after a
// correct load. It scans users and messages: for checks, not for reports.
func (s *Store) BulkCounterMismatches(ctx context.Context) (servers, users int64, err error) {
	err = s.Read(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `
			SELECT count(*) FROM servers s
			LEFT JOIN (SELECT server_id, count(*) AS n FROM users GROUP BY server_id) u ON u.server_id = s.id
			LEFT JOIN (SELECT server_id, count(*) AS n FROM messages GROUP BY server_id) m ON m.server_id = s.id
			WHERE s.user_count <> coalesce(u.n, 0) OR s.message_count <> coalesce(m.n, 0)`).Scan(&servers); err != nil {
			return fmt.Errorf("server counters: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `
			SELECT count(*) FROM users u
			WHERE u.message_count <> (SELECT count(*) FROM messages m WHERE m.user_id = u.id AND m.server_id = u.server_id)`).Scan(&users); err != nil {
			return fmt.Errorf("user counters: %w", err)
		}
		return nil
	})
	return servers, users, err
}
