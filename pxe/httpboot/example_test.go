package httpboot_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/atoll-edge/atoll/pxe/httpboot"
	"github.com/atoll-edge/atoll/pxe/imagestore"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "httpboot-example")
	defer os.RemoveAll(dir)
	store, _ := imagestore.Open(dir, imagestore.Options{})
	defer store.Close()
	store.Register(ctx, "vmlinuz", "6.1", strings.NewReader("kernel"), "")

	h, err := httpboot.New(httpboot.Options{
		Images:  store,
		BaseURL: "http://192.0.2.1:8080",
		Hosts: httpboot.HostLookupFunc(func(ctx context.Context, mac net.HardwareAddr) (httpboot.Host, error) {
			return httpboot.Host{Name: "subcloud1", Kernel: "vmlinuz", Cmdline: "console=ttyS0"}, nil
		}),
		Status: httpboot.StatusSinkFunc(func(ctx context.Context, s httpboot.HostStatus) error {
			fmt.Println("status:", s.MAC, s.State)
			return nil
		}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, _ := http.Get(srv.URL + "/images/vmlinuz")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body), resp.Header.Get("ETag") != "")

	resp, _ = http.Get(srv.URL + "/ipxe/52-54-00-12-34-56")
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(string(body))

	resp, _ = http.Post(srv.URL+"/v1/hosts/52:54:00:12:34:56/status", "application/json",
		strings.NewReader(`{"state":"install-complete"}`))
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output:
	// 200 kernel true
	// #!ipxe
	// echo Atoll: booting 52:54:00:12:34:56 (subcloud1)
	// kernel http://192.0.2.1:8080/images/vmlinuz console=ttyS0 atoll.status_url=http://192.0.2.1:8080/v1/hosts/52:54:00:12:34:56/status
	// boot
	// status: 52:54:00:12:34:56 install-complete
	// 200
}
