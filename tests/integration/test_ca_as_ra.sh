#!/usr/bin/env bash
# The local CA acting as its own RA (issue #3): the configuration's RA
# entry names the CA certificate and key, GetCACert returns the CA alone,
# and micromdm scepclient and strongSwan pki both enroll, encrypting to
# the CA and verifying its signature on the CertRep.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need scepclient pki

sg_setup
kill "$SG_PID"
wait "$SG_PID" || true
sed -i 's|cert = "ra.pem"; key = "ra.key";|cert = "ca.pem"; key = "ca.key";|' "$CFG"
grep -q 'cert = "ca.pem"; key = "ca.key"' "$CFG" || sg_fail "config not rewritten"
"$SCEPGATE" --config "$CFG" >>"$DIR/server.log" 2>&1 &
SG_PID=$!
for _ in $(seq 100); do
	curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/healthz" && break
	sleep 0.1
done
cd "$WORK"

echo "GetCACert: the CA alone"
curl -fs "$URL?operation=GetCACert" -o cacert.p7 || sg_fail "GetCACert"
n=$(openssl pkcs7 -inform DER -in cacert.p7 -print_certs | grep -c '^subject=')
[[ $n == 1 ]] || sg_fail "GetCACert has $n certificates, expected the CA alone"

echo "micromdm scepclient"
mkdir m
if ! (cd m && timeout 60 scepclient -server-url "$URL" -challenge "$CODE" \
	-private-key k.pem -certificate c.pem -cn ca-as-ra-m >log 2>&1); then
	sg_fail "scepclient: $(cat m/log)"
fi
openssl verify -CAfile "$DIR/ca.pem" m/c.pem >/dev/null || sg_fail "scepclient certificate"

echo "strongSwan pki"
openssl x509 -in "$DIR/ca.pem" -outform DER -out ca.der
pki --gen --type rsa --size 2048 --outform der >key.der 2>/dev/null
timeout 60 pki --scep --url "$URL" --in key.der --dn "CN=ca-as-ra-s" \
	--password "$CODE" --cacert-enc ca.der --cacert-sig ca.der \
	--cacert ca.der >cert.der 2>pki.log || sg_fail "pki: $(cat pki.log)"
openssl verify -CAfile "$DIR/ca.pem" <(openssl x509 -inform DER -in cert.der) \
	>/dev/null || sg_fail "pki certificate"
echo "ok"
