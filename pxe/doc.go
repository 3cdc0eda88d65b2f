// Package pxe serves network boot: it runs any subset of Atoll's DHCP
// ([github.com/atoll-edge/atoll/pxe/dhcpd]), DHCPv6
// ([github.com/atoll-edge/atoll/pxe/dhcpd6]), TFTP
// ([github.com/atoll-edge/atoll/pxe/tftpd]) and HTTP boot
// ([github.com/atoll-edge/atoll/pxe/httpboot]) servers as one [Server].
//
// # Sections
//
// # The packages
//
//	pxe/dhcpd       DHCP (authoritative and proxyDHCP), boot file and iPXE script selection
//	pxe/dhcpd6      DHCPv6 (stateful, relayed), RFC 5970 boot URLs and iPXE script selection
//	pxe/tftpd       read-only TFTP with blksize, tsize, windowsize, timeout
//	pxe/httpboot    images, UEFI HTTP boot files, iPXE scripts, OSTree repositories,
//	                and the host status ("install complete") callback
//	pxe/imagestore  images and OSTree repositories by name and version, content addressed by SHA-256
//	pxe/pxetest     test helpers (real client tools, OSTree repositories)
//	pxe/e2e         a real qemu guest network-booting from Atoll's servers
//
// # Composition
//
// [New] takes a [Config] with one optional block per service and opens the
// sockets (or adopts the ones passed in), so that the bound addresses are
// known before [Server.Serve] runs them under one errgroup. Serve returns
// when its context ends, after a graceful HTTP shutdown, or as soon as one
// service fails, stopping the others; either way it closes every socket.
// Logger and Registerer in [Options] are the default of every service;
// every service registers its own collectors, and the Server adds
// atoll_pxe_service_up{service}.
//
// # Booting a host
//
// A typical flow: the firmware's PXE client gets an address and a TFTP file
// name (snponly.efi, undionly.kpxe) from dhcpd, loads iPXE from tftpd; iPXE
// asks DHCP again and, recognised as iPXE, gets the URL of its script, which
// dhcpd builds from a template such as httpboot.ScriptURL(base, "{mac}").
// httpboot renders the host's script from the [httpboot.HostLookup] the
// caller provides; iPXE then loads kernel and initrd from the image store
// over HTTP. UEFI HTTP boot firmware skips TFTP and fetches /boot/... over
// HTTP directly.
//
// # Install complete
//
// The installer reports back with POST /v1/hosts/{mac}/status on the same
// HTTP server (see package httpboot for why it lives there and the exact
// contract). The handler validates the report and publishes it to the
// [httpboot.StatusSink] in HTTPConfig.Options; the daemon routes it to the
// subcloud's install phase.
package pxe
