#!/usr/bin/env bash
# bench/callgrind.sh: the enrollment's cost as a ratio of instruction
# counts, which do not depend on the machine or its load.
#
# 1. scepgate (a fresh `scepctl init` instance: local CA, RSA-2048, log
#    level warn) runs under valgrind --tool=callgrind with
#    --toggle-collect=srv_scep_answer: only instructions executed inside
#    the request function (every HTTP answer of scepgate, run on
#    libmicrohttpd's thread or a worker) are counted; start-up, the
#    collector thread and libmicrohttpd's own parsing are not.
# 2. tools/scep-bench makes WARMUP enrollments (it also makes its client
#    keys and fetches GetCACert); then `callgrind_control --zero`; then
#    COUNT enrollments at concurrency 1 (AES-128, SHA-256 requests);
#    then `callgrind_control --dump`. The dump holds COUNT enrollments
#    and one GetCACaps and GetCACert each (a few thousand instructions).
# 3. tools/scep-rsaref runs under callgrind with
#    --toggle-collect=rsaref_ops: one RSA-2048 PKCS#1 decryption and two
#    SHA-256 PKCS#1 signatures with the instance's RA key, the crypto
#    floor of an enrollment (after one uncounted round that builds the
#    key's Montgomery contexts and blinding, as a server does once).
# Same figure on any machine: callgrind's virtual CPU has no AVX-512, so
# OpenSSL takes its AVX2 RSA code under valgrind wherever it runs (on a
# host with AVX2); the OpenSSL and valgrind versions still count.
# Prints instructions per enrollment, instructions of the three
# private-key operations and R, their ratio; the last line is
# "callgrind ratio: R" (bench/run.sh reads it).
#
# Environment: BUILD [<repo>/build], COUNT [32] (a multiple of 32: RSA
# blinding is renewed every 32 uses of a key, and an enrollment uses the
# RA key twice and the CA key once), WARMUP [3], ROUNDS [32]
# rounds of the three operations (after a warm-up round; the mean counts),
# TOP [0]: also print the TOP inclusive entries of the profile,
# SCEPGATE [$BUILD/server/scepgate]: another server binary to compare,
# SED_CFG: a sed script applied to the instance's scepgate.cfg,
# PRELOAD: LD_PRELOAD for the server (an allocator, say),
# KEEP=1 keep the scratch directory (the callgrind files).
# Exit 1 with a message when a part fails.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
BUILD=${BUILD:-$ROOT/build}
COUNT=${COUNT:-32}
WARMUP=${WARMUP:-3}
TOP=${TOP:-0}
ROUNDS=${ROUNDS:-32}

die() {
	echo "callgrind: $*" >&2
	exit 1
}

for t in valgrind callgrind_control callgrind_annotate curl python3; do
	command -v "$t" >/dev/null || die "$t is required (scripts/deps.sh)"
done
SCEPGATE=${SCEPGATE:-$BUILD/server/scepgate}
SCEPCTL=$BUILD/tools/scepctl
BENCH=$BUILD/tools/scep-bench
RSAREF=$BUILD/tools/scep-rsaref
for b in "$SCEPGATE" "$SCEPCTL" "$BENCH" "$RSAREF"; do
	[[ -x $b ]] || die "$b is missing (build first)"
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/scepgate-cg.XXXXXX")
PID=
cleanup() {
	if [[ -n $PID ]]; then
		kill "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	if [[ ${KEEP:-0} == 1 ]]; then
		echo "kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT

# The "summary:" or "totals:" instruction count of a callgrind file.
total_ir() {
	awk '/^(summary|totals):/ { n = $2 } END { if (n == "") exit 1;
		print n }' "$1"
}

PORT=$(free_port)
bench_init "$TMP/sg" "$PORT"
CODE=$BI_CODE
URL=$BI_URL
[[ -z ${SED_CFG:-} ]] || sed -i "$SED_CFG" "$TMP/sg/scepgate.cfg"

env ${PRELOAD:+LD_PRELOAD=$PRELOAD} valgrind --tool=callgrind \
	--toggle-collect=srv_scep_answer --callgrind-out-file="$TMP/server.cg" \
	"$SCEPGATE" --config "$TMP/sg/scepgate.cfg" >"$TMP/server.log" 2>&1 &
PID=$!
up=0
for _ in $(seq 600); do
	curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/healthz" &&
		{ up=1; break; }
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.2
done
((up)) || die "scepgate did not start: $(tail -5 "$TMP/server.log")"

"$BENCH" --url "$URL" --challenge "$CODE" --count "$WARMUP" --keys 8 \
	--key-file "$TMP/keys.pem" --timeout 300 >"$TMP/warmup.log" 2>&1 ||
	die "warm-up enrollments failed: $(tail -3 "$TMP/warmup.log")"
callgrind_control --zero "$PID" >/dev/null ||
	die "callgrind_control --zero $PID failed"
"$BENCH" --url "$URL" --challenge "$CODE" --count "$COUNT" --keys 8 \
	--key-file "$TMP/keys.pem" --timeout 300 --json \
	>"$TMP/enroll.json" 2>"$TMP/enroll.err" ||
	die "enrollments failed: $(tail -3 "$TMP/enroll.err")"
ok=$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))
print(r["ok"] if r["failed"] == 0 else -1)' "$TMP/enroll.json")
[[ $ok == "$COUNT" ]] || die "$COUNT enrollments asked, $ok ok: \
$(cat "$TMP/enroll.json")"
callgrind_control --dump=enrollments "$PID" >/dev/null ||
	die "callgrind_control --dump $PID failed"
dump=
for _ in $(seq 100); do
	dump=$(ls "$TMP"/server.cg.* 2>/dev/null | head -1 || true)
	[[ -n $dump ]] && grep -q '^totals:' "$dump" && break
	sleep 0.2
done
[[ -n $dump ]] || die "no callgrind dump after callgrind_control --dump"
kill "$PID"
wait "$PID" 2>/dev/null || true
PID=
server_ir=$(total_ir "$dump") || die "no instruction total in $dump"

valgrind --tool=callgrind --toggle-collect=rsaref_ops \
	--callgrind-out-file="$TMP/rsaref.cg" \
	"$RSAREF" "$TMP/sg/ra.key" "$ROUNDS" >"$TMP/rsaref.log" 2>&1 ||
	die "scep-rsaref failed: $(tail -3 "$TMP/rsaref.log")"
ref_ir=$(total_ir "$TMP/rsaref.cg") || die "no instruction total (rsaref)"
ref_ir=$((ref_ir / ROUNDS))
((ref_ir > 1000000)) || die "rsaref_ops counted only $ref_ir instructions"

if ((TOP > 0)); then
	echo "== profile: inclusive, $COUNT enrollments (toggle srv_scep_answer)"
	callgrind_annotate --inclusive=yes "$dump" 2>/dev/null |
		grep -E '^ *[0-9,]+ \( *[0-9.]+%\) ' |
		sed -E 's#/[^ ]*/([a-z0-9_]+/[a-z0-9_]+\.c):#\1:#; s# \[[^]]*\]$##' |
		awk -v n="$TOP" '!seen[$0]++ && k++ < n' || true
fi
python3 - "$server_ir" "$COUNT" "$ref_ir" <<'EOF'
import sys
server, count, ref = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
per = server / count
print("instructions per enrollment:           %14.0f" % per)
print("instructions of 3 RSA-2048 private ops:%14d" % ref)
print("callgrind ratio: %.3f" % (per / ref))
EOF
