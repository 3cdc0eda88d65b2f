package dhcpd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"

	"github.com/atoll-edge/atoll/pxe/internal/udpserve"
)

// Server is a DHCPv4 server: authoritative with address pools, persistent
// leases and reservations, or a proxyDHCP server for network-boot clients.
// It is safe for concurrent use.
type Server struct {
	opts     Options
	log      *slog.Logger
	now      func() time.Time
	m        *metrics
	pools    []*pool
	local    *pool // serves clients on the server's own link; nil if none
	serverIP net.IP

	mu       sync.Mutex // guards the maps and the pools' allocation state
	byIP     map[netip.Addr]*lease
	byClient map[clientKey]*lease
	reserved map[netip.Addr]bool
}

// New returns a server configured by opts. It loads the leases of
// opts.Leases; leases whose address no longer belongs to a pool range are
// ignored.
func New(opts Options) (*Server, error) {
	o, err := opts.setDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:     o,
		log:      o.Logger,
		now:      o.Now,
		serverIP: net.IP(o.ServerIP.AsSlice()),
		byIP:     make(map[netip.Addr]*lease),
		byClient: make(map[clientKey]*lease),
		reserved: make(map[netip.Addr]bool),
	}
	if o.Mode == Authoritative {
		for i, p := range o.Pools {
			s.pools = append(s.pools, newPool(i, p))
			if p.Subnet.Contains(o.ServerIP) && s.local == nil {
				s.local = s.pools[i]
			}
		}
	}
	if r, ok := o.Hosts.(AddrReserver); ok {
		for _, a := range r.ReservedAddrs() {
			s.reserved[a] = true
		}
	}
	// The server's own address and the routers are never handed out.
	s.reserved[o.ServerIP] = true
	for _, p := range o.Pools {
		if p.Router.IsValid() {
			s.reserved[p.Router] = true
		}
	}
	m, err := newMetrics(o.Registerer, s.activeLeases)
	if err != nil {
		return nil, err
	}
	s.m = m
	if o.Leases != nil && o.Mode == Authoritative {
		ls, err := o.Leases.Load(context.Background())
		if err != nil {
			return nil, fmt.Errorf("dhcpd: load leases: %w", err)
		}
		s.restore(ls)
	}
	return s, nil
}

// restore puts stored leases back into the table.
func (s *Server) restore(ls []Lease) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sl := range ls {
		p := s.poolForAddr(sl.IP)
		if p == nil || s.byIP[sl.IP] != nil {
			continue
		}
		l := &lease{ip: sl.IP, mac: sl.MAC, clientID: sl.ClientID, hostname: sl.Hostname, expires: sl.Expires, state: stateBound, pool: p, hidx: -1}
		l.key = keyOf(p, sl.ClientID, sl.MAC)
		if old := s.byClient[l.key]; old != nil {
			// Two leases of one client: keep the later one.
			if !old.expires.Before(l.expires) {
				continue
			}
			s.dropLease(old)
		}
		// A lease outside the range came from a reservation, or from a
		// wider range before a configuration change: it is kept until it
		// expires, and never reclaimed for another client.
		l.reserved = s.reserved[l.ip]
		s.byIP[l.ip] = l
		s.byClient[l.key] = l
		p.track(l)
	}
}

// poolForAddr returns the pool whose subnet holds a.
func (s *Server) poolForAddr(a netip.Addr) *pool {
	for _, p := range s.pools {
		if p.cfg.Subnet.Contains(a) {
			return p
		}
	}
	return nil
}

func keyOf(p *pool, clientID []byte, mac net.HardwareAddr) clientKey {
	if len(clientID) > 0 {
		return clientKey{pool: p.idx, id: "id:" + string(clientID)}
	}
	return clientKey{pool: p.idx, id: "hw:" + string(mac)}
}

// ListenInterface opens the UDP socket a DHCP server needs on the named
// interface: bound to port (67, or 4011 for a PXE boot server) on all
// addresses and to the interface, with broadcast allowed. An empty iface
// listens on every interface.
func ListenInterface(iface string, port int) (*net.UDPConn, error) {
	c, err := server4.NewIPv4UDPConn(iface, &net.UDPAddr{Port: port})
	if err != nil {
		return nil, fmt.Errorf("dhcpd: listen on %q port %d: %w", iface, port, err)
	}
	return c, nil
}

