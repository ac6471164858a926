#!/usr/bin/env bash
# Two scepgate instances on one PostgreSQL (issue 14), with real clients:
# 200 enrollments at concurrency 16 through both; the same PKCSReq posted
# to both at once; kill -9 of one instance while its clients retry on the
# other; a PostgreSQL restart under load. After each: every certificate
# distinct, each transactionID with at most one issued transaction and
# certificate, and scepctl agrees with the database.
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=pg.sh
. "$here/pg.sh"

: "${SCEPGATE:?SCEPGATE is not set (run through ctest)}"
: "${SCEPCTL:?SCEPCTL is not set (run through ctest)}"
BENCH=${BENCH:-$(dirname "$SCEPCTL")/scep-bench}
sg_need curl jq python3 openssl pki

SG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/scepgate-pg.XXXXXX")
DIR=$SG_TMP/a
WORK=$SG_TMP/work
mkdir "$WORK"
declare -A PIDS=()
BG_PIDS=()
# On a failure, what each part said last: instance b (sg_cleanup shows
# a's log), PostgreSQL, and the clients that failed.
pg_diagnose() {
	local f
	sg_check_log 1 "$SG_TMP/b/server.log" "instance b's log" 30
	sg_check_log 1 "${PG_DIR:-/nonexistent}/server.log" "PostgreSQL's log" 20
	for f in "$WORK"/*.err "$WORK"/k*.log; do
		[[ -s $f ]] || continue
		sg_check_log 1 "$f" "$(basename "$f")" 5
	done
	return 0
}
pg_cleanup() {
	local rc=$? p
	set +e
	((rc == 0)) || pg_diagnose
	for p in "${PIDS[@]}" "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	PIDS=()
	pg_stop
	(exit "$rc")
	sg_cleanup
}
trap pg_cleanup EXIT
cd "$WORK"


pg_start || sg_fail "no PostgreSQL cluster"
PA=$(sg_free_port)
PB=$(sg_free_port)
"$SCEPCTL" init --dir "$SG_TMP/a" --port "$PA" --address 127.0.0.1 \
	>init.log 2>&1 || sg_fail "scepctl init: $(cat init.log)"
# The same keys and secret for both; only the port differs.
sed -i "s|^database = .*|database = \"${PG_URI//&/\\&}\";|" "$SG_TMP/a/scepgate.cfg"
cp -a "$SG_TMP/a" "$SG_TMP/b"
sed -i "s|port = $PA;|port = $PB;|" "$SG_TMP/b/scepgate.cfg"
rm -f "$SG_TMP/a/scepgate.db" "$SG_TMP/b/scepgate.db"

sc() { "$SCEPCTL" --config "$SG_TMP/a/scepgate.cfg" "$@"; }
CODE=pg-instances-code-1
sc org add Demo >/dev/null || sg_fail "scepctl org add on PostgreSQL"
sc endpoint add demo --type device --uri demo >/dev/null ||
	sg_fail "scepctl endpoint add on PostgreSQL"
sc account add --endpoint demo --name lab --org Demo --term 365 \
	--access-code "$CODE" >/dev/null || sg_fail "scepctl account add"
[[ $(sc endpoint list --json | jq length) == 1 ]] ||
	sg_fail "scepctl endpoint list on PostgreSQL"

echo "a server with synchronous_commit off is refused"
pg_sql "ALTER SYSTEM SET synchronous_commit = off" &&
	pg_sql "SELECT pg_reload_conf()" >/dev/null || sg_fail "ALTER SYSTEM"
if sc endpoint list >sync.log 2>&1; then
	sg_fail "scepctl ran on a database with synchronous_commit off"
fi
grep -q "synchronous_commit is off" sync.log || sg_fail "unclear: $(cat sync.log)"
pg_sql "ALTER SYSTEM RESET synchronous_commit" &&
	pg_sql "SELECT pg_reload_conf()" >/dev/null || sg_fail "ALTER SYSTEM"

# start NAME: scepgate of instance NAME (a or b) in the background.
start() {
	local port
	port=$(sed -n 's/.*[^_]port = \([0-9]*\);.*/\1/p' "$SG_TMP/$1/scepgate.cfg")
	"$SCEPGATE" --config "$SG_TMP/$1/scepgate.cfg" \
		>>"$SG_TMP/$1/server.log" 2>&1 &
	PIDS[$1]=$!
	for _ in $(seq 100); do
		curl -fs -o /dev/null --max-time 1 \
			"http://127.0.0.1:$port/healthz" && return 0
		kill -0 "${PIDS[$1]}" 2>/dev/null ||
			sg_fail "scepgate $1 exited at start: $(tail -5 "$SG_TMP/$1/server.log")"
		sleep 0.1
	done
	sg_fail "scepgate $1 not healthy after 10 s"
}
start a
start b
UA=http://127.0.0.1:$PA/scep/demo
UB=http://127.0.0.1:$PB/scep/demo

