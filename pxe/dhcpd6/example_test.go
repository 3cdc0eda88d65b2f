package dhcpd6_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/atoll-edge/atoll/pxe/dhcpd6"
)

// A server answers one Solicit from UEFI x86-64 firmware with the first
// address of its range and the TFTP URL of the boot loader.
func ExampleServer_Handle() {
	srv, err := dhcpd6.New(dhcpd6.Options{
		Pools: []dhcpd6.Pool{{
			Prefix: netip.MustParsePrefix("fd00:10::/64"),
			Start:  netip.MustParseAddr("fd00:10::100"),
			End:    netip.MustParseAddr("fd00:10::1ff"),
		}},
		Boot: &dhcpd6.BootConfig{
			UEFIX64:    "tftp://[fd00:10::1]/snponly.efi",
			IPXEScript: "http://[fd00:10::1]/boot/{mac}.ipxe",
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mac, _ := net.ParseMAC("52:54:00:12:34:56")
	solicit, _ := dhcpv6.NewSolicit(mac,
		dhcpv6.WithArchType(iana.EFI_X86_64),
		dhcpv6.WithRequestedOptions(dhcpv6.OptionBootfileURL))
	reply, err := srv.Handle(context.Background(), solicit)
	if err != nil {
		fmt.Println(err)
		return
	}
	adv := reply.(*dhcpv6.Message)
	fmt.Println(adv.MessageType, adv.Options.OneIANA().Options.OneAddress().IPv6Addr)
	fmt.Println(adv.Options.BootFileURL())
	// Output:
	// ADVERTISE fd00:10::100
	// tftp://[fd00:10::1]/snponly.efi
}
