package dhcpd6_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/atoll-edge/atoll/pxe/dhcpd"
	"github.com/atoll-edge/atoll/pxe/dhcpd/dhcpdtest"
	"github.com/atoll-edge/atoll/pxe/dhcpd6"
)

func TestSolicitRequestPersists(t *testing.T) {
	st := dhcpd.NewMemoryStore()
	s := newServer(t, dhcpd6.Options{Leases: st})
	rep := bind(t, s, 1)
	a := addrOf(rep)
	if a != netip.MustParseAddr("fd00:a::100") {
		t.Fatalf("bound %s, want the first address of the range", a)
	}
	ia := rep.Options.OneIANA()
	if ia.T1 != 30*time.Minute || ia.T2 != 48*time.Minute {
		t.Fatalf("T1 %v T2 %v, want 1/2 and 4/5 of the preferred lifetime", ia.T1, ia.T2)
	}
	if ad := ia.Options.OneAddress(); ad.PreferredLifetime != time.Hour || ad.ValidLifetime != 2*time.Hour {
		t.Fatalf("lifetimes %v/%v", ad.PreferredLifetime, ad.ValidLifetime)
	}
	if dns := rep.Options.DNS(); len(dns) != 1 || !dns[0].Equal(net.IP(serverA.AsSlice())) {
		t.Fatalf("DNS %v", dns)
	}
	ls, _ := st.Load(context.Background())
	if len(ls) != 1 || ls[0].IP != a || string(ls[0].ClientID) != string(duid(1).ToBytes()) || ls[0].MAC.String() != mac(1).String() {
		t.Fatalf("stored %+v", ls)
	}
	// A second client gets another address; the first keeps its own.
	if b := addrOf(bind(t, s, 2)); b == a || !b.IsValid() {
		t.Fatalf("second client got %s (first has %s)", b, a)
	}
	if again := addrOf(bind(t, s, 1)); again != a {
		t.Fatalf("first client got %s, had %s", again, a)
	}
}

func TestRapidCommit(t *testing.T) {
	st := dhcpd.NewMemoryStore()
	s := newServer(t, dhcpd6.Options{Leases: st})
	rep := exchange(t, s, solicit(t, 1, dhcpv6.WithRapidCommit))
	if rep.MessageType != dhcpv6.MessageTypeReply || rep.GetOneOption(dhcpv6.OptionRapidCommit) == nil {
		t.Fatalf("want REPLY with Rapid Commit, got %v", rep)
	}
	if ls, _ := st.Load(context.Background()); len(ls) != 1 || ls[0].IP != addrOf(rep) {
		t.Fatalf("rapid commit binding not stored: %+v", ls)
	}
}

func TestConcurrentClientsNeverShareAnAddress(t *testing.T) {
	s := newServer(t, dhcpd6.Options{})
	const n = 64
	got := make([]netip.Addr, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i] = addrOf(bind(t, s, 100+i)) })
	}
	wg.Wait()
	seen := map[netip.Addr]int{}
	for i, a := range got {
		if j, dup := seen[a]; dup || !a.IsValid() {
			t.Fatalf("clients %d and %d got %s", j, i, a)
		}
		seen[a] = i
	}
}

