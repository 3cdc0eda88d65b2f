package dhcpd_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/pxe/dhcpd"
	"github.com/atoll-edge/atoll/pxe/dhcpd/dhcpdtest"
	"github.com/atoll-edge/atoll/pxe/dhcpd/internal/labproc"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if labproc.Main() {
		return
	}
	goleak.VerifyTestMain(m)
}

func TestAllocationHandsOutEachAddressOnce(t *testing.T) {
	s := newServer(t, dhcpd.Options{Pools: []dhcpd.Pool{poolA("10.10.0.10", "10.10.0.19")}})
	seen := map[netip.Addr]int{}
	for i := range 10 {
		ack := dora(t, s, mac(i))
		a := addrOf(ack.YourIPAddr)
		if !subnetA.Contains(a) || a.Less(netip.MustParseAddr("10.10.0.10")) || netip.MustParseAddr("10.10.0.19").Less(a) {
			t.Fatalf("client %d got %s outside the range", i, a)
		}
		if prev, dup := seen[a]; dup {
			t.Fatalf("clients %d and %d both got %s", prev, i, a)
		}
		seen[a] = i
		if got := ack.IPAddressLeaseTime(0); got != time.Hour {
			t.Errorf("lease time %v, want 1h", got)
		}
		if r := ack.Router(); len(r) != 1 || !r[0].Equal(net.IP(serverIP.AsSlice())) {
			t.Errorf("router %v", r)
		}
		if m := ack.SubnetMask(); m == nil || net.IP(m).String() != "255.255.255.0" {
			t.Errorf("mask %v", m)
		}
	}
	_, err := s.Handle(context.Background(), mustDiscover(t, mac(100)))
	if !errors.Is(err, dhcpd.ErrPoolExhausted) {
		t.Fatalf("11th client: err %v, want ErrPoolExhausted", err)
	}
	// A known client still gets its own address back.
	again := dora(t, s, mac(3))
	if seen[addrOf(again.YourIPAddr)] != 3 {
		t.Fatalf("client 3 got %s on renewal, another client's address", again.YourIPAddr)
	}
}

func TestRequestedAddressHonouredWhenFree(t *testing.T) {
	s := newServer(t, dhcpd.Options{Pools: []dhcpd.Pool{poolA("10.10.0.10", "10.10.0.50")}})
	want := net.ParseIP("10.10.0.42").To4()
	ack := dora(t, s, mac(1), dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(want)))
	if !ack.YourIPAddr.Equal(want) {
		t.Fatalf("got %s, want %s", ack.YourIPAddr, want)
	}
	// Another client asking for the same address gets a different one.
	offer := handle(t, s, mustDiscover(t, mac(2), dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(want))))
	if offer.YourIPAddr.Equal(want) {
		t.Fatalf("second client offered %s, bound to the first", want)
	}
}

func TestNakForAddressOfAnotherClient(t *testing.T) {
	s := newServer(t, dhcpd.Options{Pools: []dhcpd.Pool{poolA("10.10.0.10", "10.10.0.50")}})
	first := dora(t, s, mac(1))
	req, err := dhcpv4.NewDiscovery(mac(2), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(first.YourIPAddr)))
	if err != nil {
		t.Fatal(err)
	}
	resp := handle(t, s, req) // INIT-REBOOT for an address bound to client 1
	if resp == nil || resp.MessageType() != dhcpv4.MessageTypeNak {
		t.Fatalf("want NAK, got %v", resp)
	}
	req.UpdateOption(dhcpv4.OptRequestedIPAddress(net.ParseIP("192.168.1.5")))
	resp = handle(t, s, req) // wrong network
	if resp == nil || resp.MessageType() != dhcpv4.MessageTypeNak {
		t.Fatalf("want NAK for a foreign subnet, got %v", resp)
	}
}

