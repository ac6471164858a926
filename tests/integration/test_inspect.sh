#!/usr/bin/env bash
# scepctl inspect: on the RFC 8894 samples (no key), on the fuzz seeds
# whose keys are in tests/fuzz/fuzz_keys.inc (requests opened with the RA
# key, a SUCCESS CertRep with the client's), in DER, base64, PEM-like and
# query form; then on a PKCSReq and CertRep captured between strongSwan
# pki and scepgate by a recording proxy. The challengePassword is only
# ever shown as present or absent.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need pki timeout
root=$(cd "$(dirname "$0")/../.." && pwd)
data=$root/tests/data
corpus=$root/tests/fuzz/corpus
sg_setup
cd "$WORK"

# The fuzz keys: C string literals in fuzz_keys.inc, as PEM files.
for v in ra_cert ra_key client_cert client_key; do
	sed -n "/static const char fuzz_${v}_pem\[\] =/,/;/p" \
		"$root/tests/fuzz/fuzz_keys.inc" |
		sed -n 's/^ *"\(.*\)\\n"[;]*$/\1/p' >"fuzz_$v.pem"
	[[ -s fuzz_$v.pem ]] || sg_fail "no $v in fuzz_keys.inc"
done

# run NAME ARGS...: scepctl inspect ARGS > NAME.out, must exit 0
run() {
	local name=$1
	shift
	"$SCEPCTL" inspect "$@" >"$name.out" 2>&1 ||
		sg_fail "inspect $*: $(cat "$name.out")"
}
# has NAME LINE: NAME.out has LINE exactly
has() {
	grep -qxF -- "$2" "$1.out" || sg_fail "$1: no line '$2' in: $(cat "$1.out")"
}

echo "RFC 8894 sample PKCSReq, no key"
run req2 "$data/scep_req2.der"
has req2 "messageType: PKCSReq (19)"
has req2 "transactionID: 7XXEY-ERLPU-2JDR9"
has req2 "senderNonce: e8c57d516909026f3463f8e907fc9856"
has req2 "signature: verifies"
has req2 "  subject: /C=NZ/O=Dave's Wetaburgers/OU=Procurement/CN=Test SCEP PKI user"
has req2 "digest: SHA256"
grep -q '^envelope: .* cipher AES-128-CBC, 1 recipient(s)$' req2.out ||
	sg_fail "req2: cipher: $(cat req2.out)"
grep -q '^  recipient: .*CN=Dave Himself serial' req2.out ||
	sg_fail "req2: recipient"

echo "the same as base64, PEM-like and a captured query"
base64 -w 64 "$data/scep_req2.der" >req2.b64
{ echo "-----BEGIN PKCS7-----"; sed 's/^/  /' req2.b64; echo "-----END PKCS7-----"; } >req2.pem
printf 'GET /scep/x/pkiclient.exe?operation=PKIOperation&message=%s HTTP/1.1\n' \
	"$(tr -d '\n' <req2.b64 | sed 's/+/%2B/g; s|/|%2F|g; s/=/%3D/g')" >req2.query
for f in req2.b64 req2.pem req2.query; do
	run "$f" - <"$f"
	cmp -s req2.out "$f.out" || sg_fail "$f reads differently: $(diff req2.out "$f.out")"
done
"$SCEPCTL" inspect "$data/scep_req2.der" --key fuzz_ra_key.pem >wrong.out 2>&1 ||
	true
grep -q '^decrypted: no: ' wrong.out || sg_fail "a wrong key: $(cat wrong.out)"

echo "RFC 8894 sample CertRep (it lacks a senderNonce): still described"
"$SCEPCTL" inspect "$data/scep_resp2.der" >resp2.out 2>&1 && sg_fail "resp2: exit 0"
grep -q 'senderNonce' resp2.out || sg_fail "resp2: the missing nonce not named"
has resp2 "  subject: /C=NZ/O=Dave's Wetaburgers/OU=SCEP CA cert/CN=Dave's SCEP CA"

echo "hostile input"
for f in empty req2_truncated huge_length length_overflow; do
	"$SCEPCTL" inspect "$data/$f.der" >bad.out 2>&1 &&
		sg_fail "$f: exit 0: $(cat bad.out)"
	grep -qE 'not a pkiMessage|neither DER|input is empty' bad.out ||
		sg_fail "$f: $(cat bad.out)"
done
run badsig "$data/req2_bad_signature.der"
has badsig "signature: BAD"

