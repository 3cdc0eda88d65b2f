package udpserve_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/atoll-edge/atoll/pxe/internal/udpserve"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestServe echoes datagrams in upper case from several workers, stops
// with nil when the context ends (leaving the conn open), and returns the
// read error of a conn closed under it.
func TestServe(t *testing.T) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var handled atomic.Int64
	echo := func(_ context.Context, b []byte, peer net.Addr) ([]byte, net.Addr) {
		handled.Add(1)
		if string(b) == "drop" {
			return nil, nil
		}
		return bytes.ToUpper(b), peer
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- udpserve.Serve(ctx, conn, echo, udpserve.Options{Workers: 4, BufSize: 64}) }()

	client, err := net.Dial("udp", conn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	client.Write([]byte("drop"))
	buf := make([]byte, 64)
	for _, msg := range []string{"hello", "pxe"} {
		if _, err := client.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		client.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := client.Read(buf)
		if err != nil || string(buf[:n]) != string(bytes.ToUpper([]byte(msg))) {
			t.Fatalf("reply to %q: %q %v", msg, buf[:n], err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after cancel: %v", err)
	}
	if handled.Load() != 3 {
		t.Errorf("handled %d datagrams, want 3", handled.Load())
	}
	// The conn is still the caller's: usable after Serve.
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}

	go func() {
		done <- udpserve.Serve(context.Background(), conn, echo, udpserve.Options{Workers: 2, BufSize: 64})
	}()
	time.Sleep(50 * time.Millisecond)
	conn.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Serve on a closed conn: %v, want net.ErrClosed", err)
	}
}
