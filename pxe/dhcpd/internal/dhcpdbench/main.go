// Command dhcpdbench is the DHCP scale run behind `make bench-dhcpd`: full
// DORA for many clients, a fixed number in flight, against Atoll's server
// and dnsmasq --no-ping in the same run, with the same load generator
// (package dhcpload, acting as a relay agent). Each server runs in its own
// process in a network namespace on a veth pair; nothing leaves the lab.
//
// Atoll runs before and after dnsmasq (A-B-A), so a change of load from
// other work during the long dnsmasq run skews neither side. It prints
// leases/s overall and over the first and last 1,000 leases for each run,
// the ratios of Atoll's mean to dnsmasq, and how many addresses were offered
// to two clients.
// It exits non-zero when Atoll failed a lease or offered an address twice.
//
// Needs root, iproute2 and dnsmasq (apt-get install -y iproute2 dnsmasq).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/atoll-edge/atoll/pxe/dhcpd/internal/dhcpload"
	"github.com/atoll-edge/atoll/pxe/dhcpd/internal/labproc"
	"github.com/atoll-edge/atoll/pxe/internal/netns"
)

var (
	serverIP = netip.MustParseAddr("10.77.0.1")
	relayIP  = netip.MustParseAddr("10.77.0.2")
	start    = netip.MustParseAddr("10.77.0.10")
	end      = netip.MustParseAddr("10.77.255.250")
)

func main() {
	if labproc.Main() {
		return
	}
	clients := flag.Int("clients", 10000, "clients, each one full DORA")
	inflight := flag.Int("inflight", 32, "exchanges in flight")
	window := flag.Int("window", 1000, "leases in the first and last window")
	skipPeer := flag.Bool("atoll-only", false, "do not run dnsmasq")
	perWindow := flag.Bool("per-window", false, "also print leases/s for every window")
	sequential := flag.Bool("sequential-macs", false, "consecutive client MACs (dnsmasq's worst case) instead of spread ones")
	flag.Parse()
	if err := run(*clients, *inflight, *window, *skipPeer, *sequential, *perWindow); err != nil {
		fmt.Fprintln(os.Stderr, "dhcpdbench:", err)
		os.Exit(1)
	}
}

