#!/usr/bin/env bash
# Renewals that renew (issue 11). micromdm scepclient derives the
# transactionID from the key (RFC 8894 3.2.1.1), so its renewal with the
# same key (RenewalReq signed with the issued certificate) arrives under
# the transactionID of its first enrollment and must get a NEW serial; so
# must a re-enrollment with the same key after "scepctl cert revoke",
# while the same request again (the certificate lost, still valid) gets
# the same certificate. strongSwan pki --scep --cert/--key renews with
# the same key too (its transactionID is also a hash of the key).
# certmonger's rekey (a PKCSReq signed by the old certificate) is in
# test_certmonger.sh, the byte-for-byte replay in test_protocol.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need scepclient pki timeout
sg_setup
cd "$WORK"
sc() { "$SCEPCTL" --config "$CFG" "$@"; }

# An account whose term (30 days) lies inside demo's 30-day renewal window.
sc org add rn-org >/dev/null
code=$(sc account add --endpoint demo --name rn --org rn-org --term 30 |
	sg_field 'access code')
[[ -n $code ]] || sg_fail "account add printed no access code"

# mdm NAME [CODE]: scepclient in $WORK/NAME (it reuses key.pem and csr.pem;
# with cert.pem present it sends a RenewalReq signed with it).
mdm() {
	local d=$WORK/$1
	mkdir -p "$d"
	timeout 60 scepclient -server-url "$URL" ${2:+-challenge "$2"} \
		-private-key "$d/key.pem" -certificate "$d/cert.pem" -cn "$1" \
		>>"$d/client.log" 2>&1
}
serial() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }
status_of() { sc cert show "$1" | sed -n 's/^status *//p'; }

echo "scepclient: the same request again gets the same certificate"
mdm mdm-again "$code" || sg_fail "enroll: $(cat mdm-again/client.log)"
s1=$(serial mdm-again/cert.pem)
rm mdm-again/cert.pem
mdm mdm-again "$code" || sg_fail "again: $(cat mdm-again/client.log)"
s2=$(serial mdm-again/cert.pem)
[[ $s2 == "$s1" ]] || sg_fail "the same request again got $s2, not $s1"

echo "scepclient: revoked, then re-enrolled with the same key"
sc cert revoke "$s1" --reason keyCompromise >/dev/null ||
	sg_fail "cert revoke $s1 failed"
rm mdm-again/cert.pem
mdm mdm-again "$code" || sg_fail "re-enroll: $(cat mdm-again/client.log)"
s2=$(serial mdm-again/cert.pem)
[[ $s1 != "$s2" ]] || sg_fail "re-enrollment returned the revoked $s1"
[[ $(status_of "$s2") == valid ]] || sg_fail "$s2 is $(status_of "$s2")"
[[ $(status_of "$s1") == revoked* ]] || sg_fail "$s1 is $(status_of "$s1")"

echo "scepclient: enroll, then renew with the same key"
mdm mdm-renew "$code" || sg_fail "enroll: $(cat mdm-renew/client.log)"
s1=$(serial mdm-renew/cert.pem)
mdm mdm-renew || sg_fail "renewal: $(cat mdm-renew/client.log)"
s2=$(serial mdm-renew/cert.pem)
[[ $s1 != "$s2" ]] || sg_fail "same-key renewal returned the old serial $s1"
grep -q "RenewalReq success: renewed serial $s1 as $s2" "$DIR/server.log" ||
	sg_fail "no renewal of $s1 in server.log"
[[ $(status_of "$s1") == superseded ]] ||
	sg_fail "renewed $s1 is $(status_of "$s1"), not superseded"
openssl verify -CAfile "$DIR/ca.pem" mdm-renew/cert.pem >/dev/null ||
	sg_fail "renewed certificate does not verify against ca.pem"

echo "strongSwan pki --scep --cert/--key: renewal with the same key"
timeout 60 pki --scepca --url "$URL" --caout ca.der --raout ra.der \
	>scepca.log 2>&1 || sg_fail "pki --scepca failed: $(cat scepca.log)"
pki --gen --type rsa --size 2048 --outform der >ss.key 2>/dev/null
ss() {
	timeout 60 pki --scep --url "$URL" --in ss.key \
		--dn "CN=ss-renew,O=scepgate" --cacert-enc ra.der \
		--cacert-sig ra.der --cacert ca.der --maxpolltime 10 \
		--interval 1 "$@" 2>>ss.log
}
ss --password "$code" >ss1.der || sg_fail "pki enroll: $(cat ss.log)"
ss --cert ss1.der --key ss.key >ss2.der || sg_fail "pki renew: $(cat ss.log)"
s1=$(openssl x509 -inform DER -in ss1.der -noout -serial | sed 's/^serial=//')
s2=$(openssl x509 -inform DER -in ss2.der -noout -serial | sed 's/^serial=//')
[[ -n $s2 && $s1 != "$s2" ]] ||
	sg_fail "strongSwan same-key renewal: serial '$s2' after $s1"
[[ $(status_of "$s1") == superseded ]] ||
	sg_fail "renewed $s1 is $(status_of "$s1"), not superseded"

echo "PASS"