func TestRequestForAnotherServerWithdrawsOffer(t *testing.T) {
	s := newServer(t, dhcpd.Options{Pools: []dhcpd.Pool{poolA("10.10.0.10", "10.10.0.10")}})
	offer := handle(t, s, mustDiscover(t, mac(1)))
	req, _ := dhcpv4.NewRequestFromOffer(offer)
	req.UpdateOption(dhcpv4.OptServerIdentifier(net.ParseIP("10.10.0.254")))
	if resp := handle(t, s, req); resp != nil {
		t.Fatalf("want silence for a REQUEST to another server, got %v", resp.MessageType())
	}
	// The single address is free again for someone else.
	if got := dora(t, s, mac(2)); !got.YourIPAddr.Equal(offer.YourIPAddr) {
		t.Fatalf("got %s, want the withdrawn %s", got.YourIPAddr, offer.YourIPAddr)
	}
}

func TestExpiredLeaseReclaimedOldestFirst(t *testing.T) {
	clk := dhcpdtest.NewClock()
	p := poolA("10.10.0.10", "10.10.0.12")
	p.LeaseTime = time.Minute
	s := newServer(t, dhcpd.Options{Pools: []dhcpd.Pool{p}, Now: clk.Now})
	var first netip.Addr
	for i := range 3 {
		a := addrOf(dora(t, s, mac(i)).YourIPAddr)
		if i == 0 {
			first = a
		}
		clk.Advance(time.Second)
	}
	if _, err := s.Handle(context.Background(), mustDiscover(t, mac(9))); !errors.Is(err, dhcpd.ErrPoolExhausted) {
		t.Fatalf("full pool: %v", err)
	}
	clk.Advance(time.Minute - 2*time.Second) // only client 0's lease has expired
	if got := addrOf(dora(t, s, mac(9)).YourIPAddr); got != first {
		t.Fatalf("reclaimed %s, want the oldest expired %s", got, first)
	}
}

func TestOfferTimesOut(t *testing.T) {
	clk := dhcpdtest.NewClock()
	s := newServer(t, dhcpd.Options{Pools: []dhcpd.Pool{poolA("10.10.0.10", "10.10.0.10")}, Now: clk.Now, OfferTimeout: 10 * time.Second})
	handle(t, s, mustDiscover(t, mac(1)))
	if _, err := s.Handle(context.Background(), mustDiscover(t, mac(2))); !errors.Is(err, dhcpd.ErrPoolExhausted) {
		t.Fatalf("offered address given away: %v", err)
	}
	clk.Advance(11 * time.Second)
	dora(t, s, mac(2))
}

func TestReleaseDeclineInform(t *testing.T) {
	clk := dhcpdtest.NewClock()
	s := newServer(t, dhcpd.Options{Pools: []dhcpd.Pool{poolA("10.10.0.10", "10.10.0.11")}, Now: clk.Now, DeclineHold: time.Minute})
	ack := dora(t, s, mac(1))
	rel, _ := dhcpv4.NewReleaseFromACK(ack)
	if resp := handle(t, s, rel); resp != nil {
		t.Fatalf("RELEASE answered with %v", resp.MessageType())
	}
	// Released: still the client's address when it comes back.
	again := dora(t, s, mac(1))
	if !again.YourIPAddr.Equal(ack.YourIPAddr) {
		t.Fatalf("after release got %s, want %s back", again.YourIPAddr, ack.YourIPAddr)
	}
	// DECLINE: the address is held out of use, the client gets the other one.
	dec, _ := dhcpv4.New(dhcpv4.WithMessageType(dhcpv4.MessageTypeDecline), dhcpv4.WithHwAddr(mac(1)),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ack.YourIPAddr)))
	if resp := handle(t, s, dec); resp != nil {
		t.Fatalf("DECLINE answered")
	}
	other := dora(t, s, mac(1))
	if other.YourIPAddr.Equal(ack.YourIPAddr) {
		t.Fatalf("declined address %s handed out again", ack.YourIPAddr)
	}
	if _, err := s.Handle(context.Background(), mustDiscover(t, mac(2))); !errors.Is(err, dhcpd.ErrPoolExhausted) {
		t.Fatalf("declined address offered within the hold: %v", err)
	}
	clk.Advance(2 * time.Minute)
	if got := dora(t, s, mac(2)); !got.YourIPAddr.Equal(ack.YourIPAddr) {
		t.Fatalf("after the hold got %s, want %s", got.YourIPAddr, ack.YourIPAddr)
	}
	// INFORM: options, no address.
	inf, _ := dhcpv4.NewInform(mac(3), net.ParseIP("10.10.0.200"))
	resp := handle(t, s, inf)
	if resp.MessageType() != dhcpv4.MessageTypeAck || !resp.YourIPAddr.IsUnspecified() || resp.Options.Has(dhcpv4.OptionIPAddressLeaseTime) {
		t.Fatalf("INFORM reply: %v", resp.Summary())
	}
}

func TestPersistenceAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leases.log")
	open := func() (*dhcpd.Server, *dhcpd.FileStore) {
		st, err := dhcpd.OpenFileStore(path)
		if err != nil {
			t.Fatal(err)
		}
		return newServer(t, dhcpd.Options{Pools: []dhcpd.Pool{poolA("10.10.0.10", "10.10.0.29")}, Leases: st}), st
	}
	s, st := open()
	got := map[string]netip.Addr{}
	for i := range 10 {
		got[mac(i).String()] = addrOf(dora(t, s, mac(i)).YourIPAddr)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// A write torn by a crash leaves a partial last line.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, `1234abcd {"op":"put","ip":"10.10.0.2`)
	f.Close()

	s, st = open()
	defer st.Close()
	for i := range 10 {
		a := addrOf(handle(t, s, mustDiscover(t, mac(i))).YourIPAddr)
		if a != got[mac(i).String()] {
			t.Fatalf("after restart client %d offered %s, had %s", i, a, got[mac(i).String()])
		}
	}
	taken := map[netip.Addr]bool{}
	for _, a := range got {
		taken[a] = true
	}
	for i := 10; i < 20; i++ {
		if a := addrOf(dora(t, s, mac(i)).YourIPAddr); taken[a] {
			t.Fatalf("new client %d got %s, a lease from before the restart", i, a)
		}
	}
}

