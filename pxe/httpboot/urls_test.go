package httpboot_test

import (
	"net"
	"testing"

	"github.com/atoll-edge/atoll/pxe/httpboot"
)

func TestURLHelpers(t *testing.T) {
	mac, _ := net.ParseMAC("52:54:00:12:34:56")
	for got, want := range map[string]string{
		httpboot.ScriptURL("http://10.0.0.1:8080/", "{mac}"):  "http://10.0.0.1:8080/ipxe/{mac}",
		httpboot.StatusURL("http://10.0.0.1", mac):            "http://10.0.0.1/v1/hosts/52:54:00:12:34:56/status",
		httpboot.BootFileURL("http://10.0.0.1/", "/ipxe.efi"): "http://10.0.0.1/boot/ipxe.efi",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if _, err := httpboot.ParseMAC("52:54:00:12:34:56:78:9a"); err == nil {
		t.Error("ParseMAC accepted an 8-byte address")
	}
}
