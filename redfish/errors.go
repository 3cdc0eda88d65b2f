package redfish

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/stmcginnis/gofish/schemas"
)

// Sentinel errors. Every error the client returns is an [*Error] that
// wraps one of these when it applies; test with errors.Is.
var (
	// ErrUnauthorized: the BMC refused the credentials (HTTP 401) or the
	// account's rights (HTTP 403).
	ErrUnauthorized = errors.New("redfish: unauthorized")
	// ErrNotFound: a resource the operation needs does not exist (HTTP 404).
	ErrNotFound = errors.New("redfish: not found")
	// ErrNoVirtualMedia: the BMC offers no CD/DVD-capable virtual media slot.
	ErrNoVirtualMedia = errors.New("redfish: no CD/DVD virtual media slot")
	// ErrTimeout: the operation did not finish in time (the context's
	// deadline, a task or a power transition that did not end).
	ErrTimeout = errors.New("redfish: timeout")
	// ErrUnavailable: the BMC kept failing with 5xx or network errors until
	// the retry budget ran out.
	ErrUnavailable = errors.New("redfish: BMC unavailable")
	// ErrUnsupported: the BMC does not offer what was asked (a boot target
	// or power action outside its allowable values, HTTP 405/501).
	ErrUnsupported = errors.New("redfish: unsupported")
	// ErrTaskFailed: a task ended in a state other than Completed.
	ErrTaskFailed = errors.New("redfish: task failed")
	// ErrRejected: the BMC refused the request as invalid (any other 4xx).
	ErrRejected = errors.New("redfish: request rejected")
	// ErrInstallFailed: the caller's install-complete condition reported
	// an error.
	ErrInstallFailed = errors.New("redfish: install failed")
)

// Error is the error every BMC operation returns.
type Error struct {
	// BMC is the BMC's address as given in the Endpoint.
	BMC string
	// Op names the operation ("power", "insert-media", ...).
	Op string
	// StatusCode is the HTTP status, 0 when the failure was not an HTTP
	// answer (network error, timeout).
	StatusCode int
	// Code is the Redfish message identifier from the error body, if any.
	Code string
	// Message is the BMC's message or a description of the failure.
	Message string
	// Attempts is the number of HTTP attempts the operation made.
	Attempts int

	kind  error // one of the sentinels, or nil
	cause error
}

// Error names the BMC, the operation, the status and the BMC's message.
func (e *Error) Error() string {
	msg := fmt.Sprintf("redfish: bmc %s: %s", e.BMC, e.Op)
	if e.StatusCode != 0 {
		msg += fmt.Sprintf(": HTTP %d", e.StatusCode)
	}
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Unwrap returns the sentinel and the underlying cause.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// kindForStatus maps an HTTP status to a sentinel.
func kindForStatus(code int) error {
	switch {
	case code == http.StatusUnauthorized, code == http.StatusForbidden:
		return ErrUnauthorized
	case code == http.StatusNotFound:
		return ErrNotFound
	case code == http.StatusMethodNotAllowed, code == http.StatusNotImplemented:
		return ErrUnsupported
	case code >= 500:
		return ErrUnavailable
	case code >= 400:
		return ErrRejected
	}
	return nil
}

// transient reports whether err is worth another attempt: 5xx answers
// (but 501), timeouts of one attempt, and connections refused, reset or
// dropped. Never 4xx, never the caller's own cancellation.
func transient(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var se *schemas.Error
	if errors.As(err, &se) {
		if se.HTTPReturnedStatusCode == 0 {
			return false // gofish's own failure, not an HTTP answer
		}
		return se.HTTPReturnedStatusCode >= 500 && se.HTTPReturnedStatusCode != http.StatusNotImplemented
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

// newError builds the *Error for a failed operation.
func (c *Client) newError(ctx context.Context, op string, attempts int, err error) *Error {
	var already *Error
	if errors.As(err, &already) {
		return already
	}
	e := &Error{BMC: c.ep.Address, Op: op, Attempts: attempts, cause: err}
	var se *schemas.Error
	switch {
	case errors.As(err, &se) && se.HTTPReturnedStatusCode != 0:
		e.StatusCode = se.HTTPReturnedStatusCode
		e.Code = se.Code
		e.Message = se.Message
		if len(se.ExtendedInfos) > 0 {
			if e.Code == "" {
				e.Code = se.ExtendedInfos[0].MessageID
			}
			if m := se.ExtendedInfos[0].Message; m != "" {
				e.Message = m
			}
		}
		e.kind = kindForStatus(e.StatusCode)
		e.cause = nil // the status, code and message say it all
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		e.kind = ErrTimeout
		e.Message = err.Error()
	case transient(context.Background(), err):
		e.kind = ErrUnavailable
		e.Message = err.Error()
	default:
		for _, k := range []error{ErrNoVirtualMedia, ErrUnsupported, ErrTaskFailed, ErrTimeout, ErrNotFound, ErrInstallFailed} {
			if errors.Is(err, k) {
				e.kind = k
			}
		}
		e.Message = err.Error()
	}
	return e
}
