#!/usr/bin/env bash
# Enrolls with certmonger (Debian 12: 0.79.17): its daemon runs on a
# private socket with every state file in the scratch directory (no D-Bus,
# nothing under /var/lib), getcert add-scep-ca fetches GetCACaps and
# GetCACert, getcert request enrolls through scep-submit (GET only, AES-256
# and SHA-256 here), then a wrong access code gets no certificate and
# CA_REJECTED, a manual-approval account CA_WORKING until
# "scepctl request approve", then its certificate, and "getcert rekey"
# renews by signature.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need certmonger getcert timeout jq
sg_setup

CM=$SG_TMP/certmonger
mkdir -p "$CM"/{requests,cas,local,tmp}
export HOME=$CM CERTMONGER_CONFIG_DIR=$CM \
	CERTMONGER_REQUESTS_DIR=$CM/requests CERTMONGER_CAS_DIR=$CM/cas \
	CERTMONGER_LOCAL_CA_DIR=$CM/local CERTMONGER_TMPDIR=$CM/tmp \
	CERTMONGER_SYSTEM_LOCK_FILE=$CM/lock
# getcert talks to this socket instead of the bus when the variable is set.
export CERTMONGER_PVT_ADDRESS=unix:path=$CM/sock

# Stops the daemon (shows its log on failure), then sg_cleanup.
cm_cleanup() {
	local rc=$?
	if [[ -n ${CM_PID:-} ]]; then
		kill "$CM_PID" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$CM_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$CM_PID" 2>/dev/null || true
		wait "$CM_PID" 2>/dev/null || true
	fi
	if ((rc != 0)) && [[ -f $CM/daemon.log ]]; then
		echo "--- tail of certmonger's log ---" >&2
		tail -n 40 "$CM/daemon.log" >&2
	fi
	(exit "$rc")
	sg_cleanup
}
trap cm_cleanup EXIT

# -s: session mode, -L -P: only the private socket, -d 2: log to stderr.
certmonger -s -L -P "$CM/sock" -d 2 >"$CM/daemon.log" 2>&1 &
CM_PID=$!
for _ in $(seq 100); do
	timeout 5 getcert list-cas >/dev/null 2>&1 && break
	kill -0 "$CM_PID" 2>/dev/null || sg_fail "certmonger exited at start"
	sleep 0.1
done
cd "$WORK"

echo "getcert add-scep-ca"
timeout 10 getcert add-scep-ca -c scepgate -u "$URL" >add.log 2>&1 ||
	sg_fail "add-scep-ca failed: $(cat add.log)"
# certmonger shows the SHA-1 of the CA certificate once GetCACert is done.
want=$(openssl x509 -in "$DIR/ca.pem" -noout -fingerprint -sha1 |
	sed 's/.*=//; s/://g')
for _ in $(seq 100); do
	got=$(timeout 5 getcert list-cas -c scepgate |
		sed -n 's/.*thumbprint (SHA1): *//p' | tr -d ' ')
	[[ -n $got ]] && break
	sleep 0.1
done
[[ $got == "$want" ]] ||
	sg_fail "CA thumbprint '$got' after GetCACert, ca.pem has $want"

# request NAME CODE: key.pem and cert.pem in $WORK/NAME, getcert's exit code.
request() {
	mkdir "$WORK/$1"
	timeout 60 getcert request -c scepgate -k "$WORK/$1/key.pem" \
		-f "$WORK/$1/cert.pem" -N "CN=$1,O=scepgate" -L "$2" -w \
		>"$WORK/$1/request.log" 2>&1
}
# status NAME: certmonger's entry for it.
status() { timeout 5 getcert list -f "$WORK/$1/cert.pem"; }
sc() { "$SCEPCTL" --config "$CFG" "$@"; }

echo "getcert request"
request cm-test "$CODE" ||
	sg_fail "getcert request failed: $(cat cm-test/request.log; status cm-test)"
status cm-test | grep -q 'status: MONITORING' ||
	sg_fail "not MONITORING: $(status cm-test)"
openssl verify -CAfile "$DIR/ca.pem" cm-test/cert.pem >/dev/null ||
	sg_fail "certificate does not verify against ca.pem"
cn=$(openssl x509 -in cm-test/cert.pem -noout -subject -nameopt multiline |
	sed -n 's/^ *commonName *= *//p')
[[ $cn == cm-test ]] || sg_fail "subject CN is '$cn'"
cmp -s <(openssl pkey -in cm-test/key.pem -pubout) \
	<(openssl x509 -in cm-test/cert.pem -noout -pubkey) ||
	sg_fail "certificate is not for certmonger's key"
grep -q 'GET /scep/demo op=PKIOperation status=200' "$DIR/server.log" ||
	sg_fail "no GET PKIOperation in server.log"

echo "wrong access code gives no certificate"
if request cm-bad "wrong-$CODE"; then
	sg_fail "getcert request succeeded with a wrong code: $(status cm-bad)"
