// Package dhcpd is Atoll's DHCPv4 server for network boot: an authoritative
// server with address pools, persistent leases and host reservations, or a
// proxyDHCP server that runs beside an existing DHCP server and only tells
// network-booting clients what to load.
//
// Packet encoding comes from github.com/insomniacslk/dhcp; leases, pools,
// reservations, boot selection and proxyDHCP are this package's.
//
// # Serving
//
// [New] takes [Options] (zero fields mean defaults, filled on a copy) and
// returns a [Server]. [Server.Serve] answers on a caller-owned
// [net.PacketConn] until its context ends; [ListenInterface] opens the right
// socket on an interface (port 67, bound to the device, broadcast allowed).
// A PXE boot server on port 4011 is a second conn given to Serve.
// [Server.Handle] answers one decoded request without any network, for
// composition and tests. Replies go to the relay (giaddr) on port 67, to a
// configured client by unicast, otherwise by broadcast.
//
// # Addresses and leases
//
// Each [Pool] serves one subnet: a relayed request is served from the pool
// whose subnet holds giaddr, a direct one from the pool holding
// [Options.ServerIP]. An offered address is reserved for its client until
// [Options.OfferTimeout], so concurrent clients never receive the same
// offer. Finding a free address is O(log n) whatever the table size: a
// cursor over never-used addresses, a min-heap of returned ones and, when
// the pool is full, a heap of leases by expiry, oldest reclaimed first.
// A client keeps its address across RELEASE and expiry until another
// client needs it. DECLINEd addresses are held for [Options.DeclineHold].
//
// Bound leases are written to a [LeaseStore] before the ACK leaves.
// [FileStore] is a crash-safe append-only log with checksummed records,
// group commit (concurrent ACKs share one fsync) and atomic compaction; a
// server reopened on the same file keeps every lease. [MemoryStore] serves
// tests and examples. Package dhcpdtest holds the conformance suite every
// LeaseStore passes.
//
// # Reservations
//
// A [HostLookup] maps a MAC address to a fixed [Host] address;
// [StaticHosts] is a map-backed one. Addresses of an [AddrReserver] are
// never handed out dynamically, even inside a pool's range.
//
// # Network boot
//
// The client's architecture comes from option 93 or its vendor class
// (option 60): legacy BIOS, UEFI x86-64, UEFI arm64, or UEFI HTTP boot
// ("HTTPClient"). [BootConfig] names a TFTP file per architecture (sent in
// the file field, with siaddr and option 66) and URLs for HTTP boot. iPXE,
// recognised by user class "iPXE" or option 175, gets the
// [BootConfig.IPXEScript] URL instead, which breaks the loop of a firmware
// that loads iPXE which asks for iPXE again; in authoritative mode the reply
// also carries encapsulated option 175.176 = 1 so iPXE does not wait for
// proxyDHCP offers. In [Proxy] mode only PXE and HTTP boot clients are
// answered, with boot information and no address.
//
// # Observability
//
// Logs go to [Options.Logger] (silent by default). Metrics are registered
// on [Options.Registerer], never on a global registry:
// atoll_dhcpd_packets_total{type}, atoll_dhcpd_dropped_total{reason}
// (malformed packets are dropped and counted, never fatal),
// atoll_dhcpd_offers_total, atoll_dhcpd_acks_total, atoll_dhcpd_naks_total
// and atoll_dhcpd_leases_active.
//
// # Errors
//
// Errors wrap sentinels such as [ErrPoolExhausted], [ErrNoPool] and
// [ErrMalformed], or are a [*ConfigError]; test them with [errors.Is] and
// [errors.As].
package dhcpd
