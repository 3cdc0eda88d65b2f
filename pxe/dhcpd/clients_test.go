package dhcpd_test

import (
	"bufio"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/pxe/dhcpd"
	"github.com/atoll-edge/atoll/pxe/dhcpd/internal/dhcpload"
	"github.com/atoll-edge/atoll/pxe/dhcpd/internal/labproc"
	"github.com/atoll-edge/atoll/pxe/internal/netns"
)

// These tests run real DHCP clients against the server, each side in its
// own network namespace on a veth pair, so no packet leaves the test.

var (
	labServer = netip.MustParseAddr("10.99.0.1")
	labRelay  = netip.MustParseAddr("10.99.0.2")
)

func newLab(t *testing.T, tag, clientCIDR string) *netns.Lab {
	t.Helper()
	if testing.Short() {
		t.Skip("real-client test in network namespaces: runs without -short (make test)")
	}
	if err := netns.Available(); err != nil {
		t.Skipf("real-client test: %v", err)
	}
	ctx := context.Background()
	netns.CleanupStale(ctx)
	lab, err := netns.New(ctx, tag, labServer.String()+"/24", clientCIDR)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Error(err)
		}
	})
	return lab
}

func labServe(t *testing.T, lab *netns.Lab, leaseFile string) *labproc.Proc {
	t.Helper()
	p, err := labproc.StartServer(context.Background(), lab.ServerNS, labproc.ServeConfig{
		Iface: lab.ServerIf, ServerIP: labServer, Subnet: netip.MustParsePrefix("10.99.0.0/24"),
		Start: netip.MustParseAddr("10.99.0.100"), End: netip.MustParseAddr("10.99.0.200"), LeaseTime: time.Hour,
		LeaseFile: leaseFile,
		Boot: &dhcpd.BootConfig{BIOS: "undionly.kpxe", UEFIX64: "snponly.efi",
			IPXEScript: "http://10.99.0.1:8080/boot/{mac}.ipxe"},
	}, "-test.run=^$")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop() })
	return p
}

func lookTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed: apt-get install -y %s", name, pkg)
	}
	return p
}

// udhcpc runs busybox udhcpc once in the client namespace and returns the
// environment its script saw on "bound".
func udhcpc(t *testing.T, lab *netns.Lab, busybox string, extra ...string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "env")
	script := filepath.Join(dir, "script.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n[ \"$1\" = bound ] && env > "+out+"\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"udhcpc", "-f", "-q", "-n", "-i", lab.ClientIf, "-s", script, "-t", "5", "-T", "2", "-A", "1"}, extra...)
	if b, err := netns.Command(ctx, lab.ClientNS, busybox, args...).CombinedOutput(); err != nil {
		t.Fatalf("udhcpc: %v\n%s", err, b)
	}
	return readEnv(t, out)
}

func readEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("client script never ran: %v", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	return env
}

func inLabRange(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && !a.Less(netip.MustParseAddr("10.99.0.100")) && !netip.MustParseAddr("10.99.0.200").Less(a)
}

