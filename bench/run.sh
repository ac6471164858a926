#!/usr/bin/env bash
# bench/run.sh: the performance budget of DESIGN.md, measured.
#
# Starts scepgate (local CA, RSA-2048) and, when installed, micromdm's
# scepserver with an RSA-2048 CA; runs the same loads against both with
# tools/scep-bench and wrk, and the same wrk command against nginx (one
# worker) serving scepgate's GetCACaps and GetCACert bytes as static
# files; runs `openssl speed rsa2048` for the crypto floor; counts
# instructions with bench/callgrind.sh (the ratio that does not depend
# on the machine); then, when the SCM test double is built, measures
# GetCACaps and the thread count while enrollments wait on a slow
# upstream; prints one table with the budgets met or missed. Exits 1
# with a message when a part fails (no silent zeros).
#
# Environment (defaults in brackets; the whole run takes about 4 min on
# 2 cores; QUICK=1 about 2 min):
#   QUICK=1       COUNT 100, KEYS 16, WRK_SECONDS 3, WRK_ROUNDS 1, HOLD
#                 300, SLOW 0 unless set
#   BUILD         build directory [<repo>/build]; its scepgate, scepctl,
#                 scep-bench and scm-double are (re)built first unless
#                 NO_BUILD=1
#   COUNT         enrollments per concurrency level, at least 4 per
#                 client [300]
#   LEVELS        concurrency levels ["1 8 64"]
#   KEYS          client RSA-2048 keys, reused round-robin [64]
#   WRK_SECONDS   wrk run per operation and server [5], WRK_ROUNDS
#                 times [2], servers alternating; the best round counts
#   WRK_CONNS     wrk connections [64]; WRK_THREADS [2]
#   HOLD          connections held open for the RSS check [1000]
#   SPEED_SECONDS openssl speed duration [3]
#   MICROMDM=0    skip micromdm's scepserver
#   SLOW=0        skip the slow upstream: a second scepgate on the "scm"
#                 upstream, tests/doubles/scm answering every API call
#                 after SLOW_DELAY_MS [500] ms, SLOW_COUNT [200]
#                 enrollments all at once while scep-bench asks GetCACaps
#                 (4 clients) and /proc/PID/status gives Threads: every
#                 0.5 s (about 25 s with the defaults)
#   CALLGRIND=0   skip bench/callgrind.sh; CG_COUNT enrollments [32]
#   PROFILE=1     also print callgrind's top 40 inclusive functions
#   NGINX=0       skip nginx
#   STRICT=1      exit 1 when a budget is missed
#   KEEP=1        keep the scratch directory
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
BUILD=${BUILD:-$ROOT/build}
if [[ ${QUICK:-0} == 1 ]]; then
	: "${COUNT:=100}" "${KEYS:=16}" "${WRK_SECONDS:=3}" "${WRK_ROUNDS:=1}"
	: "${HOLD:=300}" "${SLOW:=0}"
fi
CALLGRIND=${CALLGRIND:-1}
CG_COUNT=${CG_COUNT:-32}
NGINX=${NGINX:-1}
COUNT=${COUNT:-300}
LEVELS=${LEVELS:-"1 8 64"}
KEYS=${KEYS:-64}
WRK_SECONDS=${WRK_SECONDS:-5}
WRK_CONNS=${WRK_CONNS:-64}
WRK_THREADS=${WRK_THREADS:-2}
WRK_ROUNDS=${WRK_ROUNDS:-2}
HOLD=${HOLD:-1000}
SPEED_SECONDS=${SPEED_SECONDS:-3}
MICROMDM=${MICROMDM:-1}
PROFILE=${PROFILE:-0}
SLOW=${SLOW:-1}
SLOW_COUNT=${SLOW_COUNT:-200}
SLOW_DELAY_MS=${SLOW_DELAY_MS:-500}
STRICT=${STRICT:-0}

log() { echo "== $*"; }
die() {
	echo "bench: $*" >&2
	exit 1
}

# Install Debian packages that are missing (we may be root in a VM).
need_pkg() { # need_pkg COMMAND PACKAGE
	command -v "$1" >/dev/null && return 0
	local sudo=()
	[[ $(id -u) -eq 0 ]] || sudo=(sudo)
	log "installing $2"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends "$2" >/dev/null 2>&1 ||
		{ "${sudo[@]}" apt-get update >/dev/null 2>&1 &&
			"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
				apt-get install -y --no-install-recommends "$2" \
				>/dev/null 2>&1; } || return 1
}

for t in curl openssl python3; do
	command -v "$t" >/dev/null || die "$t is required"
done
need_pkg wrk wrk || die "wrk is not installed and apt-get failed"
if [[ $NGINX == 1 ]]; then
	PATH=$PATH:/usr/sbin need_pkg nginx nginx ||
		die "nginx is not installed and apt-get failed (NGINX=0 skips it)"
fi
if [[ $CALLGRIND == 1 ]]; then
	need_pkg valgrind valgrind ||
		die "valgrind is not installed and apt-get failed (CALLGRIND=0)"
