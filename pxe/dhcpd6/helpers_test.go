package dhcpd6_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/atoll-edge/atoll/pxe/dhcpd6"
)

var (
	prefixA = netip.MustParsePrefix("fd00:a::/64")
	prefixB = netip.MustParsePrefix("fd00:b::/64")
	serverA = netip.MustParseAddr("fd00:a::1")
)

func poolOf(prefix netip.Prefix, start, end string) dhcpd6.Pool {
	return dhcpd6.Pool{Prefix: prefix, Start: netip.MustParseAddr(start), End: netip.MustParseAddr(end),
		DNS: []netip.Addr{serverA}, PreferredLifetime: time.Hour, ValidLifetime: 2 * time.Hour}
}

func newServer(t testing.TB, o dhcpd6.Options) *dhcpd6.Server {
	t.Helper()
	if len(o.Pools) == 0 {
		o.Pools = []dhcpd6.Pool{poolOf(prefixA, "fd00:a::100", "fd00:a::1ff")}
	}
	s, err := dhcpd6.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func mac(i int) net.HardwareAddr {
	return net.HardwareAddr{0x52, 0x54, 0x00, byte(i >> 16), byte(i >> 8), byte(i)}
}

// duid is client i's DUID-LL.
func duid(i int) *dhcpv6.DUIDLL {
	return &dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: mac(i)}
}

// solicit is client i's Solicit with a stable DUID-LL.
func solicit(t testing.TB, i int, mods ...dhcpv6.Modifier) *dhcpv6.Message {
	t.Helper()
	m, err := dhcpv6.NewSolicit(mac(i), append([]dhcpv6.Modifier{dhcpv6.WithClientID(duid(i))}, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// exchange handles pkt and returns the reply, unwrapped from relays.
func exchange(t testing.TB, s *dhcpd6.Server, pkt dhcpv6.DHCPv6) *dhcpv6.Message {
	t.Helper()
	resp, err := s.Handle(context.Background(), pkt)
	if err != nil {
		t.Fatalf("Handle(%s): %v", pkt.Type(), err)
	}
	if resp == nil {
		return nil
	}
	m, err := resp.GetInnerMessage()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// bind runs Solicit, Advertise, Request, Reply for client i and returns
// the Reply.
func bind(t testing.TB, s *dhcpd6.Server, i int, mods ...dhcpv6.Modifier) *dhcpv6.Message {
	t.Helper()
	adv := exchange(t, s, solicit(t, i, mods...))
	if adv == nil || adv.MessageType != dhcpv6.MessageTypeAdvertise {
		t.Fatalf("want ADVERTISE, got %v", adv)
	}
	req, err := dhcpv6.NewRequestFromAdvertise(adv, mods...)
	if err != nil {
		t.Fatal(err)
	}
	rep := exchange(t, s, req)
	if rep == nil || rep.MessageType != dhcpv6.MessageTypeReply {
		t.Fatalf("want REPLY, got %v", rep)
	}
	if a, b := addrOf(adv), addrOf(rep); a != b {
		t.Fatalf("REPLY %s differs from ADVERTISE %s", b, a)
	}
	return rep
}

// addrOf is the address of a reply's first IA_NA, or the zero Addr.
func addrOf(m *dhcpv6.Message) netip.Addr {
	ia := m.Options.OneIANA()
	if ia == nil {
		return netip.Addr{}
	}
	a := ia.Options.OneAddress()
	if a == nil {
		return netip.Addr{}
	}
	ip, _ := netip.AddrFromSlice(a.IPv6Addr)
	return ip
}

// followUp builds a client message of type mt that names the server and
// carries the address of rep (a Renew, Release, Decline...).
func followUp(rep *dhcpv6.Message, mt dhcpv6.MessageType) *dhcpv6.Message {
	m := &dhcpv6.Message{MessageType: mt, TransactionID: dhcpv6.TransactionID{1, 2, 3}}
	m.AddOption(rep.GetOneOption(dhcpv6.OptionClientID))
	switch mt {
	case dhcpv6.MessageTypeRebind, dhcpv6.MessageTypeConfirm:
	default:
		m.AddOption(rep.GetOneOption(dhcpv6.OptionServerID))
	}
	if ia := rep.Options.OneIANA(); ia != nil {
		cp := &dhcpv6.OptIANA{} // a copy: tests edit it
		if err := cp.FromBytes(ia.ToBytes()); err != nil {
			panic(err)
		}
		m.AddOption(cp)
	}
	return m
}

func statusOf(opts dhcpv6.Options) iana.StatusCode {
	o := opts.GetOne(dhcpv6.OptionStatusCode)
	if o == nil {
		return iana.StatusSuccess
	}
	return o.(*dhcpv6.OptStatusCode).StatusCode
}

func hexOf(b []byte) string { return fmt.Sprintf("%x", b) }

// counter reads a counter of a registry (see export_test.go).
var counter = dhcpd6.Counter
