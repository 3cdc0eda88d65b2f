// Package e2e holds the end-to-end network boot test: a real qemu guest
// boots from Atoll's DHCP, TFTP and HTTP servers and reports back through
// the host status callback. It has no API; everything is in its tests.
//
// # Sections
//
// # What runs
//
// The test creates a network namespace (atoll-e2e-PID) holding a bridge
// (10.77.0.1/24, fd77::1/64) and a tap. Atoll's servers (pxe.Server with
// DHCP on the bridge, TFTP serving /usr/lib/ipxe and HTTP on port 8080) run
// in it as a separate process: the test binary re-executed under
// `ip netns exec` with ATOLL_E2E_SERVER set, which also sends IPv6 router
// advertisements so that iPXE does not wait for one. qemu-system-x86_64
// (TCG, virtio-net) runs in the namespace too. Under SeaBIOS the NIC's iPXE
// ROM asks DHCP, gets its script URL, and loads Debian's kernel and a
// busybox initramfs the test built; under OVMF (with the NIC ROM off) the
// firmware's own PXE client loads snponly.efi over TFTP first. The
// initramfs takes a lease with udhcpc and POSTs install-complete to the
// URL the script put on its command line, then powers off. The test
// asserts that the report arrived from an address of Atoll's pool.
//
// # Requirements
//
// Root (network namespaces, /dev/net/tun), and the Debian packages
// qemu-system-x86 ipxe-qemu ipxe ovmf busybox-static iproute2, and apt
// access to download the kernel package linux-image-amd64 depends on; it is
// cached, extracted, under $XDG_CACHE_HOME/atoll-e2e or
// /var/cache/atoll-e2e. Without them the tests skip and say what to install.
//
// # Cleanup
//
// The namespace, its links and every process the test started are removed
// when the test ends, also on failure. Namespaces left by a run killed with
// SIGKILL (their PID no longer alive) are removed, with their processes, by
// the next run.
package e2e
