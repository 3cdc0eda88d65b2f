package tftpd

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// transfer is one read transfer on its own connected socket. All its state
// belongs to the goroutine running run.
type transfer struct {
	s     *Server
	req   Request
	name  string
	peer  netip.AddrPort
	local netip.Addr
	heard *atomic.Bool // set once the client answers this transfer

	conn net.Conn
	udp  *net.UDPConn // conn when it is one, for segmentation offload
	gso  bool

	blksize  int
	window   uint64 // ring size: the negotiated window, or the anticipation
	limit    uint64 // blocks in flight, at most window
	windowed bool   // windowsize was negotiated (RFC 7440)
	refill   uint64 // free slots that trigger sending more
	timeout  time.Duration

	rd     io.Reader
	ring   []byte // DATA packets of unacknowledged blocks: slot b%window at (b%window)*stride
	stride int    // 4 + blksize
	lens   []int  // packet length per slot
	filled uint64 // highest block read into ring
	last   uint64 // the final (short) block, once read; 0 before
	rbuf   []byte
	oob    []byte // UDP_SEGMENT control message

	sent, retrans uint64 // flushed to metrics by flush
}

// run performs the transfer and records its outcome.
func (t *transfer) run(ctx context.Context) {
	s := t.s
	start := time.Now()
	conn, err := s.dial(t.local, t.peer)
	if err != nil {
		s.m.failed.WithLabelValues("socket").Inc()
		s.log.Warn("tftp transfer socket", "client", t.peer.String(), "file", t.name, "err", err)
		return
	}
	t.conn = conn
	t.udp, _ = conn.(*net.UDPConn)
	t.gso = t.udp != nil && !s.noGSO.Load()
	defer conn.Close()
	// On shutdown, tell the client and close the socket: a blocked read
	// returns at once and every later call fails.
	stop := context.AfterFunc(ctx, func() {
		_, _ = conn.Write(appendError(nil, CodeUndefined, "server shutting down"))
		_ = conn.Close()
	})
	defer stop()

	f, err := s.root.Open(t.name)
	if err == nil {
		defer f.Close()
	}
	if err = openError(f, err); err != nil {
		s.m.refused.WithLabelValues(reason(err)).Inc()
		s.log.Info("tftp request refused", "client", t.peer.String(), "file", t.name, "reason", reason(err),
			"err", &RequestError{Client: t.peer, Filename: t.name, Err: err})
		code, msg := errorPacket(err)
		_, _ = conn.Write(appendError(nil, code, msg))
		return
	}
	s.m.started.Inc()
	base, err := t.send(ctx, f)
	t.flush()
	switch {
	case err == nil:
		s.m.completed.Inc()
		s.log.Debug("tftp transfer complete", "client", t.peer.String(), "file", t.name,
			"bytes", t.sent, "blksize", t.blksize, "window", t.window, "duration", time.Since(start))
	case errors.Is(err, ErrClientAbort) && base == 0:
		// A size probe (OVMF) or a client that disliked our options.
		s.m.aborted.Inc()
		s.log.Debug("tftp transfer ended by client", "client", t.peer.String(), "file", t.name, "err", err)
	default:
		if ctx.Err() != nil {
			err = ErrShutdown
		}
		te := &TransferError{Client: t.peer, Filename: t.name, Block: base, Err: err}
		s.m.failed.WithLabelValues(reason(err)).Inc()
		s.log.Warn("tftp transfer failed", "client", t.peer.String(), "file", t.name, "reason", reason(err), "err", te)
	}
}

// flush adds the transfer's counters to the metrics.
func (t *transfer) flush() {
	t.s.m.bytes.Add(float64(t.sent))
	t.s.m.retrans.Add(float64(t.retrans))
	t.sent, t.retrans = 0, 0
}

// openError checks an opened file and maps open errors onto the sentinels.
func openError(f fs.File, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case err != nil:
		return fmt.Errorf("%w: %w", ErrAccess, err)
	}
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrAccess, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%w: %s", ErrNotRegular, st.Mode().Type())
	}
	return nil
}

