# pxe/tftpd — TFTP server benchmark against tftpd-hpa, dnsmasq and atftpd.
#
# bench-tftpd: the Go benchmarks of pxe/tftpd, then one run that serves a
# TFTPD_BENCH_MIB MiB file to 1 and 20 concurrent clients (curl
# --tftp-blksize 1468, lock-step; atftp --option "windowsize 16", RFC 7440)
# from Atoll, tftpd-hpa, dnsmasq (TFTP only, port 69 in its own network
# namespace) and atftpd, and prints MiB/s per server and case with Atoll's
# ratio to the best peer (median of TFTPD_BENCH_ROUNDS rounds).
# Needs root, curl, atftp, tftpd-hpa, dnsmasq and iproute2:
#   apt-get install -y curl atftp tftpd-hpa dnsmasq iproute2; service tftpd-hpa stop; service dnsmasq stop
# atftpd conflicts with tftpd-hpa as a package: its .deb is downloaded and
# unpacked into TFTPD_BENCH_CACHE instead of installed.

TFTPD_BENCH_MIB    ?= 40
TFTPD_BENCH_ROUNDS ?= 3
TFTPD_BENCH_CACHE  ?= $(HOME)/.cache/atoll/tftpd-bench
TFTPD_ATFTPD       := $(TFTPD_BENCH_CACHE)/root/usr/sbin/atftpd

.PHONY: bench-tftpd
BENCH_TARGETS += bench-tftpd

$(TFTPD_ATFTPD):
	mkdir -p $(TFTPD_BENCH_CACHE)
	cd $(TFTPD_BENCH_CACHE) && rm -f atftpd_*.deb && apt-get download atftpd && dpkg-deb -x atftpd_*.deb root

bench-tftpd: $(TFTPD_ATFTPD)
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./pxe/tftpd/
	$(GO) run ./pxe/tftpd/internal/peerbench -size $(TFTPD_BENCH_MIB) -rounds $(TFTPD_BENCH_ROUNDS) -atftpd $(TFTPD_ATFTPD)
