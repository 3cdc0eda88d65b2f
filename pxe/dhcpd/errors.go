package dhcpd

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of these (or
// carry a [*ConfigError]) so callers can test them with [errors.Is].
var (
	// ErrPoolExhausted means every address of the selected pool is bound,
	// offered or held after a DECLINE, and none has expired.
	ErrPoolExhausted = errors.New("dhcpd: address pool exhausted")
	// ErrNoPool means no configured pool serves the client's network
	// (its relay address or the server's own subnet).
	ErrNoPool = errors.New("dhcpd: no pool for the client's network")
	// ErrAddressInUse means the requested address is bound to another client.
	ErrAddressInUse = errors.New("dhcpd: address in use by another client")
	// ErrNotInPool means the requested address lies outside the client's pool.
	ErrNotInPool = errors.New("dhcpd: address outside the client's pool")
	// ErrMalformed means a packet could not be decoded or lacks a field a
	// DHCP message must carry.
	ErrMalformed = errors.New("dhcpd: malformed packet")
	// ErrNoBootFile means the client asked to network-boot and no boot file
	// is configured for its architecture.
	ErrNoBootFile = errors.New("dhcpd: no boot file for the client architecture")
	// ErrStoreClosed is returned by a [FileStore] after Close.
	ErrStoreClosed = errors.New("dhcpd: lease store closed")
	// ErrCorruptStore means a lease file holds a record that is neither valid
	// nor the torn tail of an interrupted write.
	ErrCorruptStore = errors.New("dhcpd: corrupt lease store")
)

// ConfigError reports an invalid field of [Options]. It is returned by [New].
type ConfigError struct {
	Field  string // e.g. "Pools[0].End"
	Reason string
}

// Error returns "dhcpd: invalid FIELD: REASON".
func (e *ConfigError) Error() string {
	return fmt.Sprintf("dhcpd: invalid %s: %s", e.Field, e.Reason)
}
