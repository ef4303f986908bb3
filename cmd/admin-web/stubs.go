package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"mailnet/internal/actions"
	"mailnet/internal/store"
)

func cmdUser(ctx context.Context, args []string, getenv env, stdin io.Reader, stdout, stderr io.Writer) error {
	return fmt.Errorf("user: not yet written")
}

func cmdBackup(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	return fmt.Errorf("backup: not yet written")
}

func cmdDemo(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	return fmt.Errorf("demo: not yet written")
}

func startDemo(ctx context.Context, st *store.Store, acts *actions.Actions, log *slog.Logger, stdout io.Writer) error {
	return nil
}