func TestRenewRebindRelease(t *testing.T) {
	clock := dhcpdtest.NewClock()
	st := dhcpd.NewMemoryStore()
	s := newServer(t, dhcpd6.Options{Leases: st, Now: clock.Now})
	rep := bind(t, s, 1)
	a := addrOf(rep)

	clock.Advance(40 * time.Minute)
	ren := exchange(t, s, followUp(rep, dhcpv6.MessageTypeRenew))
	if addrOf(ren) != a || statusOf(ren.Options.OneIANA().Options.Options) != iana.StatusSuccess {
		t.Fatalf("Renew: %v", ren)
	}
	ls, _ := st.Load(context.Background())
	if want := clock.Now().Add(2 * time.Hour); len(ls) != 1 || !ls[0].Expires.Equal(want) {
		t.Fatalf("Renew stored %+v, want expiry %v", ls, want)
	}
	if reb := exchange(t, s, followUp(rep, dhcpv6.MessageTypeRebind)); addrOf(reb) != a {
		t.Fatalf("Rebind: %v", reb)
	}

	// Another client renewing an address it has no binding for.
	other := followUp(rep, dhcpv6.MessageTypeRenew)
	other.UpdateOption(dhcpv6.OptClientID(duid(9)))
	nb := exchange(t, s, other)
	if ia := nb.Options.OneIANA(); statusOf(ia.Options.Options) != iana.StatusNoBinding {
		t.Fatalf("Renew without binding: %v", nb)
	}
	// Rebinding an address of another link: lifetimes 0.
	foreign := followUp(rep, dhcpv6.MessageTypeRebind)
	foreign.UpdateOption(dhcpv6.OptClientID(duid(9)))
	foreign.Options.OneIANA().Options.OneAddress().IPv6Addr = net.ParseIP("fd00:ff::5")
	zr := exchange(t, s, foreign)
	if ad := zr.Options.OneIANA().Options.OneAddress(); ad == nil || ad.ValidLifetime != 0 || ad.PreferredLifetime != 0 {
		t.Fatalf("Rebind of a foreign address: %v", zr)
	}

	rel := exchange(t, s, followUp(rep, dhcpv6.MessageTypeRelease))
	if rel.MessageType != dhcpv6.MessageTypeReply || statusOf(rel.Options.Options) != iana.StatusSuccess {
		t.Fatalf("Release: %v", rel)
	}
	if ls, _ := st.Load(context.Background()); len(ls) != 0 {
		t.Fatalf("released lease still stored: %+v", ls)
	}
	// The released address stays with its client.
	if again := addrOf(bind(t, s, 1)); again != a {
		t.Fatalf("after Release the client got %s, had %s", again, a)
	}
}

func TestDeclineHoldsTheAddress(t *testing.T) {
	clock := dhcpdtest.NewClock()
	s := newServer(t, dhcpd6.Options{Now: clock.Now, DeclineHold: time.Minute,
		Pools: []dhcpd6.Pool{poolOf(prefixA, "fd00:a::100", "fd00:a::101")}})
	rep := bind(t, s, 1)
	bad := addrOf(rep)
	dec := exchange(t, s, followUp(rep, dhcpv6.MessageTypeDecline))
	if statusOf(dec.Options.Options) != iana.StatusSuccess {
		t.Fatalf("Decline: %v", dec)
	}
	if a := addrOf(bind(t, s, 1)); a == bad || !a.IsValid() {
		t.Fatalf("client got the declined %s again", a)
	}
	// The range is now used up until the hold ends.
	_, err := s.Handle(context.Background(), solicit(t, 2))
	if !errors.Is(err, dhcpd6.ErrPoolExhausted) {
		t.Fatalf("third client: %v, want ErrPoolExhausted", err)
	}
	clock.Advance(2 * time.Minute)
	if a := addrOf(bind(t, s, 2)); a != bad {
		t.Fatalf("after the hold the client got %s, want %s", a, bad)
	}
}

func TestPoolExhausted(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := newServer(t, dhcpd6.Options{Registerer: reg, Pools: []dhcpd6.Pool{poolOf(prefixA, "fd00:a::100", "fd00:a::100")}})
	bind(t, s, 1)
	resp, err := s.Handle(context.Background(), solicit(t, 2))
	if !errors.Is(err, dhcpd6.ErrPoolExhausted) {
		t.Fatalf("err %v, want ErrPoolExhausted", err)
	}
	adv := resp.(*dhcpv6.Message)
	if statusOf(adv.Options.Options) != iana.StatusNoAddrsAvail || statusOf(adv.Options.OneIANA().Options.Options) != iana.StatusNoAddrsAvail {
		t.Fatalf("want NoAddrsAvail, got %v", adv)
	}
	if v := counter(t, reg, "atoll_dhcpd6_no_addrs_total", ""); v != 1 {
		t.Fatalf("no_addrs_total = %v", v)
	}
}

