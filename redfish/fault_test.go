package redfish_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atoll-edge/atoll/redfish"
	"github.com/atoll-edge/atoll/redfish/redfishtest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// faultServer serves the rackmount mockup behind a switchable fault on one
// path, and counts requests by "METHOD path".
type faultServer struct {
	*httptest.Server
	mu     sync.Mutex
	counts map[string]int
	path   string                                            // the faulty path
	fault  func(w http.ResponseWriter, r *http.Request) bool // true: handled
}

func newFaultServer(t *testing.T, tlsOn bool) *faultServer {
	t.Helper()
	mock := redfishtest.MockupHandler(filepath.Join(mockupDir, "public-rackmount1"))
	fs := &faultServer{counts: map[string]int{}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimSuffix(r.URL.Path, "/")
		fs.mu.Lock()
		fs.counts[r.Method+" "+p]++
		fault, path := fs.fault, fs.path
		fs.mu.Unlock()
		if fault != nil && p == path && fault(w, r) {
			return
		}
		mock.ServeHTTP(w, r)
	})
	if tlsOn {
		fs.Server = httptest.NewUnstartedServer(h)
		fs.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
		fs.StartTLS()
	} else {
		fs.Server = httptest.NewServer(h)
	}
	t.Cleanup(fs.Close)
	return fs
}

func (fs *faultServer) set(path string, f func(w http.ResponseWriter, r *http.Request) bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.path, fs.fault = path, f
}

func (fs *faultServer) count(key string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.counts[key]
}

const rackSystem = "/redfish/v1/Systems/437XR1138R2"

// fastOpts retries quickly so that fault tests stay short.
func fastOpts(reg prometheus.Registerer) redfish.Options {
	return redfish.Options{
		Registerer:    reg,
		RetryInitial:  5 * time.Millisecond,
		RetryMax:      20 * time.Millisecond,
		RetryAttempts: 6,
		PollInterval:  10 * time.Millisecond,
		SettleDelay:   -1,
	}
}

