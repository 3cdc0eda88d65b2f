package dc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
)

// HealthChecker tells whether a subcloud answers. A nil error is healthy.
type HealthChecker interface {
	Check(ctx context.Context, s *Subcloud) error
}

// TimerClock is a Clock that can also wait. Tests inject a fake one to
// drive the Auditor without sleeping.
type TimerClock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realTimerClock struct{ realClock }

// After waits on the real clock.
func (realTimerClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Audit defaults.
const (
	DefaultAuditInterval         = 30 * time.Second
	DefaultAuditFailureThreshold = 2
	DefaultAuditConcurrency      = 50
	DefaultAuditTimeout          = 10 * time.Second
)

// AuditOptions configure an Auditor; the zero value means the defaults.
type AuditOptions struct {
	// Interval between the starts of two audit rounds (default 30s).
	Interval time.Duration
	// FailureThreshold is the number of consecutive failed checks after
	// which a subcloud goes offline (default 2).
	FailureThreshold int
	// Concurrency bounds the checks in flight (default 50).
	Concurrency int
	// Timeout bounds one check (default 10s).
	Timeout time.Duration
	// Clock paces the rounds; nil is the real clock.
	Clock TimerClock
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the audit metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

// Auditor periodically checks every subcloud, managed or not, and records
// its availability through the Manager, which publishes the changes.
type Auditor struct {
	m    *Manager
	hc   HealthChecker
	opts AuditOptions
	log  *slog.Logger

	checks  *prometheus.CounterVec
	changes *prometheus.CounterVec
	rounds  prometheus.Histogram

	mu       sync.Mutex
	failures map[int64]int
}

// NewAuditor returns an Auditor checking m's subclouds with hc.
func NewAuditor(m *Manager, hc HealthChecker, opts AuditOptions) (*Auditor, error) {
	if m == nil || hc == nil {
		return nil, errors.New("dc: NewAuditor: nil Manager or HealthChecker")
	}
	o := opts
	if o.Interval <= 0 {
		o.Interval = DefaultAuditInterval
	}
	if o.FailureThreshold <= 0 {
		o.FailureThreshold = DefaultAuditFailureThreshold
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultAuditConcurrency
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultAuditTimeout
	}
	if o.Clock == nil {
		o.Clock = realTimerClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Auditor{
		m: m, hc: hc, opts: o, log: o.Logger,
		failures: make(map[int64]int),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "atoll", Subsystem: "dc", Name: "audit_checks_total",
			Help: "Subcloud health checks by result (ok, failed).",
		}, []string{"result"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "atoll", Subsystem: "dc", Name: "audit_availability_changes_total",
			Help: "Availability changes recorded by the audit, by new availability.",
		}, []string{"availability_status"}),
		rounds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "atoll", Subsystem: "dc", Name: "audit_round_duration_seconds",
			Help:    "Duration of one audit round over the whole fleet.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}),
	}
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{a.checks, a.changes, a.rounds} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("dc: audit metrics: %w", err)
			}
		}
	}
	return a, nil
}

