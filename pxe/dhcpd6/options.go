package dhcpd6

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/atoll-edge/atoll/pxe/dhcpd"
)

// Default values filled in by [New] for zero fields of [Options] and [Pool].
const (
	DefaultPreferredLifetime = time.Hour
	DefaultValidLifetime     = 2 * time.Hour
	DefaultOfferTimeout      = 30 * time.Second
	DefaultDeclineHold       = 10 * time.Minute
	DefaultWorkers           = 64
)

// Options configures a [Server]. The zero value of every field means its
// default; [New] fills defaults on a copy and never writes to the caller's
// struct.
type Options struct {
	// ServerID is the server's DUID (option 2), a [dhcpv6.DUIDLLT] or
	// [dhcpv6.DUIDLL]. Default: a DUID-LL of HardwareAddr, or, without
	// one, of a locally administered address derived from the pools'
	// prefixes, so it stays the same across restarts.
	ServerID dhcpv6.DUID
	// HardwareAddr is the MAC address of the serving interface, used for
	// the default ServerID. Optional.
	HardwareAddr net.HardwareAddr
	// ServerAddr is the server's address on the link it serves directly:
	// clients that are not relayed get the pool whose prefix holds it.
	// Optional with a single pool, which then serves direct clients.
	ServerAddr netip.Addr
	// Pools are the address pools, at most one per prefix. Required.
	// A relayed message is served from the pool whose prefix holds the
	// link-address of the relay closest to the client.
	Pools []Pool
	// Boot is the network boot configuration (RFC 5970). Nil means no boot
	// information.
	Boot *BootConfig
	// Hosts finds reservations by DUID or MAC address. Nil means none.
	Hosts HostLookup
	// Leases persists leases: the DUID is kept as the lease's ClientID.
	// Nil keeps them in memory only. [dhcpd.FileStore] is the crash-safe
	// one; [dhcpd.MemoryStore] serves tests.
	Leases dhcpd.LeaseStore
	// OfferTimeout is how long an advertised address stays reserved for
	// the client it was advertised to. Default [DefaultOfferTimeout].
	OfferTimeout time.Duration
	// DeclineHold is how long an address a client declined stays out of
	// use. Default [DefaultDeclineHold].
	DeclineHold time.Duration
	// Workers bounds how many packets [Server.Serve] handles at once.
	// Default [DefaultWorkers].
	Workers int
	// Logger receives structured logs. Default: discard.
	Logger *slog.Logger
	// Registerer receives the server's Prometheus collectors. Default:
	// none (the metrics are kept but not registered anywhere).
	Registerer prometheus.Registerer
	// Now is the clock. Default [time.Now].
	Now func() time.Time
}

// Pool is a range of addresses handed out on one link, with the options
// its clients receive.
type Pool struct {
	// Prefix is the link's prefix, e.g. fd00:10::/64. Required.
	Prefix netip.Prefix
	// Start and End bound the dynamic range, both inclusive and inside
	// Prefix. Required.
	Start, End netip.Addr
	// DNS are the recursive name servers (option 23). Optional.
	DNS []netip.Addr
	// DomainSearch is the domain search list (option 24). Optional.
	DomainSearch []string
	// PreferredLifetime and ValidLifetime are the addresses' lifetimes;
	// T1 and T2 are 1/2 and 4/5 of the preferred lifetime. Defaults
	// [DefaultPreferredLifetime] and [DefaultValidLifetime].
	PreferredLifetime, ValidLifetime time.Duration
}

// BootConfig tells network-booting clients which URL to load (option 59,
// RFC 5970), chosen by their architecture (option 61) and vendor class
// (option 16 "HTTPClient" means UEFI HTTP boot).
type BootConfig struct {
	// UEFIX64 and UEFIARM64 are the URLs for UEFI PXE clients, usually
	// tftp://[addr]/snponly.efi.
	UEFIX64, UEFIARM64 string
	// HTTPX64 and HTTPARM64 are the URLs for UEFI HTTP boot clients,
	// http://... or https://....
	HTTPX64, HTTPARM64 string
	// IPXEScript is the URL template of the script handed to iPXE (user
	// class "iPXE") instead of the binary, which breaks the chainload
	// loop. "{mac}" becomes the client MAC (aa:bb:cc:dd:ee:ff; empty when
	// it is unknown, see [Client]), "{mac-}" the same with hyphens, "{ip}" the assigned address (empty when
	// none) and "{arch}" the [dhcpd.Arch] name. Empty means iPXE gets the
	// URL of its firmware architecture.
	IPXEScript string
}

