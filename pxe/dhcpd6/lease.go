package dhcpd6

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/atoll-edge/atoll/pxe/dhcpd"
)

type leaseState uint8

const (
	stateOffered  leaseState = iota // advertised, reserved until the offer times out
	stateBound                      // replied to and persisted
	stateDeclined                   // a client reported the address in use
)

// clientKey identifies a client within a pool by its DUID. A client gets
// one address per pool, whatever IAID its IA_NA carries.
type clientKey struct {
	pool int
	duid string
}

// lease is the in-memory record of one address in use.
type lease struct {
	ip       netip.Addr
	key      clientKey // zero for a declined address
	mac      net.HardwareAddr
	hostname string
	expires  time.Time
	state    leaseState
	pool     *pool
	reserved bool // a host reservation: never reclaimed for another client
	pending  int  // store writes in flight: not reclaimable while > 0
}

func (l *lease) stored() dhcpd.Lease {
	return dhcpd.Lease{IP: l.ip, MAC: l.mac, ClientID: []byte(l.key.duid), Hostname: l.hostname, Expires: l.expires}
}

// pool is the allocation state of one configured Pool: a cursor over
// never-used addresses and a stack of returned ones. They are hints; an
// address is free only if the server's byIP map has no lease for it. When
// both run dry, the lease that expired first is reclaimed. A /64 range is
// never walked: the cursor moves one address per new client.
type pool struct {
	idx   int
	cfg   Pool
	next  netip.Addr // first address the cursor has not passed; invalid past the top
	freed []netip.Addr
}

func (p *pool) inRange(a netip.Addr) bool {
	return a.IsValid() && !a.Less(p.cfg.Start) && !p.cfg.End.Less(a)
}

func (p *pool) candidate() (netip.Addr, bool) {
	if n := len(p.freed); n > 0 {
		a := p.freed[n-1]
		p.freed = p.freed[:n-1]
		return a, true
	}
	if p.inRange(p.next) {
		a := p.next
		p.next = a.Next()
		return a, true
	}
	return netip.Addr{}, false
}

func (s *Server) lookupHost(ctx context.Context, r *request) (Host, bool, error) {
	if s.opts.Hosts == nil {
		return Host{}, false, nil
	}
	return s.opts.Hosts.LookupHost(ctx, Client{DUID: r.duid, MAC: r.mac})
}

// assign answers Solicit (Advertise, or Reply with Rapid Commit), Request,
// Renew and Rebind. The first IA_NA gets the client's address; others get
// NoAddrsAvail. A binding is persisted before the Reply is returned.
func (s *Server) assign(ctx context.Context, r *request, p *pool) (*dhcpv6.Message, string, error) {
	m := r.msg
	mt := m.MessageType
	host, hasHost, err := s.lookupHost(ctx, r)
	if err != nil {
		return nil, reasonLookup, fmt.Errorf("dhcpd6: host lookup: %w", err)
	}
	rapid := mt == dhcpv6.MessageTypeSolicit && m.GetOneOption(dhcpv6.OptionRapidCommit) != nil
	commit := mt != dhcpv6.MessageTypeSolicit || rapid
	rt := dhcpv6.MessageTypeReply
	if !commit {
		rt = dhcpv6.MessageTypeAdvertise
	}
	key := clientKey{pool: p.idx, duid: string(r.duid)}
	now := s.now()
	ias := m.Options.IANA()
	var (
		l       *lease
		snap    lease
		refused error
	)
	if len(ias) > 0 {
		s.mu.Lock()
		if mt == dhcpv6.MessageTypeRenew || mt == dhcpv6.MessageTypeRebind {
			l = s.binding(p, key)
		} else {
			l, refused = s.take(p, key, r, host, hasHost, now)
		}
		if l != nil && commit {
			l.state, l.expires = stateBound, now.Add(p.cfg.ValidLifetime)
			if r.mac != nil {
				l.mac = r.mac
			}
			s.beginPersist(l)
		}
		if l != nil {
			snap = *l
		}
		s.mu.Unlock()
	}
	if l != nil && commit {
		if err := s.persist(ctx, l, snap.stored(), false); err != nil {
			return nil, reasonStore, fmt.Errorf("dhcpd6: store lease: %w", err)
		}
	}
	resp := s.newReply(m, rt)
	if rapid {
		resp.AddOption(&dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionRapidCommit})
	}
	for i, ia := range ias {
		var got *lease
		if i == 0 && l != nil {
			got = &snap
		}
		resp.AddOption(iaReply(mt, ia, got, p))
	}
	if refused != nil && mt == dhcpv6.MessageTypeSolicit {
		resp.AddOption(statusOpt(iana.StatusNoAddrsAvail, "pool refused"))
	}
	s.addConfig(resp, p)
	s.addBoot(resp, r, snap.ip)
	return resp, "", refused
}