// negotiate applies the request's options and returns the OACK options.
func (t *transfer) negotiate(size int64) []Option {
	o := &t.s.opts
	t.blksize = defaultBlksize
	t.timeout = o.Timeout
	var ack []Option
	for _, opt := range t.req.Options {
		switch opt.Name {
		case optBlksize:
			if v, ok := parseUint(opt.Value, minBlockSize, 1<<32); ok {
				t.blksize = min(int(v), o.MaxBlockSize)
				ack = append(ack, Option{optBlksize, strconv.Itoa(t.blksize)})
			}
		case optTsize:
			if t.req.Mode == ModeOctet {
				ack = append(ack, Option{optTsize, strconv.FormatInt(size, 10)})
			}
		case optTimeout:
			if v, ok := parseUint(opt.Value, 1, maxTimeoutSecs); ok {
				t.timeout = time.Duration(v) * time.Second
				ack = append(ack, Option{optTimeout, opt.Value})
			}
		case optWindowsize:
			if v, ok := parseUint(opt.Value, 1, maxWindowSize); ok {
				t.window = min(v, uint64(o.MaxWindowSize))
				t.windowed = true
				ack = append(ack, Option{optWindowsize, strconv.FormatUint(t.window, 10)})
			}
		}
	}
	// A client that negotiated a window acknowledges its end, freeing it
	// all; an anticipating window slides one ACK at a time, so wait for half
	// of it to free up and send that half in one burst. Anticipation keeps at
	// most anticipateBytes in flight.
	t.refill = 1
	if t.windowed && t.window == 1 {
		t.windowed = false // windowsize 1 is lock-step: anticipate it too
	}
	if !t.windowed {
		t.window = uint64(max(1, min(o.Anticipate, anticipateBytes/t.blksize)))
		t.refill = max(1, t.window/2)
	}
	return ack
}

// send runs the protocol. It returns the last block acknowledged.
func (t *transfer) send(ctx context.Context, f fs.File) (uint64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	oack := t.negotiate(st.Size())
	t.rd = bufio.NewReaderSize(f, max(64<<10, t.blksize))
	if t.req.Mode == ModeNetascii {
		t.rd = &netasciiReader{r: t.rd.(*bufio.Reader)}
	}
	t.stride = 4 + t.blksize
	t.limit = t.window
	t.ring = make([]byte, int(t.window)*t.stride)
	t.lens = make([]int, t.window)
	t.rbuf = make([]byte, 1024)

	if len(oack) > 0 {
		if err := t.awaitOACK(ctx, appendOACK(nil, oack)); err != nil {
			return 0, err
		}
	}
	var (
		base     uint64 // highest block acknowledged
		next     uint64 = 1
		retries  int
		rewound  bool // a duplicate ACK already restarted this window
		progress = time.Now()
		deadline time.Time
	)
	for {
		// Fill the window.
		if free := base + t.limit - (next - 1); free >= t.refill || next == base+1 {
			end := base + t.limit
			if t.last != 0 {
				end = min(end, t.last)
			}
			if next <= end {
				if err := t.sendBlocks(next, end); err != nil {
					return base, err
				}
				next = end + 1
			}
		}
		// Arm the retransmission timer lazily: moving a deadline on every
		// ACK costs more than waking up early now and then.
		if want := progress.Add(t.timeout); deadline.Before(progress) || want.Sub(deadline) > t.timeout/8 {
			deadline = want
			if err := t.conn.SetReadDeadline(deadline); err != nil {
				return base, err
			}
		}
		kind, blk, code, msg, err := t.recv(ctx)
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return base, err
			}
			if now := time.Now(); now.Before(progress.Add(t.timeout)) {
				deadline = progress.Add(t.timeout)
				if err := t.conn.SetReadDeadline(deadline); err != nil {
					return base, err
				}
				continue
			}
			if retries++; retries > t.s.opts.Retries {
				return base, ErrTimeout
			}
			if !t.windowed && t.limit > 1 {
				// A lock-step client lost a block sent ahead: its
				// network or receive ring may not take bursts of this
				// size. Halve the anticipation for the rest of the
				// transfer: a client that cannot take any burst is
				// lock-step after a few timeouts. The ring keeps its
				// size; only the window shrinks.
				t.limit /= 2
				t.refill = max(1, t.limit/2)
			}
			progress = time.Now()
			next = base + 1 // resend the window; sendBlocks counts it
			continue
		}
		switch kind {
		case opERROR:
			return base, fmt.Errorf("%w: code %d %s", ErrClientAbort, code, msg)
		case opACK:
			switch delta := uint64(blk - uint16(base)); {
			case delta == 0:
				// The client is missing base+1. A receiver that negotiated
				// windowsize says so at once (RFC 7440): restart the
				// window, once per position so that duplicates cannot
				// multiply. Lock-step clients repeat an ACK on their own
				// timeout only; ours covers that, and answering their
				// duplicate ACKs is the Sorcerer's Apprentice bug (RFC 1123
				// 4.2.3.1).
				if t.windowed && !rewound && next-1 > base {
					rewound = true
					progress = time.Now()
					next = base + 1
				}
			case delta <= next-1-base:
				base += delta
				retries = 0
				rewound = false
				progress = time.Now()
				if t.last != 0 && base == t.last {
					return base, nil
				}
			}
			// Anything else is stale or from the future: ignore it.
		}
	}
}

