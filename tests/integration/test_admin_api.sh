#!/usr/bin/env bash
# The admin API (docs/admin-api.md) driven by curl through every route:
# the routes of server/srv_admin.c are all in docs/admin-api.yaml; a
# non-loopback admin.address without TLS is refused; every read equals
# scepctl --json (jq -S); writes take effect as scepctl sees them; the
# scopes refuse what they may not do (403), bad and revoked tokens get
# 401, repeated bad tokens 429; a minted challenge enrolls micromdm
# scepclient once; the audit names token:NAME; no token reaches the log;
# the listener over HTTPS once (and re-read on SIGHUP).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
sg_need jq scepclient pki timeout

echo "every route of srv_admin.c is in docs/admin-api.yaml, with its scope"
python3 - "$SRC/server/srv_admin.c" "$SRC/docs/admin-api.yaml" <<'EOF' ||
import re, sys, yaml
src = open(sys.argv[1]).read()
doc = yaml.safe_load(open(sys.argv[2]))
rows = re.findall(r'\{ "(GET|POST|PATCH|DELETE)", "(/[^"]+)",\s*'
                  r'RA_SCOPE_(\w+)', src)
assert len(rows) >= 20, "route table not found: %d rows" % len(rows)
bad = []
for method, path, scope in rows:
    op = doc["paths"].get(path, {}).get(method.lower())
    if op is None:
        bad.append("%s %s: missing" % (method, path))
    elif not op.get("x-scope", "").startswith(scope.lower()):
        bad.append("%s %s: x-scope %r, table %s" % (method, path,
                   op.get("x-scope"), scope))
    for code in ("401", "500"):
        if op is not None and code not in op["responses"]:
            bad.append("%s %s: no %s response" % (method, path, code))
if "/certsrv/mscep_admin/" not in doc["paths"]:
    bad.append("no /certsrv/mscep_admin/")
if bad:
    sys.exit("\n".join(bad))
print("%d routes documented" % len(rows))
EOF
	sg_fail "docs/admin-api.yaml does not match the route table"

sg_setup
APORT=$(sg_free_port)
A=http://127.0.0.1:$APORT/api/v1
cp "$CFG" "$WORK/plain.cfg"

echo "a non-loopback admin.address without TLS is refused"
printf 'admin = { address = "192.0.2.1"; port = %d; };\n' "$APORT" >>"$CFG"
if out=$("$SCEPCTL" --config "$CFG" check-config 2>&1); then
	sg_fail "check-config accepted admin.address 192.0.2.1 without TLS"
fi
[[ $out == *"not a loopback address"* ]] || sg_fail "check-config said: $out"
if out=$("$SCEPGATE" --config "$CFG" --check 2>&1); then
	sg_fail "scepgate --check accepted it: $out"
fi

cp "$WORK/plain.cfg" "$CFG"
printf 'admin = { port = %d; };\n' "$APORT" >>"$CFG"
sg_restart
for _ in $(seq 50); do
	curl -s -o /dev/null --max-time 1 "$A/endpoints" && break
	sleep 0.1
done

ctl() { "$SCEPCTL" --config "$CFG" "$@"; }
# token NAME SCOPE [ENDPOINT]: prints the new token (shown once).
token() {
	local out
	out=$(ctl token add "$1" --scope "$2" ${3:+--endpoint "$3"}) ||
		sg_fail "token add $1: $out"
	sg_field 'token' <<<"$out"
}
# api TOKEN METHOD PATH [JSON]: the body to $WORK/body, prints the status.
api() {
	curl -sS -o "$WORK/body" -w '%{http_code}' -X "$2" \
		-H "Authorization: Bearer $1" ${4:+-H 'Content-Type: application/json' -d "$4"} \
		"$A$3"
}
# want STATUS TOKEN METHOD PATH [JSON]
want() {
	local got
	got=$(api "${@:2}")
	[[ $got == "$1" ]] || sg_fail "$3 $4: HTTP $got, want $1: $(cat "$WORK/body")"
}
# same PATH SCEPCTL-ARGS...: GET PATH (read token) equals scepctl --json.
same() {
	want 200 "$RD" GET "$1"
	ctl "${@:2}" >"$WORK/ctl.json" || sg_fail "scepctl ${*:2} failed"
	diff <(jq -S . "$WORK/body") <(jq -S . "$WORK/ctl.json") ||
		sg_fail "GET $1 differs from scepctl ${*:2}"
}

ctl endpoint add other --type device --uri other >/dev/null
ADM=$(token t-admin admin)
RD=$(token t-read read)
CH=$(token t-chal challenge demo)
CH2=$(token t-chal2 challenge other)
BYE=$(token t-gone read)
[[ -n $ADM && -n $RD && -n $CH && -n $CH2 && -n $BYE ]] ||
	sg_fail "token add printed no token"

