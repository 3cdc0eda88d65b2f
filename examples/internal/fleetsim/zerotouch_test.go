package fleetsim_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/memstore"
	"github.com/atoll-edge/atoll/examples/internal/fleetsim"
	"github.com/atoll-edge/atoll/examples/internal/installer"
	"github.com/atoll-edge/atoll/pxe/httpboot"
	"github.com/atoll-edge/atoll/pxe/imagestore"
	"github.com/atoll-edge/atoll/redfish"
	"github.com/atoll-edge/atoll/redfish/emulator"
)

// TestZeroTouch adds one subcloud per BMC vendor profile with install values
// pointing at an emulated BMC, and follows each through the real Redfish
// install (virtual media fetched from Atoll's boot server over HTTP), the
// host's install-complete report, bootstrap, the availability audit and
// manage.
func TestZeroTouch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// The boot server with a 4 MiB boot image.
	images, err := imagestore.Open(t.TempDir(), imagestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer images.Close()
	img := make([]byte, 4<<20)
	_, _ = rand.Read(img)
	if _, err := images.Register(ctx, "boot.iso", "1", bytes.NewReader(img), ""); err != nil {
		t.Fatal(err)
	}
	done := &installer.Completions{}
	boot, err := httpboot.New(httpboot.Options{Images: images, Status: done})
	if err != nil {
		t.Fatal(err)
	}
	bootSrv := httptest.NewServer(boot)
	defer bootSrv.Close()
	imageURL, err := images.URL(ctx, bootSrv.URL, "boot.iso")
	if err != nil {
		t.Fatal(err)
	}

	profiles := emulator.Profiles()
	fleet, err := fleetsim.Start(ctx, fleetsim.Options{
		Count:           len(profiles),
		StatusURL:       bootSrv.URL,
		InstallDuration: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()

	phase := installer.NewPhase(done, installer.Options{
		Redfish: redfish.Options{RootCAs: fleet.BMCRootCAs(), PollInterval: 50 * time.Millisecond, RetryInitial: 20 * time.Millisecond},
		Install: redfish.InstallOptions{PollInterval: 50 * time.Millisecond, InstallTimeout: time.Minute},
	})
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, err := dc.NewAESGCMSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	m, err := dc.NewManager(memstore.New(), dc.Options{Sealer: sealer, Install: phase})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	for i, srv := range fleet.Servers() {
		name := fmt.Sprintf("edge-%d", i)
		fleet.Bind(name, srv.Index)
		_, err := m.AddSubcloud(ctx, dc.AddRequest{
			Bootstrap: &dc.BootstrapValues{
				Name:                           name,
				SystemMode:                     "simplex",
				ManagementSubnet:               fmt.Sprintf("10.%d.0.0/24", 10+i),
				ManagementStartAddress:         fmt.Sprintf("10.%d.0.2", 10+i),
				ManagementEndAddress:           fmt.Sprintf("10.%d.0.50", 10+i),
				ManagementGatewayAddress:       fmt.Sprintf("10.%d.0.1", 10+i),
				SystemControllerGatewayAddress: "192.168.204.101",
				ExternalOAMSubnet:              fmt.Sprintf("172.16.%d.0/24", i),
				ExternalOAMGatewayAddress:      fmt.Sprintf("172.16.%d.1", i),
				ExternalOAMFloatingAddress:     fmt.Sprintf("172.16.%d.2", i),
			},
			BootstrapAddress: netip.MustParseAddr(fmt.Sprintf("172.16.%d.3", i)),
			Install: &dc.InstallValues{
				BMCAddress:         srv.BMCURL,
				BMCUsername:        srv.Username,
				BMCPassword:        srv.Password,
				Image:              imageURL,
				BootDevice:         "/dev/sda",
				BootstrapInterface: "eno1",
				BootstrapAddress:   fmt.Sprintf("172.16.%d.3", i),
			},
		})
		if err != nil {
			t.Fatalf("add %s (%s): %v", name, srv.Profile, err)
		}
	}

	// Every subcloud reaches complete through the real install.
	waitFor(t, ctx, "every deploy complete", func() (bool, string) {
		scs, err := m.Subclouds(ctx)
		if err != nil {
			return false, err.Error()
		}
		for _, s := range scs {
			if s.DeployStatus != dc.Complete {
				log, _ := m.DeployLog(ctx, s.Name)
				return false, fmt.Sprintf("%s is %s (%s); log: %v", s.Name, s.DeployStatus, s.ErrorDescription, log)
			}
		}
		return true, ""
	})

	// The audit reaches the agents and marks every subcloud online.
	hc := dc.NewHTTPSHealthChecker(dc.HTTPSHealthCheckerOptions{
		URLTemplate: fleet.HealthURLTemplate(),
		TLSConfig:   &tls.Config{RootCAs: fleet.AgentRootCAs(), MinVersion: tls.VersionTLS12},
	})
	aud, err := dc.NewAuditor(m, hc, dc.AuditOptions{FailureThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := aud.AuditOnce(ctx); err != nil {
		t.Fatal(err)
	}
	scs, err := m.Subclouds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range scs {
		if s.Availability != dc.Online {
			t.Fatalf("%s availability %s after audit", s.Name, s.Availability)
		}
		if _, err := m.Manage(ctx, s.Name, false); err != nil {
			t.Fatalf("manage %s: %v", s.Name, err)
		}
		log, err := m.DeployLog(ctx, s.Name)
		if err != nil || len(log) == 0 {
			t.Fatalf("%s: deploy log empty (%v)", s.Name, err)
		}
	}
	_ = http.StatusOK
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() (bool, string)) {
	t.Helper()
	last := ""
	for {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s: %s", what, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
