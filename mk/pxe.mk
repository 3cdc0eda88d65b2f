# pxe: network boot (DHCP, TFTP, HTTP boot, image store, OSTree serving).

.PHONY: bench-pxe test-pxe-e2e
BENCH_TARGETS += bench-pxe

## bench-pxe: the HTTP boot handler's Go benchmarks, then Atoll vs nginx in
## the same run (40 MiB image under wrk c=1/50/200; ostree pull of a ~40 MB
## repository, plain and via a static delta), printed as one table with ratios.
## Needs: apt-get install -y --no-install-recommends nginx wrk ostree curl
bench-pxe:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./pxe/httpboot
	$(GO) run ./pxe/e2e/pxebench

## test-pxe-e2e: the qemu network boot test alone (root; minutes under TCG).
test-pxe-e2e:
	$(GO) test -count=1 -v -timeout 30m -run TestQEMUPXEBoot ./pxe/e2e