echo "401: no token, a wrong one, a revoked one"
code=$(curl -sS -o "$WORK/body" -D "$WORK/hdr" -w '%{http_code}' "$A/endpoints")
[[ $code == 401 ]] || sg_fail "no token: HTTP $code"
grep -qi '^WWW-Authenticate: Bearer' "$WORK/hdr" || sg_fail "401 without WWW-Authenticate"
jq -e '.error | length > 0' "$WORK/body" >/dev/null || sg_fail "401 body: $(cat "$WORK/body")"
want 401 "x$RD" GET /endpoints
want 200 "$BYE" GET /endpoints
ctl token revoke t-gone >/dev/null
want 401 "$BYE" GET /endpoints

echo "reads equal scepctl --json"
same /endpoints endpoint list --json
same /endpoints/demo endpoint show demo --json
same /endpoints/demo/accounts account list --endpoint demo --json
acct=$(jq -r '.[0].name' "$WORK/body")
same "/endpoints/demo/accounts/$acct" account show --endpoint demo --name "$acct" --json
want 404 "$RD" GET /endpoints/nosuch
jq -e '.error' "$WORK/body" >/dev/null || sg_fail "404 without an error"

echo "403: a challenge token reads nothing, mints only on its endpoint"
want 403 "$CH" GET /endpoints
want 403 "$CH" GET /certificates
want 403 "$CH" GET /audit
want 403 "$CH2" POST /endpoints/demo/challenges
want 403 "$RD" POST /endpoints/demo/challenges
want 403 "$RD" POST /endpoints '{"name":"x","type":"device","uri":"x"}'

echo "a minted challenge enrolls micromdm scepclient, once"
want 201 "$CH" POST /endpoints/demo/challenges
jq -e 'keys == ["challenge","expires_at","id"]' "$WORK/body" >/dev/null ||
	sg_fail "challenge reply: $(cat "$WORK/body")"
chal=$(jq -r .challenge "$WORK/body")
TOKENS=("$ADM" "$RD" "$CH" "$CH2" "$BYE" "$chal")
mc() {
	local d=$WORK/$1
	mkdir "$d"
	timeout 60 scepclient -server-url "$URL" -challenge "$2" \
		-private-key "$d/key.pem" -certificate "$d/cert.pem" -cn "$1" \
		>"$d/client.log" 2>&1
}
mc chal-one "$chal" || sg_fail "scepclient: $(cat "$WORK/chal-one/client.log")"
openssl verify -CAfile "$DIR/ca.pem" "$WORK/chal-one/cert.pem" >/dev/null ||
	sg_fail "the challenge's certificate does not verify"
if mc chal-again "$chal"; then
	sg_fail "a used challenge enrolled again"
fi
same "/endpoints/demo/challenges?all=true" challenge list --endpoint demo --all --json
jq -e 'any(.[]; .minted_by == "token:t-chal" and .status == "used")' "$WORK/body" \
	>/dev/null || sg_fail "challenge list: $(cat "$WORK/body")"
want 201 "$ADM" POST /endpoints/demo/challenges '{"lifetime": 600}'
cid=$(jq -r .id "$WORK/body")
TOKENS+=("$(jq -r .challenge "$WORK/body")")
want 200 "$ADM" DELETE "/challenges/$cid"
want 400 "$ADM" POST /endpoints/demo/challenges '{"bogus": 1}'

echo "endpoints and accounts: admin writes, scepctl sees them"
want 201 "$ADM" POST /endpoints '{"name":"api-ep","type":"device","uri":"api-ep","key_types":"rsa","renewal_days":10}'
ctl endpoint show api-ep --json >"$WORK/ctl.json"
diff <(jq -S . "$WORK/body") <(jq -S . "$WORK/ctl.json") || sg_fail "POST /endpoints reply differs"
jq -e '.key_types == "rsa" and .renewal_days == 10' "$WORK/ctl.json" >/dev/null ||
	sg_fail "endpoint not as asked: $(cat "$WORK/ctl.json")"
want 409 "$ADM" POST /endpoints '{"name":"api-ep","type":"device","uri":"api-ep2"}'
want 400 "$ADM" POST /endpoints '{"name":"api-ep3","type":"toaster","uri":"x3"}'
want 400 "$ADM" POST /endpoints '{"name":"api-ep3","type":"device","uri":"x3","intune":{"org":"Demo"}}'
want 422 "$ADM" POST /endpoints '{"name":"api-ep3","type":"device-intune","uri":"x3","intune":{"org":"Demo","term_days":30,"azure_account":"nosuch"}}'
want 200 "$ADM" PATCH /endpoints/api-ep '{"min_rsa_bits": 3072, "san_types": "dns"}'
jq -e '.min_rsa_bits == 3072 and .san_types == "dns"' "$WORK/body" >/dev/null ||
	sg_fail "PATCH: $(cat "$WORK/body")"
