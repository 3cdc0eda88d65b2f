package tftpd

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pin/tftp/v3"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func randBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// pinGet fetches name with the pin/tftp client.
func pinGet(t testing.TB, addr *net.UDPAddr, name string, blksize int, tsize bool) ([]byte, int64, error) {
	return pinGetTimeout(t, addr, name, blksize, tsize, 2*time.Second)
}

func pinGetTimeout(t testing.TB, addr *net.UDPAddr, name string, blksize int, tsize bool, timeout time.Duration) ([]byte, int64, error) {
	t.Helper()
	c, err := tftp.NewClient(addr.String())
	if err != nil {
		return nil, 0, err
	}
	c.SetTimeout(timeout)
	c.SetRetries(20)
	c.SetBackoff(func(int) time.Duration { return timeout / 10 }) // the default sleeps up to 1 s
	if blksize > 0 {
		c.SetBlockSize(blksize)
	}
	c.RequestTSize(tsize)
	wt, err := c.Receive(name, "octet")
	if err != nil {
		return nil, 0, err
	}
	size := int64(-1)
	if it, ok := wt.(tftp.IncomingTransfer); ok {
		if n, ok := it.Size(); ok {
			size = n
		}
	}
	var buf bytes.Buffer
	_, err = wt.WriteTo(&buf)
	return buf.Bytes(), size, err
}

func TestPinClientSizes(t *testing.T) {
	files := fstest.MapFS{
		"empty":   {Data: nil},
		"one":     {Data: []byte("x")},
		"b511":    {Data: randBytes(t, 511)},
		"b512":    {Data: randBytes(t, 512)},
		"b513":    {Data: randBytes(t, 513)},
		"b1468x3": {Data: randBytes(t, 3*1468)},
		"mib":     {Data: randBytes(t, 1<<20+7)},
		"dir/sub": {Data: []byte("nested")},
	}
	srv := startServer(t, files, Options{})
	// pin/tftp's client refuses block sizes under 512; TestBlockRollover
	// covers blksize 8 with the raw client.
	for _, blksize := range []int{0, 512, 1468, 65464} {
		for _, tsize := range []bool{false, true} {
			for name, f := range files {
				t.Run(fmt.Sprintf("%s/blksize=%d/tsize=%v", name, blksize, tsize), func(t *testing.T) {
					got, size, err := pinGet(t, srv.addr, name, blksize, tsize)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, f.Data) {
						t.Fatalf("got %d bytes, want %d (content differs)", len(got), len(f.Data))
					}
					if tsize && size != int64(len(f.Data)) {
						t.Fatalf("tsize %d, want %d", size, len(f.Data))
					}
				})
			}
		}
	}
	if got, want := testutil.ToFloat64(srv.m.failed.WithLabelValues("timeout")), 0.0; got != want {
		t.Errorf("failed transfers %v, want %v", got, want)
	}
}

// TestBlockRollover sends more than 65535 blocks: block numbers wrap to 0.
func TestBlockRollover(t *testing.T) {
	data := randBytes(t, 65536*8+100)
	srv := startServer(t, fstest.MapFS{"big": {Data: data}}, Options{})
	for _, window := range []int{0, 16} {
		t.Run(fmt.Sprintf("window=%d", window), func(t *testing.T) {
			c := newRawClient(t, srv.addr, "127.0.0.1:0")
			opts := []string{"blksize", "8"}
			if window > 0 {
				opts = append(opts, "windowsize", strconv.Itoa(window))
			}
			c.send(rrq(opRRQ, "big", "octet", opts...))
			if _, ok := oack(c.mustRecv(2 * time.Second)); !ok {
				t.Fatal("no OACK")
			}
			c.ack(0)
			got, err := c.receive(8, max(window, 1), time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("got %d bytes, want %d", len(got), len(data))
			}
		})
	}
}

func TestIPv6(t *testing.T) {
	conn, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer conn.Close()
	data := randBytes(t, 100000)
	srv, err := New(fstest.MapFS{"f": {Data: data}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, conn) }()
	got, _, err := pinGet(t, conn.LocalAddr().(*net.UDPAddr), "f", 1468, true)
	cancel()
	if serr := <-done; serr != nil {
		t.Errorf("Serve: %v", serr)
	}
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes, err %v", len(got), err)
	}
}

