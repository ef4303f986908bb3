package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// flagSet is a subcommand's flags. Every setting is a flag with an
// environment fallback, and each is parsed and checked once, after the
// command line is read: the flag when given, else the environment
// variable when set, else the default. A bad value from either is refused
// with both names; nothing falls back silently.
type flagSet struct {
	*flag.FlagSet
	getenv   env
	stderr   io.Writer
	settings []*setting
}

// setting is one flag with its environment variable. Its value stays raw
// until resolve, so a flag and an environment value are judged alike.
type setting struct {
	name, envName string
	kind, def     string // for the help: "duration", "720h0m0s"
	usage         string
	raw           string // from the command line
	set           bool
	isBool        bool
	resolve       func(raw string) error
}

func (s *setting) String() string { return s.raw }

func (s *setting) Set(v string) error {
	s.raw, s.set = v, true
	return nil
}

// IsBoolFlag lets a boolean be given as a bare --demo.
func (s *setting) IsBoolFlag() bool { return s.isBool }

// label names a setting in an error: "--events-max-age (MAILNET_EVENTS_MAX_AGE)".
func (s *setting) label() string {
	if s.envName == "" {
		return "--" + s.name
	}
	return "--" + s.name + " (" + s.envName + ")"
}

// helpError is what Parse returns for -h: run prints the text to stdout
// and exits 0.
type helpError struct{ text string }

func (e *helpError) Error() string { return "help requested" }
func (e *helpError) Unwrap() error { return flag.ErrHelp }

// newFlags returns the flag set of a subcommand. The flag package prints
// nothing itself: Parse returns errors for run to report once, and a
// helpError carrying the help text for -h. On a bad flag the flag list
// goes to stderr.
func newFlags(name string, stderr io.Writer) *flagSet {
	fs := flag.NewFlagSet("admin-web "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, stderr: stderr, getenv: func(string) string { return "" }}
}

// withEnv sets where the environment fallbacks are read.
func (f *flagSet) withEnv(getenv env) *flagSet {
	f.getenv = getenv
	return f
}

// Parse reads args, then resolves and checks every setting.
func (f *flagSet) Parse(args []string) error {
	if err := f.FlagSet.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &helpError{text: f.help()}
		}
		fmt.Fprint(f.stderr, f.help())
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	var errs []error
	for _, s := range f.settings {
		raw, from := s.raw, s.set
		if !from && s.envName != "" {
			if v := f.getenv(s.envName); v != "" {
				raw, from = v, true
			}
		}
		if !from {
			continue // the default, already in place
		}
		if err := s.resolve(raw); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q %w", s.label(), raw, err))
		}
	}
	return errors.Join(errs...)
}

func (f *flagSet) help() string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s [flags]\n\nflags (a flag wins over its environment variable):\n", f.Name())
	byName := map[string]*setting{}
	for _, s := range f.settings {
		byName[s.name] = s
	}
	f.VisitAll(func(fl *flag.Flag) {
		s, ok := byName[fl.Name]
		if !ok {
			fmt.Fprintf(&b, "  --%s VALUE\n      %s\n", fl.Name, fl.Usage)
			return
		}
		head := "  --" + s.name
		if !s.isBool {
			head += " " + s.kind
		}
		var notes []string
		if s.def != "" {
			notes = append(notes, "default "+s.def)
		}
		if s.envName != "" {
			notes = append(notes, "env "+s.envName)
		}
		fmt.Fprintf(&b, "%s\n      %s", head, s.usage)
		if len(notes) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(notes, "; "))
		}
		b.WriteString("\n")
	})
	return b.String()
}

// add registers a setting; resolve parses a raw value into its target and
// checks it, returning an error that reads after the quoted value
// ("is not a duration").
func (f *flagSet) add(name, envName, kind, def, usage string, resolve func(string) error) {
	s := &setting{name: name, envName: envName, kind: kind, def: def, usage: usage, isBool: kind == "bool", resolve: resolve}
	f.settings = append(f.settings, s)
	f.Var(s, name, usage)
}