func TestConfirm(t *testing.T) {
	s := newServer(t, dhcpd6.Options{})
	rep := bind(t, s, 1)
	if c := exchange(t, s, followUp(rep, dhcpv6.MessageTypeConfirm)); statusOf(c.Options.Options) != iana.StatusSuccess {
		t.Fatalf("Confirm on link: %v", c)
	}
	moved := followUp(rep, dhcpv6.MessageTypeConfirm)
	moved.Options.OneIANA().Options.OneAddress().IPv6Addr = net.ParseIP("fd00:ff::5")
	if c := exchange(t, s, moved); statusOf(c.Options.Options) != iana.StatusNotOnLink {
		t.Fatalf("Confirm off link: %v", c)
	}
	empty := followUp(rep, dhcpv6.MessageTypeConfirm)
	empty.Options.Del(dhcpv6.OptionIANA)
	if c := exchange(t, s, empty); c != nil {
		t.Fatalf("Confirm without addresses answered: %v", c)
	}
}

func TestInformationRequest(t *testing.T) {
	s := newServer(t, dhcpd6.Options{Boot: &dhcpd6.BootConfig{UEFIX64: "tftp://[fd00:a::1]/snponly.efi"}})
	m, _ := dhcpv6.NewMessage(dhcpv6.WithArchType(iana.EFI_X86_64))
	m.MessageType = dhcpv6.MessageTypeInformationRequest
	rep := exchange(t, s, m)
	if rep.MessageType != dhcpv6.MessageTypeReply || len(rep.Options.DNS()) != 1 || rep.Options.BootFileURL() != "tftp://[fd00:a::1]/snponly.efi" {
		t.Fatalf("Information-request: %v", rep)
	}
}

func TestServerIdentifier(t *testing.T) {
	a := newServer(t, dhcpd6.Options{})
	b := newServer(t, dhcpd6.Options{})
	sa := exchange(t, a, solicit(t, 1)).Options.ServerID()
	sb := exchange(t, b, solicit(t, 1)).Options.ServerID()
	if sa == nil || !sa.Equal(sb) || sa.DUIDType() != dhcpv6.DUID_LL {
		t.Fatalf("generated server DUIDs %v and %v, want one stable DUID-LL", sa, sb)
	}
	llt := &dhcpv6.DUIDLLT{HWType: iana.HWTypeEthernet, Time: 1000, LinkLayerAddr: mac(7)}
	c := newServer(t, dhcpd6.Options{ServerID: llt})
	rep := exchange(t, c, solicit(t, 1))
	if !rep.Options.ServerID().Equal(llt) {
		t.Fatalf("server DUID %v, want %v", rep.Options.ServerID(), llt)
	}
	// A Request for another server is not answered.
	req, _ := dhcpv6.NewRequestFromAdvertise(rep)
	req.UpdateOption(dhcpv6.OptServerID(duid(99)))
	if r := exchange(t, c, req); r != nil {
		t.Fatalf("answered a Request for another server: %v", r)
	}
}

