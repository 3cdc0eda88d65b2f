// Package client is a typed Go client for the dc REST API (package dc/api):
// dcmanager's v1.0 subcloud and subcloud-group resources, plus Atoll's
// deploy log.
//
// # Errors
//
// Every failure the server reports is an *APIError carrying the HTTP status,
// the stable code and the message. It matches dc's vocabulary, so callers
// test client errors as they test Manager errors:
//
//	_, err := c.Subcloud(ctx, "edge-1")
//	if errors.Is(err, dc.ErrNotFound) { ... }
//	var ve *dc.ValidationError
//	if errors.As(err, &ve) { fmt.Println(ve.Field, ve.Conflict) }
//
// # Authentication
//
// The token is sent as X-Auth-Token, as dcmanager's clients send it.
package client
