#!/usr/bin/env bash
# scepctl db copy (issue 14): an SQLite installation with enrollments,
# a revocation and its audit log moves to PostgreSQL with everything in
# it; scepctl and scepgate then work on the copy, and new rows are
# numbered above the copied ones. A second copy into it is refused.
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=pg.sh
. "$here/pg.sh"

BENCH=${BENCH:-$(dirname "${SCEPCTL:?run through ctest}")/scep-bench}
pg_setup

"$BENCH" --url "$URL" --challenge "$CODE" --count 5 --json >b.json 2>b.err ||
	sg_fail "scep-bench: $(cat b.err)"
[[ $(jq .ok b.json) == 5 ]] || sg_fail "enrollments on SQLite: $(cat b.json)"
serial=$(sc cert list --json | jq -r '.[0].serial')
sc cert revoke "$serial" --reason keyCompromise >/dev/null ||
	sg_fail "revoke on SQLite"
sc org add Copied >/dev/null
kill "$SG_PID"
wait "$SG_PID" 2>/dev/null || true
SG_PID=

echo "db copy sqlite -> postgresql"
sc db copy --from "sqlite:$DIR/scepgate.db" --to "$PG_URI" >copy.log 2>&1 ||
	sg_fail "db copy: $(cat copy.log)"
grep -q "copied and verified" copy.log || sg_fail "no verification: $(cat copy.log)"
for t in audit cert txn account endpoint; do
	a=$(sqlite3 "$DIR/scepgate.db" "SELECT count(*) FROM $t")
	b=$(pg_sql "SELECT count(*) FROM $t")
	[[ $a == "$b" && $a -gt 0 ]] || sg_fail "$t: $a rows in SQLite, $b in PostgreSQL"
done
a=$(sqlite3 "$DIR/scepgate.db" "SELECT group_concat(id || action, ',') FROM audit")
b=$(pg_sql "SELECT string_agg(id || action, ',' ORDER BY id) FROM audit")
[[ $a == "$b" ]] || sg_fail "audit records differ"

echo "a second copy into a database with rows is refused"
if sc db copy --from "sqlite:$DIR/scepgate.db" --to "$PG_URI" >again.log 2>&1; then
	sg_fail "copied twice"
fi
grep -q "not empty" again.log || sg_fail "unclear refusal: $(cat again.log)"

echo "scepctl and scepgate on the copy"
cp "$DIR/scepgate.db" old.db
pg_use "$PG_URI"
[[ $(sc cert list --status revoked --json | jq -r '.[0].serial') == "$serial" ]] ||
	sg_fail "the revocation was not copied"
sc org add AfterCopy >/dev/null || sg_fail "org add after the copy (ids renumbered?)"
"$SCEPGATE" --config "$CFG" >>"$DIR/server.log" 2>&1 &
SG_PID=$!
for _ in $(seq 100); do
	curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/healthz" && break
	sleep 0.1
done
"$BENCH" --url "$URL" --challenge "$CODE" --count 3 --json >c.json 2>c.err ||
	sg_fail "scep-bench on the copy: $(cat c.err)"
[[ $(jq .ok c.json) == 3 ]] || sg_fail "the access code does not work on the copy"
[[ $(sc cert list --json | jq length) == 8 ]] || sg_fail "not 8 certificates"
echo "PASS"
