//go:build !unix

package main

// lockDatabase on systems without flock(2) takes no lock: one console per
// database is then the operator's to keep.
func lockDatabase(db, command string) (*dbLock, error) {
	return &dbLock{path: lockPath(db)}, nil
}
