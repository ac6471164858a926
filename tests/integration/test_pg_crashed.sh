#!/usr/bin/env bash
# A NEW transaction left by an instance that died (kill -9 between its
# insert and its issuance) on PostgreSQL (issue 14): the client's retry
# on another instance is issued at once, because the creator has no
# connection left (pg_stat_activity), not only after the 120 s of
# RA_TXN_STUCK_SECONDS. A NEW row of a live instance stays in progress.
# The rows are planted with psql: the transactionID strongSwan pki
# derives from its key (SHA-1 of the SubjectPublicKeyInfo) and the key
# id scepgate stores (its SHA-256).
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=pg.sh
. "$here/pg.sh"

sg_need pki timeout
pg_setup
pg_move
sg_start
timeout 60 pki --scepca --url "$URL" --caout ca.der --raout ra.der \
	>scepca.log 2>&1 || sg_fail "pki --scepca: $(cat scepca.log)"
ep=$(pg_sql "SELECT id FROM endpoint WHERE uri = 'demo'")

# plant NAME CREATOR: a key for NAME and a NEW row of its transactionID
# made by CREATOR (an application_name).
plant() {
	local tid kid now
	pki --gen --type rsa --size 2048 --outform der >"$1.der" 2>/dev/null
	openssl pkey -inform DER -in "$1.der" -pubout -outform DER \
		-out "$1.spki" || sg_fail "openssl pkey $1"
	tid=$(openssl dgst -sha1 -r "$1.spki" | cut -d' ' -f1 | tr a-f A-F)
	kid=$(openssl dgst -sha256 -r "$1.spki" | cut -d' ' -f1)
	now=$(date +%s)
	pg_sql "INSERT INTO txn(endpoint_id, transid, msg_type, status, key_id,
		subject, created, updated, claimed_by) VALUES($ep, '$tid', 19, 0,
		'\\x$kid'::bytea, 'CN=$1', $now, $now, '$2')" >/dev/null ||
		sg_fail "planting a NEW row for $1"
	echo "$tid"
}
# enroll NAME MAXPOLL: pki with the planted key; cert in NAME.crt.
enroll() {
	timeout 60 pki --scep --url "$URL" --in "$1.der" --dn "CN=$1,O=scepgate" \
		--password "$CODE" --cacert-enc ra.der --cacert-sig ra.der \
		--cacert ca.der --maxpolltime "$2" --interval 1 >"$1.crt" 2>"$1.log"
}

echo "a NEW row of a dead instance: the retry is issued at once"
tid=$(plant crashed "gone-host:4242:1700000000")
start=$(date +%s)
enroll crashed 5 || sg_fail "retry after the creator died: $(cat crashed.log)" \
	"$(tail -n 5 "$DIR/server.log")"
echo "  issued after $(($(date +%s) - start)) s"
[[ $(pg_sql "SELECT status || ' ' || reason FROM txn WHERE transid = '$tid'
	ORDER BY id LIMIT 1") == "3 interrupted; retry" ]] ||
	sg_fail "the planted row: $(pg_sql "SELECT * FROM txn WHERE transid = '$tid'")"
[[ $(pg_sql "SELECT count(*) FROM txn WHERE transid = '$tid' AND status = 2") == 1 ]] ||
	sg_fail "no issued transaction for $tid"
grep -q "stuck transaction .* interrupted; retry" "$DIR/server.log" ||
	sg_fail "no recovery in the log"

echo "a NEW row of a live instance stays in progress"
live=$(pg_sql "SELECT application_name FROM pg_stat_activity
	WHERE application_name LIKE '%:$SG_PID:%' LIMIT 1")
[[ -n $live ]] || sg_fail "scepgate ($SG_PID) not in pg_stat_activity: $(pg_sql \
	"SELECT application_name FROM pg_stat_activity")"
tid=$(plant alive "gone-host:1:1")
# The creator is another live session: psql sets that name meanwhile.
"$PG_BIN/psql" -X -q "$PG_URI&application_name=gone-host:1:1" \
	-c "SELECT pg_sleep(20)" >/dev/null 2>&1 &
sleeper=$!
sleep 1
if enroll alive 3; then
	kill "$sleeper" 2>/dev/null || true
	sg_fail "issued although its creator is connected"
fi
kill "$sleeper" 2>/dev/null || true
wait "$sleeper" 2>/dev/null || true
[[ $(pg_sql "SELECT status FROM txn WHERE transid = '$tid' ORDER BY id LIMIT 1") == 0 ]] ||
	sg_fail "the live instance's row changed"
echo "PASS"