// Serve answers DHCP requests arriving on conn until ctx is done, then
// returns nil. The caller owns conn: Serve never closes it, but sets its
// read deadline to stop reading. At most [Options.Workers] packets are
// handled at once. An error reading from conn is returned.
func (s *Server) Serve(ctx context.Context, conn net.PacketConn) error {
	err := udpserve.Serve(ctx, conn, s.handlePacket, udpserve.Options{
		Workers: s.opts.Workers,
		BufSize: 1500,
		SendFailed: func(dst net.Addr, err error) {
			s.m.dropped.WithLabelValues(reasonSendFailed).Inc()
			s.log.Warn("send reply", "to", dst.String(), "err", err)
		},
	})
	if err != nil {
		return fmt.Errorf("dhcpd: serve: %w", err)
	}
	return nil
}

// handlePacket decodes one datagram, handles it and returns the encoded
// reply with its destination, or nil when nothing is to be sent.
func (s *Server) handlePacket(ctx context.Context, b []byte, peer net.Addr) ([]byte, net.Addr) {
	req, err := dhcpv4.FromBytes(b)
	if err != nil {
		s.m.dropped.WithLabelValues(reasonMalformed).Inc()
		return nil, nil
	}
	resp, err := s.Handle(ctx, req)
	if err != nil || resp == nil {
		return nil, nil
	}
	return resp.ToBytes(), replyAddr(req, resp, peer)
}

// replyAddr chooses where a reply goes (RFC 2131 section 4.1): to the relay
// on the server port, to a configured client by unicast, otherwise by
// broadcast on the client port.
func replyAddr(req, resp *dhcpv4.DHCPv4, peer net.Addr) net.Addr {
	if gi := req.GatewayIPAddr; gi != nil && !gi.IsUnspecified() {
		return &net.UDPAddr{IP: gi, Port: dhcpv4.ServerPort}
	}
	if ci := req.ClientIPAddr; ci != nil && !ci.IsUnspecified() && resp.MessageType() != dhcpv4.MessageTypeNak {
		port := dhcpv4.ClientPort
		if u, ok := peer.(*net.UDPAddr); ok && u.IP.Equal(ci) && u.Port != 0 {
			port = u.Port
		}
		return &net.UDPAddr{IP: ci, Port: port}
	}
	return &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ClientPort}
}

// Handle computes the server's answer to one request without touching the
// network: an OFFER, ACK or NAK, or nil when the protocol wants silence
// (RELEASE, DECLINE, a REQUEST for another server, a non-boot client in
// proxy mode). An error means the request was dropped; it wraps one of the
// package's sentinel errors.
func (s *Server) Handle(ctx context.Context, req *dhcpv4.DHCPv4) (*dhcpv4.DHCPv4, error) {
	mt := req.MessageType()
	s.m.packets.WithLabelValues(msgTypeLabel(mt)).Inc()
	resp, reason, err := s.handle(ctx, req, mt)
	if reason != "" {
		s.m.dropped.WithLabelValues(reason).Inc()
		if err != nil {
			s.log.Debug("request dropped", "mac", req.ClientHWAddr.String(), "type", mt.String(), "reason", reason, "err", err)
		}
	}
	if resp != nil {
		switch resp.MessageType() {
		case dhcpv4.MessageTypeOffer:
			s.m.offers.Inc()
		case dhcpv4.MessageTypeAck:
			s.m.acks.Inc()
		case dhcpv4.MessageTypeNak:
			s.m.naks.Inc()
		}
	}
	return resp, err
}

func (s *Server) handle(ctx context.Context, req *dhcpv4.DHCPv4, mt dhcpv4.MessageType) (*dhcpv4.DHCPv4, string, error) {
	if req.OpCode != dhcpv4.OpcodeBootRequest {
		return nil, reasonNotRequest, fmt.Errorf("%w: opcode %v", ErrMalformed, req.OpCode)
	}
	if len(req.ClientHWAddr) == 0 || len(req.ClientHWAddr) > 16 {
		return nil, reasonMalformed, fmt.Errorf("%w: hardware address length %d", ErrMalformed, len(req.ClientHWAddr))
	}
	if s.opts.Mode == Proxy {
		return s.handleProxy(req, mt)
	}
	switch mt {
	case dhcpv4.MessageTypeDiscover:
		return s.discover(ctx, req)
	case dhcpv4.MessageTypeRequest:
		return s.request(ctx, req)
	case dhcpv4.MessageTypeRelease:
		return s.release(ctx, req)
	case dhcpv4.MessageTypeDecline:
		return s.decline(ctx, req)
	case dhcpv4.MessageTypeInform:
		return s.inform(req)
	case dhcpv4.MessageTypeNone:
		return nil, reasonMalformed, fmt.Errorf("%w: no message type", ErrMalformed)
	}
	return nil, reasonUnsupported, nil
}

