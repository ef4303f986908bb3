package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Savepoint is a named savepoint of a write transaction, for work that
// must be undone alone while the transaction goes on (one user of a
// group that fails its checks). It can be run many times; its three
// statements are prepared once, at first use, and die with the
// transaction.
type Savepoint struct {
	tx                    *Tx
	name                  string
	begin, undo, finished *sql.Stmt
}

// NewSavepoint returns savepoint name of tx; name is an SQL identifier
// chosen by the code, never input.
func (tx *Tx) NewSavepoint(name string) *Savepoint {
	for _, r := range name {
		if (r < 'a' || r > 'z') && r != '_' {
			panic("store: savepoint name " + name)
		}
	}
	return &Savepoint{tx: tx, name: name}
}

// InSavepoint runs fn inside savepoint name of tx (see Savepoint.Run).
func (tx *Tx) InSavepoint(ctx context.Context, name string, fn func() error) error {
	sp := tx.NewSavepoint(name)
	defer sp.Close()
	return sp.Run(ctx, fn)
}

// Run runs fn inside the savepoint. If fn fails, what it wrote is rolled
// back and its error returned; the transaction stays usable either way.
func (sp *Savepoint) Run(ctx context.Context, fn func() error) error {
	if err := sp.exec(ctx, &sp.begin, `SAVEPOINT `+sp.name); err != nil {
		return err
	}
	err := fn()
	if err != nil {
		if e := sp.exec(ctx, &sp.undo, `ROLLBACK TO `+sp.name); e != nil {
			return errors.Join(err, e)
		}
	}
	if e := sp.exec(ctx, &sp.finished, `RELEASE `+sp.name); e != nil {
		return errors.Join(err, e)
	}
	return err
}

func (sp *Savepoint) exec(ctx context.Context, st **sql.Stmt, query string) error {
	if *st == nil {
		s, err := sp.tx.PrepareContext(ctx, query)
		if err != nil {
			return fmt.Errorf("%s: %w", query, err)
		}
		*st = s
	}
	if _, err := (*st).ExecContext(ctx); err != nil {
		return fmt.Errorf("%s: %w", query, err)
	}
	return nil
}

// Close closes the prepared statements (the transaction's end does too).
func (sp *Savepoint) Close() {
	for _, st := range []*sql.Stmt{sp.begin, sp.undo, sp.finished} {
		if st != nil {
			st.Close()
		}
	}
	sp.begin, sp.undo, sp.finished = nil, nil, nil
}
