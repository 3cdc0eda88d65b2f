package dhcpd

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// bootClient is what a request says about how its sender boots.
type bootClient struct {
	arch  Arch
	class string // "PXEClient" or "HTTPClient", "" for an ordinary client
	ipxe  bool
}

// classify reads option 93, the vendor class (option 60), the user class
// (option 77) and option 175 of a request.
func classify(req *dhcpv4.DHCPv4) bootClient {
	var c bootClient
	vc := req.ClassIdentifier()
	switch {
	case strings.HasPrefix(vc, "PXEClient"):
		c.class = "PXEClient"
	case strings.HasPrefix(vc, "HTTPClient"):
		c.class = "HTTPClient"
	}
	code := -1
	if archs := req.ClientArch(); len(archs) > 0 {
		code = int(archs[0])
	} else if c.class != "" {
		// "PXEClient:Arch:00007:UNDI:003016"
		if parts := strings.Split(vc, ":"); len(parts) >= 3 && parts[1] == "Arch" {
			if v, err := strconv.ParseUint(parts[2], 10, 16); err == nil {
				code = int(v)
			}
		}
	}
	switch iana.Arch(code) {
	case iana.INTEL_X86PC:
		c.arch = ArchBIOS
	case iana.EFI_X86_64, iana.EFI_BC:
		c.arch = ArchUEFIX64
	case iana.EFI_ARM64:
		c.arch = ArchUEFIARM64
	case iana.EFI_X86_64_HTTP:
		c.arch = ArchUEFIHTTPX64
	case iana.EFI_ARM64_HTTP:
		c.arch = ArchUEFIHTTPARM64
	}
	if c.class == "HTTPClient" {
		switch c.arch {
		case ArchUEFIX64:
			c.arch = ArchUEFIHTTPX64
		case ArchUEFIARM64:
			c.arch = ArchUEFIHTTPARM64
		}
	}
	if code < 0 {
		c.arch = ArchUnknown
	}
	for _, uc := range req.UserClass() {
		if uc == "iPXE" {
			c.ipxe = true
		}
	}
	if req.Options.Has(dhcpv4.OptionEtherboot) {
		c.ipxe = true
	}
	return c
}

func (c bootClient) netboot() bool { return c.class != "" || c.ipxe }

// bootFile returns the file name or URL for the client, whether it is an
// iPXE script, or ErrNoBootFile.
func (s *Server) bootFile(c bootClient, mac net.HardwareAddr, ip netip.Addr) (string, bool, error) {
	b := s.opts.Boot
	if c.ipxe && b.IPXEScript != "" {
		return b.script(mac, ip, c.arch), true, nil
	}
	if f := b.file(c.arch); f != "" {
		return f, false, nil
	}
	return "", false, fmt.Errorf("%w: %s", ErrNoBootFile, c.arch)
}

// addBoot adds boot information to an authoritative reply when the client
// network-boots; a client without a configured file still gets its lease.
func (s *Server) addBoot(resp, req *dhcpv4.DHCPv4, ip netip.Addr) {
	if s.opts.Boot == nil {
		return
	}
	c := classify(req)
	if !c.netboot() {
		return
	}
	file, script, err := s.bootFile(c, req.ClientHWAddr, ip)
	if err != nil {
		s.log.Info("no boot file", "mac", req.ClientHWAddr.String(), "arch", c.arch.String())
		return
	}
	s.setBoot(resp, c, file, script)
	if c.ipxe {
		// Encapsulated option 175.176 ("no-pxedhcp") = 1: iPXE need not wait
		// for a proxyDHCP offer, there is none beside an authoritative server.
		resp.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionEtherboot, []byte{176, 1, 1}))
	}
}

// setBoot writes file, siaddr and the class-specific options.
func (s *Server) setBoot(resp *dhcpv4.DHCPv4, c bootClient, file string, script bool) {
	resp.BootFileName = file
	http := script || c.arch == ArchUEFIHTTPX64 || c.arch == ArchUEFIHTTPARM64
	if !http {
		tftp := s.opts.Boot.TFTPServer
		resp.ServerIPAddr = net.IP(tftp.AsSlice())
		resp.UpdateOption(dhcpv4.OptTFTPServerName(tftp.String()))
	}
	switch {
	case c.class == "HTTPClient":
		resp.UpdateOption(dhcpv4.OptClassIdentifier("HTTPClient"))
	case c.class == "PXEClient":
		resp.UpdateOption(dhcpv4.OptClassIdentifier("PXEClient"))
		// PXE vendor option 6 (discovery control) = 8: boot the file named
		// in this offer, skip boot server discovery.
		resp.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionVendorSpecificInformation, []byte{6, 1, 8, 255}))
	}
}

// handleProxy answers network-boot clients with boot information and no
// address, beside another DHCP server (proxyDHCP, PXE specification 2.1).
func (s *Server) handleProxy(req *dhcpv4.DHCPv4, mt dhcpv4.MessageType) (*dhcpv4.DHCPv4, string, error) {
	c := classify(req)
	if c.class == "" {
		return nil, reasonNotNetboot, nil
	}
	var rt dhcpv4.MessageType
	switch mt {
	case dhcpv4.MessageTypeDiscover:
		rt = dhcpv4.MessageTypeOffer
	case dhcpv4.MessageTypeRequest, dhcpv4.MessageTypeInform:
		// A REQUEST for the address server's offer is not ours; one naming
		// us, or sent to the boot server port with ciaddr set, is.
		sid := req.ServerIdentifier()
		ci := req.ClientIPAddr
		if sid != nil && !sid.Equal(s.serverIP) || sid == nil && (ci == nil || ci.IsUnspecified()) {
			return nil, reasonNotForUs, nil
		}
		rt = dhcpv4.MessageTypeAck
	case dhcpv4.MessageTypeNone:
		return nil, reasonMalformed, fmt.Errorf("%w: no message type", ErrMalformed)
	default:
		return nil, reasonUnsupported, nil
	}
	file, script, err := s.bootFile(c, req.ClientHWAddr, netip.Addr{})
	if err != nil {
		return nil, reasonNoBootFile, err
	}
	resp := s.newReply(req, rt)
	s.setBoot(resp, c, file, script)
	return resp, "", nil
}
