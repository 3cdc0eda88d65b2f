package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestCleanLeftovers checks that a namespace left by a run killed with
// SIGKILL (its PID gone) is removed together with the processes in it,
// while the namespace of a live run is kept.
func TestCleanLeftovers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces: run `go test` as root")
	}
	tool(t, "ip", "iproute2")
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := fmt.Sprintf("%s%d", nsPrefix, dead.Process.Pid)
	live := fmt.Sprintf("%s%d", nsPrefix, os.Getppid()) // our parent is alive
	for _, ns := range []string{stale, live} {
		ip(t, "netns", "add", ns)
		defer removeNamespace(ns)
	}
	// A process of the "killed" run still sitting in its namespace.
	sleeper := exec.Command("ip", "netns", "exec", stale, "sleep", "600")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- sleeper.Wait() }()

	cleanLeftovers(t)

	out, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(out), stale+" ") || strings.Contains(string(out), stale+"\n") {
		t.Errorf("stale namespace %s still listed:\n%s", stale, out)
	}
	if !strings.Contains(string(out), live) {
		t.Errorf("live namespace %s removed:\n%s", live, out)
	}
	if err := <-exited; err == nil {
		t.Error("process in the stale namespace was not killed")
	}
}