fi
[[ ! -s cm-bad/cert.pem ]] || sg_fail "certificate issued for a wrong code"
grep -q 'PKCSReq failure: access code mismatch' "$DIR/server.log" ||
	sg_fail "no access code mismatch in server.log"
# The FAILURE CertRep carries an empty eContent, so certmonger's
# PKCS7_verify() succeeds and it reports a refusal, not an unreachable CA.
st=$(status cm-bad)
[[ $st == *'status: CA_REJECTED'* ]] || sg_fail "wrong code: not CA_REJECTED: $st"
timeout 5 getcert stop-tracking -f "$WORK/cm-bad/cert.pem" >/dev/null ||
	sg_fail "getcert stop-tracking failed"

echo "manual approval: CA_WORKING, then the certificate after approve"
out=$(sc account add --endpoint demo --name cm-manual --org Demo --term 30 \
	--access-code CmManual12345678 --approval manual) ||
	sg_fail "account add: $out"
mkdir "$WORK/cm-wait"
timeout 10 getcert request -c scepgate -k "$WORK/cm-wait/key.pem" \
	-f "$WORK/cm-wait/cert.pem" -N "CN=cm-wait,O=scepgate" \
	-L CmManual12345678 >cm-wait/request.log 2>&1 ||
	sg_fail "getcert request failed: $(cat cm-wait/request.log)"
# PENDING verifies too: certmonger keeps the request and polls.
for _ in $(seq 300); do
	[[ $(status cm-wait) == *'status: CA_WORKING'* ]] &&
		grep -q 'PKCSReq pending' "$DIR/server.log" && break
	sleep 0.1
done
st=$(status cm-wait)
[[ $st == *'status: CA_WORKING'* ]] || sg_fail "pending: not CA_WORKING: $st"
[[ ! -s cm-wait/cert.pem ]] || sg_fail "certificate before approval"
id=$(sc request list --status pending --json |
	jq -r '.[] | select(.subject | contains("CN=cm-wait")) | .id')
[[ -n $id ]] || sg_fail "no pending request: $(sc request list --json)"
sc request approve "$id" >/dev/null || sg_fail "request approve $id failed"
# certmonger would poll again only after its CA_WORKING delay: ask now.
timeout 10 getcert refresh -f "$WORK/cm-wait/cert.pem" >/dev/null ||
	sg_fail "getcert refresh failed"
for _ in $(seq 300); do
	[[ $(status cm-wait) == *'status: MONITORING'* ]] && break
	sleep 0.1
done
st=$(status cm-wait)
[[ $st == *'status: MONITORING'* ]] || sg_fail "approved: not MONITORING: $st"
openssl verify -CAfile "$DIR/ca.pem" cm-wait/cert.pem >/dev/null ||
	sg_fail "approved certificate does not verify against ca.pem"
# certmonger 0.79 polls by sending its PKCSReq again (same transactionID).
grep -qE '(PKCSReq|CertPoll) success: serial [0-9A-F]+ delivered' \
	"$DIR/server.log" || sg_fail "the approved certificate was not polled for"

# RFC 8894 2.3: certmonger's rekey sends a PKCSReq for a new key signed
# with the old certificate and key: a renewal, with no access code (the
# code it still holds was rotated away), and the old one superseded.
echo "rekey: a PKCSReq signed by the old certificate renews without a code"
out=$(sc account add --endpoint demo --name cm-renew --org Demo --term 30 \
	--access-code CmRenew123456789) || sg_fail "account add: $out"
request cm-renew CmRenew123456789 ||
	sg_fail "getcert request failed: $(cat cm-renew/request.log)"
old=$(openssl x509 -in cm-renew/cert.pem -noout -serial | sed 's/^serial=//')
oldpub=$(openssl x509 -in cm-renew/cert.pem -noout -pubkey)
sc account rotate-code --endpoint demo --name cm-renew >/dev/null ||
	sg_fail "account rotate-code failed"
timeout 60 getcert rekey -f "$WORK/cm-renew/cert.pem" -w \
	>cm-renew/rekey.log 2>&1 ||
	sg_fail "getcert rekey failed: $(cat cm-renew/rekey.log; status cm-renew)"
for _ in $(seq 300); do
	new=$(openssl x509 -in cm-renew/cert.pem -noout -serial |
		sed 's/^serial=//')
	[[ $new != "$old" && $(status cm-renew) == *'status: MONITORING'* ]] &&
		break
	sleep 0.1
done
[[ $new != "$old" ]] || sg_fail "rekey: still serial $old: $(status cm-renew)"
grep -q "PKCSReq signed with serial $old: a renewal" "$DIR/server.log" ||
	sg_fail "rekey was not taken as a renewal of $old"
[[ $(sc cert show "$old" | sed -n 's/^status *//p') == superseded ]] ||
	sg_fail "renewed $old is not superseded: $(sc cert show "$old")"
[[ $(openssl x509 -in cm-renew/cert.pem -noout -pubkey) != "$oldpub" ]] ||
	sg_fail "rekey: the new certificate has the old key"

echo "PASS"
