// Package tftpd is Atoll's read-only TFTP server for network boot: RFC 1350
// with option negotiation (RFC 2347), blksize (RFC 2348), tsize and timeout
// (RFC 2349) and windowsize (RFC 7440), serving files from an [io/fs.FS].
//
// # Serving
//
// [New] takes the root and an [Options] whose zero value is ready to use;
// [Server.Serve] answers requests on a caller-owned [net.PacketConn] until
// its context ends, then stops every transfer and returns:
//
//	root, err := os.OpenRoot("/srv/tftp")
//	...
//	srv, err := tftpd.New(root.FS(), tftpd.Options{Logger: log, Registerer: reg})
//	conn, err := net.ListenPacket("udp", ":69")
//	err = srv.Serve(ctx, conn)
//
// Each transfer runs on its own ephemeral UDP socket, connected to the
// client, as RFC 1350 requires (the transfer ID). When conn is bound to one
// address the transfer sockets are bound to it too; on a wildcard listener
// the kernel picks the source address by route.
//
// # Files and path safety
//
// The server only reads. Write requests get ERROR 2. Every requested name
// goes through [CleanName], which refuses, without rewriting anything, names
// that could reach outside the root: "..", "." and empty elements, absolute
// paths, backslashes, NUL and control bytes, invalid UTF-8 (overlong "." and
// "/"), percent-encoded bytes and names over Options.MaxNameLen. Serve the
// FS of an [os.Root] ((*os.Root).FS) for a directory: it also refuses
// symbolic links that lead out of the root, which [os.DirFS] follows. Only
// regular files are served. Refusals are logged at Info and counted by reason.
//
// # Options and windows
//
// blksize is granted up to Options.MaxBlockSize, windowsize up to
// Options.MaxWindowSize; tsize is answered with the file size (octet mode);
// timeout, when the client sends it, replaces Options.Timeout as the
// retransmission interval. A client that negotiated windowsize gets that
// many DATA packets per acknowledgement, and an ACK for an earlier block
// restarts the window there, once per position (RFC 7440). A client that
// did not is sent up to Options.Anticipate blocks (64 KiB at most) ahead:
// lock-step clients read them in order from their socket buffer and
// acknowledge each, so the round trip is hidden without changing the
// protocol they see. Their duplicate ACKs are ignored (the Sorcerer's
// Apprentice rule); loss is recovered on the retransmission timer, and each
// timeout halves the anticipation for the rest of the transfer, so a client
// that cannot take bursts ends up served strictly lock-step. On Linux a run
// of full-size blocks leaves in one system call with UDP segmentation
// offload (UDP_SEGMENT).
//
// A client that ends the transfer with an ERROR right after the option
// acknowledgement, as OVMF does to learn a file's size, is a normal end:
// counted as aborted, logged at Debug.
//
// # Limits
//
// Options.MaxTransfers and Options.MaxTransfersPerClient (by IP) bound
// concurrent transfers; a request over either limit gets ERROR 0 "server
// busy". The same request repeated from the same address and port before
// the client answered its transfer is a retransmission and is ignored rather
// than answered twice; any other request from that port starts a new
// transfer.
//
// # Metrics
//
// With Options.Registerer set, the server registers atoll_tftpd_
// transfers_started_total, transfers_completed_total, transfers_aborted_total,
// transfers_failed_total{reason}, requests_refused_total{reason},
// sent_bytes_total, retransmits_total and transfers_active.
//
// # Errors
//
// Errors are values: sentinels such as [ErrUnsafePath], [ErrNotFound] or
// [ErrTimeout] carried by [*RequestError] (refused before any data) and
// [*TransferError] (ended during a transfer), as the "err" attribute of the
// log records; test with [errors.Is] and [errors.As]. Each maps to one TFTP
// error code and one metric reason.
//
// # Design
//
// The protocol is implemented here rather than on github.com/pin/tftp/v3:
// v3.2.0 negotiates only blksize and tsize, so windowsize and the timeout
// option would have needed a second code path beside it, and its per-packet
// design (one unconnected socket read and write per block) leaves no room
// for connected sockets or segmentation offload. The read-only server side
// is small: request parsing, OACK, a sliding window of DATA over a ring
// buffer, retransmission. pin/tftp remains the in-process client of the
// tests and the Example. No clock is injected: the retransmission timer is
// a socket read deadline, which only the real clock drives; tests use short
// timeouts instead.
//
// # Benchmarks
//
// `make bench-tftpd` serves a 40 MiB file to 1 and 20 concurrent clients
// (curl, lock-step; atftp, windowsize 16) from this server, tftpd-hpa,
// dnsmasq and atftpd in one run and prints MiB/s and the ratio to the best
// peer (internal/peerbench), and the server's CPU time per MiB. Atoll is
// measured at the default GOMAXPROCS and at 16: when client processes
// saturate the cores, an OS thread holding one of only two Ps can be
// preempted for a time slice and stall that P's transfers, which a daemon
// avoids with a GOMAXPROCS above the core count (atftpd runs a thread per
// transfer). `go test -bench . ./pxe/tftpd` measures the server against an
// in-process client.
package tftpd
