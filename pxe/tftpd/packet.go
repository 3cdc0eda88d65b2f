package tftpd

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// TFTP opcodes (RFC 1350, RFC 2347).
const (
	opRRQ   = 1
	opWRQ   = 2
	opDATA  = 3
	opACK   = 4
	opERROR = 5
	opOACK  = 6
)

// ErrorCode is a TFTP error code carried in an ERROR packet (RFC 1350, RFC 2347).
type ErrorCode uint16

// TFTP error codes.
const (
	CodeUndefined        ErrorCode = 0 // not defined, see the message
	CodeNotFound         ErrorCode = 1 // file not found
	CodeAccessViolation  ErrorCode = 2 // access violation
	CodeDiskFull         ErrorCode = 3 // disk full or allocation exceeded
	CodeIllegalOperation ErrorCode = 4 // illegal TFTP operation
	CodeUnknownTID       ErrorCode = 5 // unknown transfer ID
	CodeFileExists       ErrorCode = 6 // file already exists
	CodeNoSuchUser       ErrorCode = 7 // no such user
	CodeOptionRefused    ErrorCode = 8 // option negotiation refused (RFC 2347)
)

// Mode is a transfer mode of a request.
type Mode string

// Transfer modes. Mode names are matched without regard to case.
const (
	ModeOctet    Mode = "octet"
	ModeNetascii Mode = "netascii"
)

// Option names this server negotiates.
const (
	optBlksize    = "blksize"    // RFC 2348
	optTsize      = "tsize"      // RFC 2349
	optTimeout    = "timeout"    // RFC 2349
	optWindowsize = "windowsize" // RFC 7440
)

// Option is one option of a request, as sent (RFC 2347). Name is lower-cased.
type Option struct {
	Name  string
	Value string
}

// Request is a parsed read or write request.
type Request struct {
	Write    bool     // a WRQ; this server refuses those
	Filename string   // the file name exactly as sent; not yet checked
	Mode     Mode     // lower-cased transfer mode
	Options  []Option // options in the order sent; names lower-cased, later duplicates dropped
}

// Option returns the value of the named option (lower-case name) and whether
// the request carried it.
func (r *Request) Option(name string) (string, bool) {
	for _, o := range r.Options {
		if o.Name == name {
			return o.Value, true
		}
	}
	return "", false
}

// ParseRequest parses an RRQ or WRQ packet. It checks the framing only; the
// file name is checked by [CleanName] and the options by the server. Errors
// wrap [ErrMalformed] or [ErrMode].
func ParseRequest(p []byte) (Request, error) {
	var r Request
	if len(p) < 2 {
		return r, fmt.Errorf("%w: %d-byte packet", ErrMalformed, len(p))
	}
	switch op := binary.BigEndian.Uint16(p); op {
	case opRRQ:
	case opWRQ:
		r.Write = true
	default:
		return r, fmt.Errorf("%w: opcode %d is not a request", ErrMalformed, op)
	}
	// Fields are NUL-terminated strings: filename, mode, then name/value pairs.
	rest := p[2:]
	next := func() (string, bool) {
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			return "", false
		}
		s := string(rest[:i])
		rest = rest[i+1:]
		return s, true
	}
	name, ok := next()
	if !ok {
		return r, fmt.Errorf("%w: file name not terminated", ErrMalformed)
	}
	if name == "" {
		return r, fmt.Errorf("%w: empty file name", ErrMalformed)
	}
	r.Filename = name
	mode, ok := next()
	if !ok {
		return r, fmt.Errorf("%w: mode not terminated", ErrMalformed)
	}
	switch m := Mode(strings.ToLower(mode)); m {
	case ModeOctet, ModeNetascii:
		r.Mode = m
	default:
		return r, fmt.Errorf("%w: %q", ErrMode, mode)
	}
	for len(rest) > 0 {
		on, ok := next()
		if !ok {
			// Some clients pad requests with garbage after the last NUL;
			// an unterminated tail carries no option, so it is ignored.
			break
		}
		ov, ok := next()
		if !ok {
			return r, fmt.Errorf("%w: option %q has no value", ErrMalformed, on)
		}
		if on == "" {
			continue
		}
		on = strings.ToLower(on)
		if _, dup := r.Option(on); dup {
			continue
		}
		r.Options = append(r.Options, Option{Name: on, Value: ov})
	}
	return r, nil
}

// parseUint parses a decimal option value in [lo, hi].
func parseUint(s string, lo, hi uint64) (uint64, bool) {
	if s == "" || len(s) > 20 {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, false
	}
	return v, true
}

// appendOACK appends an OACK packet with the given options.
func appendOACK(b []byte, opts []Option) []byte {
	b = binary.BigEndian.AppendUint16(b, opOACK)
	for _, o := range opts {
		b = append(b, o.Name...)
		b = append(b, 0)
		b = append(b, o.Value...)
		b = append(b, 0)
	}
	return b
}

// appendError appends an ERROR packet.
func appendError(b []byte, code ErrorCode, msg string) []byte {
	b = binary.BigEndian.AppendUint16(b, opERROR)
	b = binary.BigEndian.AppendUint16(b, uint16(code))
	b = append(b, msg...)
	return append(b, 0)
}

// parseAck reads an ACK or ERROR packet from a client during a transfer.
// kind is opACK, opERROR or 0 for anything else.
func parseAck(p []byte) (kind uint16, block uint16, code ErrorCode, msg string) {
	if len(p) < 4 {
		return 0, 0, 0, ""
	}
	switch op := binary.BigEndian.Uint16(p); op {
	case opACK:
		return opACK, binary.BigEndian.Uint16(p[2:]), 0, ""
	case opERROR:
		m := p[4:]
		if i := bytes.IndexByte(m, 0); i >= 0 {
			m = m[:i]
		}
		if len(m) > 128 {
			m = m[:128]
		}
		return opERROR, 0, ErrorCode(binary.BigEndian.Uint16(p[2:])), strconv.QuoteToGraphic(string(m))
	}
	return 0, 0, 0, ""
}
