package dc

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// fleetIndex is the Manager's in-memory view of the fleet: names, subnets
// and states of every subcloud. It answers the duplicate-name and subnet
// overlap checks of an add in O(bits · log n) instead of scanning the fleet,
// and feeds the per-state gauges.
type fleetIndex struct {
	mu     sync.RWMutex
	byID   map[int64]fleetEntry
	byName map[string]int64
	mgmt   prefixIndex
	oam    prefixIndex
}

type fleetEntry struct {
	name   string
	mgmt   netip.Prefix
	oam    netip.Prefix
	state  ManagementState
	avail  Availability
	deploy DeployStatus
}

func newFleetIndex() *fleetIndex {
	return &fleetIndex{byID: make(map[int64]fleetEntry), byName: make(map[string]int64)}
}

func (f *fleetIndex) reset(all []*Subcloud) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byID = make(map[int64]fleetEntry, len(all))
	f.byName = make(map[string]int64, len(all))
	f.mgmt, f.oam = prefixIndex{}, prefixIndex{}
	for _, s := range all {
		f.putLocked(s)
	}
}

func (f *fleetIndex) put(s *Subcloud) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.putLocked(s)
}

func (f *fleetIndex) putLocked(s *Subcloud) {
	if old, ok := f.byID[s.ID]; ok {
		f.removeLocked(s.ID, old)
	}
	e := fleetEntry{
		name: s.Name, mgmt: s.ManagementSubnet.Masked(), oam: s.OAMSubnet.Masked(),
		state: s.ManagementState, avail: s.Availability, deploy: s.DeployStatus,
	}
	f.byID[s.ID] = e
	f.byName[strings.ToLower(s.Name)] = s.ID
	if e.mgmt.IsValid() {
		f.mgmt.insert(e.mgmt, s.ID)
	}
	if e.oam.IsValid() {
		f.oam.insert(e.oam, s.ID)
	}
}

func (f *fleetIndex) remove(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if old, ok := f.byID[id]; ok {
		f.removeLocked(id, old)
	}
}

func (f *fleetIndex) removeLocked(id int64, old fleetEntry) {
	delete(f.byID, id)
	if f.byName[strings.ToLower(old.name)] == id {
		delete(f.byName, strings.ToLower(old.name))
	}
	if old.mgmt.IsValid() {
		f.mgmt.remove(old.mgmt, id)
	}
	if old.oam.IsValid() {
		f.oam.remove(old.oam, id)
	}
}

func (f *fleetIndex) nameOf(id int64) string { return f.byID[id].name }

// checkName rejects a name another subcloud (not self) uses. Names are
// compared without case, so that "Edge1" and "edge1" cannot coexist.
func (f *fleetIndex) checkName(name string, self int64) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if id, ok := f.byName[strings.ToLower(name)]; ok && id != self {
		return &ValidationError{Field: "name", Reason: "already used by", Conflict: f.nameOf(id), also: ErrAlreadyExists}
	}
	return nil
}

// check rejects s if its name is taken, its management subnet overlaps
// another subcloud's management or OAM subnet, or its OAM subnet overlaps
// another subcloud's management subnet. s.ID (0 for a new subcloud) is
// excluded from the comparison.
func (f *fleetIndex) check(s *Subcloud) error {
	if err := f.checkName(s.Name, s.ID); err != nil {
		return err
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if id, p, ok := f.mgmt.overlap(s.ManagementSubnet, s.ID); ok {
		return &ValidationError{Field: "management_subnet", Reason: "overlaps the management subnet " + p.String() + " of", Conflict: f.nameOf(id)}
	}
	if id, p, ok := f.oam.overlap(s.ManagementSubnet, s.ID); ok {
		return &ValidationError{Field: "management_subnet", Reason: "overlaps the OAM subnet " + p.String() + " of", Conflict: f.nameOf(id)}
	}
	if s.OAMSubnet.IsValid() {
		if id, p, ok := f.mgmt.overlap(s.OAMSubnet, s.ID); ok {
			return &ValidationError{Field: "external_oam_subnet", Reason: "overlaps the management subnet " + p.String() + " of", Conflict: f.nameOf(id)}
		}
	}
	return nil
}

// counts returns the number of subclouds per (management, availability)
// and per deploy status.
func (f *fleetIndex) counts() (map[[2]string]int, map[DeployStatus]int) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	ma := make(map[[2]string]int)
	ds := make(map[DeployStatus]int)
	for _, e := range f.byID {
		ma[[2]string{string(e.state), string(e.avail)}]++
		ds[e.deploy]++
	}
	return ma, ds
}