fi
if [[ $MICROMDM == 1 ]] && ! need_pkg scepserver scep; then
	echo "bench: micromdm scepserver unavailable; scepgate only" >&2
	MICROMDM=0
fi

if [[ ${NO_BUILD:-0} != 1 ]]; then
	log "building scepgate, scepctl, scep-bench in $BUILD"
	[[ -f $BUILD/CMakeCache.txt ]] ||
		cmake -S "$ROOT" -B "$BUILD" >/dev/null
	cmake --build "$BUILD" -j"$(nproc)" --target scepgate scepctl \
		scep-bench scep-rsaref >/dev/null || die "build failed"
	# Only with WITH_TESTS=ON; without it the slow upstream is skipped.
	if [[ $SLOW == 1 ]]; then
		cmake --build "$BUILD" -j"$(nproc)" --target scm-double \
			>/dev/null 2>&1 || true
	fi
fi
SCEPGATE=$BUILD/server/scepgate
SCEPCTL=$BUILD/tools/scepctl
BENCH=$BUILD/tools/scep-bench
for b in "$SCEPGATE" "$SCEPCTL" "$BENCH"; do
	[[ -x $b ]] || die "$b is missing"
done
SCM_DOUBLE=$BUILD/tests/doubles/scm/scm-double
if [[ $SLOW == 1 && ! -x $SCM_DOUBLE ]]; then
	echo "bench: no $SCM_DOUBLE (WITH_TESTS=OFF?); slow upstream skipped" >&2
	SLOW=0
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/scepgate-bench.XXXXXX")
RES=$TMP/results
mkdir "$RES"
SG_PID=
MD_PID=
SL_PID=
SCM_PID=
NG_PID=
cleanup() {
	local p
	for p in $SG_PID $MD_PID $SL_PID $SCM_PID $NG_PID; do
		kill "$p" 2>/dev/null || true
	done
	for p in $SG_PID $MD_PID $SL_PID $SCM_PID $NG_PID; do
		wait "$p" 2>/dev/null || true
	done
	if [[ ${KEEP:-0} == 1 ]]; then
		echo "kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT

# Both servers and the held connections need descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true


# wait_http URL PID: until URL answers 200, or the server died.
wait_http() {
	for _ in $(seq 100); do
		curl -fs -o /dev/null --max-time 1 "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# utime + stime of PID in clock ticks (/proc/PID/stat fields 14, 15).
cpu_ticks() {
	sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

# Machine and versions, for RESULTS.md.
echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine:  $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' \
	/proc/cpuinfo | head -1), $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' \
	/proc/meminfo), Linux $(uname -r)"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min, before the run)"
if awk -v n="$(nproc)" '{ exit !($1 > n / 2) }' /proc/loadavg; then
	echo "warning:  the machine is busy; throughput numbers will be low" \
		"(CPU per request, from /proc, suffers less)"
fi
echo "software: $(openssl version), scepgate $(git -C "$ROOT" describe \
	--always --dirty 2>/dev/null || echo '?'), $(
	[[ $MICROMDM == 1 ]] && echo "micromdm scepserver $(scepserver -version 2>&1)" ||
		echo "no micromdm")"

log "openssl speed -seconds $SPEED_SECONDS rsa2048"
openssl speed -seconds "$SPEED_SECONDS" rsa2048 2>/dev/null |
	tee "$RES/speed.txt" | grep -E '^(rsa|  )' || true
grep -qE '^rsa +2048 bits' "$RES/speed.txt" ||
	die "openssl speed rsa2048 printed no result"

log "starting scepgate (local CA, RSA-2048, log level warn)"
SG_PORT=$(free_port)
bench_init "$TMP/sg" "$SG_PORT"
SG_CODE=$BI_CODE
SG_URL=$BI_URL
"$SCEPGATE" --config "$TMP/sg/scepgate.cfg" >"$TMP/sg/server.log" 2>&1 &
SG_PID=$!
wait_http "http://127.0.0.1:$SG_PORT/healthz" "$SG_PID" ||
	die "scepgate did not start: $(tail -5 "$TMP/sg/server.log")"
SERVERS=(scepgate)
declare -A URL PID CODE LOGF
URL[scepgate]=$SG_URL
LOGF[scepgate]=$TMP/sg/server.log
PID[scepgate]=$SG_PID
CODE[scepgate]=$SG_CODE

if [[ $MICROMDM == 1 ]]; then
	log "starting micromdm scepserver (file depot, RSA-2048 CA)"
	MD_PORT=$(free_port)
	mkdir "$TMP/md"
	scepserver ca -init -depot "$TMP/md/depot" -keySize 2048 \
		>"$TMP/md/init.log" 2>&1 || die "scepserver ca -init failed"
	MD_CODE=bench-$RANDOM$RANDOM
	scepserver -depot "$TMP/md/depot" -port "$MD_PORT" \
		-challenge "$MD_CODE" >"$TMP/md/server.log" 2>&1 &
	MD_PID=$!
	URL[micromdm]=http://127.0.0.1:$MD_PORT/scep
	PID[micromdm]=$MD_PID
	CODE[micromdm]=$MD_CODE
	LOGF[micromdm]=$TMP/md/server.log
	wait_http "${URL[micromdm]}?operation=GetCACaps" "$MD_PID" ||
		die "scepserver did not start: $(tail -5 "$TMP/md/server.log")"
	SERVERS+=(micromdm)
fi

# RSS first, on fresh servers: HOLD connections held 3 s, first idle
# (connected, nothing sent), then keep-alive after one GetCACaps each.
for s in "${SERVERS[@]}"; do
	log "$s: $HOLD idle connections held open"
	timeout 60 "$BENCH" --url "${URL[$s]}" --hold-connections "$HOLD" \
		--hold-idle --server-pid "${PID[$s]}" --json \
		>"$RES/$s-hold-idle.json" ||
		echo "bench: $s: not every connection was kept" >&2
	cat "$RES/$s-hold-idle.json"
	log "$s: $HOLD keep-alive connections held open, one GetCACaps each"
	timeout 60 "$BENCH" --url "${URL[$s]}" --hold-connections "$HOLD" \
		--server-pid "${PID[$s]}" --json >"$RES/$s-hold.json" ||
		echo "bench: $s: not every connection was answered and kept" >&2
	cat "$RES/$s-hold.json"
done

# Enrollments: one warm-up (also generates or loads the keys), then
# each concurrency level.
for s in "${SERVERS[@]}"; do
	log "$s: warm-up and $KEYS client keys"
	timeout 120 "$BENCH" --url "${URL[$s]}" --challenge "${CODE[$s]}" \
		--count 8 --keys "$KEYS" --key-file "$TMP/keys.pem" ||
		die "$s: warm-up enrollments failed"
	for c in $LEVELS; do
		n=$COUNT
		((n >= 4 * c)) || n=$((4 * c))
		log "$s: $n enrollments at concurrency $c"
		timeout 600 "$BENCH" --url "${URL[$s]}" --challenge "${CODE[$s]}" \
			--count "$n" --concurrency "$c" --keys "$KEYS" \
			--key-file "$TMP/keys.pem" --server-pid "${PID[$s]}" \
			--json >"$RES/$s-enroll-$c.json" 2>"$RES/$s-enroll-$c.err" ||
			true
		[[ -s $RES/$s-enroll-$c.json ]] || die "$s: scep-bench at" \
			"concurrency $c gave no result: $(tail -3 "$RES/$s-enroll-$c.err")"
		python3 - "$RES/$s-enroll-$c.json" "$s" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
if r["ok"] == 0 or "server_cpu_s" not in r:
    sys.exit("bench: %s: no enrollment succeeded or no server CPU figure: %s"
             % (sys.argv[2], r.get("first_error")))
print("   %d ok, %d failed %s; %.1f enrollments/s; latency p50 %.1f p90 %.1f"
      " p99 %.1f ms; server %.2f CPU ms each; reply %s%s" % (
      r["ok"], r["failed"],
      {k: v for k, v in r["failures"].items() if v} or "", r["ok_per_s"],
      r["latency_ms"]["p50"], r["latency_ms"]["p90"], r["latency_ms"]["p99"],
      r.get("server_cpu_ms_per_ok", -1), r.get("reply_cipher", "?"),
      ("; first error: " + r["first_error"]) if r["first_error"] else ""))
EOF
	done
	# The server's own words on what failed, if anything did.
	grep -E 'msg="failed|level=(error|warn)| (WARN|ERR) ' "${LOGF[$s]}" |
		sed -E 's/^.*(msg=|WARN |ERR )/\1/; s/transid=[^ ]* //' |
		sort | uniq -c | sort -rn | head -3 | sed "s/^ */   $s log: /" || true
done

# nginx, one worker, serving scepgate's own GetCACaps and GetCACert
# bodies as static files at the same URL, so that the same wrk command
# measures what plain HTTP speed is on this machine. A normal process
# from a scratch directory, not the system service.
WRK_SERVERS=("${SERVERS[@]}")
start_nginx() {
	local ng=$TMP/ng port user=
	mkdir -p "$ng/www" "$ng/logs" "$ng/tmp"
	curl -fs -o "$ng/www/GetCACaps.txt" \
		"${URL[scepgate]}?operation=GetCACaps" &&
		curl -fs -o "$ng/www/GetCACert.der" \
			"${URL[scepgate]}?operation=GetCACert" ||
		die "nginx: cannot fetch scepgate's GetCACaps/GetCACert bodies"
	port=$(free_port)
	# As root, nginx's worker would drop to nobody, who cannot read $TMP.
	[[ $(id -u) -ne 0 ]] || user="user root;"
	cat >"$ng/nginx.conf" <<NGINX
$user
worker_processes 1;
pid $ng/nginx.pid;
error_log $ng/logs/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 10000000;
	types { text/plain txt; application/x-x509-ca-ra-cert der; }
	map \$arg_operation \$sg_file {
		GetCACaps /GetCACaps.txt;
		GetCACert /GetCACert.der;
		default /none;
	}
	client_body_temp_path $ng/tmp;
	proxy_temp_path $ng/tmp;
	fastcgi_temp_path $ng/tmp;
	uwsgi_temp_path $ng/tmp;
	scgi_temp_path $ng/tmp;
	server {
		listen 127.0.0.1:$port;
		root $ng/www;
		location / { try_files \$sg_file =404; }
	}
}
NGINX
	log "starting nginx (one worker) with scepgate's bodies as static files"
	PATH=$PATH:/usr/sbin nginx -p "$ng" -c "$ng/nginx.conf" \
		-g 'daemon off;' >"$ng/logs/stderr.log" 2>&1 &
	NG_PID=$!
	URL[nginx]=http://127.0.0.1:$port/${URL[scepgate]#http://*/}
	wait_http "${URL[nginx]}?operation=GetCACaps" "$NG_PID" ||
		die "nginx did not start: $(tail -3 "$ng/logs/error.log" \
			"$ng/logs/stderr.log")"
	# The worker does the work; its CPU is what counts.
	PID[nginx]=$(pgrep -P "$NG_PID" | head -1)
	[[ -n ${PID[nginx]} ]] || die "nginx: no worker process"
	cmp -s "$ng/www/GetCACert.der" <(curl -fs \
		"${URL[nginx]}?operation=GetCACert") ||
		die "nginx does not serve the GetCACert bytes"
	WRK_SERVERS+=(nginx)
}
if [[ $NGINX == 1 ]]; then
	start_nginx
