package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/client"
	"github.com/atoll-edge/atoll/internal/pgtest"
)

// TestDataDirInUse: a second daemon on a data directory in use exits at
// once, naming the process that holds it, and changes nothing there.
func TestDataDirInUse(t *testing.T) {
	bin := buildDaemon(t)
	dataDir := t.TempDir()
	first := startDaemon(t, bin, dataDir)
	url, _ := os.ReadFile(filepath.Join(dataDir, urlFile))
	second := launchDaemon(t, bin, dataDir)
	select {
	case err := <-second.waited:
		if err == nil {
			t.Fatal("second daemon exited 0")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("second daemon on the same data directory kept running")
	}
	if want := fmt.Sprintf("locked by process %d", first.cmd.Process.Pid); !strings.Contains(second.stderr(), want) {
		t.Errorf("second daemon's error does not say %q:\n%s", want, second.stderr())
	}
	if now, _ := os.ReadFile(filepath.Join(dataDir, urlFile)); string(now) != string(url) {
		t.Errorf("url file changed from %q to %q", url, now)
	}
	if _, err := first.client(t).Subclouds(context.Background()); err != nil {
		t.Errorf("first daemon after the refusal: %v", err)
	}
}

// TestStandbyFailover runs two controllers on one PostgreSQL database: the
// second stands by (no API, no url file) while the first is active; when
// the first is killed with SIGKILL mid-deploy, the second takes the store's
// writer lock, resumes the interrupted deploys and serves the same fleet.
// The controllers share the secret key and token, as controllers of one
// deployment do.
func TestStandbyFailover(t *testing.T) {
	bin := buildDaemon(t)
	dsn, err := pgtest.Start(t).NewDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--database", dsn, "--sim-phase-duration", "2s"}
	dirA := t.TempDir()
	a := startDaemon(t, bin, dirA, args...)
	ca := a.client(t)
	ctx := context.Background()
	names := []string{"edge-1", "edge-2", "edge-3"}
	for i, name := range names {
		req := client.AddRequest{BootstrapAddress: fmt.Sprintf("127.0.0.%d", i+2), BootstrapValues: subcloudYAML(name, i+1),
			InstallValues: []byte(installValues), BMCPassword: "bmc-pw"}
		if _, err := ca.AddSubcloud(ctx, req); err != nil {
			t.Fatal(err)
		}
	}

	dirB := t.TempDir()
	for _, f := range []string{keyFile, tokenFile} {
		b, err := os.ReadFile(filepath.Join(dirA, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dirB, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b := launchDaemon(t, bin, dirB, args...)
	waitFor(t, "the second controller standing by", 20*time.Second, func() (bool, error) {
		return strings.Contains(b.stderr(), "standing by"), nil
	})
	if _, err := os.Stat(filepath.Join(dirB, urlFile)); err == nil {
		t.Fatal("the standby controller wrote its url file")
	}

	waitFor(t, "a deploy in progress on the active controller", 20*time.Second, func() (bool, error) {
		s, err := ca.Subcloud(ctx, "edge-1")
		return err == nil && s.DeployStatus.InProgress() && s.DeployStatus != dc.Creating, err
	})
	before := listFleet(t, ca)
	if err := a.signal(t, syscall.SIGKILL); err == nil {
		t.Fatal("SIGKILL: process exited cleanly?")
	}
	killed := time.Now()

	b.waitReady(t, dirB, 30*time.Second)
	t.Logf("standby took over %v after the SIGKILL", time.Since(killed).Round(time.Millisecond))
	if !strings.Contains(b.stderr(), `"resumed_deploys"`) {
		t.Error("the new active controller did not log resumed deploys")
	}
	cb := b.client(t)
	waitAllComplete(t, cb, "every deploy complete on the new active controller")
	after := listFleet(t, cb)
	if len(after.Subclouds) != len(before.Subclouds) || len(after.Groups) != len(before.Groups) {
		t.Fatalf("fleet before the failover: %d subclouds, %d groups; after: %d, %d",
			len(before.Subclouds), len(before.Groups), len(after.Subclouds), len(after.Groups))
	}
	for i, s := range after.Subclouds {
		if s.ID != before.Subclouds[i].ID || s.Name != before.Subclouds[i].Name {
			t.Errorf("subcloud %d: %d %s before, %d %s after", i, before.Subclouds[i].ID, before.Subclouds[i].Name, s.ID, s.Name)
		}
	}
}

// TestWriterLockLost: when the session holding the store's writer lock
// ends under an active controller (here terminated from the server side),
// the controller stops serving and exits non-zero, so that a standby can
// be the only writer.
func TestWriterLockLost(t *testing.T) {
	bin := buildDaemon(t)
	ctx := context.Background()
	dsn, err := pgtest.Start(t).NewDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, bin, t.TempDir(), "--database", dsn)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The writer lock's key is 0x61746f6c6c646377 ("atolldcw"): pg_locks
	// shows a bigint advisory key as classid (high half) and objid.
	var n int
	err = db.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND classid = 1635020652 AND objid = 1818518391`).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("terminating the lock holder's session: %d sessions, %v", n, err)
	}
	select {
	case err := <-d.waited:
		if err == nil {
			t.Fatal("the controller exited 0 after losing the writer lock")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the controller kept serving after losing the writer lock")
	}
	if !strings.Contains(d.stderr(), "store writer lock lost") {
		t.Errorf("the controller's log does not say it lost the lock:\n%s", d.stderr())
	}
}
