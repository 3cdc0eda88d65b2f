package dhcpd_test

import (
	"context"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/pxe/dhcpd"
	"github.com/atoll-edge/atoll/pxe/dhcpd/dhcpdtest"
	"github.com/insomniacslk/dhcp/dhcpv4"
)

// hold is what a client may rightly believe it owns: an offered or bound
// address, valid until a time.
type hold struct {
	addr  netip.Addr
	until time.Time
	bound bool
}

// TestRandomOperationsNeverShareAnAddress drives a small pool with random
// DISCOVER, REQUEST, renewal, RELEASE, DECLINE, clock jumps and crash
// restarts (the lease file reopened) from more clients than addresses, and
// checks after every reply that no address is offered or bound to a client
// while another still rightly holds it.
func TestRandomOperationsNeverShareAnAddress(t *testing.T) {
	const (
		clients   = 30
		steps     = 8000
		offerTTL  = 10 * time.Second
		leaseTime = 2 * time.Minute
	)
	rng := rand.New(rand.NewPCG(1, 2))
	clk := dhcpdtest.NewClock()
	path := filepath.Join(memTempDir(t), "leases.log")
	p := poolA("10.10.0.10", "10.10.0.29")
	p.LeaseTime = leaseTime
	var (
		s  *dhcpd.Server
		st *dhcpd.FileStore
	)
	open := func() {
		var err error
		if st, err = dhcpd.OpenFileStore(path); err != nil {
			t.Fatal(err)
		}
		s = newServer(t, dhcpd.Options{Pools: []dhcpd.Pool{p}, Leases: st, Now: clk.Now, OfferTimeout: offerTTL, DeclineHold: time.Minute})
	}
	open()
	defer func() { st.Close() }()

	holds := make([]hold, clients)
	ctx := context.Background()
	var acks, offers, naks int
	check := func(step, c int, resp *dhcpv4.DHCPv4, bound bool) {
		a := addrOf(resp.YourIPAddr)
		now := clk.Now()
		for d := range holds {
			if d != c && holds[d].addr == a && holds[d].until.After(now) {
				t.Fatalf("step %d: %s given to client %d while client %d holds it (bound %v) until %v",
					step, a, c, d, holds[d].bound, holds[d].until.Sub(now))
			}
		}
		ttl := offerTTL
		if bound {
			ttl = leaseTime
		}
		holds[c] = hold{addr: a, until: now.Add(ttl), bound: bound}
	}
	request := func(c int, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
		r, _ := dhcpv4.New(append([]dhcpv4.Modifier{dhcpv4.WithHwAddr(mac(c)), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest)}, mods...)...)
		resp, err := s.Handle(ctx, r)
		if err != nil {
			t.Fatalf("REQUEST: %v", err)
		}
		return resp
	}
	for step := range steps {
		c := rng.IntN(clients)
		h := holds[c]
		switch op := rng.IntN(100); {
		case op < 35:
			resp, err := s.Handle(ctx, mustDiscover(t, mac(c)))
			if err != nil {
				continue // exhausted
			}
			offers++
			if h.bound && h.until.After(clk.Now()) && addrOf(resp.YourIPAddr) == h.addr {
				check(step, c, resp, true)
				holds[c].until = h.until // a DISCOVER does not extend a lease
			} else {
				check(step, c, resp, false)
			}
		case op < 65 && h.addr.IsValid():
			resp := request(c, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IP(h.addr.AsSlice()))),
				dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IP(serverIP.AsSlice()))))
			if resp.MessageType() == dhcpv4.MessageTypeAck {
				acks++
				check(step, c, resp, true)
			} else {
				naks++
				holds[c] = hold{}
			}
		case op < 75 && h.bound:
			resp := request(c, dhcpv4.WithClientIP(net.IP(h.addr.AsSlice())))
			if resp.MessageType() == dhcpv4.MessageTypeAck {
				acks++
				check(step, c, resp, true)
			} else {
				naks++
				holds[c] = hold{}
			}
		case op < 80 && h.bound:
			r, _ := dhcpv4.New(dhcpv4.WithHwAddr(mac(c)), dhcpv4.WithMessageType(dhcpv4.MessageTypeRelease), dhcpv4.WithClientIP(net.IP(h.addr.AsSlice())))
			handle(t, s, r)
			holds[c] = hold{}
		case op < 82 && h.addr.IsValid():
			r, _ := dhcpv4.New(dhcpv4.WithHwAddr(mac(c)), dhcpv4.WithMessageType(dhcpv4.MessageTypeDecline),
				dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IP(h.addr.AsSlice()))))
			handle(t, s, r)
			holds[c] = hold{}
		case op < 97:
			clk.Advance(time.Duration(rng.IntN(8000)) * time.Millisecond)
		default:
			// Crash and restart: offers are forgotten, bound leases are not.
			st.Close()
			open()
			for i := range holds {
				if !holds[i].bound {
					holds[i] = hold{}
				}
			}
		}
	}
	if acks < steps/10 || offers < steps/10 || naks == 0 {
		t.Fatalf("the random walk missed paths: %d offers, %d ACKs, %d NAKs", offers, acks, naks)
	}
	t.Logf("%d offers, %d ACKs, %d NAKs", offers, acks, naks)
}

// memTempDir returns a temporary directory on tmpfs when there is one: the
// walk reopens its lease file but does not measure fsync, which is slow on
// a busy shared disk.
func memTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("/dev/shm", "dhcpd-test")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
