package main

import (
	"fmt"
	"os"
	"runtime"
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

// LOADTEST_HEAPPROFILE=FILE makes a _serve-* child write a heap profile
// (after a GC) LOADTEST_HEAPPROFILE_SECONDS (default 15) seconds in: what
// an idle connection holds.
func init() {
	file := os.Getenv("LOADTEST_HEAPPROFILE")
	if file == "" || len(os.Args) < 2 || !strings.HasPrefix(os.Args[1], "_serve-") {
		return
	}
	runtime.MemProfileRate = 256 // fine enough to see a socket's few hundred bytes
	secs, err := strconv.Atoi(os.Getenv("LOADTEST_HEAPPROFILE_SECONDS"))
	if err != nil || secs <= 0 || secs > 300 {
		secs = 15
	}
	time.AfterFunc(time.Duration(secs)*time.Second, func() {
		f, err := os.Create(file + "." + strings.TrimPrefix(os.Args[1], "_serve-"))
		if err != nil {
			return
		}
		defer f.Close()
		runtime.GC()
		pprof.Lookup("heap").WriteTo(f, 0)
		if g, err := os.Create(file + ".goroutines"); err == nil {
			pprof.Lookup("goroutine").WriteTo(g, 1)
			g.Close()
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Fprintf(os.Stderr, "heap profile: %d goroutines, heap in use %d KiB, stacks %d KiB\n",
			runtime.NumGoroutine(), m.HeapInuse>>10, m.StackInuse>>10)
	})
}