func TestNegotiation(t *testing.T) {
	data := randBytes(t, 5000)
	files := fstest.MapFS{"f": {Data: data}}
	tests := []struct {
		name string
		opts Options
		req  []string
		want map[string]string // nil: no OACK, DATA 1 at once
	}{
		{"none", Options{}, nil, nil},
		{"unknown only", Options{}, []string{"foo", "1"}, nil},
		{"all", Options{}, []string{"blksize", "1468", "tsize", "0", "timeout", "3", "windowsize", "4"},
			map[string]string{"blksize": "1468", "tsize": "5000", "timeout": "3", "windowsize": "4"}},
		{"upper case names", Options{}, []string{"BLKSIZE", "1024", "TSize", "0"},
			map[string]string{"blksize": "1024", "tsize": "5000"}},
		{"blksize above RFC max", Options{}, []string{"blksize", "100000"}, map[string]string{"blksize": "65464"}},
		{"blksize above server max", Options{MaxBlockSize: 1468}, []string{"blksize", "9000"}, map[string]string{"blksize": "1468"}},
		{"blksize below 8 ignored", Options{}, []string{"blksize", "4", "tsize", "0"}, map[string]string{"tsize": "5000"}},
		{"blksize not a number", Options{}, []string{"blksize", "12x", "tsize", "0"}, map[string]string{"tsize": "5000"}},
		{"windowsize clamped", Options{MaxWindowSize: 8}, []string{"windowsize", "1000"}, map[string]string{"windowsize": "8"}},
		{"windowsize 1", Options{}, []string{"windowsize", "1", "blksize", "1000"}, map[string]string{"windowsize": "1", "blksize": "1000"}},
		{"windowsize 0 ignored", Options{}, []string{"windowsize", "0", "tsize", "0"}, map[string]string{"tsize": "5000"}},
		{"timeout 0 ignored", Options{}, []string{"timeout", "0", "tsize", "0"}, map[string]string{"tsize": "5000"}},
		{"timeout 256 ignored", Options{}, []string{"timeout", "256", "tsize", "0"}, map[string]string{"tsize": "5000"}},
		{"duplicate keeps first", Options{}, []string{"blksize", "600", "blksize", "700"}, map[string]string{"blksize": "600"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, files, tt.opts)
			c := newRawClient(t, srv.addr, "127.0.0.1:0")
			c.send(rrq(opRRQ, "f", "octet", tt.req...))
			p := c.mustRecv(2 * time.Second)
			blksize, window := 512, 1
			if tt.want == nil {
				if len(p) < 4 || p[1] != opDATA || p[3] != 1 {
					t.Fatalf("want DATA 1, got % x", p[:min(len(p), 8)])
				}
				if len(p)-4 != 512 {
					t.Fatalf("DATA 1 carries %d bytes, want 512", len(p)-4)
				}
				// Stop here: the rest is TestPinClientSizes' business.
				c.sendError(CodeUndefined, "done")
				return
			}
			got, ok := oack(p)
			if !ok {
				t.Fatalf("want OACK, got % x", p[:min(len(p), 8)])
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("OACK (-want +got):\n%s", diff)
			}
			if v, ok := got["blksize"]; ok {
				blksize, _ = strconv.Atoi(v)
			}
			if v, ok := got["windowsize"]; ok {
				window, _ = strconv.Atoi(v)
			}
			c.ack(0)
			body, err := c.receive(blksize, window, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(body, data) {
				t.Fatalf("got %d bytes, want %d", len(body), len(data))
			}
		})
	}
}

