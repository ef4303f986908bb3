package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"mailnet/internal/store"
)

// BenchFile returns the path of a database in dir holding the network that
// Generate makes for o, generating it the first time and reusing it after:
// benchmarks of large networks share one file per size instead of spending
// a minute on each run. A file appears under its final name only when it
// is complete.
func BenchFile(ctx context.Context, dir string, o Options) (string, error) {
	path := filepath.Join(dir, fmt.Sprintf("mailnet-bench-%d-%d-%d.db", o.Servers, o.Users, o.Messages))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	tmp := path + ".building"
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(tmp + suffix)
	}
	st, err := store.Open(ctx, tmp, store.Options{})
	if err != nil {
		return "", err
	}
	err = Generate(ctx, st, o, nil)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return "", fmt.Errorf("generate %s: %w", path, err)
	}
	return path, nil
}
