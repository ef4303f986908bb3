// Command admin-web is the Mailnet Admin console: a web console for the
// administrators of a mixed Microsoft Mail and Exchange network.
//
//	admin-web serve --db FILE --addr HOST:PORT [--public-url URL] [--demo]
//	admin-web migrate --db FILE
//	admin-web user add NAME --role admin|viewer   (password on stdin)
//	admin-web token add NAME --role admin|viewer|agent
//	admin-web backup --db FILE --to FILE
//	admin-web demo --db FILE --servers N --users N --messages N
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "admin-web:", err)
		os.Exit(1)
	}
}

// env looks up an environment variable; tests pass their own.
type env func(string) string

const usage = `usage: admin-web COMMAND [flags]

commands:
  serve    run the console (--db FILE --addr HOST:PORT [--demo])
  migrate  apply database migrations (--db FILE)
  user     manage accounts (add NAME --role admin|viewer, list, disable NAME)
  token    manage API tokens (add NAME --role admin|viewer|agent, list, revoke ID)
  backup   copy a live database consistently (--db FILE --to FILE)
  demo     generate a large network for benchmarks (--db FILE --servers N --users N --messages N)

Run "admin-web COMMAND -h" for a command's flags.
`

// run runs one command. Help (-h) goes to stdout and is not an error.
func run(ctx context.Context, args []string, getenv env, stdin io.Reader, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, getenv, stdin, stdout, stderr)
	var help *helpError
	if errors.As(err, &help) {
		fmt.Fprint(stdout, help.text)
		return nil
	}
	return err
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "--h", "help":
		return true
	}
	return false
}

func dispatch(ctx context.Context, args []string, getenv env, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	cmd, rest := args[0], args[1:]
	if len(rest) == 1 && isHelp(rest[0]) {
		switch cmd {
		case "user":
			return &helpError{text: userUsage + "\n\nRun \"admin-web user add -h\" for its flags.\n"}
		case "token":
			return &helpError{text: tokenUsage + "\n\nRun \"admin-web token add -h\" for its flags.\n"}
		}
	}
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, getenv, stdout, stderr)
	case "token":
		return cmdToken(ctx, rest, getenv, stdout, stderr)
	case "user":
		return cmdUser(ctx, rest, getenv, stdin, stdout, stderr)
	case "backup":
		return cmdBackup(ctx, rest, getenv, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		return &helpError{text: usage}
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
