package dhcpd_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/atoll-edge/atoll/pxe/dhcpd"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// A server hands one DISCOVER from iPXE the first address of its pool and
// the URL of its boot script.
func ExampleServer_Handle() {
	srv, err := dhcpd.New(dhcpd.Options{
		ServerIP: netip.MustParseAddr("10.0.0.1"),
		Pools: []dhcpd.Pool{{
			Subnet: netip.MustParsePrefix("10.0.0.0/24"),
			Start:  netip.MustParseAddr("10.0.0.100"),
			End:    netip.MustParseAddr("10.0.0.199"),
			Router: netip.MustParseAddr("10.0.0.1"),
		}},
		Boot: &dhcpd.BootConfig{
			UEFIX64:    "snponly.efi",
			IPXEScript: "http://10.0.0.1/boot/{mac}.ipxe",
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mac, _ := net.ParseMAC("52:54:00:12:34:56")
	discover, _ := dhcpv4.NewDiscovery(mac,
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00007:UNDI:003016")),
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_X86_64)),
		dhcpv4.WithUserClass("iPXE", false),
	)
	offer, err := srv.Handle(context.Background(), discover)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(offer.MessageType(), offer.YourIPAddr)
	fmt.Println(offer.BootFileName)
	fmt.Printf("option 175: % x\n", offer.Options.Get(dhcpv4.OptionEtherboot))
	// Output:
	// OFFER 10.0.0.100
	// http://10.0.0.1/boot/52:54:00:12:34:56.ipxe
	// option 175: b0 01 01
}

// A server restarted on the same lease file gives a client the address it
// had before.
func ExampleOpenFileStore() {
	dir, _ := os.MkdirTemp("", "dhcpd-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "leases.log")
	opts := dhcpd.Options{
		ServerIP: netip.MustParseAddr("10.0.0.1"),
		Pools: []dhcpd.Pool{{
			Subnet: netip.MustParsePrefix("10.0.0.0/24"),
			Start:  netip.MustParseAddr("10.0.0.100"),
			End:    netip.MustParseAddr("10.0.0.199"),
		}},
	}
	ctx := context.Background()
	lease := func(mac string) string {
		st, err := dhcpd.OpenFileStore(path)
		if err != nil {
			return err.Error()
		}
		defer st.Close()
		o := opts
		o.Leases = st
		srv, err := dhcpd.New(o)
		if err != nil {
			return err.Error()
		}
		hw, _ := net.ParseMAC(mac)
		discover, _ := dhcpv4.NewDiscovery(hw)
		offer, _ := srv.Handle(ctx, discover)
		request, _ := dhcpv4.NewRequestFromOffer(offer)
		ack, _ := srv.Handle(ctx, request)
		return ack.MessageType().String() + " " + ack.YourIPAddr.String()
	}
	fmt.Println(lease("52:54:00:00:00:01"))
	fmt.Println(lease("52:54:00:00:00:02"))
	fmt.Println(lease("52:54:00:00:00:01")) // a third server, same file
	// Output:
	// ACK 10.0.0.100
	// ACK 10.0.0.101
	// ACK 10.0.0.100
}