fi

# GetCACaps and GetCACert storms with wrk (static answers: HTTP speed),
# the servers taking turns, WRK_ROUNDS times; the table keeps each
# one's best round (the machine may be shared).
for r in $(seq "$WRK_ROUNDS"); do
	for op in GetCACaps GetCACert; do
		for s in "${WRK_SERVERS[@]}"; do
			log "$s: wrk $op, $WRK_CONNS connections, ${WRK_SECONDS}s" \
				"(round $r)"
			f=$RES/$s-wrk-$op-$r.txt
			t0=$(cpu_ticks "${PID[$s]}")
			wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WRK_SECONDS}s" \
				"${URL[$s]}?operation=$op" >"$f" 2>&1 || true
			echo "server_ticks: $(($(cpu_ticks "${PID[$s]}") - t0))" >>"$f"
			grep -q 'Requests/sec' "$f" ||
				die "$s: wrk $op failed: $(tail -3 "$f")"
			grep -E 'Requests/sec|Non-2xx|Socket errors|Latency ' "$f" |
				sed 's/^/   /'
		done
	done
done

for s in "${SERVERS[@]}"; do
	grep -E '^Vm(HWM|RSS)' "/proc/${PID[$s]}/status" |
		tr -s ' \t' ' ' >"$RES/$s-status.txt" || true
