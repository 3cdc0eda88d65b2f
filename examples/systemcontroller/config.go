package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the daemon's configuration: defaults, then the YAML file of
// --config, then the flags given on the command line.
type Config struct {
	// DataDir holds atoll.db, secret.key, token and url.
	DataDir string `yaml:"data_dir"`
	// Listen is the API's TCP address.
	Listen string `yaml:"listen"`
	// Phases selects the deploy phases: "sim" (simulated, taking
	// SimPhaseDuration each) or "none" (an added subcloud goes straight to
	// complete; for API scale runs).
	Phases string `yaml:"phases"`
	// SimPhaseDuration is how long each simulated deploy phase takes.
	SimPhaseDuration time.Duration `yaml:"sim_phase_duration"`
	// Demo adds sample subclouds on start (if not present).
	Demo bool `yaml:"demo"`
	// LogLevel is debug, info, warn or error; LogFormat text or json.
	LogLevel  string `yaml:"log_level"`
	LogFormat string `yaml:"log_format"`
	// AuditInterval is the period of the availability audit.
	AuditInterval time.Duration `yaml:"audit_interval"`
	// Health selects the audit's health checker: "sim" (no network: every
	// subcloud stays offline until the fleet simulator is wired) or "https"
	// (the subcloud agent's health endpoint).
	Health string `yaml:"health"`
	// MaxConcurrentDeploys bounds the deploy phases running at once.
	MaxConcurrentDeploys int `yaml:"max_concurrent_deploys"`
	// MaxBodyBytes bounds API request bodies.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// ShutdownTimeout bounds the graceful shutdown of the API server.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

func defaultConfig() Config {
	return Config{
		DataDir:              ".demo",
		Listen:               "127.0.0.1:8119",
		Phases:               "sim",
		SimPhaseDuration:     3 * time.Second,
		LogLevel:             "info",
		LogFormat:            "text",
		AuditInterval:        30 * time.Second,
		Health:               "sim",
		MaxConcurrentDeploys: 100,
		MaxBodyBytes:         4 << 20,
		ShutdownTimeout:      10 * time.Second,
	}
}

// parseConfig reads the command line (and the file of --config).
func parseConfig(args []string, stderr io.Writer) (Config, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("systemcontroller", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var fromFlags Config
	configPath := fs.String("config", "", "YAML configuration file (flags override it)")
	fs.StringVar(&fromFlags.DataDir, "data-dir", cfg.DataDir, "data directory: atoll.db, secret.key, token, url")
	fs.StringVar(&fromFlags.Listen, "listen", cfg.Listen, "API listen address")
	fs.StringVar(&fromFlags.Phases, "phases", cfg.Phases, `deploy phases: "sim" (simulated) or "none" (straight to complete)`)
	fs.DurationVar(&fromFlags.SimPhaseDuration, "sim-phase-duration", cfg.SimPhaseDuration, "duration of each simulated deploy phase")
	fs.BoolVar(&fromFlags.Demo, "demo", cfg.Demo, "add sample subclouds on start (if not present)")
	fs.StringVar(&fromFlags.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	fs.StringVar(&fromFlags.LogFormat, "log-format", cfg.LogFormat, "text or json")
	fs.DurationVar(&fromFlags.AuditInterval, "audit-interval", cfg.AuditInterval, "availability audit period")
	fs.StringVar(&fromFlags.Health, "health", cfg.Health, `audit health checker: "sim" (no network) or "https" (subcloud agents)`)
	fs.IntVar(&fromFlags.MaxConcurrentDeploys, "max-concurrent-deploys", cfg.MaxConcurrentDeploys, "deploy phases running at once")
	fs.Int64Var(&fromFlags.MaxBodyBytes, "max-body-bytes", cfg.MaxBodyBytes, "API request body limit")
	fs.DurationVar(&fromFlags.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "graceful shutdown bound")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *configPath != "" {
		b, err := os.ReadFile(*configPath)
		if err != nil {
			return cfg, err
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return cfg, fmt.Errorf("%s: %w", *configPath, err)
		}
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "data-dir":
			cfg.DataDir = fromFlags.DataDir
		case "listen":
			cfg.Listen = fromFlags.Listen
		case "phases":
			cfg.Phases = fromFlags.Phases
		case "sim-phase-duration":
			cfg.SimPhaseDuration = fromFlags.SimPhaseDuration
		case "demo":
			cfg.Demo = fromFlags.Demo
		case "log-level":
			cfg.LogLevel = fromFlags.LogLevel
		case "log-format":
			cfg.LogFormat = fromFlags.LogFormat
		case "audit-interval":
			cfg.AuditInterval = fromFlags.AuditInterval
		case "health":
			cfg.Health = fromFlags.Health
		case "max-concurrent-deploys":
			cfg.MaxConcurrentDeploys = fromFlags.MaxConcurrentDeploys
		case "max-body-bytes":
			cfg.MaxBodyBytes = fromFlags.MaxBodyBytes
		case "shutdown-timeout":
			cfg.ShutdownTimeout = fromFlags.ShutdownTimeout
		}
	})
	return cfg, cfg.validate()
}

func (c Config) validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("--data-dir is required")
	case c.SimPhaseDuration < 0:
		return errors.New("--sim-phase-duration must not be negative")
	case c.Phases != "sim" && c.Phases != "none":
		return fmt.Errorf("--phases %q: must be sim or none", c.Phases)
	case c.Health != "sim" && c.Health != "https":
		return fmt.Errorf("--health %q: must be sim or https", c.Health)
	case c.LogFormat != "text" && c.LogFormat != "json":
		return fmt.Errorf("--log-format %q: must be text or json", c.LogFormat)
	}
	return nil
}
