package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/client"
	"github.com/atoll-edge/atoll/internal/pgtest"
)

// buildDaemon builds the daemon into the test's temp dir (the go build
// cache makes the second build a link).
func buildDaemon(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the daemon as a process; skipped with -short")
	}
	path := filepath.Join(t.TempDir(), "systemcontroller")
	if out, err := exec.Command("go", "build", "-o", path, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return path
}

// daemon is one run of the systemcontroller process.
type daemon struct {
	cmd    *exec.Cmd
	logf   string
	url    string
	token  string
	waited chan error
}

// startDaemon runs the binary on dataDir (listening on 127.0.0.1:0) and
// waits until it has written its url file.
func startDaemon(t *testing.T, bin, dataDir string, args ...string) *daemon {
	t.Helper()
	_ = os.Remove(filepath.Join(dataDir, urlFile))
	d := launchDaemon(t, bin, dataDir, args...)
	d.waitReady(t, dataDir, 20*time.Second)
	return d
}

// launchDaemon starts the binary on dataDir without waiting for it.
func launchDaemon(t *testing.T, bin, dataDir string, args ...string) *daemon {
	t.Helper()
	logf := filepath.Join(t.TempDir(), "stderr.log")
	f, err := os.Create(logf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Simulated phases unless the test says otherwise (later flags win);
	// the boot server on an ephemeral port so that daemons can run side by side.
	cmd := exec.Command(bin, append([]string{"--data-dir", dataDir, "--listen", "127.0.0.1:0", "--boot-listen", "127.0.0.1:0",
		"--phases", "sim", "--log-format", "json"}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, logf: logf, waited: make(chan error, 1)}
	go func() { d.waited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-d.waited
		}
		if t.Failed() {
			b, _ := os.ReadFile(logf)
			t.Logf("daemon pid %d stderr:\n%s", cmd.Process.Pid, b)
		}
	})
	return d
}

// waitReady waits until the daemon has written its url file, then reads
// its url and token.
func (d *daemon) waitReady(t *testing.T, dataDir string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		u, err := os.ReadFile(filepath.Join(dataDir, urlFile))
		if err == nil {
			d.url = strings.TrimSpace(string(u))
			break
		}
		select {
		case err := <-d.waited:
			d.waited <- err
			t.Fatalf("daemon exited early: %v\n%s", err, d.stderr())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("daemon did not write its url file")
		}
		time.Sleep(20 * time.Millisecond)
	}
	tok, err := os.ReadFile(filepath.Join(dataDir, tokenFile))
	if err != nil {
		t.Fatal(err)
	}
	d.token = strings.TrimSpace(string(tok))
}