func TestUdhcpc(t *testing.T) {
	busybox := lookTool(t, "busybox", "busybox-static")
	lab := newLab(t, "ud", "")
	leases := filepath.Join(t.TempDir(), "leases.log")
	srv := labServe(t, lab, leases)

	env := udhcpc(t, lab, busybox)
	if !inLabRange(env["ip"]) || env["router"] != labServer.String() || env["dns"] != labServer.String() || env["mask"] != "24" || env["lease"] != "3600" {
		t.Fatalf("udhcpc got ip=%q router=%q dns=%q mask=%q lease=%q", env["ip"], env["router"], env["dns"], env["mask"], env["lease"])
	}
	if env["boot_file"] != "" {
		t.Fatalf("plain client got boot file %q", env["boot_file"])
	}
	first := env["ip"]

	t.Run("ipxe", func(t *testing.T) {
		// What iPXE sends: vendor class PXEClient, user class "iPXE".
		env := udhcpc(t, lab, busybox, "-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x4d:69505845")
		if env["ip"] != first {
			t.Fatalf("same client got %s, had %s", env["ip"], first)
		}
		mac := ifaceMAC(t, lab)
		if want := "http://10.99.0.1:8080/boot/" + mac + ".ipxe"; env["boot_file"] != want {
			t.Fatalf("iPXE boot_file %q, want %q", env["boot_file"], want)
		}
		if v := env["opt175"]; !strings.EqualFold(v, "b00101") {
			t.Fatalf("option 175 = %q, want b00101 (176 = 1: skip proxyDHCP wait)", v)
		}
	})
	t.Run("bios pxe", func(t *testing.T) {
		env := udhcpc(t, lab, busybox, "-V", "PXEClient:Arch:00000:UNDI:002001")
		if env["boot_file"] != "undionly.kpxe" || env["siaddr"] != labServer.String() {
			t.Fatalf("PXE client got boot_file=%q siaddr=%q", env["boot_file"], env["siaddr"])
		}
		if env["opt43"] != "060108ff" || env["opt175"] != "" {
			t.Fatalf("PXE client got option 43 %q (want discovery control 8), option 175 %q", env["opt43"], env["opt175"])
		}
	})
	t.Run("lease survives kill -9", func(t *testing.T) {
		srv.Kill()
		labServe(t, lab, leases)
		if env := udhcpc(t, lab, busybox); env["ip"] != first {
			t.Fatalf("after a crash the client got %s, had %s", env["ip"], first)
		}
		// Another client (its own client identifier) must not get it.
		env := udhcpc(t, lab, busybox, "-x", "0x3d:0102aabbccddee")
		if !inLabRange(env["ip"]) || env["ip"] == first {
			t.Fatalf("second client got %q (first has %s)", env["ip"], first)
		}
	})
}

func ifaceMAC(t *testing.T, lab *netns.Lab) string {
	t.Helper()
	b, err := exec.Command("ip", "-n", lab.ClientNS, "-br", "link", "show", lab.ClientIf).Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		t.Fatalf("ip link: %q", b)
	}
	return f[2]
}

