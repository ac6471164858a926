#!/usr/bin/env bash
# Enrolls with certmonger (Debian 12: 0.79.17): its daemon runs on a
# private socket with every state file in the scratch directory (no D-Bus,
# nothing under /var/lib), getcert add-scep-ca fetches GetCACaps and
# GetCACert, getcert request enrolls through scep-submit (GET only, AES-256
# and SHA-256 here), then a wrong access code gets no certificate.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need certmonger getcert timeout
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
# scepgate's FAILURE CertRep has no eContent (RFC 8894 3.3.2.2); certmonger
# 0.79 calls PKCS7_verify() without content on it, fails "no content" and
# reports CA_UNREACHABLE instead of CA_REJECTED (a client defect).
st=$(status cm-bad)
case $st in
*'status: CA_REJECTED'*) ;;
*'status: CA_UNREACHABLE'*'failed to verify signature on server response'*'no content'*) ;;
*) sg_fail "wrong code: neither rejected nor the known 'no content' error: $st" ;;
esac
timeout 5 getcert stop-tracking -f "$WORK/cm-bad/cert.pem" >/dev/null ||
	sg_fail "getcert stop-tracking failed"

echo "PASS"
