package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/client"
	"github.com/atoll-edge/atoll/redfish"
	"github.com/atoll-edge/atoll/redfish/redfishtest"
)

// TestCrashResumeRedfishInstall kills the daemon with SIGKILL while a real
// Redfish install waits for the host, restarts it on the same data
// directory, and checks that the install phase resumes against the same BMC
// (a separate bmc-emulator process, Dell profile, TLS) without re-inserting
// the image or power-cycling the host, then completes when the host (played
// by the test) reports install-complete to the new process's boot server.
func TestCrashResumeRedfishInstall(t *testing.T) {
	bin := buildDaemon(t)
	dir := t.TempDir()
	emuBin := filepath.Join(dir, "bmc-emulator")
	if out, err := exec.Command("go", "build", "-o", emuBin, "../bmc-emulator").CombinedOutput(); err != nil {
		t.Fatalf("go build bmc-emulator: %v\n%s", err, out)
	}
	caFile, urlFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "urls")
	emu := exec.Command(emuBin, "--tls", "--profile", "dell", "--ca-file", caFile, "--url-file", urlFile, "--log-level", "warn")
	emu.Stderr = os.Stderr
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Process.Kill(); _ = emu.Wait() })
	var bmcURL string
	waitFor(t, "bmc-emulator url file", 30*time.Second, func() (bool, error) {
		b, err := os.ReadFile(urlFile)
		if err != nil || !bytes.HasSuffix(b, []byte("\n")) {
			return false, nil
		}
		bmcURL = strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
		return true, nil
	})
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in the emulator's CA file")
	}
	img := redfishtest.ServeImage(t, "boot.iso", 8<<20)

	data := t.TempDir()
	args := []string{"--phases", "redfish", "--bmc-ca-file", caFile, "--sim-phase-duration", "300ms"}
	d := startDaemon(t, bin, data, args...)
	c := d.client(t)
	ctx := context.Background()
	iv := fmt.Appendf(nil, "bmc_address: %s\nbmc_username: admin\nbootstrap_interface: eno1\nbootstrap_address: 192.0.2.10\nimage: %s\nboot_device: /dev/sda\n", bmcURL, img.URL)
	if _, err := c.AddSubcloud(ctx, client.AddRequest{BootstrapValues: subcloudYAML("edge-rf", 1), BootstrapAddress: "192.0.2.10",
		InstallValues: iv, BMCPassword: "password"}); err != nil {
		t.Fatal(err)
	}
	waitLog := func(d *daemon, want string, n int) {
		t.Helper()
		c := d.client(t)
		waitFor(t, fmt.Sprintf("%d× %q in the deploy log", n, want), 2*time.Minute, func() (bool, error) {
			log, err := c.DeployLog(ctx, "edge-rf")
			if err != nil {
				return false, nil
			}
			got := 0
			for _, e := range log {
				if strings.Contains(e.Message, want) {
					got++
				}
			}
			return got >= n, nil
		})
	}
	waitLog(d, "wait-install started", 1)
	if got := img.Fetches(); got != 1 {
		t.Fatalf("image fetched %d times before the crash, want 1", got)
	}
	if err := d.signal(t, syscall.SIGKILL); err == nil {
		t.Fatal("daemon exited cleanly after SIGKILL")
	}

	d2 := startDaemon(t, bin, data, args...)
	waitLog(d2, "wait-install started", 2)

	// The host finishes installing and reports to the new process.
	bmc, err := redfish.Dial(ctx, redfish.Endpoint{Address: bmcURL, Username: "admin", Password: "password"}, redfish.Options{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := bmc.Inventory(ctx)
	bmc.Close(ctx)
	if err != nil || len(inv.MACAddresses) == 0 {
		t.Fatalf("inventory: %v %v", inv.MACAddresses, err)
	}
	bootURL := logValue(t, d2, "boot_url")
	waitFor(t, "the host's install-complete report accepted", time.Minute, func() (bool, error) {
		resp, err := http.Post(bootURL+"/v1/hosts/"+inv.MACAddresses[0]+"/status", "application/json",
			strings.NewReader(`{"state":"install-complete"}`))
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	c2 := d2.client(t)
	waitFor(t, "deploy complete", 2*time.Minute, func() (bool, error) {
		s, err := c2.Subcloud(ctx, "edge-rf")
		if err != nil {
			return false, err
		}
		if s.DeployStatus.Failed() {
			return false, fmt.Errorf("deploy failed: %s", s.ErrorDescription)
		}
		return s.DeployStatus == dc.Complete, nil
	})
	if got := img.Fetches(); got != 1 {
		t.Errorf("image fetched %d times in all, want 1: the resumed install re-inserted it", got)
	}
	log, err := c2.DeployLog(ctx, "edge-rf")
	if err != nil {
		t.Fatal(err)
	}
	var after []string
	seen := 0
	for _, e := range log {
		if strings.Contains(e.Message, "read-state started") {
			seen++
		}
		if seen >= 2 {
			after = append(after, e.Message)
		}
	}
	text := strings.Join(after, "\n")
	for _, want := range []string{"insert-media skipped", "boot-once skipped", "power-on skipped", "wait-install done"} {
		if !strings.Contains(text, want) {
			t.Errorf("resumed install log lacks %q:\n%s", want, text)
		}
	}
	for _, unwanted := range []string{"insert-media started", "power-off started", "power-on started"} {
		if strings.Contains(text, unwanted) {
			t.Errorf("resumed install repeated a step (%q):\n%s", unwanted, text)
		}
	}
}

// logValue returns the string value of key from the daemon's JSON log.
func logValue(t *testing.T, d *daemon, key string) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(d.stderr()))
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			continue
		}
		if v, ok := rec[key].(string); ok && v != "" {
			return v
		}
	}
	t.Fatalf("no %q in the daemon's log", key)
	return ""
}
