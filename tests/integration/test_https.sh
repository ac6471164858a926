#!/usr/bin/env bash
# The HTTPS listener (issue 12): GetCACaps with curl --cacert on the
# self-signed tls.pem of scepctl init, an enrollment by micromdm
# scepclient over HTTPS (Go trusts SSL_CERT_FILE), a SIGHUP with a new
# certificate (a connection opened before it still gets its answers with
# the old certificate, a new connection sees the new one), a SIGHUP with
# a refused key (the listener goes on), and a tls_key of mode 0644
# refused at start.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need scepclient timeout
sg_setup

TLS_PORT=$(sg_free_port)
sg_stop
sed -i "s/tls_port = 0;/tls_port = $TLS_PORT;/" "$CFG"
grep -q "tls_port = $TLS_PORT;" "$CFG" || sg_fail "no tls_port in $CFG"
sg_start
HTTPS=https://127.0.0.1:$TLS_PORT
SURL=$HTTPS/scep/demo
for _ in $(seq 50); do
	curl -fs -o /dev/null --cacert "$DIR/tls.pem" "$HTTPS/healthz" && break
	sleep 0.1
done

# fp FILE: the SHA-256 fingerprint of the PEM certificate FILE.
fp() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//'
}

# served_fp: the fingerprint of the certificate a new connection gets.
served_fp() {
	openssl s_client -connect "127.0.0.1:$TLS_PORT" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//'
}

echo "GetCACaps over HTTPS, checked against tls.pem"
caps=$(curl -fsS --cacert "$DIR/tls.pem" \
	"$SURL/pkiclient.exe?operation=GetCACaps") || sg_fail "curl https failed"
grep -q POSTPKIOperation <<<"$caps" || sg_fail "GetCACaps over HTTPS: $caps"
echo "the plain listener still answers"
curl -fsS -o /dev/null "$URL/pkiclient.exe?operation=GetCACaps" ||
	sg_fail "plain HTTP stopped answering"
echo "an untrusted client refuses the self-signed certificate"
if curl -fs -o /dev/null "$SURL/pkiclient.exe?operation=GetCACaps"; then
	sg_fail "curl accepted tls.pem without --cacert"
fi

echo "micromdm scepclient enrolls over HTTPS"
d=$WORK/mdm
mkdir "$d"
SSL_CERT_FILE=$DIR/tls.pem timeout 60 scepclient -server-url "$SURL" \
	-challenge "$CODE" -private-key "$d/key.pem" -certificate \
	"$d/cert.pem" -cn mdm-https >"$d/client.log" 2>&1 ||
	sg_fail "scepclient over HTTPS: $(cat "$d/client.log")"
openssl verify -CAfile "$DIR/ca.pem" "$d/cert.pem" >/dev/null ||
	sg_fail "the certificate from HTTPS does not verify against ca.pem"
grep -q "peer=127.0.0.1 POST /scep/demo op=PKIOperation status=200" \
	"$DIR/server.log" || sg_fail "no PKIOperation in the server log"

echo "SIGHUP with a new certificate keeps an open connection"
old_fp=$(fp "$DIR/tls.pem")
[[ $(served_fp) == "$old_fp" ]] || sg_fail "served certificate is not tls.pem"
cp "$DIR/tls.pem" "$WORK/old.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$WORK/new.key" -out "$WORK/new.pem" -subj /CN=127.0.0.1 \
	-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -days 2 \
	2>/dev/null || sg_fail "openssl req failed"
new_fp=$(fp "$WORK/new.pem")
# The python client: one request, SIGHUP once the files are replaced,
# then a second request on the same TLS connection (same socket, the
# old certificate).
cat >"$WORK/held.py" <<'EOF'
import hashlib, http.client, os, signal, ssl, sys, time
cafile, port, pid, path, install = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=cafile)
c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx)
def get():
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    return r.status, body
s1, _ = get()
sock = c.sock
fp1 = hashlib.sha256(sock.getpeercert(binary_form=True)).hexdigest()
os.system(install)
os.kill(int(pid), signal.SIGHUP)
time.sleep(1.5)
s2, body = get()
if c.sock is not sock:
    sys.exit("the connection was not kept: a new socket was opened")
fp2 = hashlib.sha256(c.sock.getpeercert(binary_form=True)).hexdigest()
print(s1, s2, fp1 == fp2, b"POSTPKIOperation" in body)
EOF
install="cp '$WORK/new.pem' '$DIR/tls.pem' &&"
install+=" cp '$WORK/new.key' '$DIR/tls.key'"
out=$(timeout 30 python3 "$WORK/held.py" "$WORK/old.pem" "$TLS_PORT" \
	"$SG_PID" "/scep/demo/pkiclient.exe?operation=GetCACaps" "$install" \
	2>&1) || sg_fail "held connection: $out"
[[ $out == "200 200 True True" ]] || sg_fail "held connection: $out"
grep -q "HTTPS: certificate and key re-read" "$DIR/server.log" ||
	sg_fail "no reload line in the server log"
echo "a new connection sees the new certificate"
[[ $(served_fp) == "$new_fp" ]] ||
	sg_fail "new connection: $(served_fp), want $new_fp"
curl -fsS -o /dev/null --cacert "$WORK/new.pem" \
	"$SURL/pkiclient.exe?operation=GetCACaps" ||
	sg_fail "curl with the new certificate failed"

echo "SIGHUP with a key of mode 0644: refused, the listener goes on"
chmod 644 "$DIR/tls.key"
kill -HUP "$SG_PID"
for _ in $(seq 50); do
	grep -q "listen.tls_key: .*chmod 600" "$DIR/server.log" && break
	sleep 0.1
done
grep -q "listen.tls_key: .*chmod 600" "$DIR/server.log" ||
	sg_fail "no refusal of the 0644 key in the server log"
curl -fsS -o /dev/null --cacert "$WORK/new.pem" \
	"$SURL/pkiclient.exe?operation=GetCACaps" ||
	sg_fail "HTTPS stopped after a refused reload"

echo "a tls_key of mode 0644 is refused at start"
sg_stop
if out=$(timeout 10 "$SCEPGATE" --config "$CFG" 2>&1); then
	sg_fail "scepgate started with a 0644 key: $out"
fi
grep -q "listen.tls_key: .*readable by group or others; chmod 600" \
	<<<"$out" || sg_fail "start with a 0644 key: $out"
chmod 600 "$DIR/tls.key"
echo OK