func (b *BootConfig) url(a dhcpd.Arch) string {
	switch a {
	case dhcpd.ArchUEFIX64:
		return b.UEFIX64
	case dhcpd.ArchUEFIARM64:
		return b.UEFIARM64
	case dhcpd.ArchUEFIHTTPX64:
		return b.HTTPX64
	case dhcpd.ArchUEFIHTTPARM64:
		return b.HTTPARM64
	}
	return ""
}

func (b *BootConfig) script(mac net.HardwareAddr, ip netip.Addr, a dhcpd.Arch) string {
	ipStr := ""
	if ip.IsValid() {
		ipStr = ip.String()
	}
	m := mac.String()
	return strings.NewReplacer("{mac}", m, "{mac-}", strings.ReplaceAll(m, ":", "-"), "{ip}", ipStr, "{arch}", a.String()).
		Replace(b.IPXEScript)
}

// Host is a reservation: the fixed address (and name) of one client.
type Host struct {
	// IP is the reserved address. It must lie in a pool's prefix; it may
	// be outside the dynamic range.
	IP netip.Addr
	// Hostname is informational: it is stored with the lease.
	Hostname string
}

// Client identifies a client to a [HostLookup].
type Client struct {
	// DUID is the client's DUID (option 1) in wire form.
	DUID []byte
	// MAC is the client's link-layer address when known: from the client
	// link-layer address option (79) a relay added, else from a DUID-LL or
	// DUID-LLT, else from the client's link-local address when it is a
	// modified EUI-64 one (as UEFI firmware's, whose DUID is a DUID-UUID).
	// Nil otherwise.
	MAC net.HardwareAddr
}

// HostLookup finds the reservation of a client.
type HostLookup interface {
	// LookupHost returns the client's reservation and true, or false when
	// it has none.
	LookupHost(ctx context.Context, c Client) (Host, bool, error)
}

// StaticHosts is a fixed set of reservations keyed by DUID or MAC address.
// It implements [dhcpd.AddrReserver]: its addresses are never handed out
// dynamically.
type StaticHosts struct {
	byDUID, byMAC map[string]Host
}

var (
	_ HostLookup         = (*StaticHosts)(nil)
	_ dhcpd.AddrReserver = (*StaticHosts)(nil)
)

// NewStaticHosts returns the reservations of hosts. A key is a MAC address
// in any form [net.ParseMAC] accepts, or "duid:" and the DUID in hex
// ("duid:00030001525400123456"). A DUID reservation wins over a MAC one.
func NewStaticHosts(hosts map[string]Host) (*StaticHosts, error) {
	s := &StaticHosts{byDUID: map[string]Host{}, byMAC: map[string]Host{}}
	seen := make(map[netip.Addr]string, len(hosts))
	for k, h := range hosts {
		field := "Hosts[" + k + "]"
		if !h.IP.Is6() || h.IP.Is4In6() {
			return nil, &ConfigError{Field: field + ".IP", Reason: "not an IPv6 address"}
		}
		if other, dup := seen[h.IP]; dup {
			return nil, &ConfigError{Field: field + ".IP", Reason: h.IP.String() + " already reserved for " + other}
		}
		seen[h.IP] = k
		if hexDUID, ok := strings.CutPrefix(k, "duid:"); ok {
			d, err := hex.DecodeString(strings.ReplaceAll(hexDUID, ":", ""))
			if err != nil || len(d) < 2 {
				return nil, &ConfigError{Field: field, Reason: "DUID is not hex"}
			}
			s.byDUID[string(d)] = h
			continue
		}
		mac, err := net.ParseMAC(k)
		if err != nil {
			return nil, &ConfigError{Field: field, Reason: err.Error()}
		}
		s.byMAC[mac.String()] = h
	}
	return s, nil
}

