package redfish

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the client's Prometheus collectors. Clients sharing a
// registerer share the collectors.
type metrics struct {
	requests *prometheus.CounterVec
	retries  *prometheus.CounterVec
	errors   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "atoll", Subsystem: "redfish", Name: "requests_total",
			Help: "HTTP requests sent to BMCs, by operation, method and status code.",
		}, []string{"op", "method", "code"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "atoll", Subsystem: "redfish", Name: "retries_total",
			Help: "Attempts repeated after a transient failure, by operation.",
		}, []string{"op"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "atoll", Subsystem: "redfish", Name: "errors_total",
			Help: "Operations that failed, by operation and kind.",
		}, []string{"op", "kind"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.retries, err = register(reg, m.retries); err != nil {
		return nil, err
	}
	if m.errors, err = register(reg, m.errors); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered.
func register(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
			return existing, nil
		}
	}
	return c, err
}

func (m *metrics) request(op, method, code string) {
	m.requests.WithLabelValues(op, method, code).Inc()
}

func (m *metrics) retry(op string) {
	m.retries.WithLabelValues(op).Inc()
}

func (m *metrics) failure(op string, e *Error) {
	kind := "other"
	switch {
	case errors.Is(e, ErrUnauthorized):
		kind = "unauthorized"
	case errors.Is(e, ErrNotFound):
		kind = "not-found"
	case errors.Is(e, ErrTimeout):
		kind = "timeout"
	case errors.Is(e, ErrUnavailable):
		kind = "unavailable"
	case errors.Is(e, ErrUnsupported):
		kind = "unsupported"
	case errors.Is(e, ErrNoVirtualMedia):
		kind = "no-virtual-media"
	case errors.Is(e, ErrTaskFailed):
		kind = "task-failed"
	case errors.Is(e, ErrRejected):
		kind = "rejected"
	}
	m.errors.WithLabelValues(op, kind).Inc()
}
