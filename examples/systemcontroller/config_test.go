package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sc.yaml")
	if err := os.WriteFile(file, []byte("data_dir: /from/file\nlisten: 127.0.0.1:9000\nsim_phase_duration: 7s\ndemo: true\ndatabase: host=/run/pg dbname=dc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The file overrides defaults; flags given on the command line override the file.
	cfg, err := parseConfig([]string{"--config", file, "--listen", "127.0.0.1:0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/from/file" || cfg.Listen != "127.0.0.1:0" || cfg.SimPhaseDuration != 7*time.Second || !cfg.Demo || cfg.Phases != "redfish" || cfg.BootListen != "127.0.0.1:8120" ||
		cfg.Database != "host=/run/pg dbname=dc" || cfg.storeKind() != "postgres" {
		t.Fatalf("cfg = %+v", cfg)
	}
	if cfg, err := parseConfig(nil, io.Discard); err != nil || cfg.storeKind() != "sqlite" {
		t.Fatalf("default store: %v %v", cfg.storeKind(), err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("listne: typo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--config", bad},
		{"--phases", "real"},
		{"--health", "ping"},
		{"--sim-phase-duration", "-1s"},
		{"stray"},
	} {
		if _, err := parseConfig(args, io.Discard); err == nil {
			t.Errorf("parseConfig(%v) accepted", args)
		} else if strings.Contains(strings.Join(args, " "), "bad.yaml") && !strings.Contains(err.Error(), "listne") {
			t.Errorf("unknown key error does not name it: %v", err)
		}
	}
}
