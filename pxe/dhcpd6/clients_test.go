package dhcpd6_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/atoll-edge/atoll/pxe/dhcpd"
	"github.com/atoll-edge/atoll/pxe/dhcpd6"
	"github.com/atoll-edge/atoll/pxe/internal/netns"
)

// These tests run real DHCPv6 clients against an in-process server whose
// socket lives in the server namespace of a netns lab: each side in its
// own network namespace on a veth pair, so no packet leaves the test.

var (
	labPrefix = netip.MustParsePrefix("fd00:98::/64")
	labServer = netip.MustParseAddr("fd00:98::1")
	labStart  = netip.MustParseAddr("fd00:98::100")
	labEnd    = netip.MustParseAddr("fd00:98::1ff")
	labBoot   = &dhcpd6.BootConfig{
		UEFIX64:    "tftp://[fd00:98::1]/snponly.efi",
		HTTPX64:    "http://[fd00:98::1]/x64.efi",
		IPXEScript: "http://[fd00:98::1]:8080/boot/{mac}.ipxe",
	}
)

func newLab(t *testing.T, tag string) *netns.Lab {
	t.Helper()
	if testing.Short() {
		t.Skip("real-client test in network namespaces: runs without -short (make test)")
	}
	if err := netns.Available(); err != nil {
		t.Skipf("real-client test: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	netns.CleanupStale(ctx)
	lab, err := netns.New(ctx, tag, labServer.String()+"/64", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Error(err)
		}
	})
	// IPv6 on, then wait until both link-locals (and the server address)
	// have finished duplicate address detection: a client cannot send
	// from a tentative address.
	for _, ns := range []string{lab.ServerNS, lab.ClientNS} {
		if out, err := netns.Command(ctx, ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf.default.disable_ipv6=0").CombinedOutput(); err != nil {
			t.Fatalf("sysctl: %v: %s", err, out)
		}
	}
	for _, side := range [][2]string{{lab.ServerNS, lab.ServerIf}, {lab.ClientNS, lab.ClientIf}} {
		for {
			out, err := exec.CommandContext(ctx, "ip", "-n", side[0], "-6", "addr", "show", "dev", side[1]).Output()
			if err != nil {
				t.Fatalf("ip addr: %v", err)
			}
			if strings.Contains(string(out), "fe80::") && !strings.Contains(string(out), "tentative") {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("addresses of %s never left DAD:\n%s", side[1], out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return lab
}

// listenIn opens the server's socket inside namespace ns, from an OS
// thread that joins it and is then thrown away: the socket stays in ns.
func listenIn(t *testing.T, ns, iface string) *os.File {
	t.Helper()
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		f, err := os.Open(filepath.Join("/var/run/netns", ns))
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("setns: %w", err)}
			return
		}
		c, err := dhcpd6.ListenInterface(iface)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer c.Close()
		cf, err := c.File()
		ch <- result{cf, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { r.f.Close() })
	return r.f
}

// labServer6 is a server serving the lab's link on a socket it does not own.
type labServer6 struct {
	t      *testing.T
	sock   *os.File
	leases string
	store  *dhcpd.FileStore
	stop   context.CancelFunc
	done   chan error
}

func startServer(t *testing.T, lab *netns.Lab) *labServer6 {
	t.Helper()
	s := &labServer6{t: t, sock: listenIn(t, lab.ServerNS, lab.ServerIf), leases: filepath.Join(t.TempDir(), "leases.log")}
	s.start()
	t.Cleanup(s.shutdown)
	return s
}

func (s *labServer6) start() {
	t := s.t
	st, err := dhcpd.OpenFileStore(s.leases)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := dhcpd6.New(dhcpd6.Options{
		ServerAddr: labServer,
		Pools: []dhcpd6.Pool{{Prefix: labPrefix, Start: labStart, End: labEnd, DNS: []netip.Addr{labServer},
			PreferredLifetime: time.Hour, ValidLifetime: 2 * time.Hour}},
		Boot: labBoot, Leases: st,
	})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.FilePacketConn(s.sock) // a dup: each run closes its own
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.store, s.stop, s.done = st, cancel, make(chan error, 1)
	go func() {
		err := srv.Serve(ctx, conn)
		conn.Close()
		s.done <- err
	}()
}

// shutdown stops the server and closes its store; start runs a new one
// on the same lease file, as a restarted daemon would.
func (s *labServer6) shutdown() {
	if s.stop == nil {
		return
	}
	s.stop()
	if err := <-s.done; err != nil {
		s.t.Errorf("Serve: %v", err)
	}
	if err := s.store.Close(); err != nil {
		s.t.Errorf("close store: %v", err)
	}
	s.stop = nil
}

func (s *labServer6) stored(t *testing.T) map[string]string {
	t.Helper()
	st, err := dhcpd.OpenFileStore(s.leases)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ls, err := st.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range ls {
		out[l.IP.String()] = fmt.Sprintf("%x", l.ClientID)
	}
	return out
}

func lookTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed: apt-get install -y %s", name, pkg)
	}
	return p
}

func inLabRange(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && !a.Less(labStart) && !labEnd.Less(a)
}

