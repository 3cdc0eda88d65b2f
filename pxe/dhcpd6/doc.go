// Package dhcpd6 is Atoll's DHCPv6 server for network boot, the IPv6
// sibling of package dhcpd: a stateful server (RFC 8415) with address
// pools, persistent leases and host reservations, which also tells
// network-booting clients what to load (RFC 5970), so IPv6-only subclouds
// can PXE and HTTP boot.
//
// Packet encoding comes from github.com/insomniacslk/dhcp/dhcpv6; leases,
// pools, reservations and boot selection are this package's.
//
// # Serving
//
// [New] takes [Options] (zero fields mean defaults, filled on a copy) and
// returns a [Server]. [Server.Serve] answers on a caller-owned
// [net.PacketConn] until its context ends; [ListenInterface] opens the
// right socket on an interface ([::]:547, bound to the device, joined to
// ff02::1:2). [Server.Handle] answers one decoded message without any
// network, for composition and tests. Replies go back to the sender: the
// client's link-local address, or the relay.
//
// # Messages
//
// Solicit is answered with an Advertise, or with a Reply when it carries
// Rapid Commit (option 14); Request, Renew and Rebind with a Reply that
// binds the address; Release and Decline with Success; Confirm with
// Success or NotOnLink; Information-request with the pool's name servers
// and search list (and boot URL). The Server Identifier is [Options.ServerID],
// a DUID-LLT or DUID-LL, by default a DUID-LL that stays the same across
// restarts. A client is its DUID: it gets one address per pool, in its
// first IA_NA. Relay-forward messages are unwrapped; the link-address of
// the relay closest to the client chooses the pool, and the Relay-reply
// echoes each relay's Interface-Id.
//
// # Addresses and leases
//
// Each [Pool] serves one prefix (a /64 or any other) from a range inside
// it, with preferred and valid lifetimes (T1 and T2 are 1/2 and 4/5 of the
// preferred one). An advertised address is reserved for its client for
// [Options.OfferTimeout], so concurrent clients never get the same one. A
// released address stays with its client, expired, until another client
// needs it; a declined one is held for [Options.DeclineHold].
//
// Bindings are written to a [dhcpd.LeaseStore] before the Reply leaves,
// with the client's DUID as the lease's ClientID: [dhcpd.FileStore], a
// crash-safe log, serves IPv6 leases as it is, and a server reopened on
// the same file gives each DUID its address again.
//
// # Reservations
//
// A [HostLookup] maps a client (DUID, and MAC address when known) to a
// fixed [Host] address; [StaticHosts] takes DUIDs and MACs. The MAC comes
// from the client link-layer address option (79) a relay added, else from
// a DUID-LL or DUID-LLT, else from the client's EUI-64 link-local address
// (UEFI firmware sends a DUID-UUID).
//
// # Network boot
//
// Boot information goes only to clients that ask for it: option 59 in
// their Option Request, or a client architecture (option 61). The
// architecture (0x0007 UEFI x86-64, 0x000b arm64, 0x0010 and 0x0013 their
// HTTP boot forms) and vendor class "HTTPClient" (option 16) choose a
// [BootConfig] URL, tftp:// or http://, sent as option 59; HTTP boot
// replies also carry vendor class "HTTPClient". iPXE, recognised by user
// class "iPXE" (option 15), gets the per-host [BootConfig.IPXEScript] URL
// instead, which breaks the chainload loop.
//
// # Observability
//
// Logs go to [Options.Logger] (silent by default). Metrics are registered
// on [Options.Registerer], never on a global registry:
// atoll_dhcpd6_packets_total{type}, atoll_dhcpd6_dropped_total{reason}
// (malformed packets are dropped and counted, never fatal),
// atoll_dhcpd6_replies_total{type}, atoll_dhcpd6_no_addrs_total and
// atoll_dhcpd6_leases_active.
//
// # Errors
//
// Errors wrap sentinels such as [ErrPoolExhausted], [ErrNoPool] and
// [ErrMalformed], or are a [*ConfigError]; test them with [errors.Is] and
// [errors.As].
package dhcpd6
