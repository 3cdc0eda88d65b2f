package dhcpd6

import (
	"errors"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/prometheus/client_golang/prometheus"
)

// Drop reasons, the values of the "reason" label of atoll_dhcpd6_dropped_total.
const (
	reasonMalformed   = "malformed"
	reasonNotRequest  = "not_request"
	reasonUnsupported = "unsupported_type"
	reasonNotForUs    = "not_for_us"
	reasonNoPool      = "no_pool"
	reasonLookup      = "host_lookup_failed"
	reasonStore       = "store_failed"
	reasonSendFailed  = "send_failed"
	reasonNoAddresses = "no_addresses"
)

type metrics struct {
	packets *prometheus.CounterVec
	dropped *prometheus.CounterVec
	replies *prometheus.CounterVec
	noAddrs prometheus.Counter
	active  prometheus.GaugeFunc
}

func newMetrics(reg prometheus.Registerer, active func() float64) (*metrics, error) {
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: "atoll", Subsystem: "dhcpd6", Name: name, Help: help}
	}
	m := &metrics{
		packets: prometheus.NewCounterVec(prometheus.CounterOpts(opts("packets_total",
			"DHCPv6 client messages received (relayed ones unwrapped), by type.")), []string{"type"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts(opts("dropped_total",
			"Messages dropped unanswered, by reason.")), []string{"reason"}),
		replies: prometheus.NewCounterVec(prometheus.CounterOpts(opts("replies_total",
			"Advertise and Reply messages sent, by type.")), []string{"type"}),
		noAddrs: prometheus.NewCounter(prometheus.CounterOpts(opts("no_addrs_total",
			"Clients answered NoAddrsAvail because their pool was exhausted."))),
		active: prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts("leases_active",
			"Bound leases that have not expired.")), active),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.packets, m.dropped, m.replies, m.noAddrs, m.active} {
		if err := reg.Register(c); err != nil {
			if are := (prometheus.AlreadyRegisteredError{}); errors.As(err, &are) {
				return nil, &ConfigError{Field: "Registerer", Reason: "already holds the dhcpd6 metrics: use one registry per server"}
			}
			return nil, err
		}
	}
	return m, nil
}

func typeLabel(t dhcpv6.MessageType) string {
	switch t {
	case dhcpv6.MessageTypeSolicit:
		return "solicit"
	case dhcpv6.MessageTypeRequest:
		return "request"
	case dhcpv6.MessageTypeConfirm:
		return "confirm"
	case dhcpv6.MessageTypeRenew:
		return "renew"
	case dhcpv6.MessageTypeRebind:
		return "rebind"
	case dhcpv6.MessageTypeRelease:
		return "release"
	case dhcpv6.MessageTypeDecline:
		return "decline"
	case dhcpv6.MessageTypeInformationRequest:
		return "information_request"
	case dhcpv6.MessageTypeAdvertise:
		return "advertise"
	case dhcpv6.MessageTypeReply:
		return "reply"
	}
	return "other"
}