func TestDhclient(t *testing.T) {
	dhclient := lookTool(t, "dhclient", "isc-dhcp-client")
	lab := newLab(t, "dh", "")
	labServe(t, lab, filepath.Join(t.TempDir(), "leases.log"))

	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	script := filepath.Join(dir, "script.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho \"$reason $new_ip_address $new_routers $new_subnet_mask\" >> "+out+"\nexit 0\n"), 0o755)
	conf := filepath.Join(dir, "dhclient.conf")
	os.WriteFile(conf, []byte("request subnet-mask, routers, domain-name-servers;\n"), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := netns.Command(ctx, lab.ClientNS, dhclient, "-d", "-1", "-cf", conf, "-sf", script,
		"-lf", filepath.Join(dir, "leases"), "-pf", filepath.Join(dir, "pid"), lab.ClientIf)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	deadline := time.Now().Add(80 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(out)
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) == 4 && f[0] == "BOUND" {
				if !inLabRange(f[1]) || f[2] != labServer.String() || f[3] != "255.255.255.0" {
					t.Fatalf("dhclient bound %q", line)
				}
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("dhclient never bound:\n%s", stderr.String())
}

// TestRelayOverVeth drives the server as relay agents do: giaddr set,
// replies by unicast to the relay's port 67, many clients at once.
func TestRelayOverVeth(t *testing.T) {
	lab := newLab(t, "rl", labRelay.String()+"/24")
	labServe(t, lab, filepath.Join(t.TempDir(), "leases.log"))
	res, err := labproc.RunLoad(context.Background(), lab.ClientNS, labproc.LoadConfig{
		Server: labServer, Relay: labRelay, Clients: 100, InFlight: 16, MACSeed: 1000,
	}, "-test.run=^$")
	if err != nil {
		t.Fatal(err)
	}
	if res.Leases != 100 || res.Failed != 0 || res.DupOffers != 0 || res.DupAcks != 0 || res.NAKs != 0 {
		t.Fatalf("relayed load: %+v", res)
	}
}

// TestKillDuringLoadKeepsAckedLeases kills the server process with SIGKILL
// while clients are getting leases, then reads its lease file: every lease
// a client was ACKed must be there, for the same client.
func TestKillDuringLoadKeepsAckedLeases(t *testing.T) {
	lab := newLab(t, "kl", labRelay.String()+"/24")
	leases := filepath.Join(t.TempDir(), "leases.log")
	srv := labServe(t, lab, leases)
	type out struct {
		res dhcpload.Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := labproc.RunLoad(context.Background(), lab.ClientNS, labproc.LoadConfig{
			Server: labServer, Relay: labRelay, Clients: 1000, InFlight: 16, MACSeed: 5000,
			Timeout: 300 * time.Millisecond, Retries: 1, MaxFailures: 16,
		}, "-test.run=^$")
		done <- out{res, err}
	}()
	// Kill once some leases are on disk, while others are in flight.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if b, _ := os.ReadFile(leases); strings.Count(string(b), `"op":"put"`) >= 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no leases written")
		}
		time.Sleep(2 * time.Millisecond)
	}
	srv.Kill()
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	if o.res.Leases == 0 || o.res.Failed == 0 {
		t.Fatalf("the kill did not land mid-run: %d leases, %d failed", o.res.Leases, o.res.Failed)
	}
	st, err := dhcpd.OpenFileStore(leases)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stored, err := st.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byIP := map[string]string{}
	for _, l := range stored {
		byIP[l.IP.String()] = l.MAC.String()
	}
	for _, b := range o.res.Acked {
		if byIP[b.IP] != b.MAC {
			t.Errorf("ACKed %s to %s, lease file has %q", b.IP, b.MAC, byIP[b.IP])
		}
	}
	t.Logf("%d leases ACKed before the kill, %d in the file", len(o.res.Acked), len(stored))
}

// TestProxyWithUdhcpc runs the server in proxy mode: a PXE client gets boot
// information and no address, a plain client gets nothing.
func TestProxyWithUdhcpc(t *testing.T) {
	busybox := lookTool(t, "busybox", "busybox-static")
	lab := newLab(t, "px", "")
	p, err := labproc.StartServer(context.Background(), lab.ServerNS, labproc.ServeConfig{
		Mode: dhcpd.Proxy, Iface: lab.ServerIf, ServerIP: labServer, LeaseFile: filepath.Join(t.TempDir(), "leases.log"),
		Boot: &dhcpd.BootConfig{BIOS: "undionly.kpxe", IPXEScript: "http://10.99.0.1:8080/boot/{mac}.ipxe"},
	}, "-test.run=^$")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop() })
	// udhcpc takes the proxy's answer for a lease of 0.0.0.0, which shows
	// what came on the wire: boot information and no address.
	env := udhcpc(t, lab, busybox, "-V", "PXEClient:Arch:00000:UNDI:002001")
	if env["ip"] != "0.0.0.0" || env["lease"] != "" || env["router"] != "" {
		t.Fatalf("proxy gave an address: ip=%q lease=%q router=%q", env["ip"], env["lease"], env["router"])
	}
	if env["boot_file"] != "undionly.kpxe" || env["siaddr"] != labServer.String() || env["vendor"] != "PXEClient" || env["opt43"] != "060108ff" {
		t.Fatalf("proxy boot info: boot_file=%q siaddr=%q vendor=%q opt43=%q", env["boot_file"], env["siaddr"], env["vendor"], env["opt43"])
	}
	// A client that does not network-boot gets no answer at all.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := netns.Command(ctx, lab.ClientNS, busybox, "udhcpc", "-f", "-q", "-n", "-i", lab.ClientIf,
		"-s", "/bin/true", "-t", "2", "-T", "1", "-A", "1").CombinedOutput()
	if err == nil {
		t.Fatalf("plain client got an answer from a proxy:\n%s", out)
	}
}
