package tftpd

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus collectors. Names start with atoll_tftpd_.
type metrics struct {
	started   prometheus.Counter
	completed prometheus.Counter
	aborted   prometheus.Counter
	failed    *prometheus.CounterVec // by reason
	refused   *prometheus.CounterVec // by reason
	bytes     prometheus.Counter
	retrans   prometheus.Counter
	active    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "atoll", "tftpd"
	m := &metrics{
		started: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "transfers_started_total", Help: "Read transfers started (request accepted, file opened)."}),
		completed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "transfers_completed_total", Help: "Read transfers whose last block the client acknowledged."}),
		aborted: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "transfers_aborted_total", Help: "Read transfers the client ended with an ERROR packet before any data, such as tsize probes."}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "transfers_failed_total", Help: "Read transfers that ended without completing, by reason."}, []string{"reason"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "requests_refused_total", Help: "Requests answered with a TFTP ERROR and no data, by reason."}, []string{"reason"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "sent_bytes_total", Help: "File bytes sent in DATA packets, retransmissions included."}),
		retrans: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "retransmits_total", Help: "DATA and OACK packets sent again after a timeout or a gap the client reported."}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "transfers_active", Help: "Read transfers in progress."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.started, m.completed, m.aborted, m.failed, m.refused, m.bytes, m.retrans, m.active} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// reason maps an error to a metric label.
func reason(err error) string {
	switch {
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrWriteRefused):
		return "write"
	case errors.Is(err, ErrMode):
		return "mode"
	case errors.Is(err, ErrUnsafePath):
		return "unsafe_path"
	case errors.Is(err, ErrNameTooLong):
		return "name_too_long"
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrNotRegular):
		return "not_regular"
	case errors.Is(err, ErrServerBusy):
		return "server_busy"
	case errors.Is(err, ErrClientBusy):
		return "client_busy"
	case errors.Is(err, ErrTimeout):
		return "timeout"
	case errors.Is(err, ErrClientAbort):
		return "client_abort"
	case errors.Is(err, ErrClientGone):
		return "client_gone"
	case errors.Is(err, ErrShutdown):
		return "shutdown"
	case errors.Is(err, ErrAccess):
		return "access"
	}
	return "error"
}
