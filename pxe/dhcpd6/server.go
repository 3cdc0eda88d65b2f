package dhcpd6

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/dhcpv6/server6"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/insomniacslk/dhcp/rfc1035label"
	"golang.org/x/sys/unix"

	"github.com/atoll-edge/atoll/pxe/dhcpd"
	"github.com/atoll-edge/atoll/pxe/internal/udpserve"
)

// maxRelayDepth bounds the nesting of Relay-forward messages (RFC 8415
// HOP_COUNT_LIMIT is 8; 32 leaves room for odd deployments).
const maxRelayDepth = 32

// Server is a stateful DHCPv6 server with address pools, persistent leases,
// reservations and network boot. It is safe for concurrent use.
type Server struct {
	opts  Options
	log   *slog.Logger
	now   func() time.Time
	m     *metrics
	sid   []byte      // ServerID in wire form
	duid  dhcpv6.DUID // a copy of ServerID, which the caller may change
	pools []*pool
	local *pool // serves clients that are not relayed; nil if none

	mu       sync.Mutex // guards the maps and the pools' allocation state
	byIP     map[netip.Addr]*lease
	byClient map[clientKey]*lease
	reserved map[netip.Addr]bool
}

// New returns a server configured by opts. It loads the leases of
// opts.Leases; leases whose address lies in no pool's prefix are ignored.
func New(opts Options) (*Server, error) {
	o, err := opts.setDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts: o, log: o.Logger, now: o.Now, sid: o.ServerID.ToBytes(),
		byIP: make(map[netip.Addr]*lease), byClient: make(map[clientKey]*lease), reserved: make(map[netip.Addr]bool),
	}
	for i, p := range o.Pools {
		s.pools = append(s.pools, &pool{idx: i, cfg: p, next: p.Start})
		if o.ServerAddr.IsValid() && p.Prefix.Contains(o.ServerAddr) && s.local == nil {
			s.local = s.pools[i]
		}
	}
	if !o.ServerAddr.IsValid() && len(s.pools) == 1 {
		s.local = s.pools[0]
	}
	if r, ok := o.Hosts.(dhcpd.AddrReserver); ok {
		for _, a := range r.ReservedAddrs() {
			s.reserved[a] = true
		}
	}
	if o.ServerAddr.IsValid() {
		s.reserved[o.ServerAddr] = true
	}
	if s.duid, err = dhcpv6.DUIDFromBytes(s.sid); err != nil {
		return nil, &ConfigError{Field: "ServerID", Reason: err.Error()}
	}
	if s.m, err = newMetrics(o.Registerer, s.activeLeases); err != nil {
		return nil, err
	}
	if o.Leases != nil {
		ls, err := o.Leases.Load(context.Background())
		if err != nil {
			return nil, fmt.Errorf("dhcpd6: load leases: %w", err)
		}
		s.restore(ls)
	}
	return s, nil
}

// restore puts stored leases back into the table.
func (s *Server) restore(ls []dhcpd.Lease) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sl := range ls {
		p := s.poolForAddr(sl.IP)
		if p == nil || len(sl.ClientID) == 0 || s.byIP[sl.IP] != nil {
			continue
		}
		key := clientKey{pool: p.idx, duid: string(sl.ClientID)}
		if old := s.byClient[key]; old != nil {
			if !old.expires.Before(sl.Expires) {
				continue // two leases of one client: keep the later one
			}
			s.forget(old)
		}
		l := &lease{ip: sl.IP, key: key, mac: sl.MAC, hostname: sl.Hostname, expires: sl.Expires, state: stateBound, pool: p}
		l.reserved = s.reserved[l.ip]
		s.byIP[l.ip] = l
		s.byClient[key] = l
	}
}

func (s *Server) poolForAddr(a netip.Addr) *pool {
	for _, p := range s.pools {
		if p.cfg.Prefix.Contains(a) {
			return p
		}
	}
	return nil
}

