package tftpd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults used where a field of [Options] is zero.
const (
	DefaultMaxTransfers          = 256
	DefaultMaxTransfersPerClient = 32
	DefaultMaxBlockSize          = 65464 // the RFC 2348 maximum
	DefaultMaxWindowSize         = 64
	DefaultTimeout               = time.Second
	DefaultRetries               = 5
	DefaultAnticipate            = 32
)

// Protocol limits.
const (
	minBlockSize    = 8        // RFC 2348
	maxBlockSize    = 65464    // RFC 2348
	maxWindowSize   = 65535    // RFC 7440
	maxTimeoutSecs  = 255      // RFC 2349
	defaultBlksize  = 512      // RFC 1350
	maxRequestBytes = 65536    // larger requests are truncated and then malformed
	anticipateBytes = 64 << 10 // file bytes sent ahead of a lock-step client, at most
)

// Options tune a [Server]. The zero value is ready to use: every zero field
// takes the default named beside it. New fills the defaults on its own copy.
type Options struct {
	// Logger receives one line per refusal and failed transfer at Info or
	// Warn, and per completed transfer at Debug. Default: discard.
	Logger *slog.Logger
	// Registerer receives the atoll_tftpd_* collectors. Default: none
	// (metrics are kept but not exported).
	Registerer prometheus.Registerer

	// MaxTransfers bounds concurrent transfers over the whole server.
	// Default DefaultMaxTransfers.
	MaxTransfers int
	// MaxTransfersPerClient bounds concurrent transfers per client IP.
	// Default DefaultMaxTransfersPerClient.
	MaxTransfersPerClient int

	// MaxBlockSize caps the blksize option (RFC 2348); larger requests are
	// answered with this value. Clamped to [8, 65464]. Default DefaultMaxBlockSize.
	MaxBlockSize int
	// MaxWindowSize caps the windowsize option (RFC 7440). Clamped to
	// [1, 65535]. Default DefaultMaxWindowSize.
	MaxWindowSize int
	// Anticipate is the number of blocks sent ahead to a client that did not
	// ask for windowsize, up to 64 KiB of data. Lock-step clients (RFC 1350)
	// take each DATA in order from their socket buffer and acknowledge it,
	// so sending blocks ahead hides the round trip and saves wake-ups on
	// both sides without changing the protocol they see. Each timeout halves
	// it for the rest of the transfer, so a client whose receive ring cannot
	// take bursts is served lock-step after a few timeouts. 1 turns it off.
	// Default DefaultAnticipate.
	Anticipate int
	// Timeout is the retransmission timeout when the client does not send the
	// timeout option (RFC 2349); when it does, its value is used. Default
	// DefaultTimeout.
	Timeout time.Duration
	// Retries is how many timeouts in a row a transfer survives. Default
	// DefaultRetries.
	Retries int
	// MaxNameLen bounds the requested file name in bytes. Default DefaultMaxNameLen.
	MaxNameLen int
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxTransfers <= 0 {
		o.MaxTransfers = DefaultMaxTransfers
	}
	if o.MaxTransfersPerClient <= 0 {
		o.MaxTransfersPerClient = DefaultMaxTransfersPerClient
	}
	if o.MaxBlockSize <= 0 {
		o.MaxBlockSize = DefaultMaxBlockSize
	}
	o.MaxBlockSize = min(max(o.MaxBlockSize, minBlockSize), maxBlockSize)
	if o.MaxWindowSize <= 0 {
		o.MaxWindowSize = DefaultMaxWindowSize
	}
	o.MaxWindowSize = min(o.MaxWindowSize, maxWindowSize)
	if o.Anticipate <= 0 {
		o.Anticipate = DefaultAnticipate
	}
	o.Anticipate = min(o.Anticipate, o.MaxWindowSize)
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Retries <= 0 {
		o.Retries = DefaultRetries
	}
	if o.MaxNameLen <= 0 {
		o.MaxNameLen = DefaultMaxNameLen
	}
	return o
}

