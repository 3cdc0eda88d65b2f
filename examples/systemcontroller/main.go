// Command systemcontroller is Atoll's reference System Controller: the dc
// Manager over an embedded SQLite store, its availability audit, and the
// dcmanager-compatible REST API (with /metrics and /healthz), assembled with
// google/wire (wire.go, wire_gen.go).
//
//	systemcontroller --data-dir DIR [--listen 127.0.0.1:8119] [--config FILE] [--sim-phase-duration 3s] [--demo]
//
// The data directory holds atoll.db (the store), secret.key (the AES key
// sealing BMC passwords), token (the API token, created on first start and
// printed once) and url (where the API listens); dcctl reads the last two.
// Deploy phases are simulated for now (--sim-phase-duration); an in-flight
// deploy resumes after a restart, even after kill -9.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
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
