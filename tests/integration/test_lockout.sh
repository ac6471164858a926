#!/usr/bin/env bash
# Issue 10 s.4 and s.5 (docs/lockout.md): two scepgate processes on one
# database share the lockout of wrong access codes; 1,000 refused
# requests add at most a few audit records and no transaction; audit
# export then prune round trip, and a prune without a good export is
# refused.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need jq
sg_setup
cd "$WORK"
bench=${SCEPBENCH:-$(dirname "$SCEPCTL")/scep-bench}
[[ -x $bench ]] || sg_fail "no scep-bench at $bench"
ctl() { "$SCEPCTL" --config "$CFG" "$@"; }
audit_rows() { ctl audit list --json | jq length; }

# A second scepgate on the same database, another port.
PORT2=$(sg_free_port)
sed "s/port = $PORT;/port = $PORT2;/" "$CFG" >"$DIR/second.cfg"
grep -q "port = $PORT2;" "$DIR/second.cfg" || sg_fail "no port in $CFG"
"$SCEPGATE" --config "$DIR/second.cfg" >"$DIR/second.log" 2>&1 &
PID2=$!
# Keep the exit status for sg_cleanup, which reads it first.
r=0
trap 'r=$?; kill "$PID2" 2>/dev/null; wait "$PID2" 2>/dev/null
	(exit "$r"); sg_cleanup' EXIT
for _ in $(seq 100); do
	curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$PORT2/healthz" &&
		break
	sleep 0.1
done
URL2=${URL/:$PORT\//:$PORT2/}

# bench URL CODE COUNT: the first error of COUNT enrollments (JSON).
bench() {
	"$bench" --url "$1" --challenge "$2" --count "$3" --concurrency 4 \
		--keys 4 --timeout 20 --json 2>/dev/null || true
}

echo "wrong codes on one scepgate lock the other out"
out=$(bench "$URL" Wrong0Code0123 6)
[[ $(jq -r .failed <<<"$out") == 6 ]] || sg_fail "wrong codes: $out"
out=$(bench "$URL2" "$CODE" 1)
[[ $(jq -r .first_error <<<"$out") == *"too many attempts"* ]] ||
	sg_fail "the second scepgate ignored the lockout: $out"

echo "1,000 refused requests: a few audit records, no transaction"
rows=$(audit_rows)
reqs=$(ctl request list --json | jq length)
out=$(bench "$URL" Wrong0Code0123 1000)
[[ $(jq -r .failed <<<"$out") == 1000 ]] || sg_fail "refused: $out"
added=$(($(audit_rows) - rows))
echo "  audit records added: $added"
((added <= 3)) || sg_fail "1,000 refused requests added $added audit records"
[[ $(ctl request list --json | jq length) == "$reqs" ]] ||
	sg_fail "refused requests wrote transaction rows"

echo "audit export, then prune"
sleep 1
before=$(date +%s)
set +e
ctl audit prune --before "$before" >/dev/null 2>&1
rc=$?
set -e
[[ $rc == 2 ]] || sg_fail "prune without --export: exit $rc, want 2"
ctl audit export --before "$before" --out export.csv >/dev/null ||
	sg_fail "audit export failed"
n=$(sed -n 's/.* count=\([0-9]*\) .*/\1/p' export.csv)
[[ -n $n && $n -ge 3 ]] || sg_fail "export holds '$n' records"
sed 's/demo/dem0/' export.csv >tampered.csv
if ctl audit prune --before "$before" --export tampered.csv 2>/dev/null; then
	sg_fail "prune accepted an edited export"
fi
ctl audit prune --before "$before" --export export.csv >/dev/null ||
	sg_fail "prune with the export failed"
ctl audit list --json | jq -e \
	'map(select(.action == "audit prune")) | length == 1' >/dev/null ||
	sg_fail "the prune is not audited"
old=$(ctl audit list --json | jq --argjson b "$before" \
	'[.[] | select(.time | fromdateiso8601 < $b)] | length')
[[ $old == 0 ]] || sg_fail "$old records before the prune time are left"
if ctl audit prune --before "$before" --export export.csv 2>/dev/null; then
	sg_fail "a second prune with the same export succeeded"
fi
echo "ok"
