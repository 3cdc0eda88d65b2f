# Atoll — build, test, lint, bench, demo.
# Area-specific targets live in mk/*.mk (one file per area) and are included here.

GO            ?= go
STATICCHECK   ?= $(shell $(GO) env GOPATH)/bin/staticcheck
WIRE          ?= $(shell $(GO) env GOPATH)/bin/wire
STATICCHECK_VERSION := v0.8.2
WIRE_VERSION  := v0.7.0
DATA_DIR      ?= $(CURDIR)/.demo
PKGS          := ./...

# Area targets (bench-*, test-*, fuzz-*) live in mk/*.mk, one file per area;
# each appends its scale benchmark to BENCH_TARGETS. Included before the
# rules below so that BENCH_TARGETS is complete when `bench` is read.
BENCH_TARGETS :=
include $(wildcard mk/*.mk)

.DEFAULT_GOAL := all
.PHONY: all build test test-short lint fmt vet staticcheck bench bench-go demo ci generate tools fuzz

all: build

build:
	$(GO) build $(PKGS)

## test: unit + integration tests with the race detector (real peers where installed).
test:
	$(GO) test -race -count=1 -timeout 40m $(PKGS)

## test-short: fast unit tests only.
test-short:
	$(GO) test -short -count=1 $(PKGS)

tools:
	@test -x $(STATICCHECK) || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@test -x $(WIRE) || $(GO) install github.com/google/wire/cmd/wire@$(WIRE_VERSION)

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck: tools
	$(STATICCHECK) $(PKGS)

lint: fmt vet staticcheck

## generate: regenerate wire_gen.go files.
generate: tools
	cd examples/systemcontroller && $(WIRE) gen .

## bench: every area's Go benchmarks and scale runs, each side by side with
## its peer in the same run (see mk/*.mk). bench-go runs every Go benchmark.
bench: $(BENCH_TARGETS)

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 60m $(PKGS)

## demo: the reference System Controller with its embedded store and a
## simulated fleet (emulated BMCs, installing hosts, subcloud agents). Starts
## afresh each time: the simulated BMCs listen on new ports on every start.
demo:
	rm -rf $(DATA_DIR)
	$(GO) run ./examples/systemcontroller --data-dir $(DATA_DIR) --listen 127.0.0.1:8119 --boot-listen 127.0.0.1:8120 --demo --audit-interval 5s

## fuzz: every fuzz target for FUZZTIME each (seed corpora live in testdata/fuzz).
FUZZTIME ?= 30s
FUZZ_TARGETS := ./pxe/dhcpd:FuzzHandlePacket ./pxe/tftpd:FuzzParseRequest ./dc:FuzzParseBootstrapValues \
	./dc/api:FuzzAppendString ./redfish/emulator:FuzzServeHTTP
fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; echo "== $$fn ($$pkg)"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg || exit 1; done

ci: lint test