// clientPool picks the pool of the client's network: by giaddr when relayed.
func (s *Server) clientPool(req *dhcpv4.DHCPv4) (*pool, error) {
	if gi, ok := netip.AddrFromSlice(req.GatewayIPAddr); ok && gi.Unmap().IsValid() && !gi.Unmap().IsUnspecified() {
		if p := s.poolForAddr(gi.Unmap()); p != nil {
			return p, nil
		}
		return nil, fmt.Errorf("%w: relay %s", ErrNoPool, gi.Unmap())
	}
	if s.local == nil {
		return nil, fmt.Errorf("%w: none holds the server address %s", ErrNoPool, s.opts.ServerIP)
	}
	return s.local, nil
}

func (s *Server) lookupHost(ctx context.Context, mac net.HardwareAddr) (Host, bool, error) {
	if s.opts.Hosts == nil {
		return Host{}, false, nil
	}
	return s.opts.Hosts.LookupHost(ctx, mac)
}

func (s *Server) discover(ctx context.Context, req *dhcpv4.DHCPv4) (*dhcpv4.DHCPv4, string, error) {
	p, err := s.clientPool(req)
	if err != nil {
		return nil, reasonNoPool, err
	}
	host, hasHost, err := s.lookupHost(ctx, req.ClientHWAddr)
	if err != nil {
		return nil, reasonLookup, fmt.Errorf("dhcpd: host lookup: %w", err)
	}
	now := s.now()
	cid := req.Options.Get(dhcpv4.OptionClientIdentifier)
	key := keyOf(p, cid, req.ClientHWAddr)

	s.mu.Lock()
	l, err := s.offer(p, key, req, cid, host, hasHost, now)
	var snap lease
	if err == nil {
		snap = *l
	}
	s.mu.Unlock()
	if err != nil {
		reason := reasonExhausted
		if errors.Is(err, ErrAddressInUse) {
			reason = reasonReservationConflict
		}
		return nil, reason, err
	}
	resp := s.newReply(req, dhcpv4.MessageTypeOffer)
	s.fillLease(resp, p, &snap)
	s.addBoot(resp, req, snap.ip)
	return resp, "", nil
}

