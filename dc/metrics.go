package dc

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// managerMetrics are the Manager's Prometheus metrics. With a nil
// Registerer they are still updated but never exported.
type managerMetrics struct {
	reg        prometheus.Registerer
	phase      *prometheus.HistogramVec
	fleet      *fleetCollector
	collectors []prometheus.Collector
}

// fleetCollector reports the number of subclouds per state from the fleet
// index at scrape time.
type fleetCollector struct {
	fleet    *fleetIndex
	byState  *prometheus.Desc
	byDeploy *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.byState
	ch <- c.byDeploy
}

// Collect implements prometheus.Collector.
func (c *fleetCollector) Collect(ch chan<- prometheus.Metric) {
	ma, ds := c.fleet.counts()
	for k, n := range ma {
		ch <- prometheus.MustNewConstMetric(c.byState, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
	for k, n := range ds {
		ch <- prometheus.MustNewConstMetric(c.byDeploy, prometheus.GaugeValue, float64(n), string(k))
	}
}

func newManagerMetrics(reg prometheus.Registerer, fleet *fleetIndex) (*managerMetrics, error) {
	m := &managerMetrics{
		reg: reg,
		phase: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "atoll", Subsystem: "dc", Name: "deploy_phase_duration_seconds",
			Help:    "Duration of deploy phases by phase and result (succeeded, failed, aborted).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14),
		}, []string{"phase", "result"}),
		fleet: &fleetCollector{
			fleet: fleet,
			byState: prometheus.NewDesc("atoll_dc_subclouds", "Subclouds by management and availability state.",
				[]string{"management_state", "availability_status"}, nil),
			byDeploy: prometheus.NewDesc("atoll_dc_subclouds_by_deploy_status", "Subclouds by deploy status.",
				[]string{"deploy_status"}, nil),
		},
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.phase, m.fleet} {
		if err := reg.Register(c); err != nil {
			m.unregister()
			return nil, err
		}
		m.collectors = append(m.collectors, c)
	}
	return m, nil
}

func (m *managerMetrics) observePhase(p PhaseName, result string, d time.Duration) {
	m.phase.WithLabelValues(string(p), result).Observe(d.Seconds())
}

// unregister removes the metrics, so that a new Manager can register on
// the same registry after Close.
func (m *managerMetrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
	m.collectors = nil
}
