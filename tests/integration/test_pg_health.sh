#!/usr/bin/env bash
# /healthz reports the database (issue 14): 200 {"status":"ok",...} on
# PostgreSQL, 503 "degraded" with the reason while PostgreSQL is down,
# 200 again once it is back (the instance reconnects by itself). Then
# database_auto_upgrade = false: an older schema is refused at start
# with a message naming scepctl db upgrade, which upgrades and says from
# which version to which.
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=pg.sh
. "$here/pg.sh"

sg_need jq
pg_setup
health="http://127.0.0.1:$PORT/healthz"

# health CODE: /healthz answers HTTP CODE within 10 s; body in h.json.
health_is() {
	local code
	for _ in $(seq 50); do
		code=$(curl -s -o h.json -w '%{http_code}' --max-time 5 "$health") ||
			true
		[[ $code == "$1" ]] && return 0
		kill -0 "$SG_PID" 2>/dev/null || sg_fail "scepgate died"
		sleep 0.2
	done
	sg_fail "/healthz: HTTP $code, want $1: $(cat h.json)" \
		"$(tail -n 5 "$DIR/server.log")"
}

echo "SQLite: 200 with the database ok"
health_is 200
[[ $(jq -r '.status + " " + .database' h.json) == "ok ok" ]] ||
	sg_fail "healthz on SQLite: $(cat h.json)"

echo "PostgreSQL: 200, 503 while it is down, 200 once it is back"
pg_move
sg_start
health_is 200
[[ $(jq -r .database h.json) == ok ]] || sg_fail "healthz: $(cat h.json)"
pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null ||
	sg_fail "pg_ctl stop"
health_is 503
[[ $(jq -r .status h.json) == degraded ]] || sg_fail "503 body: $(cat h.json)"
db=$(jq -r .database h.json)
[[ -n $db && $db != ok ]] || sg_fail "no reason in $(cat h.json)"
echo "  503: $db"
grep -q "healthz: database:" "$DIR/server.log" || sg_fail "503 not logged"
pg_ctl_start || sg_fail "PostgreSQL did not start again"
health_is 200
[[ $(jq -r .database h.json) == ok ]] || sg_fail "after restart: $(cat h.json)"

echo "database_auto_upgrade = false refuses an older schema"
sg_stop
pg_sql "ALTER TABLE txn DROP COLUMN claimed_by; ALTER TABLE txn DROP COLUMN
	claimed_until; DROP TABLE lease;
	UPDATE meta SET value = '3' WHERE key = 'schema_version'" ||
	sg_fail "making a version 3 schema"
echo "database_auto_upgrade = false;" >>"$CFG"
if "$SCEPGATE" --config "$CFG" >start.log 2>&1; then
	sg_fail "scepgate started on an older schema"
fi
grep -q "scepctl db upgrade" start.log || sg_fail "unclear refusal: $(cat start.log)"
[[ $(pg_sql "SELECT value FROM meta WHERE key = 'schema_version'") == 3 ]] ||
	sg_fail "the refused start changed the schema version"
sc db upgrade >up.log 2>&1 || sg_fail "db upgrade: $(cat up.log)"
grep -q "from version 3 to 4" up.log || sg_fail "db upgrade said: $(cat up.log)"
sc db upgrade >up2.log 2>&1 || sg_fail "db upgrade again: $(cat up2.log)"
grep -q "up to date" up2.log || sg_fail "second db upgrade said: $(cat up2.log)"
sg_start
health_is 200
echo "PASS"
