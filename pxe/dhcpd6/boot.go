package dhcpd6

import (
	"bytes"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/atoll-edge/atoll/pxe/dhcpd"
)

// enterpriseIntel is the enterprise number UEFI firmware puts in its
// vendor class (option 16); a reply to an HTTP boot client echoes the
// client's.
const enterpriseIntel = 343

// bootClient is what a message says about how its sender boots.
type bootClient struct {
	asked      bool // ORO holds option 59, or option 61 is present
	arch       dhcpd.Arch
	http       bool
	enterprise uint32
	ipxe       bool
}

// classify reads the client architecture (option 61), the vendor class
// (option 16), the user class (option 15) and the ORO of a message.
func classify(m *dhcpv6.Message) bootClient {
	c := bootClient{enterprise: enterpriseIntel}
	archs := m.Options.ArchTypes()
	c.asked = len(archs) > 0 || m.IsOptionRequested(dhcpv6.OptionBootfileURL)
	for _, vc := range m.Options.VendorClasses() {
		for _, d := range vc.Data {
			if bytes.HasPrefix(d, []byte("HTTPClient")) {
				c.http, c.enterprise = true, vc.EnterpriseNumber
			}
		}
	}
	for _, uc := range m.Options.UserClasses() {
		if bytes.Contains(uc, []byte("iPXE")) {
			c.ipxe = true
		}
	}
	if len(archs) > 0 {
		switch archs[0] {
		case iana.EFI_X86_64, iana.EFI_BC:
			c.arch = dhcpd.ArchUEFIX64
		case iana.EFI_ARM64:
			c.arch = dhcpd.ArchUEFIARM64
		case iana.EFI_X86_64_HTTP:
			c.arch, c.http = dhcpd.ArchUEFIHTTPX64, true
		case iana.EFI_ARM64_HTTP:
			c.arch, c.http = dhcpd.ArchUEFIHTTPARM64, true
		}
	}
	if c.http {
		switch c.arch {
		case dhcpd.ArchUEFIX64:
			c.arch = dhcpd.ArchUEFIHTTPX64
		case dhcpd.ArchUEFIARM64:
			c.arch = dhcpd.ArchUEFIHTTPARM64
		}
	}
	return c
}

// addBoot adds the boot file URL (option 59) for a client that asked for
// one: iPXE gets its script, firmware the URL of its architecture. An
// HTTP boot client also gets vendor class "HTTPClient", which UEFI
// firmware requires in the reply.
func (s *Server) addBoot(resp *dhcpv6.Message, r *request, ip netip.Addr) {
	b := s.opts.Boot
	if b == nil {
		return
	}
	c := classify(r.msg)
	if !c.asked {
		return
	}
	url := b.url(c.arch)
	if c.ipxe && b.IPXEScript != "" {
		url = b.script(r.mac, ip, c.arch)
	}
	if url == "" {
		s.log.Info("no boot URL", "mac", r.mac.String(), "arch", c.arch.String())
		return
	}
	resp.AddOption(dhcpv6.OptBootFileURL(url))
	if c.http && !c.ipxe {
		resp.AddOption(&dhcpv6.OptVendorClass{EnterpriseNumber: c.enterprise, Data: [][]byte{[]byte("HTTPClient")}})
	}
}
