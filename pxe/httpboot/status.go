package httpboot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// HostState is a state a booted host reports.
type HostState string

// States a host may report.
const (
	StateBooted          HostState = "booted"           // the installer is running
	StateInstalling      HostState = "installing"       // installation started
	StateInstallComplete HostState = "install-complete" // installation succeeded
	StateInstallFailed   HostState = "install-failed"   // installation failed; Message says why
)

// Valid reports whether s is one of the defined states.
func (s HostState) Valid() bool {
	switch s {
	case StateBooted, StateInstalling, StateInstallComplete, StateInstallFailed:
		return true
	}
	return false
}

// HostStatus is one report from a booted host.
type HostStatus struct {
	MAC     net.HardwareAddr
	State   HostState
	Message string     // optional detail, at most 1024 bytes
	Remote  netip.Addr // the address the report came from
	Time    time.Time  // when the handler received it
}

// StatusSink receives host status reports. The daemon routes them to the
// subcloud install phase.
type StatusSink interface {
	// PublishHostStatus delivers one report. An error matching
	// [ErrUnknownHost] makes the handler answer 404; any other error 503,
	// so the host retries.
	PublishHostStatus(ctx context.Context, s HostStatus) error
}

// StatusSinkFunc adapts a function to [StatusSink].
type StatusSinkFunc func(ctx context.Context, s HostStatus) error

// PublishHostStatus calls f.
func (f StatusSinkFunc) PublishHostStatus(ctx context.Context, s HostStatus) error { return f(ctx, s) }

const (
	maxStatusBody    = 4 << 10
	maxStatusMessage = 1024
)

// statusRequest is the JSON body of POST /v1/hosts/{mac}/status.
type statusRequest struct {
	State   HostState `json:"state"`
	Message string    `json:"message,omitempty"`
}

// serveStatus answers POST /v1/hosts/{mac}/status.
func (h *Handler) serveStatus(w http.ResponseWriter, r *http.Request, p string) {
	if h.opts.Status == nil {
		http.NotFound(w, r)
		return
	}
	macStr, ok := strings.CutSuffix(p, "/status")
	if !ok {
		http.NotFound(w, r)
		return
	}
	mac, err := ParseMAC(macStr)
	if err != nil {
		jsonError(w, http.StatusNotFound, "invalid-mac", "path does not name a MAC address")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		jsonError(w, http.StatusMethodNotAllowed, "method-not-allowed", "use POST")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			jsonError(w, http.StatusUnsupportedMediaType, "unsupported-media-type", "body must be application/json")
			return
		}
	}
	var req statusRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxStatusBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			jsonError(w, http.StatusRequestEntityTooLarge, "body-too-large", fmt.Sprintf("body exceeds %d bytes", maxStatusBody))
			return
		}
		jsonError(w, http.StatusBadRequest, "invalid-body", "body is not a status object: "+err.Error())
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		jsonError(w, http.StatusBadRequest, "invalid-body", "trailing data after the status object")
		return
	}
	if !req.State.Valid() {
		jsonError(w, http.StatusBadRequest, "invalid-state", fmt.Sprintf("state %q is not one of booted, installing, install-complete, install-failed", req.State))
		return
	}
	if len(req.Message) > maxStatusMessage {
		jsonError(w, http.StatusBadRequest, "invalid-message", fmt.Sprintf("message exceeds %d bytes", maxStatusMessage))
		return
	}
	st := HostStatus{MAC: mac, State: req.State, Message: req.Message, Time: h.opts.Now()}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		st.Remote = ap.Addr().Unmap()
	}
	if err := h.opts.Status.PublishHostStatus(r.Context(), st); err != nil {
		if errors.Is(err, ErrUnknownHost) {
			h.log.Warn("status from unknown host", "mac", mac.String(), "state", string(req.State), "remote", st.Remote)
			jsonError(w, http.StatusNotFound, "unknown-host", "no host with MAC "+mac.String())
			return
		}
		h.log.Error("status sink failed", "mac", mac.String(), "state", string(req.State), "err", err)
		jsonError(w, http.StatusServiceUnavailable, "sink-failed", "status not recorded; retry")
		return
	}
	h.metrics.status.WithLabelValues(string(req.State)).Inc()
	h.log.Info("host status", "mac", mac.String(), "state", string(req.State), "remote", st.Remote, "message", req.Message)
	// 200 with a body rather than 204: minimal clients in installers (busybox
	// wget among them) treat a body-less answer inconsistently.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(statusReply{MAC: mac.String(), State: req.State})
}

// statusReply is the body of an accepted status report.
type statusReply struct {
	MAC   string    `json:"mac"`
	State HostState `json:"state"`
}

func jsonError(w http.ResponseWriter, code int, errCode, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{errCode, msg})
}