func TestFileStoreCompactsAndRejectsCorruption(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "leases.log")
	st, err := dhcpd.OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.UnixMilli(time.Now().UnixMilli())
	// Many concurrent updates of few leases (they share fsyncs): the log
	// must be rewritten, not grow.
	const ips, rounds = 16, 300
	var wg sync.WaitGroup
	for i := range ips {
		wg.Go(func() {
			for r := range rounds {
				l := dhcpd.Lease{IP: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), MAC: mac(i), Expires: exp.Add(time.Duration(r) * time.Millisecond)}
				if err := st.Put(ctx, l); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := st.Delete(ctx, netip.AddrFrom4([4]byte{10, 0, 0, ips - 1})); err != nil {
		t.Fatal(err)
	}
	st.Close()
	fi, _ := os.Stat(path)
	data, _ := os.ReadFile(path)
	if lines := strings.Count(string(data), "\n"); lines >= ips*rounds {
		t.Fatalf("log has %d lines (%d bytes): never compacted", lines, fi.Size())
	}
	st, err = dhcpd.OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := st.Load(ctx)
	st.Close()
	if len(ls) != ips-1 {
		t.Fatalf("reloaded %d leases, want %d", len(ls), ips-1)
	}
	for _, l := range ls {
		i := int(l.IP.As4()[3])
		if want := exp.Add((rounds - 1) * time.Millisecond); !l.Expires.Equal(want) || l.MAC.String() != mac(i).String() {
			t.Fatalf("lease %s: %v %s, want last write %v %s", l.IP, l.Expires, l.MAC, want, mac(i))
		}
	}
	// A damaged record in the middle is corruption, not a torn tail.
	lines := strings.SplitAfter(string(data), "\n")
	lines[0] = "deadbeef {}\n"
	os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600)
	if _, err := dhcpd.OpenFileStore(path); !errors.Is(err, dhcpd.ErrCorruptStore) {
		t.Fatalf("open damaged log: %v, want ErrCorruptStore", err)
	}
	if err := st.Put(ctx, dhcpd.Lease{}); !errors.Is(err, dhcpd.ErrStoreClosed) {
		t.Fatalf("Put after Close: %v", err)
	}
}

func TestRelaySelectsPoolByGiaddr(t *testing.T) {
	remote := dhcpd.Pool{Subnet: netip.MustParsePrefix("10.20.0.0/24"), Start: netip.MustParseAddr("10.20.0.100"),
		End: netip.MustParseAddr("10.20.0.110"), Router: netip.MustParseAddr("10.20.0.1")}
	s := newServer(t, dhcpd.Options{Pools: []dhcpd.Pool{poolA("10.10.0.10", "10.10.0.20"), remote}})
	relay := net.ParseIP("10.20.0.1").To4()
	ack := dora(t, s, mac(1), dhcpv4.WithRelay(relay))
	if a := addrOf(ack.YourIPAddr); !remote.Subnet.Contains(a) {
		t.Fatalf("relayed client got %s, want an address of %s", a, remote.Subnet)
	}
	if !ack.GatewayIPAddr.Equal(relay) || !ack.Router()[0].Equal(relay) {
		t.Fatalf("giaddr %s router %v, want %s", ack.GatewayIPAddr, ack.Router(), relay)
	}
	direct := dora(t, s, mac(2))
	if a := addrOf(direct.YourIPAddr); !subnetA.Contains(a) {
		t.Fatalf("direct client got %s", a)
	}
	_, err := s.Handle(context.Background(), mustDiscover(t, mac(3), dhcpv4.WithRelay(net.ParseIP("172.16.0.1"))))
	if !errors.Is(err, dhcpd.ErrNoPool) {
		t.Fatalf("unknown relay: %v, want ErrNoPool", err)
	}
}

func TestReservations(t *testing.T) {
	inRange := netip.MustParseAddr("10.10.0.10") // the first dynamic address
	outside := netip.MustParseAddr("10.10.0.200")
	hosts, err := dhcpd.NewStaticHosts(map[string]dhcpd.Host{
		"52-54-00-AA-00-01": {IP: inRange, Hostname: "node1"},
		"52:54:00:aa:00:02": {IP: outside, Hostname: "node2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, dhcpd.Options{Pools: []dhcpd.Pool{poolA("10.10.0.10", "10.10.0.11")}, Hosts: hosts})
	// A dynamic client first: it must not get node1's reserved address.
	if a := addrOf(dora(t, s, mac(1)).YourIPAddr); a == inRange {
		t.Fatalf("dynamic client got reserved %s", a)
	}
	for m, want := range map[string]netip.Addr{"52:54:00:aa:00:01": inRange, "52:54:00:aa:00:02": outside} {
		hw, _ := net.ParseMAC(m)
		ack := dora(t, s, hw)
		if a := addrOf(ack.YourIPAddr); a != want {
			t.Fatalf("%s got %s, want reserved %s", m, a, want)
		}
		if ack.HostName() == "" {
			t.Fatalf("%s: no host name", m)
		}
	}
	// The pool's other address is taken; reserved ones are never dynamic.
	if _, err := s.Handle(context.Background(), mustDiscover(t, mac(2))); !errors.Is(err, dhcpd.ErrPoolExhausted) {
		t.Fatalf("err %v, want ErrPoolExhausted", err)
	}
	if _, err := dhcpd.NewStaticHosts(map[string]dhcpd.Host{"zz": {IP: inRange}}); err == nil {
		t.Fatal("bad MAC accepted")
	}
	var ce *dhcpd.ConfigError
	if _, err := dhcpd.NewStaticHosts(map[string]dhcpd.Host{"52:54:00:00:00:01": {IP: inRange}, "52:54:00:00:00:02": {IP: inRange}}); !errors.As(err, &ce) {
		t.Fatalf("duplicate reservation: %v", err)
	}
}

// TestConcurrentClientsNeverShareAnOffer is dnsmasq's flaw: clients with
// nearby MACs discovering at once must get distinct offers.
func TestConcurrentClientsNeverShareAnOffer(t *testing.T) {
	const n = 500
	s := newServer(t, dhcpd.Options{Pools: []dhcpd.Pool{{Subnet: netip.MustParsePrefix("10.10.0.0/22"),
		Start: netip.MustParseAddr("10.10.0.10"), End: netip.MustParseAddr("10.10.3.254")}}})
	var (
		mu   sync.Mutex
		seen = map[netip.Addr]int{}
		wg   sync.WaitGroup
		errs = make(chan error, n)
	)
	for i := range n {
		wg.Go(func() {
			m := mac(i)
			offer, err := s.Handle(context.Background(), mustDiscover(t, m))
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			if prev, dup := seen[addrOf(offer.YourIPAddr)]; dup {
				errs <- fmt.Errorf("clients %d and %d offered %s", prev, i, offer.YourIPAddr)
			}
			seen[addrOf(offer.YourIPAddr)] = i
			mu.Unlock()
			req, _ := dhcpv4.NewRequestFromOffer(offer)
			ack, err := s.Handle(context.Background(), req)
			if err != nil || ack.MessageType() != dhcpv4.MessageTypeAck {
				errs <- fmt.Errorf("client %d: %v %v", i, ack, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(seen) != n {
		t.Fatalf("%d distinct offers for %d clients", len(seen), n)
	}
}

func bootConfig() *dhcpd.BootConfig {
	return &dhcpd.BootConfig{
		BIOS: "undionly.kpxe", UEFIX64: "snponly.efi", UEFIARM64: "snponly-arm64.efi",
		HTTPX64: "http://10.10.0.1/boot/ipxe-x64.efi", HTTPARM64: "http://10.10.0.1/boot/ipxe-arm64.efi",
		IPXEScript: "http://10.10.0.1/ipxe/{mac-}.ipxe?ip={ip}&arch={arch}",
	}
}

func TestArchSelectsBootFile(t *testing.T) {
	s := newServer(t, dhcpd.Options{Pools: []dhcpd.Pool{poolA("10.10.0.10", "10.10.0.99")}, Boot: bootConfig()})
	cases := []struct {
		name     string
		mods     []dhcpv4.Modifier
		file     string
		tftp     bool
		class    string
		withBoot bool
	}{
		{"plain client", nil, "", false, "", false},
		{"bios", []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")), dhcpv4.WithOption(dhcpv4.OptClientArch(iana.INTEL_X86PC))}, "undionly.kpxe", true, "PXEClient", true},
		{"uefi x64", []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00007:UNDI:003016")), dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_X86_64))}, "snponly.efi", true, "PXEClient", true},
		{"uefi bc", []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00009:UNDI:003016")), dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_BC))}, "snponly.efi", true, "PXEClient", true},
		{"uefi arm64 vendor class only", []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00011:UNDI:003000"))}, "snponly-arm64.efi", true, "PXEClient", true},
		{"http boot x64", []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptClassIdentifier("HTTPClient:Arch:00016:UNDI:003001")), dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_X86_64_HTTP))}, "http://10.10.0.1/boot/ipxe-x64.efi", false, "HTTPClient", true},
		{"http boot arm64", []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptClassIdentifier("HTTPClient:Arch:00019:UNDI:003001")), dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_ARM64_HTTP))}, "http://10.10.0.1/boot/ipxe-arm64.efi", false, "HTTPClient", true},
		{"unsupported arch", []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00002:UNDI:003000")), dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_ITANIUM))}, "", false, "", false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, resp := range []*dhcpv4.DHCPv4{handle(t, s, mustDiscover(t, mac(i), tc.mods...)), dora(t, s, mac(i), tc.mods...)} {
				if resp.BootFileName != tc.file {
					t.Fatalf("%s: file %q, want %q", resp.MessageType(), resp.BootFileName, tc.file)
				}
				if resp.YourIPAddr.IsUnspecified() {
					t.Fatalf("no address")
				}
				if got := resp.ServerIPAddr.Equal(net.ParseIP("10.10.0.1")); got != tc.tftp {
					t.Fatalf("siaddr %s, tftp %v", resp.ServerIPAddr, tc.tftp)
				}
				if tc.tftp && resp.TFTPServerName() != "10.10.0.1" {
					t.Fatalf("option 66 %q", resp.TFTPServerName())
				}
				if resp.ClassIdentifier() != tc.class {
					t.Fatalf("option 60 %q, want %q", resp.ClassIdentifier(), tc.class)
				}
				if resp.Options.Has(dhcpv4.OptionEtherboot) {
					t.Fatalf("option 175 sent to a non-iPXE client")
				}
			}
		})
	}
}

func TestIPXEGetsScriptURL(t *testing.T) {
	s := newServer(t, dhcpd.Options{Pools: []dhcpd.Pool{poolA("10.10.0.10", "10.10.0.99")}, Boot: bootConfig()})
	pxe := []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")),
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.INTEL_X86PC)),
	}
	cases := map[string][]dhcpv4.Modifier{
		// What Debian's iPXE sends: user class "iPXE" and option 175.
		"user class and 175":  append(pxe, dhcpv4.WithUserClass("iPXE", false), dhcpv4.WithGeneric(dhcpv4.OptionEtherboot, []byte{177, 5, 1, 0x10, 0xec, 0x10, 0x00})),
		"rfc 3004 user class": append(pxe, dhcpv4.WithUserClass("iPXE", true)),
		"option 175 only":     append(pxe, dhcpv4.WithGeneric(dhcpv4.OptionEtherboot, []byte{19, 1, 1})),
	}
	for name, mods := range cases {
		t.Run(name, func(t *testing.T) {
			m := mac(7)
			ack := dora(t, s, m, mods...)
			want := fmt.Sprintf("http://10.10.0.1/ipxe/52-54-00-00-00-07.ipxe?ip=%s&arch=bios", ack.YourIPAddr)
			if ack.BootFileName != want {
				t.Fatalf("file %q, want %q", ack.BootFileName, want)
			}
			if got := ack.Options.Get(dhcpv4.OptionEtherboot); string(got) != "\xb0\x01\x01" {
				t.Fatalf("option 175 = %x, want b00101 (176 = 1)", got)
			}
		})
	}
}