func TestRelayChoosesPoolAndEchoesInterfaceID(t *testing.T) {
	s := newServer(t, dhcpd6.Options{ServerAddr: serverA, Pools: []dhcpd6.Pool{
		poolOf(prefixA, "fd00:a::100", "fd00:a::1ff"), poolOf(prefixB, "fd00:b::100", "fd00:b::1ff")}})
	inner := solicit(t, 1)
	fw, err := dhcpv6.EncapsulateRelay(inner, dhcpv6.MessageTypeRelayForward, net.ParseIP("fd00:b::1"), net.ParseIP("fe80::1"))
	if err != nil {
		t.Fatal(err)
	}
	fw.AddOption(dhcpv6.OptInterfaceID([]byte("port7")))
	// A second relay hop nearer the server, on another link.
	outer, _ := dhcpv6.EncapsulateRelay(fw, dhcpv6.MessageTypeRelayForward, net.ParseIP("fd00:a::2"), net.ParseIP("fd00:b::1"))
	resp, err := s.Handle(context.Background(), outer)
	if err != nil {
		t.Fatal(err)
	}
	rr, ok := resp.(*dhcpv6.RelayMessage)
	if !ok || rr.MessageType != dhcpv6.MessageTypeRelayReply {
		t.Fatalf("want RELAY-REPL, got %v", resp)
	}
	innerRR, _ := rr.Options.RelayMessage().(*dhcpv6.RelayMessage)
	if innerRR == nil || string(innerRR.Options.InterfaceID()) != "port7" || !innerRR.PeerAddr.Equal(net.ParseIP("fe80::1")) {
		t.Fatalf("inner relay reply %v, want Interface-Id port7 and the client's peer address", innerRR)
	}
	adv, _ := rr.GetInnerMessage()
	if a := addrOf(adv); !prefixB.Contains(a) {
		t.Fatalf("relayed client got %s, want one in %s", a, prefixB)
	}
	// Direct clients get the pool of ServerAddr; unknown links none.
	if a := addrOf(exchange(t, s, solicit(t, 2))); !prefixA.Contains(a) {
		t.Fatalf("direct client got %s", a)
	}
	far, _ := dhcpv6.EncapsulateRelay(solicit(t, 3), dhcpv6.MessageTypeRelayForward, net.ParseIP("fd00:c::1"), net.ParseIP("fe80::3"))
	if _, err := s.Handle(context.Background(), far); !errors.Is(err, dhcpd6.ErrNoPool) {
		t.Fatalf("unknown link: %v, want ErrNoPool", err)
	}
}

func TestReservations(t *testing.T) {
	hosts, err := dhcpd6.NewStaticHosts(map[string]dhcpd6.Host{
		"duid:" + hexOf(duid(1).ToBytes()): {IP: netip.MustParseAddr("fd00:a::10"), Hostname: "by-duid"},
		mac(2).String():                    {IP: netip.MustParseAddr("fd00:a::20")},
		mac(3).String():                    {IP: netip.MustParseAddr("fd00:a::30")},
		mac(4).String():                    {IP: netip.MustParseAddr("fd00:a::40")},
		"52:54:00:00:00:09":                {IP: netip.MustParseAddr("fd00:a::100")}, // inside the range
	})
	if err != nil {
		t.Fatal(err)
	}
	st := dhcpd.NewMemoryStore()
	s := newServer(t, dhcpd6.Options{Hosts: hosts, Leases: st})
	if a := addrOf(bind(t, s, 1)); a != netip.MustParseAddr("fd00:a::10") {
		t.Fatalf("DUID reservation: got %s", a)
	}
	// MAC from a DUID-LL.
	if a := addrOf(bind(t, s, 2)); a != netip.MustParseAddr("fd00:a::20") {
		t.Fatalf("MAC reservation (DUID-LL): got %s", a)
	}
	// MAC from option 79 of a relay, the DUID an opaque DUID-EN.
	m := solicit(t, 50, dhcpv6.WithClientID(&dhcpv6.DUIDEN{EnterpriseNumber: 9, EnterpriseIdentifier: []byte("x")}))
	fw, _ := dhcpv6.EncapsulateRelay(m, dhcpv6.MessageTypeRelayForward, net.ParseIP("fd00:a::2"), net.ParseIP("fe80::3"))
	fw.AddOption(dhcpv6.OptClientLinkLayerAddress(iana.HWTypeEthernet, mac(3)))
	if a := addrOf(exchange(t, s, fw)); a != netip.MustParseAddr("fd00:a::30") {
		t.Fatalf("MAC reservation (option 79): got %s", a)
	}
	// MAC from the EUI-64 link-local peer address of firmware whose DUID
	// is a DUID-UUID.
	uuid := solicit(t, 51, dhcpv6.WithClientID(&dhcpv6.DUIDUUID{UUID: [16]byte{1, 2, 3}}))
	fw, _ = dhcpv6.EncapsulateRelay(uuid, dhcpv6.MessageTypeRelayForward, net.ParseIP("fd00:a::2"), net.ParseIP("fe80::5054:ff:fe00:4"))
	if a := addrOf(exchange(t, s, fw)); a != netip.MustParseAddr("fd00:a::40") {
		t.Fatalf("MAC reservation (EUI-64 link-local): got %s", a)
	}
	// A reserved address inside the range is never handed to others.
	for i := 10; i < 20; i++ {
		if a := addrOf(bind(t, s, i)); a == netip.MustParseAddr("fd00:a::100") {
			t.Fatalf("client %d got the reserved %s", i, a)
		}
	}
	ls, _ := st.Load(context.Background())
	for _, l := range ls {
		if l.IP == netip.MustParseAddr("fd00:a::10") && l.Hostname != "by-duid" {
			t.Fatalf("reserved lease stored as %+v", l)
		}
	}
}