func dialFS(t *testing.T, fs *faultServer, opts redfish.Options) *redfish.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := redfish.Dial(ctx, redfish.Endpoint{Address: fs.URL, Username: "u", Password: "p"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func TestTLSVerification(t *testing.T) {
	fs := newFaultServer(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ep := redfish.Endpoint{Address: fs.URL, Username: "u", Password: "p"}

	_, err := redfish.Dial(ctx, ep, redfish.Options{RetryAttempts: 1})
	var certErr *tls.CertificateVerificationError
	var e *redfish.Error
	if !errors.As(err, &certErr) || !errors.As(err, &e) || e.BMC != fs.URL {
		t.Fatalf("Dial to a self-signed BMC without a CA = %v, want a certificate error naming the BMC", err)
	}

	pool := x509.NewCertPool()
	pool.AddCert(fs.Certificate())
	c, err := redfish.Dial(ctx, ep, redfish.Options{RootCAs: pool})
	if err != nil {
		t.Fatalf("Dial with the BMC's CA: %v", err)
	}
	c.Close(ctx)

	c, err = redfish.Dial(ctx, ep, redfish.Options{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("Dial with InsecureSkipVerify: %v", err)
	}
	c.Close(ctx)
}

func TestRetryRecovers5xxBurst(t *testing.T) {
	fs := newFaultServer(t, false)
	reg := prometheus.NewRegistry()
	c := dialFS(t, fs, fastOpts(reg))
	const burst = 3
	var mu sync.Mutex
	left := burst
	fs.set(rackSystem, func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		if left == 0 {
			return false
		}
		left--
		http.Error(w, `{"error":{"code":"Base.1.0.ServiceTemporarilyUnavailable","message":"busy"}}`, http.StatusServiceUnavailable)
		return true
	})
	before := fs.count("GET " + rackSystem)
	ps, err := c.PowerState(context.Background())
	if err != nil {
		t.Fatalf("PowerState through a 5xx burst: %v", err)
	}
	if ps == "" {
		t.Fatal("empty power state")
	}
	if got := fs.count("GET "+rackSystem) - before; got != burst+1 {
		t.Errorf("system GETs = %d, want %d (burst + 1)", got, burst+1)
	}
	if got := testutil.ToFloat64(counter(t, reg, "atoll_redfish_retries_total", "power-state")); got != burst {
		t.Errorf("retries metric = %v, want %d", got, burst)
	}
}

func TestRetryGivesUpOnEndless5xx(t *testing.T) {
	fs := newFaultServer(t, false)
	opts := fastOpts(nil)
	opts.RetryAttempts = 4
	c := dialFS(t, fs, opts)
	fs.set(rackSystem, func(w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, `{"error":{"code":"Base.1.0.InternalError","message":"down"}}`, http.StatusInternalServerError)
		return true
	})
	before := fs.count("GET " + rackSystem)
	_, err := c.PowerState(context.Background())
	var e *redfish.Error
	if !errors.Is(err, redfish.ErrUnavailable) || !errors.As(err, &e) || e.StatusCode != 500 || e.Attempts != 4 {
		t.Fatalf("PowerState on a failing BMC = %v (%+v), want ErrUnavailable after 4 attempts", err, e)
	}
	if got := fs.count("GET "+rackSystem) - before; got != 4 {
		t.Errorf("system GETs = %d, want 4", got)
	}
}

// TestClientErrorsSurfaceAtOnce: 401, 403 and 404 are never retried with
// backoff and name the BMC and the operation. A 401 on a session client
// first renews the session, once (it may have expired): the operation is
// then sent a second time, never a third.
func TestClientErrorsSurfaceAtOnce(t *testing.T) {
	for _, tc := range []struct {
		status   int
		want     error
		auth     redfish.AuthMode
		attempts int // requests of the operation
		logins   int // session logins after Dial
	}{
		{http.StatusUnauthorized, redfish.ErrUnauthorized, redfish.AuthSession, 2, 1},
		{http.StatusUnauthorized, redfish.ErrUnauthorized, redfish.AuthBasic, 1, 0},
		{http.StatusForbidden, redfish.ErrUnauthorized, redfish.AuthSession, 1, 0},
		{http.StatusNotFound, redfish.ErrNotFound, redfish.AuthSession, 1, 0},
	} {
		t.Run(fmt.Sprintf("%d-auth%d", tc.status, tc.auth), func(t *testing.T) {
			fs := newFaultServer(t, false)
			opts := fastOpts(nil)
			opts.Auth = tc.auth
			c := dialFS(t, fs, opts)
			fs.set(rackSystem, func(w http.ResponseWriter, r *http.Request) bool {
				http.Error(w, `{"error":{"code":"Base.1.0.X","message":"no"}}`, tc.status)
				return true
			})
			const sessions = "POST /redfish/v1/SessionService/Sessions"
			gets, logins := fs.count("GET "+rackSystem), fs.count(sessions)
			_, err := c.PowerState(context.Background())
			var e *redfish.Error
			if !errors.Is(err, tc.want) || !errors.As(err, &e) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if e.BMC != fs.URL || e.Op != "power-state" || e.StatusCode != tc.status || e.Attempts != tc.attempts {
				t.Errorf("error = %+v, want BMC %s op power-state status %d after %d attempts", e, fs.URL, tc.status, tc.attempts)
			}
			if !strings.Contains(err.Error(), fs.URL) || !strings.Contains(err.Error(), "power-state") {
				t.Errorf("message %q does not name the BMC and the operation", err)
			}
			if got := fs.count("GET "+rackSystem) - gets; got != tc.attempts {
				t.Errorf("system GETs = %d, want %d", got, tc.attempts)
			}
			if got := fs.count(sessions) - logins; got != tc.logins {
				t.Errorf("session logins = %d, want %d", got, tc.logins)
			}
		})
	}
}

func TestHungBMCBoundedByContext(t *testing.T) {
	fs := newFaultServer(t, false)
	c := dialFS(t, fs, fastOpts(nil))
	fs.set(rackSystem, func(w http.ResponseWriter, r *http.Request) bool {
		<-r.Context().Done() // never answers
		return true
	})
	const bound = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	start := time.Now()
	_, err := c.PowerState(ctx)
	took := time.Since(start)
	if !errors.Is(err, redfish.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("PowerState on a hung BMC = %v, want ErrTimeout wrapping DeadlineExceeded", err)
	}
	if took > bound+time.Second {
		t.Errorf("returned after %v, want about %v", took, bound)
	}
}

// TestHungBMCBoundedPerAttempt: without a caller deadline, RequestTimeout
// bounds each attempt and the attempts are counted.
func TestHungBMCBoundedPerAttempt(t *testing.T) {
	fs := newFaultServer(t, false)
	opts := fastOpts(nil)
	opts.RequestTimeout = 100 * time.Millisecond
	opts.RetryAttempts = 3
	c := dialFS(t, fs, opts)
	fs.set(rackSystem, func(w http.ResponseWriter, r *http.Request) bool {
		<-r.Context().Done()
		return true
	})
	start := time.Now()
	_, err := c.PowerState(context.Background())
	var e *redfish.Error
	if !errors.As(err, &e) || e.Attempts != 3 || !errors.Is(err, redfish.ErrTimeout) {
		t.Fatalf("err = %v (%+v), want ErrTimeout after 3 timed-out attempts", err, e)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v", took)
	}
}

// counter finds one labelled counter in reg.
func counter(t *testing.T, reg *prometheus.Registry, name, op string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "op" && l.GetValue() == op {
					return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x", Help: "x"}, func() float64 { return m.GetCounter().GetValue() })
				}
			}
		}
	}
	t.Fatalf("no %s{op=%q}", name, op)
	return nil
}

