#!/usr/bin/env bash
# Enrolls with strongSwan pki: --scepca (GetCACert as CA+RA chain), then
# --scep with AES/SHA-256, 3DES/SHA-1 and SHA-512, a wrong password, a
# 1024-bit key under the endpoint's minimum, and 4 concurrent enrollments.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need pki timeout
sg_setup
cd "$WORK"

echo "pki --scepca"
# With one root CA and one RA cert, --caout/--raout are used as given;
# more CA certs would be written as ca-1.der, ca-2.der, ...
timeout 60 pki --scepca --url "$URL" --caout ca.der --raout ra.der \
	>scepca.log 2>&1 || sg_fail "pki --scepca failed: $(cat scepca.log)"
[[ -f ca.der && -f ra.der ]] ||
	sg_fail "pki --scepca wrote $(echo ./*.der), not ca.der and ra.der: $(cat scepca.log)"
cmp -s ca.der <(openssl x509 -in "$DIR/ca.pem" -outform DER) ||
	sg_fail "ca.der from GetCACert differs from ca.pem"
cmp -s ra.der <(openssl x509 -in "$DIR/ra.pem" -outform DER) ||
	sg_fail "ra.der from GetCACert differs from ra.pem"

# enroll NAME PASSWORD [pki options]: key and cert.der in $WORK/NAME
enroll() {
	local d=$WORK/$1
	mkdir "$d"
	pki --gen --type rsa --size "${BITS:-2048}" --outform der \
		>"$d/key.der" 2>/dev/null
	timeout 60 pki --scep --url "$URL" --in "$d/key.der" \
		--dn "CN=$1,O=scepgate" --password "$2" \
		--cacert-enc ra.der --cacert-sig ra.der --cacert ca.der \
		--maxpolltime 10 --interval 1 "${@:3}" >"$d/cert.der" 2>"$d/pki.log"
}

# check NAME: cert.der exists, chains to ca.pem and has CN=NAME.
check() {
	local d=$WORK/$1 cn
	[[ -s $d/cert.der ]] || sg_fail "$1: no certificate: $(cat "$d/pki.log")"
	openssl x509 -inform DER -in "$d/cert.der" -out "$d/cert.pem" ||
		sg_fail "$1: cert.der is not a certificate"
	openssl verify -CAfile "$DIR/ca.pem" "$d/cert.pem" >/dev/null ||
		sg_fail "$1: certificate does not verify against ca.pem"
	cn=$(openssl x509 -in "$d/cert.pem" -noout -subject -nameopt multiline |
		sed -n 's/^ *commonName *= *//p')
	[[ $cn == "$1" ]] || sg_fail "$1: subject CN is '$cn'"
}

# strongSwan 5.9.8 (Debian 12) tests GetCACaps bits by index, so it needs
# SHA-384 listed to use AES and DES3 or SHA-384 to use SHA-256; it also
# requires rsaEncryption as the CertRep SignerInfo signature algorithm.
run() { # NAME [pki options]
	echo "pki --scep ${*:2}"
	enroll "$1" "$CODE" "${@:2}" ||
		sg_fail "$1: pki --scep failed (see the 5.9.8 note in $0): $(cat "$WORK/$1/pki.log")"
	check "$1"
}
run ss-test
run ss-des3 --cipher des3 --digest sha1
run ss-sha512 --digest sha512

echo "wrong password gives no certificate"
if enroll ss-bad "wrong-$CODE"; then
	sg_fail "pki --scep succeeded with a wrong password"
fi
[[ ! -s $WORK/ss-bad/cert.der ]] || sg_fail "certificate issued for a wrong password"
grep -q "reply status is not 'SUCCESS'" "$WORK/ss-bad/pki.log" ||
	sg_fail "no SCEP FAILURE reply: $(cat "$WORK/ss-bad/pki.log")"

# Apple's SCEP payload makes a 1024-bit key when the profile has no
# Keysize: FAILURE (badAlg), and the reason names both sizes.
echo "1024-bit key below the endpoint's minimum gives no certificate"
if BITS=1024 enroll ss-1024 "$CODE"; then
	sg_fail "pki --scep succeeded with a 1024-bit key"
fi
[[ ! -s $WORK/ss-1024/cert.der ]] || sg_fail "certificate issued for a 1024-bit key"
grep -q "reply status is not 'SUCCESS'" "$WORK/ss-1024/pki.log" ||
	sg_fail "1024 bits: no SCEP FAILURE reply: $(cat "$WORK/ss-1024/pki.log")"
grep -q "PKCSReq failure: RSA key of 1024 bits is below this endpoint's minimum 2048" \
	"$DIR/server.log" || sg_fail "1024 bits: no such reason in server.log: $(grep 'PKCSReq failure' "$DIR/server.log")"

echo "4 concurrent enrollments"
pids=()
for i in $(seq 4); do
	enroll "ss-par$i" "$CODE" &
	pids+=($!)
done
for i in $(seq 4); do
	wait "${pids[i - 1]}" || sg_fail "ss-par$i: $(cat "$WORK/ss-par$i/pki.log")"
	check "ss-par$i"
done
dups=$(for c in "$WORK"/*/cert.pem; do
	openssl x509 -in "$c" -noout -serial
done | sort | uniq -d)
[[ -z $dups ]] || sg_fail "duplicate serials: $dups"

echo "PASS"
