package redfishtest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/atoll-edge/atoll/redfish/emulator"
)

// Options configures NewEmulator.
type Options struct {
	// TLS serves HTTPS with httptest's self-signed certificate; the
	// Emulator's Client trusts it.
	TLS bool
	// BMC configures the emulator; its Profile is replaced by the profile
	// given to NewEmulator.
	BMC emulator.Options
}

// Emulator is a running emulated BMC.
type Emulator struct {
	// BMC is the emulator, for state checks and fault injection.
	BMC *emulator.BMC
	// Server serves it.
	Server *httptest.Server
	// URL is the server's base URL (http://127.0.0.1:port or https://...).
	URL string
	// Username and Password are the valid credentials.
	Username, Password string
}

// NewEmulator starts a BMC of the given profile on 127.0.0.1:0. The server
// and the BMC are closed when the test ends.
func NewEmulator(t testing.TB, profile emulator.Profile, opts Options) *Emulator {
	t.Helper()
	o := opts.BMC
	o.Profile = profile
	if o.Username == "" {
		o.Username = "admin"
	}
	if o.Password == "" {
		o.Password = "password"
	}
	bmc, err := emulator.New(o)
	if err != nil {
		t.Fatalf("redfishtest: emulator: %v", err)
	}
	srv := httptest.NewUnstartedServer(bmc)
	if opts.TLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(func() {
		// Release hanging requests before the server waits for them.
		_ = bmc.Close()
		srv.Close()
	})
	return &Emulator{BMC: bmc, Server: srv, URL: srv.URL, Username: o.Username, Password: o.Password}
}

// Client returns an HTTP client for the emulator, trusting its TLS
// certificate when it has one. Each call returns the server's client.
func (e *Emulator) Client() *http.Client { return e.Server.Client() }

// NewFleet starts n BMCs of a profile, each on its own 127.0.0.1 port (TLS
// with opts.TLS; the fleet's CertPool verifies it), and closes them when the
// test ends.
func NewFleet(t testing.TB, n int, profile emulator.Profile, opts Options) *emulator.Fleet {
	t.Helper()
	o := opts.BMC
	o.Profile = profile
	f, err := emulator.StartFleet(t.Context(), emulator.FleetOptions{Count: n, TLS: opts.TLS, Options: o})
	if err != nil {
		t.Fatalf("redfishtest: fleet: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("redfishtest: fleet: %v", err)
		}
	})
	return f
}
