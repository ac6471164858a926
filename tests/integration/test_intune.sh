#!/usr/bin/env bash
# A device-intune endpoint against tests/doubles/intune (issue 12,
# reference/intune-scep.md 5, 7, 10): strongSwan pki --scep enrolls with
# the challenge the double accepts, and the double saw validateRequest
# then successNotification with the transactionID, the CSR and the
# certificate's fields; a token is fetched once per scope and reused,
# discovery once and again after a scale-unit move. A rejected
# challenge, a 500 on validate and a 500 on the success notification
# give FAILURE and no certificate (the last one revoked unless
# wait_for_success_notification = false). Intune's revocation job
# revokes a queued serial and uploads 0, 4005 and 4004. With the SCM
# double upstream: two pending collects are waited for within
# azure.issue_wait (no PENDING reaches the device), a declined order
# and an order that outlives issue_wait end in FAILURE with a
# failureNotification and scepgate's HRESULT. No secret in any log,
# reply or the database.
#
# INTUNE_DOUBLE, SCM_DOUBLE: the doubles (default: in the build tree).
# INTUNE_SCHEME=https talks to the double over HTTPS (its --tls-port,
# tls_ca_file). One enrollment (micromdm scepclient) comes over scepgate's
# HTTPS listener, the others over plain HTTP. INTUNE_EXAMPLE=FILE
# saves the double's (redacted) view of the first enrollment there.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need pki scepclient timeout sqlite3
: "${SCEPGATE:?SCEPGATE is not set (run through ctest)}"
BUILD=$(dirname "$SCEPGATE")/..
INTUNE_DOUBLE=${INTUNE_DOUBLE:-$BUILD/tests/doubles/intune/intune-double}
SCM_DOUBLE=${SCM_DOUBLE:-$BUILD/tests/doubles/scm/scm-double}
SCHEME=${INTUNE_SCHEME:-http}
[[ -x $INTUNE_DOUBLE ]] || sg_fail "no intune-double at $INTUNE_DOUBLE"
[[ -x $SCM_DOUBLE ]] || sg_fail "no scm-double at $SCM_DOUBLE"
sg_setup
cd "$WORK"

# wait_up URL PID NAME
wait_up() {
	for _ in $(seq 100); do
		curl -fsk -o /dev/null --max-time 1 "$1" && return 0
		kill -0 "$2" 2>/dev/null || sg_fail "$3 exited at start"
		sleep 0.1
	done
	sg_fail "$3 not up after 10 s"
}

# ---- the doubles ----
IN_DIR=$SG_TMP/intune
IN_PORT=$(sg_free_port)
IN_TLS_PORT=$(sg_free_port)
CHALLENGE=intune-good-challenge
tls=()
[[ $SCHEME == https ]] && tls=(--tls-port "$IN_TLS_PORT")
"$INTUNE_DOUBLE" --port "$IN_PORT" --dir "$IN_DIR" "${tls[@]}" \
	>"$SG_TMP/intune.out" 2>"$SG_TMP/intune.log" &
IN_PID=$!
SCM_DIR=$SG_TMP/scm
SCM_PORT=$(sg_free_port)
SCM=http://127.0.0.1:$SCM_PORT
"$SCM_DOUBLE" --port "$SCM_PORT" --ca-dir "$SCM_DIR" --pending 2 \
	>"$SG_TMP/scm.out" 2>"$SG_TMP/scm.log" &
SCM_PID=$!
doubles_cleanup() {
	local rc=$?
	kill "$IN_PID" "$SCM_PID" 2>/dev/null || true
	wait "$IN_PID" "$SCM_PID" 2>/dev/null || true
	sg_check_log "$rc" "$SG_TMP/intune.log" "intune-double's log" 30 || rc=$?
	sg_check_log "$rc" "$SG_TMP/scm.log" "scm-double's log" 10 || rc=$?
	(exit "$rc")
	sg_cleanup
}
trap doubles_cleanup EXIT
IN=http://127.0.0.1:$IN_PORT	# the test hooks
wait_up "$IN/__test/state" "$IN_PID" intune-double
wait_up "$SCM/__test/config" "$SCM_PID" scm-double
AZ=$IN
[[ $SCHEME == https ]] && AZ=https://127.0.0.1:$IN_TLS_PORT
SECRET=$(head -n1 "$IN_DIR/client_secret.txt")
install -m 600 "$IN_DIR/client_secret.txt" "$DIR/azure-contoso.secret"