// iaReply answers one IA_NA: the client's address with the pool's
// lifetimes, other addresses it still holds with lifetimes 0 (RFC 8415
// 18.3.4-5), or a status saying why it has none.
func iaReply(mt dhcpv6.MessageType, ia *dhcpv6.OptIANA, l *lease, p *pool) *dhcpv6.OptIANA {
	out := &dhcpv6.OptIANA{IaId: ia.IaId}
	if l != nil {
		pl := p.cfg.PreferredLifetime
		out.T1, out.T2 = pl/2, pl*4/5
		out.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: net.IP(l.ip.AsSlice()), PreferredLifetime: pl, ValidLifetime: p.cfg.ValidLifetime})
	}
	renewing := mt == dhcpv6.MessageTypeRenew || mt == dhcpv6.MessageTypeRebind
	stale := 0
	for _, a := range ia.Options.Addresses() {
		if renewing && (l == nil || !a.IPv6Addr.Equal(net.IP(l.ip.AsSlice()))) {
			out.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: a.IPv6Addr})
			stale++
		}
	}
	switch {
	case l != nil:
	case mt == dhcpv6.MessageTypeRenew || (mt == dhcpv6.MessageTypeRebind && stale == 0):
		out.Options.Add(statusOpt(iana.StatusNoBinding, "no binding"))
	case !renewing:
		out.Options.Add(statusOpt(iana.StatusNoAddrsAvail, "no address"))
	}
	return out
}

// binding returns the client's lease to renew, or nil. Called with s.mu
// held.
func (s *Server) binding(p *pool, key clientKey) *lease {
	l := s.byClient[key]
	if l == nil || l.state == stateDeclined {
		return nil
	}
	if !l.reserved && !p.inRange(l.ip) {
		s.forget(l) // the range shrank: the client starts over
		return nil
	}
	return l
}

// take finds or allocates the client's lease in p: its reservation, its
// current address, a fresh one or the oldest expired one. A new or
// expired lease is offered for [Options.OfferTimeout]. Called with s.mu
// held.
func (s *Server) take(p *pool, key clientKey, r *request, host Host, hasHost bool, now time.Time) (*lease, error) {
	if hasHost && p.cfg.Prefix.Contains(host.IP) {
		return s.takeReserved(p, key, r, host, now)
	}
	if l := s.byClient[key]; l != nil {
		if !l.reserved && p.inRange(l.ip) {
			s.refresh(l, now)
			return l, nil
		}
		s.forget(l) // reservation removed or range shrunk
	}
	for {
		a, ok := p.candidate()
		if !ok {
			break
		}
		if p.inRange(a) && s.byIP[a] == nil && !s.reserved[a] {
			return s.newLease(p, a, key, r, "", now), nil
		}
	}
	if old := s.oldestExpired(p, now); old != nil {
		s.forget(old)
		return s.newLease(p, old.ip, key, r, "", now), nil
	}
	return nil, fmt.Errorf("%w: %s", ErrPoolExhausted, p.cfg.Prefix)
}

func (s *Server) takeReserved(p *pool, key clientKey, r *request, host Host, now time.Time) (*lease, error) {
	l := s.byIP[host.IP]
	if l != nil && l.key != key {
		if l.pending > 0 || l.expires.After(now) {
			return nil, fmt.Errorf("%w: reserved %s", ErrAddressInUse, host.IP)
		}
		s.forget(l)
		l = nil
	}
	if old := s.byClient[key]; old != nil && old != l {
		s.forget(old)
		if p.inRange(old.ip) && old.pending == 0 {
			p.freed = append(p.freed, old.ip)
		}
	}
	if l == nil {
		l = s.newLease(p, host.IP, key, r, host.Hostname, now)
	} else {
		s.refresh(l, now)
	}
	l.reserved, l.hostname = true, host.Hostname
	return l, nil
}

// refresh re-offers a lease that is not bound or has expired.
func (s *Server) refresh(l *lease, now time.Time) {
	if l.state != stateBound || !l.expires.After(now) {
		l.state, l.expires = stateOffered, now.Add(s.opts.OfferTimeout)
	}
}

