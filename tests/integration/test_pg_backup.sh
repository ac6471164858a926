#!/usr/bin/env bash
# scepctl backup and db check on PostgreSQL (issue 14): backup runs
# pg_dump (custom format, mode 0600, the URI's connection; no password
# on a command line) while scepgate runs, and pg_restore brings every row
# back; db check reports the invariants of several writers and exits 1
# on a violation (here a certificate of a missing transaction).
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=pg.sh
. "$here/pg.sh"

sg_need jq pg_dump pg_restore
BENCH=${BENCH:-$(dirname "${SCEPCTL:?run through ctest}")/scep-bench}
pg_setup
pg_move
sg_start
"$BENCH" --url "$URL" --challenge "$CODE" --count 6 --json >b.json 2>b.err ||
	sg_fail "scep-bench: $(cat b.err)"
[[ $(jq .ok b.json) == 6 ]] || sg_fail "enrollments: $(cat b.json)"
sc cert revoke "$(sc cert list --json | jq -r '.[0].serial')" \
	--reason keyCompromise >/dev/null ||
	sg_fail "revoke"

echo "db check on PostgreSQL: ok"
sc db check >check.log 2>&1 || sg_fail "db check: $(cat check.log)"
grep -q "result: *ok" check.log || sg_fail "db check said: $(cat check.log)"
grep -q "schema version: *4" check.log || sg_fail "no schema version: $(cat check.log)"

echo "backup while scepgate runs: pg_dump, mode 0600, restorable"
sc backup "$WORK/sg.dump" >backup.log 2>&1 || sg_fail "backup: $(cat backup.log)"
[[ $(stat -c %a "$WORK/sg.dump") == 600 ]] || sg_fail "backup mode $(stat -c %a "$WORK/sg.dump")"
if sc backup "$WORK/sg.dump" >again.log 2>&1; then
	sg_fail "backup overwrote an existing file"
fi
pg_as "$PG_BIN/createdb" -h "$PG_DIR" -U postgres sg2 || sg_fail "createdb sg2"
URI2="postgresql:///sg2?host=$PG_DIR&user=postgres"
pg_restore --no-owner -d "$URI2" "$WORK/sg.dump" >restore.log 2>&1 ||
	sg_fail "pg_restore: $(cat restore.log)"
for t in audit cert txn account endpoint crl meta; do
	a=$(pg_sql "SELECT count(*) FROM $t")
	b=$("$PG_BIN/psql" -X -q -t -A "$URI2" -c "SELECT count(*) FROM $t")
	[[ $a == "$b" ]] || sg_fail "$t: $a rows, $b in the restored dump"
done
"$SCEPCTL" --config "$CFG" db check "$URI2" >check2.log 2>&1 ||
	sg_fail "db check of the restore: $(cat check2.log)"

echo "db check finds violations: exit 1"
pg_sql "INSERT INTO cert(serial, endpoint_id, txn_id, subject, not_before,
	not_after, der) VALUES('0BAD', 1, 999999, 'CN=orphan', 0, 1, '\\x30')" ||
	sg_fail "planting an orphan certificate"
rc=0
sc db check >bad.log 2>&1 || rc=$?
[[ $rc == 1 ]] || sg_fail "db check exit $rc with an orphan: $(cat bad.log)"
grep -q "1 of a missing transaction" bad.log || sg_fail "db check said: $(cat bad.log)"
grep -q "result: *FAILED" bad.log || sg_fail "db check said: $(cat bad.log)"
echo "PASS"
