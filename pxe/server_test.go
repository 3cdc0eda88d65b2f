package pxe_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/atoll-edge/atoll/pxe"
	"github.com/atoll-edge/atoll/pxe/dhcpd"
	"github.com/atoll-edge/atoll/pxe/dhcpd6"
	"github.com/atoll-edge/atoll/pxe/httpboot"
	"github.com/atoll-edge/atoll/pxe/pxetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestServerAllServices(t *testing.T) {
	curl := pxetest.Tool(t, "curl", "curl")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "undionly.kpxe"), []byte(strings.Repeat("ipxe", 5000)), 0o644)
	dconn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tconn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	srv, err := pxe.New(pxe.Config{
		DHCP: &pxe.DHCPConfig{Conn: dconn, Options: dhcpd.Options{
			ServerIP: netip.MustParseAddr("127.0.0.1"),
			Pools: []dhcpd.Pool{{Subnet: netip.MustParsePrefix("127.0.0.0/24"),
				Start: netip.MustParseAddr("127.0.0.100"), End: netip.MustParseAddr("127.0.0.200")}},
			Boot: &dhcpd.BootConfig{BIOS: "undionly.kpxe"},
		}},
		TFTP: &pxe.TFTPConfig{Conn: tconn, Root: dir},
		HTTP: &pxe.HTTPConfig{Addr: "127.0.0.1:0", BootRoot: dir},
	}, pxe.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()

	// HTTP /boot/ from BootRoot.
	out, err := exec.Command(curl, "-sSf", "http://"+srv.HTTPAddr().String()+"/boot/undionly.kpxe").Output()
	if err != nil || len(out) != 20000 {
		t.Fatalf("HTTP: %d bytes, %v", len(out), err)
	}
	// TFTP with curl.
	out, err = exec.Command(curl, "-sSf", "--tftp-blksize", "1468", "tftp://"+srv.TFTPAddr().String()+"/undionly.kpxe").Output()
	if err != nil || len(out) != 20000 {
		t.Fatalf("TFTP: %d bytes, %v", len(out), err)
	}
	// DHCP: a DISCOVER from a PXE client that already has an address
	// (ciaddr) is answered by unicast, which works on loopback.
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mac, _ := net.ParseMAC("52:54:00:aa:bb:cc")
	disc, err := dhcpv4.NewDiscovery(mac,
		dhcpv4.WithClientIP(net.IPv4(127, 0, 0, 1)),
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")),
		dhcpv4.WithOption(dhcpv4.OptClientArch(0)))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.WriteTo(disc.ToBytes(), srv.DHCPAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	n, _, err := c.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no DHCP answer: %v", err)
	}
	offer, err := dhcpv4.FromBytes(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	if offer.MessageType() != dhcpv4.MessageTypeOffer || offer.BootFileName != "undionly.kpxe" {
		t.Fatalf("answer: %s", offer.Summary())
	}

	for _, svc := range []string{"dhcp", "tftp", "http"} {
		if v := testutil.ToFloat64(gauge(t, reg, svc)); v != 1 {
			t.Errorf("service_up{%s} = %v while serving", svc, v)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after cancel: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := net.Dial("tcp", srv.HTTPAddr().String()); err == nil {
		t.Error("HTTP listener still open after Serve returned")
	}
	for _, svc := range []string{"dhcp", "tftp", "http"} {
		if v := testutil.ToFloat64(gauge(t, reg, svc)); v != 0 {
			t.Errorf("service_up{%s} = %v after stop", svc, v)
		}
	}
}

func gauge(t *testing.T, reg *prometheus.Registry, svc string) prometheus.Collector {
	t.Helper()
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "atoll_pxe_service_up" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == svc {
				g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"})
				g.Set(m.GetGauge().GetValue())
				return g
			}
		}
	}
	t.Fatalf("no service_up{%s}", svc)
	return nil
}

// TestServerDHCP6 serves DHCPv6 on a loopback socket: a Solicit from UEFI
// firmware gets an address and its boot URL.
func TestServerDHCP6(t *testing.T) {
	conn, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	reg := prometheus.NewRegistry()
	srv, err := pxe.New(pxe.Config{DHCP6: &pxe.DHCP6Config{Conn: conn, Options: dhcpd6.Options{
		Pools: []dhcpd6.Pool{{Prefix: netip.MustParsePrefix("fd00:10::/64"),
			Start: netip.MustParseAddr("fd00:10::100"), End: netip.MustParseAddr("fd00:10::1ff")}},
		Boot: &dhcpd6.BootConfig{UEFIX64: "tftp://[fd00:10::1]/snponly.efi"},
	}}}, pxe.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()

	c, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mac, _ := net.ParseMAC("52:54:00:aa:bb:cc")
	sol, err := dhcpv6.NewSolicit(mac, dhcpv6.WithArchType(iana.EFI_X86_64))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.WriteTo(sol.ToBytes(), srv.DHCP6Addr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	n, _, err := c.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	adv, err := dhcpv6.MessageFromBytes(buf[:n])
	if err != nil || adv.MessageType != dhcpv6.MessageTypeAdvertise || adv.Options.BootFileURL() != "tftp://[fd00:10::1]/snponly.efi" {
		t.Fatalf("got %v, %v", adv, err)
	}
	if v := testutil.ToFloat64(gauge(t, reg, "dhcp6")); v != 1 {
		t.Fatalf("atoll_pxe_service_up{service=dhcp6} = %v", v)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

func TestServerStopsWhenAServiceFails(t *testing.T) {
	tconn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := pxe.New(pxe.Config{
		TFTP: &pxe.TFTPConfig{Conn: tconn, Root: t.TempDir()},
		HTTP: &pxe.HTTPConfig{Addr: "127.0.0.1:0"},
	}, pxe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Break the TFTP socket under the running server: TFTP's read fails,
	// and the group must stop HTTP too and report the failure.
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background()) }()
	time.Sleep(100 * time.Millisecond)
	tconn.Close()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "tftp") {
			t.Fatalf("Serve = %v, want a tftp error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return after a service failed")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	var ce *pxe.ConfigError
	if _, err := pxe.New(pxe.Config{}, pxe.Options{}); !errors.As(err, &ce) {
		t.Errorf("empty config: %v", err)
	}
	if _, err := pxe.New(pxe.Config{TFTP: &pxe.TFTPConfig{Addr: "127.0.0.1:0"}}, pxe.Options{}); !errors.As(err, &ce) {
		t.Errorf("TFTP without root: %v", err)
	}
	// A failing service config closes what New already opened.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, err = pxe.New(pxe.Config{
		HTTP: &pxe.HTTPConfig{Listener: ln},
		DHCP: &pxe.DHCPConfig{Options: dhcpd.Options{}}, // no ServerIP
	}, pxe.Options{})
	if err == nil {
		t.Fatal("DHCP without ServerIP accepted")
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("listener not closed after New failed: %v", err)
	}
	// Service and Server collectors share one registry without clashing.
	reg := prometheus.NewRegistry()
	srv, err := pxe.New(pxe.Config{HTTP: &pxe.HTTPConfig{Addr: "127.0.0.1:0", Options: httpboot.Options{Registerer: reg}}}, pxe.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
}
