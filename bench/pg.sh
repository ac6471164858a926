#!/usr/bin/env bash
# bench/pg.sh: several instances on PostgreSQL (issue 14), measured.
#
# Enrollments (local CA, RSA-2048, tools/scep-bench) against: one
# scepgate on SQLite; one scepgate on a throwaway PostgreSQL cluster
# (tests/integration/pg.sh: initdb, Unix socket); two scepgate instances
# on that cluster, half of the clients on each. For each run: ok
# enrollments per second, server CPU per enrollment (utime + stime of
# the scepgate processes from /proc/PID/stat, before and after) and the
# database's CPU per enrollment and share of the server side (the
# postgres processes of the cluster: the postmaster, its children, and
# the children it reaped). SQLite runs inside scepgate: no share.
#
# Environment (defaults in brackets):
#   BUILD        build directory with scepgate, scepctl, scep-bench
#                [<repo>/build]
#   SECONDS_RUN  seconds per run [15]
#   CONC         clients in all [16] (two instances: CONC/2 each)
#   KEYS         client RSA-2048 keys, reused [32]
#   KEEP=1       keep the scratch directory
# Everything shares the machine's cores: the clients' RSA work counts
# against the servers', so compare CPU per enrollment more than rates.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SECONDS_RUN=${SECONDS_RUN:-15}
CONC=${CONC:-16}
KEYS=${KEYS:-32}
SCEPGATE=$BUILD/server/scepgate
SCEPCTL=$BUILD/tools/scepctl
BENCH=$BUILD/tools/scep-bench
for b in "$SCEPGATE" "$SCEPCTL" "$BENCH"; do
	[[ -x $b ]] || { echo "bench: no $b (build first)" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "bench: jq is needed" >&2; exit 1; }
# shellcheck source=../tests/integration/pg.sh
. "$ROOT/tests/integration/pg.sh"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sg-benchpg.XXXXXX")
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	pg_stop
	if [[ ${KEEP:-0} == 1 ]]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
log() { echo "== $*" >&2; }
TCK=$(getconf CLK_TCK)

# cpu PID...: utime + stime (+ reaped children's) of each, in ticks.
cpu() {
	local p sum=0 f
	for p in "$@"; do
		[[ -r /proc/$p/stat ]] || continue
		# Fields after the command name: 14 utime, 15 stime,
		# 16 cutime, 17 cstime (proc(5)).
		f=$(sed 's/^.*) //' "/proc/$p/stat")
		read -r -a v <<<"$f"
		sum=$((sum + v[11] + v[12] + v[13] + v[14]))
	done
	echo "$sum"
}
# The cluster's processes: the postmaster and its children.
pg_pids() {
	local pm
	pm=$(head -n 1 "$PG_DIR/data/postmaster.pid")
	echo "$pm"
	pgrep -P "$pm" || true
}

