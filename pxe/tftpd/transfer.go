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
	"time"
)

// transfer is one read transfer on its own socket. All its state belongs to
// the goroutine running run.
type transfer struct {
	s     *Server
	req   Request
	name  string
	peer  netip.AddrPort
	local netip.Addr

	conn     net.PacketConn
	udp      *net.UDPConn // conn when it is one: allocation-free reads and writes
	peerAddr net.Addr

	blksize  int
	window   uint64 // blocks in flight
	windowed bool   // windowsize was negotiated (RFC 7440)
	timeout  time.Duration

	rd     io.Reader
	ring   [][]byte // DATA packets of unacknowledged blocks, by block % window
	filled uint64   // highest block read into ring
	last   uint64   // the final (short) block, once read; 0 before
	rbuf   []byte
	sent   uint64 // file bytes sent
}

// run performs the transfer and records its outcome.
func (t *transfer) run(ctx context.Context) {
	s := t.s
	start := time.Now()
	conn, err := s.listen(t.local)
	if err != nil {
		s.m.failed.WithLabelValues("socket").Inc()
		s.log.Warn("tftp transfer socket", "client", t.peer.String(), "file", t.name, "err", err)
		return
	}
	t.conn = conn
	t.udp, _ = conn.(*net.UDPConn)
	t.peerAddr = net.UDPAddrFromAddrPort(t.peer)
	defer conn.Close()
	// On shutdown, tell the client and close the socket: a blocked read
	// returns at once and every later call fails.
	stop := context.AfterFunc(ctx, func() {
		_ = t.write(appendError(nil, CodeUndefined, "server shutting down"))
		_ = conn.Close()
	})
	defer stop()

	f, err := s.root.Open(t.name)
	if err == nil {
		defer f.Close()
	}
	if err = openError(f, err); err != nil {
		e := &RequestError{Client: t.peer, Filename: t.name, Err: err}
		s.m.refused.WithLabelValues(reason(err)).Inc()
		s.log.Info("tftp request refused", "client", t.peer.String(), "file", t.name, "reason", reason(err), "err", err)
		code, msg := errorPacket(e.Err)
		_ = t.write(appendError(nil, code, msg))
		return
	}
	s.m.started.Inc()
	base, err := t.send(ctx, f)
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
	t.window = uint64(o.Anticipate)
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
	return ack
}

// send runs the protocol. It returns the last block acknowledged.
func (t *transfer) send(ctx context.Context, f fs.File) (uint64, error) {
	st, _ := f.Stat() // checked by openError
	oack := t.negotiate(st.Size())
	t.rd = bufio.NewReaderSize(f, max(64<<10, t.blksize))
	if t.req.Mode == ModeNetascii {
		t.rd = &netasciiReader{r: t.rd.(*bufio.Reader)}
	}
	t.ring = make([][]byte, t.window)
	t.rbuf = make([]byte, 1024)

	if len(oack) > 0 {
		pkt := appendOACK(nil, oack)
		if err := t.awaitOACK(ctx, pkt); err != nil {
			return 0, err
		}
	}
	var (
		base    uint64 // highest block acknowledged
		next    uint64 = 1
		retries int
		rewound bool // a duplicate ACK already restarted this window
	)
	for {
		// Fill the window.
		for next <= base+t.window && (t.last == 0 || next <= t.last) {
			if err := t.sendBlock(next); err != nil {
				return base, err
			}
			next++
		}
		deadline := time.Now().Add(t.timeout)
		if err := t.setDeadline(deadline); err != nil {
			return base, err
		}
	wait:
		for {
			kind, blk, code, msg, err := t.recv(ctx)
			if err != nil {
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					return base, err
				}
				if retries++; retries > t.s.opts.Retries {
					return base, ErrTimeout
				}
				next = base + 1 // sendBlock counts the retransmissions
				break wait
			}
			switch kind {
			case opERROR:
				return base, fmt.Errorf("%w: code %d %s", ErrClientAbort, code, msg)
			case opACK:
				delta := uint64(blk - uint16(base))
				switch {
				case delta == 0:
					// The client is missing base+1. A receiver that
					// negotiated windowsize says so at once (RFC 7440);
					// restart the window, once per position so that
					// duplicates cannot multiply. Lock-step clients
					// repeat an ACK only on their own timeout; ours
					// handles that, and answering duplicate ACKs is the
					// Sorcerer's Apprentice bug (RFC 1123 4.2.3.1).
					if t.windowed && !rewound && next-1 > base {
						rewound = true
						next = base + 1
						break wait
					}
				case delta <= next-1-base:
					base += delta
					retries = 0
					rewound = false
					if t.last != 0 && base == t.last {
						return base, nil
					}
					break wait
				}
				// Anything else is stale or from the future: ignore.
			}
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
			t.s.m.retrans.Inc()
		}
		if err := t.write(pkt); err != nil {
			return err
		}
		if err := t.setDeadline(time.Now().Add(t.timeout)); err != nil {
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

// sendBlock sends block b, reading it from the file the first time.
func (t *transfer) sendBlock(b uint64) error {
	slot := &t.ring[b%t.window]
	if b > t.filled {
		if *slot == nil {
			*slot = make([]byte, 4+t.blksize)
		}
		p := (*slot)[:4+t.blksize]
		n, err := io.ReadFull(t.rd, p[4:])
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			t.last = b
		case err != nil:
			return fmt.Errorf("tftpd: read %s: %w", t.name, err)
		}
		binary.BigEndian.PutUint16(p, opDATA)
		binary.BigEndian.PutUint16(p[2:], uint16(b))
		*slot = p[:4+n]
		t.filled = b
	} else {
		t.s.m.retrans.Inc()
	}
	p := *slot
	t.sent += uint64(len(p) - 4)
	t.s.m.bytes.Add(float64(len(p) - 4))
	return t.write(p)
}

func (t *transfer) write(p []byte) error {
	var err error
	if t.udp != nil {
		_, err = t.udp.WriteToUDPAddrPort(p, t.peer)
	} else {
		_, err = t.conn.WriteTo(p, t.peerAddr)
	}
	if errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil // a lost datagram; the timeout will resend it
}

func (t *transfer) setDeadline(d time.Time) error {
	return t.conn.SetReadDeadline(d)
}

// recv reads the next packet from the client, answering strangers with
// ERROR 5 (RFC 1350).
func (t *transfer) recv(ctx context.Context) (kind uint16, blk uint16, code ErrorCode, msg string, err error) {
	for {
		var n int
		var from netip.AddrPort
		if t.udp != nil {
			n, from, err = t.udp.ReadFromUDPAddrPort(t.rbuf)
		} else {
			var a net.Addr
			n, a, err = t.conn.ReadFrom(t.rbuf)
			from, _ = addrPort(a)
		}
		if err != nil {
			if ctx.Err() != nil {
				return 0, 0, 0, "", ErrShutdown
			}
			return 0, 0, 0, "", err
		}
		if from.Addr().Unmap() != t.peer.Addr() || from.Port() != t.peer.Port() {
			pkt := appendError(nil, CodeUnknownTID, "unknown transfer ID")
			if t.udp != nil {
				_, _ = t.udp.WriteToUDPAddrPort(pkt, from)
			} else {
				_, _ = t.conn.WriteTo(pkt, net.UDPAddrFromAddrPort(from))
			}
			continue
		}
		kind, blk, code, msg = parseAck(t.rbuf[:n])
		if kind != 0 {
			return kind, blk, code, msg, nil
		}
	}
}