func (s *Server) newLease(p *pool, a netip.Addr, key clientKey, r *request, hostname string, now time.Time) *lease {
	l := &lease{ip: a, key: key, mac: r.mac, hostname: hostname, expires: now.Add(s.opts.OfferTimeout), state: stateOffered, pool: p}
	s.byIP[a] = l
	s.byClient[key] = l
	return l
}

// oldestExpired returns the lease of p that expired first and may be
// reclaimed, or nil. It scans the table: it runs only once the range is
// used up.
func (s *Server) oldestExpired(p *pool, now time.Time) *lease {
	var old *lease
	for _, l := range s.byIP {
		if l.pool != p || l.reserved || l.pending > 0 || l.expires.After(now) {
			continue
		}
		if old == nil || l.expires.Before(old.expires) {
			old = l
		}
	}
	return old
}

func (s *Server) forget(l *lease) {
	if s.byIP[l.ip] == l {
		delete(s.byIP, l.ip)
	}
	if l.key.duid != "" && s.byClient[l.key] == l {
		delete(s.byClient, l.key)
	}
}

// giveBack answers Release and Decline. A released address stays with its
// client, expired, until another client needs it; a declined one is kept
// from everyone for [Options.DeclineHold]. Both leave the store.
func (s *Server) giveBack(ctx context.Context, r *request, p *pool) (*dhcpv6.Message, string, error) {
	m := r.msg
	key := clientKey{pool: p.idx, duid: string(r.duid)}
	now := s.now()
	resp := s.newReply(m, dhcpv6.MessageTypeReply)
	var gone []*lease
	s.mu.Lock()
	for _, ia := range m.Options.IANA() {
		found := false
		for _, a := range ia.Options.Addresses() {
			ip, _ := netip.AddrFromSlice(a.IPv6Addr)
			l := s.byIP[ip]
			if l == nil || l.key != key {
				continue
			}
			found = true
			if m.MessageType == dhcpv6.MessageTypeDecline {
				s.forget(l)
				s.byIP[ip] = l
				l.key, l.state, l.expires = clientKey{}, stateDeclined, now.Add(s.opts.DeclineHold)
			} else {
				l.expires = now
			}
			s.beginPersist(l)
			gone = append(gone, l)
		}
		if !found {
			resp.AddOption(&dhcpv6.OptIANA{IaId: ia.IaId, Options: dhcpv6.IdentityOptions{Options: dhcpv6.Options{statusOpt(iana.StatusNoBinding, "no binding")}}})
		}
	}
	s.mu.Unlock()
	var errs []error
	for _, l := range gone {
		errs = append(errs, s.persist(ctx, l, dhcpd.Lease{IP: l.ip}, true))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, reasonStore, fmt.Errorf("dhcpd6: store lease: %w", err)
	}
	resp.AddOption(statusOpt(iana.StatusSuccess, ""))
	return resp, "", nil
}

// confirm tells a client whether its addresses are on the link it is on
// now (RFC 8415 18.3.3): Success or NotOnLink. A Confirm without
// addresses gets no answer.
func (s *Server) confirm(r *request, p *pool) (*dhcpv6.Message, string, error) {
	n, onLink := 0, true
	for _, ia := range r.msg.Options.IANA() {
		for _, a := range ia.Options.Addresses() {
			n++
			ip, _ := netip.AddrFromSlice(a.IPv6Addr)
			onLink = onLink && p.cfg.Prefix.Contains(ip)
		}
	}
	if n == 0 {
		return nil, reasonNoAddresses, nil
	}
	resp := s.newReply(r.msg, dhcpv6.MessageTypeReply)
	if onLink {
		resp.AddOption(statusOpt(iana.StatusSuccess, "on link"))
	} else {
		resp.AddOption(statusOpt(iana.StatusNotOnLink, "not on link"))
	}
	return resp, "", nil
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

// beginPersist marks l as having a store write in flight: until persist
// ends it, l is never reclaimed, so the store receives one address's
// writes in order. Called with s.mu held.
func (s *Server) beginPersist(l *lease) {
	if s.opts.Leases != nil {
		l.pending++
	}
}

// persist writes one lease change (without s.mu) and ends beginPersist.
func (s *Server) persist(ctx context.Context, l *lease, sl dhcpd.Lease, del bool) error {
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
