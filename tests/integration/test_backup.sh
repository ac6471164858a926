#!/usr/bin/env bash
# scepctl backup while scepgate enrolls (scep-bench, 4 clients), then
# scepctl db check on every copy; the last copy holds every certificate
# and serves as a store (restore); a copy whose audit log lost a record
# fails db check.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need sqlite3 jq
bench=${SCEPBENCH:-$(dirname "$SCEPCTL")/scep-bench}
[[ -x $bench ]] || sg_fail "no scep-bench at $bench"
sg_setup
cd "$WORK"
ctl() { "$SCEPCTL" --config "$CFG" "$@"; }

echo "backups during 40 enrollments"
"$bench" --url "$URL" --challenge "$CODE" --count 40 --concurrency 4 \
	--keys 4 --json >bench.json 2>bench.log &
bp=$!
n=0
while kill -0 "$bp" 2>/dev/null; do
	n=$((n + 1))
	ctl backup "during-$n.db" >/dev/null || sg_fail "backup $n failed"
	sleep 0.2
done
wait "$bp" || sg_fail "scep-bench failed: $(cat bench.log)"
((n > 0)) || sg_fail "the enrollments ended before the first backup"
ctl backup final.db >/dev/null || sg_fail "final backup failed"
[[ $(stat -c %a final.db) == 600 ]] || sg_fail "backup mode $(stat -c %a final.db)"
ctl backup final.db >/dev/null 2>&1 && sg_fail "backup overwrote a file"

echo "db check on $n copies taken during the run, and the last"
for f in during-*.db final.db; do
	ctl db check "$f" >"$f.check" || sg_fail "$f: $(cat "$f.check")"
done
ctl db check >live.check || sg_fail "live: $(cat live.check)"
certs() { sed -n 's/^certificates: *//p' "$1"; }
echo "certificates: live $(certs live.check), copies $(for f in during-*.db; do certs "$f.check"; done | tr '\n' ' ')"
(($(certs final.db.check) >= 40)) || sg_fail "final copy: $(certs final.db.check) certificates"
[[ $(certs final.db.check) == "$(certs live.check)" ]] ||
	sg_fail "final copy differs from the live database"

echo "restore: the copy as the store"
sed "s|^database = .*|database = \"$WORK/final.db\";|" "$CFG" >"$DIR/restore.cfg"
[[ $("$SCEPCTL" --config "$DIR/restore.cfg" cert list --json | jq length) == \
	"$(certs live.check)" ]] || sg_fail "cert list on the copy"

echo "an audit record deleted: db check fails"
cp final.db tampered.db
sqlite3 tampered.db "DROP TRIGGER audit_delete_pruned; DELETE FROM audit WHERE id = 2;"
ctl db check tampered.db >tampered.check && sg_fail "tampered copy passes"
grep -q '^result: *FAILED$' tampered.check || sg_fail "$(cat tampered.check)"
grep -q '^audit triggers: *MISSING$' tampered.check || sg_fail "trigger"
echo "OK"
