//go:build unix

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// lockDatabase takes the lock beside db for command, or says who holds it.
// The lock is flock(2) on FILE.lock: the kernel drops it when the holder
// exits, however it exits, so a crash leaves no stale lock.
func lockDatabase(db, command string) (*dbLock, error) {
	path := lockPath(db)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock database %s: %w", db, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			note, _ := io.ReadAll(io.LimitReader(f, 512))
			return nil, inUseError(db, path, string(note))
		}
		return nil, fmt.Errorf("lock database %s: %w", db, err)
	}
	note := holderNote(command, time.Now())
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt([]byte(note), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock database %s: write %s: %w", db, path, err)
	}
	return &dbLock{path: path, release: func() error {
		_ = f.Truncate(0)
		return f.Close() // closing the descriptor drops the flock
	}}, nil
}