done

# A slow upstream (issue 6): a second scepgate orders from the SCM test
# double, which answers every API call after SLOW_DELAY_MS. SLOW_COUNT
# enrollments start at once and wait for a worker and for the double;
# meanwhile GetCACaps, answered on libmicrohttpd's threads, must stay
# fast, and the thread count must not grow with the waiting requests.
slow_upstream() {
	local out scm sl cfg code threads workers est_ms caps_s to_s en smp
	local t0 c0 c1 t1 before after rounds
	since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
	log "slow upstream: scm-double answering after $SLOW_DELAY_MS ms"
	scm=http://127.0.0.1:$(free_port)
	"$SCM_DOUBLE" --port "${scm##*:}" --ca-dir "$TMP/scm" \
		>"$TMP/scm.out" 2>"$TMP/scm.log" &
	SCM_PID=$!
	wait_http "$scm/__test/config" "$SCM_PID" ||
		die "scm-double did not start: $(tail -5 "$TMP/scm.log")"
	# Issued at the first collect: scep-bench counts PENDING as failed.
	curl -fs -o /dev/null -H 'Content-Type: application/json' \
		-d "{\"delay_ms\": $SLOW_DELAY_MS, \"pending\": 0}" \
		"$scm/__test/config" || die "scm-double: POST /__test/config failed"

	log "slow upstream: scepgate on the scm upstream (log level warn)"
	sl=$TMP/sl
	cfg=$sl/scepgate.cfg
	SL_PORT=$(free_port)
	bench_init "$sl" "$SL_PORT"
	SL_URL=$BI_URL
	install -m 600 "$TMP/scm/password.txt" "$sl/scm.password"
	cp "$TMP/scm/ca.pem" "$sl/scm-chain.pem"
	# upstream.timeout is per call, retries included: a few delays.
	to_s=$((SLOW_DELAY_MS * 4 / 1000 + 30))
	((to_s <= 600)) || to_s=600
	sed -i "s|^upstream = .*|upstream = { type = \"scm\"; url = \"$scm/api\";\
 auth = \"password\"; login = \"scep-gateway\"; password_file = \"scm.password\";\
 customer_uri = \"examplecorp\"; timeout = $to_s; ca_chain = \"scm-chain.pem\"; };|
		s/level = \"[a-z]*\"/level = \"warn\"/" "$cfg"
	# An organization, department and profile the double knows
	# (tests/doubles/scm/README.md).
	code=SlowUpstream$RANDOM$RANDOM
	{
		"$SCEPCTL" --config "$cfg" check-config &&
			"$SCEPCTL" --config "$cfg" org add "Example Corp" &&
			"$SCEPCTL" --config "$cfg" dept add "Example Corp" \
				"Factory Floor" &&
			"$SCEPCTL" --config "$cfg" account add --endpoint demo \
				--name slow --org "Example Corp" --dept "Factory Floor" \
				--profile "IoT Device 1y" --term 365 --access-code "$code"
	} >"$sl/setup.log" 2>&1 || die "scepctl: $(tail -3 "$sl/setup.log")"
	"$SCEPGATE" --config "$cfg" >"$sl/server.log" 2>&1 &
	SL_PID=$!
	wait_http "http://127.0.0.1:$SL_PORT/healthz" "$SL_PID" ||
		die "scepgate (scm) did not start: $(tail -5 "$sl/server.log")"

	# limits.threads (libmicrohttpd) and limits.workers (PKIOperation):
	# from the config, else the defaults check-config describes.
	limit() {
		local v
		v=$(sed -n "s/^limits = .*[{ ;]$1 = \([0-9]*\);.*/\1/p" "$cfg")
		[[ -n $v ]] || v=$("$SCEPCTL" --config "$cfg" check-config \
			--describe | awk -v k="limits.$1" '$1 == k { print $4 }')
		echo "${v:-0}"
	}
	threads=$(limit threads)
	workers=$(limit workers)
	((workers > 0)) || die "limits.workers unknown"
	# Each enrollment holds a worker for the enroll call, a 500 ms pause
	# and the collect (ra/ra_up_scm.c): the run takes about est_ms. The
	# GetCACaps load starts after 1 s and ends at 70% of that, so that
	# enrollments are waiting all along; the client timeout is generous.
	rounds=$(((SLOW_COUNT + workers - 1) / workers))
	est_ms=$((rounds * (2 * SLOW_DELAY_MS + 500)))
	caps_s=$((est_ms * 7 / 10000))
	((caps_s >= 2)) || caps_s=2
	to_s=$((est_ms * 3 / 1000 + 60))

	log "slow upstream: one enrollment (warm-up), GetCACaps 3 s idle"
	if ! timeout 120 "$BENCH" --url "$SL_URL" --challenge "$code" --count 1 \
		--keys "$KEYS" --key-file "$TMP/keys.pem" --timeout 60 \
		>"$sl/warmup.log" 2>&1; then
		echo "bench: slow upstream: the warm-up enrollment failed:" \
			"$(grep -E 'failures|first' "$sl/warmup.log" | tr -s ' \n' ' ')" \
			"$(tail -3 "$sl/server.log")" >&2
		return 0
	fi
	"$BENCH" --url "$SL_URL" --mode getcacaps --concurrency 4 --duration 3 \
		--json >"$RES/slow-caps-idle.json" 2>/dev/null || true

	log "slow upstream: $SLOW_COUNT enrollments at concurrency" \
		"$SLOW_COUNT (about $((est_ms / 1000)) s with $workers workers);" \
		"GetCACaps at concurrency 4 for ${caps_s}s from t=1s"
	before=$(awk '/^Threads:/ { print $2 }' "/proc/$SL_PID/status")
	t0=$EPOCHREALTIME
	timeout $((to_s + 60)) "$BENCH" --url "$SL_URL" --challenge "$code" \
		--count "$SLOW_COUNT" --concurrency "$SLOW_COUNT" --keys "$KEYS" \
		--key-file "$TMP/keys.pem" --timeout "$to_s" --json \
		>"$RES/slow-enroll.json" 2>"$RES/slow-enroll.err" &
	en=$!
	# Every 0.5 s: the server's threads, and the TCP connections open
	# to it (the enrollments waiting, plus the 4 GetCACaps clients).
	while kill -0 "$en" 2>/dev/null; do
		echo "$(awk '/^Threads:/ { print $2 }' "/proc/$SL_PID/status")" \
			"$(ss -Htn state established "( sport = :$SL_PORT )" \
				2>/dev/null | wc -l)"
		sleep 0.5
	done >"$RES/slow-threads.txt" &
	smp=$!
	sleep 1
	c0=$EPOCHREALTIME
	"$BENCH" --url "$SL_URL" --mode getcacaps --concurrency 4 \
		--duration "$caps_s" --json >"$RES/slow-caps.json" \
		2>"$RES/slow-caps.err" || true
	c1=$EPOCHREALTIME
	wait "$en" || echo "bench: slow upstream: scep-bench exited $?" >&2
	t1=$EPOCHREALTIME
	wait "$smp" || true
	after=$(awk '/^Threads:/ { print $2 }' "/proc/$SL_PID/status")
	echo "{\"threads\": $threads, \"workers\": $workers," \
		"\"count\": $SLOW_COUNT, \"delay_ms\": $SLOW_DELAY_MS," \
		"\"estimate_s\": $((est_ms / 1000)).$((est_ms % 1000 / 100))," \
		"\"threads_before\": $before, \"threads_after\": $after," \
		"\"caps_from_s\": $(since "$t0" "$c0"), \"caps_to_s\": $(since "$t0" "$c1")," \
		"\"run_s\": $(since "$t0" "$t1")}" >"$RES/slow-meta.json"
	python3 - "$RES" <<'EOF'
import json, os, sys
res = sys.argv[1]
def load(n):
    p = os.path.join(res, n)
    return json.load(open(p)) if os.path.exists(p) and os.path.getsize(p) else None
m, e, c, i = (load("slow-%s.json" % n) for n in ("meta", "enroll", "caps", "caps-idle"))
s = [tuple(map(int, l.split())) for l in open(os.path.join(res, "slow-threads.txt")) if len(l.split()) == 2]
if e:
    print("   enrollments: %d ok, %d failed%s in %.1f s (%.1f/s; latency p50 %.0f,"
          " p99 %.0f ms); about %.1f s expected from %d workers%s" % (
          e["ok"], e["failed"],
          " %s" % {k: v for k, v in e["failures"].items() if v} if e["failed"] else "",
          e["elapsed_s"], e["ok_per_s"], e["latency_ms"]["p50"], e["latency_ms"]["p99"],
          m["estimate_s"], m["workers"],
          ("; first error: " + e["first_error"]) if e["first_error"] else ""))
else:
    print("   enrollments: no result (scep-bench failed)")
for name, r, when in (("idle", i, ""), ("under load", c, ", t=%.1f-%.1f s of %.1f s" %
                      (m["caps_from_s"], m["caps_to_s"], m["run_s"]))):
    if r:
        print("   GetCACaps %s: %d requests, %d failed%s; latency p50 %.2f, p99 %.2f,"
              " max %.2f ms" % (name, r["requests"], r["failed"], when,
              r["latency_ms"]["p50"], r["latency_ms"]["p99"], r["latency_ms"]["max"]))
print("   threads: %d before, max %d during (%d samples), %d after; limits: %d threads"
      " + %d workers; connections to scepgate: max %s" % (
      m["threads_before"], max([t for t, _ in s] or [-1]), len(s), m["threads_after"],
      m["threads"], m["workers"], max([n for _, n in s] or ["-"])))
EOF
	grep -E 'level=(error|warn)| (WARN|ERR) ' "$sl/server.log" |
		sed -E 's/^.*(msg=|WARN |ERR )/\1/; s/transid=[^ ]* //' |
		sort | uniq -c | sort -rn | head -3 |
		sed "s/^ */   scepgate (scm) log: /" || true
	python3 -c 'import json, sys
e, c = (json.load(open(p)) for p in sys.argv[1:])
sys.exit(0 if e["ok"] > 0 and c["requests"] > 0 else 1)' \
		"$RES/slow-enroll.json" "$RES/slow-caps.json" 2>/dev/null ||
		die "slow upstream: no enrollment or no GetCACaps measured" \
			"(see above)"
}
if [[ $SLOW == 1 ]]; then
	slow_upstream
