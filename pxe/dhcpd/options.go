package dhcpd

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Mode selects how the server answers.
type Mode int

const (
	// Authoritative hands out addresses from its pools and boot information
	// to network-booting clients. It is the zero value.
	Authoritative Mode = iota
	// Proxy runs beside another DHCP server: it answers only PXE and HTTP
	// boot clients, with boot information and no address (proxyDHCP).
	Proxy
)

// String returns "authoritative" or "proxy".
func (m Mode) String() string {
	switch m {
	case Authoritative:
		return "authoritative"
	case Proxy:
		return "proxy"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Default values filled in by [New] for zero fields of [Options] and [Pool].
const (
	DefaultLeaseTime    = time.Hour
	DefaultOfferTimeout = 30 * time.Second
	DefaultDeclineHold  = 10 * time.Minute
	DefaultWorkers      = 64
)

// Options configures a [Server]. The zero value of every field means its
// default; [New] fills defaults on a copy and never writes to the caller's
// struct.
type Options struct {
	// Mode is Authoritative (the default) or Proxy.
	Mode Mode
	// ServerIP is the server's own address on the served link: the server
	// identifier (option 54) and the default TFTP server. Required.
	ServerIP netip.Addr
	// Pools are the address pools, at most one per subnet. Required in
	// Authoritative mode, ignored in Proxy mode. A relayed request is served
	// from the pool whose subnet holds its giaddr; a direct one from the pool
	// whose subnet holds ServerIP.
	Pools []Pool
	// Boot is the network boot configuration. Nil means no boot information
	// (and, in Proxy mode, nothing to answer: New refuses it).
	Boot *BootConfig
	// Hosts finds reservations by MAC address. Nil means none.
	Hosts HostLookup
	// Leases persists leases. Nil keeps them in memory only: a restart
	// forgets them.
	Leases LeaseStore
	// OfferTimeout is how long an offered address stays reserved for the
	// client it was offered to. Default [DefaultOfferTimeout].
	OfferTimeout time.Duration
	// DeclineHold is how long an address a client declined stays out of use.
	// Default [DefaultDeclineHold].
	DeclineHold time.Duration
	// Workers bounds how many packets [Server.Serve] handles at once.
	// Default [DefaultWorkers].
	Workers int
	// Logger receives structured logs. Default: discard.
	Logger *slog.Logger
	// Registerer receives the server's Prometheus collectors. Default: none
	// (the metrics are kept but not registered anywhere).
	Registerer prometheus.Registerer
	// Now is the clock. Default [time.Now].
	Now func() time.Time
}

// Pool is a range of addresses handed out on one subnet, with the options
// its clients receive.
type Pool struct {
	// Subnet is the client network, e.g. 10.0.0.0/24. Required.
	Subnet netip.Prefix
	// Start and End bound the dynamic range, both inclusive and inside
	// Subnet. Required.
	Start, End netip.Addr
	// Router is the default gateway (option 3). Optional.
	Router netip.Addr
	// DNS are the name servers (option 6). Optional.
	DNS []netip.Addr
	// DomainName is option 15. Optional.
	DomainName string
	// LeaseTime is the lease duration. Default [DefaultLeaseTime].
	LeaseTime time.Duration
}

// Arch is a client's firmware kind, which decides the boot file it gets.
type Arch int

// Client architectures, from option 93 (RFC 4578) or the vendor class.
const (
	ArchUnknown       Arch = iota // not a network-boot client, or an unsupported one
	ArchBIOS                      // legacy PXE (type 0)
	ArchUEFIX64                   // UEFI x86-64 PXE (types 7 and 9)
	ArchUEFIARM64                 // UEFI arm64 PXE (type 11)
	ArchUEFIHTTPX64               // UEFI x86-64 HTTP boot (type 16)
	ArchUEFIHTTPARM64             // UEFI arm64 HTTP boot (type 19)
)

// String returns a short name such as "uefi-x64".
func (a Arch) String() string {
	switch a {
	case ArchBIOS:
		return "bios"
	case ArchUEFIX64:
		return "uefi-x64"
	case ArchUEFIARM64:
		return "uefi-arm64"
	case ArchUEFIHTTPX64:
		return "uefi-http-x64"
	case ArchUEFIHTTPARM64:
		return "uefi-http-arm64"
	}
	return "unknown"
}

// BootConfig tells network-booting clients what to load.
//
// Firmware PXE clients get a TFTP file name per architecture; UEFI HTTP boot
// clients get a URL; iPXE (recognised by user class "iPXE" or option 175)
// gets IPXEScript, which breaks the chainload loop of a firmware that loads
// iPXE which asks DHCP again.
type BootConfig struct {
	// TFTPServer is siaddr and option 66. Default: [Options.ServerIP].
	TFTPServer netip.Addr
	// BIOS, UEFIX64 and UEFIARM64 are TFTP file names, e.g. "undionly.kpxe",
	// "snponly.efi", "snponly-arm64.efi".
	BIOS, UEFIX64, UEFIARM64 string
	// HTTPX64 and HTTPARM64 are full URLs for UEFI HTTP boot clients.
	HTTPX64, HTTPARM64 string
	// IPXEScript is the URL template of the script handed to iPXE. "{mac}"
	// becomes the client MAC (aa:bb:cc:dd:ee:ff), "{mac-}" the same with
	// hyphens, "{ip}" the assigned address (empty in Proxy mode) and
	// "{arch}" the [Arch] name. Empty means iPXE is treated like its
	// firmware architecture.
	IPXEScript string
}

func (b *BootConfig) file(a Arch) string {
	switch a {
	case ArchBIOS:
		return b.BIOS
	case ArchUEFIX64:
		return b.UEFIX64
	case ArchUEFIARM64:
		return b.UEFIARM64
	case ArchUEFIHTTPX64:
		return b.HTTPX64
	case ArchUEFIHTTPARM64:
		return b.HTTPARM64
	}
	return ""
}

func (b *BootConfig) script(mac net.HardwareAddr, ip netip.Addr, a Arch) string {
	ipStr := ""
	if ip.IsValid() {
		ipStr = ip.String()
	}
	m := mac.String()
	return strings.NewReplacer(
		"{mac}", m,
		"{mac-}", strings.ReplaceAll(m, ":", "-"),
		"{ip}", ipStr,
		"{arch}", a.String(),
	).Replace(b.IPXEScript)
}

// Host is a reservation: the fixed address (and name) of one client.
type Host struct {
	// IP is the reserved address. It must lie in a pool's subnet; it may be
	// outside the dynamic range.
	IP netip.Addr
	// Hostname is sent as option 12 when set.
	Hostname string
}

// HostLookup finds the reservation of a client by its MAC address.
type HostLookup interface {
	// LookupHost returns the client's reservation and true, or false when
	// it has none.
	LookupHost(ctx context.Context, mac net.HardwareAddr) (Host, bool, error)
}

// AddrReserver is an optional interface of a [HostLookup]: the addresses it
// returns are never handed out dynamically, even when they fall inside a
// pool's range. [StaticHosts] implements it.
type AddrReserver interface {
	ReservedAddrs() []netip.Addr
}

// StaticHosts is a fixed set of reservations keyed by MAC address.
type StaticHosts struct {
	byMAC map[string]Host
}

var (
	_ HostLookup   = (*StaticHosts)(nil)
	_ AddrReserver = (*StaticHosts)(nil)
)

// NewStaticHosts returns the reservations of hosts, keyed by MAC address in
// any form [net.ParseMAC] accepts.
func NewStaticHosts(hosts map[string]Host) (*StaticHosts, error) {
	s := &StaticHosts{byMAC: make(map[string]Host, len(hosts))}
	seen := make(map[netip.Addr]string, len(hosts))
	for k, h := range hosts {
		mac, err := net.ParseMAC(k)
		if err != nil {
			return nil, &ConfigError{Field: "Hosts[" + k + "]", Reason: err.Error()}
		}
		if !h.IP.Is4() {
			return nil, &ConfigError{Field: "Hosts[" + k + "].IP", Reason: "not an IPv4 address"}
		}
		if other, dup := seen[h.IP]; dup {
			return nil, &ConfigError{Field: "Hosts[" + k + "].IP", Reason: h.IP.String() + " already reserved for " + other}
		}
		seen[h.IP] = k
		s.byMAC[mac.String()] = h
	}
	return s, nil
}

// LookupHost implements [HostLookup].
func (s *StaticHosts) LookupHost(_ context.Context, mac net.HardwareAddr) (Host, bool, error) {
	h, ok := s.byMAC[mac.String()]
	return h, ok, nil
}

// ReservedAddrs implements [AddrReserver].
func (s *StaticHosts) ReservedAddrs() []netip.Addr {
	out := make([]netip.Addr, 0, len(s.byMAC))
	for _, h := range s.byMAC {
		out = append(out, h.IP)
	}
	return out
}

// setDefaults returns a validated copy of o with defaults filled.
func (o Options) setDefaults() (Options, error) {
	if !o.ServerIP.Is4() {
		return o, &ConfigError{Field: "ServerIP", Reason: "must be an IPv4 address"}
	}
	if o.Mode != Authoritative && o.Mode != Proxy {
		return o, &ConfigError{Field: "Mode", Reason: o.Mode.String()}
	}
	if o.Mode == Proxy && o.Boot == nil {
		return o, &ConfigError{Field: "Boot", Reason: "required in proxy mode"}
	}
	if o.Mode == Authoritative && len(o.Pools) == 0 {
		return o, &ConfigError{Field: "Pools", Reason: "at least one pool required in authoritative mode"}
	}
	if o.OfferTimeout <= 0 {
		o.OfferTimeout = DefaultOfferTimeout
	}
	if o.DeclineHold <= 0 {
		o.DeclineHold = DefaultDeclineHold
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Boot != nil {
		b := *o.Boot
		if !b.TFTPServer.IsValid() {
			b.TFTPServer = o.ServerIP
		}
		o.Boot = &b
	}
	if o.Mode == Proxy {
		o.Pools = nil // documented as ignored
	}
	pools := make([]Pool, len(o.Pools))
	for i, p := range o.Pools {
		f := func(name string) string { return fmt.Sprintf("Pools[%d].%s", i, name) }
		if !p.Subnet.IsValid() || !p.Subnet.Addr().Is4() {
			return o, &ConfigError{Field: f("Subnet"), Reason: "must be an IPv4 prefix"}
		}
		p.Subnet = p.Subnet.Masked()
		if !p.Subnet.Contains(p.Start) || !p.Subnet.Contains(p.End) {
			return o, &ConfigError{Field: f("Start"), Reason: "range must lie inside " + p.Subnet.String()}
		}
		if p.End.Less(p.Start) {
			return o, &ConfigError{Field: f("End"), Reason: "before Start"}
		}
		if p.LeaseTime <= 0 {
			p.LeaseTime = DefaultLeaseTime
		}
		for j, q := range pools[:i] {
			if q.Subnet.Overlaps(p.Subnet) {
				return o, &ConfigError{Field: f("Subnet"), Reason: fmt.Sprintf("overlaps Pools[%d]", j)}
			}
		}
		p.DNS = append([]netip.Addr(nil), p.DNS...)
		pools[i] = p
	}
	o.Pools = pools
	return o, nil
}
