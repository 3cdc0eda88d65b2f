package tftpd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"
)

// rawClient speaks TFTP packet by packet, so tests can send exact bytes and
// misbehave on purpose.
type rawClient struct {
	t      testing.TB
	conn   *net.UDPConn
	server *net.UDPAddr // the listener
	tid    *net.UDPAddr // the transfer socket, once it answered
	buf    []byte
}

func newRawClient(t testing.TB, server *net.UDPAddr, local string) *rawClient {
	t.Helper()
	la, err := net.ResolveUDPAddr("udp", local)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp", la)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{t: t, conn: c, server: server}
}

// rrq builds a request packet.
func rrq(op uint16, name, mode string, opts ...string) []byte {
	b := binary.BigEndian.AppendUint16(nil, op)
	b = append(b, name...)
	b = append(b, 0)
	b = append(b, mode...)
	b = append(b, 0)
	for _, o := range opts {
		b = append(b, o...)
		b = append(b, 0)
	}
	return b
}

func (c *rawClient) send(p []byte) {
	c.t.Helper()
	to := c.server
	if c.tid != nil {
		to = c.tid
	}
	if _, err := c.conn.WriteToUDP(p, to); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawClient) ack(block uint16) {
	c.send([]byte{0, opACK, byte(block >> 8), byte(block)})
}

func (c *rawClient) sendError(code ErrorCode, msg string) {
	c.send(appendError(nil, code, msg))
}

var errNoPacket = errors.New("no packet")

// recv returns the next packet (and remembers the sender's TID) or
// errNoPacket after d.
func (c *rawClient) recv(d time.Duration) ([]byte, error) {
	if c.buf == nil {
		c.buf = make([]byte, 70000)
	}
	buf := c.buf
	if err := c.conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		return nil, err
	}
	n, from, err := c.conn.ReadFromUDP(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, errNoPacket
		}
		return nil, err
	}
	if c.tid == nil && !(from.Port == c.server.Port && from.IP.Equal(c.server.IP)) {
		c.tid = from
	}
	return bytes.Clone(buf[:n]), nil
}

// mustRecv is recv that fails the test on timeout.
func (c *rawClient) mustRecv(d time.Duration) []byte {
	c.t.Helper()
	p, err := c.recv(d)
	if err != nil {
		c.t.Fatalf("waiting for a packet: %v", err)
	}
	return p
}

// tftpErr decodes an ERROR packet.
func tftpErr(p []byte) (ErrorCode, string, bool) {
	if len(p) < 4 || binary.BigEndian.Uint16(p) != opERROR {
		return 0, "", false
	}
	return ErrorCode(binary.BigEndian.Uint16(p[2:])), string(bytes.TrimRight(p[4:], "\x00")), true
}

// oack decodes an OACK packet into a map.
func oack(p []byte) (map[string]string, bool) {
	if len(p) < 2 || binary.BigEndian.Uint16(p) != opOACK {
		return nil, false
	}
	m := map[string]string{}
	f := bytes.Split(bytes.TrimSuffix(p[2:], []byte{0}), []byte{0})
	for i := 0; i+1 < len(f); i += 2 {
		m[string(f[i])] = string(f[i+1])
	}
	return m, true
}

// receive reads DATA packets after the request (and its OACK, which must
// have been handled) and returns the file, acknowledging like an RFC 7440
// receiver with the given window: at each window end, at the last block, and
// with the last in-order block on a gap or a timeout.
func (c *rawClient) receive(blksize, window int, timeout time.Duration) ([]byte, error) {
	return c.receiveOpt(blksize, window, timeout, true)
}

// receiveNoDally is receive without waiting for repeats of the last block.
func (c *rawClient) receiveNoDally(blksize, window int, timeout time.Duration) ([]byte, error) {
	return c.receiveOpt(blksize, window, timeout, false)
}

func (c *rawClient) receiveOpt(blksize, window int, timeout time.Duration, dally bool) ([]byte, error) {
	var out bytes.Buffer
	var got uint64 // blocks received in order
	inWindow := 0
	for retries := 0; ; {
		p, err := c.recv(timeout)
		if errors.Is(err, errNoPacket) {
			if retries++; retries > 10 {
				return nil, fmt.Errorf("timeout after block %d", got)
			}
			c.ack(uint16(got))
			inWindow = 0
			continue
		}
		if err != nil {
			return nil, err
		}
		if code, msg, ok := tftpErr(p); ok {
			return nil, fmt.Errorf("ERROR %d %s", code, msg)
		}
		if len(p) < 4 || binary.BigEndian.Uint16(p) != opDATA {
			return nil, fmt.Errorf("unexpected packet % x", p[:min(len(p), 16)])
		}
		blk := binary.BigEndian.Uint16(p[2:])
		if blk != uint16(got+1) {
			// A gap: say where we are. A lock-step receiver also
			// acknowledges a repeat of its last block (RFC 1350).
			if blk != uint16(got) || window == 1 {
				c.ack(uint16(got))
				inWindow = 0
			}
			continue
		}
		retries = 0
		got++
		out.Write(p[4:])
		inWindow++
		if len(p)-4 < blksize {
			c.ack(uint16(got))
			if dally {
				c.dally(uint16(got), min(3*timeout, 300*time.Millisecond))
			}
			return out.Bytes(), nil
		}
		if inWindow == window {
			c.ack(uint16(got))
			inWindow = 0
		}
	}
}

// dally answers repeats of the last block for a while, in case the final ACK
// was lost (RFC 1350 section 6).
func (c *rawClient) dally(last uint16, d time.Duration) {
	for {
		p, err := c.recv(d)
		if err != nil {
			return
		}
		if len(p) >= 4 && binary.BigEndian.Uint16(p) == opDATA && binary.BigEndian.Uint16(p[2:]) == last {
			c.ack(last)
		}
	}
}