fi

# Instructions, not time: the same figure on any machine (callgrind.sh).
if [[ $CALLGRIND == 1 ]]; then
	log "callgrind: $CG_COUNT enrollments and 3 RSA-2048 private-key" \
		"operations, counted in instructions"
	top=0
	[[ $PROFILE != 1 ]] || top=40
	BUILD=$BUILD COUNT=$CG_COUNT TOP=$top "$ROOT/bench/callgrind.sh" \
		>"$RES/callgrind.txt" 2>"$RES/callgrind.err" ||
		die "bench/callgrind.sh failed: $(tail -3 "$RES/callgrind.err")"
	sed 's/^/   /' "$RES/callgrind.txt"
fi

log "results"
python3 - "$RES" "$LEVELS" "$HOLD" "${WRK_SERVERS[@]}" <<'EOF'
import json, os, re, sys

res, levels, hold = sys.argv[1], sys.argv[2].split(), int(sys.argv[3])
servers = sys.argv[4:]
enrollers = [s for s in servers if s != "nginx"]

def load(name):
    p = os.path.join(res, name)
    return json.load(open(p)) if os.path.exists(p) and os.path.getsize(p) else None

m = re.search(r"^rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)",
              open(os.path.join(res, "speed.txt")).read(), re.M)
sign_s = float(m.group(1))
floor_ms = 3 * 1000.0 / sign_s

