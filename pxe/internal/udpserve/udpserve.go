// Package udpserve runs the request loop that pxe's datagram servers
// (pxe/dhcpd, pxe/dhcpd6) share: a fixed pool of workers reading from one
// caller-owned [net.PacketConn], each handling a datagram and sending its
// reply, until the context ends.
package udpserve

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// Handler handles one datagram from peer and returns the reply and where
// it goes, or a nil reply when nothing is to be sent. b is only valid
// during the call.
type Handler func(ctx context.Context, b []byte, peer net.Addr) (reply []byte, dst net.Addr)

// Options configure [Serve].
type Options struct {
	// Workers is the number of datagrams handled at once (at least 1).
	Workers int
	// BufSize is the largest datagram read whole (at least 1).
	BufSize int
	// SendFailed, if set, is told of each reply that could not be sent.
	SendFailed func(dst net.Addr, err error)
}

// Serve reads datagrams from conn with opts.Workers workers and answers
// each with handle until ctx is done, then returns nil. The caller owns
// conn: Serve never closes it, but sets its read deadline to stop the
// workers. The first read error other than a timeout stops every worker
// and is returned.
func Serve(ctx context.Context, conn net.PacketConn, handle Handler, opts Options) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer stop()
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		readErr error
	)
	for range max(opts.Workers, 1) {
		wg.Go(func() {
			buf := make([]byte, max(opts.BufSize, 1))
			for {
				n, peer, err := conn.ReadFrom(buf)
				if err != nil {
					var ne net.Error
					switch {
					case ctx.Err() != nil:
						return
					case errors.As(err, &ne) && ne.Timeout():
						continue
					}
					errOnce.Do(func() { readErr = err })
					cancel()
					return
				}
				out, dst := handle(ctx, buf[:n], peer)
				if out == nil {
					continue
				}
				if _, err := conn.WriteTo(out, dst); err != nil && opts.SendFailed != nil {
					opts.SendFailed(dst, err)
				}
			}
		})
	}
	wg.Wait()
	return readErr
}
