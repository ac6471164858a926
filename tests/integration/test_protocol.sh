#!/usr/bin/env bash
# RFC 8894 protocol behaviour with real clients (issue #3): strongSwan
# renewal (RenewalReq signed with the old certificate) inside and outside
# the renewal window, manual approval with a polling client (approve and
# reject), a captured PKCSReq replayed byte for byte (POST, and GET in
# three base64 spellings) giving the same certificate, HTTP statuses for
# oversized bodies, unknown operations, HEAD and PUT, and last a renewal
# that waits for approval.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need pki timeout jq base64
sg_setup
cd "$WORK"
base=http://127.0.0.1:$PORT
BG_PIDS=()

# Background clients and the capture proxy go first, then lib.sh's cleanup.
it_cleanup() {
	local rc=$? p
	set +e
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	(exit "$rc")
	sg_cleanup
}
trap it_cleanup EXIT

sc() { "$SCEPCTL" --config "$CFG" "$@"; }

timeout 60 pki --scepca --url "$URL" --caout ca.der --raout ra.der \
	>scepca.log 2>&1 || sg_fail "pki --scepca failed: $(cat scepca.log)"
openssl x509 -in "$DIR/ra.pem" -out ra.pem

# newkey NAME: an RSA-2048 key in $WORK/NAME.der
newkey() {
	pki --gen --type rsa --size 2048 --outform der >"$WORK/$1.der" 2>/dev/null ||
		sg_fail "pki --gen failed"
}

# scep OUT LOG [pki --scep options]: the certificate in OUT (DER)
scep() {
	local out=$1 log=$2
	shift 2
	timeout 90 pki --scep --cacert-enc ra.der --cacert-sig ra.der \
		--cacert ca.der --interval 1 "$@" >"$out" 2>"$log"
}

# check_cert FILE.der KEY.der CN: chains to ca.pem, for KEY, subject CN
check_cert() {
	local cn
	[[ -s $1 ]] || sg_fail "$1: no certificate"
	openssl x509 -inform DER -in "$1" -out "${1%.der}.pem" ||
		sg_fail "$1 is not a certificate"
	openssl verify -CAfile "$DIR/ca.pem" "${1%.der}.pem" >/dev/null ||
		sg_fail "$1 does not verify against ca.pem"
	cmp -s <(openssl x509 -in "${1%.der}.pem" -noout -pubkey) \
		<(openssl pkey -inform DER -in "$2" -pubout) ||
		sg_fail "$1 is not for the key $2"
	cn=$(openssl x509 -in "${1%.der}.pem" -noout -subject -nameopt multiline |
		sed -n 's/^ *commonName *= *//p')
	[[ $cn == "$3" ]] || sg_fail "$1: subject CN is '$cn', not '$3'"
}

serial_of() { # FILE.der: uppercase hex, as scepctl prints serials
	openssl x509 -inform DER -in "$1" -noout -serial | sed 's/^serial=0*//'
}

cert_status() { # SERIAL: valid, revoked, superseded or "" if unknown
	sc cert list --json | jq -r --arg s "$1" '.[] | select(.serial == $s) | .status'
}

# wait_pending CN: prints the id of the pending request for CN
wait_pending() {
	local id
	for _ in $(seq 300); do
		id=$(sc request list --status pending --json |
			jq -r --arg cn "CN=$1" '.[] | select(.subject | split(",") | index($cn)) | .id')
		if [[ -n $id ]]; then
			echo "$id"
			return 0
		fi
		sleep 0.1
	done
	sg_fail "no pending request for CN=$1 after 30 s: $(sc request list --json)"
}

# ---- renewal (RenewalReq, RFC 8894 2.4, 3.3.1.2) ----

echo "renewal inside the window (term 20 days, window 30)"
out=$(sc account add --endpoint demo --name renew-acct --org Demo --term 20 \
	--access-code RenewCode12345678) || sg_fail "account add: $out"
newkey r1
newkey r2
scep r1.crt.der r1.log --url "$URL" --in r1.der --dn "CN=renew-in,O=scepgate" \
	--password RenewCode12345678 || sg_fail "enroll: $(cat r1.log)"
check_cert r1.crt.der r1.der renew-in
scep r2.crt.der r2.log --url "$URL" --in r2.der --dn "CN=renew-in,O=scepgate" \
	--cert r1.crt.der --key r1.der || sg_fail "renewal failed: $(cat r2.log)"
check_cert r2.crt.der r2.der renew-in
grep -q 'RenewalReq success' "$DIR/server.log" ||
	sg_fail "pki did not send a RenewalReq: $(grep -c RenewalReq "$DIR/server.log")"