// Run audits the fleet every Interval until ctx is done, then returns nil.
// A round that fails (the Store is unreachable) is logged and retried at
// the next interval.
func (a *Auditor) Run(ctx context.Context) error {
	for {
		if err := a.AuditOnce(ctx); err != nil && ctx.Err() == nil {
			a.log.ErrorContext(ctx, "audit round failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-a.opts.Clock.After(a.opts.Interval):
		}
	}
}

// AuditOnce checks every subcloud once, with at most Concurrency checks in
// flight, and records availability changes.
func (a *Auditor) AuditOnce(ctx context.Context) error {
	start := a.opts.Clock.Now()
	all, err := a.m.Subclouds(ctx)
	if err != nil {
		return err
	}
	a.forget(all)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(a.opts.Concurrency)
	for _, s := range all {
		g.Go(func() error {
			a.auditOne(gctx, s)
			return nil
		})
	}
	err = g.Wait()
	a.rounds.Observe(a.opts.Clock.Now().Sub(start).Seconds())
	return err
}

// forget drops failure counts of subclouds that no longer exist.
func (a *Auditor) forget(all []*Subcloud) {
	live := make(map[int64]bool, len(all))
	for _, s := range all {
		live[s.ID] = true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for id := range a.failures {
		if !live[id] {
			delete(a.failures, id)
		}
	}
}

func (a *Auditor) auditOne(ctx context.Context, s *Subcloud) {
	cctx, cancel := context.WithTimeout(ctx, a.opts.Timeout)
	err := a.hc.Check(cctx, s)
	cancel()
	if ctx.Err() != nil {
		return
	}
	want := s.Availability
	a.mu.Lock()
	if err == nil {
		a.failures[s.ID] = 0
		want = Online
	} else {
		a.failures[s.ID]++
		if a.failures[s.ID] >= a.opts.FailureThreshold {
			want = Offline
		}
	}
	failures := a.failures[s.ID]
	a.mu.Unlock()
	if err == nil {
		a.checks.WithLabelValues("ok").Inc()
	} else {
		a.checks.WithLabelValues("failed").Inc()
		a.log.DebugContext(ctx, "subcloud health check failed", "subcloud", s.Name, "failures", failures, "err", err)
	}
	if want == s.Availability {
		return
	}
	if _, err := a.m.SetAvailability(ctx, s.ID, want); err != nil {
		if !errors.Is(err, ErrNotFound) {
			a.log.WarnContext(ctx, "record availability failed", "subcloud", s.Name, "err", err)
		}
		return
	}
	a.changes.WithLabelValues(string(want)).Inc()
	a.log.InfoContext(ctx, "subcloud availability changed", "subcloud", s.Name, "availability", want, "failures", failures)
}

// DefaultHealthURLTemplate is the default HTTPSHealthChecker URL.
const DefaultHealthURLTemplate = "https://{address}:8443/v1/health"

// HTTPSHealthCheckerOptions configure an HTTPSHealthChecker.
type HTTPSHealthCheckerOptions struct {
	// URLTemplate is the health URL with placeholders {address} (the
	// subcloud's OAM floating address, else its bootstrap address; IPv6 in
	// brackets), {name} and {id}. Default DefaultHealthURLTemplate.
	URLTemplate string
	// TLSConfig authenticates the controller to the agent and the agent to
	// the controller (mutual TLS); nil uses Go's defaults.
	TLSConfig *tls.Config
	// Timeout bounds one request (default 10s).
	Timeout time.Duration
}

// HTTPSHealthChecker checks a subcloud with an HTTPS GET of its agent's
// health endpoint; any 2xx answer is healthy.
type HTTPSHealthChecker struct {
	tmpl   string
	client *http.Client
}

var _ HealthChecker = (*HTTPSHealthChecker)(nil)

// NewHTTPSHealthChecker returns an HTTPSHealthChecker.
func NewHTTPSHealthChecker(opts HTTPSHealthCheckerOptions) *HTTPSHealthChecker {
	o := opts
	if o.URLTemplate == "" {
		o.URLTemplate = DefaultHealthURLTemplate
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultAuditTimeout
	}
	tr := &http.Transport{
		TLSClientConfig:     o.TLSConfig,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: o.Timeout,
	}
	return &HTTPSHealthChecker{tmpl: o.URLTemplate, client: &http.Client{Transport: tr, Timeout: o.Timeout}}
}

// CloseIdleConnections closes the kept-alive connections to subclouds.
func (h *HTTPSHealthChecker) CloseIdleConnections() { h.client.CloseIdleConnections() }

// URL returns the health URL of s.
func (h *HTTPSHealthChecker) URL(s *Subcloud) string {
	addr := s.OAMFloatingIP
	if !addr.IsValid() {
		addr = s.BootstrapAddress
	}
	host := ""
	if addr.IsValid() {
		host = addr.String()
		if addr.Is6() {
			host = "[" + host + "]"
		}
	}
	return strings.NewReplacer("{address}", host, "{name}", s.Name, "{id}", strconv.FormatInt(s.ID, 10)).Replace(h.tmpl)
}

// Check implements HealthChecker.
func (h *HTTPSHealthChecker) Check(ctx context.Context, s *Subcloud) error {
	if !s.OAMFloatingIP.IsValid() && !s.BootstrapAddress.IsValid() && strings.Contains(h.tmpl, "{address}") {
		return fmt.Errorf("subcloud %q has no address to check", s.Name)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL(s), nil)
	if err != nil {
		return err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("health endpoint of %q answered %s", s.Name, resp.Status)
	}
	return nil
}
