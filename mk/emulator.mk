# Redfish BMC emulator: benchmark against sushy-tools (when installed).

.PHONY: bench-emulator test-emulator

## bench-emulator: Redfish GET of a System with 50 connections (wrk), side by side with sushy-tools when installed.
bench-emulator:
	GO=$(GO) ./examples/bmc-emulator/bench.sh
	$(GO) test -run '^$$' -bench 'GetSystem|ServeHTTP|Fleet1000' -benchtime 2s -count=1 ./redfish/emulator/

## test-emulator: the emulator's tests (sushy runs when python3-sushy is installed).
test-emulator:
	$(GO) test -race -count=1 ./redfish/emulator/... ./redfish/redfishtest/... ./examples/bmc-emulator/...

BENCH_TARGETS += bench-emulator