// TestTimeoutOption checks that the client's timeout option (RFC 2349), not
// the server default, paces retransmission.
func TestTimeoutOption(t *testing.T) {
	srv := startServer(t, fstest.MapFS{"f": {Data: randBytes(t, 3000)}}, Options{Timeout: time.Minute, Anticipate: 1})
	c := newRawClient(t, srv.addr, "127.0.0.1:0")
	c.send(rrq(opRRQ, "f", "octet", "timeout", "1"))
	first := c.mustRecv(2 * time.Second)
	start := time.Now()
	if m, ok := oack(first); !ok || m["timeout"] != "1" {
		t.Fatalf("want OACK timeout 1, got % x", first)
	}
	again := c.mustRecv(5 * time.Second) // the OACK again, after ~1 s
	if el := time.Since(start); el < 900*time.Millisecond || el > 4*time.Second {
		t.Fatalf("OACK resent after %v, want about 1 s", el)
	}
	if !bytes.Equal(again, first) {
		t.Fatalf("resent packet differs: % x", again)
	}
	// DATA is paced the same way.
	c.ack(0)
	d1 := c.mustRecv(2 * time.Second)
	start = time.Now()
	d1again := c.mustRecv(5 * time.Second)
	if el := time.Since(start); el < 900*time.Millisecond || el > 4*time.Second {
		t.Fatalf("DATA resent after %v, want about 1 s", el)
	}
	if !bytes.Equal(d1, d1again) || d1[1] != opDATA {
		t.Fatalf("want DATA 1 twice, got % x and % x", d1[:4], d1again[:4])
	}
	c.sendError(CodeUndefined, "enough")
}

// TestDefaultTimeoutAndGiveUp checks Options.Timeout and Options.Retries.
func TestDefaultTimeoutAndGiveUp(t *testing.T) {
	srv := startServer(t, fstest.MapFS{"f": {Data: randBytes(t, 3000)}}, Options{Timeout: 50 * time.Millisecond, Retries: 3, Anticipate: 1})
	c := newRawClient(t, srv.addr, "127.0.0.1:0")
	c.send(rrq(opRRQ, "f", "octet"))
	n := 0
	for {
		p, err := c.recv(time.Second)
		if errors.Is(err, errNoPacket) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p[1] != opDATA || p[3] != 1 {
			t.Fatalf("want DATA 1, got % x", p[:4])
		}
		n++
	}
	if n != 4 { // the first send and 3 retries
		t.Fatalf("DATA 1 sent %d times, want 4", n)
	}
	waitFor(t, func() bool { return testutil.ToFloat64(srv.m.failed.WithLabelValues("timeout")) == 1 })
	if got := testutil.ToFloat64(srv.m.retrans); got != 3 {
		t.Fatalf("retransmits %v, want 3", got)
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met after 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// levelRecorder is a slog.Handler that remembers the highest level logged.
type levelRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *levelRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *levelRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r)
	return nil
}
func (h *levelRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *levelRecorder) WithGroup(string) slog.Handler      { return h }
func (h *levelRecorder) atLeast(l slog.Level) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.recs {
		if r.Level >= l {
			out = append(out, r.Message)
		}
	}
	return out
}

// TestOVMFProbeThenWindow replays what OVMF's PXE client does: a size probe
// with blksize 1468 and windowsize 4 aborted with ERROR 8, then the download
// with windowsize 4.
func TestOVMFProbeThenWindow(t *testing.T) {
	data := randBytes(t, 1<<20+333)
	logs := &levelRecorder{}
	srv := startServer(t, fstest.MapFS{"snponly.efi": {Data: data}}, Options{Logger: slog.New(logs)})

	probe := newRawClient(t, srv.addr, "127.0.0.1:0")
	probe.send(rrq(opRRQ, "snponly.efi", "octet", "tsize", "0", "blksize", "1468", "windowsize", "4"))
	m, ok := oack(probe.mustRecv(2 * time.Second))
	if !ok || m["tsize"] != strconv.Itoa(len(data)) || m["blksize"] != "1468" || m["windowsize"] != "4" {
		t.Fatalf("probe OACK %v", m)
	}
	probe.sendError(CodeOptionRefused, "")
	waitFor(t, func() bool { return testutil.ToFloat64(srv.m.aborted) == 1 })

	c := newRawClient(t, srv.addr, "127.0.0.1:0")
	c.send(rrq(opRRQ, "snponly.efi", "octet", "blksize", "1468", "windowsize", "4"))
	if m, ok := oack(c.mustRecv(2 * time.Second)); !ok || m["windowsize"] != "4" {
		t.Fatalf("OACK %v", m)
	}
	c.ack(0)
	got, err := c.receive(1468, 4, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes, want %d", len(got), len(data))
	}
	waitFor(t, func() bool { return testutil.ToFloat64(srv.m.completed) == 1 })
	if n := testutil.ToFloat64(srv.m.failed.WithLabelValues("client_abort")); n != 0 {
		t.Errorf("probe counted as failed (%v)", n)
	}
	if w := logs.atLeast(slog.LevelWarn); len(w) > 0 {
		t.Errorf("warnings logged: %q", w)
	}
	if got := testutil.ToFloat64(srv.m.bytes); got != float64(len(data)) {
		t.Errorf("sent_bytes_total %v, want %d", got, len(data))
	}
}

