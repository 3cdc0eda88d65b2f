# dc — subcloud model, Manager, stores (memstore, sqlstore), conformance suite.
#
# test-dc:  the dc packages with the race detector (the conformance suite runs
#           on memstore and on SQLite files in temporary directories).
# bench-dc: the add-validation scaling run (fleet index vs a scan of the fleet,
#           at 1,000 and 10,000 existing subclouds) printed as a table with
#           the 10k/1k growth of each, then the shared store benchmarks and
#           BenchmarkManagerList (SQLite, 1,000 and 10,000: first load, copies,
#           shared view).
# fuzz-dc:  FuzzParseBootstrapValues for DC_FUZZTIME (seeds in
#           dc/testdata/fuzz/FuzzParseBootstrapValues). Minimisation is bounded:
#           Go's default of 60 s per new input stalls short runs.
# lint-dc:  gofmt, go vet and staticcheck on the dc packages.

DC_PKGS     := ./dc ./dc/memstore ./dc/sqlstore ./dc/dctest
DC_FUZZTIME ?= 60s

.PHONY: test-dc bench-dc fuzz-dc lint-dc
# The bench rule's prerequisites were read before this file was included.
bench: bench-dc

test-dc:
	$(GO) test -race -count=1 -timeout 10m $(DC_PKGS)

bench-dc:
	@$(GO) test -run '^$$' -bench 'BenchmarkAddValidation' -benchtime 500ms -count 5 ./dc | \
	awk '/^BenchmarkAddValidation/ { split($$1, p, "/"); sub(/-[0-9]+$$/, "", p[3]); k = p[2] " " p[3]; \
	       if (!(k in ns) || $$3 + 0 < ns[k] + 0) ns[k] = $$3 } \
	END { print "add validation, fastest of 5 runs (go test -bench BenchmarkAddValidation -count 5 ./dc)"; \
	      printf "%-8s %14s %14s %8s\n", "checker", "n=1000 ns/op", "n=10000 ns/op", "10k/1k"; \
	      for (k in ns) { split(k, q, " "); if (q[2] == "n=1000") printf "%-8s %14s %14s %8.2f\n", q[1], ns[k], ns[q[1] " n=10000"], ns[q[1] " n=10000"] / ns[k] } }'
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./dc/memstore ./dc/sqlstore

fuzz-dc:
	$(GO) test -run '^$$' -fuzz FuzzParseBootstrapValues -fuzztime $(DC_FUZZTIME) -fuzzminimizetime 5s -parallel 1 ./dc

lint-dc:
	@out=$$(gofmt -l dc/*.go dc/memstore dc/sqlstore dc/dctest); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(DC_PKGS)
	$(STATICCHECK) $(DC_PKGS)