// LookupHost implements [HostLookup].
func (s *StaticHosts) LookupHost(_ context.Context, c Client) (Host, bool, error) {
	if h, ok := s.byDUID[string(c.DUID)]; ok {
		return h, true, nil
	}
	if c.MAC != nil {
		h, ok := s.byMAC[c.MAC.String()]
		return h, ok, nil
	}
	return Host{}, false, nil
}

// ReservedAddrs implements [dhcpd.AddrReserver].
func (s *StaticHosts) ReservedAddrs() []netip.Addr {
	out := make([]netip.Addr, 0, len(s.byDUID)+len(s.byMAC))
	for _, m := range []map[string]Host{s.byDUID, s.byMAC} {
		for _, h := range m {
			out = append(out, h.IP)
		}
	}
	return out
}

// setDefaults returns a validated copy of o with defaults filled.
func (o Options) setDefaults() (Options, error) {
	if len(o.Pools) == 0 {
		return o, &ConfigError{Field: "Pools", Reason: "at least one pool required"}
	}
	if o.ServerAddr.IsValid() && (!o.ServerAddr.Is6() || o.ServerAddr.Is4In6()) {
		return o, &ConfigError{Field: "ServerAddr", Reason: "not an IPv6 address"}
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
		o.Boot = &b
	}
	pools := make([]Pool, len(o.Pools))
	for i, p := range o.Pools {
		f := func(name string) string { return fmt.Sprintf("Pools[%d].%s", i, name) }
		if !p.Prefix.IsValid() || !p.Prefix.Addr().Is6() || p.Prefix.Addr().Is4In6() {
			return o, &ConfigError{Field: f("Prefix"), Reason: "must be an IPv6 prefix"}
		}
		p.Prefix = p.Prefix.Masked()
		if !p.Prefix.Contains(p.Start) || !p.Prefix.Contains(p.End) {
			return o, &ConfigError{Field: f("Start"), Reason: "range must lie inside " + p.Prefix.String()}
		}
		if p.End.Less(p.Start) {
			return o, &ConfigError{Field: f("End"), Reason: "before Start"}
		}
		if p.PreferredLifetime <= 0 {
			p.PreferredLifetime = DefaultPreferredLifetime
		}
		if p.ValidLifetime <= 0 {
			p.ValidLifetime = max(DefaultValidLifetime, p.PreferredLifetime)
		}
		if p.ValidLifetime < p.PreferredLifetime {
			return o, &ConfigError{Field: f("ValidLifetime"), Reason: "shorter than PreferredLifetime"}
		}
		for j, q := range pools[:i] {
			if q.Prefix.Overlaps(p.Prefix) {
				return o, &ConfigError{Field: f("Prefix"), Reason: fmt.Sprintf("overlaps Pools[%d]", j)}
			}
		}
		p.DNS = append([]netip.Addr(nil), p.DNS...)
		p.DomainSearch = append([]string(nil), p.DomainSearch...)
		pools[i] = p
	}
	o.Pools = pools
	switch d := o.ServerID.(type) {
	case nil:
		o.ServerID = defaultDUID(o.HardwareAddr, pools)
	case *dhcpv6.DUIDLLT, *dhcpv6.DUIDLL:
	default:
		return o, &ConfigError{Field: "ServerID", Reason: fmt.Sprintf("%s: want DUID-LLT or DUID-LL", d.DUIDType())}
	}
	return o, nil
}

// defaultDUID is a DUID-LL of hw or, without it, of a locally
// administered unicast MAC hashed from the pools' prefixes: the same
// configuration gives the same DUID after a restart.
func defaultDUID(hw net.HardwareAddr, pools []Pool) dhcpv6.DUID {
	if len(hw) == 0 {
		h := sha256.New()
		for _, p := range pools {
			h.Write([]byte(p.Prefix.String()))
		}
		sum := h.Sum(nil)
		hw = net.HardwareAddr(sum[:6])
		hw[0] = hw[0]&^1 | 2
	}
	return &dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: append(net.HardwareAddr(nil), hw...)}
}