func (f *flagSet) str(name, envName string, def string, usage string, check func(string) error) *string {
	v := def
	f.add(name, envName, "TEXT", def, usage, func(raw string) error {
		if check != nil {
			if err := check(raw); err != nil {
				return err
			}
		}
		v = raw
		return nil
	})
	if check != nil && def != "" {
		if err := check(def); err != nil {
			panic(fmt.Sprintf("--%s: default %q: %v", name, def, err))
		}
	}
	return &v
}

func (f *flagSet) boolean(name, envName string, usage string) *bool {
	v := false
	f.add(name, envName, "bool", "", usage, func(raw string) error {
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return errors.New("is not a boolean (use 1 or 0, true or false)")
		}
		v = b
		return nil
	})
	return &v
}

// duration takes a Go duration from min up.
func (f *flagSet) duration(name, envName string, def, min time.Duration, usage string) *time.Duration {
	v := def
	f.add(name, envName, "DURATION", durationText(def), usage, func(raw string) error {
		d, err := time.ParseDuration(raw)
		if err != nil {
			return errors.New("is not a duration (such as 90s, 15m or 720h)")
		}
		if d < min {
			if min == 0 {
				return errors.New("must not be negative")
			}
			return fmt.Errorf("must be at least %s", min)
		}
		v = d
		return nil
	})
	return &v
}

// durationText writes 720h rather than 720h0m0s.
func durationText(d time.Duration) string {
	t := d.String()
	if strings.HasSuffix(t, "m0s") {
		t = strings.TrimSuffix(t, "0s")
	}
	if strings.HasSuffix(t, "h0m") {
		t = strings.TrimSuffix(t, "0m")
	}
	return t
}

// integer takes whole numbers from min to max.
func (f *flagSet) integer(name, envName string, def, min, max int64, usage string) *int64 {
	v := def
	f.add(name, envName, "N", strconv.FormatInt(def, 10), usage, func(raw string) error {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return errors.New("is not a whole number")
		}
		if n < min || n > max {
			return fmt.Errorf("must be from %d to %d", min, max)
		}
		v = n
		return nil
	})
	return &v
}

func (f *flagSet) float(name, envName string, def, min float64, usage string) *float64 {
	v := def
	f.add(name, envName, "N", strconv.FormatFloat(def, 'g', -1, 64), usage, func(raw string) error {
		x, err := strconv.ParseFloat(raw, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return errors.New("is not a number")
		}
		if x < min {
			return fmt.Errorf("must be at least %g", min)
		}
		v = x
		return nil
	})
	return &v
}

// list takes a comma-separated list, each item checked.
func (f *flagSet) list(name, envName string, usage string, check func(string) error) *[]string {
	var v []string
	f.add(name, envName, "LIST", "", usage, func(raw string) error {
		items := splitList(raw)
		for _, it := range items {
			if err := check(it); err != nil {
				return fmt.Errorf("has %q, which %w", it, err)
			}
		}
		v = items
		return nil
	})
	return &v
}

// dbFlag adds --db with the MAILNET_DB environment fallback.
func dbFlag(fs *flagSet, getenv env) *string {
	fs.getenv = getenv
	return fs.str("db", "MAILNET_DB", "mailnet.db", "SQLite database file", notEmpty)
}

func notEmpty(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("must not be empty")
	}
	return nil
}

func oneOf(choices ...string) func(string) error {
	return func(s string) error {
		for _, c := range choices {
			if s == c {
				return nil
			}
		}
		return fmt.Errorf("is not one of %s", strings.Join(choices, ", "))
	}
}

// listenAddr accepts HOST:PORT (HOST may be empty for every interface).
func listenAddr(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("is not HOST:PORT")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return errors.New("has no port number (0-65535)")
	}
	return nil
}

// webOrigin accepts an absolute http or https address with nothing after
// the host and port but an optional "/": scheme://host[:port].
func webOrigin(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return errors.New("is not an absolute http:// or https:// address")
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return errors.New("must be scheme://host[:port] with no path, query or user")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return errors.New("has a bad port")
		}
	}
	return nil
}

// normalURL drops the optional trailing "/" of a checked webOrigin and
// lower-cases the scheme and host.
func normalURL(s string) string {
	u, _ := url.Parse(s)
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseInterspersed parses flags that may come after positional arguments
// ("token add NAME --role admin"), returning the positionals.
func parseInterspersed(fs *flagSet, args []string) ([]string, error) {
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