// dhclient6 runs `dhclient -6` in the client namespace until its script
// reports BOUND6 and returns the environment the script saw. The lease
// file keeps the client's DUID: the same file is the same client.
func dhclient6(t *testing.T, lab *netns.Lab, leaseFile, conf string, extra ...string) map[string]string {
	t.Helper()
	dhclient := lookTool(t, "dhclient", "isc-dhcp-client")
	dir := t.TempDir()
	out := filepath.Join(dir, "env")
	script := filepath.Join(dir, "script.sh")
	cf := filepath.Join(dir, "dhclient6.conf")
	write(t, script, "#!/bin/sh\ncase \"$reason\" in BOUND6|REBOOT6|RENEW6) env > "+out+".tmp && mv "+out+".tmp "+out+";; esac\nexit 0\n", 0o755)
	write(t, cf, conf, 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"-6", "-d", "-cf", cf, "-sf", script, "-lf", leaseFile, "-pf", filepath.Join(dir, "pid")}, extra...)
	cmd := netns.Command(ctx, lab.ClientNS, dhclient, append(args, lab.ClientIf)...)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	for ctx.Err() == nil {
		if env, ok := readEnv(out); ok {
			return env
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("dhclient -6 never bound:\n%s", stderr.String())
	return nil
}

// keepDUID removes everything but the default-duid line from a dhclient
// lease file.
func keepDUID(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "default-duid") {
			keep = append(keep, line)
		}
	}
	if len(keep) != 1 {
		t.Fatalf("no default-duid in %s:\n%s", path, b)
	}
	write(t, path, keep[0]+"\n", 0o644)
}

func write(t *testing.T, path, s string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), mode); err != nil {
		t.Fatal(err)
	}
}

func readEnv(path string) (map[string]string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = strings.Trim(v, "'")
		}
	}
	return env, true
}

const (
	confPlain = "request dhcp6.name-servers;\n"
	confBoot  = "request dhcp6.name-servers, dhcp6.bootfile-url;\nsend dhcp6.client-arch-type 7;\n"
)

// TestDhclient6 runs ISC dhclient -6: a UEFI x86-64 client gets an
// address from the range and the TFTP boot URL, both persisted before the
// Reply; a second client (another DUID) gets another address; after a
// server restart on the same lease file, the first DUID gets its address
// back.
func TestDhclient6(t *testing.T) {
	lab := newLab(t, "d6")
	srv := startServer(t, lab)
	lease1 := filepath.Join(t.TempDir(), "client1.leases")

	env := dhclient6(t, lab, lease1, confBoot, "-D", "LLT")
	first := env["new_ip6_address"]
	if !inLabRange(first) || env["reason"] != "BOUND6" {
		t.Fatalf("dhclient -6 bound %q, want an address in %s-%s (env %v)", first, labStart, labEnd, env)
	}
	if got, want := env["new_dhcp6_bootfile_url"], labBoot.UEFIX64; got != want {
		t.Fatalf("boot URL %q, want %q", got, want)
	}
	if got := env["new_dhcp6_name_servers"]; got != labServer.String() {
		t.Fatalf("name servers %q, want %s", got, labServer)
	}
	duid := srv.stored(t)[first]
	if duid == "" {
		t.Fatalf("lease of %s not in the lease file", first)
	}

	t.Run("second client", func(t *testing.T) {
		env := dhclient6(t, lab, filepath.Join(t.TempDir(), "client2.leases"), confPlain, "-D", "LL")
		if got := env["new_ip6_address"]; !inLabRange(got) || got == first {
			t.Fatalf("second client bound %q (first has %s)", got, first)
		}
		if got := env["new_dhcp6_bootfile_url"]; got != "" {
			t.Fatalf("a client that did not ask got boot URL %q", got)
		}
	})
	t.Run("ipxe", func(t *testing.T) {
		// What iPXE sends: user class "iPXE" (option 15, length-prefixed),
		// under a name of our own: dhclient -6 defines none for code 15.
		conf := "option dhcp6.ipxe-user-class code 15 = string;\n" + confBoot + "send dhcp6.ipxe-user-class 0:4:69:50:58:45;\n"
		env := dhclient6(t, lab, filepath.Join(t.TempDir(), "ipxe.leases"), conf, "-D", "LL")
		mac, err := lab.ClientMAC(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := strings.ReplaceAll(labBoot.IPXEScript, "{mac}", mac)
		if got := env["new_dhcp6_bootfile_url"]; got != want || !inLabRange(env["new_ip6_address"]) {
			t.Fatalf("iPXE got %q and %q, want %q and an address (env %v)", got, env["new_ip6_address"], want, env)
		}
	})
	t.Run("restart keeps the lease", func(t *testing.T) {
		srv.shutdown()
		srv.start()
		// Keep only the client's DUID, so it solicits afresh instead of
		// confirming the address it remembers.
		keepDUID(t, lease1)
		env := dhclient6(t, lab, lease1, confBoot, "-D", "LLT")
		if got := env["new_ip6_address"]; got != first || env["reason"] != "BOUND6" {
			t.Fatalf("after a restart the client got %s %q, had %s", env["reason"], got, first)
		}
		if got := srv.stored(t)[first]; got != duid {
			t.Fatalf("lease file has %s for DUID %q, want %q", first, got, duid)
		}
	})
}