s1=$(serial_of r1.crt.der)
s2=$(serial_of r2.crt.der)
[[ $(cert_status "$s1") == superseded ]] ||
	sg_fail "renewed certificate $s1 is '$(cert_status "$s1")', not superseded"
[[ $(cert_status "$s2") == valid ]] || sg_fail "new certificate $s2 is '$(cert_status "$s2")'"
[[ $(sc cert list --json | jq -r --arg s "$s2" '.[] | select(.serial == $s) | .account') == renew-acct ]] ||
	sg_fail "the renewed certificate left account renew-acct"

echo "a superseded certificate does not renew again"
newkey r3
if scep r3.crt.der r3.log --url "$URL" --in r3.der --dn "CN=renew-in,O=scepgate" \
	--cert r1.crt.der --key r1.der; then
	sg_fail "renewal with a superseded certificate succeeded"
fi
[[ ! -s r3.crt.der ]] || sg_fail "certificate issued for a superseded one"

echo "renewal outside the window (term 365 days, window 30), then window 0"
newkey e1
newkey e2
scep e1.crt.der e1.log --url "$URL" --in e1.der --dn "CN=renew-early,O=scepgate" \
	--password "$CODE" || sg_fail "enroll: $(cat e1.log)"
check_cert e1.crt.der e1.der renew-early
if scep e2.crt.der e2.log --url "$URL" --in e2.der --dn "CN=renew-early,O=scepgate" \
	--cert e1.crt.der --key e1.der; then
	sg_fail "renewal 335 days early succeeded with a 30-day window"
fi
grep -q "reply status is not 'SUCCESS'" e2.log || sg_fail "no FAILURE reply: $(cat e2.log)"
[[ $(cert_status "$(serial_of e1.crt.der)") == valid ]] || sg_fail "refused renewal changed the old certificate"
sc endpoint edit demo --renewal-days 0 >/dev/null || sg_fail "endpoint edit --renewal-days 0 failed"
[[ $(sc endpoint list --json | jq -r '.[] | select(.name == "demo") | .renewal_days') == 0 ]] ||
	sg_fail "renewal window of demo is not 0: $(sc endpoint list --json)"
scep e2.crt.der e2.log --url "$URL" --in e2.der --dn "CN=renew-early,O=scepgate" \
	--cert e1.crt.der --key e1.der || sg_fail "renewal with window 0 failed: $(cat e2.log)"
check_cert e2.crt.der e2.der renew-early
[[ $(cert_status "$(serial_of e1.crt.der)") == superseded ]] || sg_fail "e1 not superseded"

# ---- manual approval with a polling client (RFC 8894 3.3.3) ----

echo "manual approval: approve"
out=$(sc account add --endpoint demo --name manual-acct --org Demo --term 30 \
	--access-code ManualCode12345678 --approval manual) || sg_fail "account add: $out"
newkey m1
scep m1.crt.der m1.log --url "$URL" --in m1.der --dn "CN=manual-ok,O=scepgate" \
	--password ManualCode12345678 --maxpolltime 60 &
m1_pid=$!
BG_PIDS+=("$m1_pid")
id=$(wait_pending manual-ok)
sleep 1.5 # at least one CertPoll answered PENDING
kill -0 "$m1_pid" 2>/dev/null || sg_fail "the client did not wait: $(cat m1.log)"
[[ ! -s m1.crt.der ]] || sg_fail "certificate before approval"
sc request approve "$id" >/dev/null || sg_fail "request approve $id failed"
wait "$m1_pid" || sg_fail "client failed after approval: $(cat m1.log)"
check_cert m1.crt.der m1.der manual-ok
grep -q 'CertPoll pending' "$DIR/server.log" || sg_fail "the client never polled"
if sc request approve "$id" >/dev/null 2>&1; then
	sg_fail "approving an issued request succeeded"
fi

echo "manual approval: reject"
newkey m2
scep m2.crt.der m2.log --url "$URL" --in m2.der --dn "CN=manual-no,O=scepgate" \
	--password ManualCode12345678 --maxpolltime 60 &
m2_pid=$!
BG_PIDS+=("$m2_pid")
id=$(wait_pending manual-no)
sc request reject "$id" --reason test >/dev/null || sg_fail "request reject $id failed"
if wait "$m2_pid"; then
	sg_fail "client succeeded after reject: $(cat m2.log)"
fi
[[ ! -s m2.crt.der ]] || sg_fail "certificate issued for a rejected request"
grep -q "reply status is not 'SUCCESS'" m2.log || sg_fail "no FAILURE reply: $(cat m2.log)"
[[ $(sc request list --status rejected --json | jq --arg i "$id" '[.[] | select(.id == ($i | tonumber))] | length') == 1 ]] ||
	sg_fail "request $id is not listed as rejected"

