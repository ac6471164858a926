#!/usr/bin/env bash
# tests/doubles/intune alone, driven with curl and python3 (section 8 of
# reference/intune-scep.md): a token per scope (both spellings of the
# Intune scope), wrong and expired secrets, token expiry; discovery with
# the Graph token and with the Intune token, its 403 and no-SCEP-entry
# switches; validateRequest with a good, a wrong and no challenge, canned
# codes; the JSON shape checks of the three SCEP actions; every fault
# kind; the scale-unit move; the revocation queue round trip; and that
# neither /__test/requests nor the double's stderr holds a secret.
#
# INTUNE_DOUBLE is the intune-double binary (default: next to scepgate
# in the build tree). No scepgate runs here.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need curl python3 openssl
: "${SCEPGATE:?SCEPGATE is not set (run through ctest)}"
INTUNE_DOUBLE=${INTUNE_DOUBLE:-$(dirname "$SCEPGATE")/../tests/doubles/intune/intune-double}
[[ -x $INTUNE_DOUBLE ]] || sg_fail "no intune-double at $INTUNE_DOUBLE"

# lib.sh's sg_cleanup stops SG_PID and shows DIR/server.log on failure:
# here the double and its stderr.
SG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/intune-double-it.XXXXXX")
DIR=$SG_TMP
LOG=$DIR/server.log
trap sg_cleanup EXIT
cd "$SG_TMP"

TENANT=contoso.onmicrosoft.com
CLIENT=11111111-2222-3333-4444-555555555555
SECRET=it-secret-$RANDOM$RANDOM$RANDOM
CHALLENGE=it-challenge-$RANDOM$RANDOM
GRAPH_SCOPE=https://graph.microsoft.com/.default
INTUNE_SCOPE2=https://api.manage.microsoft.com//.default
INTUNE_SCOPE1=https://api.manage.microsoft.com/.default
APP=0000000a-0000-0000-c000-000000000000
DISCOVERY=/v1.0/servicePrincipals/appId=$APP/endpoints
BODY=$SG_TMP/body
HDRS=$SG_TMP/headers
printf '%s\n' "$SECRET" >secret.txt
chmod 600 secret.txt

PORT=$(sg_free_port)
TLS_PORT=$(sg_free_port)
U=http://127.0.0.1:$PORT
"$INTUNE_DOUBLE" --port "$PORT" --tls-port "$TLS_PORT" --dir "$SG_TMP/files" \
	--tenant "$TENANT" \
	--client-id "$CLIENT" --client-secret-file secret.txt \
	--good-challenge "$CHALLENGE" --token-ttl 600 \
	>double.out 2>"$LOG" &
SG_PID=$!
for _ in $(seq 100); do
	curl -fs -o /dev/null --max-time 1 "$U/__test/state" && break
	kill -0 "$SG_PID" 2>/dev/null || sg_fail "intune-double exited at start"
	sleep 0.1
done
curl -fs -o /dev/null "$U/__test/state" || sg_fail "intune-double not up"
grep -q "SCEP service $U/su1/scepsvc" double.out ||
	sg_fail "no SCEP service URL printed: $(cat double.out)"
[[ $(cat files/client_secret.txt) == "$SECRET" ]] || sg_fail "--dir has no secret"

# ---- helpers ----

