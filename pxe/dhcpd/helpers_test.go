package dhcpd_test

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/pxe/dhcpd"
	"github.com/insomniacslk/dhcp/dhcpv4"
)

var (
	serverIP = netip.MustParseAddr("10.10.0.1")
	subnetA  = netip.MustParsePrefix("10.10.0.0/24")
)

func poolA(start, end string) dhcpd.Pool {
	return dhcpd.Pool{
		Subnet: subnetA, Start: netip.MustParseAddr(start), End: netip.MustParseAddr(end),
		Router: serverIP, DNS: []netip.Addr{serverIP}, LeaseTime: time.Hour,
	}
}

func newServer(t testing.TB, o dhcpd.Options) *dhcpd.Server {
	t.Helper()
	if !o.ServerIP.IsValid() {
		o.ServerIP = serverIP
	}
	s, err := dhcpd.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func mac(i int) net.HardwareAddr {
	return net.HardwareAddr{0x52, 0x54, 0x00, byte(i >> 16), byte(i >> 8), byte(i)}
}

func mustDiscover(t testing.TB, m net.HardwareAddr, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	d, err := dhcpv4.NewDiscovery(m, mods...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func handle(t testing.TB, s *dhcpd.Server, req *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
	t.Helper()
	resp, err := s.Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("Handle(%s): %v", req.MessageType(), err)
	}
	return resp
}

// dora runs DISCOVER, OFFER, REQUEST, ACK for one client and returns the ACK.
func dora(t testing.TB, s *dhcpd.Server, m net.HardwareAddr, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	offer := handle(t, s, mustDiscover(t, m, mods...))
	if offer == nil || offer.MessageType() != dhcpv4.MessageTypeOffer {
		t.Fatalf("want OFFER, got %v", offer)
	}
	req, err := dhcpv4.NewRequestFromOffer(offer, mods...)
	if err != nil {
		t.Fatal(err)
	}
	ack := handle(t, s, req)
	if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("want ACK, got %v", ack)
	}
	if !ack.YourIPAddr.Equal(offer.YourIPAddr) {
		t.Fatalf("ACK %s differs from OFFER %s", ack.YourIPAddr, offer.YourIPAddr)
	}
	return ack
}

func addrOf(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}