# ---- a captured PKCSReq replayed (RFC 8894 5.2) ----

echo "capture a PKCSReq through a proxy"
cat >proxy.py <<'EOF'
# A forwarding HTTP proxy that saves every POST body as post-N.der.
import http.server, itertools, os, sys, urllib.error, urllib.request

upstream, outdir, portfile = sys.argv[1:4]
count = itertools.count(1)

class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def forward(self, body=None):
        req = urllib.request.Request(upstream + self.path, data=body,
                                     method=self.command)
        if self.headers.get("Content-Type"):
            req.add_header("Content-Type", self.headers["Content-Type"])
        try:
            r = urllib.request.urlopen(req, timeout=30)
            code, headers, data = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            code, headers, data = e.code, e.headers, e.read()
        self.send_response(code)
        if headers.get("Content-Type"):
            self.send_header("Content-Type", headers["Content-Type"])
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.forward()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        path = os.path.join(outdir, "post-%d.der" % next(count))
        with open(path, "wb") as f:
            f.write(body)
        self.forward(body)

server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
EOF
mkdir captured
python3 proxy.py "$base" captured proxy.port &
BG_PIDS+=($!)
for _ in $(seq 50); do
	[[ -s proxy.port ]] && break
	sleep 0.1
done
[[ -s proxy.port ]] || sg_fail "the capture proxy did not start"
purl=http://127.0.0.1:$(cat proxy.port)/scep/demo
newkey p1
scep p1.crt.der p1.log --url "$purl" --in p1.der --dn "CN=replayed,O=scepgate" \
	--password "$CODE" || sg_fail "enroll through the proxy: $(cat p1.log)"
check_cert p1.crt.der p1.der replayed
[[ -s captured/post-1.der && ! -e captured/post-2.der ]] ||
	sg_fail "expected one captured POST: $(ls captured)"
cp captured/post-1.der req.der
sp=$(serial_of p1.crt.der)
# The client's signer: the self-signed certificate in the request.
openssl pkcs7 -inform DER -in req.der -print_certs -out signer.pem ||
	sg_fail "no certificate in the captured request"
openssl pkey -inform DER -in p1.der -out p1.key.pem

# read_reply FILE: the serial of the first certificate in a CertRep
read_reply() {
	openssl cms -verify -noverify -inform DER -in "$1" -binary \
		-out "$1.env" 2>"$1.err" || sg_fail "$1: CertRep signature: $(cat "$1.err")"
	openssl cms -decrypt -inform DER -in "$1.env" -inkey p1.key.pem \
		-recip signer.pem -binary -out "$1.p7" 2>"$1.err" ||
		sg_fail "$1: does not decrypt with the client's key: $(cat "$1.err")"
	openssl pkcs7 -inform DER -in "$1.p7" -print_certs 2>/dev/null |
		openssl x509 -noout -serial | sed 's/^serial=0*//'
}

