package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	nsPrefix   = "atoll-e2e-"
	bridge     = "br0"
	tap        = "tap0"
	serverIP   = "10.77.0.1"
	serverIPv6 = "fd77::1"
	poolStart  = "10.77.0.100"
	poolEnd    = "10.77.0.150"
	httpPort   = 8080
)

// ip runs the ip command and fails the test on error.
func ip(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// removeNamespace kills every process still in ns and deletes it.
func removeNamespace(ns string) {
	out, _ := exec.Command("ip", "netns", "pids", ns).Output()
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	for i := 0; i < 50; i++ {
		if out, _ := exec.Command("ip", "netns", "pids", ns).Output(); len(strings.TrimSpace(string(out))) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	exec.Command("ip", "netns", "del", ns).Run()
}

// cleanLeftovers removes namespaces of earlier runs whose test process is
// gone (killed with SIGKILL, so their cleanup never ran).
func cleanLeftovers(t *testing.T) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || !strings.HasPrefix(f[0], nsPrefix) {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimPrefix(f[0], nsPrefix))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if syscall.Kill(pid, 0) == nil {
			continue // that run is still alive
		}
		t.Logf("removing namespace %s left by a killed run", f[0])
		removeNamespace(f[0])
	}
}

// newNamespace creates the test's namespace with a bridge carrying
// 10.77.0.1/24 and fd77::1/64 and a tap on it, and removes it (and every
// process in it) when the test ends.
func newNamespace(t *testing.T) string {
	t.Helper()
	cleanLeftovers(t)
	ns := fmt.Sprintf("%s%d", nsPrefix, os.Getpid())
	removeNamespace(ns) // an earlier test of this process
	ip(t, "netns", "add", ns)
	t.Cleanup(func() { removeNamespace(ns) })
	ip(t, "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.all.accept_dad=0")
	ip(t, "-n", ns, "link", "set", "lo", "up")
	ip(t, "-n", ns, "link", "add", bridge, "type", "bridge", "forward_delay", "0")
	ip(t, "-n", ns, "addr", "add", serverIP+"/24", "dev", bridge)
	ip(t, "-n", ns, "addr", "add", serverIPv6+"/64", "dev", bridge)
	ip(t, "netns", "exec", ns, "ip", "tuntap", "add", "dev", tap, "mode", "tap")
	ip(t, "-n", ns, "link", "set", tap, "master", bridge)
	ip(t, "-n", ns, "link", "set", tap, "up")
	ip(t, "-n", ns, "link", "set", bridge, "up")
	return ns
}
