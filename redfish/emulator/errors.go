package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Errors returned by the emulator's Go API. Media failures seen by a
// Redfish client arrive as Redfish error bodies; the same causes are
// reported to Go callers wrapped in a *MediaError.
var (
	// ErrUnknownProfile is returned by New for a profile not in Profiles.
	ErrUnknownProfile = errors.New("emulator: unknown profile")
	// ErrClosed is returned when the BMC or fleet has been closed.
	ErrClosed = errors.New("emulator: closed")
	// ErrMediaHostNotAllowed means an image URL points outside the
	// allowed networks (loopback and private addresses by default).
	ErrMediaHostNotAllowed = errors.New("emulator: media host not allowed")
	// ErrMediaUnreachable means the image could not be fetched: the
	// connection failed, or the server answered other than 200.
	ErrMediaUnreachable = errors.New("emulator: media unreachable")
	// ErrMediaLength means the image body was shorter or longer than its
	// Content-Length, or empty.
	ErrMediaLength = errors.New("emulator: media length mismatch")
	// ErrNoSuchSlot means a virtual media slot id is unknown.
	ErrNoSuchSlot = errors.New("emulator: no such media slot")
	// ErrBusy means a slot is settling, fetching, or (for profiles that
	// refuse it) already holds an image.
	ErrBusy = errors.New("emulator: busy")
	// ErrInvalid means a request value is not allowed by the profile.
	ErrInvalid = errors.New("emulator: invalid request")
	// ErrConflict means the host is already in the requested power state
	// and the profile refuses that.
	ErrConflict = errors.New("emulator: conflict")
)

// MediaError describes a failed virtual media fetch.
type MediaError struct {
	// URL is the image URL as the client sent it.
	URL string
	// Status is the HTTP status the image server answered, 0 if none.
	Status int
	// Err is one of the ErrMedia sentinels, possibly wrapping the cause.
	Err error
}

// Error implements error.
func (e *MediaError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("fetch %s: HTTP %d: %v", e.URL, e.Status, e.Err)
	}
	return fmt.Sprintf("fetch %s: %v", e.URL, e.Err)
}

// Unwrap returns the cause.
func (e *MediaError) Unwrap() error { return e.Err }

// registry is the Base message registry version the emulator answers with.
const registry = "Base.1.16."

// rfError is a Redfish error response: an HTTP status and one or more
// registry messages. It is what every handler returns on failure.
type rfError struct {
	kind       error // the Go sentinel for BMC methods
	status     int
	msgs       []message
	retryAfter time.Duration
	allow      string
}

type message struct {
	ID         string   `json:"MessageId"`
	Message    string   `json:"Message"`
	Args       []string `json:"MessageArgs"`
	Severity   string   `json:"MessageSeverity"`
	Resolution string   `json:"Resolution"`
	Props      []string `json:"RelatedProperties,omitempty"`
}

// goErr converts e for the Go API: wrapped in its sentinel.
func (e *rfError) goErr() error {
	if e == nil {
		return nil
	}
	kind := e.kind
	if kind == nil {
		switch e.status {
		case http.StatusConflict:
			kind = ErrConflict
		case http.StatusServiceUnavailable:
			kind = ErrBusy
		default:
			kind = ErrInvalid
		}
	}
	return fmt.Errorf("%w: %s", kind, e.Error())
}

func (e *rfError) Error() string {
	if len(e.msgs) == 0 {
		return http.StatusText(e.status)
	}
	return e.msgs[0].ID + ": " + e.msgs[0].Message
}

// newErr builds an error with one Base registry message. id is the short
// message name (e.g. "PropertyValueNotInList"); args fill its text.
func newErr(status int, id string, args ...string) *rfError {
	return &rfError{status: status, msgs: []message{baseMessage(id, args...)}}
}

// withProps sets RelatedProperties (JSON pointers) on the first message.
func (e *rfError) withProps(props ...string) *rfError {
	e.msgs[0].Props = props
	return e
}

// oemErr builds an error whose message id belongs to a vendor registry.
func oemErr(status int, id, text string) *rfError {
	return &rfError{status: status, msgs: []message{{
		ID: id, Message: text, Args: []string{}, Severity: "Critical",
		Resolution: "Eject the media, then insert the new image.",
	}}}
}

