package dhcpd

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/prometheus/client_golang/prometheus"
)

// FuzzHandlePacket feeds arbitrary datagrams to an authoritative and a proxy
// server: they must never panic, and whatever they send back must decode.
// Seeds: testdata/fuzz/FuzzHandlePacket (DISCOVER, REQUEST, iPXE, relayed,
// proxy, truncated and option-garbled packets).
func FuzzHandlePacket(f *testing.F) {
	pool := Pool{Subnet: netip.MustParsePrefix("10.0.0.0/24"), Start: netip.MustParseAddr("10.0.0.10"),
		End: netip.MustParseAddr("10.0.0.20"), Router: netip.MustParseAddr("10.0.0.1")}
	boot := &BootConfig{BIOS: "undionly.kpxe", UEFIX64: "snponly.efi", HTTPX64: "http://10.0.0.1/x.efi", IPXEScript: "http://10.0.0.1/{mac}"}
	auth, err := New(Options{ServerIP: netip.MustParseAddr("10.0.0.1"), Pools: []Pool{pool}, Boot: boot, Registerer: prometheus.NewRegistry()})
	if err != nil {
		f.Fatal(err)
	}
	proxy, err := New(Options{Mode: Proxy, ServerIP: netip.MustParseAddr("10.0.0.1"), Boot: boot})
	if err != nil {
		f.Fatal(err)
	}
	peer := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 50), Port: 68}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, s := range []*Server{auth, proxy} {
			out, dst := s.handlePacket(context.Background(), b, peer)
			if out == nil {
				continue
			}
			if dst == nil {
				t.Fatal("reply without destination")
			}
			if _, err := dhcpv4.FromBytes(out); err != nil {
				t.Fatalf("reply does not decode: %v", err)
			}
		}
	})
}

// TestMalformedPacketsCounted checks that garbage is dropped and counted.
func TestMalformedPacketsCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := New(Options{ServerIP: netip.MustParseAddr("10.0.0.1"), Registerer: reg,
		Pools: []Pool{{Subnet: netip.MustParsePrefix("10.0.0.0/24"), Start: netip.MustParseAddr("10.0.0.10"), End: netip.MustParseAddr("10.0.0.20")}}})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := dhcpv4.NewDiscovery(net.HardwareAddr{2, 0, 0, 0, 0, 1})
	good := d.ToBytes()
	reply := append([]byte(nil), good...)
	reply[0] = 2 // a BOOTREPLY is not a request
	noType := dhcpv4.DHCPv4{OpCode: dhcpv4.OpcodeBootRequest, ClientHWAddr: net.HardwareAddr{2, 0, 0, 0, 0, 2}, Options: dhcpv4.Options{}}
	for _, b := range [][]byte{nil, []byte("x"), good[:100], good[:240], reply, noType.ToBytes()} {
		if out, _ := s.handlePacket(context.Background(), b, nil); out != nil {
			t.Fatalf("answered %q", b)
		}
	}
	if out, _ := s.handlePacket(context.Background(), good, nil); out == nil {
		t.Fatal("valid DISCOVER not answered")
	}
	mfs, _ := reg.Gather()
	var malformed, notRequest float64
	for _, mf := range mfs {
		if mf.GetName() != "atoll_dhcpd_dropped_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch m.GetLabel()[0].GetValue() {
			case reasonMalformed:
				malformed = m.GetCounter().GetValue()
			case reasonNotRequest:
				notRequest = m.GetCounter().GetValue()
			}
		}
	}
	if malformed != 5 || notRequest != 1 {
		t.Fatalf("dropped malformed=%v not_request=%v, want 5 and 1", malformed, notRequest)
	}
}
