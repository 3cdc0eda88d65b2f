// Package dhcpload is a DHCPv4 load generator acting as a relay agent: it
// runs full DORA exchanges (DISCOVER, OFFER, REQUEST, ACK) for many
// simulated clients, a bounded number at a time, over one UDP socket bound
// to the server port, and records when each lease completed and whether any
// address was offered to two clients at once. The same generator drives
// Atoll and the peer it is compared with.
//
// # Protocol
//
// Requests carry giaddr (the generator's address), so servers answer by
// unicast to its port 67 and broadcasts never flood the link. Each client
// has its own transaction id and MAC; a lost reply is retried a few times.
package dhcpload

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// Config describes one run.
type Config struct {
	Conn     net.PacketConn // bound to :67 on the relay address
	Server   *net.UDPAddr   // the server's address and port 67
	Relay    net.IP         // giaddr
	Clients  int            // how many clients get a lease
	InFlight int            // exchanges at once
	MACSeed  uint32         // clients are 02:xx + seed+i, to vary between runs
	Timeout  time.Duration  // wait for one reply before retrying; default 2s
	Retries  int            // per message; default 3
}

// Result is what a run measured.
type Result struct {
	Leases       int             `json:"leases"`
	Failed       int             `json:"failed"`
	NAKs         int             `json:"naks"`
	Retries      int             `json:"retries"`
	DupOffers    int             `json:"dup_offers"` // offers of an address held by another client
	DupAcks      int             `json:"dup_acks"`   // ACKs of an address already ACKed to another client
	Elapsed      time.Duration   `json:"elapsed"`
	Done         []time.Duration `json:"done"` // completion time of each lease since the start, sorted
	FirstErrText string          `json:"first_error,omitempty"`
}

// Rate returns leases per second over the whole run.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Leases) / r.Elapsed.Seconds()
}

// WindowRate returns leases per second over the first (from = 0) or any
// window of n consecutive completed leases starting at index from.
func (r Result) WindowRate(from, n int) float64 {
	if from < 0 || n <= 0 || from+n > len(r.Done) {
		return 0
	}
	var start time.Duration
	if from > 0 {
		start = r.Done[from-1]
	}
	d := r.Done[from+n-1] - start
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

type waiter struct {
	ch chan *dhcpv4.DHCPv4
}

type run struct {
	cfg     Config
	mu      sync.Mutex
	waiting map[dhcpv4.TransactionID]*waiter
	held    map[string]uint32 // address -> client holding it (offered or acked)
	acked   map[string]uint32
	res     Result
}

// Run performs cfg.Clients DORA exchanges and returns the measurements.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Retries <= 0 {
		cfg.Retries = 3
	}
	if cfg.InFlight <= 0 {
		cfg.InFlight = 1
	}
	r := &run{cfg: cfg, waiting: map[dhcpv4.TransactionID]*waiter{}, held: map[string]uint32{}, acked: map[string]uint32{}}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		r.read(ctx)
	}()
	stop := context.AfterFunc(ctx, func() { _ = cfg.Conn.SetReadDeadline(time.Now()) })
	defer stop()

	start := time.Now()
	next := make(chan uint32)
	var wg sync.WaitGroup
	for range cfg.InFlight {
		wg.Go(func() {
			for i := range next {
				err := r.dora(ctx, i, start)
				if err != nil {
					r.mu.Lock()
					r.res.Failed++
					if r.res.FirstErrText == "" {
						r.res.FirstErrText = err.Error()
					}
					r.mu.Unlock()
				}
			}
		})
	}