// Server is a read-only TFTP server over an [io/fs.FS]. It is safe for
// concurrent use; several Serve calls on different listeners share its
// limits and metrics.
type Server struct {
	root fs.FS
	opts Options
	log  *slog.Logger
	m    *metrics

	// dial opens a transfer socket bound to local (zero: any address) and
	// connected to the client. Tests in this package replace it to inject loss.
	dial  func(local netip.Addr, peer netip.AddrPort) (net.Conn, error)
	noGSO atomic.Bool // the kernel refused UDP segmentation offload once

	mu        sync.Mutex
	active    int
	perClient map[netip.Addr]int
	peers     map[netip.AddrPort]*pending // the latest transfer per client TID
}

// New returns a Server that serves files from root. To keep symbolic links
// from leading out of a directory, pass the FS of an [os.Root]
// ((*os.Root).FS or [os.OpenRoot]), not [os.DirFS], which follows them.
// New fails only if registering the metrics fails.
func New(root fs.FS, opts Options) (*Server, error) {
	if root == nil {
		return nil, errors.New("tftpd: nil root")
	}
	opts = opts.withDefaults()
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("tftpd: register metrics: %w", err)
	}
	return &Server{
		root:      root,
		opts:      opts,
		log:       opts.Logger,
		m:         m,
		dial:      dialUDP,
		perClient: make(map[netip.Addr]int),
		peers:     make(map[netip.AddrPort]*pending),
	}, nil
}

// dialUDP opens a connected UDP socket: the kernel then drops datagrams from
// anyone but the client, caches the route, and reports an ICMP port
// unreachable (the client went away) as a read error.
func dialUDP(local netip.Addr, peer netip.AddrPort) (net.Conn, error) {
	var la *net.UDPAddr
	if local.IsValid() {
		la = net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, 0))
	}
	return net.DialUDP("udp", la, net.UDPAddrFromAddrPort(peer))
}

// Serve answers requests arriving on conn until ctx is done, then ends every
// transfer, waits for them and returns nil. Each transfer runs on its own
// ephemeral UDP socket, bound to conn's address when conn is bound to a
// single IP. conn stays open and belongs to the caller; Serve sets and, on
// return, clears its read deadline. Serve returns an error if reading conn
// fails for another reason than ctx ending.
func (s *Server) Serve(ctx context.Context, conn net.PacketConn) error {
	if conn == nil {
		return errors.New("tftpd: nil conn")
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Unix(1, 0)) })
	defer func() {
		stop()
		_ = conn.SetReadDeadline(time.Time{})
	}()

	var local netip.Addr
	if ua, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		if ap := ua.AddrPort(); !ap.Addr().IsUnspecified() {
			local = ap.Addr().Unmap()
		}
	}
	buf := make([]byte, maxRequestBytes)
	for {
		n, addr, err := conn.ReadFrom(buf)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue // a deadline the caller had set; ours only comes with ctx
			}
			return fmt.Errorf("tftpd: read request: %w", err)
		}
		peer, ok := addrPort(addr)
		if !ok {
			continue
		}
		s.handle(ctx, &wg, conn, local, buf[:n], peer, addr)
	}
}

// handle parses one request and starts its transfer or refuses it.
func (s *Server) handle(ctx context.Context, wg *sync.WaitGroup, conn net.PacketConn, local netip.Addr, p []byte, peer netip.AddrPort, addr net.Addr) {
	req, err := ParseRequest(p)
	if err == nil && req.Write {
		err = ErrWriteRefused
	}
	var name string
	if err == nil {
		name, err = CleanName(req.Filename, s.opts.MaxNameLen)
	}
	if err != nil {
		if len(p) >= 2 && p[0] == 0 && (p[1] == opERROR || p[1] == opACK) {
			return // a stray packet for an ended transfer; answering could loop
		}
		s.refuse(conn, addr, &RequestError{Client: peer, Filename: req.Filename, Err: err})
		return
	}
	pend := &pending{req: string(p)}
	switch err := s.acquire(peer, pend); {
	case errors.Is(err, errDuplicate):
		return // the client repeated its request before hearing from us
	case err != nil:
		s.refuse(conn, addr, &RequestError{Client: peer, Filename: name, Err: err})
		return
	}
	wg.Go(func() {
		defer s.release(peer, pend)
		t := &transfer{s: s, req: req, name: name, peer: peer, local: local, heard: &pend.heard}
		t.run(ctx)
	})
}