// ListenInterface opens the UDP socket a DHCPv6 server needs on the named
// interface: [::]:547, bound to the interface and joined to the
// All_DHCP_Relay_Agents_and_Servers group ff02::1:2 on it.
func ListenInterface(iface string) (*net.UDPConn, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("dhcpd6: listen on %q: %w", iface, err)
	}
	c, err := server6.NewIPv6UDPConn(iface, &net.UDPAddr{IP: net.IPv6unspecified, Port: dhcpv6.DefaultServerPort})
	if err != nil {
		return nil, fmt.Errorf("dhcpd6: listen on %q: %w", iface, err)
	}
	mreq := &unix.IPv6Mreq{Interface: uint32(ifi.Index)}
	copy(mreq.Multiaddr[:], dhcpv6.AllDHCPRelayAgentsAndServers)
	rc, err := c.SyscallConn()
	if err == nil {
		cerr := rc.Control(func(fd uintptr) {
			err = unix.SetsockoptIPv6Mreq(int(fd), unix.IPPROTO_IPV6, unix.IPV6_JOIN_GROUP, mreq)
		})
		err = errors.Join(cerr, err)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("dhcpd6: join ff02::1:2 on %q: %w", iface, err)
	}
	return c, nil
}

// Serve answers DHCPv6 messages arriving on conn until ctx is done, then
// returns nil. The caller owns conn: Serve never closes it, but sets its
// read deadline to stop reading. Replies go back to the sender: the
// client's link-local address, or the relay. At most [Options.Workers]
// packets are handled at once. An error reading from conn is returned.
func (s *Server) Serve(ctx context.Context, conn net.PacketConn) error {
	reply := func(ctx context.Context, b []byte, peer net.Addr) ([]byte, net.Addr) {
		return s.handlePacket(ctx, b, peer), peer
	}
	err := udpserve.Serve(ctx, conn, reply, udpserve.Options{
		Workers: s.opts.Workers,
		BufSize: 65536,
		SendFailed: func(dst net.Addr, err error) {
			s.m.dropped.WithLabelValues(reasonSendFailed).Inc()
			s.log.Warn("send reply", "to", dst.String(), "err", err)
		},
	})
	if err != nil {
		return fmt.Errorf("dhcpd6: serve: %w", err)
	}
	return nil
}

// handlePacket decodes one datagram from peer, handles it and returns the
// encoded reply, or nil when nothing is to be sent.
func (s *Server) handlePacket(ctx context.Context, b []byte, peer net.Addr) []byte {
	pkt, err := dhcpv6.FromBytes(b)
	if err != nil {
		s.m.dropped.WithLabelValues(reasonMalformed).Inc()
		return nil
	}
	var from netip.Addr
	if u, ok := peer.(*net.UDPAddr); ok {
		from, _ = netip.AddrFromSlice(u.IP)
	}
	resp, _ := s.handleFrom(ctx, pkt, from)
	if resp == nil {
		return nil
	}
	return resp.ToBytes()
}

// request is a client message with what its relays said about it.
type request struct {
	msg   *dhcpv6.Message
	relay *dhcpv6.RelayMessage // the outermost Relay-forward; nil when direct
	link  netip.Addr           // link-address of the relay closest to the client
	duid  []byte
	mac   net.HardwareAddr
}

// unwrap opens the Relay-forward layers around a client message.
// peer is the sender's address when known; for a direct client, its
// link-local address.
func unwrap(pkt dhcpv6.DHCPv6, peer netip.Addr) (*request, string, error) {
	r := &request{}
	var lla net.HardwareAddr
	for depth := 0; ; depth++ {
		switch m := pkt.(type) {
		case *dhcpv6.Message:
			if m == nil {
				return nil, reasonMalformed, fmt.Errorf("%w: empty relay", ErrMalformed)
			}
			r.msg = m
			if o := m.GetOneOption(dhcpv6.OptionClientID); o != nil {
				r.duid = o.ToBytes()
			}
			r.mac = lla
			if r.mac == nil {
				r.mac = duidMAC(m.Options.ClientID())
			}
			if r.mac == nil {
				r.mac = eui64MAC(peer)
			}
			return r, "", nil
		case *dhcpv6.RelayMessage:
			if m == nil || m.MessageType != dhcpv6.MessageTypeRelayForward {
				return nil, reasonNotRequest, fmt.Errorf("%w: relay message that is not a Relay-forward", ErrMalformed)
			}
			if depth >= maxRelayDepth {
				return nil, reasonMalformed, fmt.Errorf("%w: more than %d relays", ErrMalformed, maxRelayDepth)
			}
			if depth == 0 {
				r.relay = m
			}
			// Inner layers are closer to the client: they win.
			if a, ok := netip.AddrFromSlice(m.LinkAddr); ok && len(m.LinkAddr) == net.IPv6len && !a.IsUnspecified() {
				r.link = a
			}
			if _, hw := m.Options.ClientLinkLayerAddress(); len(hw) > 0 {
				lla = hw
			}
			peer, _ = netip.AddrFromSlice(m.PeerAddr)
			pkt = m.Options.RelayMessage()
		default:
			return nil, reasonMalformed, fmt.Errorf("%w: relay without a message", ErrMalformed)
		}
	}
}

