// Package dhcpdtest is the conformance suite for implementations of
// [dhcpd.LeaseStore]. A backend opts in with a [HarnessMaker]:
//
//	func TestMyStore(t *testing.T) {
//		dhcpdtest.RunLeaseStoreTests(t, func(ctx context.Context, t *testing.T) (dhcpdtest.Harness, error) {
//			return &myHarness{dir: t.TempDir()}, nil
//		})
//	}
//
// # Cases
//
// Put, replace and delete; durability across close and reopen; concurrent
// Puts; a [dhcpd.Server] keeping its clients' addresses across a restart on
// the store; and a model-based case of random operations, with reopens,
// checked against an in-memory map.
package dhcpdtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/pxe/dhcpd"
	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"
)

// Harness gives the suite a store over one data set, and can close and
// reopen it.
type Harness interface {
	// Open returns a store over the harness's data, empty the first time.
	Open(ctx context.Context) (dhcpd.LeaseStore, error)
	// Close releases a store returned by Open, so Open can reopen the data.
	Close(ctx context.Context, s dhcpd.LeaseStore) error
}

// HarnessMaker makes a harness with fresh, empty data for one subtest.
type HarnessMaker func(ctx context.Context, t *testing.T) (Harness, error)

// RunLeaseStoreTests runs the conformance suite.
func RunLeaseStoreTests(t *testing.T, newHarness HarnessMaker) {
	cases := []struct {
		name string
		fn   func(context.Context, *testing.T, Harness)
	}{
		{"PutLoad", testPutLoad},
		{"PutReplaces", testPutReplaces},
		{"Delete", testDelete},
		{"Reopen", testReopen},
		{"ConcurrentPuts", testConcurrentPuts},
		{"ServerRestart", testServerRestart},
		{"Model", testModel},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			h, err := newHarness(ctx, t)
			if err != nil {
				t.Fatalf("harness: %v", err)
			}
			c.fn(ctx, t, h)
		})
	}
}

// epoch is a whole millisecond: stores may keep no finer time.
var epoch = time.UnixMilli(1_800_000_000_000)

func lease(i int) dhcpd.Lease {
	l := dhcpd.Lease{
		IP:       netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}),
		MAC:      net.HardwareAddr{0x52, 0x54, 0, 0, byte(i >> 8), byte(i)},
		Hostname: fmt.Sprintf("host-%d", i),
		Expires:  epoch.Add(time.Duration(i) * time.Second),
	}
	if i%2 == 1 {
		l.ClientID = []byte{1, 0x52, 0x54, 0, 0, byte(i >> 8), byte(i)}
	}
	return l
}

func open(ctx context.Context, t *testing.T, h Harness) dhcpd.LeaseStore {
	t.Helper()
	s, err := h.Open(ctx)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func closeStore(ctx context.Context, t *testing.T, h Harness, s dhcpd.LeaseStore) {
	t.Helper()
	if err := h.Close(ctx, s); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func load(ctx context.Context, t *testing.T, s dhcpd.LeaseStore) []dhcpd.Lease {
	t.Helper()
	ls, err := s.Load(ctx)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i].IP.Less(ls[j].IP) })
	return ls
}

var cmpLease = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
	cmp.Comparer(func(a, b []byte) bool { return string(a) == string(b) }),
}

func want(t *testing.T, got, want []dhcpd.Lease) {
	t.Helper()
	sort.Slice(want, func(i, j int) bool { return want[i].IP.Less(want[j].IP) })
	if d := cmp.Diff(want, got, cmpLease); d != "" {
		t.Fatalf("leases (-want +got):\n%s", d)
	}
}

func put(ctx context.Context, t *testing.T, s dhcpd.LeaseStore, l dhcpd.Lease) {
	t.Helper()
	if err := s.Put(ctx, l); err != nil {
		t.Fatalf("Put(%s): %v", l.IP, err)
	}
}

func testPutLoad(ctx context.Context, t *testing.T, h Harness) {
	s := open(ctx, t, h)
	defer closeStore(ctx, t, h, s)
	want(t, load(ctx, t, s), []dhcpd.Lease{})
	var all []dhcpd.Lease
	for i := range 10 {
		put(ctx, t, s, lease(i))
		all = append(all, lease(i))
	}
	want(t, load(ctx, t, s), all)
}

func testPutReplaces(ctx context.Context, t *testing.T, h Harness) {
	s := open(ctx, t, h)
	defer closeStore(ctx, t, h, s)
	l := lease(1)
	put(ctx, t, s, l)
	l.MAC = net.HardwareAddr{2, 0, 0, 0, 0, 9}
	l.ClientID = nil
	l.Expires = l.Expires.Add(time.Hour)
	put(ctx, t, s, l)
	want(t, load(ctx, t, s), []dhcpd.Lease{l})
}

