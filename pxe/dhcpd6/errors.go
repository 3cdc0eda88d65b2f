package dhcpd6

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of these (or
// carry a [*ConfigError]) so callers can test them with [errors.Is].
var (
	// ErrPoolExhausted means every address of the client's pool is bound,
	// advertised or held after a Decline, and none has expired. The client
	// is answered with status NoAddrsAvail.
	ErrPoolExhausted = errors.New("dhcpd6: address pool exhausted")
	// ErrNoPool means no configured pool serves the client's link (the
	// relay's link-address, or the server's own link).
	ErrNoPool = errors.New("dhcpd6: no pool for the client's link")
	// ErrAddressInUse means a client's reserved address is bound to
	// another client.
	ErrAddressInUse = errors.New("dhcpd6: reserved address in use by another client")
	// ErrMalformed means a packet could not be decoded or breaks a rule of
	// RFC 8415 (a missing Client Identifier, a Solicit naming a server).
	ErrMalformed = errors.New("dhcpd6: malformed packet")
)

// ConfigError reports an invalid field of [Options]. It is returned by [New]
// and [NewStaticHosts].
type ConfigError struct {
	Field  string // e.g. "Pools[0].End"
	Reason string
}

// Error returns "dhcpd6: invalid FIELD: REASON".
func (e *ConfigError) Error() string {
	return fmt.Sprintf("dhcpd6: invalid %s: %s", e.Field, e.Reason)
}