# bench URL COUNT CONC OUT: scep-bench in the background (keys cached);
# BENCH_RUN=--duration makes COUNT seconds.
bench() {
	"$BENCH" --url "$1" --challenge "$CODE" "${BENCH_RUN:---count}" "$2" \
		--concurrency "$3" --keys 16 --key-file "$WORK/keys.pem" \
		--timeout 20 --json >"$4" 2>"$4.err" &
	BG_PIDS+=($!)
}
# The invariants, on the database itself.
check_db() {
	local v
	v=$(pg_sql "SELECT count(*) - count(DISTINCT serial) FROM cert")
	[[ $v == 0 ]] || sg_fail "$1: $v certificates share a serial"
	v=$(pg_sql "SELECT count(*) FROM (SELECT 1 FROM txn WHERE status = 2
		GROUP BY endpoint_id, transid HAVING count(*) > 1) x")
	[[ $v == 0 ]] || sg_fail "$1: $v transactionIDs issued twice"
	v=$(pg_sql "SELECT count(*) FROM (SELECT 1 FROM cert
		GROUP BY txn_id HAVING count(*) > 1) x")
	[[ $v == 0 ]] || sg_fail "$1: $v transactions with two certificates"
	v=$(pg_sql "SELECT count(*) FROM txn t WHERE status = 2 AND NOT EXISTS
		(SELECT 1 FROM cert c WHERE c.serial = t.serial)")
	[[ $v == 0 ]] || sg_fail "$1: $v issued transactions lost their certificate"
	v=$(pg_sql "SELECT count(*) FROM cert")
	[[ $(sc cert list --json | jq length) == "$v" ]] ||
		sg_fail "$1: scepctl cert list disagrees with the database ($v)"
}
ok_of() { jq -r .ok "$1"; }

echo "make 16 client keys"
"$BENCH" --url "$UA" --challenge "$CODE" --count 1 --keys 16 \
	--key-file "$WORK/keys.pem" --json >k.json 2>k.err ||
	sg_fail "scep-bench: $(cat k.err)"

echo "200 enrollments at concurrency 16 through both instances"
bench "$UA" 100 8 a1.json
bench "$UB" 100 8 b1.json
wait "${BG_PIDS[@]}" || sg_fail "scep-bench failed: $(cat a1.json.err b1.json.err)"
BG_PIDS=()
[[ $(ok_of a1.json) == 100 && $(ok_of b1.json) == 100 ]] ||
	sg_fail "not 200 enrollments: $(cat a1.json b1.json)"
check_db "two instances"
n=$(pg_sql "SELECT count(*) FROM cert")
[[ $n == 201 ]] || sg_fail "$n certificates after 201 enrollments"

echo "the same PKCSReq posted to both instances at once"
timeout 60 pki --scepca --url "$UA" --caout ca.der --raout ra.der \
	>scepca.log 2>&1 || sg_fail "pki --scepca: $(cat scepca.log)"
# A proxy that forwards GETs to a and keeps the POST (nothing reaches
# scepgate): the PKCSReq to replay.
cat >capture.py <<'EOF'
import http.server, os, sys, urllib.request
up, out, portfile = sys.argv[1:4]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        r = urllib.request.urlopen(up + self.path, timeout=10)
        data = r.read()
        self.send_response(r.status)
        self.send_header("Content-Type", r.headers["Content-Type"])
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "wb") as f:
            f.write(body)
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()
s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(portfile + ".tmp", portfile)
s.serve_forever()
EOF
python3 capture.py "http://127.0.0.1:$PA" req.der cap.port &
BG_PIDS+=($!)
for _ in $(seq 50); do [[ -s cap.port ]] && break; sleep 0.1; done
pki --gen --type rsa --size 2048 --outform der >twice.der 2>/dev/null
timeout 30 pki --scep --url "http://127.0.0.1:$(cat cap.port)/scep/demo" \
	--cacert-enc ra.der --cacert-sig ra.der --cacert ca.der \
	--in twice.der --dn "CN=twice,O=scepgate" --password "$CODE" \
	>/dev/null 2>cap.log || true