func TestProxyMode(t *testing.T) {
	s := newServer(t, dhcpd.Options{Mode: dhcpd.Proxy, Boot: bootConfig()})
	if resp := handle(t, s, mustDiscover(t, mac(1))); resp != nil {
		t.Fatalf("proxy answered a plain client: %v", resp.Summary())
	}
	bios := []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")), dhcpv4.WithOption(dhcpv4.OptClientArch(iana.INTEL_X86PC))}
	offer := handle(t, s, mustDiscover(t, mac(2), bios...))
	if offer == nil || offer.MessageType() != dhcpv4.MessageTypeOffer {
		t.Fatalf("want OFFER, got %v", offer)
	}
	if !offer.YourIPAddr.IsUnspecified() || offer.Options.Has(dhcpv4.OptionIPAddressLeaseTime) {
		t.Fatalf("proxy offered an address: %s", offer.Summary())
	}
	if offer.BootFileName != "undionly.kpxe" || offer.ClassIdentifier() != "PXEClient" || !offer.ServerIPAddr.Equal(net.ParseIP("10.10.0.1")) {
		t.Fatalf("boot info: %s", offer.Summary())
	}
	if v := offer.Options.Get(dhcpv4.OptionVendorSpecificInformation); len(v) < 3 || v[0] != 6 || v[2] != 8 {
		t.Fatalf("option 43 = %x, want discovery control 8", v)
	}
	// The client's REQUEST to the address server is not ours.
	req, _ := dhcpv4.NewRequestFromOffer(offer, bios...)
	req.UpdateOption(dhcpv4.OptServerIdentifier(net.ParseIP("10.10.0.254")))
	if resp := handle(t, s, req); resp != nil {
		t.Fatalf("proxy answered a REQUEST for another server")
	}
	// A REQUEST to the boot server port (ciaddr set) is.
	req.DeleteOption(dhcpv4.OptionServerIdentifier)
	req.ClientIPAddr = net.ParseIP("10.10.0.77").To4()
	ack := handle(t, s, req)
	if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck || ack.BootFileName != "undionly.kpxe" {
		t.Fatalf("boot server ACK: %v", ack)
	}
	// iPXE behind a proxy: the script, and no 175.176 (it must wait for us).
	ipxe := handle(t, s, mustDiscover(t, mac(3), append(bios, dhcpv4.WithUserClass("iPXE", false))...))
	if !strings.HasPrefix(ipxe.BootFileName, "http://10.10.0.1/ipxe/52-54-00-00-00-03.ipxe") || ipxe.Options.Has(dhcpv4.OptionEtherboot) {
		t.Fatalf("iPXE proxy offer: %s", ipxe.Summary())
	}
	if _, err := dhcpd.New(dhcpd.Options{Mode: dhcpd.Proxy, ServerIP: serverIP}); err == nil {
		t.Fatal("proxy mode without Boot accepted")
	}
}

