package dc_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/dctest"
)

// fakeHealth answers checks from a table of failing subclouds.
type fakeHealth struct {
	mu      sync.Mutex
	failing map[string]bool
	calls   map[string]int
}

func newFakeHealth() *fakeHealth {
	return &fakeHealth{failing: map[string]bool{}, calls: map[string]int{}}
}

func (h *fakeHealth) set(name string, failing bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failing[name] = failing
}

func (h *fakeHealth) Check(_ context.Context, s *dc.Subcloud) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls[s.Name]++
	if h.failing[s.Name] {
		return errors.New("connection refused")
	}
	return nil
}

func (h *fakeHealth) callsOf(name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[name]
}

// findMetric returns the first metric with that name whose labels include
// labels, or nil.
func findMetric(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			return m
		}
	}
	return nil
}

// metricValue returns the value of the counter or gauge with that name and
// labels (0 when there is none).
func metricValue(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	m := findMetric(t, g, name, labels)
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	}
	return 0
}

func TestAuditThresholdAndEvents(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	ev := &dctest.Events{}
	m, _ := newManager(t, dc.Options{Events: ev, Registerer: reg})
	for i := range 3 {
		if _, err := m.AddSubcloud(ctx, dctest.AddRequest(i)); err != nil {
			t.Fatal(err)
		}
		dctest.WaitDeploy(t, m, dctest.Bootstrap(i).Name, dc.Complete)
	}
	// subcloud-2 is managed: the audit covers managed and unmanaged alike.
	if _, err := m.Manage(ctx, "subcloud-2", true); err != nil {
		t.Fatal(err)
	}
	hc := newFakeHealth()
	hc.set("subcloud-1", true)
	a, err := dc.NewAuditor(m, hc, dc.AuditOptions{FailureThreshold: 2, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	avail := func(name string) dc.Availability {
		s, err := m.Subcloud(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return s.Availability
	}
	if err := a.AuditOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if avail("subcloud-0") != dc.Online || avail("subcloud-2") != dc.Online || avail("subcloud-1") != dc.Offline {
		t.Fatal("first round: healthy subclouds not online")
	}
	if _, err := m.SetEndpointStatus(ctx, 1, "platform", dc.InSync); err != nil {
		t.Fatal(err)
	}
	// subcloud-0 starts failing: one failure is not enough.
	hc.set("subcloud-0", true)
	if err := a.AuditOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if avail("subcloud-0") != dc.Online {
		t.Fatal("offline after 1 failure with threshold 2")
	}
	if err := a.AuditOnce(ctx); err != nil {
		t.Fatal(err)
	}
	s0, err := m.Subcloud(ctx, "subcloud-0")
	if err != nil {
		t.Fatal(err)
	}
	if s0.Availability != dc.Offline {
		t.Fatal("still online after 2 consecutive failures")
	}
	for _, e := range s0.Endpoints {
		if e.SyncStatus != dc.SyncUnknown {
			t.Fatalf("offline subcloud endpoint %s is %s, want unknown", e.EndpointType, e.SyncStatus)
		}
	}
	// A failure, a success, a failure: never two in a row, stays online.
	hc.set("subcloud-0", false)
	for _, fail := range []bool{false, true, false, true, false} {
		hc.set("subcloud-0", fail)
		if err := a.AuditOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if avail("subcloud-0") != dc.Online {
			t.Fatal("non-consecutive failures took the subcloud offline")
		}
	}
	if n := ev.Count(dc.AvailabilityChanged, "subcloud-0"); n != 3 {
		t.Fatalf("%d availability events for subcloud-0, want 3 (online, offline, online)", n)
	}
	if n := ev.Count(dc.AvailabilityChanged, "subcloud-1"); n != 0 {
		t.Fatalf("%d availability events for the never-healthy subcloud, want 0", n)
	}
	rounds := 8
	if got := metricValue(t, reg, "atoll_dc_audit_checks_total", map[string]string{"result": "failed"}); got != float64(rounds+2+2) {
		t.Fatalf("failed checks metric %v, want %d", got, rounds+2+2)
	}
	if got := metricValue(t, reg, "atoll_dc_subclouds", map[string]string{"management_state": "unmanaged", "availability_status": "offline"}); got != 1 {
		t.Fatalf("unmanaged offline gauge %v, want 1", got)
	}
	if got := metricValue(t, reg, "atoll_dc_subclouds_by_deploy_status", map[string]string{"deploy_status": "complete"}); got != 3 {
		t.Fatalf("complete gauge %v, want 3", got)
	}
}

func TestAuditRunPacedByClock(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m, _ := newManager(t, dc.Options{})
	if _, err := m.AddSubcloud(ctx, dctest.AddRequest(1)); err != nil {
		t.Fatal(err)
	}
	clock := dctest.NewFakeClock(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	hc := newFakeHealth()
	const interval = 40 * time.Second
	a, err := dc.NewAuditor(m, hc, dc.AuditOptions{Interval: interval, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	waitCtx, waitCancel := context.WithTimeout(ctx, 10*time.Second)
	defer waitCancel()
	for round := 1; round <= 3; round++ {
		if err := clock.WaitForWaiters(waitCtx, 1); err != nil {
			t.Fatal(err)
		}
		if got := hc.callsOf("subcloud-1"); got != round {
			t.Fatalf("after round %d: %d checks", round, got)
		}
		clock.Advance(interval - time.Nanosecond)
		if clock.Waiters() != 1 {
			t.Fatal("the round started before the interval elapsed")
		}
		clock.Advance(time.Nanosecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v after cancel, want nil", err)
	}
}

// blockingHealth holds every check until released, recording the peak
// number in flight.
type blockingHealth struct {
	inFlight, peak atomic.Int32
	release        chan struct{}
}

func (h *blockingHealth) Check(ctx context.Context, _ *dc.Subcloud) error {
	n := h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	for p := h.peak.Load(); n > p && !h.peak.CompareAndSwap(p, n); p = h.peak.Load() {
	}
	select {
	case <-h.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestAuditConcurrencyBound(t *testing.T) {
	ctx := context.Background()
	m, _ := newManager(t, dc.Options{})
	const fleet, limit = 20, 4
	for i := range fleet {
		if _, err := m.AddSubcloud(ctx, dctest.AddRequest(i)); err != nil {
			t.Fatal(err)
		}
	}
	hc := &blockingHealth{release: make(chan struct{})}
	a, err := dc.NewAuditor(m, hc, dc.AuditOptions{Concurrency: limit})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.AuditOnce(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for hc.inFlight.Load() < limit && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(hc.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p := hc.peak.Load(); p != limit {
		t.Fatalf("peak checks in flight %d, want %d", p, limit)
	}
	all, err := m.Subclouds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Availability != dc.Online {
			t.Fatalf("%s not online after a healthy round", s.Name)
		}
	}
}

func TestHTTPSHealthChecker(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/v1/health/healthy" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	// The untrusting client below makes the server log a handshake error.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	tmpl := "https://{address}:" + u.Port() + "/v1/health/{name}"
	hc := dc.NewHTTPSHealthChecker(dc.HTTPSHealthCheckerOptions{URLTemplate: tmpl, TLSConfig: &tls.Config{RootCAs: pool}, Timeout: 5 * time.Second})
	ctx := context.Background()
	sc := &dc.Subcloud{ID: 3, Name: "healthy", BootstrapAddress: netip.MustParseAddr("127.0.0.1")}
	if err := hc.Check(ctx, sc); err != nil {
		t.Fatalf("healthy subcloud: %v", err)
	}
	sick := &dc.Subcloud{ID: 4, Name: "sick", BootstrapAddress: netip.MustParseAddr("127.0.0.1")}
	if err := hc.Check(ctx, sick); err == nil {
		t.Fatal("503 counted as healthy")
	}
	if err := hc.Check(ctx, &dc.Subcloud{Name: "nowhere"}); err == nil {
		t.Fatal("subcloud without an address counted as healthy")
	}
	// Without the CA the server is not trusted.
	untrusting := dc.NewHTTPSHealthChecker(dc.HTTPSHealthCheckerOptions{URLTemplate: tmpl, TLSConfig: &tls.Config{RootCAs: x509.NewCertPool()}})
	before := hits.Load()
	if err := untrusting.Check(ctx, sc); err == nil {
		t.Fatal("untrusted server accepted")
	}
	if hits.Load() != before {
		t.Fatal("request sent over an unverified connection")
	}
	v6 := &dc.Subcloud{ID: 9, Name: "v6", OAMFloatingIP: netip.MustParseAddr("fd02::2"), BootstrapAddress: netip.MustParseAddr("10.0.0.1")}
	if got, want := dc.NewHTTPSHealthChecker(dc.HTTPSHealthCheckerOptions{}).URL(v6), "https://[fd02::2]:8443/v1/health"; got != want {
		t.Fatalf("URL = %q, want %q", got, want)
	}
}
