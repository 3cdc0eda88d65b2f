// Package api serves dcmanager's v1.0 REST resources over a dc.Manager, with
// the wire format the existing dcmanager CLI and scripts rely on.
//
// # Routes
//
// Every path is served with and without a trailing slash; a {ref} that is all
// digits is an id, anything else a name.
//
//	GET    /v1.0/subclouds                         {"subclouds": [...]}
//	POST   /v1.0/subclouds                         multipart/form-data or JSON
//	GET    /v1.0/subclouds/{ref}
//	PATCH  /v1.0/subclouds/{ref}                   multipart/form-data or JSON
//	DELETE /v1.0/subclouds/{ref}
//	GET    /v1.0/subclouds/{ref}/detail            adds oam_floating_ip, deploy_config_sync_status, region_name
//	GET    /v1.0/subclouds/{ref}/deploy-log        Atoll addition: {"deploy_log": [{"time","phase","message"}]}
//	PATCH  /v1.0/phased-subcloud-deploy/{ref}/resume
//	PATCH  /v1.0/phased-subcloud-deploy/{ref}/abort
//	GET    /v1.0/subcloud-groups                   {"subcloud_groups": [...]}
//	POST   /v1.0/subcloud-groups
//	GET    /v1.0/subcloud-groups/{ref}
//	PATCH  /v1.0/subcloud-groups/{ref}
//	DELETE /v1.0/subcloud-groups/{ref}
//	GET    /v1.0/subcloud-groups/{ref}/subclouds   {"subclouds": [...]}
//
// Success is 200 with a JSON body on every route, create and delete included.
//
// # Errors
//
// Failures carry a JSON body {"code": "...", "message": "..."} with a stable
// code; validation errors add "field" (and "conflict" when another subcloud is
// in the way), state errors add "state" and "operation". The mapping from dc's
// error vocabulary to statuses and codes lives in one function (see errors.go):
//
//	*dc.ValidationError     400 invalid_value
//	malformed body          400 bad_request, unknown_field, invalid_json
//	missing/wrong token     401 unauthorized
//	dc.ErrNotFound          404 not_found
//	wrong method            405 method_not_allowed
//	dc.ErrAlreadyExists     409 already_exists
//	*dc.StateError          409 invalid_state
//	dc.ErrConflict          409 conflict
//	body over the limit     413 body_too_large
//	other content types     415 unsupported_media_type
//	dc.ErrClosed            503 unavailable
//
// # Observability
//
// Every request is logged with slog (method, path, status, duration and the
// subcloud or group it concerns) and counted on the Prometheus registerer the
// caller passes in (atoll_dc_api_requests_total, atoll_dc_api_request_duration_seconds).
//
// # Performance
//
// Subclouds are encoded by a hand-written appender (no reflection, no per-item
// maps; byte-identical string escaping to encoding/json, fuzzed) into a pooled
// buffer and streamed in 128 KiB chunks. Each subcloud's JSON is cached by
// revision, so a list re-encodes only what changed. A Service whose list
// copies every record can be paired with a SubcloudViewer (Options.Viewer)
// serving shared, immutable records: the systemcontroller daemon passes its
// store cache, and lists 10,000 subclouds in about 20 ms (make bench-dcapi).
package api
