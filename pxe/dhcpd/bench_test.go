package dhcpd_test

import (
	"context"
	"encoding/binary"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/atoll-edge/atoll/pxe/dhcpd"
	"github.com/insomniacslk/dhcp/dhcpv4"
)

func benchPool() dhcpd.Pool {
	return dhcpd.Pool{Subnet: netip.MustParsePrefix("10.0.0.0/8"), Start: netip.MustParseAddr("10.0.0.10"), End: netip.MustParseAddr("10.255.255.250")}
}

// benchDORA runs one full DORA per iteration, from many goroutines, each
// iteration a new client, so the lease table grows with b.N.
func benchDORA(b *testing.B, store dhcpd.LeaseStore) {
	s := newServer(b, dhcpd.Options{ServerIP: netip.MustParseAddr("10.0.0.1"), Pools: []dhcpd.Pool{benchPool()}, Leases: store})
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16) // like clients in flight: lets group commit batch
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m := mac(int(next.Add(1)))
			d, _ := dhcpv4.NewDiscovery(m)
			offer, err := s.Handle(ctx, d)
			if err != nil {
				b.Error(err)
				return
			}
			req, _ := dhcpv4.NewRequestFromOffer(offer)
			if ack, err := s.Handle(ctx, req); err != nil || ack.MessageType() != dhcpv4.MessageTypeAck {
				b.Errorf("%v %v", ack, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "leases/s")
}

func BenchmarkDORAMemory(b *testing.B) { benchDORA(b, nil) }

func BenchmarkDORAFileStore(b *testing.B) {
	st, err := dhcpd.OpenFileStore(filepath.Join(b.TempDir(), "leases.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	benchDORA(b, st)
}

// BenchmarkDiscoverWithLargeTable measures one DISCOVER from a new client
// against a table already holding n leases: allocation must not slow as the
// table grows (dnsmasq's does).
func BenchmarkDiscoverWithLargeTable(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run("leases="+strconv.Itoa(n), func(b *testing.B) {
			s := newServer(b, dhcpd.Options{ServerIP: netip.MustParseAddr("10.0.0.1"), Pools: []dhcpd.Pool{benchPool()}})
			for i := range n {
				dora(b, s, mac(i))
			}
			d, _ := dhcpv4.NewDiscovery(mac(0))
			pkt := d.ToBytes()
			ctx := context.Background()
			b.ReportAllocs()
			for i := n; b.Loop(); i++ {
				// A new client each time: patch the low bytes of chaddr.
				binary.BigEndian.PutUint32(pkt[28+2:], uint32(i))
				req, err := dhcpv4.FromBytes(pkt)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Handle(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
