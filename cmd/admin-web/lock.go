package main

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// dbLock is the OS lock beside a database (FILE.lock) that makes one
// console per database: two serve processes on one file would run the same
// jobs. The holder writes its pid, command and start time into the file so
// that whoever is refused can name it. The CLI commands that only make
// short transactions (user, token, backup, migrate) do not take it.
type dbLock struct {
	path    string
	release func() error
}

// Release gives the lock up; the file stays, empty, so that no other
// process can lock an inode that is about to be unlinked.
func (l *dbLock) Release() error {
	if l == nil || l.release == nil {
		return nil
	}
	err := l.release()
	l.release = nil
	return err
}

func lockPath(db string) string { return db + ".lock" }

// holderNote is what the lock file says about its holder.
func holderNote(command string, now time.Time) string {
	return fmt.Sprintf("pid %d, admin-web %s, started %s\n", os.Getpid(), command, now.UTC().Format(time.RFC3339))
}

// inUseError is the refusal of a second process: it names the database
// and the process holding it.
func inUseError(db, lockFile, note string) error {
	note = strings.TrimSpace(note)
	if note == "" {
		note = "a process that is still starting"
	}
	return fmt.Errorf("database %s is in use by another process (%s); stop it first, or use another --db (lock %s)", db, note, lockFile)
}