func TestBootSelection(t *testing.T) {
	boot := &dhcpd6.BootConfig{
		UEFIX64: "tftp://[fd00:a::1]/x64.efi", UEFIARM64: "tftp://[fd00:a::1]/arm64.efi",
		HTTPX64: "http://[fd00:a::1]/x64.efi", HTTPARM64: "http://[fd00:a::1]/arm64.efi",
		IPXEScript: "http://[fd00:a::1]/boot/{mac-}.ipxe?arch={arch}",
	}
	s := newServer(t, dhcpd6.Options{Boot: boot})
	httpClient := dhcpv6.WithOption(&dhcpv6.OptVendorClass{EnterpriseNumber: 343, Data: [][]byte{[]byte("HTTPClient")}})
	oro := dhcpv6.WithRequestedOptions(dhcpv6.OptionBootfileURL)
	for _, tc := range []struct {
		name     string
		mods     []dhcpv6.Modifier
		url      string
		wantHTTP bool
	}{
		{"uefi x64", []dhcpv6.Modifier{dhcpv6.WithArchType(iana.EFI_X86_64)}, boot.UEFIX64, false},
		{"uefi arm64", []dhcpv6.Modifier{oro, dhcpv6.WithArchType(iana.EFI_ARM64)}, boot.UEFIARM64, false},
		{"http x64 by arch", []dhcpv6.Modifier{oro, dhcpv6.WithArchType(iana.EFI_X86_64_HTTP)}, boot.HTTPX64, true},
		{"http arm64 by arch", []dhcpv6.Modifier{oro, dhcpv6.WithArchType(iana.EFI_ARM64_HTTP)}, boot.HTTPARM64, true},
		{"http by vendor class", []dhcpv6.Modifier{oro, dhcpv6.WithArchType(iana.EFI_X86_64), httpClient}, boot.HTTPX64, true},
		{"ipxe", []dhcpv6.Modifier{oro, dhcpv6.WithArchType(iana.EFI_X86_64), dhcpv6.WithUserClass([]byte("iPXE"))},
			"http://[fd00:a::1]/boot/52-54-00-00-00-01.ipxe?arch=uefi-x64", false},
		{"did not ask", nil, "", false},
		{"asked, unknown arch", []dhcpv6.Modifier{oro}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			adv := exchange(t, s, solicit(t, 1, tc.mods...))
			if got := adv.Options.BootFileURL(); got != tc.url {
				t.Fatalf("boot URL %q, want %q", got, tc.url)
			}
			if got := len(adv.Options.VendorClass(343)) > 0; got != tc.wantHTTP {
				t.Fatalf("vendor class HTTPClient in reply: %v, want %v", got, tc.wantHTTP)
			}
		})
	}
}