// prefixIndex keeps masked prefixes sorted by (first address, bits, owner).
// CIDR prefixes overlap only if one contains the other, so an overlap of p
// is either an entry whose first address lies inside p (found by one binary
// search and a short scan) or an entry equal to one of p's ancestors
// (found by one binary search per prefix length). IPv4 and IPv6 share the
// slice: netip.Addr orders every IPv4 address before every IPv6 one.
type prefixIndex struct {
	entries []prefixEntry
	// lengths counts entries per prefix length, so that the ancestor probe
	// skips lengths nobody uses (a fleet of /24s costs one probe).
	lengths [129]int
}

type prefixEntry struct {
	p  netip.Prefix
	id int64
}

func comparePrefixEntry(a, b prefixEntry) int {
	if c := a.p.Addr().Compare(b.p.Addr()); c != 0 {
		return c
	}
	if c := cmp.Compare(a.p.Bits(), b.p.Bits()); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

func (x *prefixIndex) insert(p netip.Prefix, id int64) {
	e := prefixEntry{p.Masked(), id}
	i, found := slices.BinarySearchFunc(x.entries, e, comparePrefixEntry)
	if !found {
		x.entries = slices.Insert(x.entries, i, e)
		x.lengths[e.p.Bits()]++
	}
}

func (x *prefixIndex) remove(p netip.Prefix, id int64) {
	e := prefixEntry{p.Masked(), id}
	if i, found := slices.BinarySearchFunc(x.entries, e, comparePrefixEntry); found {
		x.entries = slices.Delete(x.entries, i, i+1)
		x.lengths[e.p.Bits()]--
	}
}

// overlap returns an entry other than self that overlaps p.
func (x *prefixIndex) overlap(p netip.Prefix, self int64) (int64, netip.Prefix, bool) {
	if !p.IsValid() || len(x.entries) == 0 {
		return 0, netip.Prefix{}, false
	}
	p = p.Masked()
	last := lastAddr(p)
	// Entries starting inside p: p contains them (or they equal or contain
	// p when they start at p's first address).
	i := x.lowerBound(p.Addr(), 0)
	for ; i < len(x.entries) && x.entries[i].p.Addr().Compare(last) <= 0; i++ {
		if x.entries[i].id != self {
			return x.entries[i].id, x.entries[i].p, true
		}
	}
	// Entries containing p start before it: one of its ancestors.
	for bits := p.Bits() - 1; bits >= 0; bits-- {
		if x.lengths[bits] == 0 {
			continue
		}
		a, _ := p.Addr().Prefix(bits)
		for j := x.lowerBound(a.Addr(), bits); j < len(x.entries) && x.entries[j].p == a; j++ {
			if x.entries[j].id != self {
				return x.entries[j].id, x.entries[j].p, true
			}
		}
	}
	return 0, netip.Prefix{}, false
}

// lowerBound returns the index of the first entry not before (addr, bits).
func (x *prefixIndex) lowerBound(addr netip.Addr, bits int) int {
	i, _ := slices.BinarySearchFunc(x.entries, prefixEntry{p: netip.PrefixFrom(addr, bits), id: -1 << 63}, comparePrefixEntry)
	return i
}

// lastAddr returns the last address of a masked prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr()
	if a.Is4() {
		b := a.As4()
		setHostBits(b[:], p.Bits())
		return netip.AddrFrom4(b)
	}
	b := a.As16()
	setHostBits(b[:], p.Bits())
	return netip.AddrFrom16(b).WithZone(a.Zone())
}

func setHostBits(b []byte, bits int) {
	for i := range b {
		switch {
		case bits >= 8*(i+1):
		case bits <= 8*i:
			b[i] = 0xff
		default:
			b[i] |= 0xff >> (bits - 8*i)
		}
	}
}