func TestWriteRefused(t *testing.T) {
	srv := startServer(t, fstest.MapFS{"f": {Data: []byte("x")}}, Options{})
	c := newRawClient(t, srv.addr, "127.0.0.1:0")
	c.send(rrq(opWRQ, "f", "octet"))
	code, msg, ok := tftpErr(c.mustRecv(2 * time.Second))
	if !ok || code != CodeAccessViolation {
		t.Fatalf("got code %d %q, want ERROR %d", code, msg, CodeAccessViolation)
	}
	// The pin/tftp client sees a refusal too.
	pc, err := tftp.NewClient(srv.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	pc.SetTimeout(time.Second)
	if rf, err := pc.Send("f", "octet"); err == nil {
		if _, err := rf.ReadFrom(strings.NewReader("data")); err == nil {
			t.Fatal("pin/tftp upload succeeded")
		}
	}
	if got := testutil.ToFloat64(srv.m.refused.WithLabelValues("write")); got != 2 {
		t.Fatalf("refused{write} %v, want 2", got)
	}
}

func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, rootFS(t, dir), Options{})
	tests := []struct {
		name   string
		pkt    []byte
		code   ErrorCode
		reason string
	}{
		{"missing file", rrq(opRRQ, "nope", "octet"), CodeNotFound, "not_found"},
		{"directory", rrq(opRRQ, "sub", "octet"), CodeAccessViolation, "not_regular"},
		{"mail mode", rrq(opRRQ, "f", "mail"), CodeIllegalOperation, "mode"},
		{"no mode", []byte{0, 1, 'f', 0}, CodeIllegalOperation, "malformed"},
		{"empty name", rrq(opRRQ, "", "octet"), CodeIllegalOperation, "malformed"},
		{"DATA to listener", []byte{0, 3, 0, 1, 'x'}, CodeIllegalOperation, "malformed"},
		{"one byte", []byte{0}, CodeIllegalOperation, "malformed"},
		{"option without value", append(rrq(opRRQ, "f", "octet"), "blksize\x00"...), CodeIllegalOperation, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := testutil.ToFloat64(srv.m.refused.WithLabelValues(tt.reason))
			c := newRawClient(t, srv.addr, "127.0.0.1:0")
			c.send(tt.pkt)
			code, msg, ok := tftpErr(c.mustRecv(2 * time.Second))
			if !ok || code != tt.code {
				t.Fatalf("got ERROR %d %q (ok %v), want code %d", code, msg, ok, tt.code)
			}
			waitFor(t, func() bool { return testutil.ToFloat64(srv.m.refused.WithLabelValues(tt.reason)) == before+1 })
		})
	}
	// ACK and ERROR packets on the listener are strays: never answered.
	c := newRawClient(t, srv.addr, "127.0.0.1:0")
	c.send([]byte{0, opACK, 0, 1})
	c.send(appendError(nil, CodeUndefined, "x"))
	if p, err := c.recv(200 * time.Millisecond); !errors.Is(err, errNoPacket) {
		t.Fatalf("stray packet answered: % x %v", p, err)
	}
}

