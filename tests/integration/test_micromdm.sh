#!/usr/bin/env bash
# Enrolls with micromdm scepclient 2.1.0 (PKCSReq, POST; its envelope is
# DES-CBC and its SignerInfo sha1WithRSAEncryption, so scepgate needs the
# OpenSSL legacy provider for DES and must accept SHA-1 signatures):
# one enrollment, a wrong access code, a new account added while the
# server runs, an admin-chosen code with '-' and '.' (PrintableString),
# and 8 concurrent enrollments.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need scepclient timeout
sg_setup

# enroll NAME CODE: enrolls CN=NAME in its own directory $WORK/NAME
# (scepclient writes csr.pem and self.pem beside the key and reuses them).
enroll() {
	local d=$WORK/$1
	mkdir "$d"
	timeout 60 scepclient -server-url "$URL" -challenge "$2" \
		-private-key "$d/key.pem" -certificate "$d/cert.pem" -cn "$1" \
		>"$d/client.log" 2>&1
}

# check NAME: the certificate exists, chains to ca.pem and has CN=NAME.
check() {
	local d=$WORK/$1 cn
	[[ -s $d/cert.pem ]] || sg_fail "$1: no certificate: $(cat "$d/client.log")"
	openssl verify -CAfile "$DIR/ca.pem" "$d/cert.pem" >/dev/null ||
		sg_fail "$1: certificate does not verify against ca.pem"
	cn=$(openssl x509 -in "$d/cert.pem" -noout -subject -nameopt multiline |
		sed -n 's/^ *commonName *= *//p')
	[[ $cn == "$1" ]] || sg_fail "$1: subject CN is '$cn'"
}

echo "enroll with the access code"
enroll mdm-one "$CODE" || sg_fail "scepclient failed: $(cat "$WORK/mdm-one/client.log")"
check mdm-one

echo "wrong access code gives FAILURE and no certificate"
if enroll mdm-bad "wrong-$CODE"; then
	sg_fail "scepclient succeeded with a wrong access code"
fi
[[ ! -e $WORK/mdm-bad/cert.pem ]] || sg_fail "certificate issued for a wrong code"
grep -q 'request failed, failInfo' "$WORK/mdm-bad/client.log" ||
	sg_fail "no SCEP FAILURE reply: $(cat "$WORK/mdm-bad/client.log")"

echo "account added while the server runs"
"$SCEPCTL" --config "$CFG" org add it-org >/dev/null
code2=$("$SCEPCTL" --config "$CFG" account add --endpoint demo \
	--name it-account --org it-org --term 30 | sg_field 'access code')
[[ -n $code2 ]] || sg_fail "scepctl account add printed no access code"
enroll mdm-new "$code2" || sg_fail "new account: $(cat "$WORK/mdm-new/client.log")"
check mdm-new

echo "an admin-chosen code with PrintableString punctuation"
out=$("$SCEPCTL" --config "$CFG" account add --endpoint demo --name it-dash \
	--org it-org --term 30 --access-code 'Abc-123.x' 2>&1) ||
	sg_fail "account add with 'Abc-123.x': $out"
enroll mdm-dash 'Abc-123.x' || sg_fail "code Abc-123.x: $(cat "$WORK/mdm-dash/client.log")"
check mdm-dash
if out=$("$SCEPCTL" --config "$CFG" account add --endpoint demo \
	--name it-under --org it-org --term 30 --access-code 'Abc_123.x' 2>&1); then
	sg_fail "account add accepted 'Abc_123.x' (not PrintableString)"
fi
[[ $out == *"A-Z a-z 0-9 space ' ( ) + , - . / : = ?"* ]] ||
	sg_fail "the refusal does not list the allowed characters: $out"

echo "8 concurrent enrollments"
pids=()
for i in $(seq 8); do
	enroll "mdm-par$i" "$CODE" &
	pids+=($!)
done
for i in $(seq 8); do
	wait "${pids[i - 1]}" || sg_fail "mdm-par$i: $(cat "$WORK/mdm-par$i/client.log")"
	check "mdm-par$i"
done
dups=$(for c in "$WORK"/*/cert.pem; do
	openssl x509 -in "$c" -noout -serial
done | sort | uniq -d)
[[ -z $dups ]] || sg_fail "duplicate serials: $dups"

echo "PASS"
