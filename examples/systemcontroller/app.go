package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/pxe"
)

// App is the assembled System Controller.
type App struct {
	cfg     Config
	log     *slog.Logger
	stderr  stderrWriter
	manager *dc.Manager
	auditor *dc.Auditor
	handler rootHandler
	token   tokenState
	boot    *pxe.Server // nil when --boot-listen is empty
	bootURL string
	fleet   *demoFleet // nil without --demo
}

func newApp(cfg Config, log *slog.Logger, stderr stderrWriter, m *dc.Manager, a *dc.Auditor, h rootHandler, tok tokenState,
	boot *pxe.Server, bl bootListener, fleet *demoFleet) *App {
	return &App{cfg: cfg, log: log, stderr: stderr, manager: m, auditor: a, handler: h, token: tok, boot: boot, bootURL: bl.URL, fleet: fleet}
}

// Run serves until ctx is done, then shuts down gracefully: the API stops
// taking requests, in-flight ones finish, the audit stops; the deploy
// workers stop when the wire cleanup closes the Manager (their subclouds
// keep their in-progress state and resume on the next start).
func (a *App) Run(ctx context.Context) error {
	if a.token.created {
		// Printed once, on the start that created it, and never logged.
		fmt.Fprintf(a.stderr, "\nAtoll System Controller API token (shown once; also in %s, mode 0600):\n\n    %s\n\n",
			filepath.Join(a.cfg.DataDir, tokenFile), a.token.token)
	}
	// Start takes the store's writer lock first: a controller sharing a
	// PostgreSQL database with an active one stands by here, serving
	// nothing, until that one stops or dies.
	if err := a.manager.Start(ctx); err != nil {
		return fmt.Errorf("starting the manager: %w", err)
	}
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return err
	}
	url := urlOf(ln.Addr())
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	a.log.Info("system controller listening", "url", url, "data_dir", a.cfg.DataDir, "store", a.cfg.storeKind(), "phases", a.cfg.Phases,
		"sim_phase_duration", a.cfg.SimPhaseDuration, "health", a.cfg.Health, "boot_url", a.bootURL)
	// The url file says the controller is ready: written once the Manager
	// has started (interrupted deploys resumed), with the listener open.
	if err := writeFileAtomic(filepath.Join(a.cfg.DataDir, urlFile), []byte(url+"\n"), 0o644); err != nil {
		_ = ln.Close()
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
		defer cancel()
		a.log.Info("shutting down")
		return srv.Shutdown(sctx)
	})
	g.Go(func() error { return a.auditor.Run(gctx) })
	g.Go(func() error {
		// Another controller may take over the store: stop serving.
		select {
		case <-a.manager.LockLost():
			return dc.ErrWriterLockLost
		case <-gctx.Done():
			return nil
		}
	})
	if a.boot != nil {
		g.Go(func() error { return a.boot.Serve(gctx) })
	}
	if a.fleet != nil {
		g.Go(func() error { return seedDemo(gctx, a.manager, a.fleet, a.log) })
	}
	return g.Wait()
}
