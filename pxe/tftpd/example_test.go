package tftpd_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"testing/fstest"

	"github.com/pin/tftp/v3"

	"github.com/atoll-edge/atoll/pxe/tftpd"
)

func Example() {
	root := fstest.MapFS{"boot/hello.txt": {Data: []byte("hello from atoll\n")}}
	srv, err := tftpd.New(root, tftpd.Options{})
	if err != nil {
		panic(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, conn) }()

	c, err := tftp.NewClient(conn.LocalAddr().String())
	if err != nil {
		panic(err)
	}
	wt, err := c.Receive("boot/hello.txt", "octet")
	if err != nil {
		panic(err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		panic(err)
	}
	fmt.Print(buf.String())

	cancel()
	fmt.Println("serve:", <-done)
	// Output:
	// hello from atoll
	// serve: <nil>
}