echo "fuzz seeds with their keys"
run pkcsreq --key fuzz_ra_key.pem "$corpus/p7_msg/pkcsreq_aes128_sha256.der"
has pkcsreq "  subject: CN=fuzz client"
has pkcsreq "  key: rsaEncryption 2048 bits"
has pkcsreq "  challengePassword: present"
run des3 --key fuzz_ra_key.pem --cert fuzz_ra_cert.pem \
	"$corpus/p7_msg/pkcsreq_3des_sha1.der"
grep -q '^envelope: .*DES-EDE3-CBC, 1 recipient(s)$' des3.out ||
	sg_fail "3DES: $(cat des3.out)"
has des3 "digest: SHA1"
has des3 "  subject: CN=fuzz client"
run sealed "$corpus/certs/certrep_success_aes128_sha256.der"
has sealed "certificates: sealed (give the requester's key with --key)"
run success --key fuzz_client_key.pem "$corpus/certs/certrep_success_aes128_sha256.der"
has success "pkiStatus: SUCCESS"
has success "certificate 0:"
run failure "$corpus/certs/certrep_failure_badrequest.der"
has failure "pkiStatus: FAILURE"
grep -q '^failInfo: badRequest' failure.out || sg_fail "failInfo: $(cat failure.out)"

echo "captured from strongSwan pki through a recording proxy"
openssl x509 -in "$DIR/ca.pem" -outform DER -out ca.der
openssl x509 -in "$DIR/ra.pem" -outform DER -out ra.der
python3 - "$PORT" "$WORK" <<'PY' &
import http.server, sys, urllib.request
up, work = sys.argv[1], sys.argv[2]
class P(http.server.BaseHTTPRequestHandler):
    def fwd(self, body):
        req = urllib.request.Request("http://127.0.0.1:%s%s" % (up, self.path),
                                     data=body, method=self.command)
        if body is not None:
            req.add_header("Content-Type", "application/x-pki-message")
        try:
            r = urllib.request.urlopen(req, timeout=30)
            code, data, ct = r.status, r.read(), r.headers.get("Content-Type")
        except urllib.error.HTTPError as e:
            code, data, ct = e.code, e.read(), e.headers.get("Content-Type")
        if "operation=PKIOperation" in self.path:
            with open(work + "/req.capture", "wb") as f:
                f.write(body if body else ("GET " + self.path + "\n").encode())
            with open(work + "/rep.capture", "wb") as f:
                f.write(data)
        self.send_response(code)
        if ct:
            self.send_header("Content-Type", ct)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        self.fwd(None)
    def do_POST(self):
        self.fwd(self.rfile.read(int(self.headers["Content-Length"])))
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), P)
open(work + "/proxy.port", "w").write(str(s.server_address[1]))
s.serve_forever()
PY
proxy=$!
# sg_cleanup reads the exit status from $?: keep it past the kill.
trap 'st=$?; kill $proxy 2>/dev/null || true; (exit $st); sg_cleanup' EXIT
for _ in $(seq 50); do
	[[ -s proxy.port ]] && break
	sleep 0.1
done
purl=${URL/:$PORT\//:$(cat proxy.port)/}
pki --gen --type rsa --size 2048 --outform der >client.der 2>/dev/null
timeout 60 pki --scep --url "$purl" --in client.der --dn "CN=inspect-test,O=scepgate" \
	--password "$CODE" --cacert-enc ra.der --cacert-sig ra.der --cacert ca.der \
	--maxpolltime 10 --interval 1 >cert.der 2>pki.log ||
	sg_fail "pki --scep through the proxy: $(cat pki.log)"
[[ -s req.capture && -s rep.capture ]] || sg_fail "nothing captured"
run creq --key "$DIR/ra.key" - <req.capture
has creq "messageType: PKCSReq (19)"
has creq "  subject: O=scepgate,CN=inspect-test"
has creq "  challengePassword: present"
grep -qF -- "$CODE" creq.out && sg_fail "the access code is printed"
grep -qi 'challengePassword: [^pa]' creq.out && sg_fail "challenge shown: $(cat creq.out)"
tid=$(sed -n 's/^transactionID: //p' creq.out)
run crep --key client.der rep.capture
has crep "pkiStatus: SUCCESS"
has crep "transactionID: $tid"
grep -q '^  subject: .*CN=inspect-test' crep.out || sg_fail "issued: $(cat crep.out)"
echo "OK"
