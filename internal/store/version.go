package store

import "sync/atomic"

// version counts the transactions committed through this Store. Read
// models cache by it: a cache entry built at version v holds every write
// whose Write call returned before v was read, so a client that has seen
// its write committed never gets an older entry (read-your-writes).
//
// It is per process: writes by another process on the same file (the
// command-line tools) do not bump it.
type version struct{ n atomic.Uint64 }

// Version returns the number of write transactions that have finished
// committing. Read it BEFORE reading the data that a cache keys by it: the
// data can then only be as new as the version or newer, never older.
func (s *Store) Version() uint64 { return s.ver.n.Load() }

// bump is called after every commit, including a commit that returned an
// error (it may have reached the disk), and before Write returns.
func (s *Store) bump() { s.ver.n.Add(1) }
