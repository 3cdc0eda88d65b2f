package pxe_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/atoll-edge/atoll/pxe"
)

func Example() {
	dir, _ := os.MkdirTemp("", "pxe-example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "ipxe.efi"), []byte("MZ..."), 0o644)

	// HTTP boot only; add DHCP and TFTP blocks to serve those too.
	srv, err := pxe.New(pxe.Config{
		HTTP: &pxe.HTTPConfig{Addr: "127.0.0.1:0", BootRoot: dir},
	}, pxe.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()

	resp, err := http.Get("http://" + srv.HTTPAddr().String() + "/boot/ipxe.efi")
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"), string(b))

	cancel()
	fmt.Println(<-done)
	// Output:
	// 200 application/efi MZ...
	// <nil>
}
