package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/api"
	"github.com/atoll-edge/atoll/dc/sqlstore"
)

// stderrWriter is where the logs and the one-time token go.
type stderrWriter io.Writer

func newLogger(cfg Config, w stderrWriter) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// openStore opens the PostgreSQL database of cfg.Database, or else
// (creating it) the SQLite file dataDir/atoll.db. Lists are served from the
// Manager's in-memory read model, not from the store: run one daemon per
// database.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (dc.Store, func(), error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, nil, err
	}
	var (
		st  *sqlstore.Store
		err error
	)
	if cfg.Database != "" {
		st, err = sqlstore.OpenPostgres(ctx, cfg.Database, sqlstore.Options{Logger: log})
	} else {
		st, err = sqlstore.Open(ctx, filepath.Join(cfg.DataDir, dbFile), sqlstore.Options{Logger: log})
	}
	if err != nil {
		return nil, nil, err
	}
	return st, func() {
		if err := st.Close(); err != nil {
			log.Error("closing the store", "err", err)
		}
	}, nil
}

// newSealer loads (creating) dataDir/secret.key.
func newSealer(cfg Config) (dc.Sealer, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	key, err := dc.LoadOrCreateKey(filepath.Join(cfg.DataDir, keyFile))
	if err != nil {
		return nil, err
	}
	return dc.NewAESGCMSealer(key)
}

func simDurationOf(cfg Config) simDuration { return simDuration(cfg.SimPhaseDuration) }

func newManager(st dc.Store, cfg Config, log *slog.Logger, reg prometheus.Registerer, sealer dc.Sealer, ph Phases) (*dc.Manager, func(), error) {
	m, err := dc.NewManager(st, dc.Options{
		Logger: log, Registerer: reg, Sealer: sealer,
		Install: ph.Install, Bootstrap: ph.Bootstrap, Config: ph.Config,
		MaxConcurrentDeploys: cfg.MaxConcurrentDeploys,
	})
	if err != nil {
		return nil, nil, err
	}
	return m, func() {
		if err := m.Close(); err != nil {
			log.Error("closing the manager", "err", err)
		}
	}, nil
}

func newAuditor(m *dc.Manager, hc dc.HealthChecker, cfg Config, log *slog.Logger, reg prometheus.Registerer) (*dc.Auditor, error) {
	return dc.NewAuditor(m, hc, dc.AuditOptions{Interval: cfg.AuditInterval, Logger: log, Registerer: reg})
}

// tokenState is the API token and whether this start created it.
type tokenState struct {
	token   apiToken
	created bool
}

func loadToken(cfg Config) (tokenState, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return tokenState{}, err
	}
	t, created, err := loadOrCreateToken(cfg.DataDir)
	return tokenState{token: t, created: created}, err
}

// newAPI serves the Manager; lists come from its in-memory read model
// (Manager.ViewSubclouds) without copying records.
func newAPI(m *dc.Manager, tok tokenState, cfg Config, log *slog.Logger, reg prometheus.Registerer) (*api.Handler, error) {
	opts := api.Options{Logger: log, Registerer: reg, MaxBodyBytes: cfg.MaxBodyBytes}
	return api.New(m, string(tok.token), opts)
}

// rootHandler is the daemon's whole HTTP surface.
type rootHandler http.Handler

// newMux serves the API under /v1.0, metrics at /metrics and liveness at
// /healthz (the last two without a token, as scrapers and probes expect).
func newMux(h *api.Handler, reg *prometheus.Registry, st dc.Store) rootHandler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if _, err := st.GetGroup(ctx, dc.DefaultGroupID); err != nil {
			http.Error(w, "store: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.Handle("/", h)
	return mux
}

// urlOf is the base URL clients use for a listen address: an unspecified
// host (0.0.0.0, ::) is reached on loopback.
func urlOf(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
