package tftpd

import (
	"bytes"
	"strconv"
	"testing"
	"testing/fstest"
	"time"
)

// BenchmarkTransfer downloads a 4 MiB file over loopback with an in-process
// client; the MB/s column is the file rate. The peer comparison with real
// clients and servers is `make bench-tftpd`.
func BenchmarkTransfer(b *testing.B) {
	data := randBytes(b, 4<<20)
	for _, bc := range []struct {
		name       string
		anticipate int
		blksize    int
		window     int
	}{
		{"lockstep/blksize=512", 1, 512, 0},
		{"lockstep/blksize=1468", 1, 1468, 0},
		{"anticipate=4/blksize=1468", 4, 1468, 0},
		{"anticipate=default/blksize=1468", 0, 1468, 0},
		{"windowsize=4/blksize=1468", 0, 1468, 4},
		{"windowsize=16/blksize=1468", 0, 1468, 16},
		{"windowsize=4/blksize=8192", 0, 8192, 4},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv := startServer(b, fstest.MapFS{"f": {Data: data}}, Options{Anticipate: bc.anticipate})
			opts := []string{"blksize", strconv.Itoa(bc.blksize)}
			if bc.window > 0 {
				opts = append(opts, "windowsize", strconv.Itoa(bc.window))
			}
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for b.Loop() {
				c := newRawClient(b, srv.addr, "127.0.0.1:0")
				c.send(rrq(opRRQ, "f", "octet", opts...))
				if _, ok := oack(c.mustRecv(2 * time.Second)); !ok {
					b.Fatal("no OACK")
				}
				c.ack(0)
				got, err := c.receiveNoDally(bc.blksize, max(bc.window, 1), time.Second)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != len(data) {
					b.Fatalf("got %d bytes", len(got))
				}
				c.conn.Close()
			}
		})
	}
}

func BenchmarkParseRequest(b *testing.B) {
	p := rrq(opRRQ, "boot/snponly.efi", "octet", "tsize", "0", "blksize", "1468", "windowsize", "4")
	for b.Loop() {
		r, err := ParseRequest(p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := CleanName(r.Filename, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBenchmarkClientMatchesFile(t *testing.T) {
	// The benchmark's client path must really receive the file.
	data := randBytes(t, 100000)
	srv := startServer(t, fstest.MapFS{"f": {Data: data}}, Options{})
	c := newRawClient(t, srv.addr, "127.0.0.1:0")
	c.send(rrq(opRRQ, "f", "octet", "blksize", "1468", "windowsize", "16"))
	if _, ok := oack(c.mustRecv(2 * time.Second)); !ok {
		t.Fatal("no OACK")
	}
	c.ack(0)
	got, err := c.receiveNoDally(1468, 16, time.Second)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("%d bytes, %v", len(got), err)
	}
}
