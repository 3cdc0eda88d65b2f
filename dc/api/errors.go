package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/atoll-edge/atoll/dc"
)

// Stable error codes carried in the "code" member of every error body.
const (
	CodeBadRequest       = "bad_request"
	CodeInvalidJSON      = "invalid_json"
	CodeUnknownField     = "unknown_field"
	CodeInvalidValue     = "invalid_value"
	CodeUnauthorized     = "unauthorized"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeAlreadyExists    = "already_exists"
	CodeInvalidState     = "invalid_state"
	CodeConflict         = "conflict"
	CodeBodyTooLarge     = "body_too_large"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodeUnavailable      = "unavailable"
	CodeInternal         = "internal"
)

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the request field at fault (validation errors).
	Field string `json:"field,omitempty"`
	// Conflict names the subcloud or group in the way (validation errors).
	Conflict string `json:"conflict,omitempty"`
	// State and Operation describe a refused transition (state errors).
	State     string `json:"state,omitempty"`
	Operation string `json:"operation,omitempty"`
	// Kind is the kind of state: "deploy", "management" or "availability".
	Kind string `json:"kind,omitempty"`
}

// requestError is an error found by the HTTP layer itself (decoding, media
// type, size), carrying its status and code.
type requestError struct {
	status int
	code   string
	field  string
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(code, field, format string, args ...any) error {
	return &requestError{status: http.StatusBadRequest, code: code, field: field, msg: fmt.Sprintf(format, args...)}
}

// errorResponse maps an error to its status and body: the one place where
// dc's error vocabulary meets HTTP.
func errorResponse(err error) (int, ErrorBody) {
	var (
		re  *requestError
		ve  *dc.ValidationError
		se  *dc.StateError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &re):
		return re.status, ErrorBody{Code: re.code, Message: re.msg, Field: re.field}
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, ErrorBody{Code: CodeBodyTooLarge,
			Message: fmt.Sprintf("request body exceeds %d bytes", mbe.Limit)}
	case errors.As(err, &ve) && errors.Is(err, dc.ErrAlreadyExists):
		return http.StatusConflict, ErrorBody{Code: CodeAlreadyExists, Message: ve.Error(), Field: ve.Field, Conflict: ve.Conflict}
	case errors.As(err, &ve):
		return http.StatusBadRequest, ErrorBody{Code: CodeInvalidValue, Message: ve.Error(), Field: ve.Field, Conflict: ve.Conflict}
	case errors.As(err, &se):
		return http.StatusConflict, ErrorBody{Code: CodeInvalidState, Message: se.Error(), State: string(se.State), Operation: string(se.Op), Kind: stateKind(se)}
	case errors.Is(err, dc.ErrNotFound):
		return http.StatusNotFound, ErrorBody{Code: CodeNotFound, Message: err.Error()}
	case errors.Is(err, dc.ErrAlreadyExists):
		return http.StatusConflict, ErrorBody{Code: CodeAlreadyExists, Message: err.Error()}
	case errors.Is(err, dc.ErrConflict):
		return http.StatusConflict, ErrorBody{Code: CodeConflict, Message: err.Error()}
	case errors.Is(err, dc.ErrInvalid):
		return http.StatusBadRequest, ErrorBody{Code: CodeInvalidValue, Message: err.Error()}
	case errors.Is(err, dc.ErrInvalidState):
		return http.StatusConflict, ErrorBody{Code: CodeInvalidState, Message: err.Error()}
	case errors.Is(err, dc.ErrClosed), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, ErrorBody{Code: CodeUnavailable, Message: err.Error()}
	default:
		return http.StatusInternalServerError, ErrorBody{Code: CodeInternal, Message: "internal error"}
	}
}

func stateKind(se *dc.StateError) string {
	if se.Kind == "" {
		return "deploy"
	}
	return se.Kind
}