# http METHOD PATH CURL-ARGS...: ST is the status (or curlN), body in BODY.
http() {
	local m=$1 p=$2 rc=0
	shift 2
	ST=$(curl -s -o "$BODY" -D "$HDRS" -w '%{http_code}' -X "$m" "$@" \
		"$U$p") || rc=$?
	((rc == 0)) || ST=curl$rc
}
# want STATUS WHAT [PYTHON-CONDITION over the JSON body "b"]
want() {
	[[ $ST == "$1" ]] ||
		sg_fail "$2: status $ST, want $1: $(head -c 400 "$BODY")"
	[[ -z ${3:-} ]] && return 0
	python3 -c "import json, sys
b = json.load(open(sys.argv[1]))
sys.exit(0 if ($3) else 1)" "$BODY" 2>/dev/null ||
		sg_fail "$2: not ($3): $(head -c 400 "$BODY")"
}
# val PYTHON-EXPRESSION over the JSON body "b"
val() {
	python3 -c "import json, sys
b = json.load(open(sys.argv[1]))
print($1)" "$BODY"
}
hook() {
	curl -fs -o /dev/null -H 'Content-Type: application/json' -d "$1" \
		"$U/__test/config" || sg_fail "test hook $1"
}
state() {
	curl -fs -o "$BODY" "$U/__test/state" || sg_fail "GET /__test/state"
	val "$1"
}
# token SCOPE [SECRET] [TENANT] [CLIENT]
token() {
	http POST "/${3:-$TENANT}/oauth2/v2.0/token" \
		-d grant_type=client_credentials \
		--data-urlencode "client_id=${4:-$CLIENT}" \
		--data-urlencode "client_secret=${2:-$SECRET}" \
		--data-urlencode "scope=$1"
}
new_token() {
	token "$1"
	want 200 "token for $1" 'b["token_type"] == "Bearer"'
	val 'b["access_token"]'
}
# discover TOKEN: the discovery call with that bearer token
discover() {
	http GET "$DISCOVERY" -H "Authorization: Bearer $1" \
		-H 'client-request-id: 6f1f5c2a-0000-4000-8000-000000000001'
}
# svc ACTION JSON [TOKEN] [API-VERSION] [SCALE-UNIT]: a SCEP action
svc() {
	http POST "/su${5:-$SU}/scepsvc/ScepActions/$1" \
		-H "Authorization: Bearer ${3:-$IT}" \
		-H "api-version: ${4:-2018-02-20}" \
		-H 'Content-Type: application/json; charset=utf-8' -d "$2"
}
# pki ACTION JSON [API-VERSION]: a revocation call
pki() {
	http POST "/su$SU/pkisvc/CertificateAuthorityRequests/$1" \
		-H "Authorization: Bearer $IT" -H "api-version: ${3:-5019-05-05}" \
		-H 'Content-Type: application/json' -d "$2"
}
# csr NAME [CHALLENGE]: NAME.b64, a base64 DER CSR (no challenge if none)
csr() {
	{
		printf '[req]\ndistinguished_name = dn\nprompt = no\n'
		[[ -n ${2:-} ]] && printf 'attributes = attrs\n'
		printf '[dn]\nCN = %s\n' "$1"
		[[ -n ${2:-} ]] && printf '[attrs]\nchallengePassword = %s\n' "$2"
	} >"$1.cnf"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -config "$1.cnf" \
		-addext "subjectAltName=DNS:$1.example.com" \
		-outform DER -out "$1.der" 2>/dev/null || sg_fail "openssl req $1"
	base64 -w0 "$1.der" >"$1.b64"
}
validate_json() { # TXID CSR-BASE64
	printf '{"request":{"transactionId":"%s","certificateRequest":"%s",'`
		`'"callerInfo":"scepgate-it/1"}}' "$1" "$2"
}
success_json() { # TXID CSR-BASE64 [EXPIRY] [EXTRA-FIELDS]
	printf '{"notification":{"transactionId":"%s","certificateRequest":'`
		`'"%s","certificateThumbprint":"%s","certificateSerialNumber":'`
		`'"1A2B3C","certificateExpirationDateUtc":"%s",'`
		`'"issuingCertificateAuthority":"CN=it CA","callerInfo":'`
		`'"scepgate-it/1"%s}}' "$1" "$2" \
		A94A8FE5CCB19BA61C4C0873D391E987982FBBD3 \
		"${3:-2027-06-11T16:11:20.090Z}" "${4:-}"
}
failure_json() { # TXID CSR-BASE64 HRESULT DESCRIPTION
	printf '{"notification":{"transactionId":"%s","certificateRequest":'`
		`'"%s","hResult":%s,"errorDescription":"%s","callerInfo":'`
		`'"scepgate-it/1"}}' "$@"
}

