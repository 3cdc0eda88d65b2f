// Command systemcontroller is Atoll's reference System Controller: the dc
// Manager over an embedded SQLite store (or PostgreSQL), its availability audit, and the
// dcmanager-compatible REST API (with /metrics and /healthz), assembled with
// google/wire (wire.go, wire_gen.go).
//
//	systemcontroller --data-dir DIR [--listen 127.0.0.1:8119] [--config FILE] [--sim-phase-duration 3s] [--demo]
//
// The data directory holds atoll.db (the store), secret.key (the AES key
// sealing BMC passwords), token (the API token, created on first start and
// printed once) and url (where the API listens); dcctl reads the last two.
// An in-flight deploy resumes after a restart, even after kill -9. With
// --database (PostgreSQL) several controllers may share one database: the
// first to take the store's writer lock is active, the others stand by
// until it stops or dies, then one of them takes over.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/atoll-edge/atoll/internal/flock"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	cfg, err := parseConfig(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "systemcontroller:", err)
		return 2
	}
	// One daemon per data directory (its token, key, image store and, on
	// SQLite, its database); the kernel drops the lock if we die.
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		fmt.Fprintln(stderr, "systemcontroller:", err)
		return 1
	}
	lock, err := flock.TryLock(filepath.Join(cfg.DataDir, lockFile))
	if err != nil {
		fmt.Fprintf(stderr, "systemcontroller: data directory %s: %v\n", cfg.DataDir, err)
		return 1
	}
	defer lock.Unlock()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app, cleanup, err := initApp(ctx, cfg, stderrWriter(stderr))
	if err != nil {
		fmt.Fprintln(stderr, "systemcontroller:", err)
		return 1
	}
	err = app.Run(ctx)
	cleanup()
	if err != nil && ctx.Err() == nil {
		app.log.Error("system controller failed", "err", err)
		return 1
	}
	app.log.Info("system controller stopped")
	return 0
}
