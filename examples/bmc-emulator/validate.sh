#!/usr/bin/env bash
# validate.sh runs DMTF's Redfish-Protocol-Validator and
# Redfish-Service-Validator against a freshly started bmc-emulator (over
# HTTPS, Basic auth admin:password) and prints their summaries. It is not part
# of `make test`: CI has no validators. Exits 0 with a "not installed" message
# when neither validator is found, 1 when one reports a failure.
#
# Environment:
#   RPV_DIR      checkout of github.com/DMTF/Redfish-Protocol-Validator
#   RSV_DIR      checkout of github.com/DMTF/Redfish-Service-Validator
#   RSV_SCHEMAS  directory of the DMTF CSDL files (*_v1.xml), e.g. the csdl/
#                folder of github.com/DMTF/Redfish-Publications (DSP8010);
#                the Service Validator cannot download them offline
#   PROFILE      emulator profile (default generic)
#   PYTHON       interpreter (default /usr/bin/python3, which sees Debian's
#                packages)
#   PYTHONPATH   where the Python deps that Debian lacks live
#   OUT          report directory (default a temporary one, kept)
#
# Debian packages: python3-requests python3-urllib3 python3-colorama
# python3-pyasn1 python3-pyasn1-modules python3-openpyxl python3-jsonpatch
# python3-requests-toolbelt python3-requests-unixsocket python3-ply
# python3-xlsxwriter. Not in Debian, put on PYTHONPATH from their GitHub
# sources (git archive HEAD | tar -x): aenum (ethanfurman/aenum), sseclient
# (mpetazzoni/sseclient), jsonpath_ng (h2non/jsonpath-ng), jsonpointer
# (stefankoegl/python-json-pointer), redfish (DMTF/python-redfish-library,
# its src/), redfish_utilities (DMTF/Redfish-Tacklebox). For example:
#
#	export PYTHONPATH=/opt/aenum:/opt/sseclient:/opt/jsonpath-ng:/opt/python-json-pointer:/opt/Redfish-Tacklebox:/opt/python-redfish-library/src
#	RPV_DIR=/opt/Redfish-Protocol-Validator RSV_DIR=/opt/Redfish-Service-Validator \
#	RSV_SCHEMAS=/opt/Redfish-Publications/csdl examples/bmc-emulator/validate.sh
set -euo pipefail

PYTHON=${PYTHON:-/usr/bin/python3}
PROFILE=${PROFILE:-generic}
have_rpv=; have_rsv=
[[ -n ${RPV_DIR:-} && -f ${RPV_DIR}/rf_protocol_validator.py ]] && have_rpv=1
[[ -n ${RSV_DIR:-} && -f ${RSV_DIR}/RedfishServiceValidator.py ]] && have_rsv=1
if [[ -z $have_rpv && -z $have_rsv ]]; then
	echo "validate.sh: Redfish validators not installed (set RPV_DIR and/or RSV_DIR); skipping"
	exit 0
fi
if [[ -n $have_rsv && ! -d ${RSV_SCHEMAS:-} ]]; then
	echo "validate.sh: RSV_SCHEMAS is not a directory of CSDL files; skipping the Service Validator"
	have_rsv=
	[[ -n $have_rpv ]] || exit 0
fi

work=$(mktemp -d)
OUT=${OUT:-$work/reports}
mkdir -p "$OUT"
pid=
cleanup() {
	if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work/bin" "$work/schemas"
}
trap cleanup EXIT

cd "$(dirname "$0")/../.."
go build -o "$work/bin/bmc-emulator" ./examples/bmc-emulator
"$work/bin/bmc-emulator" --profile "$PROFILE" --listen 127.0.0.1:0 --tls --ca-file "$work/ca.pem" \
	--url-file "$work/url" --log-level warn >/dev/null 2>"$OUT/emulator.log" &
pid=$!
for _ in $(seq 100); do [[ -s $work/url ]] && break; sleep 0.1; done
url=$(head -n1 "$work/url")
[[ -n $url ]] || { echo "validate.sh: emulator did not start" >&2; exit 1; }
echo "bmc-emulator ($PROFILE) at $url; reports in $OUT"

# requests prefers REQUESTS_CA_BUNDLE from the environment to a session's
# verify setting, so the emulator's CA must be named there too.
export REQUESTS_CA_BUNDLE=$work/ca.pem CURL_CA_BUNDLE=$work/ca.pem
rc=0
if [[ -n $have_rpv ]]; then
	echo "== Redfish-Protocol-Validator ($(git -C "$RPV_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown))"
	(cd "$RPV_DIR" && "$PYTHON" rf_protocol_validator.py -u admin -p password -r "$url" \
		--ca-bundle "$work/ca.pem" --avoid-http-redirect --report-dir "$OUT/rpv" --report-type both) \
		>"$OUT/rpv.out" 2>&1 || rc=1
	grep -E '^Summary' "$OUT/rpv.out" || { tail -n 20 "$OUT/rpv.out"; rc=1; }
	grep -hP '\t(FAIL|WARN)\t' "$OUT"/rpv/*.tsv 2>/dev/null | cut -f1,2,4,6 | cut -c1-200 || true
fi
if [[ -n $have_rsv ]]; then
	echo "== Redfish-Service-Validator ($(git -C "$RSV_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown))"
	mkdir -p "$work/schemas"
	cp "$RSV_SCHEMAS"/*.xml "$work/schemas/"
	for auth in Basic Session; do
		echo "-- authtype $auth"
		(cd "$RSV_DIR" && "$PYTHON" RedfishServiceValidator.py -u admin -p password -r "$url" --authtype "$auth" \
			--schema_directory "$work/schemas" --skipschema --logdir "$OUT/rsv-$auth") \
			>"$OUT/rsv-$auth.out" 2>&1 || rc=1
		grep -A4 -E '^\+-+' "$OUT/rsv-$auth.out" | head -n 5 || { tail -n 20 "$OUT/rsv-$auth.out"; rc=1; }
		grep -h -E ' - (ERROR|WARNING) - ' "$OUT"/rsv-"$auth"/*/RedfishServiceValidatorDebug*.log 2>/dev/null |
			sed 's/^.* - \(ERROR\|WARNING\) - //' | sort | uniq -c || true
	done
fi
exit $rc