func run(clients, inflight, window int, skipPeer, sequential, perWindow bool) error {
	if err := netns.Available(); err != nil {
		return err
	}
	dnsmasq, err := exec.LookPath("dnsmasq")
	if err != nil && !skipPeer {
		return fmt.Errorf("dnsmasq not installed: apt-get install -y dnsmasq")
	}
	ctx := context.Background()
	netns.CleanupStale(ctx)
	lab, err := netns.New(ctx, "bn", serverIP.String()+"/16", relayIP.String()+"/16")
	if err != nil {
		return err
	}
	defer lab.Close()
	dir, err := os.MkdirTemp("", "dhcpdbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	load := labproc.LoadConfig{Server: serverIP, Relay: relayIP, Clients: clients, InFlight: inflight, SequentialMACs: sequential}
	macs := "spread"
	if sequential {
		macs = "sequential"
	}
	fmt.Printf("DHCP full DORA, %d clients, %d in flight, %s MACs, relay-agent load generator, each server in a netns on a veth\n", clients, inflight, macs)
	// Atoll runs before and after dnsmasq (an A-B-A design) and the ratios
	// use the mean of its two runs, so load from other work on a shared
	// machine that changes during the long dnsmasq run skews neither side.
	runAtoll := func(n int) (dhcpload.Result, error) {
		srv, err := labproc.StartServer(ctx, lab.ServerNS, labproc.ServeConfig{
			Iface: lab.ServerIf, ServerIP: serverIP, Subnet: netip.PrefixFrom(serverIP, 16).Masked(),
			Start: start, End: end, LeaseTime: time.Hour, LeaseFile: filepath.Join(dir, fmt.Sprintf("atoll%d.leases", n)),
		})
		if err != nil {
			return dhcpload.Result{}, err
		}
		load.MACSeed = uint32(n) << 20
		res, err := labproc.RunLoad(ctx, lab.ClientNS, load)
		if stopErr := srv.Stop(); err == nil {
			err = stopErr
		}
		if err != nil {
			return res, fmt.Errorf("atoll: %w", err)
		}
		if res.Failed > 0 || res.DupOffers > 0 || res.DupAcks > 0 || res.Leases != clients {
			return res, fmt.Errorf("atoll: %d of %d leases, %d failed, %d duplicate offers, %d duplicate ACKs",
				res.Leases, clients, res.Failed, res.DupOffers, res.DupAcks)
		}
		return res, nil
	}
	atoll, err := runAtoll(1)
	if err != nil {
		return err
	}
	atoll2 := atoll

	var peer dhcpload.Result
	if !skipPeer {
		stop, err := startDnsmasq(ctx, lab, dnsmasq, dir)
		if err != nil {
			return err
		}
		load.MACSeed = 2 << 20
		peer, err = labproc.RunLoad(ctx, lab.ClientNS, load)
		stop()
		if err != nil {
			return fmt.Errorf("dnsmasq: %w", err)
		}
		if atoll2, err = runAtoll(3); err != nil {
			return err
		}
	}
	report(atoll, atoll2, peer, window, skipPeer)
	if perWindow {
		for _, r := range []struct {
			name string
			res  dhcpload.Result
		}{{"atoll (before)", atoll}, {"dnsmasq", peer}, {"atoll (after)", atoll2}} {
			fmt.Printf("%s leases/s per %d leases:", r.name, window)
			for i := 0; i+window <= len(r.res.Done); i += window {
				fmt.Printf(" %.0f", r.res.WindowRate(i, window))
			}
			fmt.Println()
		}
	}
	return nil
}

func startDnsmasq(ctx context.Context, lab *netns.Lab, bin, dir string) (func(), error) {
	cmd := netns.Command(ctx, lab.ServerNS, bin, "-k", "--no-ping", "--conf-file=/dev/null", "--port=0",
		"--interface="+lab.ServerIf, "--bind-interfaces", "--user=root", "--group=root",
		fmt.Sprintf("--dhcp-range=%s,%s,255.255.0.0,1h", start, end),
		"--dhcp-leasefile="+filepath.Join(dir, "dnsmasq.leases"), "--dhcp-lease-max=1000000",
		"--dhcp-authoritative", "--quiet-dhcp", "--pid-file="+filepath.Join(dir, "dnsmasq.pid"),
		"--log-facility="+filepath.Join(dir, "dnsmasq.log"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	// Ready when a socket listens on port 67 (0x0043) in its namespace.
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out, _ := exec.CommandContext(ctx, "ip", "netns", "exec", lab.ServerNS, "cat", "/proc/net/udp").Output()
		if strings.Contains(string(out), ":0043 ") {
			return stop, nil
		}
	}
	stop()
	return nil, fmt.Errorf("dnsmasq did not start: %s", stderr.String())
}

func report(a1, a2, p dhcpload.Result, window int, skipPeer bool) {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	ratio := func(x, y float64) string {
		if skipPeer || y == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1fx", x/y)
	}
	first := func(r dhcpload.Result) float64 { return r.WindowRate(0, window) }
	last := func(r dhcpload.Result) float64 { return r.WindowRate(len(r.Done)-window, window) }
	fmt.Fprintf(w, "server\tleases\tfailed\tNAKs\tdup offers\tdup ACKs\tleases/s\tfirst %[1]d/s\tlast %[1]d/s\tlast/first\t\n", window)
	row := func(name string, r dhcpload.Result) {
		fl := 0.0
		if first(r) > 0 {
			fl = last(r) / first(r)
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%.0f\t%.0f\t%.0f\t%.2f\t\n", name, r.Leases, r.Failed, r.NAKs, r.DupOffers, r.DupAcks, r.Rate(), first(r), last(r), fl)
	}
	if skipPeer {
		row("atoll", a1)
		w.Flush()
		return
	}
	mean := func(f func(dhcpload.Result) float64) float64 { return (f(a1) + f(a2)) / 2 }
	rate := func(r dhcpload.Result) float64 { return r.Rate() }
	row("atoll (before)", a1)
	row("dnsmasq --no-ping", p)
	row("atoll (after)", a2)
	fmt.Fprintf(w, "atoll mean/dnsmasq\t\t\t\t\t\t%s\t%s\t%s\t\t\n", ratio(mean(rate), p.Rate()), ratio(mean(first), first(p)), ratio(mean(last), last(p)))
	w.Flush()
}
