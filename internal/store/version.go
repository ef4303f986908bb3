package store

import "sync/atomic"

// version counts the transactions committed through this Store. Read
// models cache by it: a cache entry built at version v holds every write
// whose Write call returned before v was read, so a client that has seen
// its write committed never gets an older entry (read-your-writes).
//
// It is per process: writes by another process on the same file (the
// command-line tools) do not bump it.
type version struct {
	n atomic.Uint64
	// inv counts the commits that may have changed the inventory: every
	// commit but those marked Tx.EventLogOnly.
	inv atomic.Uint64
}

// Version returns the number of write transactions that have finished
// committing. Read it BEFORE reading the data that a cache keys by it: the
// data can then only be as new as the version or newer, never older.
func (s *Store) Version() uint64 { return s.ver.n.Load() }

// InventoryVersion is Version without the commits that wrote only the
// event log (Tx.EventLogOnly): a read model of the configuration (servers,
// connectors, their MTA facts) caches by it and survives a stream of
// events. Read it before the data, as Version.
func (s *Store) InventoryVersion() uint64 { return s.ver.inv.Load() }

// bump is called after every commit, including a commit that returned an
// error (it may have reached the disk), and before Write returns.
func (s *Store) bump(tx *Tx) {
	if !tx.eventLogOnly {
		s.ver.inv.Add(1)
	}
	s.ver.n.Add(1)
}

// EventLogOnly marks the transaction as one that writes only the event
// log and what ingest derives from it (a server's last event, dir-sync
// requestors' numbers, tracking records), never a server's or a
// connector's configuration: its commit leaves InventoryVersion as it is.
func (tx *Tx) EventLogOnly() { tx.eventLogOnly = true }
