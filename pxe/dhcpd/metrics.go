package dhcpd

import (
	"errors"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/prometheus/client_golang/prometheus"
)

// Drop reasons, the values of the "reason" label of atoll_dhcpd_dropped_total.
const (
	reasonMalformed           = "malformed"
	reasonNotRequest          = "not_request"
	reasonUnsupported         = "unsupported_type"
	reasonNoPool              = "no_pool"
	reasonExhausted           = "pool_exhausted"
	reasonReservationConflict = "reservation_conflict"
	reasonNotForUs            = "not_for_us"
	reasonNoRecord            = "no_record"
	reasonNotNetboot          = "not_netboot"
	reasonNoBootFile          = "no_boot_file"
	reasonLookup              = "host_lookup_failed"
	reasonStore               = "store_failed"
	reasonSendFailed          = "send_failed"
)

type metrics struct {
	packets *prometheus.CounterVec
	dropped *prometheus.CounterVec
	offers  prometheus.Counter
	acks    prometheus.Counter
	naks    prometheus.Counter
	active  prometheus.GaugeFunc
}

func newMetrics(reg prometheus.Registerer, active func() float64) (*metrics, error) {
	m := &metrics{
		packets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "atoll", Subsystem: "dhcpd", Name: "packets_total",
			Help: "DHCP requests received, by message type.",
		}, []string{"type"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "atoll", Subsystem: "dhcpd", Name: "dropped_total",
			Help: "Requests dropped or left unanswered, by reason.",
		}, []string{"reason"}),
		offers: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "atoll", Subsystem: "dhcpd", Name: "offers_total", Help: "DHCPOFFERs sent.",
		}),
		acks: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "atoll", Subsystem: "dhcpd", Name: "acks_total", Help: "DHCPACKs sent.",
		}),
		naks: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "atoll", Subsystem: "dhcpd", Name: "naks_total", Help: "DHCPNAKs sent.",
		}),
		active: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "atoll", Subsystem: "dhcpd", Name: "leases_active",
			Help: "Bound leases that have not expired.",
		}, active),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.packets, m.dropped, m.offers, m.acks, m.naks, m.active} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, &ConfigError{Field: "Registerer", Reason: "already holds the dhcpd metrics: use one registry per server"}
			}
			return nil, err
		}
	}
	return m, nil
}

func msgTypeLabel(mt dhcpv4.MessageType) string {
	switch mt {
	case dhcpv4.MessageTypeDiscover:
		return "discover"
	case dhcpv4.MessageTypeRequest:
		return "request"
	case dhcpv4.MessageTypeDecline:
		return "decline"
	case dhcpv4.MessageTypeRelease:
		return "release"
	case dhcpv4.MessageTypeInform:
		return "inform"
	case dhcpv4.MessageTypeNone:
		return "none"
	}
	return "other"
}
