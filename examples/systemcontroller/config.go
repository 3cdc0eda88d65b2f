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
	// Database selects the store: empty for the embedded SQLite file
	// DataDir/atoll.db, or a PostgreSQL DSN (a postgres:// URL or libpq
	// key=value pairs). One controller at a time per database: the
	// Manager serves lists from its in-memory read model.
	Database string `yaml:"database"`
	// Listen is the API's TCP address.
	Listen string `yaml:"listen"`
	// Phases selects the deploy phases: "redfish" (install through the
	// subcloud's BMC with redfish.RemoteInstall, bootstrap and config
	// simulated until the subcloud agent exists), "sim" (every phase
	// simulated, taking SimPhaseDuration) or "none" (an added subcloud goes
	// straight to complete; for API scale runs).
	Phases string `yaml:"phases"`
	// BootListen is the boot server's TCP address (images, OSTree, iPXE
	// scripts, the host status callback); empty turns it off.
	BootListen string `yaml:"boot_listen"`
	// BootURL is the boot server's base URL as hosts and BMCs reach it;
	// default derived from BootListen.
	BootURL string `yaml:"boot_url"`
	// BMCInsecure turns off TLS verification of BMCs (prefer BMCCAFile).
	BMCInsecure bool `yaml:"bmc_insecure"`
	// BMCCAFile is a PEM bundle verifying the BMCs' certificates.
	BMCCAFile string `yaml:"bmc_ca_file"`
	// DemoCount is the number of simulated servers and subclouds of --demo.
	DemoCount int `yaml:"demo_count"`
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
		Phases:               "redfish",
		BootListen:           "127.0.0.1:8120",
		DemoCount:            6,
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
	fs.StringVar(&fromFlags.Database, "database", cfg.Database, "PostgreSQL DSN (postgres://... or key=value); empty: SQLite in --data-dir")
	fs.StringVar(&fromFlags.Listen, "listen", cfg.Listen, "API listen address")
	fs.StringVar(&fromFlags.Phases, "phases", cfg.Phases, `deploy phases: "redfish" (install over the BMC), "sim" (simulated) or "none" (straight to complete)`)
	fs.StringVar(&fromFlags.BootListen, "boot-listen", cfg.BootListen, `boot server listen address ("" turns it off)`)
	fs.StringVar(&fromFlags.BootURL, "boot-url", cfg.BootURL, "boot server base URL as hosts and BMCs reach it (default from --boot-listen)")
	fs.BoolVar(&fromFlags.BMCInsecure, "bmc-insecure", cfg.BMCInsecure, "do not verify BMC TLS certificates (prefer --bmc-ca-file)")
	fs.StringVar(&fromFlags.BMCCAFile, "bmc-ca-file", cfg.BMCCAFile, "PEM bundle verifying BMC certificates")
	fs.IntVar(&fromFlags.DemoCount, "demo-count", cfg.DemoCount, "simulated servers and subclouds of --demo")
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
		case "database":
			cfg.Database = fromFlags.Database
		case "listen":
			cfg.Listen = fromFlags.Listen
		case "phases":
			cfg.Phases = fromFlags.Phases
		case "boot-listen":
			cfg.BootListen = fromFlags.BootListen
		case "boot-url":
			cfg.BootURL = fromFlags.BootURL
		case "bmc-insecure":
			cfg.BMCInsecure = fromFlags.BMCInsecure
		case "bmc-ca-file":
			cfg.BMCCAFile = fromFlags.BMCCAFile
		case "demo-count":
			cfg.DemoCount = fromFlags.DemoCount
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

// storeKind names the store cfg selects, for logs (never the DSN, which
// may carry a password).
func (c Config) storeKind() string {
	if c.Database != "" {
		return "postgres"
	}
	return "sqlite"
}

func (c Config) validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("--data-dir is required")
	case c.SimPhaseDuration < 0:
		return errors.New("--sim-phase-duration must not be negative")
	case c.Phases != "redfish" && c.Phases != "sim" && c.Phases != "none":
		return fmt.Errorf("--phases %q: must be redfish, sim or none", c.Phases)
	case c.Demo && (c.DemoCount < 1 || c.DemoCount > 1000):
		return fmt.Errorf("--demo-count %d: must be 1..1000", c.DemoCount)
	case c.Health != "sim" && c.Health != "https":
		return fmt.Errorf("--health %q: must be sim or https", c.Health)
	case c.LogFormat != "text" && c.LogFormat != "json":
		return fmt.Errorf("--log-format %q: must be text or json", c.LogFormat)
	}
	return nil
}
