package httpboot_test

import (
	"strings"
	"testing"
)

func TestScript(t *testing.T) {
	f := newFixture(t, nil)
	for _, mac := range []string{"52:54:00:12:34:56", "52-54-00-12-34-56", "52:54:00:12:34:56.ipxe", "52-54-00-12-34-56.ipxe"} {
		body, h := curl(t, f.srv.URL+"/ipxe/"+mac)
		if !strings.Contains(statusLine(h), "200") {
			t.Fatalf("%s: %s", mac, statusLine(h))
		}
		want := "#!ipxe\n" +
			"echo Atoll: booting 52:54:00:12:34:56 (subcloud1)\n" +
			"kernel " + f.srv.URL + "/images/vmlinuz initrd=initrd.img console=ttyS0,115200 quiet atoll.status_url=" + f.srv.URL + "/v1/hosts/52:54:00:12:34:56/status\n" +
			"initrd --name initrd.img " + f.srv.URL + "/images/initrd.img\n" +
			"boot\n"
		if string(body) != want {
			t.Fatalf("script for %s:\n%s\nwant:\n%s", mac, body, want)
		}
		if header(h, "Cache-Control") != "no-store" {
			t.Errorf("Cache-Control = %q", header(h, "Cache-Control"))
		}
	}
	for _, p := range []string{"/ipxe/52:54:00:00:00:01", "/ipxe/zz", "/ipxe/", "/ipxe/52:54:00:12:34:56:78:9a"} {
		if _, h := curl(t, f.srv.URL+p); !strings.Contains(statusLine(h), "404") {
			t.Errorf("%s: %s", p, statusLine(h))
		}
	}
}