// offer reserves an address for a client. Called with s.mu held.
func (s *Server) offer(p *pool, key clientKey, req *dhcpv4.DHCPv4, cid []byte, host Host, hasHost bool, now time.Time) (*lease, error) {
	if hasHost && p.cfg.Subnet.Contains(host.IP) {
		return s.takeReserved(p, key, req, cid, host, now)
	}
	if l := s.byClient[key]; l != nil && !l.reserved && !p.inRange(l.ip) {
		// The range shrank, or a reservation was removed: start over.
		s.dropLease(l)
	}
	if l := s.byClient[key]; l != nil {
		if l.state == stateOffered || !l.expires.After(now) {
			l.state = stateOffered
			l.expires = now.Add(s.opts.OfferTimeout)
			p.track(l)
		}
		return l, nil
	}
	if want, ok := netip.AddrFromSlice(req.RequestedIPAddress()); ok && s.freeFor(p, want.Unmap(), now) {
		return s.bind(p, want.Unmap(), key, req, cid, "", now), nil
	}
	for {
		a, ok := p.candidate()
		if !ok {
			break
		}
		if s.isFree(p, a) {
			return s.bind(p, a, key, req, cid, "", now), nil
		}
	}
	for old := p.oldestExpired(now); old != nil; old = p.oldestExpired(now) {
		a := old.ip
		s.dropLease(old)
		if s.isFree(p, a) {
			return s.bind(p, a, key, req, cid, "", now), nil
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrPoolExhausted, p.cfg.Subnet)
}

// takeReserved offers a client its reserved address.
func (s *Server) takeReserved(p *pool, key clientKey, req *dhcpv4.DHCPv4, cid []byte, host Host, now time.Time) (*lease, error) {
	if l := s.byIP[host.IP]; l != nil {
		if l.key == key {
			if l.state != stateBound || !l.expires.After(now) {
				l.state = stateOffered
				l.expires = now.Add(s.opts.OfferTimeout)
			}
			l.reserved, l.hostname = true, host.Hostname
			p.untrack(l)
			return l, nil
		}
		if l.expires.After(now) && l.state != stateDeclined || l.pending > 0 {
			return nil, fmt.Errorf("%w: reserved %s", ErrAddressInUse, host.IP)
		}
		s.dropLease(l)
	}
	if old := s.byClient[key]; old != nil {
		s.dropLease(old)
		p.recycle(old.ip)
	}
	l := s.bind(p, host.IP, key, req, cid, host.Hostname, now)
	l.reserved = true
	p.untrack(l)
	return l, nil
}

func (s *Server) isFree(p *pool, a netip.Addr) bool {
	return p.inRange(a) && s.byIP[a] == nil && !s.reserved[a]
}

// freeFor reports whether a is free or holds an expired lease that may be
// reclaimed.
func (s *Server) freeFor(p *pool, a netip.Addr, now time.Time) bool {
	if !p.inRange(a) || s.reserved[a] {
		return false
	}
	l := s.byIP[a]
	if l == nil {
		return true
	}
	if !l.reserved && !l.expires.After(now) && l.pending == 0 {
		s.dropLease(l)
		return true
	}
	return false
}

// bind creates an offered lease of a for a client.
func (s *Server) bind(p *pool, a netip.Addr, key clientKey, req *dhcpv4.DHCPv4, cid []byte, hostname string, now time.Time) *lease {
	l := &lease{
		ip: a, key: key, mac: append(net.HardwareAddr(nil), req.ClientHWAddr...), clientID: append([]byte(nil), cid...),
		hostname: hostname, expires: now.Add(s.opts.OfferTimeout), state: stateOffered, pool: p, hidx: -1,
	}
	if hostname == "" {
		l.hostname = req.HostName()
	}
	s.byIP[a] = l
	s.byClient[key] = l
	p.track(l)
	return l
}

// dropLease forgets l entirely.
func (s *Server) dropLease(l *lease) {
	if s.byIP[l.ip] == l {
		delete(s.byIP, l.ip)
	}
	if l.key.id != "" && s.byClient[l.key] == l {
		delete(s.byClient, l.key)
	}
	l.pool.untrack(l)
}

func (s *Server) request(ctx context.Context, req *dhcpv4.DHCPv4) (*dhcpv4.DHCPv4, string, error) {
	p, err := s.clientPool(req)
	if err != nil {
		return nil, reasonNoPool, err
	}
	sid := req.ServerIdentifier()
	cid := req.Options.Get(dhcpv4.OptionClientIdentifier)
	key := keyOf(p, cid, req.ClientHWAddr)
	now := s.now()

	if sid != nil && !sid.Equal(s.serverIP) {
		// SELECTING another server's offer: withdraw ours.
		s.mu.Lock()
		if l := s.byClient[key]; l != nil && l.state == stateOffered {
			s.dropLease(l)
			p.recycle(l.ip)
		}
		s.mu.Unlock()
		return nil, reasonNotForUs, nil
	}
	want, _ := netip.AddrFromSlice(req.RequestedIPAddress())
	want = want.Unmap()
	if !want.IsValid() || want.IsUnspecified() {
		// RENEWING or REBINDING: the address is in ciaddr.
		want, _ = netip.AddrFromSlice(req.ClientIPAddr)
		want = want.Unmap()
	}
	if !want.Is4() || want.IsUnspecified() {
		return nil, reasonMalformed, fmt.Errorf("%w: REQUEST without an address", ErrMalformed)
	}
	host, hasHost, err := s.lookupHost(ctx, req.ClientHWAddr)
	if err != nil {
		return nil, reasonLookup, fmt.Errorf("dhcpd: host lookup: %w", err)
	}

	s.mu.Lock()
	l, nakErr := s.commit(p, key, req, cid, want, host, hasHost, now)
	var snap lease
	if nakErr == nil {
		snap = *l
		s.beginPersist(l)
	}
	s.mu.Unlock()
	if nakErr != nil {
		// Authoritative for its pools, the server refuses rather than stay
		// silent, so a moved or restarted client starts over at once.
		resp := s.newReply(req, dhcpv4.MessageTypeNak)
		resp.UpdateOption(dhcpv4.OptMessage(nakErr.Error()))
		resp.Flags |= 0x8000 // a NAK goes by broadcast when not relayed
		return resp, "", nil
	}
	if err := s.persist(ctx, l, snap.toLease(), false); err != nil {
		return nil, reasonStore, fmt.Errorf("dhcpd: persist lease: %w", err)
	}
	resp := s.newReply(req, dhcpv4.MessageTypeAck)
	s.fillLease(resp, p, &snap)
	s.addBoot(resp, req, snap.ip)
	return resp, "", nil
}

// commit binds want to the client or returns why not (the NAK message).
// Called with s.mu held.
func (s *Server) commit(p *pool, key clientKey, req *dhcpv4.DHCPv4, cid []byte, want netip.Addr, host Host, hasHost bool, now time.Time) (*lease, error) {
	if !p.cfg.Subnet.Contains(want) {
		return nil, fmt.Errorf("%w: %s not in %s", ErrNotInPool, want, p.cfg.Subnet)
	}
	reservedHere := hasHost && p.cfg.Subnet.Contains(host.IP)
	if reservedHere && want != host.IP {
		return nil, fmt.Errorf("%w: %s is reserved elsewhere for this client", ErrNotInPool, want)
	}
	l := s.byIP[want]
	switch {
	case l != nil && l.key == key && l.state != stateDeclined:
	case reservedHere:
		var err error
		if l, err = s.takeReserved(p, key, req, cid, host, now); err != nil {
			return nil, err
		}
	case l == nil && s.isFree(p, want), l != nil && s.freeFor(p, want, now):
		if old := s.byClient[key]; old != nil {
			s.dropLease(old)
			p.recycle(old.ip)
		}
		l = s.bind(p, want, key, req, cid, "", now)
	case l == nil:
		return nil, fmt.Errorf("%w: %s not in the range", ErrNotInPool, want)
	default:
		return nil, fmt.Errorf("%w: %s", ErrAddressInUse, want)
	}
	l.state = stateBound
	l.expires = now.Add(p.cfg.LeaseTime)
	if h := req.HostName(); h != "" && !l.reserved {
		l.hostname = h
	}
	if l.reserved {
		p.untrack(l)
	} else {
		p.track(l)
	}
	return l, nil
}

// release ends a lease early. The address stays tied to the client, so it
// gets it back, until another client needs it.
func (s *Server) release(ctx context.Context, req *dhcpv4.DHCPv4) (*dhcpv4.DHCPv4, string, error) {
	ci, _ := netip.AddrFromSlice(req.ClientIPAddr)
	ci = ci.Unmap()
	p := s.poolForAddr(ci)
	if p == nil {
		return nil, reasonNoRecord, nil
	}
	key := keyOf(p, req.Options.Get(dhcpv4.OptionClientIdentifier), req.ClientHWAddr)
	now := s.now()
	s.mu.Lock()
	l := s.byIP[ci]
	if l == nil || l.key != key || l.state != stateBound {
		s.mu.Unlock()
		return nil, reasonNoRecord, nil
	}
	l.expires = now
	p.track(l)
	snap := *l
	s.beginPersist(l)
	s.mu.Unlock()
	if err := s.persist(ctx, l, snap.toLease(), false); err != nil {
		return nil, reasonStore, fmt.Errorf("dhcpd: persist release: %w", err)
	}
	return nil, "", nil
}

// decline takes an address a client found in use out of service for
// DeclineHold.
func (s *Server) decline(ctx context.Context, req *dhcpv4.DHCPv4) (*dhcpv4.DHCPv4, string, error) {
	a, _ := netip.AddrFromSlice(req.RequestedIPAddress())
	a = a.Unmap()
	p := s.poolForAddr(a)
	if p == nil {
		return nil, reasonNoRecord, nil
	}
	key := keyOf(p, req.Options.Get(dhcpv4.OptionClientIdentifier), req.ClientHWAddr)
	now := s.now()
	s.mu.Lock()
	l := s.byIP[a]
	if l == nil || l.key != key {
		s.mu.Unlock()
		return nil, reasonNoRecord, nil
	}
	if s.byClient[key] == l {
		delete(s.byClient, key)
	}
	wasBound := l.state == stateBound
	l.key = clientKey{pool: p.idx}
	l.state = stateDeclined
	l.reserved = false
	l.expires = now.Add(s.opts.DeclineHold)
	p.track(l)
	if wasBound {
		s.beginPersist(l)
	}
	s.mu.Unlock()
	s.log.Warn("address declined", "mac", req.ClientHWAddr.String(), "ip", a.String())
	if wasBound {
		if err := s.persist(ctx, l, Lease{IP: a}, true); err != nil {
			return nil, reasonStore, fmt.Errorf("dhcpd: persist decline: %w", err)
		}
	}
	return nil, "", nil
}

// inform answers a client that configured its address itself.
func (s *Server) inform(req *dhcpv4.DHCPv4) (*dhcpv4.DHCPv4, string, error) {
	ci, _ := netip.AddrFromSlice(req.ClientIPAddr)
	p := s.poolForAddr(ci.Unmap())
	if p == nil {
		var err error
		if p, err = s.clientPool(req); err != nil {
			return nil, reasonNoPool, err
		}
	}
	resp := s.newReply(req, dhcpv4.MessageTypeAck)
	s.fillOptions(resp, p)
	s.addBoot(resp, req, netip.Addr{})
	return resp, "", nil
}

// newReply starts a reply to req.
func (s *Server) newReply(req *dhcpv4.DHCPv4, mt dhcpv4.MessageType) *dhcpv4.DHCPv4 {
	r := &dhcpv4.DHCPv4{
		OpCode:        dhcpv4.OpcodeBootReply,
		HWType:        req.HWType,
		TransactionID: req.TransactionID,
		Flags:         req.Flags,
		ClientIPAddr:  net.IPv4zero,
		YourIPAddr:    net.IPv4zero,
		ServerIPAddr:  net.IPv4zero,
		GatewayIPAddr: req.GatewayIPAddr,
		ClientHWAddr:  req.ClientHWAddr,
		Options:       make(dhcpv4.Options, 12),
	}
	if mt == dhcpv4.MessageTypeAck && req.ClientIPAddr != nil {
		r.ClientIPAddr = req.ClientIPAddr
	}
	r.UpdateOption(dhcpv4.OptMessageType(mt))
	r.UpdateOption(dhcpv4.OptServerIdentifier(s.serverIP))
	for _, c := range []dhcpv4.OptionCode{dhcpv4.OptionRelayAgentInformation, dhcpv4.OptionClientIdentifier} {
		if v := req.Options.Get(c); v != nil {
			r.Options[c.Code()] = v
		}
	}
	return r
}

func (s *Server) fillLease(resp *dhcpv4.DHCPv4, p *pool, l *lease) {
	resp.YourIPAddr = net.IP(l.ip.AsSlice())
	lt := p.cfg.LeaseTime
	resp.UpdateOption(dhcpv4.OptIPAddressLeaseTime(lt))
	resp.UpdateOption(dhcpv4.OptRenewTimeValue(lt / 2))
	resp.UpdateOption(dhcpv4.OptRebindingTimeValue(lt * 7 / 8))
	if l.reserved && l.hostname != "" {
		resp.UpdateOption(dhcpv4.OptHostName(l.hostname))
	}
	s.fillOptions(resp, p)
}

func (s *Server) fillOptions(resp *dhcpv4.DHCPv4, p *pool) {
	resp.UpdateOption(dhcpv4.OptSubnetMask(net.CIDRMask(p.cfg.Subnet.Bits(), 32)))
	if p.cfg.Router.IsValid() {
		resp.UpdateOption(dhcpv4.OptRouter(net.IP(p.cfg.Router.AsSlice())))
	}
	if len(p.cfg.DNS) > 0 {
		ips := make([]net.IP, len(p.cfg.DNS))
		for i, a := range p.cfg.DNS {
			ips[i] = net.IP(a.AsSlice())
		}
		resp.UpdateOption(dhcpv4.OptDNS(ips...))
	}
	if p.cfg.DomainName != "" {
		resp.UpdateOption(dhcpv4.OptDomainName(p.cfg.DomainName))
	}
}

// activeLeases counts bound, unexpired leases.
func (s *Server) activeLeases() float64 {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range s.byIP {
		if l.state == stateBound && l.expires.After(now) {
			n++
		}
	}
	return float64(n)
}

// beginPersist marks l as having a store write in flight. Until persist
// ends it, l is never reclaimed for another client, so the store always
// receives one address's writes in the order they happened here. Called
// with s.mu held.
func (s *Server) beginPersist(l *lease) {
	if s.opts.Leases != nil {
		l.pending++
	}
}

// persist writes one lease change to the store (without s.mu) and ends
// the mark of beginPersist.
func (s *Server) persist(ctx context.Context, l *lease, sl Lease, del bool) error {
	if s.opts.Leases == nil {
		return nil
	}
	var err error
	if del {
		err = s.opts.Leases.Delete(ctx, sl.IP)
	} else {
		err = s.opts.Leases.Put(ctx, sl)
	}
	s.mu.Lock()
	l.pending--
	s.mu.Unlock()
	return err
}
