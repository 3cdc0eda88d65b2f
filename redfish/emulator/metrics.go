package emulator

import (
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the emulator's Prometheus collectors.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "atoll", Subsystem: "redfish_emulator", Name: "requests_total",
			Help: "Redfish requests served by emulated BMCs, by method and status code (none: no answer).",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "atoll", Subsystem: "redfish_emulator", Name: "request_duration_seconds",
			Help:    "Time to answer a Redfish request, including injected latency.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 4, 10),
		}, []string{"method"}),
	}
	var err error
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// the same description so that BMCs can share a registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

func (m *metrics) observe(method string, status int, d time.Duration) {
	code := "none" // the connection was dropped or the client gave up
	if status != 0 {
		code = strconv.Itoa(status)
	}
	switch method {
	case "GET", "HEAD", "POST", "PATCH", "DELETE", "PUT", "OPTIONS":
	default:
		method = "OTHER"
	}
	m.requests.WithLabelValues(method, code).Inc()
	m.duration.WithLabelValues(method).Observe(d.Seconds())
}
