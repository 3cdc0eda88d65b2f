package dhcpd

import (
	"container/heap"
	"encoding/binary"
	"net"
	"net/netip"
	"time"
)

type leaseState uint8

const (
	stateOffered  leaseState = iota // reserved for a client until the offer times out
	stateBound                      // ACKed and persisted
	stateDeclined                   // a client reported the address in use
)

// clientKey identifies a client within a pool: its client identifier
// (option 61) when it sends one, else its hardware address.
type clientKey struct {
	pool int
	id   string
}

// lease is the in-memory record of one address in use. The server's maps
// and each pool's expiry heap point at the same lease.
type lease struct {
	ip       netip.Addr
	key      clientKey // zero id for a declined address
	mac      net.HardwareAddr
	clientID []byte
	hostname string
	expires  time.Time
	state    leaseState
	pool     *pool
	reserved bool // a host reservation: never reclaimed for another client
	hidx     int  // index in pool.byExpiry, -1 when absent
	pending  int  // store writes in flight: not reclaimable while > 0
}

func (l *lease) toLease() Lease {
	return Lease{IP: l.ip, MAC: l.mac, ClientID: l.clientID, Hostname: l.hostname, Expires: l.expires}
}

// pool is the allocation state of one configured Pool. Finding a free
// address is O(log n): recycled addresses come from a min-heap, never-used
// ones from a cursor, and when both run dry the lease that expired first is
// reclaimed from an expiry heap. The heap and cursor are hints; a candidate
// is free only if the server's byIP map has no lease for it.
type pool struct {
	idx      int
	cfg      Pool
	lo, hi   uint32
	next     uint64 // first address of [lo, hi] the cursor has not passed
	recycled addrHeap
	byExpiry expiryHeap
}

func addrToU32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func u32ToAddr(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

func newPool(idx int, cfg Pool) *pool {
	return &pool{idx: idx, cfg: cfg, lo: addrToU32(cfg.Start), hi: addrToU32(cfg.End), next: uint64(addrToU32(cfg.Start))}
}

func (p *pool) inRange(a netip.Addr) bool {
	if !a.Is4() {
		return false
	}
	v := addrToU32(a)
	return v >= p.lo && v <= p.hi
}

// candidate returns the next address that may be free, or false.
func (p *pool) candidate() (netip.Addr, bool) {
	if p.recycled.Len() > 0 {
		return u32ToAddr(heap.Pop(&p.recycled).(uint32)), true
	}
	if p.next <= uint64(p.hi) {
		v := uint32(p.next)
		p.next++
		return u32ToAddr(v), true
	}
	return netip.Addr{}, false
}

func (p *pool) recycle(a netip.Addr) {
	if p.inRange(a) {
		heap.Push(&p.recycled, addrToU32(a))
	}
}

func (p *pool) track(l *lease) {
	if l.reserved {
		p.untrack(l)
		return
	}
	if l.hidx >= 0 {
		heap.Fix(&p.byExpiry, l.hidx)
		return
	}
	heap.Push(&p.byExpiry, l)
}

func (p *pool) untrack(l *lease) {
	if l.hidx >= 0 {
		heap.Remove(&p.byExpiry, l.hidx)
	}
}

// oldestExpired returns the lease that expired first, if any has expired
// and has no store write in flight.
func (p *pool) oldestExpired(now time.Time) *lease {
	if p.byExpiry.Len() == 0 {
		return nil
	}
	l := p.byExpiry[0]
	if l.expires.After(now) || l.pending > 0 {
		return nil
	}
	return l
}

type addrHeap []uint32

func (h addrHeap) Len() int           { return len(h) }
func (h addrHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h addrHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *addrHeap) Push(x any)        { *h = append(*h, x.(uint32)) }
func (h *addrHeap) Pop() any {
	old := *h
	v := old[len(old)-1]
	*h = old[:len(old)-1]
	return v
}

type expiryHeap []*lease

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx = i
	h[j].hidx = j
}
func (h *expiryHeap) Push(x any) {
	l := x.(*lease)
	l.hidx = len(*h)
	*h = append(*h, l)
}
func (h *expiryHeap) Pop() any {
	old := *h
	l := old[len(old)-1]
	old[len(old)-1] = nil
	l.hidx = -1
	*h = old[:len(old)-1]
	return l
}
