package dc

import (
	"errors"
	"fmt"
)

// Sentinel errors. Backends map their driver errors onto the first three;
// test with errors.Is.
var (
	// ErrNotFound: no subcloud, group or log with that key.
	ErrNotFound = errors.New("dc: not found")
	// ErrAlreadyExists: a subcloud or group with that name exists.
	ErrAlreadyExists = errors.New("dc: already exists")
	// ErrConflict: the record changed since it was read (stale revision).
	ErrConflict = errors.New("dc: conflict: stale revision")
	// ErrInvalid is matched by every *ValidationError.
	ErrInvalid = errors.New("dc: invalid")
	// ErrInvalidState is matched by every *StateError.
	ErrInvalidState = errors.New("dc: invalid state")
	// ErrClosed: the Manager or Store is closed.
	ErrClosed = errors.New("dc: closed")
	// ErrNoSealer: a secret (BMC or sysadmin password) was to be sealed
	// or opened by a Manager configured without Options.Sealer.
	ErrNoSealer = errors.New("dc: no Sealer configured")
	// ErrWriterLockLost: the Manager lost the store's writer lock (see
	// [WriterLocker]) and stopped; another Manager may be writing.
	ErrWriterLockLost = errors.New("dc: store writer lock lost")
)

// ValidationError rejects a request field. Conflict names the other
// subcloud involved, if any.
type ValidationError struct {
	Field    string
	Reason   string
	Conflict string

	// also is an extra sentinel the error matches (ErrAlreadyExists for a
	// duplicate name), nil for none.
	also error
}

// Error returns "field: reason", naming the conflicting subcloud if any.
func (e *ValidationError) Error() string {
	if e.Conflict != "" {
		return fmt.Sprintf("%s: %s subcloud %q", e.Field, e.Reason, e.Conflict)
	}
	return e.Field + ": " + e.Reason
}

// Is reports whether target is ErrInvalid (or ErrAlreadyExists for a
// duplicate name).
func (e *ValidationError) Is(target error) bool {
	return target == ErrInvalid || (e.also != nil && target == e.also)
}

// StateError rejects an operation that the subcloud's current state does not
// allow. State is a deploy status, or a management or availability state
// for management operations.
type StateError struct {
	// State is the state that forbids Op. For Kind "management" or
	// "availability" it holds that state's value (for example "managed").
	State DeployStatus
	Op    Operation
	// Kind is "deploy" (also when empty), "management" or "availability".
	Kind string
}

// Error returns a sentence naming the operation and the state, such as
// `cannot resume subcloud in deploy state "complete"`.
func (e *StateError) Error() string {
	kind := e.Kind
	if kind == "" {
		kind = "deploy"
	}
	return fmt.Sprintf("cannot %s subcloud in %s state %q", e.Op, kind, e.State)
}

// Is reports whether target is ErrInvalidState.
func (e *StateError) Is(target error) bool { return target == ErrInvalidState }
