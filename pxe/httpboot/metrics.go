package httpboot

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type route int

const (
	routeImage route = iota
	routeBoot
	routeScript
	routeOSTree
	routeStatus
	routeNotFound
	numRoutes
)

func (r route) String() string {
	switch r {
	case routeImage:
		return "image"
	case routeBoot:
		return "boot"
	case routeScript:
		return "script"
	case routeOSTree:
		return "ostree"
	case routeStatus:
		return "status"
	}
	return "none"
}

// metrics holds pre-resolved children so that a request costs no label
// lookups.
type metrics struct {
	requests [numRoutes][5]prometheus.Counter
	bytes    [numRoutes]prometheus.Counter
	duration [numRoutes]prometheus.Observer
	status   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	req := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "atoll", Subsystem: "pxe_http", Name: "requests_total",
		Help: "HTTP boot requests by route and status class.",
	}, []string{"route", "code"})
	byt := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "atoll", Subsystem: "pxe_http", Name: "response_bytes_total",
		Help: "HTTP boot response body bytes by route.",
	}, []string{"route"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "atoll", Subsystem: "pxe_http", Name: "request_duration_seconds",
		Help:    "Time to serve an HTTP boot request by route.",
		Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5, 30},
	}, []string{"route"})
	st := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "atoll", Subsystem: "pxe_http", Name: "host_status_total",
		Help: "Host status reports accepted, by state.",
	}, []string{"state"})
	if reg != nil {
		for _, c := range []prometheus.Collector{req, byt, dur, st} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	m := &metrics{status: st}
	for r := range numRoutes {
		for c := range 5 {
			m.requests[r][c] = req.WithLabelValues(r.String(), fmt.Sprintf("%dxx", c+1))
		}
		m.bytes[r] = byt.WithLabelValues(r.String())
		m.duration[r] = dur.WithLabelValues(r.String())
	}
	return m, nil
}

func (m *metrics) observe(r route, code int, n int64, d time.Duration) {
	if code == 0 {
		code = 200
	}
	c := code/100 - 1
	if c < 0 || c > 4 {
		c = 4
	}
	m.requests[r][c].Inc()
	if n > 0 {
		m.bytes[r].Add(float64(n))
	}
	m.duration[r].Observe(d.Seconds())
}
