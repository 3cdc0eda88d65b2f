# redfish/emulator: the Redfish BMC emulator (see redfish/emulator/doc.go).

.PHONY: bench-emulator test-emulator

## test-emulator: the emulator's, redfishtest's and bmc-emulator's tests with
## the race detector (sushy drives every profile when python3-sushy is
## installed).
test-emulator:
	$(GO) test -race -count=1 ./redfish/emulator/... ./redfish/redfishtest/... ./examples/bmc-emulator/...

## bench-emulator: Redfish GET of a System from 50 connections (wrk) against
## the bmc-emulator program, side by side with sushy-tools (fake driver) in the same
## run when a sushy-emulator command is on PATH (Debian does not package it;
## bench.sh's header says how to provide it from the sushy-tools source), then
## the Go benchmarks (GET at 50 connections, handler alone, 1,000-BMC fleet).
## Needs: apt-get install -y --no-install-recommends wrk curl
bench-emulator:
	GO=$(GO) ./examples/bmc-emulator/bench.sh
	$(GO) test -run '^$$' -bench 'GetSystem|ServeHTTP|Fleet' -benchmem -benchtime 2s -count=1 ./redfish/emulator/

BENCH_TARGETS += bench-emulator
# The top-level bench rule's prerequisites are expanded before mk/*.mk is
# included, so name the target on it directly as well.
bench: bench-emulator