feed:
	for i := range cfg.Clients {
		select {
		case next <- uint32(i):
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	r.res.Elapsed = time.Since(start)
	cancel()
	<-readDone
	sort.Slice(r.res.Done, func(i, j int) bool { return r.res.Done[i] < r.res.Done[j] })
	if r.res.Leases == 0 && r.res.FirstErrText != "" {
		return r.res, errors.New(r.res.FirstErrText)
	}
	return r.res, ctx.Err()
}

func (r *run) read(ctx context.Context) {
	buf := make([]byte, 1500)
	for {
		n, _, err := r.cfg.Conn.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if ctx.Err() == nil && errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		p, err := dhcpv4.FromBytes(buf[:n])
		if err != nil || p.OpCode != dhcpv4.OpcodeBootReply {
			continue
		}
		r.mu.Lock()
		w := r.waiting[p.TransactionID]
		r.mu.Unlock()
		if w != nil {
			select {
			case w.ch <- p:
			default:
			}
		}
	}
}

func (r *run) mac(i uint32) net.HardwareAddr {
	m := net.HardwareAddr{0x02, 0x00, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(m[2:], r.cfg.MACSeed+i)
	return m
}

// exchange sends p and waits for a reply of one of the wanted types.
func (r *run) exchange(ctx context.Context, w *waiter, p *dhcpv4.DHCPv4, want ...dhcpv4.MessageType) (*dhcpv4.DHCPv4, error) {
	b := p.ToBytes()
	for try := 0; try <= r.cfg.Retries; try++ {
		if try > 0 {
			r.mu.Lock()
			r.res.Retries++
			r.mu.Unlock()
		}
		if _, err := r.cfg.Conn.WriteTo(b, r.cfg.Server); err != nil {
			return nil, err
		}
		t := time.NewTimer(r.cfg.Timeout)
	wait:
		for {
			select {
			case resp := <-w.ch:
				for _, mt := range want {
					if resp.MessageType() == mt {
						t.Stop()
						return resp, nil
					}
				}
				continue wait
			case <-t.C:
				break wait
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			}
		}
	}
	return nil, fmt.Errorf("no %v reply after %d tries", want, r.cfg.Retries+1)
}

func (r *run) dora(ctx context.Context, i uint32, start time.Time) error {
	var xid dhcpv4.TransactionID
	binary.BigEndian.PutUint32(xid[:], r.cfg.MACSeed+i+1)
	w := &waiter{ch: make(chan *dhcpv4.DHCPv4, 4)}
	r.mu.Lock()
	r.waiting[xid] = w
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.waiting, xid)
		r.mu.Unlock()
	}()
	mac := r.mac(i)
	disc, err := dhcpv4.New(
		dhcpv4.WithTransactionID(xid), dhcpv4.WithHwAddr(mac), dhcpv4.WithHWType(iana.HWTypeEthernet),
		dhcpv4.WithMessageType(dhcpv4.MessageTypeDiscover), dhcpv4.WithRelay(r.cfg.Relay),
		dhcpv4.WithRequestedOptions(dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter, dhcpv4.OptionDomainNameServer),
	)
	if err != nil {
		return err
	}
	offer, err := r.exchange(ctx, w, disc, dhcpv4.MessageTypeOffer)
	if err != nil {
		return fmt.Errorf("client %d discover: %w", i, err)
	}
	ip := offer.YourIPAddr.String()
	r.mu.Lock()
	if h, ok := r.held[ip]; ok && h != i {
		r.res.DupOffers++
	} else {
		r.held[ip] = i
	}
	r.mu.Unlock()
	req, err := dhcpv4.New(
		dhcpv4.WithTransactionID(xid), dhcpv4.WithHwAddr(mac), dhcpv4.WithHWType(iana.HWTypeEthernet),
		dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest), dhcpv4.WithRelay(r.cfg.Relay),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(offer.YourIPAddr)),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(offer.ServerIdentifier())),
	)
	if err != nil {
		return err
	}
	ack, err := r.exchange(ctx, w, req, dhcpv4.MessageTypeAck, dhcpv4.MessageTypeNak)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.held[ip] == i {
		delete(r.held, ip)
	}
	if err != nil {
		return fmt.Errorf("client %d request: %w", i, err)
	}
	if ack.MessageType() == dhcpv4.MessageTypeNak {
		r.res.NAKs++
		return fmt.Errorf("client %d: NAK for %s: %s", i, ip, ack.Message())
	}
	got := ack.YourIPAddr.String()
	if h, ok := r.acked[got]; ok && h != i {
		r.res.DupAcks++
	}
	r.acked[got] = i
	r.held[got] = i
	r.res.Leases++
	r.res.Done = append(r.res.Done, time.Since(start))
	return nil
}
