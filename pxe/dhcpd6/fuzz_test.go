package dhcpd6

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/prometheus/client_golang/prometheus"
)

var fuzzPeer = &net.UDPAddr{IP: net.ParseIP("fe80::5054:ff:fe00:3"), Port: 546, Zone: "eth0"}

func fuzzServer(tb testing.TB, reg prometheus.Registerer) *Server {
	tb.Helper()
	hosts, err := NewStaticHosts(map[string]Host{"52:54:00:00:00:02": {IP: netip.MustParseAddr("fd00:a::20")}})
	if err != nil {
		tb.Fatal(err)
	}
	s, err := New(Options{
		ServerAddr: netip.MustParseAddr("fd00:a::1"), Registerer: reg, Hosts: hosts,
		Pools: []Pool{
			{Prefix: netip.MustParsePrefix("fd00:a::/64"), Start: netip.MustParseAddr("fd00:a::100"), End: netip.MustParseAddr("fd00:a::10f")},
			{Prefix: netip.MustParsePrefix("fd00:b::/64"), Start: netip.MustParseAddr("fd00:b::100"), End: netip.MustParseAddr("fd00:b::10f")},
		},
		Boot: &BootConfig{UEFIX64: "tftp://[fd00:a::1]/x.efi", HTTPX64: "http://[fd00:a::1]/x.efi", IPXEScript: "http://[fd00:a::1]/{mac}"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// FuzzHandle feeds arbitrary datagrams to a server: it must never panic,
// and whatever it sends back must decode. Seeds: testdata/fuzz/FuzzHandle
// (Solicit, Request, Renew, Confirm, relayed and iPXE messages, truncated
// and option-garbled ones).
func FuzzHandle(f *testing.F) {
	s := fuzzServer(f, nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		out := s.handlePacket(context.Background(), b, fuzzPeer)
		if out == nil {
			return
		}
		if _, err := dhcpv6.FromBytes(out); err != nil {
			t.Fatalf("reply does not decode: %v", err)
		}
	})
}

// TestMalformedCounted checks that garbage is dropped and counted.
func TestMalformedCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := fuzzServer(t, reg)
	sol, _ := dhcpv6.NewSolicit(net.HardwareAddr{2, 0, 0, 0, 0, 1}, dhcpv6.WithArchType(iana.EFI_X86_64))
	good := sol.ToBytes()
	adv := append([]byte(nil), good...)
	adv[0] = byte(dhcpv6.MessageTypeAdvertise) // not from a client
	noCID := &dhcpv6.Message{MessageType: dhcpv6.MessageTypeSolicit}
	deep := dhcpv6.DHCPv6(sol)
	for range maxRelayDepth + 1 {
		deep, _ = dhcpv6.EncapsulateRelay(deep, dhcpv6.MessageTypeRelayForward, net.IPv6zero, net.IPv6loopback)
	}
	for _, b := range [][]byte{nil, []byte("x"), good[:3], good[:len(good)-1], adv, noCID.ToBytes(), deep.ToBytes()} {
		if out := s.handlePacket(context.Background(), b, fuzzPeer); out != nil {
			t.Fatalf("answered %x", b)
		}
	}
	if out := s.handlePacket(context.Background(), good, fuzzPeer); out == nil {
		t.Fatal("valid Solicit not answered")
	}
	malformed, notRequest := Counter(t, reg, "atoll_dhcpd6_dropped_total", reasonMalformed), Counter(t, reg, "atoll_dhcpd6_dropped_total", reasonNotRequest)
	if malformed != 6 || notRequest != 1 {
		t.Fatalf("dropped malformed=%v not_request=%v, want 6 and 1", malformed, notRequest)
	}
}