func baseMessage(id string, args ...string) message {
	text, resolution, severity := "", "None.", "Critical"
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch id {
	case "GeneralError":
		text = "A general error has occurred. See Resolution for information on how to resolve the error, or @Message.ExtendedInfo if Resolution is not provided."
	case "Success":
		text, severity = "The request completed successfully.", "OK"
	case "Created":
		text, severity = "The resource was created successfully.", "OK"
	case "MalformedJSON":
		text = "The request body submitted was malformed JSON and could not be parsed by the receiving service."
		resolution = "Ensure that the request body is valid JSON and resubmit the request."
	case "PropertyUnknown":
		text = fmt.Sprintf("The property %s is not in the list of valid properties for the resource.", arg(0))
		resolution, severity = "Remove the unknown property from the request body and resubmit the request if the operation failed.", "Warning"
	case "PropertyNotWritable":
		text = fmt.Sprintf("The property %s is a read-only property and cannot be assigned a value.", arg(0))
		resolution, severity = "Remove the property from the request body and resubmit the request if the operation failed.", "Warning"
	case "PropertyValueNotInList":
		text = fmt.Sprintf("The value %s for the property %s is not in the list of acceptable values.", arg(0), arg(1))
		resolution, severity = "Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed.", "Warning"
	case "PropertyValueTypeError":
		text = fmt.Sprintf("The value %s for the property %s is of a different type than the property can accept.", arg(0), arg(1))
		resolution, severity = "Correct the value for the property in the request body and resubmit the request if the operation failed.", "Warning"
	case "PropertyMissing":
		text = fmt.Sprintf("The property %s is a required property and must be included in the request.", arg(0))
		resolution, severity = "Ensure that the property is in the request body and has a valid value and resubmit the request if the operation failed.", "Warning"
	case "ActionParameterMissing":
		text = fmt.Sprintf("The action %s requires the parameter %s to be present in the request body.", arg(0), arg(1))
		resolution = "Supply the action with the required parameter in the request body when the request is resubmitted."
	case "ActionParameterUnknown":
		text = fmt.Sprintf("The action %s was submitted with the invalid parameter %s.", arg(0), arg(1))
		resolution, severity = "Correct the invalid parameter and resubmit the request if the operation failed.", "Warning"
	case "ActionParameterNotSupported":
		text = fmt.Sprintf("The parameter %s for the action %s is not supported on the target resource.", arg(0), arg(1))
		resolution, severity = "Remove the parameter supplied and resubmit the request if the operation failed.", "Warning"
	case "ActionParameterValueNotInList":
		text = fmt.Sprintf("The value %s for the parameter %s in the action %s is not in the list of acceptable values.", arg(0), arg(1), arg(2))
		resolution, severity = "Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed.", "Warning"
	case "ActionParameterValueFormatError":
		text = fmt.Sprintf("The value %s for the parameter %s in the action %s has a different format than the parameter can accept.", arg(0), arg(1), arg(2))
		resolution, severity = "Correct the value for the parameter in the request body and resubmit the request if the operation failed.", "Warning"
	case "ActionNotSupported":
		text = fmt.Sprintf("The action %s is not supported by the resource.", arg(0))
		resolution = "The action supplied cannot be resubmitted to the implementation."
	case "ResourceMissingAtURI":
		text = fmt.Sprintf("The resource at the URI %s was not found.", arg(0))
		resolution = "Place a valid resource at the URI or correct the URI and resubmit the request."
	case "ResourceInUse":
		text = "The change to the requested resource failed because the resource is in use or in transition."
		resolution, severity = "Remove the condition and resubmit the request if the operation failed.", "Warning"
	case "OperationNotAllowed":
		text = "The HTTP method is not allowed on this resource."
		resolution = "None."
	case "NoValidSession":
		text = "There is no valid session established with the implementation."
		resolution = "Establish a session before attempting any operations."
	case "ResourceAtUriUnauthorized":
		text = fmt.Sprintf("While accessing the resource at %s, the service received an authorization error %s.", arg(0), arg(1))
		resolution = "Ensure that the appropriate access is provided for the service in order for it to access the URI."
	case "CouldNotEstablishConnection":
		text = fmt.Sprintf("The service failed to establish a connection with the URI %s.", arg(0))
		resolution = "Ensure that the URI contains a valid and reachable node name, protocol information and other URI components."
	case "ResourceAtUriInUnknownFormat":
		text = fmt.Sprintf("The resource at %s is in a format not recognized by the service.", arg(0))
		resolution = "Place an image or resource or file that is recognized by the service at the URI."
	case "PreconditionFailed":
		text = "The ETag supplied did not match the ETag required to change this resource."
		resolution = "Try the operation again using the appropriate ETag."
	case "ServiceTemporarilyUnavailable":
		text = fmt.Sprintf("The service is temporarily unavailable. Retry in %s seconds.", arg(0))
		resolution = "Wait for the indicated retry duration and retry the operation."
	case "PropertyValueConflict":
		text = fmt.Sprintf("The property %s could not be written because its value would conflict with the value of the %s property.", arg(0), arg(1))
		resolution, severity = "No resolution is required.", "Warning"
	case "SessionLimitExceeded":
		text = "The session establishment failed due to the number of simultaneous sessions exceeding the limit of the implementation."
		resolution = "Reduce the number of other sessions before trying to establish the session or increase the limit of simultaneous sessions, if supported."
	case "QueryNotSupported":
		text = "Querying is not supported by the implementation."
		resolution, severity = "Remove the query parameters and resubmit the request if the operation failed.", "Warning"
	default:
		text = id
	}
	if args == nil {
		args = []string{}
	}
	return message{ID: registry + id, Message: text, Args: args, Severity: severity, Resolution: resolution}
}

// write sends the error as a Redfish error body.
func (e *rfError) write(w http.ResponseWriter) {
	h := w.Header()
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.retryAfter+time.Second-1)/time.Second)))
	}
	if e.allow != "" {
		h.Set("Allow", e.allow)
	}
	body := struct {
		Error struct {
			Code     string    `json:"code"`
			Message  string    `json:"message"`
			Extended []message `json:"@Message.ExtendedInfo"`
		} `json:"error"`
	}{}
	body.Error.Code = registry + "GeneralError"
	body.Error.Message = baseMessage("GeneralError").Message
	if len(e.msgs) == 1 && strings.HasPrefix(e.msgs[0].ID, registry) {
		body.Error.Code = e.msgs[0].ID
		body.Error.Message = e.msgs[0].Message
	}
	body.Error.Extended = e.msgs
	b, _ := json.Marshal(body)
	writeJSON(w, e.status, b)
}

func writeJSON(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