same /endpoints/api-ep endpoint show api-ep --json
want 400 "$ADM" PATCH /endpoints/api-ep '{"type": "client"}'
ctl org add api-org >/dev/null
want 201 "$ADM" POST /endpoints/api-ep/accounts '{"name":"a1","org":"api-org","term_days":30}'
code1=$(jq -r .access_code "$WORK/body")
[[ ${#code1} -ge 16 ]] || sg_fail "no access code in: $(cat "$WORK/body")"
TOKENS+=("$code1")
want 200 "$ADM" PATCH /endpoints/api-ep/accounts/a1 '{"approval":"manual","state":"disabled","term_days":60}'
jq -e '.approval == "manual" and .state == "disabled" and .term_days == 60 and (has("access_code") | not)' \
	"$WORK/body" >/dev/null || sg_fail "account PATCH: $(cat "$WORK/body")"
same /endpoints/api-ep/accounts/a1 account show --endpoint api-ep --name a1 --json
want 200 "$ADM" POST /endpoints/api-ep/accounts/a1/rotate-code
code2=$(jq -r .access_code "$WORK/body")
[[ -n $code2 && $code2 != "$code1" ]] || sg_fail "rotate-code: $(cat "$WORK/body")"
TOKENS+=("$code2")
want 200 "$RD" GET /endpoints/api-ep/accounts/a1
! grep -q access_code "$WORK/body" || sg_fail "a read shows an access code"
want 422 "$ADM" DELETE /endpoints/api-ep
want 200 "$ADM" DELETE /endpoints/api-ep/accounts/a1
want 404 "$RD" GET /endpoints/api-ep/accounts/a1
want 200 "$ADM" DELETE /endpoints/api-ep
want 404 "$RD" GET /endpoints/api-ep

echo "requests: approve and reject pending ones"
ctl endpoint add manual --type device --uri manual >/dev/null
mcode=$(ctl account add --endpoint manual --name m1 --org Demo --term 30 \
	--approval manual | sg_field 'access code')
TOKENS+=("$mcode")
cd "$WORK"
timeout 60 pki --scepca --url "$URL" --caout ca.der --raout ra.der >/dev/null 2>&1 ||
	sg_fail "pki --scepca"
pend() {
	mkdir -p "$WORK/$1"
	pki --gen --type rsa --size 2048 --outform der >"$WORK/$1/key.der" 2>/dev/null
	timeout 90 pki --scep --url "${URL%/demo}/manual" --in "$WORK/$1/key.der" \
		--dn "CN=$1,O=scepgate" --password "$mcode" --cacert-enc ra.der \
		--cacert-sig ra.der --cacert ca.der --maxpolltime 60 --interval 1 \
		>"$WORK/$1/cert.der" 2>"$WORK/$1/pki.log"
}
# pending: the id of the one pending request, from the API.
pending() {
	local id
	for _ in $(seq 100); do
		want 200 "$RD" GET "/requests?status=pending"
		id=$(jq -r '.[0].id // empty' "$WORK/body")
		[[ -n $id ]] && { echo "$id"; return; }
		sleep 0.2
	done
	sg_fail "no pending request"
}
pend api-ok &
pid=$!
rid=$(pending)
same "/requests?status=pending" request list --status pending --json
want 200 "$ADM" POST "/requests/$rid/approve"
wait "$pid" || sg_fail "approved enrollment: $(cat "$WORK/api-ok/pki.log")"
sg_pki_issued api-ok "$DIR/ca.pem"
want 422 "$ADM" POST "/requests/$rid/approve"
pend api-no &
pid=$!
rid=$(pending)
want 400 "$ADM" POST "/requests/$rid/reject"
want 200 "$ADM" POST "/requests/$rid/reject" '{"reason":"not ours"}'
wait "$pid" || true
sg_pki_refused api-no
same /requests request list --json
want 400 "$RD" GET "/requests?status=bogus"

echo "certificates: list, show, revoke"
same /certificates cert list --json
same "/certificates?endpoint=manual&status=valid" cert list --endpoint manual --status valid --json
serial=$(jq -r '.[0].serial' "$WORK/body")
same "/certificates/$serial" cert show "$serial" --json
want 400 "$ADM" POST "/certificates/$serial/revoke" '{"reason":"stolen"}'
want 200 "$ADM" POST "/certificates/$serial/revoke" '{"reason":"keyCompromise"}'
ctl cert show "$serial" --json | jq -e '.status == "revoked" and .reason == "keyCompromise"' \
	>/dev/null || sg_fail "revoke did not take"
want 422 "$ADM" POST "/certificates/$serial/revoke" '{"reason":"keyCompromise"}'

echo "the audit: token:NAME as actor, list and export equal scepctl"
same /audit audit list --json
jq -e 'any(.[]; .actor == "token:t-admin" and (.action | test("revoke")))' \
	"$WORK/body" >/dev/null || sg_fail "no revoke by token:t-admin in the audit"
jq -e 'any(.[]; .actor == "token:t-chal")' "$WORK/body" >/dev/null ||
	sg_fail "no record with actor token:t-chal"
same "/audit?endpoint=manual&outcome=success&since=2000-01-01" audit list \
	--endpoint manual --outcome success --since 2000-01-01 --json
same "/audit/export?format=json" audit export --format json
want 200 "$RD" GET "/audit/export?format=csv"
ctl audit export --format csv >"$WORK/ctl.csv"
cmp -s "$WORK/body" "$WORK/ctl.csv" || sg_fail "CSV export differs from scepctl's"
want 400 "$RD" GET "/audit/export?format=xml"
want 400 "$RD" GET "/audit?since=yesterday"

echo "unknown routes and methods"
want 404 "$RD" GET /nosuch
want 405 "$RD" PUT /endpoints

echo "no token or code reaches the log"
for t in "${TOKENS[@]}"; do
	! grep -qF "$t" "$DIR/server.log" || sg_fail "a secret is in server.log"
done

echo "HTTPS once: admin.tls_cert and tls_key, curl --cacert"
sg_stop
cp "$WORK/plain.cfg" "$CFG"
printf 'admin = { address = "127.0.0.1"; port = %d; tls_cert = "%s"; tls_key = "%s"; };\n' \
	"$APORT" "$DIR/tls.pem" "$DIR/tls.key" >>"$CFG"
sg_start
for _ in $(seq 50); do
	curl -s -o /dev/null --max-time 1 --cacert "$DIR/tls.pem" \
		"https://127.0.0.1:$APORT/api/v1/endpoints" && break
	sleep 0.1
done
A=https://127.0.0.1:$APORT/api/v1
code=$(curl -sS -o "$WORK/body" -w '%{http_code}' --cacert "$DIR/tls.pem" \
	-H "Authorization: Bearer $RD" "$A/endpoints")
[[ $code == 200 ]] || sg_fail "HTTPS GET /endpoints: $code"
ctl endpoint list --json >"$WORK/ctl.json"
diff <(jq -S . "$WORK/body") <(jq -S . "$WORK/ctl.json") || sg_fail "HTTPS list differs"
if curl -s -o /dev/null "http://127.0.0.1:$APORT/api/v1/endpoints"; then
	sg_fail "plain HTTP answered on the HTTPS admin listener"
fi
kill -HUP "$SG_PID"
for _ in $(seq 50); do
	grep -q "admin HTTPS: certificate and key re-read" "$DIR/server.log" && break
	sleep 0.1
done
grep -q "admin HTTPS: certificate and key re-read" "$DIR/server.log" ||
	sg_fail "SIGHUP did not re-read admin.tls_cert"
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$DIR/tls.pem" \
	-H "Authorization: Bearer $RD" "$A/endpoints")
[[ $code == 200 ]] || sg_fail "HTTPS after SIGHUP: $code"

echo "429 after repeated wrong tokens, also for the right one"
# limits.lockout_failures (5) wrong tokens lock the source: the two of
# the 401 checks above count too, so at most 3 more answer 401.
n401=0
for i in $(seq 6); do
	code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$DIR/tls.pem" \
		-H "Authorization: Bearer wrong-$i" "$A/endpoints")
	[[ $code == 401 ]] || break
	n401=$((n401 + 1))
done
[[ $code == 429 && $n401 == 3 ]] ||
	sg_fail "wrong tokens: $n401 times 401, then HTTP $code (want 3, then 429)"
code=$(curl -sS -o "$WORK/body" -w '%{http_code}' --cacert "$DIR/tls.pem" \
	-H "Authorization: Bearer $RD" "$A/endpoints")
[[ $code == 429 ]] || sg_fail "the right token while locked: HTTP $code"
grep -q "locked out for repeated wrong tokens" "$DIR/server.log" ||
	sg_fail "no lockout line in the log"
echo "PASS"
