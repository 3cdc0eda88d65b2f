#!/usr/bin/env bash
# Redfish GET of a System with 50 concurrent connections: the BMC emulator,
# and sushy-tools (fake driver) side by side in the same run when a
# sushy-emulator command is on PATH. Run from the repository root:
# make bench-emulator.
#
# sushy-tools is not packaged in Debian and PyPI may be unreachable; to
# provide it, put the source of github.com/openstack/sushy-tools (any tree,
# e.g. git archive of a clone) in /opt/sushy-tools, install its runtime deps
# from Debian:
#   apt-get install -y python3-flask python3-requests python3-tenacity \
#     python3-bcrypt python3-webob python3-pbr
# and make /usr/local/bin/sushy-emulator:
#   #!/bin/sh
#   export PYTHONPATH=/opt/sushy-tools PBR_VERSION=2.2.0
#   exec /usr/bin/python3 -m sushy_tools.emulator.main "$@"
# (/usr/bin/python3, the interpreter the Debian packages belong to.) Without
# it the peer column reads "unavailable".
set -euo pipefail

GO=${GO:-go}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-50}
THREADS=${THREADS:-2}

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

auth="Authorization: Basic $(printf admin:password | base64)"

# load URL: prints requests per second for GETs of URL.
load() {
	if command -v wrk >/dev/null; then
		wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -H "$auth" "$1" >"$tmp/wrk.out"
		if grep -q "Non-2xx" "$tmp/wrk.out"; then
			echo "bench-emulator: non-2xx answers from $1:" >&2
			cat "$tmp/wrk.out" >&2
			exit 1
		fi
		awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$tmp/wrk.out"
	else
		echo "bench-emulator: wrk not installed (apt-get install -y wrk)" >&2
		exit 1
	fi
}

# wait_http URL: waits until URL answers.
wait_http() {
	for _ in $(seq 100); do
		curl -fsS -o /dev/null -H "$auth" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "bench-emulator: $1 never answered" >&2
	exit 1
}

"$GO" build -o "$tmp/bmc-emulator" ./examples/bmc-emulator
"$tmp/bmc-emulator" --listen 127.0.0.1:0 --url-file "$tmp/urls" --log-level error >/dev/null &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/urls" ] && break; sleep 0.1; done
ours_url="$(head -1 "$tmp/urls")/redfish/v1/Systems/1"
wait_http "$ours_url"
ours=$(load "$ours_url")

peer="unavailable"
ratio="-"
note="sushy-emulator is not on PATH, so no peer figure was measured; the header of examples/bmc-emulator/bench.sh says how to provide it from the sushy-tools source"
if command -v sushy-emulator >/dev/null; then
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
	cat >"$tmp/sushy.conf" <<CONF
SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'
SUSHY_EMULATOR_LISTEN_PORT = $port
SUSHY_EMULATOR_FAKE_DRIVER = True
CONF
	sushy-emulator --config "$tmp/sushy.conf" >"$tmp/sushy.log" 2>&1 &
	pids+=($!)
	base="http://127.0.0.1:$port"
	wait_http "$base/redfish/v1/Systems"
	sys=$(curl -fsS -H "$auth" "$base/redfish/v1/Systems" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Members"][0]["@odata.id"])')
	peer=$(load "$base$sys")
	ratio=$(awk -v a="$ours" -v b="$peer" 'BEGIN { printf "%.1fx", a / b }')
	note="same run, same wrk settings"
fi

printf '\n%-58s %12s %12s %8s\n' "Redfish GET of a System, wrk -t$THREADS -c$CONNS -d$DURATION" "atoll req/s" "sushy-tools" "ratio"
printf '%-58s %12s %12s %8s\n' "bmc-emulator (generic profile, Basic auth) vs fake driver" "$ours" "$peer" "$ratio"
printf '(%s)\n' "$note"
