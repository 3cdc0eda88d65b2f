package tftpd

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// lossyConn drops every dropWrite-th datagram the server sends and every
// dropRead-th datagram it receives.
type lossyConn struct {
	net.Conn
	dropWrite, dropRead int64
	writes, reads       atomic.Int64
	dropped             *atomic.Int64
}

func (c *lossyConn) Write(p []byte) (int, error) {
	if c.dropWrite > 0 && c.writes.Add(1)%c.dropWrite == 0 {
		c.dropped.Add(1)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *lossyConn) Read(p []byte) (int, error) {
	for {
		n, err := c.Conn.Read(p)
		if err != nil || c.dropRead == 0 || c.reads.Add(1)%c.dropRead != 0 {
			return n, err
		}
		c.dropped.Add(1)
	}
}

// lossy makes srv's transfer sockets lose packets; it returns the count of
// packets dropped.
func lossy(dropWrite, dropRead int64) (func(*Server), *atomic.Int64) {
	dropped := new(atomic.Int64)
	return func(s *Server) {
		s.dial = func(local netip.Addr, peer netip.AddrPort) (net.Conn, error) {
			c, err := dialUDP(local, peer)
			if err != nil {
				return nil, err
			}
			return &lossyConn{Conn: c, dropWrite: dropWrite, dropRead: dropRead, dropped: dropped}, nil
		}
	}, dropped
}

// TestLossWindowed loses DATA and ACKs on a windowsize 16 transfer and on a
// lock-step one (with the server's anticipation) and still gets the file.
func TestLossWindowed(t *testing.T) {
	data := randBytes(t, 2<<20+5)
	for _, tc := range []struct {
		name                string
		dropWrite, dropRead int64
		window              int
	}{
		{"window16-data", 23, 0, 16},
		{"window16-acks", 0, 7, 16},
		{"window16-both", 31, 5, 16},
		{"window4-both", 29, 11, 4},
		{"lockstep-both", 37, 29, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tweak, dropped := lossy(tc.dropWrite, tc.dropRead)
			srv := startServer(t, fstest.MapFS{"f": {Data: data}}, Options{Timeout: 50 * time.Millisecond, Retries: 20}, tweak)
			c := newRawClient(t, srv.addr, "127.0.0.1:0")
			opts := []string{"blksize", "1468"}
			if tc.window > 0 {
				opts = append(opts, "windowsize", strconv.Itoa(tc.window))
			}
			for ok := false; !ok; { // the OACK itself may be lost
				c.send(rrq(opRRQ, "f", "octet", opts...))
				if p, err := c.recv(300 * time.Millisecond); err == nil {
					_, ok = oack(p)
				}
			}
			c.ack(0)
			got, err := c.receive(1468, max(tc.window, 1), 100*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("got %d bytes, want %d (content differs)", len(got), len(data))
			}
			waitFor(t, func() bool { return testutil.ToFloat64(srv.m.completed) == 1 })
			if dropped.Load() == 0 || testutil.ToFloat64(srv.m.retrans) == 0 {
				t.Fatalf("dropped %d, retransmitted %v: the test lost nothing", dropped.Load(), testutil.ToFloat64(srv.m.retrans))
			}
			t.Logf("dropped %d, retransmitted %v", dropped.Load(), testutil.ToFloat64(srv.m.retrans))
		})
	}
}

// TestLossPinClient: the pin/tftp client (lock-step receiver) over a lossy
// server. pin/tftp does not acknowledge a repeated block, so once the
// server is lock-step each lost ACK costs the client's own timeout.
func TestLossPinClient(t *testing.T) {
	data := randBytes(t, 1<<20)
	tweak, dropped := lossy(41, 17)
	srv := startServer(t, fstest.MapFS{"f": {Data: data}}, Options{Timeout: 50 * time.Millisecond, Retries: 20}, tweak)
	got, _, err := pinGetTimeout(t, srv.addr, "f", 1468, true, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes, want %d", len(got), len(data))
	}
	if dropped.Load() == 0 {
		t.Fatal("nothing dropped")
	}
}

// TestLossRealClients runs atftp (windowsize 16) and curl against a lossy
// server.
func TestLossRealClients(t *testing.T) {
	if testing.Short() {
		t.Skip("real clients; run without -short")
	}
	dir := t.TempDir()
	want := randomFile(t, dir, "img", 4<<20+17)
	out := t.TempDir()
	for _, tc := range []struct {
		name      string
		tool      string
		pkg       string
		dropWrite int64
		args      func(port, dst string) []string
	}{
		{"atftp-windowsize16", "atftp", "atftp", 53, func(port, dst string) []string {
			return []string{"--get", "-r", "img", "-l", dst, "--tftp-timeout", "1",
				"--option", "windowsize 16", "--option", "blksize 1468", "127.0.0.1", port}
		}},
		// curl asks for timeout max-time/3 s (at least 1 s) and does not
		// acknowledge out-of-order blocks, so each lost DATA costs a
		// timeout: lose one, and many ACKs.
		{"curl", "curl", "curl", 2000, func(port, dst string) []string {
			return []string{"-sS", "--max-time", "20", "--tftp-blksize", "1468", "-o", dst, "tftp://127.0.0.1:" + port + "/img"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := needTool(t, tc.tool, tc.pkg)
			tweak, dropped := lossy(tc.dropWrite, 19)
			srv := startServer(t, rootFS(t, dir), Options{Timeout: 100 * time.Millisecond, Retries: 20}, tweak)
			dst := filepath.Join(out, tc.name)
			run(t, 2*time.Minute, bin, tc.args(strconv.Itoa(srv.addr.Port), dst)...)
			if got := fileSHA(t, dst); got != want {
				st, _ := os.Stat(dst)
				t.Fatalf("sha256 %s, want %s (size %v)", got, want, st.Size())
			}
			if dropped.Load() == 0 {
				t.Fatal("nothing dropped")
			}
			t.Logf("%s: dropped %d, retransmitted %v", tc.name, dropped.Load(), testutil.ToFloat64(srv.m.retrans))
		})
	}
}

// TestAnticipationBacksOff: a lock-step client whose receive buffer holds
// about one datagram loses the blocks sent ahead; the server halves its
// anticipation on each timeout and finishes lock-step, after a bounded
// number of timeouts rather than one per burst.
func TestAnticipationBacksOff(t *testing.T) {
	data := randBytes(t, 300*1468+5)
	srv := startServer(t, fstest.MapFS{"f": {Data: data}}, Options{Timeout: 50 * time.Millisecond, Retries: 10, Anticipate: 32})
	c := newRawClient(t, srv.addr, "127.0.0.1:0")
	if err := c.conn.SetReadBuffer(1); err != nil { // the kernel's minimum
		t.Fatal(err)
	}
	c.send(rrq(opRRQ, "f", "octet", "blksize", "1468"))
	if _, ok := oack(c.mustRecv(2 * time.Second)); !ok {
		t.Fatal("no OACK")
	}
	c.ack(0)
	got, err := c.receive(1468, 1, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes, want %d", len(got), len(data))
	}
	waitFor(t, func() bool { return testutil.ToFloat64(srv.m.completed) == 1 })
	// 32 → 1 takes 5 halvings; each timeout resends at most the window.
	if r := testutil.ToFloat64(srv.m.retrans); r > 32+16+8+4+2+1+10 {
		t.Fatalf("%v retransmissions: anticipation did not back off", r)
	}
	t.Logf("retransmitted %v", testutil.ToFloat64(srv.m.retrans))
}
