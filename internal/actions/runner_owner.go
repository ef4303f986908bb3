package actions

import (
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// A runner's id, as jobs.owner records it, is host/pid/random: random per
// runner, so two runners never share one, and host and pid so that a
// runner can tell that the process holding a job's lease is gone (killed,
// crashed) and take the job over without waiting for the lease to lapse.

// liveOwners are the ids of this process's runners not yet stopped.
var liveOwners sync.Map

func newOwner() string {
	host, _ := os.Hostname()
	owner := fmt.Sprintf("%s/%d/%s", host, os.Getpid(), rand.Text()[:12])
	liveOwners.Store(owner, true)
	return owner
}

func forgetOwner(owner string) { liveOwners.Delete(owner) }

// ownerGone reports whether owner is known to run no more: a runner of
// this process that stopped, or of a process on this host that has ended
// (whose pid this process may even have been given since). An owner on
// another host is never known to be gone: its lease must lapse. Being
// wrong here costs no correctness, only a handover: the owner's next
// write transaction fails (store.ErrLeaseLost) and it stops.
func ownerGone(owner string) bool {
	parts := strings.Split(owner, "/")
	if len(parts) != 3 {
		return false
	}
	host, _ := os.Hostname()
	pid, err := strconv.Atoi(parts[1])
	if parts[0] != host || err != nil || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		_, live := liveOwners.Load(owner)
		return !live
	}
	return !processAlive(pid)
}
