package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/pxe/imagestore"
)

// firmware is one way a guest network-boots.
type firmware struct {
	name string
	mac  string
	args []string // qemu machine and firmware arguments
	nic  string   // extra -device properties
}

func TestQEMUPXEBoot(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a qemu guest (minutes under TCG); skipped in -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces and /dev/net/tun: run `go test` as root")
	}
	qemu := tool(t, "qemu-system-x86_64", "qemu-system-x86")
	tool(t, "ip", "iproute2")
	busybox := tool(t, "busybox", "busybox-static")
	if out, _ := exec.Command("file", "-L", busybox).Output(); strings.Contains(string(out), "dynamically") {
		t.Skipf("%s is dynamically linked: install busybox-static", busybox)
	}
	for _, f := range []string{"/usr/lib/ipxe/qemu/efi-virtio.rom", "/usr/lib/ipxe/snponly.efi", "/usr/lib/ipxe/undionly.kpxe"} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("%s missing: install ipxe-qemu and ipxe", f)
		}
	}
	k := debianKernel(t)

	work := t.TempDir()
	initrd := filepath.Join(work, "initrd.img")
	if err := buildInitramfs(initrd, busybox, k.modules); err != nil {
		t.Fatal(err)
	}
	storeDir := filepath.Join(work, "store")
	store, err := imagestore.Open(storeDir, imagestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"vmlinuz": k.vmlinuz, "initrd.img": initrd} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = store.Register(context.Background(), name, "e2e", f, "")
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	store.Close()

	fws := []firmware{
		{name: "bios-ipxe-rom", mac: "52:54:00:e2:e0:01", args: []string{"-machine", "pc,graphics=off"}},
	}
	if _, err := os.Stat("/usr/share/ovmf/OVMF.fd"); err == nil {
		fws = append(fws, firmware{name: "uefi-pxe-tftp", mac: "52:54:00:e2:e0:02",
			args: []string{"-machine", "pc", "-bios", "/usr/share/ovmf/OVMF.fd"}, nic: ",romfile="})
	} else {
		t.Log("ovmf not installed: UEFI case skipped (apt-get install -y --no-install-recommends ovmf)")
	}
	hosts := map[string]bootHost{}
	for _, fw := range fws {
		hosts[fw.mac] = bootHost{Name: fw.name, Kernel: "vmlinuz", Initrds: []string{"initrd.img"},
			Cmdline: "console=ttyS0,115200 panic=-1 no_timer_check"}
	}

	ns := newNamespace(t)
	events := startServer(t, ns, serverConfig{
		Iface: bridge, ServerIP: serverIP, HTTPPort: httpPort, StoreDir: storeDir,
		TFTPRoot: "/usr/lib/ipxe", Hosts: hosts,
	})
	for _, fw := range fws {
		t.Run(fw.name, func(t *testing.T) {
			bootGuest(t, ns, qemu, fw, events)
		})
	}
}

func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not found: install it with `apt-get install -y --no-install-recommends %s`", name, pkg)
	}
	return p
}

// startServer runs Atoll's servers as a separate process inside ns (the
// test binary re-executed with serverEnv) and returns the status reports
// it prints.
func startServer(t *testing.T, ns string, cfg serverConfig) <-chan reportJSON {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(cfg)
	cmd := exec.Command("ip", "netns", "exec", ns, self, "-test.run=^$")
	cmd.Env = append(os.Environ(), serverEnv+"="+string(raw))
	logPath := filepath.Join(t.TempDir(), "server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("server log:\n%s", tail(b, 8000))
		}
	})
	events := make(chan reportJSON, 16)
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if line == readyLine {
				close(ready)
				continue
			}
			if js, ok := strings.CutPrefix(line, statusLine); ok {
				var r reportJSON
				if json.Unmarshal([]byte(js), &r) == nil {
					events <- r
				}
			}
		}
	}()
	select {
	case <-ready:
	case <-exited:
		b, _ := os.ReadFile(logPath)
		t.Fatalf("server process exited before serving:\n%s", b)
	case <-time.After(2 * time.Minute):
		t.Fatal("server process not ready after 2 minutes")
	}
	return events
}

// failureMarks are serial-log strings after which the guest cannot succeed.
func failureMarks() []string {
	return []string{"Nothing to boot", "No bootable device", "Kernel panic", "ATOLL-E2E-FAIL", "No more network devices", "Could not boot"}
}

// bootGuest boots one qemu guest in ns and waits for its install-complete
// report.
func bootGuest(t *testing.T, ns, qemu string, fw firmware, events <-chan reportJSON) {
	serial := filepath.Join(t.TempDir(), "serial.log")
	args := []string{"netns", "exec", ns, qemu, "-nodefaults", "-no-reboot", "-accel", "tcg"}
	args = append(args, fw.args...)
	args = append(args, "-m", "512", "-smp", "1", "-display", "none", "-monitor", "none",
		"-serial", "file:"+serial,
		"-netdev", "tap,id=n0,ifname="+tap+",script=no,downscript=no",
		"-device", "virtio-net-pci,netdev=n0,mac="+fw.mac+",bootindex=1"+fw.nic)
	cmd := exec.Command("ip", args...)
	qlog := filepath.Join(t.TempDir(), "qemu.log")
	qf, _ := os.Create(qlog)
	cmd.Stdout, cmd.Stderr = qf, qf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); qf.Close(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			b, _ := os.ReadFile(serial)
			q, _ := os.ReadFile(qlog)
			t.Logf("qemu output:\n%s\nserial log:\n%s", q, tail(b, 12000))
		}
	})

	deadline := time.After(10 * time.Minute)
	poll := time.NewTicker(500 * time.Millisecond)
	defer poll.Stop()
	var got *reportJSON
	for got == nil {
		select {
		case r := <-events:
			if r.MAC == fw.mac {
				got = &r
			} else {
				t.Logf("report from another host: %+v", r)
			}
		case <-exited:
			// The guest may power off right after its report: drain.
			select {
			case r := <-events:
				if r.MAC == fw.mac {
					got = &r
					continue
				}
			case <-time.After(2 * time.Second):
			}
			t.Fatalf("qemu exited (%v) after %v without an install-complete report", waitErr, time.Since(start).Round(time.Second))
		case <-poll.C:
			b, _ := os.ReadFile(serial)
			for _, m := range failureMarks() {
				if strings.Contains(string(b), m) {
					t.Fatalf("guest failed after %v: serial log says %q", time.Since(start).Round(time.Second), m)
				}
			}
		case <-deadline:
			t.Fatalf("no install-complete report after 10 minutes")
		}
	}
	if got.State != "install-complete" || got.Message != "e2e initramfs" {
		t.Fatalf("report = %+v", got)
	}
	remote, err := netip.ParseAddr(got.Remote)
	lo, hi := netip.MustParseAddr(poolStart), netip.MustParseAddr(poolEnd)
	if err != nil || remote.Less(lo) || hi.Less(remote) {
		t.Fatalf("report came from %q, not from an address of Atoll's pool %s-%s", got.Remote, poolStart, poolEnd)
	}
	t.Logf("%s: install-complete from %s after %v", fw.name, remote, time.Since(start).Round(time.Second))
	select {
	case <-exited:
	case <-time.After(time.Minute):
		t.Errorf("guest did not power off within a minute of its report")
	}
	b, _ := os.ReadFile(serial)
	for _, want := range []string{"iPXE", "atoll-e2e: lease"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("serial log lacks %q", want)
		}
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