func TestLimits(t *testing.T) {
	srv := startServer(t, fstest.MapFS{"f": {Data: randBytes(t, 10000)}}, Options{MaxTransfers: 2, MaxTransfersPerClient: 1})
	open := func(local string) (*rawClient, []byte) {
		c := newRawClient(t, srv.addr, local)
		c.send(rrq(opRRQ, "f", "octet", "tsize", "0"))
		return c, c.mustRecv(2 * time.Second)
	}
	a, p := open("127.0.0.1:0")
	if _, ok := oack(p); !ok {
		t.Fatalf("first transfer refused: % x", p)
	}
	// Same IP, other port: over the per-client limit.
	_, p = open("127.0.0.1:0")
	if code, msg, ok := tftpErr(p); !ok || code != CodeUndefined || !strings.Contains(msg, "busy") {
		t.Fatalf("second transfer from 127.0.0.1: % x, want busy", p)
	}
	// Another IP: allowed.
	b, p := open("127.0.0.2:0")
	if _, ok := oack(p); !ok {
		t.Fatalf("transfer from 127.0.0.2 refused: % x", p)
	}
	// A third IP: over the global limit.
	_, p = open("127.0.0.3:0")
	if code, _, ok := tftpErr(p); !ok || code != CodeUndefined {
		t.Fatalf("third transfer: % x, want busy", p)
	}
	if got := testutil.ToFloat64(srv.m.refused.WithLabelValues("client_busy")); got != 1 {
		t.Errorf("refused{client_busy} %v, want 1", got)
	}
	if got := testutil.ToFloat64(srv.m.refused.WithLabelValues("server_busy")); got != 1 {
		t.Errorf("refused{server_busy} %v, want 1", got)
	}
	if got := testutil.ToFloat64(srv.m.active); got != 2 {
		t.Errorf("active %v, want 2", got)
	}
	// Ending a transfer frees its slots.
	a.sendError(CodeOptionRefused, "")
	b.sendError(CodeOptionRefused, "")
	waitFor(t, func() bool { return testutil.ToFloat64(srv.m.active) == 0 })
	c, p := open("127.0.0.3:0")
	if _, ok := oack(p); !ok {
		t.Fatalf("transfer after release refused: % x", p)
	}
	c.sendError(CodeOptionRefused, "")
}

// TestDuplicateRequest: a client repeating its RRQ before the first answer
// gets one transfer, not two.
func TestDuplicateRequest(t *testing.T) {
	srv := startServer(t, fstest.MapFS{"f": {Data: randBytes(t, 100)}}, Options{})
	c := newRawClient(t, srv.addr, "127.0.0.1:0")
	req := rrq(opRRQ, "f", "octet", "tsize", "0")
	c.send(req)
	c.send(req)
	c.mustRecv(2 * time.Second)
	if p, err := c.recv(300 * time.Millisecond); !errors.Is(err, errNoPacket) {
		t.Fatalf("second answer: % x %v", p, err)
	}
	if got := testutil.ToFloat64(srv.m.started); got != 1 {
		t.Fatalf("started %v, want 1", got)
	}
	c.sendError(CodeOptionRefused, "")
}

func TestNetascii(t *testing.T) {
	srv := startServer(t, fstest.MapFS{"t.txt": {Data: []byte("a\nb\rc\r\n")}}, Options{})
	c := newRawClient(t, srv.addr, "127.0.0.1:0")
	c.send(rrq(opRRQ, "t.txt", "NetASCII", "tsize", "0", "blksize", "512"))
	m, ok := oack(c.mustRecv(2 * time.Second))
	if !ok {
		t.Fatal("no OACK")
	}
	if _, ok := m["tsize"]; ok {
		t.Errorf("tsize offered for netascii, whose size differs from the file's")
	}
	c.ack(0)
	got, err := c.receive(512, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if want := "a\r\nb\r\x00c\r\x00\r\n"; string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestShutdown cancels Serve in the middle of a transfer: the client is told,
// Serve returns, and the caller's listener can serve again.
func TestShutdown(t *testing.T) {
	data := randBytes(t, 50000)
	srv, err := New(fstest.MapFS{"f": {Data: data}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	addr := conn.LocalAddr().(*net.UDPAddr)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, conn) }()
	c := newRawClient(t, addr, "127.0.0.1:0")
	c.send(rrq(opRRQ, "f", "octet", "tsize", "0"))
	c.mustRecv(2 * time.Second) // OACK; never acknowledged
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve still running 5 s after cancel")
	}
	for {
		p := c.mustRecv(2 * time.Second)
		if code, msg, ok := tftpErr(p); ok {
			if code != CodeUndefined || !strings.Contains(msg, "shutting down") {
				t.Fatalf("ERROR %d %q", code, msg)
			}
			break
		}
	}
	if got := testutil.ToFloat64(srv.m.failed.WithLabelValues("shutdown")); got != 1 {
		t.Errorf("failed{shutdown} %v, want 1", got)
	}

	// Serve again on the same listener.
	ctx2, cancel2 := context.WithCancel(t.Context())
	go func() { done <- srv.Serve(ctx2, conn) }()
	got, _, err := pinGet(t, addr, "f", 1468, false)
	cancel2()
	if serr := <-done; serr != nil {
		t.Errorf("second Serve: %v", serr)
	}
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("after restart: %d bytes, %v", len(got), err)
	}
}

