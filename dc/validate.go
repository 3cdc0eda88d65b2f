package dc

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// reservedNames are region names a subcloud may not take (compared without
// case).
func isReservedName(name string) bool {
	return strings.EqualFold(name, "SystemController") || strings.EqualFold(name, "RegionOne")
}

// validateName checks that name is an RFC 1123 label (1-63 letters, digits
// and hyphens, starting and ending with a letter or digit) and not a
// reserved region name.
func validateName(name string) error {
	if name == "" {
		return &ValidationError{Field: "name", Reason: "required"}
	}
	if len(name) > 63 {
		return &ValidationError{Field: "name", Reason: fmt.Sprintf("is %d characters long; an RFC 1123 label has at most 63", len(name))}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (c != '-' || i == 0 || i == len(name)-1) {
			return &ValidationError{Field: "name", Reason: fmt.Sprintf("%q is not an RFC 1123 label (letters, digits and inner hyphens)", name)}
		}
	}
	if _, digits := parseID(name); digits {
		return &ValidationError{Field: "name", Reason: fmt.Sprintf("%q is all digits; it would read as an id", name)}
	}
	if isReservedName(name) {
		return &ValidationError{Field: "name", Reason: fmt.Sprintf("%q is reserved", name)}
	}
	return nil
}

// MaxTextLen bounds free-text fields (description, location), as
// dcmanager's database columns do.
const MaxTextLen = 255

// validateText refuses free text that every backend cannot store the same
// way or a terminal would misprint: more than MaxTextLen characters,
// invalid UTF-8, NUL and other control characters (tab excepted).
func validateText(field, v string) error {
	if utf8.RuneCountInString(v) > MaxTextLen {
		return &ValidationError{Field: field, Reason: fmt.Sprintf("is %d characters long; at most %d", utf8.RuneCountInString(v), MaxTextLen)}
	}
	if !utf8.ValidString(v) {
		return &ValidationError{Field: field, Reason: "is not valid UTF-8"}
	}
	for i, r := range v {
		if r != '\t' && unicode.IsControl(r) {
			return &ValidationError{Field: field, Reason: fmt.Sprintf("has control character %U at byte %d", r, i)}
		}
	}
	return nil
}