func TestRestartKeepsLeases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leases.log")
	open := func() (*dhcpd.FileStore, *dhcpd6.Server) {
		st, err := dhcpd.OpenFileStore(path)
		if err != nil {
			t.Fatal(err)
		}
		return st, newServer(t, dhcpd6.Options{Leases: st})
	}
	st, s := open()
	a1, a2 := addrOf(bind(t, s, 1)), addrOf(bind(t, s, 2))
	st.Close()
	st, s = open()
	defer st.Close()
	// A new client must not get a leased address; the old ones keep theirs.
	if a3 := addrOf(bind(t, s, 3)); a3 == a1 || a3 == a2 {
		t.Fatalf("new client got %s, leased before the restart", a3)
	}
	if got := addrOf(bind(t, s, 2)); got != a2 {
		t.Fatalf("after a restart client 2 got %s, had %s", got, a2)
	}
}

func TestConfigErrors(t *testing.T) {
	good := poolOf(prefixA, "fd00:a::100", "fd00:a::1ff")
	for _, tc := range []struct {
		field string
		opts  dhcpd6.Options
	}{
		{"Pools", dhcpd6.Options{}},
		{"Pools[0].Prefix", dhcpd6.Options{Pools: []dhcpd6.Pool{{Prefix: netip.MustParsePrefix("10.0.0.0/24")}}}},
		{"Pools[0].Start", dhcpd6.Options{Pools: []dhcpd6.Pool{poolOf(prefixA, "fd00:a::100", "fd00:b::1")}}},
		{"Pools[0].End", dhcpd6.Options{Pools: []dhcpd6.Pool{poolOf(prefixA, "fd00:a::100", "fd00:a::1")}}},
		{"Pools[1].Prefix", dhcpd6.Options{Pools: []dhcpd6.Pool{good, good}}},
		{"ServerAddr", dhcpd6.Options{Pools: []dhcpd6.Pool{good}, ServerAddr: netip.MustParseAddr("10.0.0.1")}},
		{"ServerID", dhcpd6.Options{Pools: []dhcpd6.Pool{good}, ServerID: &dhcpv6.DUIDEN{EnterpriseNumber: 1}}},
	} {
		_, err := dhcpd6.New(tc.opts)
		var ce *dhcpd6.ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("%s: got %v", tc.field, err)
		}
	}
	reg := prometheus.NewRegistry()
	newServer(t, dhcpd6.Options{Registerer: reg})
	var ce *dhcpd6.ConfigError
	if _, err := dhcpd6.New(dhcpd6.Options{Pools: []dhcpd6.Pool{good}, Registerer: reg}); !errors.As(err, &ce) || ce.Field != "Registerer" {
		t.Errorf("second server on one registry: %v", err)
	}
	if _, err := dhcpd6.NewStaticHosts(map[string]dhcpd6.Host{"nope": {IP: serverA}}); !errors.As(err, &ce) {
		t.Errorf("bad MAC: %v", err)
	}
	if _, err := dhcpd6.NewStaticHosts(map[string]dhcpd6.Host{mac(1).String(): {IP: netip.MustParseAddr("10.0.0.1")}}); !errors.As(err, &ce) {
		t.Errorf("IPv4 reservation: %v", err)
	}
}

// TestServe runs the server on a loopback socket.
func TestServe(t *testing.T) {
	conn, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer conn.Close()
	s := newServer(t, dhcpd6.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, conn) }()

	client, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	client.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := client.WriteTo([]byte("garbage"), conn.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if _, err := client.WriteTo(solicit(t, 1).ToBytes(), conn.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	n, _, err := client.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	adv, err := dhcpv6.MessageFromBytes(buf[:n])
	if err != nil || adv.MessageType != dhcpv6.MessageTypeAdvertise {
		t.Fatalf("got %v, %v", adv, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}
