#!/usr/bin/env bash
# Keys in an HSM (docs/operations.md, "Keys in an HSM"): the RA key and
# the local CA key of a "scepctl init" instance are written to a SoftHSM2
# token with pkcs11-tool, the configuration names them by pkcs11: URIs
# (the PIN in a file; the module found through p11-kit's proxy, as in
# the documented example, and check-config also with an explicit
# module-path), and the key files are removed from disk. strongSwan pki and micromdm scepclient then
# enroll, and their certificates verify against ca.pem. A PIN file others
# may read, a pin-value in the URI and a wrong PIN are refused at start.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need softhsm2-util pkcs11-tool pki scepclient timeout
MODULE=/usr/lib/softhsm/libsofthsm2.so
if [[ ! -e $MODULE ]] || ! openssl engine pkcs11 >/dev/null 2>&1; then
	[[ -n ${CI:-} ]] && sg_fail "no SoftHSM2 module or pkcs11 engine"
	echo "SKIP: no $MODULE or OpenSSL pkcs11 engine (scripts/deps.sh)" >&2
	exit 77
fi
sg_setup
sg_stop
cd "$WORK"

echo "SoftHSM2 token with the RA and CA keys"
export SOFTHSM2_CONF=$SG_TMP/softhsm2.conf
mkdir "$SG_TMP/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\n' \
	"$SG_TMP/tokens" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label scepgate --pin 4321 \
	--so-pin 87654321 >token.log 2>&1 || sg_fail "init-token: $(cat token.log)"
p11() {
	pkcs11-tool --module "$MODULE" --token-label scepgate --login \
		--pin 4321 "$@" >>token.log 2>&1 || sg_fail "pkcs11-tool $*: $(cat token.log)"
}
p11 --write-object "$DIR/ra.key" --type privkey --label ra --id 01
p11 --write-object "$DIR/ca.key" --type privkey --label ca --id 02
p11 --list-objects
grep -q "label: *ra" token.log && grep -q "label: *ca" token.log ||
	sg_fail "keys not on the token: $(cat token.log)"
# The token holds them now; nothing may read them from disk.
mkdir "$SG_TMP/away"
mv "$DIR/ra.key" "$DIR/ca.key" "$SG_TMP/away/"
install -m 600 /dev/null "$DIR/pin"
echo 4321 >"$DIR/pin"

cp "$CFG" "$SG_TMP/files.cfg"
sed -i -e "s|key = \"ra.key\"|key = \"pkcs11:token=scepgate;object=ra;pin-source=file:$DIR/pin\"|" \
	-e "s|ca_key = \"ca.key\"|ca_key = \"pkcs11:token=scepgate;object=ca;pin-source=file:$DIR/pin\"|" "$CFG"
grep -q "object=ra" "$CFG" && grep -q "object=ca" "$CFG" ||
	sg_fail "cannot point $CFG at the token"

# refused WANT SED: check-config on CFG edited by SED fails saying WANT.
refused() {
	local out
	sed "$2" "$CFG" >"$DIR/bad.cfg"
	if out=$("$SCEPCTL" --config "$DIR/bad.cfg" check-config 2>&1); then
		sg_fail "check-config accepted $2"
	fi
	[[ $out == *"$1"* ]] || sg_fail "$2: '$out' lacks '$1'"
}
echo "refused: a PIN in the URI, a readable PIN file, a wrong PIN, no key"
refused "has a pin-value" "s|pin-source=file:$DIR/pin\"|pin-value=4321\"|"
out=$("$SCEPCTL" --config "$DIR/bad.cfg" check-config 2>&1 || true)
[[ $out != *4321* ]] || sg_fail "the PIN is in an error message: $out"
install -m 644 "$DIR/pin" "$DIR/pin.644"
refused "chmod 600" "s|file:$DIR/pin|file:$DIR/pin.644|g"
install -m 600 /dev/null "$DIR/pin.bad"
echo 1111 >"$DIR/pin.bad"
refused "PIN incorrect" "s|file:$DIR/pin|file:$DIR/pin.bad|g"
refused "no private key on the token" "s|object=ra|object=nosuch|"
refused "one module for all keys" "s|object=ra;|object=ra?module-path=$MODULE\&|"
echo "check-config with module-path and the query form (RFC 7512)"
sed "s|;pin-source=file:$DIR/pin\"|;type=private?module-path=$MODULE\&pin-source=file:$DIR/pin\"|" \
	"$CFG" >"$DIR/module.cfg"
[[ $(grep -c "module-path=$MODULE&pin-source" "$DIR/module.cfg") == 2 ]] ||
	sg_fail "module.cfg: $(grep pkcs11 "$DIR/module.cfg")"
"$SCEPCTL" --config "$DIR/module.cfg" check-config >check.log 2>&1 ||
	sg_fail "check-config with module-path: $(cat check.log)"
"$SCEPCTL" --config "$SG_TMP/files.cfg" check-config >/dev/null 2>&1 &&
	sg_fail "the key files are still readable"
"$SCEPCTL" --config "$CFG" check-config >check.log 2>&1 ||
	sg_fail "check-config on the token: $(cat check.log)"

sg_start

echo "pki --scep with the keys on the token"
sg_pki_enroll hsm-ss ss.der
openssl x509 -inform DER -in ss.der -out ss.pem ||
	sg_fail "pki wrote no certificate"
openssl verify -CAfile "$DIR/ca.pem" ss.pem >/dev/null ||
	sg_fail "pki's certificate does not verify against ca.pem"

echo "scepclient with the keys on the token"
timeout 60 scepclient -server-url "$URL" -challenge "$CODE" \
	-private-key mdm.key -certificate mdm.pem -cn hsm-mdm \
	>mdm.log 2>&1 || sg_fail "scepclient: $(cat mdm.log)"
openssl verify -CAfile "$DIR/ca.pem" mdm.pem >/dev/null ||
	sg_fail "scepclient's certificate does not verify against ca.pem"
for c in ss.pem mdm.pem; do
	openssl x509 -in "$c" -noout -subject | grep -q "CN *= *hsm-" ||
		sg_fail "$c: wrong subject"
done
echo "PASS"