# post_req NAME [curl options]: HTTP status in STATUS, body in NAME
post_req() {
	local out name=$1 args
	shift
	args="$*"
	out=$(curl -sS --max-time 30 -o "$name" -w '%{http_code} %{content_type}' "$@") ||
		sg_fail "curl ${args:0:200} failed"
	STATUS=${out%% *}
	CTYPE=${out#* }
}

echo "replay the captured PKCSReq twice (POST)"
for i in 1 2; do
	post_req "replay-$i.der" --data-binary @req.der \
		-H 'Content-Type: application/x-pki-message' "$URL?operation=PKIOperation"
	[[ $STATUS == 200 && $CTYPE == application/x-pki-message ]] ||
		sg_fail "replay $i: HTTP $STATUS '$CTYPE': $(head -c 200 "replay-$i.der")"
	s=$(read_reply "replay-$i.der")
	[[ $s == "$sp" ]] || sg_fail "replay $i gave serial '$s', the client got $sp"
done
n=$(sc cert list --json | jq '[.[] | select(.subject | split(",") | index("CN=replayed"))] | length')
[[ $n == 1 ]] || sg_fail "$n certificates for CN=replayed, expected 1"

echo "GET PKIOperation: raw '+', %0A line breaks, base64url"
b64=$(base64 -w0 req.der)
declare -A msg
# (a) raw '+' and '/', only '=' escaped
msg[a]=${b64//=/%3D}
# (b) lines of 64 characters joined by %0A, '+' '/' '=' escaped
msg[b]=$(base64 -w64 req.der | sed 's/+/%2B/g; s,/,%2F,g; s/=/%3D/g' |
	awk 'NR > 1 { printf "%%0A" } { printf "%s", $0 }')
# (c) base64url without padding
msg[c]=$(printf '%s' "$b64" | tr '+/' '-_' | tr -d '=')
[[ ${msg[a]} == *+* || ${msg[c]} == *[-_]* ]] ||
	echo "note: this request's base64 has no '+' or '/'"
for v in a b c; do
	post_req "get-$v.der" "$URL?operation=PKIOperation&message=${msg[$v]}"
	[[ $STATUS == 200 && $CTYPE == application/x-pki-message ]] ||
		sg_fail "GET ($v): HTTP $STATUS '$CTYPE': $(head -c 200 "get-$v.der")"
	s=$(read_reply "get-$v.der")
	[[ $s == "$sp" ]] || sg_fail "GET ($v) gave serial '$s', not $sp"
done
n=$(sc cert list --json | jq '[.[] | select(.subject | split(",") | index("CN=replayed"))] | length')
[[ $n == 1 ]] || sg_fail "$n certificates for CN=replayed after the GETs, expected 1"

# ---- HTTP statuses ----

echo "body over limits.max_body: 413"
max=$(sed -n 's/.*max_body *= *\([0-9]*\).*/\1/p' "$CFG")
[[ -n $max ]] || sg_fail "no max_body in $CFG"
head -c "$((max + 1))" /dev/zero >big.bin
post_req big.out --data-binary @big.bin -H 'Content-Type: application/x-pki-message' \
	"$URL?operation=PKIOperation"
[[ $STATUS == 413 ]] || sg_fail "POST of $((max + 1)) bytes: HTTP $STATUS, not 413"
head -c "$max" /dev/zero >edge.bin
post_req edge.out --data-binary @edge.bin -H 'Content-Type: application/x-pki-message' \
	"$URL?operation=PKIOperation"
[[ $STATUS == 400 ]] || sg_fail "POST of exactly max_body zero bytes: HTTP $STATUS, not 400"
# base64 of max_body + 64 bytes (below the 128 KiB limit of one argument)
n=$(((max + 64) * 4 / 3 + 4))
post_req big-get.out "$URL?operation=PKIOperation&message=$(head -c "$n" /dev/zero | tr '\0' 'A')"
# libmicrohttpd's 48 KiB request buffer (srv_http.c) answers 414 before
# the message is decoded; with a max_body under that, scepgate says 413.
[[ $STATUS == 413 || $STATUS == 414 ]] ||
	sg_fail "GET message decoding to over max_body: HTTP $STATUS, not 413/414"

echo "unknown operation: 400"
post_req unk.out "$URL?operation=GetSomethingElse"
[[ $STATUS == 400 ]] || sg_fail "unknown operation: HTTP $STATUS"

echo "HEAD GetCACaps: 200, no body"
out=$(curl -sS --max-time 10 -I -o head.hdr -w '%{http_code} %{size_download}' \
	"$URL?operation=GetCACaps") || sg_fail "curl -I failed"
[[ $out == "200 0" ]] || sg_fail "HEAD GetCACaps: '$out' (status, body bytes)"

echo "PUT: 405"
post_req put.out -X PUT --data-binary @req.der "$URL?operation=PKIOperation"
[[ $STATUS == 405 ]] || sg_fail "PUT: HTTP $STATUS"
curl -sS -o /dev/null -D put.hdr -X PUT --data x "$URL?operation=GetCACaps"
grep -qi '^Allow: *GET, POST, HEAD' put.hdr || sg_fail "405 without Allow: $(cat put.hdr)"

kill -0 "$SG_PID" || sg_fail "scepgate died"

# ---- renewal that waits for approval (last: see the report) ----

echo "renewal on a manual-approval account, polled with the old certificate"
newkey m3
scep m3.crt.der m3.log --url "$URL" --in m3.der --dn "CN=manual-ok,O=scepgate" \
	--cert m1.crt.der --key m1.der --maxpolltime 60 &
m3_pid=$!
BG_PIDS+=("$m3_pid")
id=$(wait_pending manual-ok)
sc request approve "$id" >/dev/null || sg_fail "request approve $id failed"
wait "$m3_pid" ||
	sg_fail "approved renewal not delivered to the polling client: $(grep -v plugin m3.log | tail -3); server: $(grep 'CertPoll' "$DIR/server.log" | tail -1)"
check_cert m3.crt.der m3.der manual-ok
[[ $(cert_status "$(serial_of m1.crt.der)") == superseded ]] ||
	sg_fail "approved renewal: the old certificate is '$(cert_status "$(serial_of m1.crt.der)")', not superseded"

echo "PASS"