def wrk_rps(s, op):
    rounds = [wrk_round(p) for p in sorted(os.listdir(res))
              if p.startswith("%s-wrk-%s-" % (s, op))]
    return max(rounds) if rounds else (0.0, 0, "", float("nan"))

def wrk_round(name):
    t = open(os.path.join(res, name)).read()
    m = re.search(r"Requests/sec:\s+([\d.]+)", t)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    err = re.search(r"Socket errors: (.*)", t)
    n = re.search(r"(\d+) requests in", t)
    ticks = re.search(r"server_ticks: (\d+)", t)
    us = (int(ticks.group(1)) * 1e6 / os.sysconf("SC_CLK_TCK") / int(n.group(1))
          if n and ticks and int(n.group(1)) else float("nan"))
    return (float(m.group(1)) if m else 0.0, int(bad.group(1)) if bad else 0,
            err.group(1) if err else "", us)

def status_kb(s, field):
    p = os.path.join(res, s + "-status.txt")
    for line in open(p) if os.path.exists(p) else []:
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1

rows, data = [], {s: {} for s in servers}
for s in servers:
    d = data[s]
    cpu = ok = 0.0
    for c in levels:
        r = load("%s-enroll-%s.json" % (s, c)) if s in enrollers else None
        d["enroll", c] = r
        if r and "server_cpu_s" in r:
            cpu += r["server_cpu_s"]
            ok += r["ok"]
    d["cpu_ms"] = cpu * 1000 / ok if ok else float("nan")
    for op in ("GetCACaps", "GetCACert"):
        d[op] = wrk_rps(s, op)
    d["hold"] = load(s + "-hold.json")
    d["hwm"] = status_kb(s, "VmHWM")

