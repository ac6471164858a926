#!/usr/bin/env bash
# bench/durability.sh: enrollments/s against the local CA at a few
# concurrency levels, and the database syncs each one costs (issue 17).
# Run it on two builds (BUILD=...) to compare before and after.
#
# Environment (defaults in brackets):
#   BUILD    build directory with server/scepgate, tools/scepctl and
#            tools/scep-bench [<repo>/build]; nothing is rebuilt
#   COUNT    enrollments per level, at least 4 per client [200]
#   LEVELS   concurrency levels ["1 8 64"]
#   KEYS     client RSA-2048 keys, reused round-robin [64]
#   STRACE=1 also count fsync/fdatasync per enrollment at concurrency 1
#            (strace -c; slows the server, so it is a separate run)
#   KEEP=1   keep the scratch directory
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
BUILD=${BUILD:-$ROOT/build}
COUNT=${COUNT:-200}
LEVELS=${LEVELS:-"1 8 64"}
KEYS=${KEYS:-64}
STRACE=${STRACE:-0}

SCEPGATE=$BUILD/server/scepgate
SCEPCTL=$BUILD/tools/scepctl
BENCH=$BUILD/tools/scep-bench
for f in "$SCEPGATE" "$SCEPCTL" "$BENCH"; do
	[[ -x $f ]] || { echo "durability: $f is not built" >&2; exit 1; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sg-durability.XXXXXX")
PID=
cleanup() {
	[[ -z $PID ]] || kill "$PID" 2>/dev/null || true
	[[ -z $PID ]] || wait "$PID" 2>/dev/null || true
	if [[ ${KEEP:-0} == 1 ]]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

port=$(free_port)
out=$("$SCEPCTL" init --dir "$TMP/sg" --port "$port" --address 127.0.0.1 2>&1)
CODE=$(sed -n 's/^access code: *//p' <<<"$out")
URL=$(sed -n 's/^SCEP URL: *//p' <<<"$out")
[[ -n $CODE && -n $URL ]] || { echo "scepctl init: $out" >&2; exit 1; }
sed -i 's/level = "[a-z]*"/level = "warn"/' "$TMP/sg/scepgate.cfg"

# start [PREFIX...]: scepgate in the background, healthy.
start() {
	"$@" "$SCEPGATE" --config "$TMP/sg/scepgate.cfg" >"$TMP/server.log" 2>&1 &
	PID=$!
	for _ in $(seq 100); do
		curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$port/healthz" &&
			return 0
		sleep 0.1
	done
	echo "scepgate did not start: $(tail -3 "$TMP/server.log")" >&2
	exit 1
}
# stop: the server, and under strace the traced child first (strace
# detaches on SIGTERM and would leave it running).
stop() {
	local kid
	for kid in $(pgrep -P "$PID" || true); do
		kill "$kid" 2>/dev/null || true
	done
	kill "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
	PID=
}

# enroll COUNT CONCURRENCY: one scep-bench run, its JSON in $TMP/r.json.
enroll() {
	timeout 600 "$BENCH" --url "$URL" --challenge "$CODE" --count "$1" \
		--concurrency "$2" --keys "$KEYS" --key-file "$TMP/keys.pem" \
		--server-pid "$PID" --json >"$TMP/r.json" 2>"$TMP/r.err" || true
}

start
echo "== $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo sqlite) on" \
	"$(df -T "$TMP" | awk 'NR == 2 { print $2 }'), build $BUILD"
enroll 8 1 # warm-up; generates the keys
for c in $LEVELS; do
	n=$COUNT
	((n >= 4 * c)) || n=$((4 * c))
	enroll "$n" "$c"
	python3 - "$TMP/r.json" "$c" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print("concurrency %3s: %4d ok %3d failed; %6.1f enrollments/s; "
      "p50 %.1f p99 %.1f ms; server %.2f CPU ms each" % (
      sys.argv[2], r["ok"], r["failed"], r["ok_per_s"],
      r["latency_ms"]["p50"], r["latency_ms"]["p99"],
      r.get("server_cpu_ms_per_ok", -1)))
EOF
done
stop

if [[ $STRACE == 1 ]]; then
	start strace -f -c -o "$TMP/strace.txt" -e trace=fsync,fdatasync
	enroll 20 1
	stop
	awk '$NF == "fsync" || $NF == "fdatasync" { n += $4 }
		END { printf "syncs: %.1f per enrollment (20 enrollments)\n", n / 20 }' \
		"$TMP/strace.txt"
fi
