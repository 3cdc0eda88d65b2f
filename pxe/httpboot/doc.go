// Package httpboot is the HTTP side of network booting: an [http.Handler]
// that serves boot images, UEFI HTTP boot files, per-host iPXE scripts and
// OSTree archive repositories, and receives the status reports of booted
// hosts.
//
// # Sections
//
// # Routes
//
//	GET, HEAD /images/{name}            an image from the ImageSource (ETag = its SHA-256)
//	GET, HEAD /boot/{path}              a file under Options.BootFiles (ipxe.efi, snponly.efi, ...)
//	GET, HEAD /ipxe/{mac}[.ipxe]        the host's iPXE script, from Options.Hosts and Options.Script
//	GET, HEAD /ostree/{repo}/{path}     an OSTree archive repository, as `ostree pull` fetches it
//	POST      /v1/hosts/{mac}/status    a booted host reports its state to Options.Status
//
// Routing is a switch on fixed path prefixes: no pattern matching, no
// per-request allocation beyond what net/http and the file open need.
// Files go out through [http.ServeContent] on an [*os.File], so bodies are
// sent with sendfile(2) and Range, If-None-Match, If-Modified-Since and HEAD
// behave as clients expect. A MAC in a path may be written with colons or
// hyphens, which is what the "{mac}" and "{mac-}" forms of the DHCP server's
// script URL template produce (see [ScriptURL]).
//
// # OSTree repositories
//
// Only the parts of an archive repository a client reads are reachable:
// config, summary, summary.sig, refs/..., objects/..., deltas/...,
// delta-indexes/... and summaries/.... Objects and deltas are content
// addressed and sent as immutable; refs, config and the summary are
// revalidated. Keep-alive is net/http's default, which matters: a pull is
// thousands of small GETs on one connection.
//
// # Path safety
//
// Every path element must be 1..255 bytes of [A-Za-z0-9._+-] and must not
// start with a dot, checked on the decoded URL path: "..", "%2e%2e",
// double-encoded "%252e%252e", backslashes, NUL bytes, empty elements and
// absolute paths are all refused with 404. Files are then opened confined to
// the tree, so a symbolic link inside it cannot lead outside: on Linux with
// one openat2(2) call resolved RESOLVE_BENEATH on the root's directory (one
// system call where [os.Root] walks one openat per path element: it halves
// the handler's cost per OSTree object), elsewhere through [os.Root].
//
// # iPXE scripts
//
// A [HostLookup] gives the [Host] for a MAC: kernel, initrds (image names or
// absolute URLs) and command line. The script is rendered from a
// text/template ([DefaultScript] unless Options.Script is set) with
// [ScriptData]. The default script names every initrd and passes
// initrd=NAME on the command line (EFI kernels need it) and passes
// atoll.status_url=URL so that the installer knows where to report.
//
// # Host status callback
//
// The "install complete" callback lives here, beside the files the host
// booted from, because this is the one Atoll endpoint a freshly booted
// installer is known to reach: the same server, address and port its kernel
// came from, needing no credentials, TLS client or extra route. A host POSTs
//
//	POST /v1/hosts/{mac}/status
//	Content-Type: application/json
//
//	{"state": "install-complete", "message": "optional detail"}
//
// The state must be a [HostState] (booted, installing, install-complete,
// install-failed); the body is at most 4 KiB and unknown fields are refused.
// The handler validates the report and hands a [HostStatus] to the
// [StatusSink] the caller provides; the daemon routes it to the subcloud's
// install phase (an install-complete moves the subcloud from installing to
// install-complete). Answers: 200 accepted (with a JSON echo {"mac", "state"}: minimal
// installer clients such as busybox wget handle a body more reliably than
// 204), 400 invalid, 404 unknown host
// (the sink returned [ErrUnknownHost]), 405, 413, 415, and 503 when the sink
// failed, so the host retries. Error bodies are JSON {"code", "message"}.
//
// # Metrics
//
// atoll_pxe_http_requests_total{route,code}, atoll_pxe_http_response_bytes_total{route},
// atoll_pxe_http_request_duration_seconds{route} and
// atoll_pxe_http_host_status_total{state}, registered on Options.Registerer.
package httpboot