def col(f):
    return [f(s) for s in servers]

def fmt_enroll(c):
    def f(s):
        r = data[s]["enroll", c]
        return "%.1f" % r["ok_per_s"] if r else "-"
    return f

def fmt_split(c):
    def f(s):
        r = data[s]["enroll", c]
        return ("%.2f / %.2f" % (r["client_cpu_ms_per_req"],
                                 r["server_cpu_ms_per_ok"])) if r else "-"
    return f

def fmt_cpu(c, ratio):
    def f(s):
        r = data[s]["enroll", c]
        if not r:
            return "-"
        v = r["server_cpu_ms_per_ok"]
        return "%.2fx" % (v / floor_ms) if ratio else "%.2f" % v
    return f

# bench/callgrind.sh: the last line is "callgrind ratio: R".
cg = {}
p = os.path.join(res, "callgrind.txt")
for line in open(p) if os.path.exists(p) else []:
    m = re.match(r"(instructions per enrollment|instructions of 3 RSA-2048"
                 r" private ops|callgrind ratio):\s+([\d.]+)", line)
    if m:
        cg[m.group(1)] = float(m.group(2))

def fmt_fail(s):
    if s not in enrollers:
        return "-"
    out = []
    for c in levels:
        r = data[s]["enroll", c]
        out.append(str(r["failed"]) if r else "?")
    return "/".join(out)

table = []
for c in levels:
    table.append(("enrollments/s, concurrency %s" % c, col(fmt_enroll(c)), ""))
    table.append(("  CPU ms each, client / server", col(fmt_split(c)), ""))
table.append(("failed enrollments, c=%s" % "/".join(levels), col(fmt_fail), ""))
for c in [c for c in ("1", "8") if c in levels]:
    table.append(("server CPU ms per enrollment, c=%s" % c, col(fmt_cpu(c, False)), ""))
    table.append(("  ratio to the floor (%.2f ms)" % floor_ms, col(fmt_cpu(c, True)), ""))
table.append(("server CPU ms per enrollment, all levels",
              col(lambda s: "%.2f" % data[s]["cpu_ms"] if s in enrollers else "-"), ""))
if cg:
    table.append(("callgrind: instructions per enrollment",
                  col(lambda s: "%.2fM" % (cg["instructions per enrollment"] / 1e6)
                      if s == "scepgate" else "-"), ""))
    table.append(("  ratio to 3 RSA-2048 ops (%.2fM)" %
                  (cg["instructions of 3 RSA-2048 private ops"] / 1e6),
                  col(lambda s: "%.3fx" % cg["callgrind ratio"] if s == "scepgate" else "-"), ""))
for op in ("GetCACaps", "GetCACert"):
    table.append(("%s requests/s (wrk, best)" % op,
                  col(lambda s: "%.0f" % data[s][op][0]), ""))
    table.append(("  server CPU us per %s" % op,
                  col(lambda s: "%.1f" % data[s][op][3]), ""))
def rss(key):
    def f(s):
        h = load("%s-%s.json" % (s, key)) if s in enrollers else None
        return "%.1f" % (h["server_vmrss_kb"] / 1024) if h else "-"
    return f
table.append(("RSS MB, %d idle connections" % hold, col(rss("hold-idle")), ""))
table.append(("RSS MB, %d keep-alive connections" % hold, col(rss("hold")), ""))
table.append(("peak RSS MB (VmHWM, whole run)",
              col(lambda s: "%.1f" % (data[s]["hwm"] / 1024)
                  if s in enrollers else "-"), ""))

w0 = max(len(t[0]) for t in table) + 2
print("\nfloor: openssl speed rsa2048 = %.1f sign/s -> %.3f ms per private-key"
      " operation, x3 = %.2f ms per enrollment\n" % (sign_s, 1000 / sign_s, floor_ms))
print("%-*s" % (w0, "") + "".join("%14s" % s for s in servers))
for name, vals, _ in table:
    print("%-*s" % (w0, name) + "".join("%14s" % v for v in vals))