func (d *daemon) client(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.New(d.url, d.token, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (d *daemon) stderr() string {
	b, _ := os.ReadFile(d.logf)
	return string(b)
}

// signal sends sig and waits for the process to exit.
func (d *daemon) signal(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.waited:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("daemon did not exit after %v", sig)
		return nil
	}
}

func subcloudYAML(name string, i int) []byte {
	return fmt.Appendf(nil, `name: %s
system_mode: simplex
management_subnet: 10.77.%d.0/24
management_start_address: 10.77.%d.10
management_end_address: 10.77.%d.50
management_gateway_address: 10.77.%d.1
systemcontroller_gateway_address: 192.168.204.101
`, name, i, i, i, i)
}

const installValues = `bmc_address: 127.0.0.1
bmc_username: root
bootstrap_interface: eno1
bootstrap_address: 127.0.0.1
image: http://127.0.0.1/iso/bootimage.iso
boot_device: /dev/sda
rootfs_device: /dev/sda
`

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitAllComplete waits until every subcloud c lists is complete, failing
// at once on a failed or aborted deploy.
func waitAllComplete(t *testing.T, c *client.Client, what string) {
	t.Helper()
	waitFor(t, what, 60*time.Second, func() (bool, error) {
		subs, err := c.Subclouds(context.Background())
		if err != nil {
			return false, err
		}
		for _, s := range subs {
			if s.DeployStatus.Failed() || s.DeployStatus.Aborted() {
				return false, fmt.Errorf("%s: %s: %s", s.Name, s.DeployStatus, s.ErrorDescription)
			}
			if s.DeployStatus != dc.Complete {
				return false, nil
			}
		}
		return true, nil
	})
}

type fleet struct {
	Subclouds []*dc.Subcloud
	Groups    []*dc.Group
}

func listFleet(t *testing.T, c *client.Client) fleet {
	t.Helper()
	ctx := context.Background()
	subs, err := c.Subclouds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := c.Groups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return fleet{subs, groups}
}

// TestCrashResume kills the daemon with SIGKILL while deploys are
// mid-phase, restarts it on the same data directory and database, and
// checks that the phases resume and complete and that no subcloud or group
// is lost or duplicated: on the embedded SQLite store, and on a real
// PostgreSQL server (internal/pgtest; skipped with the install command
// when its binaries are missing).
func TestCrashResume(t *testing.T) {
	bin := buildDaemon(t)
	t.Run("sqlite", func(t *testing.T) { testCrashResume(t, bin) })
	t.Run("postgres", func(t *testing.T) {
		dsn, err := pgtest.Start(t).NewDatabase(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		testCrashResume(t, bin, "--database", dsn)
	})
}

func testCrashResume(t *testing.T, bin string, storeArgs ...string) {
	dataDir := t.TempDir()
	args := append([]string{"--sim-phase-duration", "3s"}, storeArgs...)
	d := startDaemon(t, bin, dataDir, args...)
	if !strings.Contains(d.stderr(), d.token) {
		t.Fatal("first start did not print the token")
	}
	c := d.client(t)
	ctx := context.Background()
	for _, g := range []string{"east", "west"} {
		if _, err := c.CreateGroup(ctx, client.GroupRequest{Name: g, MaxParallelSubclouds: 3}); err != nil {
			t.Fatal(err)
		}
	}
	names := []string{"edge-1", "edge-2", "edge-3", "edge-4"}
	for i, name := range names {
		req := client.AddRequest{BootstrapAddress: fmt.Sprintf("127.0.0.%d", i+2), BootstrapValues: subcloudYAML(name, i+1),
			Group: []string{"east", "west"}[i%2]}
		if i < 3 {
			req.InstallValues, req.BMCPassword = []byte(installValues), "bmc-pw"
		}
		if _, err := c.AddSubcloud(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until edge-1 is mid-install: its first step logged, the phase
	// not yet done.
	waitFor(t, "edge-1 installing", 20*time.Second, func() (bool, error) {
		s, err := c.Subcloud(ctx, "edge-1")
		if err != nil {
			return false, err
		}
		log, err := c.DeployLog(ctx, "edge-1")
		return s.DeployStatus == dc.Installing && countLines(log, "install step 2/") > 0, err
	})
	before := listFleet(t, c)
	inFlight := map[string]dc.DeployStatus{}
	for _, s := range before.Subclouds {
		if s.DeployStatus.InProgress() {
			inFlight[s.Name] = s.DeployStatus
		}
	}
	if _, err := c.Subcloud(ctx, "edge-1"); err != nil {
		t.Fatal(err)
	}
	if err := d.signal(t, syscall.SIGKILL); err == nil {
		t.Fatal("SIGKILL: process exited cleanly?")
	}

	d2 := startDaemon(t, bin, dataDir, args...)
	if d2.token != d.token || strings.Contains(d2.stderr(), d.token) {
		t.Fatal("restart changed or re-printed the token")
	}
	if !strings.Contains(d2.stderr(), `"resumed_deploys"`) {
		t.Errorf("restart did not log resumed deploys")
	}
	c2 := d2.client(t)
	waitAllComplete(t, c2, "every deploy complete after restart")
	after := listFleet(t, c2)
	// Same subclouds and groups: only the deploy progress moved on.
	opts := cmp.Options{
		cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}),
		cmpopts.IgnoreFields(dc.Subcloud{}, "DeployStatus", "UpdatedAt", "Revision", "Phase"),
	}
	if diff := cmp.Diff(before, after, opts); diff != "" {
		t.Errorf("fleet changed across the crash (-before +after):\n%s", diff)
	}
	if len(after.Subclouds) != len(names) || len(after.Groups) != 3 {
		t.Errorf("after restart: %d subclouds, %d groups", len(after.Subclouds), len(after.Groups))
	}
	// edge-1's install phase was re-entered (run twice), and the phases
	// before the crash point were not re-run.
	log, err := c2.DeployLog(ctx, "edge-1")
	if err != nil {
		t.Fatal(err)
	}
	if n := countLines(log, "install step 1/"); n != 2 {
		t.Errorf("edge-1 install phase entered %d times, want 2 (once before the crash, once after)", n)
	}
	if n := countLines(log, "bootstrap step 1/"); n != 1 {
		t.Errorf("edge-1 bootstrap phase entered %d times, want 1", n)
	}
	t.Logf("in flight at the crash: %v", inFlight)
	if len(inFlight) == 0 {
		t.Fatal("nothing was in flight at the crash: the test proved nothing")
	}
}

func countLines(log []dc.LogEntry, substr string) int {
	n := 0
	for _, l := range log {
		if strings.Contains(l.Message, substr) {
			n++
		}
	}
	return n
}

// TestGracefulShutdown stops the daemon with SIGTERM mid-deploy: it exits
// 0, and the next start resumes the deploy.
func TestGracefulShutdown(t *testing.T) {
	bin := buildDaemon(t)
	dataDir := t.TempDir()
	d := startDaemon(t, bin, dataDir, "--sim-phase-duration", "2s")
	c := d.client(t)
	ctx := context.Background()
	if _, err := c.AddSubcloud(ctx, client.AddRequest{BootstrapAddress: "127.0.0.2", BootstrapValues: subcloudYAML("edge-1", 1)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bootstrapping", 10*time.Second, func() (bool, error) {
		s, err := c.Subcloud(ctx, "edge-1")
		return err == nil && s.DeployStatus == dc.Bootstrapping, err
	})
	// /healthz and /metrics answer without a token.
	for path, want := range map[string]string{
		"/healthz": "ok",
		"/metrics": "atoll_dc_api_requests_total",
	} {
		resp, err := http.Get(d.url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("GET %s: %d, body lacks %q", path, resp.StatusCode, want)
		}
	}
	for _, f := range []string{tokenFile, keyFile} {
		fi, err := os.Stat(filepath.Join(dataDir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want 0600", f, err, fi.Mode().Perm())
		}
	}
	start := time.Now()
	if err := d.signal(t, syscall.SIGTERM); err != nil {
		var ee *exec.ExitError
		errors.As(err, &ee)
		t.Fatalf("SIGTERM: %v (exit %v)", err, ee)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("graceful shutdown took %s", time.Since(start))
	}
	if !strings.Contains(d.stderr(), "system controller stopped") {
		t.Error("no stop log line")
	}
	d2 := startDaemon(t, bin, dataDir, "--sim-phase-duration", "200ms")
	c2 := d2.client(t)
	waitFor(t, "complete after restart", 20*time.Second, func() (bool, error) {
		s, err := c2.Subcloud(ctx, "edge-1")
		return err == nil && s.DeployStatus == dc.Complete, err
	})
	if err := d2.signal(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}
