#!/usr/bin/env bash
# HTTP layer with curl: healthz, GetCACaps, GetCACert in its three formats
# (endpoints added while the server runs), path suffix, error statuses for
# bad input, GetNextCACert read both ways with openssl (after a restart
# with a next CA), and the server still answering afterwards.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_setup
base=http://127.0.0.1:$PORT
body=$WORK/body

# get URL [curl options]: sets STATUS and CTYPE, body in $body
get() {
	local out
	out=$(curl -sS --max-time 10 -o "$body" -w '%{http_code} %{content_type}' "$@") ||
		sg_fail "curl $* failed"
	STATUS=${out%% *}
	CTYPE=${out#* }
}

# expect STATUS [CONTENT-TYPE]: checks the last reply (exact content type)
expect() {
	[[ $STATUS == "$1" ]] || sg_fail "expected HTTP $1, got $STATUS: $(head -c 200 "$body")"
	[[ -z ${2:-} || $CTYPE == "$2" ]] || sg_fail "expected Content-Type '$2', got '$CTYPE'"
}

ra_der=$WORK/ra.der
openssl x509 -in "$DIR/ra.pem" -outform DER -out "$ra_der"

echo "healthz"
get "$base/healthz"
expect 200
[[ $(tr -d '\r\n' <"$body") == '{"status":"ok","database":"ok"}' ]] ||
	sg_fail "healthz body: $(cat "$body")"

echo "GetCACaps"
get "$URL?operation=GetCACaps"
expect 200
[[ $CTYPE == text/plain* ]] || sg_fail "GetCACaps Content-Type '$CTYPE'"
caps=$(tr -d '\r' <"$body")
for k in POSTPKIOperation SHA-256 AES SCEPStandard; do
	grep -qx -- "$k" <<<"$caps" || sg_fail "GetCACaps lacks $k: $caps"
done

# check_chain: $body is a degenerate PKCS#7 of ra.pem then ca.pem
check_chain() {
	openssl pkcs7 -inform DER -in "$body" -print_certs -out "$WORK/chain.pem" ||
		sg_fail "GetCACert reply is not a PKCS#7"
	local subjects want
	mapfile -t subjects < <(grep '^subject=' "$WORK/chain.pem")
	((${#subjects[@]} == 2)) || sg_fail "GetCACert holds ${#subjects[@]} certs, not 2"
	want=$(openssl x509 -in "$DIR/ra.pem" -noout -subject)
	[[ ${subjects[0]} == "$want" ]] ||
		sg_fail "first cert is '${subjects[0]}', not the RA '$want'"
	want=$(openssl x509 -in "$DIR/ca.pem" -noout -subject)
	[[ ${subjects[1]} == "$want" ]] ||
		sg_fail "second cert is '${subjects[1]}', not the CA '$want'"
	cmp -s "$ra_der" <(openssl x509 -in "$WORK/chain.pem" -outform DER) ||
		sg_fail "first cert of GetCACert is not ra.pem"
}

echo "GetCACert (cms-chain)"
get "$URL?operation=GetCACert"
expect 200 application/x-x509-ca-ra-cert
check_chain
cp "$body" "$WORK/chain.p7"

echo "GetCACert via /pkiclient.exe"
get "$URL/pkiclient.exe?operation=GetCACert"
expect 200 application/x-x509-ca-ra-cert
check_chain
cmp -s "$body" "$WORK/chain.p7" || sg_fail "/pkiclient.exe reply differs"

echo "unknown endpoint, unknown operation"
get "$base/scep/no-such-endpoint?operation=GetCACaps"
expect 404
get "$URL?operation=NoSuchOperation"
expect 400

echo "bad PKIOperation input"
get "$URL?operation=PKIOperation&message=***not*base64***"
expect 400
printf 'this is not a pkiMessage' >"$WORK/garbage"
get "$URL?operation=PKIOperation" --data-binary "@$WORK/garbage" \
	-H 'Content-Type: application/x-pki-message'
expect 400
printf '\x30\x82\xff\xff\x06\x09' >"$WORK/garbage"
get "$URL?operation=PKIOperation" --data-binary "@$WORK/garbage" \
	-H 'Content-Type: application/x-pki-message'
expect 400

echo "endpoints added while the server runs (der, pem)"
for f in der pem; do
	"$SCEPCTL" --config "$CFG" endpoint add "ca-$f" --type device \
		--uri "ca-$f" --cacert-format "$f" --getcert-format single
	for _ in $(seq 50); do # allow up to 5 s for the server to see it
		get "$base/scep/ca-$f?operation=GetCACert"
		[[ $STATUS == 404 ]] || break
		sleep 0.1
	done
	if [[ $f == der ]]; then
		expect 200 application/x-x509-ca-cert
		cmp -s "$ra_der" "$body" || sg_fail "ca-der: body is not ra.pem as DER"
	else
		expect 200
		[[ $CTYPE == application/x-x509-ca-cert* ]] || sg_fail "ca-pem: Content-Type '$CTYPE'"
		grep -q -- '-----BEGIN CERTIFICATE-----' "$body" || sg_fail "ca-pem: body is not PEM"
		cmp -s "$ra_der" <(openssl x509 -in "$body" -outform DER) ||
			sg_fail "ca-pem: body is not ra.pem"
	fi
done

echo "GetNextCACert: next CA in the signed content and in the outer set"
kill -0 "$SG_PID" || sg_fail "scepgate died"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/next.key" \
	-out "$WORK/next.pem" -subj "/CN=scepgate next CA" -days 30 2>/dev/null ||
	sg_fail "cannot make the next CA"
sed -i "s|^upstream = { |&next_ca_cert = \"$WORK/next.pem\"; |" "$CFG"
grep -q next_ca_cert "$CFG" || sg_fail "next_ca_cert not set in $CFG"
# Restart: the configuration file is read once, at start.
kill "$SG_PID"
wait "$SG_PID" 2>/dev/null || true
"$SCEPGATE" --config "$CFG" >>"$DIR/server.log" 2>&1 &
SG_PID=$!
for _ in $(seq 100); do
	curl -fs -o /dev/null --max-time 1 "$base/healthz" && break
	kill -0 "$SG_PID" 2>/dev/null || sg_fail "scepgate exited at restart"
	sleep 0.1
done
get "$URL?operation=GetCACaps"
expect 200
grep -qx GetNextCACert "$body" || sg_fail "GetCACaps lacks GetNextCACert"
get "$URL?operation=GetNextCACert"
expect 200 application/x-x509-next-ca-cert
cp "$body" "$WORK/next.p7"
# subjects FILE [-inform DER]: the subject of each certificate, in order.
subjects() { openssl pkcs7 -in "$@" -print_certs -noout | sed -n 's/^subject=//p'; }
next_s=$(openssl x509 -in "$WORK/next.pem" -noout -subject | sed 's/^subject=//')
ra_s=$(openssl x509 -in "$DIR/ra.pem" -noout -subject | sed 's/^subject=//')
# The signature verifies with the current RA alone (-nointern).
openssl cms -verify -inform DER -in "$WORK/next.p7" -binary -noverify \
	-nointern -certfile "$DIR/ra.pem" -out "$WORK/next-inner.der" \
	2>"$WORK/verify.log" || sg_fail "GetNextCACert does not verify with ra.pem: $(cat "$WORK/verify.log")"
got=$(subjects "$WORK/next-inner.der" -inform DER) ||
	sg_fail "content is not a certs-only PKCS#7"
[[ $got == "$next_s" ]] || sg_fail "content: '$got', want '$next_s'"
# Outer certificates field: the next CA first, then the current RA.
got=$(subjects "$WORK/next.p7" -inform DER) || sg_fail "not a PKCS#7"
[[ $got == "$next_s"$'\n'"$ra_s" ]] ||
	sg_fail "outer certificates: '$got', want '$next_s' then '$ra_s'"

echo "still healthy"
kill -0 "$SG_PID" || sg_fail "scepgate died"
get "$base/healthz"
expect 200

echo "PASS"