# hook JSON: POST /__test/config of the Intune double.
hook() {
	curl -fs -o /dev/null -H 'Content-Type: application/json' -d "$1" \
		"$IN/__test/config" || sg_fail "intune hook $1"
}
# state EXPR: a Python expression over the double's /__test/state ("s").
state() {
	curl -fs "$IN/__test/state" | python3 -c "import json, sys
s = json.load(sys.stdin)
print($1)"
}
ctl() { "$SCEPCTL" --config "$CFG" "$@"; }

# azure [KEY = VALUE; ...]: (re)write the azure block.
azure() {
	sed -i '/^azure = /d' "$CFG"
	local ca=
	[[ $SCHEME == https ]] && ca="tls_ca_file = \"$IN_DIR/tls.pem\";"
	echo "azure = ( { name = \"contoso\"; tenant = \"contoso.onmicrosoft.com\"; client_id = \"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"; client_secret_file = \"azure-contoso.secret\"; authority_url = \"$AZ/\"; graph_url = \"$AZ/\"; intune_url = \"$AZ/\"; $ca timeout = 10; revocation = true; revocation_interval = 1; issue_wait = 6; $* } );" >>"$CFG"
	ctl check-config >/dev/null ||
		sg_fail "check-config refuses the azure block: $(grep ^azure "$CFG")"
}
# restart_gate: on a new port (the old one may still be in TIME_WAIT).
restart_gate() {
	kill "$SG_PID" 2>/dev/null || true
	wait "$SG_PID" 2>/dev/null || true
	local old=$PORT
	PORT=$(sg_free_port)
	sed -i "s|port = $old;|port = $PORT;|" "$CFG"
	URL=${URL/:$old\//:$PORT/}
	PHONES=${URL%/demo}/phones
	SCMPHONES=${URL%/demo}/scmphones
	"$SCEPGATE" --config "$CFG" >>"$DIR/server.log" 2>&1 &
	SG_PID=$!
	wait_up "http://127.0.0.1:$PORT/healthz" "$SG_PID" scepgate
}

# Every refusal below gets its own audit record: windows of one second
# (limits.refusal_seconds; docs/lockout.md), and a pause before each.
sed -i 's/^limits = { /limits = { refusal_seconds = 1; /' "$CFG"
azure
restart_gate
ctl org add Acme >/dev/null
ctl endpoint add phones --type device-intune --uri phones --org Acme \
	--term 30 --azure contoso >/dev/null
openssl x509 -in "$DIR/ra.pem" -outform DER -out ra.der
openssl x509 -in "$DIR/ca.pem" -outform DER -out ca.der

# enroll NAME PASSWORD URL CA.DER: key and cert.der in $WORK/NAME
enroll() {
	local d=$WORK/$1
	mkdir -p "$d"
	pki --gen --type rsa --size 2048 --outform der >"$d/key.der" 2>/dev/null
	timeout 60 pki --scep --url "$3" --in "$d/key.der" \
		--dn "CN=$1,O=scepgate" --password "$2" \
		--cacert-enc ra.der --cacert-sig ra.der --cacert "$4" \
		--maxpolltime 5 --interval 1 >"$d/cert.der" 2>"$d/pki.log"
}
# issued NAME CA.PEM, refused NAME: lib.sh's sg_pki_issued, sg_pki_refused.
issued() { sg_pki_issued "$@"; }
refused() { sg_pki_refused "$1"; }
# request NAME FIELD: the field of scepgate's last request for CN=NAME.
request() {
	ctl request list --json | python3 -c "import json, re, sys
r = [x for x in json.load(sys.stdin)
     if re.search(r'CN=$1(,|\$)', x['subject'])]
print(r[-1]['$2'] if r else '')"
}
# refusal FIELD: that field of the audit record of the last request
# refused on "phones" (a request refused before admission has no request
# row, issue 10 s.5, but it has its audit record).
refusal() {
	ctl audit list --endpoint phones --json | python3 -c "import json, sys
r = [x for x in json.load(sys.stdin)
     if x['outcome'] != 'success' and x['transid']]
print(r[-1]['$1'] if r else '')"
}
# actions TRANSID: the actions and codes the double saw for it.
actions() {
	state "' '.join(e['action'] + '=' + e['code']
    for e in sorted(s['transactions'].get('$1', []), key=lambda e: e['seq']))"
}

