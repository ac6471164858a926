#!/usr/bin/env bash
# Role privileges on PostgreSQL (issue 14, docs/postgresql.md): the
# owner (here the cluster's superuser) makes and upgrades the schema;
# scepctl db grant gives a runtime role what scepgate needs. scepgate
# and scepctl then run as that role: enrollments, a revocation (a CRL),
# the audit list and its prune work, while the role's own UPDATE,
# DELETE or TRUNCATE of the audit and any DDL fail with permission
# denied, whatever the triggers would say.
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=pg.sh
. "$here/pg.sh"

sg_need jq
BENCH=${BENCH:-$(dirname "${SCEPCTL:?run through ctest}")/scep-bench}
pg_setup
pg_move

echo "the owner grants the runtime role"
pg_sql "CREATE ROLE sgrun LOGIN" || sg_fail "CREATE ROLE"
sc db grant sgrun >grant.log 2>&1 || sg_fail "db grant: $(cat grant.log)"
if sc db grant no_such_role >grant2.log 2>&1; then
	sg_fail "db grant of a missing role succeeded"
fi
RUN_URI="postgresql:///sg?host=$PG_DIR&user=sgrun"
pg_use "$RUN_URI"

echo "scepgate and scepctl as the runtime role"
sg_start
"$BENCH" --url "$URL" --challenge "$CODE" --count 4 --json >b.json 2>b.err ||
	sg_fail "scep-bench as sgrun: $(cat b.err)"
[[ $(jq .ok b.json) == 4 ]] || sg_fail "enrollments as sgrun: $(cat b.json)"
sc cert revoke "$(sc cert list --json | jq -r '.[0].serial')" \
	--reason keyCompromise >rev.log 2>&1 || sg_fail "revoke as sgrun: $(cat rev.log)"
[[ $(pg_sql "SELECT count(*) FROM crl") -ge 1 ]] || sg_fail "no CRL as sgrun"
n=$(sc audit list --json | jq length)
((n > 0)) || sg_fail "audit list as sgrun"
sleep 1.2	# --before must be in the past: every record so far
before=$(date +%s)
sc audit export --before "$before" --out "$WORK/audit.json" >export.log 2>&1 ||
	sg_fail "audit export as sgrun: $(cat export.log)"
sc audit prune --before "$before" \
	--export "$WORK/audit.json" >prune.log 2>&1 ||
	sg_fail "audit prune as sgrun: $(cat prune.log)"
grep -q "pruned" prune.log || sg_fail "prune said: $(cat prune.log)"
[[ $(pg_sql "SELECT count(*) FROM audit") -ge 1 ]] ||
	sg_fail "the prune's own record is missing"

echo "the runtime role cannot change the audit or the schema"
as_run() {
	"$PG_BIN/psql" -X -q -t -A -v ON_ERROR_STOP=1 "$RUN_URI" -c "$1" 2>&1
}
for q in "UPDATE audit SET outcome = 'ok'" "DELETE FROM audit" \
	"TRUNCATE audit" "CREATE TABLE x(i INT)" "DROP TRIGGER audit_no_update ON audit" \
	"UPDATE meta SET value = '1'" "DELETE FROM crl"; do
	if out=$(as_run "$q"); then
		sg_fail "sgrun may: $q"
	fi
	[[ $out == *"permission denied"* || $out == *"must be owner"* ]] ||
		sg_fail "$q: not a privilege refusal: $out"
done
echo "  refused: UPDATE, DELETE, TRUNCATE of audit, DDL, meta, crl"
# Inserting an audit record is allowed (scepgate appends them).
as_run "INSERT INTO audit(time, actor, action, outcome) VALUES(1, 't', 'x', 'ok')" \
	>/dev/null || sg_fail "sgrun cannot append to the audit"
echo "PASS"