# ---- 8.1 tokens ----
GT=$(new_token "$GRAPH_SCOPE")
IT=$(new_token "$INTUNE_SCOPE2")
IT1=$(new_token "$INTUNE_SCOPE1")
[[ $GT != "$IT" && $IT != "$IT1" && $GT != "$IT1" ]] ||
	sg_fail "the same token twice"
token "$INTUNE_SCOPE2"
want 200 "token lifetime" 'b["expires_in"] == 600'
IT3=$(val 'b["access_token"]')
[[ $(state '(b["tokens_issued"], b["intune_scope_forms"])') == \
	"({'graph': 1, 'intune': 3}, {'single_slash': 1, 'double_slash': 2})" ]] ||
	sg_fail "token counts: $(state 'b["tokens_issued"], b["intune_scope_forms"]')"
grep -q 'scope_form":"double-slash","token_scope":"intune"' "$LOG" ||
	sg_fail "the double-slash scope was not logged"
grep -q 'scope_form":"single-slash","token_scope":"intune"' "$LOG" ||
	sg_fail "the single-slash scope was not logged"
token "$INTUNE_SCOPE2" wrong-secret
want 401 "wrong secret" '"AADSTS7000215" in b["error_description"] and
	b["error"] == "invalid_client"'
token "$GRAPH_SCOPE" "$SECRET" other.onmicrosoft.com
want 400 "wrong tenant" 'b["error"] == "invalid_request"'
token "$GRAPH_SCOPE" "$SECRET" "$TENANT" 99999999-0000-0000-0000-000000000000
want 400 "wrong client id" 'b["error"] == "unauthorized_client"'
token https://example.com/.default
want 400 "foreign scope" 'b["error"] == "invalid_scope"'
hook '{"secret_expired": true}'
token "$GRAPH_SCOPE"
want 401 "expired secret" '"AADSTS7000222" in b["error_description"]'
hook '{"secret_expired": false, "token_ttl": 1}'
SHORT=$(new_token "$GRAPH_SCOPE")
hook '{"token_ttl": 600}'
sleep 2
discover "$SHORT"
want 401 "expired Graph token" '"expired" in b["error"]["message"]'

# ---- 8.2 discovery ----
http GET "$DISCOVERY"
want 401 "discovery without a token" \
	'b["error"]["code"] == "InvalidAuthenticationToken"'
discover "$IT"
want 403 "discovery with the Intune token"
discover "$GT"
want 200 "discovery" 'len(b["value"]) == 3'
grep -qi '^client-request-id: 6f1f5c2a' "$HDRS" ||
	sg_fail "client-request-id not echoed"