// duidMAC returns the link-layer address of a DUID-LL or DUID-LLT.
func duidMAC(d dhcpv6.DUID) net.HardwareAddr {
	var hw net.HardwareAddr
	switch d := d.(type) {
	case *dhcpv6.DUIDLL:
		hw = d.LinkLayerAddr
	case *dhcpv6.DUIDLLT:
		hw = d.LinkLayerAddr
	}
	if len(hw) == 0 {
		return nil
	}
	return hw
}

// eui64MAC returns the MAC address embedded in a modified EUI-64
// link-local address (fe80::5054:ff:fe12:3456 holds 52:54:00:12:34:56),
// which firmware such as UEFI's uses; nil for any other address.
func eui64MAC(a netip.Addr) net.HardwareAddr {
	if !a.Is6() || !a.IsLinkLocalUnicast() {
		return nil
	}
	b := a.As16()
	if b[11] != 0xff || b[12] != 0xfe {
		return nil
	}
	return net.HardwareAddr{b[8] ^ 2, b[9], b[10], b[13], b[14], b[15]}
}

// Handle computes the server's answer to one message without touching the
// network: a client message or a Relay-forward around one (answered with
// a Relay-reply that echoes each relay's Interface-Id). It returns nil
// when the protocol wants silence. A non-nil error explains a dropped
// message, or travels with a reply that refused an address (status
// NoAddrsAvail, wrapping [ErrPoolExhausted]): a non-nil reply is always to
// be sent.
func (s *Server) Handle(ctx context.Context, pkt dhcpv6.DHCPv6) (dhcpv6.DHCPv6, error) {
	return s.handleFrom(ctx, pkt, netip.Addr{})
}

// handleFrom is Handle for a message from peer.
func (s *Server) handleFrom(ctx context.Context, pkt dhcpv6.DHCPv6, peer netip.Addr) (dhcpv6.DHCPv6, error) {
	r, reason, err := unwrap(pkt, peer)
	if err != nil {
		s.m.dropped.WithLabelValues(reason).Inc()
		return nil, err
	}
	mt := r.msg.MessageType
	s.m.packets.WithLabelValues(typeLabel(mt)).Inc()
	resp, reason, err := s.handle(ctx, r)
	if reason != "" {
		s.m.dropped.WithLabelValues(reason).Inc()
		if err != nil {
			s.log.Debug("message dropped", "type", mt.String(), "mac", r.mac.String(), "reason", reason, "err", err)
		}
	}
	if resp == nil {
		return nil, err
	}
	if errors.Is(err, ErrPoolExhausted) {
		s.m.noAddrs.Inc()
	}
	s.m.replies.WithLabelValues(typeLabel(resp.MessageType)).Inc()
	if r.relay == nil {
		return resp, err
	}
	out, rerr := dhcpv6.NewRelayReplFromRelayForw(r.relay, resp)
	if rerr != nil {
		s.m.dropped.WithLabelValues(reasonMalformed).Inc()
		return nil, fmt.Errorf("%w: %v", ErrMalformed, rerr)
	}
	return out, err
}

