package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/dc"
)

// TestDemoFleet runs the main job as `make demo` does: the daemon as a real
// process with --demo, a simulated fleet of one server per BMC vendor
// profile. Every demo subcloud must go through the real Redfish install
// (the emulated BMC fetches the 40 MB image from the daemon's boot server),
// report install-complete, bootstrap, be found online by the audit, and
// accept manage.
func TestDemoFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon as a process; skipped with -short")
	}
	bin := buildDaemon(t)
	d := startDaemon(t, bin, t.TempDir(), "--demo", "--demo-count", "6", "--phases", "redfish",
		"--sim-phase-duration", "500ms", "--audit-interval", "1s")
	c := d.client(t)
	ctx := context.Background()
	waitFor(t, "6 demo subclouds complete and online", 3*time.Minute, func() (bool, error) {
		subs, err := c.Subclouds(ctx)
		if err != nil {
			return false, err
		}
		if len(subs) != 6 {
			return false, nil
		}
		for _, s := range subs {
			if s.DeployStatus.Failed() {
				log, _ := c.DeployLog(ctx, s.Name)
				t.Fatalf("%s failed: %s; log %v", s.Name, s.ErrorDescription, log)
			}
			if s.DeployStatus != dc.Complete || s.Availability != dc.Online {
				return false, nil
			}
		}
		return true, nil
	})
	for _, name := range []string{"demo-1", "demo-6"} {
		s, err := c.Manage(ctx, name, false)
		if err != nil {
			t.Fatalf("manage %s: %v", name, err)
		}
		if s.ManagementState != dc.Managed {
			t.Fatalf("%s: management state %s after manage", name, s.ManagementState)
		}
		log, err := c.DeployLog(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		var text strings.Builder
		for _, e := range log {
			text.WriteString(e.Message + "\n")
		}
		for _, want := range []string{"insert-media done", "power-on done", "wait-install done"} {
			if !strings.Contains(text.String(), want) {
				t.Errorf("%s deploy log lacks %q:\n%s", name, want, text.String())
			}
		}
	}
}
