# redfish: Redfish BMC control and remote install (see redfish/doc.go).

BENCH_REDFISH_BMCS    ?= 1000
BENCH_REDFISH_LIMIT   ?= 100
BENCH_REDFISH_PROFILE ?= generic

.PHONY: test-redfish bench-redfish

## test-redfish: the redfish package's tests with the race detector.
test-redfish:
	$(GO) test -race -count=1 -timeout 10m ./redfish

## bench-redfish: 1,000 emulated BMCs (own listeners, HTTPS) driven through
## RemoteInstall with 100 in flight, in one process; prints wall time, peak
## RSS (VmHWM) and requests per BMC against the flow's minimum.
bench-redfish:
	BENCH_REDFISH_BMCS=$(BENCH_REDFISH_BMCS) BENCH_REDFISH_LIMIT=$(BENCH_REDFISH_LIMIT) \
	BENCH_REDFISH_PROFILE=$(BENCH_REDFISH_PROFILE) \
	$(GO) test -run '^$$' -bench '^BenchmarkRemoteInstallFleet$$' -benchtime 1x -count 1 -timeout 30m -v ./redfish

BENCH_TARGETS += bench-redfish