func testDelete(ctx context.Context, t *testing.T, h Harness) {
	s := open(ctx, t, h)
	defer closeStore(ctx, t, h, s)
	put(ctx, t, s, lease(1))
	put(ctx, t, s, lease(2))
	if err := s.Delete(ctx, lease(1).IP); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, lease(7).IP); err != nil {
		t.Fatalf("Delete of an absent lease: %v", err)
	}
	want(t, load(ctx, t, s), []dhcpd.Lease{lease(2)})
}

func testReopen(ctx context.Context, t *testing.T, h Harness) {
	s := open(ctx, t, h)
	for i := range 5 {
		put(ctx, t, s, lease(i))
	}
	if err := s.Delete(ctx, lease(3).IP); err != nil {
		t.Fatal(err)
	}
	closeStore(ctx, t, h, s)
	s = open(ctx, t, h)
	defer closeStore(ctx, t, h, s)
	want(t, load(ctx, t, s), []dhcpd.Lease{lease(0), lease(1), lease(2), lease(4)})
}

func testConcurrentPuts(ctx context.Context, t *testing.T, h Harness) {
	s := open(ctx, t, h)
	defer closeStore(ctx, t, h, s)
	const writers, each = 16, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := s.Put(ctx, lease(w*each+i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	var all []dhcpd.Lease
	for i := range writers * each {
		all = append(all, lease(i))
	}
	want(t, load(ctx, t, s), all)
}

func testServerRestart(ctx context.Context, t *testing.T, h Harness) {
	opts := dhcpd.Options{
		ServerIP: netip.MustParseAddr("10.1.0.1"),
		Pools: []dhcpd.Pool{{Subnet: netip.MustParsePrefix("10.1.0.0/16"),
			Start: netip.MustParseAddr("10.1.0.10"), End: netip.MustParseAddr("10.1.0.40")}},
	}
	run := func(s *dhcpd.Server, i int) netip.Addr {
		d, _ := dhcpv4.NewDiscovery(lease(i).MAC)
		offer, err := s.Handle(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := dhcpv4.NewRequestFromOffer(offer)
		ack, err := s.Handle(ctx, r)
		if err != nil || ack.MessageType() != dhcpv4.MessageTypeAck {
			t.Fatalf("REQUEST: %v %v", ack, err)
		}
		a, _ := netip.AddrFromSlice(ack.YourIPAddr)
		return a.Unmap()
	}
	st := open(ctx, t, h)
	opts.Leases = st
	srv, err := dhcpd.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	had := map[int]netip.Addr{}
	for i := range 8 {
		had[i] = run(srv, i)
	}
	closeStore(ctx, t, h, st)
	st = open(ctx, t, h)
	defer closeStore(ctx, t, h, st)
	opts.Leases = st
	if srv, err = dhcpd.New(opts); err != nil {
		t.Fatal(err)
	}
	used := map[netip.Addr]bool{}
	for i := range 8 {
		if got := run(srv, i); got != had[i] {
			t.Fatalf("client %d: %s after restart, had %s", i, got, had[i])
		}
		used[had[i]] = true
	}
	for i := 8; i < 16; i++ {
		if a := run(srv, i); used[a] {
			t.Fatalf("new client %d got %s, a lease from before the restart", i, a)
		}
	}
}

func testModel(ctx context.Context, t *testing.T, h Harness) {
	rng := rand.New(rand.NewPCG(7, 11))
	ref := map[netip.Addr]dhcpd.Lease{}
	s := open(ctx, t, h)
	for step := range 400 {
		i := rng.IntN(40)
		switch op := rng.IntN(10); {
		case op < 6:
			l := lease(i)
			l.Expires = l.Expires.Add(time.Duration(step) * time.Millisecond)
			put(ctx, t, s, l)
			ref[l.IP] = l
		case op < 9:
			if err := s.Delete(ctx, lease(i).IP); err != nil {
				t.Fatal(err)
			}
			delete(ref, lease(i).IP)
		default:
			closeStore(ctx, t, h, s)
			s = open(ctx, t, h)
		}
		if step%50 == 49 {
			var w []dhcpd.Lease
			for _, l := range ref {
				w = append(w, l)
			}
			if w == nil {
				w = []dhcpd.Lease{}
			}
			want(t, load(ctx, t, s), w)
		}
	}
	closeStore(ctx, t, h, s)
}

// Clock is a settable clock for a test and the server it drives (pass
// its Now as Options.Now); safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock at 2026-11-23 00:00 UTC.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
