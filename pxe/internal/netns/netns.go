// Package netns builds the small network labs that the DHCP servers' tests
// and benchmark (pxe/dhcpd, pxe/dhcpd6) run in: two network namespaces
// joined by a veth pair, so DHCP broadcasts and multicasts never leave
// them, and commands run inside either side with `ip netns exec`.
//
// Namespaces belong to OS threads, so nothing here switches the calling
// process into a namespace: every program that must live in one runs as its
// own process. Names carry the creating process id; [CleanupStale] removes
// labs whose creator is gone (a run killed with SIGKILL).
//
// # Requirements
//
// Root and iproute2 (`apt-get install -y iproute2`).
package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// Prefix starts the name of every namespace this package creates.
const Prefix = "atdhcp-"

// Lab is a pair of namespaces, server and client, joined by a veth pair.
type Lab struct {
	ServerNS, ClientNS     string // namespace names
	ServerIf, ClientIf     string // veth ends, one in each namespace
	ServerCIDR, ClientCIDR string
}

// Available reports why labs cannot be built here, or nil.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespaces and veth pairs)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("needs ip from iproute2: apt-get install -y iproute2")
	}
	return nil
}

// New creates a lab named after tag and this process id. The server end gets
// serverCIDR (e.g. "10.77.0.1/16"); the client end gets clientCIDR, or no
// address when it is empty (a DHCP client configures it).
func New(ctx context.Context, tag, serverCIDR, clientCIDR string) (*Lab, error) {
	pid := os.Getpid()
	l := &Lab{
		ServerNS: fmt.Sprintf("%s%d-%s-s", Prefix, pid, tag), ClientNS: fmt.Sprintf("%s%d-%s-c", Prefix, pid, tag),
		// Interface names are limited to 15 bytes.
		ServerIf: fmt.Sprintf("vs%d%s", pid%10000000, short(tag)), ClientIf: fmt.Sprintf("vc%d%s", pid%10000000, short(tag)),
		ServerCIDR: serverCIDR, ClientCIDR: clientCIDR,
	}
	steps := [][]string{
		{"netns", "add", l.ServerNS},
		{"netns", "add", l.ClientNS},
		{"link", "add", l.ServerIf, "netns", l.ServerNS, "type", "veth", "peer", "name", l.ClientIf, "netns", l.ClientNS},
		{"-n", l.ServerNS, "link", "set", "lo", "up"},
		{"-n", l.ClientNS, "link", "set", "lo", "up"},
		{"-n", l.ServerNS, "addr", "add", serverCIDR, "dev", l.ServerIf},
		{"-n", l.ServerNS, "link", "set", l.ServerIf, "up"},
		{"-n", l.ClientNS, "link", "set", l.ClientIf, "up"},
	}
	if clientCIDR != "" {
		steps = append(steps, []string{"-n", l.ClientNS, "addr", "add", clientCIDR, "dev", l.ClientIf})
	}
	for _, s := range steps {
		if err := ip(ctx, s...); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

func short(tag string) string {
	if len(tag) > 2 {
		return tag[:2]
	}
	return tag
}

func ip(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// Close deletes both namespaces, which deletes the veth pair. Processes
// still inside should have been stopped first.
func (l *Lab) Close() error {
	var errs []error
	for _, ns := range []string{l.ServerNS, l.ClientNS} {
		if err := ip(context.Background(), "netns", "del", ns); err != nil && !strings.Contains(err.Error(), "No such file") {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Command returns a command that runs name inside namespace ns. It dies with
// the calling process (SIGKILL on parent death), so an interrupted run
// leaves no server behind.
func Command(ctx context.Context, ns, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

var nameRE = regexp.MustCompile(`^` + Prefix + `(\d+)-`)

// CleanupStale deletes the namespaces of labs whose creating process is gone,
// and kills processes left inside them.
func CleanupStale(ctx context.Context) {
	out, err := exec.CommandContext(ctx, "ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		m := nameRE.FindStringSubmatch(f[0])
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
			continue
		}
		if pids, err := exec.CommandContext(ctx, "ip", "netns", "pids", f[0]).Output(); err == nil {
			for _, p := range strings.Fields(string(pids)) {
				if n, err := strconv.Atoi(p); err == nil {
					_ = syscall.Kill(n, syscall.SIGKILL)
				}
			}
		}
		_ = ip(ctx, "netns", "del", f[0])
	}
}

// ClientMAC returns the MAC address of the client end, as
// aa:bb:cc:dd:ee:ff.
func (l *Lab) ClientMAC(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "ip", "-n", l.ClientNS, "-br", "link", "show", l.ClientIf).Output()
	if err != nil {
		return "", fmt.Errorf("ip link show %s: %w", l.ClientIf, err)
	}
	f := strings.Fields(string(out))
	if len(f) < 3 {
		return "", fmt.Errorf("ip link show %s: unexpected %q", l.ClientIf, out)
	}
	return f[2], nil
}
