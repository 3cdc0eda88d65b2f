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
	MACSeed  uint32         // client i has MAC 02:00 + f(seed+i), to vary between runs
	// SequentialMACs gives consecutive MACs (f is the identity), as a rack
	// of one vendor's machines has; otherwise f spreads them (a bijective
	// multiplicative hash), as a mixed fleet has.
	SequentialMACs bool
	Timeout        time.Duration // wait for one reply before retrying; default 2s
	Retries        int           // per message; default 3
	// MaxFailures stops the run once that many clients have failed; zero
	// means never (a crash test stops early when its server is gone).
	MaxFailures int
}

// Result is what a run measured.
type Result struct {
	Leases       int             `json:"leases"`
	Failed       int             `json:"failed"` // clients without a lease after retries
	NAKs         int             `json:"naks"`   // each sends the client back to DISCOVER
	Retries      int             `json:"retries"`
	DupOffers    int             `json:"dup_offers"` // offers of an address held by another client
	DupAcks      int             `json:"dup_acks"`   // ACKs of an address already ACKed to another client
	Elapsed      time.Duration   `json:"elapsed"`
	Done         []time.Duration `json:"done"` // completion time of each lease since the start, sorted
	Acked        []Binding       `json:"acked"`
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

// Binding is a lease a client was ACKed.
type Binding struct {
	MAC string `json:"mac"`
	IP  string `json:"ip"`
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
	// Sized up front: the generator's own warm-up must not show as the
	// server's first leases being slow.
	r := &run{cfg: cfg, waiting: make(map[dhcpv4.TransactionID]*waiter, cfg.InFlight),
		held: make(map[string]uint32, cfg.Clients), acked: make(map[string]uint32, cfg.Clients)}
	r.res.Done = make([]time.Duration, 0, cfg.Clients)
	r.res.Acked = make([]Binding, 0, cfg.Clients)
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
					if cfg.MaxFailures > 0 && r.res.Failed >= cfg.MaxFailures {
						cancel()
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
	return r.res, nil
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
	v := r.cfg.MACSeed + i
	if !r.cfg.SequentialMACs {
		v *= 0x9E3779B1 // odd, so a bijection on uint32: MACs stay distinct
	}
	binary.BigEndian.PutUint32(m[2:], v)
	return m
}

// packet starts a relayed request. Built directly rather than with
// dhcpv4.New, which draws a random transaction id per packet: the generator
// must cost less than the servers it measures.
func (r *run) packet(xid dhcpv4.TransactionID, mac net.HardwareAddr, mt dhcpv4.MessageType) *dhcpv4.DHCPv4 {
	p := &dhcpv4.DHCPv4{
		OpCode: dhcpv4.OpcodeBootRequest, HWType: iana.HWTypeEthernet, HopCount: 1, TransactionID: xid,
		ClientIPAddr: net.IPv4zero, YourIPAddr: net.IPv4zero, ServerIPAddr: net.IPv4zero, GatewayIPAddr: r.cfg.Relay,
		ClientHWAddr: mac, Options: make(dhcpv4.Options, 4),
	}
	p.UpdateOption(dhcpv4.OptMessageType(mt))
	return p
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

// errNAK marks a refused REQUEST: the client starts over, as RFC 2131 says.
var errNAK = errors.New("NAK")

// maxAttempts bounds how often one client starts over after a NAK.
const maxAttempts = 50

// dora gets client i a lease, starting over after a NAK a few times.
func (r *run) dora(ctx context.Context, i uint32, start time.Time) error {
	var err error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if err = r.doraOnce(ctx, i, start); !errors.Is(err, errNAK) {
			return err
		}
	}
	return err
}

func (r *run) doraOnce(ctx context.Context, i uint32, start time.Time) error {
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
	disc := r.packet(xid, mac, dhcpv4.MessageTypeDiscover)
	disc.UpdateOption(dhcpv4.OptParameterRequestList(dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter, dhcpv4.OptionDomainNameServer))
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
	req := r.packet(xid, mac, dhcpv4.MessageTypeRequest)
	req.UpdateOption(dhcpv4.OptRequestedIPAddress(offer.YourIPAddr))
	req.UpdateOption(dhcpv4.OptServerIdentifier(offer.ServerIdentifier()))
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
		return fmt.Errorf("client %d: %w for %s: %s", i, errNAK, ip, ack.Message())
	}
	got := ack.YourIPAddr.String()
	if h, ok := r.acked[got]; ok && h != i {
		r.res.DupAcks++
	}
	r.acked[got] = i
	r.held[got] = i
	r.res.Leases++
	r.res.Done = append(r.res.Done, time.Since(start))
	r.res.Acked = append(r.res.Acked, Binding{MAC: mac.String(), IP: got})
	return nil
}