[[ $(val '[e["uri"] for e in b["value"]
	if e["providerName"] == "ScepRequestValidationFEService"][0]') == \
	"$U/su1/scepsvc" ]] || sg_fail "SCEP URI: $(cat "$BODY")"
[[ $(val '[e["uri"] for e in b["value"]
	if e["providerName"] == "PkiConnectorFEService"][0]') == \
	"$U/su1/pkisvc" ]] || sg_fail "PKI URI: $(cat "$BODY")"
SU=1
U=https://127.0.0.1:$TLS_PORT http GET "$DISCOVERY" --cacert files/tls.pem \
	-H "Authorization: Bearer $GT"
want 200 "discovery over HTTPS" '[e["uri"] for e in b["value"]][1:] ==
	["https://127.0.0.1:'"$TLS_PORT"'/su1/scepsvc",
	"https://127.0.0.1:'"$TLS_PORT"'/su1/pkisvc"]'
hook '{"discovery_403": true}'
discover "$GT"
want 403 "discovery_403" '"Insufficient privileges" in b["error"]["message"]'
hook '{"discovery_403": false, "no_scep_entry": true}'
discover "$GT"
want 200 "no_scep_entry" '[e["providerName"] for e in b["value"]] ==
	["OtherFEService", "PkiConnectorFEService"]'
hook '{"no_scep_entry": false}'

# ---- 8.3 validateRequest ----
csr good "$CHALLENGE"
csr wrong not-the-challenge
csr none
GOOD=$(cat good.b64)
svc validateRequest "$(validate_json txn-good "$GOOD")"
want 200 "good challenge" 'b == {"code": "Success", "errorDescription": ""}'
svc validateRequest "$(validate_json txn-wrong "$(cat wrong.b64)")"
want 200 "wrong challenge" 'b["code"] == "ChallengeDeserializationError"'
svc validateRequest "$(validate_json txn-none "$(cat none.b64)")"
want 200 "no challenge" 'b["code"] == "ChallengePasswordMissing"'
svc validateRequest "$(validate_json txn-b64 "not*base64")"
want 200 "bad base64" 'b["code"] == "CertificateRequestDecodingFailed"'
svc validateRequest "$(validate_json txn-der "$(printf 'garbage' | base64)")"
want 200 "not a CSR" 'b["code"] == "CertificateRequestDecodingFailed"'
svc validateRequest "$(validate_json txn-pem "-----BEGIN CERTIFICATE REQUEST-----$GOOD")"
want 200 "PEM armour" 'b["code"] == "CertificateRequestDecodingFailed"'
for code in ChallengeExpired SubjectNameMismatch; do
	hook "{\"codes\": {\"validateRequest\": \"$code\"}}"
	svc validateRequest "$(validate_json txn-canned "$GOOD")"
	want 200 "canned $code" "b['code'] == '$code'"
done
hook '{"codes": {"validateRequest": "Success"}}'

# ---- the checks before the JSON (tokens, api-version, Content-Type) ----
http POST /su1/scepsvc/ScepActions/validateRequest -H 'api-version: 2018-02-20' \
	-H 'Content-Type: application/json' -d "$(validate_json t "$GOOD")"
want 401 "validate without a token"
svc validateRequest "$(validate_json t "$GOOD")" "$GT"
want 401 "validate with the Graph token"
svc validateRequest "$(validate_json t "$GOOD")" "$IT1"
want 200 "validate with the single-slash token" 'b["code"] == "Success"'
http POST /su1/scepsvc/ScepActions/validateRequest -H "Authorization: Bearer $IT" \
	-H 'Content-Type: application/json' -d "$(validate_json t "$GOOD")"
want 400 "no api-version" '"api-version" in b["errorDescription"]'
svc validateRequest "$(validate_json t "$GOOD")" "$IT" 1999-01-01
want 400 "wrong api-version" '"2018-02-20" in b["errorDescription"]'
http POST /su1/scepsvc/ScepActions/validateRequest -H "Authorization: Bearer $IT" \
	-H 'api-version: 2018-02-20' -H 'Content-Type: text/plain' \
	-d "$(validate_json t "$GOOD")"
want 415 "text/plain body"
svc validateRequest '{"request": '
want 400 "not JSON" '"not a JSON" in b["errorDescription"]'

# ---- 8.3 shape checks (section 5) ----
svc validateRequest '{"transactionId": "t"}'
want 400 "no request object" '"request" in b["errorDescription"]'
svc validateRequest "{\"request\":{\"certificateRequest\":\"$GOOD\",\"callerInfo\":\"x\"}}"
want 400 "no transactionId" '"request.transactionId" in b["errorDescription"]'
svc validateRequest "{\"request\":{\"transactionId\":\"t\",\"certificateRequest\":\"$GOOD\"}}"
want 400 "no callerInfo" '"request.callerInfo" in b["errorDescription"]'
svc validateRequest '{"request":{"transactionId":"t","certificateRequest":"","callerInfo":"x"}}'
want 400 "empty CSR" '"certificateRequest" in b["errorDescription"]'
svc successNotification "$(success_json txn-good "$GOOD")"
want 200 "success notification" 'b["code"] == "Success"'
svc successNotification "$(success_json txn-good "$GOOD" 2027-06-11T16:11:20.0904778Z \
	',"caConfiguration":"","certificateAuthority":""')"
want 200 "success notification, 7 digits" 'b["code"] == "Success"'
svc successNotification "$(success_json txn-good "$GOOD" | sed 's/"certificateThumbprint":"[^"]*",//')"
want 400 "no thumbprint" '"certificateThumbprint" in b["errorDescription"]'
svc successNotification "$(success_json txn-good "$GOOD" | sed 's/"1A2B3C"/""/')"
want 400 "empty serial" '"certificateSerialNumber" in b["errorDescription"]'
svc successNotification "$(success_json txn-good "$GOOD" | sed 's/"CN=it CA"/""/')"
want 400 "empty issuer" '"issuingCertificateAuthority" in b["errorDescription"]'
for bad in "2027-06-11 16:11:20" 2027-06-11T16:11:20.090 \
	2027-06-11T16:11:20+01:00 2027-06-11T16:11:20.Z 11/06/2027; do
	svc successNotification "$(success_json txn-good "$GOOD" "$bad")"
	want 400 "expiry $bad" '"ISO 8601" in b["errorDescription"]'
done
svc successNotification "$(success_json txn-good "$GOOD" "" ',"caConfiguration":7')"
want 400 "caConfiguration not a string"
svc failureNotification "$(failure_json txn-good "$GOOD" -2147418113 "upstream CA refused")"
want 200 "failure notification" 'b["code"] == "Success"'
svc failureNotification "$(failure_json txn-good "$GOOD" 2147549183 "unsigned HRESULT")"
want 200 "failure notification, unsigned" 'b["code"] == "Success"'
svc failureNotification "$(failure_json txn-good "$GOOD" '"0x8000ffff"' "x")"
want 400 "hResult as a string" '"hResult" in b["errorDescription"]'
svc failureNotification "$(failure_json txn-good "$GOOD" 4294967296 "x")"
want 400 "hResult too big" '"hResult" in b["errorDescription"]'
svc failureNotification "$(failure_json txn-good "$GOOD" -1 "$(printf 'x%.0s' $(seq 256))")"
want 400 "errorDescription of 256" '"255" in b["errorDescription"]'
[[ $(state '[e["action"] + ":" + e["code"] for e in b["transactions"]["txn-good"]]') == \
	"['validateRequest:Success', 'successNotification:Success', 'successNotification:Success', 'failureNotification:Success', 'failureNotification:Success']" ]] ||
	sg_fail "txn-good history: $(state 'b["transactions"]["txn-good"]')"
[[ $(state 'b["transactions"]["txn-good"][0]["csr_sha256"]') == \
	"$(sha256sum good.der | cut -d' ' -f1)" ]] || sg_fail "CSR digest"
[[ $(state 'b["transactions"]["txn-good"][1]["certificateSerialNumber"]') == 1A2B3C ]] ||
	sg_fail "serial not kept"

# ---- 8.3 faults, each for one request of one action ----
VJ=$(validate_json txn-fault "$GOOD")
hook '{"faults": {"validateRequest": {"kind": "500"}}}'
svc validateRequest "$VJ"
want 500 "fault 500"
svc validateRequest "$VJ"
want 200 "after fault 500" 'b["code"] == "Success"'
hook '{"faults": {"validateRequest": {"kind": "429", "seconds": 7}}}'
svc validateRequest "$VJ"
want 429 "fault 429"
grep -qi '^Retry-After: 7' "$HDRS" || sg_fail "429 without Retry-After: 7"
hook '{"faults": {"validateRequest": {"kind": "503", "count": 2}}}'
svc validateRequest "$VJ"
want 503 "fault 503 (1)"
svc validateRequest "$VJ"
want 503 "fault 503 (2)"
svc validateRequest "$VJ"
want 200 "after fault 503" 'b["code"] == "Success"'
hook '{"faults": {"validateRequest": {"kind": "malformed"}}}'
svc validateRequest "$VJ"
[[ $ST == 200 ]] || sg_fail "malformed: status $ST"
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$BODY" 2>/dev/null &&
	sg_fail "malformed fault gave valid JSON: $(cat "$BODY")"
hook '{"faults": {"validateRequest": {"kind": "slow", "seconds": 3}}}'
http POST /su1/scepsvc/ScepActions/validateRequest --max-time 1 \
	-H "Authorization: Bearer $IT" -H 'api-version: 2018-02-20' \
	-H 'Content-Type: application/json' -d "$VJ"
[[ $ST == curl28 ]] || sg_fail "slow fault: $ST, want a curl timeout"
hook '{"faults": {"validateRequest": {"kind": "reset"}}}'
svc validateRequest "$VJ"
[[ $ST == curl56 || $ST == curl52 ]] || sg_fail "reset fault: $ST"
svc validateRequest "$VJ"
want 200 "after the faults" 'b["code"] == "Success"'
hook '{"faults": {"successNotification": {"kind": "500", "count": -1}}}'
svc validateRequest "$VJ"
want 200 "validate beside a success-notification fault"
svc successNotification "$(success_json txn-fault "$GOOD")"
want 500 "fault 500 on successNotification"
svc successNotification "$(success_json txn-fault "$GOOD")"
want 500 "fault 500 on successNotification, until cleared"
hook '{"faults": {"successNotification": null, "token": {"kind": "503"},
	"discovery": {"kind": "429"}}}'
token "$GRAPH_SCOPE"
want 503 "fault on the token endpoint"
discover "$GT"
want 429 "fault on discovery"
state 'b["config"]["faults"]' | grep -q '^{}$' || sg_fail "faults left over"

# ---- 8.2 scale-unit move ----
hook '{"move_after": 1}'
discover "$GT"
want 200 "discovery before the move" '"/su1/scepsvc" in str(b)'
[[ $(state 'b["scale_unit"]') == 2 ]] || sg_fail "no move after 1 discovery"
svc validateRequest "$VJ"
want 404 "old scale unit" '"rediscover" in b["errorDescription"]'
discover "$GT"
want 200 "discovery after the move" '"/su2/scepsvc" in str(b)'
SU=2
svc validateRequest "$VJ"
want 200 "validate at the new scale unit" 'b["code"] == "Success"'
hook '{"moved_status": 503}'
svc validateRequest "$VJ" "$IT" 2018-02-20 1
want 503 "moved_status"
hook '{"move_now": true}'
svc validateRequest "$VJ"
want 503 "move_now"
SU=3

# ---- 8.4 revocation queue ----
curl -fs -o "$BODY" -H 'Content-Type: application/json' -d '{"requests": [
	{"serialNumber": "01AB", "issuerName": "CN=it CA", "caConfiguration": "scepgate"},
	{"serialNumber": "02CD", "issuerName": "CN=other CA"}]}' \
	"$U/__test/revocations" || sg_fail "filling the revocation queue"
DL='{"downloadParameters": {"maxRequests": 500}}'
pki downloadRevocationRequests "$DL" 2018-02-20
want 400 "download with the SCEP api-version"
pki downloadRevocationRequests '{"downloadParameters": {"maxRequests": 0}}'
want 400 "maxRequests 0"
pki downloadRevocationRequests '{"downloadParameters": {"maxRequests": 1,
	"issuerName": "cn=other ca"}}'
