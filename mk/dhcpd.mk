# pxe/dhcpd — DHCP server scale run.
#
# bench-dhcpd: full DORA for DHCPD_BENCH_CLIENTS clients, DHCPD_BENCH_INFLIGHT in
# flight, against Atoll and dnsmasq --no-ping in the same run with the same load
# generator (a relay agent), each server in a network namespace on a veth pair;
# Atoll runs before and after dnsmasq and the ratios use its mean.
# Prints leases/s overall, over the first and last 1,000 leases, the ratios
# Atoll/dnsmasq and duplicate offers; then a short run with consecutive MACs,
# dnsmasq's worst case (the same address offered to concurrent clients).
# Needs root, iproute2 and dnsmasq (apt-get install -y iproute2 dnsmasq).
# The handler's Go benchmarks (go test -bench . ./pxe/dhcpd/) run in bench-go.

DHCPD_BENCH_CLIENTS  ?= 10000
DHCPD_BENCH_INFLIGHT ?= 32
DHCPD_BENCH_SEQ_CLIENTS ?= 1000

.PHONY: bench-dhcpd
BENCH_TARGETS += bench-dhcpd

bench-dhcpd:
	$(GO) run ./pxe/dhcpd/internal/dhcpdbench -clients $(DHCPD_BENCH_CLIENTS) -inflight $(DHCPD_BENCH_INFLIGHT)
	$(GO) run ./pxe/dhcpd/internal/dhcpdbench -clients $(DHCPD_BENCH_SEQ_CLIENTS) -inflight $(DHCPD_BENCH_INFLIGHT) -window 250 -sequential-macs
