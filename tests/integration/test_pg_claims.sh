#!/usr/bin/env bash
# Claims of pending orders (issue 14): two scepgate instances on one
# PostgreSQL collect from the SCM double (orders that wait for approval
# there); each order is fetched by exactly one instance (the Host header
# of the double's log tells them apart: a reaches SCM as 127.0.0.1, b as
# localhost). After kill -9 of the holder the other takes its orders
# over once the claims ran out (2 poll intervals + 10 s), not before,
# and issues them when SCM approves.
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=pg.sh
. "$here/pg.sh"

sg_need pki timeout jq
: "${SCEPGATE:?SCEPGATE is not set (run through ctest)}"
SCM_DOUBLE=${SCM_DOUBLE:-$(dirname "$SCEPGATE")/../tests/doubles/scm/scm-double}
[[ -x $SCM_DOUBLE ]] || sg_fail "no scm-double at $SCM_DOUBLE"
sg_setup
PB_PID=
claims_cleanup() {
	local rc=$?
	set +e
	for p in "$PB_PID" "${SCM_PID:-}"; do
		[[ -n $p ]] || continue
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	sg_check_log "$rc" "$DIR/server-b.log" "instance b's log" 30 || rc=$?
	sg_check_log "$rc" "$SG_TMP/scm.log" "scm-double's log" 20 || rc=$?
	pg_stop
	(exit "$rc")
	sg_cleanup
}
trap claims_cleanup EXIT
pg_start || sg_fail "no PostgreSQL cluster"
cd "$WORK"

# ---- the SCM double, and both instances on it ----
SCM_DIR=$SG_TMP/scm
SCM_PORT=$(sg_free_port)
SCM=http://127.0.0.1:$SCM_PORT
"$SCM_DOUBLE" --port "$SCM_PORT" --tls-port "$(sg_free_port)" \
	--ca-dir "$SCM_DIR" >"$SG_TMP/scm.out" 2>"$SG_TMP/scm.log" &
SCM_PID=$!
for _ in $(seq 100); do
	curl -fs -o /dev/null --max-time 1 "$SCM/__test/config" && break
	kill -0 "$SCM_PID" 2>/dev/null || sg_fail "scm-double exited at start"
	sleep 0.1
done
PASSWORD=$(cat "$SCM_DIR/password.txt")
install -m 600 "$SCM_DIR/password.txt" "$DIR/scm.password"
cp "$SCM_DIR/ca.pem" "$DIR/scm-chain.pem"

pg_move
# upstream HOST: the scm upstream line, SCM reached as HOST.
upstream() {
	echo "upstream = { type = \"scm\"; url = \"http://$1:$SCM_PORT/api\";" \
		"auth = \"password\"; login = \"scep-gateway\";" \
		"password_file = \"scm.password\"; customer_uri = \"examplecorp\";" \
		"timeout = 20; poll_interval = 1; ca_chain = \"scm-chain.pem\"; };"
}
sed -i "s|^upstream = .*|$(upstream 127.0.0.1)|" "$CFG"
PB=$(sg_free_port)
CFG_B=$DIR/scepgate-b.cfg
sed -e "s|port = $PORT;|port = $PB;|" \
	-e "s|^upstream = .*|$(upstream localhost)|" "$CFG" >"$CFG_B"
grep -q "port = $PB;" "$CFG_B" || sg_fail "no port $PB in $CFG_B"
sc check-config >/dev/null || sg_fail "check-config: $(sc check-config 2>&1)"
sc org add "Example Corp" >/dev/null
sc account add --endpoint demo --name held --org "Example Corp" \
	--profile 7312 --term 365 --access-code ClaimsHeldCode01 >/dev/null ||
	sg_fail "account add"
sg_start
A_PID=$SG_PID
"$SCEPGATE" --config "$CFG_B" >>"$DIR/server-b.log" 2>&1 &
PB_PID=$!
for _ in $(seq 100); do
	curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$PB/healthz" && break
	kill -0 "$PB_PID" 2>/dev/null ||
		sg_fail "instance b exited: $(tail -n 5 "$DIR/server-b.log")"
	sleep 0.1
done

# ---- orders that wait for approval at SCM ----
N=4
openssl x509 -in "$DIR/ra.pem" -outform DER -out ra.der
openssl x509 -in "$SCM_DIR/issuing-ca.pem" -outform DER -out scmca.der
for i in $(seq "$N"); do
	pki --gen --type rsa --size 2048 --outform der >"k$i.der" 2>/dev/null
	# pki gives up polling at once; the order stays PENDING.
	timeout 20 pki --scep --url "$URL" --in "k$i.der" \
		--dn "CN=held-$i,O=scepgate" --password ClaimsHeldCode01 \
		--cacert-enc ra.der --cacert-sig ra.der --cacert scmca.der \
		--maxpolltime 1 --interval 1 >/dev/null 2>"k$i.log" || true