// pending identifies a transfer to recognise a repeated request.
type pending struct {
	req   string      // the request packet
	heard atomic.Bool // the client has answered the transfer socket
}

var errDuplicate = errors.New("tftpd: duplicate request")

// acquire reserves the limits for a transfer. The same request from the
// same address and port, while its transfer has not heard from the client
// yet, is a retransmission (our first answer was lost or slow) and gets
// errDuplicate; anything else from that port is a new request, even if the
// previous transfer has not yet noticed that it ended.
func (s *Server) acquire(peer netip.AddrPort, p *pending) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.peers[peer]; old != nil && old.req == p.req && !old.heard.Load() {
		return errDuplicate
	}
	if s.active >= s.opts.MaxTransfers {
		return ErrServerBusy
	}
	if s.perClient[peer.Addr()] >= s.opts.MaxTransfersPerClient {
		return ErrClientBusy
	}
	s.active++
	s.perClient[peer.Addr()]++
	s.peers[peer] = p
	s.m.active.Inc()
	return nil
}

func (s *Server) release(peer netip.AddrPort, p *pending) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active--
	if s.perClient[peer.Addr()]--; s.perClient[peer.Addr()] <= 0 {
		delete(s.perClient, peer.Addr())
	}
	if s.peers[peer] == p {
		delete(s.peers, peer)
	}
	s.m.active.Dec()
}

// refuse answers a request with an ERROR packet from conn, counts and logs it.
func (s *Server) refuse(conn net.PacketConn, addr net.Addr, e *RequestError) {
	s.m.refused.WithLabelValues(reason(e.Err)).Inc()
	s.log.Info("tftp request refused", "client", e.Client.String(), "file", e.Filename, "reason", reason(e.Err), "err", e.Err)
	code, msg := errorPacket(e.Err)
	_, _ = conn.WriteTo(appendError(nil, code, msg), addr)
}

// errorPacket maps an error to what the client is told.
func errorPacket(err error) (ErrorCode, string) {
	switch {
	case errors.Is(err, ErrNotFound):
		return CodeNotFound, "file not found"
	case errors.Is(err, ErrWriteRefused):
		return CodeAccessViolation, "read-only server: write requests are refused"
	case errors.Is(err, ErrUnsafePath), errors.Is(err, ErrNameTooLong):
		return CodeAccessViolation, "access violation: " + reasonText(err)
	case errors.Is(err, ErrAccess), errors.Is(err, ErrNotRegular):
		return CodeAccessViolation, "access violation: " + reasonText(err)
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrMode):
		return CodeIllegalOperation, reasonText(err)
	case errors.Is(err, ErrServerBusy), errors.Is(err, ErrClientBusy):
		return CodeUndefined, "server busy, try again later"
	case errors.Is(err, ErrShutdown):
		return CodeUndefined, "server shutting down"
	}
	return CodeUndefined, "internal error"
}

// reasonText is the error text without the package prefix, for ERROR packets.
func reasonText(err error) string {
	const prefix = "tftpd: "
	msg := err.Error()
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		msg = msg[len(prefix):]
	}
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}

func addrPort(a net.Addr) (netip.AddrPort, bool) {
	if ua, ok := a.(*net.UDPAddr); ok {
		ap := ua.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), ap.IsValid()
	}
	if a == nil {
		return netip.AddrPort{}, false
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}