func parseAddrField(field, v string, required bool) (netip.Addr, error) {
	if v == "" {
		if required {
			return netip.Addr{}, &ValidationError{Field: field, Reason: "required"}
		}
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(strings.TrimSpace(v))
	if err != nil {
		return netip.Addr{}, &ValidationError{Field: field, Reason: fmt.Sprintf("%q is not an IP address", v)}
	}
	if a.Zone() != "" || a.Is4In6() {
		return netip.Addr{}, &ValidationError{Field: field, Reason: fmt.Sprintf("%q: zoned and IPv4-mapped IPv6 addresses are not accepted", v)}
	}
	if a.IsUnspecified() || a.IsMulticast() {
		return netip.Addr{}, &ValidationError{Field: field, Reason: fmt.Sprintf("%q is not a unicast address", v)}
	}
	return a, nil
}

func parseSubnetField(field, v string, required bool) (netip.Prefix, error) {
	if v == "" {
		if required {
			return netip.Prefix{}, &ValidationError{Field: field, Reason: "required"}
		}
		return netip.Prefix{}, nil
	}
	p, err := netip.ParsePrefix(strings.TrimSpace(v))
	if err != nil {
		return netip.Prefix{}, &ValidationError{Field: field, Reason: fmt.Sprintf("%q is not a CIDR subnet", v)}
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, &ValidationError{Field: field, Reason: fmt.Sprintf("%q: IPv4-mapped IPv6 subnets are not accepted", v)}
	}
	if p.Masked() != p {
		return netip.Prefix{}, &ValidationError{Field: field, Reason: fmt.Sprintf("%q has host bits set; the network is %s", v, p.Masked())}
	}
	if p.Addr().BitLen()-p.Bits() < 2 {
		return netip.Prefix{}, &ValidationError{Field: field, Reason: fmt.Sprintf("%q is too small for a subcloud network", v)}
	}
	return p, nil
}

func sameFamily(field string, a netip.Addr, subnetField string, p netip.Prefix) error {
	if a.IsValid() && p.IsValid() && a.Is4() != p.Addr().Is4() {
		return &ValidationError{Field: field, Reason: fmt.Sprintf("%s is not in the address family of %s %s", a, subnetField, p)}
	}
	return nil
}

// subcloudFromRequest validates the fields of an add request that need no
// knowledge of the fleet and builds the subcloud record from them.
func subcloudFromRequest(req AddRequest) (*Subcloud, error) {
	b := req.Bootstrap
	if err := validateName(b.Name); err != nil {
		return nil, err
	}
	s := &Subcloud{
		Name:            b.Name,
		Description:     b.Description,
		Location:        b.Location,
		SoftwareVersion: req.Release,
		SystemMode:      b.SystemMode,
	}
	if req.Description != "" {
		s.Description = req.Description
	}
	if req.Location != "" {
		s.Location = req.Location
	}
	if err := validateText("description", s.Description); err != nil {
		return nil, err
	}
	if err := validateText("location", s.Location); err != nil {
		return nil, err
	}
	switch s.SystemMode {
	case "":
		s.SystemMode = Simplex
	case Simplex, Duplex, DuplexDirect:
	default:
		return nil, &ValidationError{Field: "system_mode", Reason: fmt.Sprintf("%q is not simplex, duplex or duplex-direct", b.SystemMode)}
	}
	var err error
	if !req.BootstrapAddress.IsValid() {
		return nil, &ValidationError{Field: "bootstrap-address", Reason: "required"}
	}
	if _, err := parseAddrField("bootstrap-address", req.BootstrapAddress.String(), true); err != nil {
		return nil, err
	}
	s.BootstrapAddress = req.BootstrapAddress

	// Management network.
	if s.ManagementSubnet, err = parseSubnetField("management_subnet", b.ManagementSubnet, true); err != nil {
		return nil, err
	}
	sub := s.ManagementSubnet
	if s.ManagementStartIP, err = parseAddrField("management_start_address", b.ManagementStartAddress, true); err != nil {
		return nil, err
	}
	if s.ManagementEndIP, err = parseAddrField("management_end_address", b.ManagementEndAddress, true); err != nil {
		return nil, err
	}
	if s.ManagementGatewayIP, err = parseAddrField("management_gateway_address", b.ManagementGatewayAddress, true); err != nil {
		return nil, err
	}
	if s.SystemControllerGatewayIP, err = parseAddrField("systemcontroller_gateway_address", b.SystemControllerGatewayAddress, true); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		a    netip.Addr
	}{
		{"management_start_address", s.ManagementStartIP},
		{"management_end_address", s.ManagementEndIP},
		{"management_gateway_address", s.ManagementGatewayIP},
		{"systemcontroller_gateway_address", s.SystemControllerGatewayIP},
	} {
		if err := sameFamily(f.name, f.a, "management_subnet", sub); err != nil {
			return nil, err
		}
		if f.name != "systemcontroller_gateway_address" && !sub.Contains(f.a) {
			return nil, &ValidationError{Field: f.name, Reason: fmt.Sprintf("%s is outside management_subnet %s", f.a, sub)}
		}
	}
	if s.ManagementStartIP.Compare(s.ManagementEndIP) >= 0 {
		return nil, &ValidationError{Field: "management_end_address", Reason: fmt.Sprintf("%s is not after management_start_address %s", s.ManagementEndIP, s.ManagementStartIP)}
	}
	if gw := s.ManagementGatewayIP; gw.Compare(s.ManagementStartIP) >= 0 && gw.Compare(s.ManagementEndIP) <= 0 {
		return nil, &ValidationError{Field: "management_gateway_address", Reason: fmt.Sprintf("%s is inside the management range %s-%s", gw, s.ManagementStartIP, s.ManagementEndIP)}
	}
	if sub.Contains(s.SystemControllerGatewayIP) {
		return nil, &ValidationError{Field: "systemcontroller_gateway_address", Reason: fmt.Sprintf("%s is inside the subcloud's own management_subnet %s", s.SystemControllerGatewayIP, sub)}
	}

	// OAM network (optional as a whole).
	if s.OAMSubnet, err = parseSubnetField("external_oam_subnet", b.ExternalOAMSubnet, false); err != nil {
		return nil, err
	}
	if s.OAMGatewayIP, err = parseAddrField("external_oam_gateway_address", b.ExternalOAMGatewayAddress, false); err != nil {
		return nil, err
	}
	if s.OAMFloatingIP, err = parseAddrField("external_oam_floating_address", b.ExternalOAMFloatingAddress, false); err != nil {
		return nil, err
	}
	if oam := s.OAMSubnet; oam.IsValid() {
		if oam.Addr().Is4() != sub.Addr().Is4() {
			return nil, &ValidationError{Field: "external_oam_subnet", Reason: fmt.Sprintf("%s is not in the address family of management_subnet %s", oam, sub)}
		}
		if oam.Overlaps(sub) {
			return nil, &ValidationError{Field: "external_oam_subnet", Reason: fmt.Sprintf("%s overlaps the subcloud's own management_subnet %s", oam, sub)}
		}
		for _, f := range []struct {
			name string
			a    netip.Addr
		}{{"external_oam_gateway_address", s.OAMGatewayIP}, {"external_oam_floating_address", s.OAMFloatingIP}} {
			if f.a.IsValid() && !oam.Contains(f.a) {
				return nil, &ValidationError{Field: f.name, Reason: fmt.Sprintf("%s is outside external_oam_subnet %s", f.a, oam)}
			}
		}
		if s.OAMGatewayIP.IsValid() && s.OAMGatewayIP == s.OAMFloatingIP {
			return nil, &ValidationError{Field: "external_oam_floating_address", Reason: "equals external_oam_gateway_address"}
		}
	} else if s.OAMGatewayIP.IsValid() || s.OAMFloatingIP.IsValid() {
		return nil, &ValidationError{Field: "external_oam_subnet", Reason: "required with an OAM gateway or floating address"}
	}
	return s, nil
}