done
n=$(pg_sql "SELECT count(*) FROM txn WHERE status = 1 AND order_id IS NOT NULL")
[[ $n == "$N" ]] || sg_fail "$n pending orders, want $N: $(cat k1.log)"

# fetchers SINCE: "ORDER HOSTS" per order collected since seq SINCE.
fetchers() {
	curl -fs "$SCM/__test/log?since=$1" | python3 -c 'import json, re, sys
by = {}
for e in json.load(sys.stdin):
    m = re.search(r"/collect/(\d+)", e["path"])
    if m:
        h = e["headers"].get("Host", "?").split(":")[0]
        by.setdefault(m.group(1), set()).add(h)
for o in sorted(by):
    print(o, ",".join(sorted(by[o])))'
}
seq_now() {
	curl -fs "$SCM/__test/log" | jq '(last | .seq) // 0'
}

echo "each order is fetched by one instance"
since=$(seq_now)
sleep 5
fetchers "$since" >f1.txt
cat f1.txt
[[ $(wc -l <f1.txt) == "$N" ]] || sg_fail "not $N orders collected: $(cat f1.txt)"
if grep -q , f1.txt; then
	sg_fail "an order fetched by both instances: $(cat f1.txt)"
fi
# Whichever collector ran first after an order was made claimed it:
# the orders may be split. The holder of the first one dies below.
holder=$(awk 'NR == 1 {print $2}' f1.txt)
case $holder in
127.0.0.1) kill_pid=$A_PID other=localhost ;;
localhost) kill_pid=$PB_PID other=127.0.0.1 ;;
*) sg_fail "unknown holder $holder" ;;
esac
[[ $(pg_sql "SELECT count(*) FROM txn WHERE status = 1 AND order_id IS NOT NULL
	AND claimed_by LIKE '%:$kill_pid:%'") -ge 1 ]] ||
	sg_fail "no claims of the holder ($kill_pid): $(pg_sql \
		"SELECT id, claimed_by, claimed_until FROM txn WHERE status = 1")"

echo "kill -9 of the holder ($holder): the other takes over after the lease"
since=$(seq_now)
kill -9 "$kill_pid"
wait "$kill_pid" 2>/dev/null || true
[[ $kill_pid == "$A_PID" ]] && SG_PID= || PB_PID=
killed=$(date +%s)
took=
for _ in $(seq 60); do
	sleep 0.5
	if [[ $(fetchers "$since" | wc -l) == "$N" ]]; then
		took=$(($(date +%s) - killed))
		break
	fi
done
[[ -n $took ]] || sg_fail "not taken over in 30 s: $(fetchers "$since")" \
	"$(tail -n 5 "$DIR/server.log" "$DIR/server-b.log")"
fetchers "$since" >f2.txt
echo "  after $took s: $(tr '\n' ' ' <f2.txt)"
# All N are fetched again only once the holder's claims are taken over;
# it claimed at most 1 s before the kill, for 2 * 1 + 10 s.
((took >= 9)) || sg_fail "taken over after $took s, before the claims ran out"
[[ $(awk '{print $2}' f2.txt | sort -u) == "$other" ]] ||
	sg_fail "fetched by others than $other: $(cat f2.txt)"

echo "approved at SCM: the survivor issues them"
for id in $(awk '{print $1}' f2.txt); do
	curl -fs -o /dev/null -H "login: scep-gateway" -H "password: $PASSWORD" \
		-H "customerUri: examplecorp" -H 'Content-Type: application/json' \
		-d '{"message":"approved by test_pg_claims.sh"}' \
		"$SCM/api/device/v1/approve/$id" || sg_fail "approve $id"
done
for _ in $(seq 150); do
	n=$(pg_sql "SELECT count(*) FROM txn WHERE status = 2 AND subject LIKE '%held-%'")
	[[ $n == "$N" ]] && break
	sleep 0.2
done
[[ $n == "$N" ]] || sg_fail "$n of $N issued 30 s after the approval:" \
	"$(pg_sql "SELECT id, status, order_id, claimed_by, claimed_until,
		updated, reason FROM txn WHERE subject LIKE '%held-%'")" \
	"now $(date +%s); SCM: $(curl -fs "$SCM/__test/state" |
		jq -c '[.certs[] | {id, status, collects}]')"
n=$(pg_sql "SELECT count(*) FROM cert WHERE subject LIKE '%held-%'")
[[ $n == "$N" ]] || sg_fail "$n certificates for $N orders"
echo "PASS"