# Budgets (DESIGN.md, issues 6 and 16).
verdicts = []
sg = data["scepgate"]
for c in [c for c in ("1", "8") if c in levels]:
    v = sg["enroll", c]["server_cpu_ms_per_ok"]
    verdicts.append(("server CPU per enrollment at c=%s <= 1.6x floor" % c,
                     v <= 1.6 * floor_ms, "%.2fx (%.2f ms vs %.2f ms allowed;"
                     " goal 1.3x)" % (v / floor_ms, v, 1.6 * floor_ms)))
if "nginx" in data:
    for op in ("GetCACaps", "GetCACert"):
        a, b = sg[op][0], data["nginx"][op][0]
        r = a / b if b else float("nan")
        verdicts.append(("%s >= 0.8x nginx (same wrk command)" % op,
                         r >= 0.8 and not sg[op][1],
                         "%.2fx nginx (%.0f vs %.0f req/s)" % (r, a, b)))
if "micromdm" in data:
    for op in ("GetCACaps", "GetCACert"):
        a, b = sg[op][0], data["micromdm"][op][0]
        r = a / b if b else float("inf")
        note = "%.2fx micromdm (%.0f vs %.0f req/s)" % (r, a, b)
        if sg[op][1] or sg[op][2]:
            note += "; wrk errors: %d non-2xx, %s" % (sg[op][1], sg[op][2] or "-")
        verdicts.append(("%s >= 1.5x micromdm" % op, r >= 1.5 and not sg[op][1], note))
fails = {c: (sg["enroll", c] or {}).get("failed", -1) for c in levels}
verdicts.append(("zero failed enrollments at c=%s" % "/".join(levels),
                 all(v == 0 for v in fails.values()) and
                 all(sg["enroll", c] and sg["enroll", c]["ok"] > 0 for c in levels),
                 ", ".join("c=%s: %s" % (c, v) for c, v in fails.items())))
h = sg["hold"]
if h:
    mb = max(h["server_vmrss_kb"], h["server_vmhwm_kb"]) / 1024
    verdicts.append(("peak RSS <= 64 MB with %d connections open" % hold,
                     mb <= 64 and h["alive"] == hold,
                     "%.1f MB (VmHWM at that point; %d of %d answered and kept)"
                     % (mb, h["alive"], hold)))
# The slow upstream (bench section "slow upstream"), when it ran.
slow = load("slow-meta.json")
if slow:
    se, sc, si = load("slow-enroll.json"), load("slow-caps.json"), load("slow-caps-idle.json")
    p = os.path.join(res, "slow-threads.txt")
    ts = [int(l.split()[0]) for l in open(p) if l.split()] if os.path.exists(p) else []
    tmax = max(ts) if ts else -1
    lat = lambda r, k: r["latency_ms"][k] if r else float("nan")
    print("\nslow upstream: scm-double answering after %d ms, %d enrollments at"
          " once, GetCACaps from 4 clients meanwhile" % (slow["delay_ms"], slow["count"]))
    for name, v in (
            ("GetCACaps p50 / p99 under load", "%.2f / %.2f ms (idle %.2f / %.2f ms)" %
             (lat(sc, "p50"), lat(sc, "p99"), lat(si, "p50"), lat(si, "p99"))),
            ("max threads", "%d (%d before, %d after; limits %d threads + %d workers)" %
             (tmax, slow["threads_before"], slow["threads_after"], slow["threads"],
              slow["workers"])),
            ("enrollments ok / failed", "%s / %s in %.1f s" %
             (se["ok"], se["failed"], se["elapsed_s"]) if se else "no result"),
            ("elapsed (enrollment run)", "%.1f s; GetCACaps during t=%.1f-%.1f s" %
             (slow["run_s"], slow["caps_from_s"], slow["caps_to_s"]))):
        print("  %-32s %s" % (name, v))
    inflight = bool(se and se["ok"] > 0 and slow["caps_to_s"] <= slow["run_s"])
    note = "p99 %.2f ms (p50 %.2f, max %.2f; %d requests, %d failed)" % (
        lat(sc, "p99"), lat(sc, "p50"), lat(sc, "max"),
        sc["requests"] if sc else 0, sc["failed"] if sc else 0)
    if not inflight:
        note += "; NOT measured with the enrollments in flight"
    verdicts.append(("GetCACaps p99 < 50 ms with %d enrollments in flight on a %d ms"
                     " upstream" % (slow["count"], slow["delay_ms"]),
                     bool(inflight and sc and sc["requests"] and not sc["failed"] and
                          sc["latency_ms"]["p99"] < 50), note))
    bound = slow["threads"] + slow["workers"] + 4
    verdicts.append(("thread count bounded (<= threads + workers + 4)",
                     0 < tmax <= bound,
                     "max %d <= %d (%d threads + %d workers + main, collector, 2"
                     " spare); %d samples" % (tmax, bound, slow["threads"],
                                              slow["workers"], len(ts))))

print("\nbudgets (scepgate):")
missed = 0
for name, ok, note in verdicts:
    print("  %-6s %-48s %s" % ("met" if ok else "MISSED", name, note))
    missed += not ok
open(os.path.join(res, "missed"), "w").write(str(missed))
EOF
if [[ $STRICT == 1 && $(cat "$RES/missed") != 0 ]]; then
	exit 1
fi