func (s *Server) handle(ctx context.Context, r *request) (*dhcpv6.Message, string, error) {
	m := r.msg
	switch m.MessageType {
	case dhcpv6.MessageTypeSolicit, dhcpv6.MessageTypeRequest, dhcpv6.MessageTypeConfirm,
		dhcpv6.MessageTypeRenew, dhcpv6.MessageTypeRebind, dhcpv6.MessageTypeRelease,
		dhcpv6.MessageTypeDecline, dhcpv6.MessageTypeInformationRequest:
	case dhcpv6.MessageTypeAdvertise, dhcpv6.MessageTypeReply, dhcpv6.MessageTypeReconfigure:
		return nil, reasonNotRequest, fmt.Errorf("%w: %s from a client", ErrMalformed, m.MessageType)
	default:
		return nil, reasonUnsupported, nil
	}
	if reason, err := s.checkIDs(r); reason != "" {
		return nil, reason, err
	}
	p := s.clientPool(r)
	if m.MessageType == dhcpv6.MessageTypeInformationRequest {
		resp := s.newReply(m, dhcpv6.MessageTypeReply)
		s.addConfig(resp, p)
		s.addBoot(resp, r, netip.Addr{})
		return resp, "", nil
	}
	if p == nil {
		return nil, reasonNoPool, fmt.Errorf("%w: link %v", ErrNoPool, r.link)
	}
	switch m.MessageType {
	case dhcpv6.MessageTypeConfirm:
		return s.confirm(r, p)
	case dhcpv6.MessageTypeRelease, dhcpv6.MessageTypeDecline:
		return s.giveBack(ctx, r, p)
	}
	return s.assign(ctx, r, p)
}

// checkIDs applies RFC 8415 section 16: which messages must, may or must
// not carry a Server Identifier, and that all but Information-request
// carry a Client Identifier.
func (s *Server) checkIDs(r *request) (string, error) {
	m := r.msg
	if len(r.duid) == 0 && m.MessageType != dhcpv6.MessageTypeInformationRequest {
		return reasonMalformed, fmt.Errorf("%w: %s without Client Identifier", ErrMalformed, m.MessageType)
	}
	sid := m.GetOneOption(dhcpv6.OptionServerID)
	switch m.MessageType {
	case dhcpv6.MessageTypeSolicit, dhcpv6.MessageTypeConfirm, dhcpv6.MessageTypeRebind:
		if sid != nil {
			return reasonMalformed, fmt.Errorf("%w: %s with Server Identifier", ErrMalformed, m.MessageType)
		}
	case dhcpv6.MessageTypeInformationRequest:
		if sid != nil && !bytes.Equal(sid.ToBytes(), s.sid) {
			return reasonNotForUs, nil
		}
	default:
		if sid == nil {
			return reasonMalformed, fmt.Errorf("%w: %s without Server Identifier", ErrMalformed, m.MessageType)
		}
		if !bytes.Equal(sid.ToBytes(), s.sid) {
			return reasonNotForUs, nil
		}
	}
	return "", nil
}

// clientPool is the pool of the client's link: the relay's link-address
// chooses it, else the server's own link.
func (s *Server) clientPool(r *request) *pool {
	if r.link.IsValid() {
		return s.poolForAddr(r.link)
	}
	return s.local
}

func (s *Server) newReply(m *dhcpv6.Message, t dhcpv6.MessageType) *dhcpv6.Message {
	resp := &dhcpv6.Message{MessageType: t, TransactionID: m.TransactionID}
	if cid := m.GetOneOption(dhcpv6.OptionClientID); cid != nil {
		resp.AddOption(cid)
	}
	resp.AddOption(dhcpv6.OptServerID(s.duid))
	return resp
}

func statusOpt(code iana.StatusCode, msg string) *dhcpv6.OptStatusCode {
	return &dhcpv6.OptStatusCode{StatusCode: code, StatusMessage: msg}
}

// addConfig adds the pool's other configuration: name servers and the
// domain search list.
func (s *Server) addConfig(resp *dhcpv6.Message, p *pool) {
	if p == nil {
		return
	}
	if len(p.cfg.DNS) > 0 {
		ips := make([]net.IP, len(p.cfg.DNS))
		for i, a := range p.cfg.DNS {
			ips[i] = net.IP(a.AsSlice())
		}
		resp.AddOption(dhcpv6.OptDNS(ips...))
	}
	if len(p.cfg.DomainSearch) > 0 {
		resp.AddOption(dhcpv6.OptDomainSearchList(&rfc1035label.Labels{Labels: p.cfg.DomainSearch}))
	}
}
