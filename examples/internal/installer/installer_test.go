package installer

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/pxe/httpboot"
)

func TestCompletionsRouting(t *testing.T) {
	ctx := context.Background()
	mac, _ := net.ParseMAC("52:54:00:aa:bb:01")
	other, _ := net.ParseMAC("52:54:00:aa:bb:02")
	var c Completions

	// Nobody waits yet: the host is told to retry (httpboot answers 503).
	if err := c.PublishHostStatus(ctx, httpboot.HostStatus{MAC: mac, State: httpboot.StateInstallComplete}); !errors.Is(err, errNotWaiting) {
		t.Fatalf("report with no waiter: %v, want errNotWaiting", err)
	}

	done, cancel := c.Expect([]string{"52:54:00:AA:BB:01"})
	defer cancel()
	// Intermediate states are acknowledged and deliver nothing.
	if err := c.PublishHostStatus(ctx, httpboot.HostStatus{MAC: mac, State: httpboot.StateBooted}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("outcome after 'booted': %v", err)
	default:
	}
	// Another host's report does not reach this install.
	if err := c.PublishHostStatus(ctx, httpboot.HostStatus{MAC: other, State: httpboot.StateInstallComplete}); !errors.Is(err, errNotWaiting) {
		t.Fatalf("other host: %v", err)
	}
	if err := c.PublishHostStatus(ctx, httpboot.HostStatus{MAC: mac, State: httpboot.StateInstallFailed, Message: "disk not found"}); err != nil {
		t.Fatal(err)
	}
	// A repeated report does not block the handler.
	if err := c.PublishHostStatus(ctx, httpboot.HostStatus{MAC: mac, State: httpboot.StateInstallComplete}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "disk not found") {
		t.Fatalf("outcome %v, want the install-failed report", err)
	}
	cancel()
	if err := c.PublishHostStatus(ctx, httpboot.HostStatus{MAC: mac, State: httpboot.StateInstallComplete}); !errors.Is(err, errNotWaiting) {
		t.Fatalf("after cancel: %v", err)
	}
}

func TestPhaseRefusesMissingValues(t *testing.T) {
	p := NewPhase(&Completions{}, Options{})
	err := p.Run(context.Background(), &dc.PhaseJob{Phase: dc.PhaseInstall, Subcloud: dc.Subcloud{Name: "edge-1"}})
	if !errors.Is(err, ErrNoInstallValues) {
		t.Fatalf("Run without install values: %v", err)
	}
	err = p.Run(context.Background(), &dc.PhaseJob{Phase: dc.PhaseInstall, Subcloud: dc.Subcloud{Name: "edge-1"},
		Install: &dc.InstallValues{BMCAddress: "127.0.0.1:1", BMCUsername: "u", BMCPassword: "p"}})
	if err == nil {
		t.Fatal("Run with no image and no default image succeeded")
	}
}

// TestJournalSurvivesRestart: a host's final report acknowledged by one
// process is delivered, after a crash, to the install resumed by the next
// one (same journal directory), and a fresh install forgets it.
func TestJournalSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	mac, _ := net.ParseMAC("52:54:00:aa:bb:03")
	macs := []string{"52:54:00:AA:BB:03"}

	first, err := NewCompletions(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, cancel := first.Expect(macs)
	if err := first.PublishHostStatus(ctx, httpboot.HostStatus{MAC: mac, State: httpboot.StateInstallComplete}); err != nil {
		t.Fatal(err)
	}
	cancel() // the process dies before recording the phase's success

	second, err := NewCompletions(dir)
	if err != nil {
		t.Fatal(err)
	}
	done, cancel2 := second.Expect(macs)
	defer cancel2()
	if !second.Replay(macs) {
		t.Fatal("the journaled report was not replayed after the restart")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("replayed outcome %v, want success", err)
		}
	default:
		t.Fatal("nothing delivered")
	}

	// A fresh install of the same host: the old report must not count.
	second.Forget(macs)
	if second.Replay(macs) {
		t.Fatal("a forgotten report was replayed")
	}
	// Without a journal nothing is replayed.
	var plain Completions
	_, cancel3 := plain.Expect(macs)
	defer cancel3()
	if err := plain.PublishHostStatus(ctx, httpboot.HostStatus{MAC: mac, State: httpboot.StateInstallComplete}); err != nil {
		t.Fatal(err)
	}
	if plain.Replay(macs) {
		t.Fatal("replay without a journal")
	}
}