func TestMetricsCountTraffic(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := newServer(t, dhcpd.Options{Pools: []dhcpd.Pool{poolA("10.10.0.10", "10.10.0.10")}, Registerer: reg})
	dora(t, s, mac(1))
	s.Handle(context.Background(), mustDiscover(t, mac(2))) // exhausted
	req, _ := dhcpv4.NewDiscovery(mac(3), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP("10.10.0.10"))))
	handle(t, s, req) // NAK
	got := gather(t, reg)
	want := map[string]float64{
		`atoll_dhcpd_packets_total{type="discover"}`:         2,
		`atoll_dhcpd_packets_total{type="request"}`:          2,
		`atoll_dhcpd_offers_total`:                           1,
		`atoll_dhcpd_acks_total`:                             1,
		`atoll_dhcpd_naks_total`:                             1,
		`atoll_dhcpd_dropped_total{reason="pool_exhausted"}`: 1,
		`atoll_dhcpd_leases_active`:                          1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if _, err := dhcpd.New(dhcpd.Options{ServerIP: serverIP, Pools: []dhcpd.Pool{poolA("10.10.0.10", "10.10.0.10")}, Registerer: reg}); err == nil {
		t.Fatal("second server on the same registry accepted")
	}
}

func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			if len(m.GetLabel()) > 0 {
				var parts []string
				for _, l := range m.GetLabel() {
					parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
				}
				name += "{" + strings.Join(parts, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[name] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[name] = m.Gauge.GetValue()
			}
		}
	}
	return out
}