kill "${BG_PIDS[@]}" 2>/dev/null || true
wait "${BG_PIDS[@]}" 2>/dev/null || true
BG_PIDS=()
[[ -s req.der ]] || sg_fail "no PKCSReq captured: $(cat cap.log)"
post() {
	curl -sS --max-time 30 -o "$1" -w '%{http_code}' --data-binary @req.der \
		-H 'Content-Type: application/x-pki-message' \
		"$2?operation=PKIOperation" >"$1.code"
}
post twice-a.der "$UA" &
BG_PIDS+=($!)
post twice-b.der "$UB" &
BG_PIDS+=($!)
wait "${BG_PIDS[@]}" || sg_fail "curl to the instances failed"
BG_PIDS=()
echo "  HTTP $(cat twice-a.der.code) and $(cat twice-b.der.code)"
[[ $(cat twice-a.der.code) == 200 || $(cat twice-b.der.code) == 200 ]] ||
	sg_fail "neither instance answered the PKCSReq"
# A retry on either instance gets the same one certificate.
post twice-c.der "$UB"
[[ $(cat twice-c.der.code) == 200 ]] || sg_fail "retry: HTTP $(cat twice-c.der.code)"
n=$(pg_sql "SELECT count(*) FROM cert WHERE subject LIKE '%CN=twice%'")
[[ $n == 1 ]] || sg_fail "$n certificates for one PKCSReq sent to both"
n=$(pg_sql "SELECT count(*) FROM txn WHERE subject LIKE '%CN=twice%'")
[[ $n == 1 ]] || sg_fail "$n transactions for one PKCSReq sent to both"
check_db "same request twice"

echo "kill -9 of instance a while its clients retry on b"
# Real clients with their own keys: a retry sends the same transactionID.
for i in $(seq 8); do
	pki --gen --type rsa --size 2048 --outform der >"k$i.der" 2>/dev/null
done
pkiclient() { # URL I
	timeout 30 pki --scep --url "$1" --cacert-enc ra.der --cacert-sig ra.der \
		--cacert ca.der --in "k$2.der" --dn "CN=kill-$2,O=scepgate" \
		--password "$CODE" --interval 1 --maxpolltime 10 \
		>"k$2.crt" 2>"k$2.log"
}
bench "$UB" 60 4 b2.json
for i in $(seq 8); do
	pkiclient "$UA" "$i" &
	BG_PIDS+=($!)
done
sleep 0.3
kill -9 "${PIDS[a]}"
wait "${PIDS[a]}" 2>/dev/null || true
unset 'PIDS[a]'
wait "${BG_PIDS[@]}" 2>/dev/null || true
BG_PIDS=()
for i in $(seq 8); do
	pkiclient "$UB" "$i" || sg_fail "client $i on b: $(cat "k$i.log")"
	n=$(pg_sql "SELECT count(*) FROM cert WHERE subject ~ 'CN=kill-$i([^0-9]|$)'")
	[[ $n == 1 ]] || sg_fail "client $i: $n certificates"
done
[[ $(ok_of b2.json) == 60 ]] || sg_fail "b lost requests: $(cat b2.json)"
check_db "kill -9"
start a

echo "PostgreSQL restart under load"
# bench URL COUNT ...: here a duration, so that the restart falls inside.
BENCH_RUN=--duration bench "$UA" 4 4 a3.json
BENCH_RUN=--duration bench "$UB" 4 4 b3.json
sleep 1.5
pg_restart || sg_fail "PostgreSQL did not restart"
wait "${BG_PIDS[@]}" 2>/dev/null || true
BG_PIDS=()
echo "  a: $(jq -c '{ok, failed, failures}' a3.json)"
echo "  b: $(jq -c '{ok, failed, failures}' b3.json)"
check_db "PostgreSQL restart"
# Failed requests are FAILURE or HTTP 5xx, never a wrong certificate.
for f in a3.json b3.json; do
	jq -e '.failures.bad_reply == 0 and .failures.key_mismatch == 0 and
		.failures.txn_mismatch == 0' "$f" >/dev/null ||
		sg_fail "$f: a wrong reply after the restart: $(cat "$f")"
done
echo "both instances reconnect by themselves"
bench "$UA" 20 4 a4.json
bench "$UB" 20 4 b4.json
wait "${BG_PIDS[@]}" || true
BG_PIDS=()
[[ $(ok_of a4.json) == 20 && $(ok_of b4.json) == 20 ]] ||
	sg_fail "not reconnected: $(cat a4.json b4.json)"
check_db "after the restart"
[[ $(sc request list --json | jq length) -ge 200 ]] ||
	sg_fail "scepctl request list on PostgreSQL"
echo "PASS"