// awaitOACK sends the option acknowledgement until the client acknowledges
// block 0.
func (t *transfer) awaitOACK(ctx context.Context, pkt []byte) error {
	for retries := 0; ; retries++ {
		if retries > t.s.opts.Retries {
			return ErrTimeout
		}
		if retries > 0 {
			t.retrans++
		}
		if err := t.write(pkt); err != nil {
			return err
		}
		if err := t.conn.SetReadDeadline(time.Now().Add(t.timeout)); err != nil {
			return err
		}
		for {
			kind, blk, code, msg, err := t.recv(ctx)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break
				}
				return err
			}
			if kind == opERROR {
				return fmt.Errorf("%w: code %d %s", ErrClientAbort, code, msg)
			}
			if kind == opACK && blk == 0 {
				return nil
			}
		}
	}
}

// slot returns the ring buffer of block b.
func (t *transfer) slot(b uint64) []byte {
	i := int(b % t.window)
	return t.ring[i*t.stride : i*t.stride+t.stride]
}

// fill reads block b from the file into its slot.
func (t *transfer) fill(b uint64) error {
	p := t.slot(b)
	n, err := io.ReadFull(t.rd, p[4:])
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		t.last = b
	case err != nil:
		return fmt.Errorf("tftpd: read %s: %w", t.name, err)
	}
	binary.BigEndian.PutUint16(p, opDATA)
	binary.BigEndian.PutUint16(p[2:], uint16(b))
	t.lens[b%t.window] = 4 + n
	t.filled = b
	return nil
}

// sendBlocks sends blocks from..to, reading those not yet read, in as few
// system calls as the kernel allows.
func (t *transfer) sendBlocks(from, to uint64) error {
	for b := from; b <= to; b++ {
		if b > t.filled {
			if err := t.fill(b); err != nil {
				return err
			}
			if t.last != 0 && b == t.last {
				to = b
			}
		} else {
			t.retrans++
		}
	}
	for b := from; b <= to; {
		// A run of blocks contiguous in the ring, all full-size but maybe
		// the last, goes out as one segmented datagram.
		n := uint64(1)
		if t.gso {
			for b+n <= to && (b+n)%t.window != 0 && n < maxSegments &&
				int(n+1)*t.stride <= maxGSOBytes && t.lens[(b+n-1)%t.window] == t.stride {
				n++
			}
		}
		i := int(b % t.window)
		p := t.ring[i*t.stride : i*t.stride+int(n-1)*t.stride+t.lens[(b+n-1)%t.window]]
		if n > 1 {
			if err := t.writeGSO(p); err != nil {
				return err
			}
		} else if err := t.write(p); err != nil {
			return err
		}
		for k := b; k < b+n; k++ {
			t.sent += uint64(t.lens[k%t.window] - 4)
		}
		b += n
	}
	return nil
}

// writeGSO sends consecutive DATA packets of t.stride bytes (the last may be
// shorter) in one system call with UDP segmentation offload, or one by one
// if the kernel refuses.
func (t *transfer) writeGSO(p []byte) error {
	if t.oob == nil {
		t.oob = segmentControl(t.stride)
	}
	_, _, err := t.udp.WriteMsgUDP(p, t.oob, nil)
	if err == nil || errors.Is(err, net.ErrClosed) {
		return err
	}
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.EIO) || errors.Is(err, syscall.ENOPROTOOPT) || errors.Is(err, syscall.EOPNOTSUPP) {
		t.s.noGSO.Store(true)
		t.gso = false
	}
	for len(p) > 0 {
		n := min(len(p), t.stride)
		if err := t.write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// write sends one datagram. Send failures other than a closed socket are
// treated as loss: the retransmission timer covers them.
func (t *transfer) write(p []byte) error {
	_, err := t.conn.Write(p)
	if errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// recv reads the next ACK or ERROR from the client.
func (t *transfer) recv(ctx context.Context) (kind uint16, blk uint16, code ErrorCode, msg string, err error) {
	for {
		n, err := t.conn.Read(t.rbuf)
		if err != nil {
			if ctx.Err() != nil {
				return 0, 0, 0, "", ErrShutdown
			}
			if errors.Is(err, syscall.ECONNREFUSED) {
				return 0, 0, 0, "", fmt.Errorf("%w: %w", ErrClientGone, err)
			}
			return 0, 0, 0, "", err
		}
		kind, blk, code, msg = parseAck(t.rbuf[:n])
		if kind != 0 {
			if t.heard != nil && !t.heard.Load() {
				t.heard.Store(true)
			}
			return kind, blk, code, msg, nil
		}
	}
}