want 200 "download by issuer" '[r["serialNumber"] for r in b["value"]] == ["02CD"]'
pki downloadRevocationRequests "$DL"
want 200 "download" '[r["serialNumber"] for r in b["value"]] == ["01AB", "02CD"]'
C1=$(val 'b["value"][0]["requestContext"]')
C2=$(val 'b["value"][1]["requestContext"]')
pki uploadRevocationResults '{"results": [{"requestContext": "nope",
	"succeeded": true, "errorCode": "0", "errorMessage": ""}]}'
want 400 "unknown requestContext"
pki uploadRevocationResults "{\"results\": [{\"requestContext\": \"$C1\",
	\"succeeded\": false, \"errorCode\": \"17\", \"errorMessage\": \"\"}]}"
want 400 "unknown errorCode"
pki uploadRevocationResults "{\"results\": [
	{\"requestContext\": \"$C1\", \"succeeded\": true, \"errorCode\": \"0\",
	\"errorMessage\": \"\"},
	{\"requestContext\": \"$C2\", \"succeeded\": false, \"errorCode\": 4004,
	\"errorMessage\": \"certificate not found\"}]}"
want 200 "upload" 'b == {"value": True}'
pki downloadRevocationRequests "$DL"
want 200 "download after upload" 'b["value"] == []'
[[ $(state '[(r["serialNumber"], r["downloads"], r["result"]["succeeded"])
	for r in b["revocations"]]') == "[('01AB', 1, True), ('02CD', 2, False)]" ]] ||
	sg_fail "revocation state: $(state 'b["revocations"]')"

# ---- the hooks refuse what they do not know ----
http POST /__test/config -H 'Content-Type: application/json' -d '{"no_such": 1}'
want 400 "unknown config key" '"no_such" in b["errorDescription"]'
http POST /__test/config -H 'Content-Type: application/json' \
	-d '{"faults": {"validateRequest": {"kind": "boom"}}}'
want 400 "unknown fault kind"

# ---- token expiry mid-run ----
curl -fs -o /dev/null -X POST "$U/__test/expire_tokens" || sg_fail "expire_tokens"
http POST "/su$SU/pkisvc/CertificateAuthorityRequests/downloadRevocationRequests" \
	-H "Authorization: Bearer $IT" -H 'api-version: 5019-05-05' \
	-H 'Content-Type: application/json' -d "$DL"
want 401 "expired Intune token" '"expired" in b["Message"]'
IT2=$IT
IT=$(new_token "$INTUNE_SCOPE2")
pki downloadRevocationRequests "$DL"
want 200 "a new Intune token"

# ---- 8.5 the request log holds no secret ----
http GET /__test/requests
want 200 "request log" 'len(b) > 50 and all("/__test/" not in e["path"] for e in b)'
for s in "$SECRET" "$CHALLENGE" "$GT" "$IT" "$IT1" "$IT2" "$IT3" "${GOOD:0:40}" \
	"${GOOD: -40}" "$(printf '%s' "$CHALLENGE" | base64)"; do
	grep -qF -- "$s" "$BODY" && sg_fail "a secret in /__test/requests"
	grep -qF -- "$s" "$LOG" double.out && sg_fail "a secret on stderr"
done
[[ $(val 'sorted({e["headers"].get("Authorization", "-") for e in b})') == \
	"['-', 'Bearer [graph, expired]', 'Bearer [graph]', 'Bearer [intune, expired]', 'Bearer [intune]']" ]] ||
	sg_fail "Authorization labels: $(val '{e["headers"].get("Authorization") for e in b}')"
[[ $(val '[e["body"]["client_secret"] for e in b if e["action"] == "token"][0]') == \
	"[redacted]" ]] || sg_fail "token request body not redacted"
[[ $(val '[e["scope_form"] for e in b if e.get("scope_form")][:3]') == \
	"['single-slash', 'double-slash', 'single-slash']" ]] ||
	sg_fail "scope forms in the log"
val '[e for e in b if e["action"] == "validateRequest"][0]["body"]["request"]
	["certificateRequest"]' | grep -q '^\[CSR, .* redacted\]$' ||
	sg_fail "CSR not redacted in the log"
http DELETE /__test/requests
http GET /__test/requests
want 200 "log cleared" 'b == []'
echo "intune-double: all checks passed"
