package tftpd

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
)

// Sentinel errors. Every error the package reports wraps one of them, so
// callers test with [errors.Is]; [*RequestError] and [*TransferError] add the
// request and transfer context and are reached with [errors.As].
var (
	// ErrMalformed reports a request packet that does not follow RFC 1350 and
	// RFC 2347 (missing NUL terminators, unknown opcode, empty file name).
	ErrMalformed = errors.New("tftpd: malformed request")
	// ErrWriteRefused reports a write request (WRQ): the server is read-only.
	ErrWriteRefused = errors.New("tftpd: write requests are refused")
	// ErrMode reports a transfer mode other than octet and netascii.
	ErrMode = errors.New("tftpd: unsupported transfer mode")
	// ErrUnsafePath reports a file name that could reach outside the root:
	// "..", absolute paths, backslashes, NUL and control bytes, invalid
	// UTF-8, percent-encoded bytes, empty or "." elements.
	ErrUnsafePath = errors.New("tftpd: unsafe file name")
	// ErrNameTooLong reports a file name longer than Options.MaxNameLen.
	ErrNameTooLong = errors.New("tftpd: file name too long")
	// ErrNotFound reports a file that does not exist under the root. It
	// matches [io/fs.ErrNotExist] too.
	ErrNotFound = fmt.Errorf("tftpd: file not found: %w", fs.ErrNotExist)
	// ErrAccess reports a file the root refused to open for another reason
	// than its absence: no permission, or a symbolic link that leads out of
	// an [os.Root].
	ErrAccess = errors.New("tftpd: access denied")
	// ErrNotRegular reports a directory, device or other non-regular file.
	ErrNotRegular = errors.New("tftpd: not a regular file")
	// ErrServerBusy reports a request refused because
	// Options.MaxTransfers transfers are already running.
	ErrServerBusy = errors.New("tftpd: too many transfers")
	// ErrClientBusy reports a request refused because its client IP already
	// runs Options.MaxTransfersPerClient transfers.
	ErrClientBusy = errors.New("tftpd: too many transfers from this client")
	// ErrTimeout reports a transfer abandoned after Options.Retries
	// retransmissions without an acknowledgement.
	ErrTimeout = errors.New("tftpd: client stopped acknowledging")
	// ErrClientAbort reports a transfer the client ended with a TFTP ERROR
	// packet. An abort right after the option acknowledgement (a size probe,
	// as OVMF sends) is a normal end and is not logged as a failure.
	ErrClientAbort = errors.New("tftpd: client aborted the transfer")
	// ErrClientGone reports a transfer whose client stopped listening (an
	// ICMP port unreachable came back).
	ErrClientGone = errors.New("tftpd: client went away")
	// ErrShutdown reports a transfer cut short because Serve's context ended.
	ErrShutdown = errors.New("tftpd: server shutting down")
)

// RequestError is a refused request: the client got a TFTP ERROR packet and no
// data. Err is one of the sentinel errors.
type RequestError struct {
	Client   netip.AddrPort // who asked
	Filename string         // the file name as sent, possibly unsafe
	Err      error          // why it was refused
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("request %q from %s: %v", e.Filename, e.Client, e.Err)
}

func (e *RequestError) Unwrap() error { return e.Err }

// TransferError is a transfer that started and did not complete.
type TransferError struct {
	Client   netip.AddrPort // the client's address and transfer ID
	Filename string         // the cleaned file name
	Block    uint64         // the last block the client acknowledged (not wrapped)
	Err      error          // why it ended
}

func (e *TransferError) Error() string {
	return fmt.Sprintf("transfer %q to %s after block %d: %v", e.Filename, e.Client, e.Block, e.Err)
}

func (e *TransferError) Unwrap() error { return e.Err }