# start NAME DATABASE: an instance in $TMP/NAME on a free port; sets
# PID[NAME] and URL[NAME].
declare -A PID=() URL=()
start() {
	local port out dir=$TMP/$1
	port=$(free_port)
	if [[ ! -d $dir ]]; then
		out=$("$SCEPCTL" init --dir "$dir" --port "$port" \
			--address 127.0.0.1 2>&1) || { echo "$out" >&2; exit 1; }
		CODE=$(sed -n 's/.*access code: *\([^ ]*\).*/\1/p' <<<"$out")
		SQLITE_DB=$dir/scepgate.db
	fi
	sed -i -e "s|^database = .*|database = \"${2//&/\\&}\";|" \
		-e "s|\\([^_]\\)port = [0-9]*;|\\1port = $port;|" "$dir/scepgate.cfg"
	sed -i 's|^log = .*|log = { level = "warn"; };|' "$dir/scepgate.cfg"
	"$SCEPGATE" --config "$dir/scepgate.cfg" >>"$dir/server.log" 2>&1 &
	PIDS+=($!)
	PID[$1]=$!
	URL[$1]=http://127.0.0.1:$port/scep/demo
	for _ in $(seq 100); do
		curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$port/healthz" &&
			return 0
		sleep 0.1
	done
	echo "bench: instance $1 did not start: $(tail -n 5 "$dir/server.log")" >&2
	exit 1
}
stop() {
	local p=$1
	kill "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

# ticks_db FN: cpu of the processes FN prints (none: 0).
ticks_db() {
	local p=()
	[[ -n $1 ]] || { echo 0; return; }
	mapfile -t p < <("$1")
	cpu "${p[@]}"
}

# run LABEL DBPIDS-FN URL...: CONC clients split over the URLs for
# SECONDS_RUN s (the servers: SERVERS); one result line (tab-separated)
# on stdout.
run() {
	local label=$1 dbfn=$2 n i ok=0 s0 s1 d0 d1 pids=()
	shift 2
	n=$#
	# Warm up: keys loaded, connections opened.
	for u in "$@"; do
		"$BENCH" --url "$u" --challenge "$CODE" --count 8 --concurrency 4 \
			--keys "$KEYS" --key-file "$TMP/keys.pem" --json >/dev/null 2>&1 ||
			{ echo "bench: warm-up on $u failed" >&2; exit 1; }
	done
	s0=$(cpu "${SERVERS[@]}")
	d0=$(ticks_db "$dbfn")
	i=0
	for u in "$@"; do
		i=$((i + 1))
		"$BENCH" --url "$u" --challenge "$CODE" --duration "$SECONDS_RUN" \
			--concurrency $((CONC / n)) --keys "$KEYS" \
			--key-file "$TMP/keys.pem" --timeout 30 --json \
			>"$TMP/$label.$i.json" 2>"$TMP/$label.$i.err" &
		pids+=($!)
	done
	wait "${pids[@]}" || true
	s1=$(cpu "${SERVERS[@]}")
	d1=$(ticks_db "$dbfn")
	for i in $(seq "$n"); do
		ok=$((ok + $(jq .ok "$TMP/$label.$i.json")))
	done
	python3 - "$label" "$ok" "$SECONDS_RUN" "$((s1 - s0))" "$((d1 - d0))" \
		"$TCK" "$([[ -n $dbfn ]] && echo 1 || echo 0)" <<'EOF'
import sys
label, ok, secs, srv, db, tck, has_db = sys.argv[1:]
ok, secs, srv, db, tck = int(ok), float(secs), int(srv), int(db), int(tck)
per = lambda t: 1000.0 * t / tck / ok if ok else float("nan")
share = "%.0f%%" % (100.0 * db / (srv + db)) if has_db == "1" and srv + db else "-"
dbms = "%.2f" % per(db) if has_db == "1" else "-"
print("%s\t%d\t%.1f\t%.2f\t%s\t%s" % (label, ok, ok / secs, per(srv), dbms, share))
EOF
}

log "PostgreSQL: a throwaway cluster"
pg_start >/dev/null || { echo "bench: no PostgreSQL" >&2; exit 1; }
RESULTS=()

log "one instance on SQLite (${SECONDS_RUN} s, $CONC clients)"
start a "sqlite:$TMP/a/scepgate.db"
SERVERS=("${PID[a]}")
RESULTS+=("$(run sqlite "" "${URL[a]}")")
stop "${PID[a]}"

log "copy to PostgreSQL; one instance"
"$SCEPCTL" --config "$TMP/a/scepgate.cfg" db copy --from "sqlite:$SQLITE_DB" \
	--to "$PG_URI" >"$TMP/copy.log" 2>&1 || { cat "$TMP/copy.log" >&2; exit 1; }
start a "$PG_URI"
SERVERS=("${PID[a]}")
RESULTS+=("$(run pg-1 pg_pids "${URL[a]}")")

log "two instances on PostgreSQL"
cp -a "$TMP/a" "$TMP/b"
rm -f "$TMP/b/server.log"
start b "$PG_URI"
SERVERS=("${PID[a]}" "${PID[b]}")
RESULTS+=("$(run pg-2 pg_pids "${URL[a]}" "${URL[b]}")")

echo
echo "machine: $(nproc) cores, $(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -n 1)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); ${SECONDS_RUN} s per run, $CONC clients"
echo
printf '| run | ok | enrollments/s | server CPU ms/enrollment | database CPU ms/enrollment | database share |\n'
printf '|---|---|---|---|---|---|\n'
for r in "${RESULTS[@]}"; do
	IFS=$'\t' read -r l ok rate srv db share <<<"$r"
	printf '| %s | %s | %s | %s | %s | %s |\n' "$l" "$ok" "$rate" "$srv" "$db" "$share"
done
