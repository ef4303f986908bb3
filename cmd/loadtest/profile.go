package main

import (
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// A hidden switch for finding where a server child's CPU goes:
// LOADTEST_CPUPROFILE=FILE makes a _serve-* child write a CPU profile of
// its first LOADTEST_CPUPROFILE_SECONDS (default 15) seconds to FILE.
func init() {
	file := os.Getenv("LOADTEST_CPUPROFILE")
	if file == "" || len(os.Args) < 2 || !strings.HasPrefix(os.Args[1], "_serve-") {
		return
	}
	secs, err := strconv.Atoi(os.Getenv("LOADTEST_CPUPROFILE_SECONDS"))
	if err != nil || secs <= 0 || secs > 300 {
		secs = 15
	}
	f, err := os.Create(file + "." + strings.TrimPrefix(os.Args[1], "_serve-"))
	if err != nil {
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return
	}
	time.AfterFunc(time.Duration(secs)*time.Second, func() {
		pprof.StopCPUProfile()
		f.Close()
	})
}
