package dc

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

func randomPrefix(rng *rand.Rand) netip.Prefix {
	if rng.IntN(2) == 0 {
		// IPv4 inside 10.0.0.0/12 so that overlaps are common.
		a := netip.AddrFrom4([4]byte{10, byte(rng.IntN(16)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		p, _ := a.Prefix(12 + rng.IntN(19))
		return p
	}
	var b [16]byte
	b[0], b[1], b[2] = 0xfd, 0x01, byte(rng.IntN(4))
	b[3] = byte(rng.IntN(256))
	b[7] = byte(rng.IntN(256))
	p, _ := netip.AddrFrom16(b).Prefix(20 + rng.IntN(50))
	return p
}

// TestPrefixIndexMatchesBruteForce checks the index against the pairwise
// definition of overlap on random IPv4 and IPv6 prefixes, including
// overlapping and duplicate entries, removals and self-exclusion.
func TestPrefixIndexMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var x prefixIndex
	live := map[int64]netip.Prefix{}
	for step := range 4000 {
		id := int64(rng.IntN(300) + 1)
		switch rng.IntN(3) {
		case 0:
			if old, ok := live[id]; ok {
				x.remove(old, id)
				delete(live, id)
			}
		default:
			if old, ok := live[id]; ok {
				x.remove(old, id)
			}
			p := randomPrefix(rng)
			x.insert(p, id)
			live[id] = p.Masked()
		}
		q := randomPrefix(rng)
		self := int64(rng.IntN(300) + 1)
		gotID, gotP, got := x.overlap(q, self)
		want := false
		for oid, op := range live {
			if oid != self && op.Overlaps(q) {
				want = true
			}
		}
		if got != want {
			t.Fatalf("step %d: overlap(%s, self %d) = %v, brute force says %v (index %d entries, live %d)", step, q, self, got, want, len(x.entries), len(live))
		}
		if got && (gotID == self || live[gotID] != gotP || !gotP.Overlaps(q)) {
			t.Fatalf("step %d: overlap(%s) named %d %s, which is not a live overlapping entry", step, q, gotID, gotP)
		}
	}
	if len(x.entries) != len(live) {
		t.Fatalf("index holds %d entries, %d live", len(x.entries), len(live))
	}
}

func TestLastAddr(t *testing.T) {
	for in, want := range map[string]string{
		"10.1.0.0/24":  "10.1.0.255",
		"10.1.0.0/23":  "10.1.1.255",
		"0.0.0.0/0":    "255.255.255.255",
		"10.1.2.3/32":  "10.1.2.3",
		"fd01::/64":    "fd01::ffff:ffff:ffff:ffff",
		"fd01:8::/13":  "fd07:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"10.128.0.0/9": "10.255.255.255",
	} {
		if got := lastAddr(netip.MustParsePrefix(in).Masked()); got.String() != want {
			t.Errorf("lastAddr(%s) = %s, want %s", in, got, want)
		}
	}
}

// fleetOf returns a fleet index of n subclouds with disjoint /24 management
// subnets and /28 OAM subnets.
func fleetOf(n int) *fleetIndex {
	f := newFleetIndex()
	for i := range n {
		f.put(&Subcloud{
			ID:               int64(i + 1),
			Name:             fmt.Sprintf("subcloud-%d", i),
			ManagementSubnet: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24),
			OAMSubnet:        netip.PrefixFrom(netip.AddrFrom4([4]byte{100, byte(64 + i>>12), byte(i >> 4), byte(i&15) << 4}), 28),
		})
	}
	return f
}

// BenchmarkAddValidation measures the fleet checks of one add (name,
// management and OAM overlaps) against fleets of growing size. With the
// index the cost grows with log n; the Naive variant scans the fleet, as a
// per-add loop over every subcloud would.
func BenchmarkAddValidation(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		f := fleetOf(n)
		// A new subcloud whose subnets are free: the check has to look
		// everywhere before it can accept.
		s := &Subcloud{
			Name:             "new-subcloud",
			ManagementSubnet: netip.MustParsePrefix("10.200.0.0/24"),
			OAMSubnet:        netip.MustParsePrefix("100.127.255.0/28"),
		}
		b.Run(fmt.Sprintf("Index/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if err := f.check(s); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("Naive/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				f.mu.RLock()
				for _, e := range f.byID {
					if e.name == s.Name || e.mgmt.Overlaps(s.ManagementSubnet) || e.oam.Overlaps(s.ManagementSubnet) || e.mgmt.Overlaps(s.OAMSubnet) {
						b.Fatal("unexpected overlap")
					}
				}
				f.mu.RUnlock()
			}
		})
	}
}