echo "enrollment: validateRequest, then successNotification"
enroll dev1 "$CHALLENGE" "$PHONES" ca.der ||
	sg_fail "dev1: pki --scep failed: $(cat "$WORK/dev1/pki.log")"
issued dev1 "$DIR/ca.pem"
tid=$(request dev1 transid)
[[ -n $tid ]] || sg_fail "dev1: no request in scepctl request list"
got=$(actions "$tid")
[[ $got == "validateRequest=Success successNotification=Success" ]] ||
	sg_fail "dev1: the double saw '$got' for $tid: $(state 's["transactions"]')"
# The notification's certificate fields are those of the certificate
# pki received; both calls carried the same CSR.
c=$WORK/dev1/cert.pem
serial=$(openssl x509 -in "$c" -noout -serial | sed 's/^serial=//')
thumb=$(openssl x509 -in "$c" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
end=$(date -u -d "$(openssl x509 -in "$c" -noout -enddate | sed 's/^notAfter=//')" +%Y-%m-%dT%H:%M:%S)
python3 - "$tid" "$serial" "$thumb" "$end" <<EOF || sg_fail "dev1: notification fields: $(state 's["transactions"]')"
import json, sys, urllib.request
tid, serial, thumb, end = sys.argv[1:]
s = json.load(urllib.request.urlopen("$IN/__test/state"))
v, n = sorted(s["transactions"][tid], key=lambda e: e["seq"])
assert v["csr_sha256"] == n["csr_sha256"], "CSR differs"
assert v["subject"].endswith("CN=dev1") or "CN=dev1" in v["subject"], v
assert v["challenge"] == "good", v
assert int(n["certificateSerialNumber"], 16) == int(serial, 16), n
assert n["certificateThumbprint"] == thumb.upper(), n
assert n["certificateExpirationDateUtc"].startswith(end), (n, end)
assert n["certificateExpirationDateUtc"].endswith("Z"), n
assert "CN=" in n["issuingCertificateAuthority"], n
assert n["callerInfo"].startswith("scepgate/"), n
EOF
# INTUNE_EXAMPLE=FILE: what the double saw for this one enrollment.
if [[ -n ${INTUNE_EXAMPLE:-} ]]; then
	curl -fs "$IN/__test/requests" | python3 -c "import json, sys
for e in json.load(sys.stdin):
    if e['action'] in ('other',) or e['action'].endswith('Revocations') \
            or e['action'].endswith('Requests') or e['action'].endswith('Results'):
        continue
    print(e['method'], e['path'], e['status'], e['action'])
    print('  request headers:', json.dumps(e['headers']))
    print('  request body:', json.dumps(e['body']))
    print('  response:', json.dumps(e['response']))" >"$INTUNE_EXAMPLE"
fi
# The endpoint's term (30 days), not the local CA's default.
days=$(python3 -c "import datetime, subprocess
e = subprocess.check_output(['openssl', 'x509', '-in', '$c', '-noout', '-enddate']).decode().split('=', 1)[1].strip()
t = datetime.datetime.strptime(e, '%b %d %H:%M:%S %Y %Z')
print(round((t - datetime.datetime.utcnow()).total_seconds() / 86400))")
[[ $days == 30 ]] || sg_fail "dev1: valid for $days days, not the endpoint's 30"

echo "a token per scope, fetched once and reused; discovery once"
enroll dev2 "$CHALLENGE" "$PHONES" ca.der ||
	sg_fail "dev2: pki --scep failed: $(cat "$WORK/dev2/pki.log")"
issued dev2 "$DIR/ca.pem"
[[ $(state "s['tokens_issued']['graph'], s['tokens_issued']['intune'], s['discovery_calls']") == "1 1 1" ]] ||
	sg_fail "tokens or discovery not reused: $(state '[s["tokens_issued"], s["discovery_calls"]]')"

echo "over HTTPS: micromdm scepclient through the same Intune endpoint"
TLS_PORT=$(sg_free_port)
sed -i "s/tls_port = 0;/tls_port = $TLS_PORT;/" "$CFG"
grep -q "tls_port = $TLS_PORT;" "$CFG" || sg_fail "no tls_port in $CFG"
restart_gate
d=$WORK/https1
mkdir -p "$d"
SSL_CERT_FILE=$DIR/tls.pem timeout 60 scepclient \
	-server-url "https://127.0.0.1:$TLS_PORT/scep/phones" \
	-challenge "$CHALLENGE" -private-key "$d/key.pem" \
	-certificate "$d/cert.pem" -cn https1 >"$d/client.log" 2>&1 ||
	sg_fail "https1: scepclient over HTTPS: $(cat "$d/client.log")"
openssl verify -CAfile "$DIR/ca.pem" "$d/cert.pem" >/dev/null ||
	sg_fail "https1: the certificate does not verify against ca.pem"
got=$(actions "$(request https1 transid)")
[[ $got == "validateRequest=Success successNotification=Success" ]] ||
	sg_fail "https1: the double saw '$got'"

echo "SIGHUP re-reads the client secret (a rotated secret needs no restart)"
sec="$DIR/azure-contoso.secret"
cp "$sec" "$SG_TMP/secret.good"
printf 'not-the-secret\n' >"$sec"
kill -HUP "$SG_PID"
sleep 0.5
curl -fs -X POST -o /dev/null "$IN/__test/expire_tokens" ||
	sg_fail "cannot expire the double's tokens"
if enroll hup1 "$CHALLENGE" "$PHONES" ca.der; then
	sg_fail "hup1: enrolled although SIGHUP loaded a wrong secret"
fi
refused hup1
kill -0 "$SG_PID" || sg_fail "scepgate died on SIGHUP"
cp "$SG_TMP/secret.good" "$sec"
kill -HUP "$SG_PID"
sleep 0.5
enroll hup2 "$CHALLENGE" "$PHONES" ca.der ||
	sg_fail "hup2: the restored secret was not re-read: $(cat "$WORK/hup2/pki.log")"
issued hup2 "$DIR/ca.pem"

echo "a rejected challenge: FAILURE, no certificate, no notification"
if enroll bad1 wrong-challenge "$PHONES" ca.der; then
	sg_fail "bad1: pki --scep succeeded with a wrong challenge"
fi
refused bad1
tid=$(refusal transid)
got=$(actions "$tid")
[[ $got == "validateRequest=ChallengeDeserializationError" ]] ||
	sg_fail "bad1: the double saw '$got'"
[[ $(refusal details) == *"Intune: ChallengeDeserializationError"* ]] ||
	sg_fail "bad1: reason '$(refusal details)'"
ctl audit list --json | grep -q "Intune: ChallengeDeserializationError" ||
	sg_fail "bad1: the Intune code is not in the audit log"

echo "500 on validateRequest: FAILURE, no certificate"
sleep 1.2
hook '{"faults": {"validateRequest": {"kind": "500", "count": -1}}}'
if enroll bad2 "$CHALLENGE" "$PHONES" ca.der; then
	sg_fail "bad2: pki --scep succeeded while validate answered 500"
fi
hook '{"faults": {"validateRequest": null}}'
refused bad2
[[ $(refusal details) == *"Intune validateRequest failed: "* ]] ||
	sg_fail "bad2: reason '$(refusal details)'"
[[ $(actions "$(refusal transid)") != *Notification* ]] ||
	sg_fail "bad2: a notification was sent"

echo "500 on successNotification: the certificate is withheld and revoked"
hook '{"faults": {"successNotification": {"kind": "500", "count": -1}}}'
if enroll bad3 "$CHALLENGE" "$PHONES" ca.der; then
	sg_fail "bad3: pki --scep succeeded while the notification failed"
fi
refused bad3
[[ $(request bad3 reason) == "Intune successNotification failed, certificate "*" withheld"* ]] ||
	sg_fail "bad3: reason '$(request bad3 reason)'"
s3=$(request bad3 serial)
[[ -n $s3 && $(ctl cert show "$s3" --json | python3 -c 'import json, sys
print(json.load(sys.stdin)["status"])') == revoked ]] ||
	sg_fail "bad3: the withheld certificate '$s3' is not revoked"

echo "wait_for_success_notification = false: delivered anyway"
azure "wait_for_success_notification = false;"
restart_gate
enroll dev3 "$CHALLENGE" "$PHONES" ca.der ||
	sg_fail "dev3: pki --scep failed: $(cat "$WORK/dev3/pki.log")"
issued dev3 "$DIR/ca.pem"
grep -q "successNotification failed, certificate delivered anyway" \
	"$DIR/server.log" || sg_fail "dev3: no warning in server.log"
hook '{"faults": {"successNotification": null}}'
azure
restart_gate

echo "scale-unit move: discovery again"
d0=$(state "s['discovery_calls']")
hook '{"move_now": true}'
enroll dev4 "$CHALLENGE" "$PHONES" ca.der ||
	sg_fail "dev4: pki --scep failed after a move: $(cat "$WORK/dev4/pki.log")"
issued dev4 "$DIR/ca.pem"
# The revocation job (every second) may be the one that rediscovers.
d1=$(state "s['discovery_calls']")
((d1 > d0)) || sg_fail "dev4: discovery calls $d0 -> $d1 after a move"
[[ $(actions "$(request dev4 transid)") == "validateRequest=Success successNotification=Success" ]] ||
	sg_fail "dev4: the double saw '$(actions "$(request dev4 transid)")'"

echo "revocations requested by Intune: 0, 4005, 4004"
s1=$(openssl x509 -in "$WORK/dev1/cert.pem" -noout -serial | sed 's/^serial=//')
curl -fs -o /dev/null -H 'Content-Type: application/json' -d "{\"requests\": [
	{\"serialNumber\": \"$s1\", \"requestContext\": \"r-ok\"},
	{\"serialNumber\": \"$s3\", \"requestContext\": \"r-again\"},
	{\"serialNumber\": \"0BADC0FFEE\", \"requestContext\": \"r-none\"}]}" \
	"$IN/__test/revocations" || sg_fail "cannot queue revocations"
for _ in $(seq 100); do
	n=$(curl -fs "$IN/__test/revocations" | python3 -c 'import json, sys
print(sum(1 for r in json.load(sys.stdin) if r.get("result")))' 2>/dev/null || echo 0)
	((n == 3)) && break
	sleep 0.1
done
got=$(curl -fs "$IN/__test/revocations" | python3 -c 'import json, sys
q = json.load(sys.stdin)
print(" ".join("%s=%s:%s" % (r["requestContext"], r["result"]["succeeded"],
    r["result"]["errorCode"]) for r in q if r.get("result")))')
[[ $got == "r-ok=True:0 r-again=False:4005 r-none=False:4004" ]] ||
	sg_fail "revocation results: '$got': $(curl -fs "$IN/__test/revocations")"
[[ $(ctl cert show "$s1" --json | python3 -c 'import json, sys
print(json.load(sys.stdin)["status"])') == revoked ]] ||
	sg_fail "dev1's certificate $s1 is not revoked"
[[ $(ctl audit list --json | grep -c '"intune revocation"') -ge 3 ]] ||
	sg_fail "the revocations are not audited"

echo "SCM upstream: pending within issue_wait, declined, too slow"
install -m 600 "$SCM_DIR/password.txt" "$DIR/scm.password"
cp "$SCM_DIR/ca.pem" "$DIR/scm-chain.pem"
sed -i "s|^upstream = .*|upstream = { type = \"scm\"; url = \"$SCM/api\"; auth = \"password\"; login = \"scep-gateway\"; password_file = \"scm.password\"; customer_uri = \"examplecorp\"; timeout = 20; poll_interval = 1; ca_chain = \"scm-chain.pem\"; };|" "$CFG"
ctl check-config >/dev/null || sg_fail "check-config refuses the scm upstream"
restart_gate
ctl org add "Example Corp" >/dev/null
ctl dept add "Example Corp" "Factory Floor" >/dev/null
ctl endpoint add scmphones --type device-intune --uri scmphones \
	--org "Example Corp" --dept "Factory Floor" --profile "IoT Device 1y" \
	--term 365 --azure contoso >/dev/null
openssl x509 -in "$SCM_DIR/issuing-ca.pem" -outform DER -out scmca.der
enroll scm1 "$CHALLENGE" "$SCMPHONES" scmca.der ||
	sg_fail "scm1: pki --scep failed: $(cat "$WORK/scm1/pki.log")"
issued scm1 "$SCM_DIR/ca.pem"
! grep -qi "pending" "$WORK/scm1/pki.log" ||
	sg_fail "scm1: the device saw PENDING: $(cat "$WORK/scm1/pki.log")"
[[ $(actions "$(request scm1 transid)") == "validateRequest=Success successNotification=Success" ]] ||
	sg_fail "scm1: the double saw '$(actions "$(request scm1 transid)")'"

# failure TRANSID HRESULT: the failureNotification the double saw.
failure() {
	state "[(e['hResult'] & 0xffffffff, e['errorDescription'])
    for e in s['transactions'].get('$1', []) if e['action'] == 'failureNotification']"
}
curl -fs -o /dev/null -H 'Content-Type: application/json' \
	-d '{"decline_next": true}' "$SCM/__test/config" || sg_fail "scm hook"
if enroll scm2 "$CHALLENGE" "$SCMPHONES" scmca.der; then
	sg_fail "scm2: pki --scep succeeded for a declined order"
fi
refused scm2
tid=$(request scm2 transid)
[[ $(actions "$tid") == "validateRequest=Success failureNotification=Success" ]] ||
	sg_fail "scm2: the double saw '$(actions "$tid")'"
[[ $(failure "$tid") == "[(2147500037, 'upstream: "* ]] ||
	sg_fail "scm2: failureNotification $(failure "$tid")"

curl -fs -o /dev/null -H 'Content-Type: application/json' \
	-d '{"manual": true}' "$SCM/__test/config" || sg_fail "scm hook"
t0=$(date +%s)
if enroll scm3 "$CHALLENGE" "$SCMPHONES" scmca.der; then
	sg_fail "scm3: pki --scep succeeded for an order never issued"
fi
t1=$(date +%s)
refused scm3
((t1 - t0 >= 5)) || sg_fail "scm3: answered after $((t1 - t0)) s, before issue_wait (6 s)"
tid=$(request scm3 transid)
[[ $(request scm3 status) == rejected ]] ||
	sg_fail "scm3: request is $(request scm3 status): $(request scm3 reason)"
[[ $(failure "$tid") == "[(2147943860, 'the upstream did not issue order "* ]] ||
	sg_fail "scm3: failureNotification $(failure "$tid")"

echo "no secret in any log, reply or the database"
for f in "$DIR/server.log" "$DIR"/scepgate.db* "$WORK"/*/pki.log \
	"$WORK"/*/cert.der "$SG_TMP/intune.log" "$SG_TMP/intune.out"; do
	[[ -f $f ]] || continue
	! grep -qaF "$SECRET" "$f" || sg_fail "the client secret is in $f"
	! grep -qaF "$CHALLENGE" "$f" || sg_fail "the challenge is in $f"
done
! curl -fs "$IN/__test/requests" | grep -qF "$SECRET" ||
	sg_fail "the client secret reached the double's request log"
ctl audit list --json >audit.json
! grep -qaF "$SECRET" audit.json || sg_fail "the client secret is in the audit"
! grep -qaF "$CHALLENGE" audit.json || sg_fail "the challenge is in the audit"

echo "PASS"
