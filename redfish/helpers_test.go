package redfish_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/redfish"
	"github.com/atoll-edge/atoll/redfish/emulator"
	"github.com/atoll-edge/atoll/redfish/redfishtest"
)

// recorder is a counting http.RoundTripper: it records every request the
// client sends as "METHOD path", and the ResetType of Reset actions.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []string
}

func (r *recorder) wrap(next http.RoundTripper) http.RoundTripper {
	r.next = next
	return r
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	key := req.Method + " " + req.URL.Path
	if req.Method == http.MethodPost && req.GetBody != nil {
		if body, err := req.GetBody(); err == nil {
			var p struct{ ResetType string }
			b, _ := io.ReadAll(body)
			if json.Unmarshal(b, &p) == nil && p.ResetType != "" {
				key += " " + p.ResetType
			}
		}
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, key)
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

// count returns how many recorded requests satisfy match.
func (r *recorder) count(match func(string) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, k := range r.reqs {
		if match(k) {
			n++
		}
	}
	return n
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reqs...)
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = nil
}

func has(sub string) func(string) bool {
	return func(k string) bool { return bytes.Contains([]byte(k), []byte(sub)) }
}

// wantVendor is the quirks entry each emulator profile must select.
func wantVendor(p emulator.Profile) redfish.Vendor {
	switch p {
	case emulator.ProfileDell:
		return redfish.VendorDell
	case emulator.ProfileHPE:
		return redfish.VendorHPE
	case emulator.ProfileSupermicro:
		return redfish.VendorSupermicro
	case emulator.ProfileLenovo:
		return redfish.VendorLenovo
	case emulator.ProfileOpenBMC:
		return redfish.VendorOpenBMC
	}
	return redfish.VendorGeneric
}

// testOpts are client options that keep tests short: fast retries and
// polling, no extra settle delays (the client polls the BMC's state).
func testOpts(rec *recorder) redfish.Options {
	o := redfish.Options{
		RetryInitial:  5 * time.Millisecond,
		RetryMax:      50 * time.Millisecond,
		RetryAttempts: 8,
		PollInterval:  20 * time.Millisecond,
		SettleDelay:   -1,
	}
	if rec != nil {
		o.WrapTransport = rec.wrap
	}
	return o
}

func dialEmu(t *testing.T, e *redfishtest.Emulator, opts redfish.Options) *redfish.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := redfish.Dial(ctx, redfish.Endpoint{Address: e.URL, Username: e.Username, Password: e.Password}, opts)
	if err != nil {
		t.Fatalf("Dial %s: %v", e.BMC.Profile(), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c.Close(ctx)
	})
	return c
}
