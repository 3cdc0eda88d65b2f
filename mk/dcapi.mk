# dc REST API (dc/api), its client (dc/client), dcctl and the systemcontroller
# daemon. (mk/dc.mk owns bench-dc/test-dc for the dc core packages.)
#
# bench-dcapi: 10,000 subclouds through the API (daemon process, SQLite on
#              disk, loopback HTTP, typed client, 8 concurrent adders): adds/s,
#              full-list latency at 1k and 10k, the daemon's RSS; then the add
#              (overlap) validation scaling 1k -> 10k and the list encoder.
#              The scale run goes twice: on SQLite, then on a PostgreSQL
#              server it starts (apt-get install -y postgresql).
# test-dcapi:  the dc/api, dc/client, dcctl and systemcontroller tests (-race).

DCAPI_PKGS := ./dc/api ./dc/client ./examples/dcctl ./examples/systemcontroller
DC_SCALE   ?= 10000

.PHONY: bench-dcapi test-dcapi

BENCH_TARGETS += bench-dcapi
# bench's prerequisites were read before mk/*.mk was included.
bench: bench-dcapi

bench-dcapi:
	@ATOLL_BENCH_DC=$(DC_SCALE) $(GO) test -count=1 -run '^TestScaleBench$$' -v -timeout 30m ./examples/systemcontroller \
		| grep -v -e '^=== RUN' -e '^{' -e '^PASS' -e '^ok '
	@ATOLL_BENCH_DC=$(DC_SCALE) ATOLL_BENCH_DC_STORE=postgres $(GO) test -count=1 -run '^TestScaleBench$$' -v -timeout 30m ./examples/systemcontroller \
		| grep -v -e '^=== RUN' -e '^{' -e '^PASS' -e '^ok '
	@echo
	@echo "add validation (management/OAM overlap) at 1k and 10k subclouds: go test -run '^\$$' -bench AddValidation ./dc"
	@$(GO) test -run '^$$' -bench AddValidation -benchtime 20000x -count=1 ./dc | grep '^Benchmark'
	@echo
	@echo "list encoding, 10k subclouds in memory (hand-written appender vs encoding/json): go test -bench Subclouds10k ./dc/api"
	@$(GO) test -run '^$$' -bench 'Subclouds10k' -benchmem -benchtime 20x -count=1 ./dc/api | grep '^Benchmark'

test-dcapi:
	$(GO) test -race -count=1 -timeout 10m $(DCAPI_PKGS)
