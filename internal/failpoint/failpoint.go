// Package failpoint holds compiled-in crash points for the crash tests.
// MAILNET_FAILPOINT selects them: a comma-separated list of NAME or
// NAME:N, meaning "exit the process with status 137, as SIGKILL would, the
// Nth time the code passes NAME" (N defaults to 1). Unset, a failpoint
// costs one atomic load.
package failpoint

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// EnvVar is the environment variable that selects failpoints.
const EnvVar = "MAILNET_FAILPOINT"

var (
	once    sync.Once
	enabled atomic.Bool
	mu      sync.Mutex
	armed   map[string]int // name -> hits left before the crash
)

func load() {
	v := os.Getenv(EnvVar)
	if v == "" {
		return
	}
	armed = map[string]int{}
	for _, p := range strings.Split(v, ",") {
		name, n, _ := strings.Cut(strings.TrimSpace(p), ":")
		hits := 1
		if k, err := strconv.Atoi(n); err == nil && k > 0 {
			hits = k
		}
		if name != "" {
			armed[name] = hits
		}
	}
	enabled.Store(len(armed) > 0)
}

// Exit is how a failpoint ends the process; tests of this package replace it.
var Exit = func() { os.Exit(137) }

// Hit marks that the code passed name; if name is armed and this is the
// chosen pass, the process exits at once without running deferred
// functions or flushing anything, as a kill -9 would.
func Hit(name string) {
	once.Do(load)
	if !enabled.Load() {
		return
	}
	mu.Lock()
	left, ok := armed[name]
	if ok {
		left--
		armed[name] = left
	}
	mu.Unlock()
	if ok && left == 0 {
		Exit()
	}
}