// validHostname reports whether h is a DNS name of RFC 1123 labels.
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// validateInstall checks install values.
func validateInstall(v *InstallValues) error {
	bmcSet := 0
	for _, f := range []string{v.BMCAddress, v.BMCUsername, v.BMCPassword} {
		if f != "" {
			bmcSet++
		}
	}
	if len(v.SealedBMCPassword) > 0 && v.BMCPassword == "" {
		bmcSet++
	}
	if bmcSet != 3 {
		for _, f := range []struct{ name, v string }{{"bmc_address", v.BMCAddress}, {"bmc_username", v.BMCUsername}, {"bmc_password", v.BMCPassword + string(v.SealedBMCPassword)}} {
			if f.v == "" {
				return &ValidationError{Field: f.name, Reason: "required (bmc_address, bmc_username and bmc_password go together)"}
			}
		}
	}
	if !validBMCAddress(v.BMCAddress) {
		return &ValidationError{Field: "bmc_address", Reason: fmt.Sprintf("%q is neither an IP address, a host name, host:port nor an https:// URL of one", v.BMCAddress)}
	}
	if strings.ContainsAny(v.BMCUsername, "\x00\n\r:") {
		return &ValidationError{Field: "bmc_username", Reason: "contains a control character or a colon"}
	}
	if v.BootstrapInterface == "" {
		return &ValidationError{Field: "bootstrap_interface", Reason: "required"}
	}
	if len(v.BootstrapInterface) > 15 || strings.ContainsAny(v.BootstrapInterface, "/ \t\n\x00") {
		return &ValidationError{Field: "bootstrap_interface", Reason: fmt.Sprintf("%q is not a network interface name", v.BootstrapInterface)}
	}
	if _, err := parseAddrField("bootstrap_address", v.BootstrapAddress, true); err != nil {
		return err
	}
	if v.BootstrapVLAN < 0 || v.BootstrapVLAN > 4094 {
		return &ValidationError{Field: "bootstrap_vlan", Reason: fmt.Sprintf("%d is outside 0-4094", v.BootstrapVLAN)}
	}
	if v.NetworkAddress != "" {
		a, err := parseAddrField("network_address", v.NetworkAddress, true)
		if err != nil {
			return err
		}
		if v.NetworkMask < 0 || v.NetworkMask > a.BitLen() {
			return &ValidationError{Field: "network_mask", Reason: fmt.Sprintf("%d is not a prefix length for %s", v.NetworkMask, a)}
		}
	}
	if v.Image != "" {
		u, err := url.Parse(v.Image)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &ValidationError{Field: "image", Reason: fmt.Sprintf("%q is not an http or https URL", v.Image)}
		}
	}
	for _, f := range []struct{ name, v string }{{"boot_device", v.BootDevice}, {"rootfs_device", v.RootfsDevice}} {
		if f.v == "" {
			continue
		}
		if !strings.HasPrefix(f.v, "/dev/") || path.Clean(f.v) != f.v || strings.ContainsAny(f.v, " \t\n\x00") {
			return &ValidationError{Field: f.name, Reason: fmt.Sprintf("%q is not a device path under /dev", f.v)}
		}
	}
	if v.InstallType < 0 || v.InstallType > 5 {
		return &ValidationError{Field: "install_type", Reason: fmt.Sprintf("%d is outside 0-5", v.InstallType)}
	}
	return nil
}

// validBMCAddress accepts what a BMC endpoint may be written as: an IP
// address or host name (dcmanager's form), optionally with a port, or an
// http(s) URL with nothing but a host and port.
func validBMCAddress(a string) bool {
	if _, err := netip.ParseAddr(a); err == nil {
		return true
	}
	if validHostname(a) {
		return true
	}
	if rest, ok := strings.CutPrefix(a, "https://"); ok {
		a = rest
	} else if rest, ok := strings.CutPrefix(a, "http://"); ok {
		a = rest
	}
	a = strings.TrimSuffix(a, "/")
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		host, port = a, "443"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return validHostname(host)
}
