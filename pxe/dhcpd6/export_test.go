package dhcpd6

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Counter reads a counter of reg, for this package's tests inside and
// outside it; label is the value of its only label, or "" for an
// unlabelled counter.
func Counter(t testing.TB, reg *prometheus.Registry, name, label string) float64 {
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
			if label == "" || len(m.GetLabel()) > 0 && m.GetLabel()[0].GetValue() == label {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