func TestOptionsValidated(t *testing.T) {
	base := poolA("10.10.0.10", "10.10.0.20")
	bad := map[string]dhcpd.Options{
		"no server ip":  {Pools: []dhcpd.Pool{base}},
		"no pools":      {ServerIP: serverIP},
		"range outside": {ServerIP: serverIP, Pools: []dhcpd.Pool{poolA("10.10.0.10", "10.10.1.20")}},
		"end before":    {ServerIP: serverIP, Pools: []dhcpd.Pool{poolA("10.10.0.30", "10.10.0.20")}},
		"overlap":       {ServerIP: serverIP, Pools: []dhcpd.Pool{base, base}},
	}
	for name, o := range bad {
		var ce *dhcpd.ConfigError
		if _, err := dhcpd.New(o); !errors.As(err, &ce) {
			t.Errorf("%s: err %v, want *ConfigError", name, err)
		}
	}
	o := dhcpd.Options{ServerIP: serverIP, Pools: []dhcpd.Pool{base}}
	if _, err := dhcpd.New(o); err != nil || o.Pools[0].LeaseTime != time.Hour || o.Logger != nil || o.Workers != 0 {
		t.Fatalf("New wrote defaults into the caller's Options: %+v %v", o, err)
	}
}

// TestServeOverUDP runs Serve on a loopback socket: an INFORM from a client
// that has its address is answered by unicast, and Serve returns when its
// context ends.
func TestServeOverUDP(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	s := newServer(t, dhcpd.Options{ServerIP: lo, Pools: []dhcpd.Pool{{Subnet: netip.MustParsePrefix("127.0.0.0/24"),
		Start: netip.MustParseAddr("127.0.0.100"), End: netip.MustParseAddr("127.0.0.200"), DNS: []netip.Addr{lo}}}, Workers: 4})
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, conn) }()

	client, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	inf, _ := dhcpv4.NewInform(mac(1), net.ParseIP("127.0.0.1"))
	if _, err := client.WriteTo([]byte("garbage"), conn.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if _, err := client.WriteTo(inf.ToBytes(), conn.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 1500)
	n, _, err := client.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no reply: %v", err)
	}
	resp, err := dhcpv4.FromBytes(buf[:n])
	if err != nil || resp.MessageType() != dhcpv4.MessageTypeAck || resp.TransactionID != inf.TransactionID {
		t.Fatalf("reply %v %v", resp, err)
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

// TestServeReturnsReadError: a conn closed under Serve ends it with an error.
func TestServeReturnsReadError(t *testing.T) {
	s := newServer(t, dhcpd.Options{Pools: []dhcpd.Pool{poolA("10.10.0.10", "10.10.0.20")}, Workers: 2})
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), conn) }()
	// Whether Serve is already reading or not yet started, it must end.
	conn.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Serve: %v, want net.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its conn closed")
	}
}
