package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/examples/internal/fleetsim"
	"github.com/atoll-edge/atoll/examples/internal/installer"
	"github.com/atoll-edge/atoll/pxe"
	"github.com/atoll-edge/atoll/pxe/httpboot"
	"github.com/atoll-edge/atoll/pxe/imagestore"
	"github.com/atoll-edge/atoll/redfish"
)

// imagesDir is where the image store lives inside the data directory.
const imagesDir = "images"

// demoImage is the boot image the demo registers and its subclouds' BMCs
// insert as virtual media: ~40 MB, as StarlingX's.
const (
	demoImage     = "demo-boot.iso"
	demoImageSize = 40 << 20
)

// bootListener is the boot server's listener and the base URL hosts and
// BMCs reach it at. A nil Listener means the boot server is off.
type bootListener struct {
	net.Listener
	URL string
}

// listenBoot opens the boot server's listener early, so that its URL is
// known to the install phase and the fleet simulator before they start.
func listenBoot(cfg Config) (bootListener, func(), error) {
	if cfg.BootListen == "" {
		return bootListener{}, func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.BootListen)
	if err != nil {
		return bootListener{}, nil, fmt.Errorf("boot server: %w", err)
	}
	url := cfg.BootURL
	if url == "" {
		url = urlOf(ln.Addr())
	}
	return bootListener{Listener: ln, URL: url}, func() { _ = ln.Close() }, nil
}

// openImages opens (creating) the image store in dataDir/images.
func openImages(cfg Config) (*imagestore.FileStore, func(), error) {
	dir := filepath.Join(cfg.DataDir, imagesDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	st, err := imagestore.Open(dir, imagestore.Options{})
	if err != nil {
		return nil, nil, err
	}
	return st, func() { _ = st.Close() }, nil
}

// hostsDir journals the final reports of installing hosts (data-dir/hosts).
const hostsDir = "hosts"

// newCompletions routes host status reports (received by the boot server)
// to the install phases waiting for them, journaling final reports so that
// an install resumed after a crash still learns what its host reported.
func newCompletions(cfg Config) (*installer.Completions, error) {
	return installer.NewCompletions(filepath.Join(cfg.DataDir, hostsDir))
}

// newBootServer serves images, OSTree repositories, iPXE scripts and the
// host status callback over HTTP (DHCP and TFTP stay off in this daemon:
// they need an interface on the provisioning network).
func newBootServer(bl bootListener, images *imagestore.FileStore, done *installer.Completions, log *slog.Logger, reg prometheus.Registerer) (*pxe.Server, error) {
	if bl.Listener == nil {
		return nil, nil
	}
	return pxe.New(pxe.Config{HTTP: &pxe.HTTPConfig{
		Listener: bl.Listener,
		Options:  httpboot.Options{Images: images, Status: done, BaseURL: bl.URL},
	}}, pxe.Options{Logger: log.With("component", "boot"), Registerer: reg})
}

// demoFleet is the simulated fleet of --demo, nil otherwise.
type demoFleet struct {
	*fleetsim.Fleet
	imageURL string
}

// newDemoFleet starts the simulated servers (emulated Redfish BMCs, hosts
// that install when they boot the inserted image, subcloud agents) and
// registers the demo boot image.
func newDemoFleet(ctx context.Context, cfg Config, bl bootListener, images *imagestore.FileStore, log *slog.Logger) (*demoFleet, func(), error) {
	if !cfg.Demo {
		return nil, func() {}, nil
	}
	if bl.Listener == nil {
		return nil, nil, errors.New("--demo needs the boot server (--boot-listen)")
	}
	if _, err := images.Stat(ctx, demoImage); errors.Is(err, imagestore.ErrNotFound) {
		// Deterministic bytes: the same image, and digest, on every start.
		src := io.LimitReader(rand.NewChaCha8([32]byte{'a', 't', 'o', 'l', 'l'}), demoImageSize)
		if _, err := images.Register(ctx, demoImage, "1", src, ""); err != nil {
			return nil, nil, fmt.Errorf("demo image: %w", err)
		}
	} else if err != nil {
		return nil, nil, err
	}
	imageURL, err := images.URL(ctx, bl.URL, demoImage)
	if err != nil {
		return nil, nil, err
	}
	f, err := fleetsim.Start(ctx, fleetsim.Options{
		Count:           cfg.DemoCount,
		StatusURL:       bl.URL,
		InstallDuration: cfg.SimPhaseDuration,
		Logger:          log.With("component", "fleetsim"),
	})
	if err != nil {
		return nil, nil, err
	}
	return &demoFleet{Fleet: f, imageURL: imageURL}, func() { _ = f.Close() }, nil
}

// newPhases picks the deploy phases: "redfish" installs over the BMC (and
// simulates bootstrap and config until the subcloud agent exists), "sim"
// simulates every phase, "none" runs none.
func newPhases(cfg Config, d simDuration, done *installer.Completions, fleet *demoFleet, log *slog.Logger, reg prometheus.Registerer) (Phases, error) {
	ph := newSimPhases(cfg, d)
	if cfg.Phases != "redfish" {
		return ph, nil
	}
	ropts := redfish.Options{Logger: log.With("component", "redfish"), Registerer: reg, InsecureSkipVerify: cfg.BMCInsecure}
	if cfg.BMCCAFile != "" {
		pem, err := os.ReadFile(cfg.BMCCAFile)
		if err != nil {
			return Phases{}, fmt.Errorf("--bmc-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return Phases{}, fmt.Errorf("--bmc-ca-file %s: no PEM certificate", cfg.BMCCAFile)
		}
		ropts.RootCAs = pool
	}
	iopts := redfish.InstallOptions{PollInterval: 5 * time.Second}
	if fleet != nil {
		ropts.RootCAs = fleet.BMCRootCAs()
		ropts.PollInterval = 200 * time.Millisecond
		iopts.PollInterval = 200 * time.Millisecond
	}
	ph.Install = installer.NewPhase(done, installer.Options{Redfish: ropts, Install: iopts, Logger: log})
	return ph, nil
}

// newHealthChecker picks the audit's health checker: the simulated fleet's
// agents under --demo, the subcloud agents' HTTPS endpoint with --health
// https, else the offline stand-in.
func newHealthChecker(cfg Config, fleet *demoFleet) dc.HealthChecker {
	if fleet != nil {
		return dc.NewHTTPSHealthChecker(dc.HTTPSHealthCheckerOptions{
			URLTemplate: fleet.HealthURLTemplate(),
			TLSConfig:   &tls.Config{RootCAs: fleet.AgentRootCAs(), MinVersion: tls.VersionTLS12},
			Timeout:     5 * time.Second,
		})
	}
	if cfg.Health == "https" {
		return dc.NewHTTPSHealthChecker(dc.HTTPSHealthCheckerOptions{})
	}
	return simHealth{}
}
