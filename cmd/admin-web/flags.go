package main

import (
	"flag"
	"io"
)

// newFlags returns a flag set for a subcommand that writes its usage to
// stderr and returns errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("admin-web "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// dbFlag adds --db with the MAILNET_DB environment fallback.
func dbFlag(fs *flag.FlagSet, getenv env) *string {
	return fs.String("db", fallback(getenv("MAILNET_DB"), "mailnet.db"), "SQLite database file (env MAILNET_DB)")
}

func fallback(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// parseInterspersed parses flags that may come after positional arguments
// ("token add NAME --role admin"), returning the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