// TestMetrics: two clients share one registry; requests and errors are
// counted by operation.
func TestMetrics(t *testing.T) {
	fs := newFaultServer(t, false)
	reg := prometheus.NewRegistry()
	a := dialFS(t, fs, fastOpts(reg))
	b := dialFS(t, fs, fastOpts(reg))
	ctx := context.Background()
	if _, err := a.PowerState(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PowerState(ctx); err != nil {
		t.Fatal(err)
	}
	fs.set(rackSystem, func(w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, `{"error":{"code":"Base.1.0.ResourceMissingAtURI","message":"gone"}}`, http.StatusNotFound)
		return true
	})
	if _, err := a.PowerState(ctx); !errors.Is(err, redfish.ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP atoll_redfish_errors_total Operations that failed, by operation and kind.
# TYPE atoll_redfish_errors_total counter
atoll_redfish_errors_total{kind="not-found",op="power-state"} 1
`), "atoll_redfish_errors_total"); err != nil {
		t.Error(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got float64
	for _, mf := range mfs {
		if mf.GetName() != "atoll_redfish_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var op, code string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "op":
					op = l.GetValue()
				case "code":
					code = l.GetValue()
				}
			}
			if op == "power-state" && code == "200" {
				got += m.GetCounter().GetValue()
			}
		}
	}
	if got != 2 {
		t.Errorf("power-state 200 requests = %v, want 2 (one per client)", got)
	}
}

// TestLogsNameTheBMC: every log line carries the bmc attribute.
func TestLogsNameTheBMC(t *testing.T) {
	fs := newFaultServer(t, false)
	var mu sync.Mutex
	var buf strings.Builder
	opts := fastOpts(nil)
	opts.Logger = slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := dialFS(t, fs, opts)
	var left atomic.Int32
	left.Store(2)
	fs.set(rackSystem, func(w http.ResponseWriter, r *http.Request) bool {
		if left.Add(-1) < 0 {
			return false
		}
		http.Error(w, `{"error":{"code":"Base.1.0.X","message":"busy"}}`, http.StatusServiceUnavailable)
		return true
	})
	if _, err := c.PowerState(context.Background()); err != nil {
		t.Fatal(err)
	}
	fs.set(rackSystem, func(w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, `{"error":{"code":"Base.1.0.X","message":"gone"}}`, http.StatusNotFound)
		return true
	})
	_, _ = c.PowerState(context.Background())
	mu.Lock()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	mu.Unlock()
	if len(lines) < 3 { // connected, retries, failure
		t.Fatalf("only %d log lines: %q", len(lines), lines)
	}
	for _, l := range lines {
		if !strings.Contains(l, `"bmc":"`+fs.URL+`"`) {
			t.Errorf("log line without the bmc: %s", l)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