func TestServeErrors(t *testing.T) {
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New(nil) succeeded")
	}
	srv, err := New(fstest.MapFS{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(t.Context(), nil); err == nil {
		t.Error("Serve(nil conn) succeeded")
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if err := srv.Serve(t.Context(), conn); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve on a closed conn: %v, want net.ErrClosed", err)
	}
	// The same Registerer twice: the second New fails.
	reg := testRegistry()
	if _, err := New(fstest.MapFS{}, Options{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(fstest.MapFS{}, Options{Registerer: reg}); err == nil {
		t.Error("second registration succeeded")
	}
}

func TestOptionsDefaultsOnCopy(t *testing.T) {
	var o Options
	got := o.withDefaults()
	if o != (Options{}) {
		t.Fatalf("withDefaults wrote into the caller's Options: %+v", o)
	}
	want := Options{Logger: got.Logger, MaxTransfers: DefaultMaxTransfers, MaxTransfersPerClient: DefaultMaxTransfersPerClient,
		MaxBlockSize: DefaultMaxBlockSize, MaxWindowSize: DefaultMaxWindowSize, Anticipate: DefaultAnticipate,
		Timeout: DefaultTimeout, Retries: DefaultRetries, MaxNameLen: DefaultMaxNameLen}
	if got != want || got.Logger == nil {
		t.Fatalf("defaults %+v, want %+v", got, want)
	}
	if c := (Options{MaxBlockSize: 3}).withDefaults().MaxBlockSize; c != 8 {
		t.Errorf("MaxBlockSize 3 clamped to %d, want 8", c)
	}
	if c := (Options{MaxBlockSize: 1 << 20}).withDefaults().MaxBlockSize; c != 65464 {
		t.Errorf("MaxBlockSize 1 MiB clamped to %d, want 65464", c)
	}
}

var _ io.Reader = (*netasciiReader)(nil)

// TestSamePortNewRequest: a client that ends a size probe with ERROR 8 and
// at once asks again from the same port (as a firmware client may) gets a
// second transfer, even if the first has not noticed its end yet.
func TestSamePortNewRequest(t *testing.T) {
	data := randBytes(t, 20000)
	srv := startServer(t, fstest.MapFS{"f": {Data: data}}, Options{})
	for i := range 20 {
		c := newRawClient(t, srv.addr, "127.0.0.1:0")
		c.send(rrq(opRRQ, "f", "octet", "tsize", "0", "blksize", "1468", "windowsize", "4"))
		if _, ok := oack(c.mustRecv(2 * time.Second)); !ok {
			t.Fatalf("round %d: no OACK", i)
		}
		c.sendError(CodeOptionRefused, "")
		c.tid = nil
		c.send(rrq(opRRQ, "f", "octet", "blksize", "1468", "windowsize", "4"))
		p := c.mustRecv(time.Second) // no client retransmission: the first answer must come
		if _, ok := oack(p); !ok {
			t.Fatalf("round %d: second request answered with % x", i, p[:min(len(p), 8)])
		}
		c.ack(0)
		got, err := c.receiveNoDally(1468, 4, time.Second)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round %d: %d bytes, %v", i, len(got), err)
		}
	}
}
