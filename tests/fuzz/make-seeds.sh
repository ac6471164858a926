#!/usr/bin/env bash
# Regenerates the fuzz seed corpora in tests/fuzz/corpus/ (STYLE.md 7).
# Run by hand after a change to a message format, then commit the
# result; neither CMake nor CI runs it. Needs a configured build tree
# (BUILD, default build/) and the openssl command.
#
#   corpus/p7_msg/  gen_seeds: every request type, cipher and digest,
#                   bare envelopes, hostile variants; jscep_*: the RFC
#                   8894 sample messages from jscep's src/samples (made
#                   by cryptlib, MIT licence, no key: they never open)
#   corpus/csr/     gen_seeds, jscep_scep_req0.der, openssl_*: "openssl
#                   req" with each challengePassword string type
#   corpus/certs/   gen_seeds (CertReps, p7_certs_build, p7_crl_build,
#                   p7_next_build), jscep_*, openssl_*: "openssl
#                   crl2pkcs7" with certificates, none, or a CRL
#   corpus/query/   gen_seeds: GET query strings and paths
#   corpus/conf/    hand-written, not touched here
#
# gen_seeds makes new fixed keys (fuzz_keys.inc) on every run; the files
# it writes always match them. Saved findings (crash-*) are kept.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-$root/build}
samples=${SAMPLES:-/work/shared/testdata/rfc8894-samples}

cmake --build "$build" --target gen_seeds
mkdir -p "$here"/corpus/{p7_msg,csr,certs,query}
"$build/tests/fuzz/gen_seeds" "$here"

cp "$samples/scep_req2.der" "$here/corpus/p7_msg/jscep_scep_req2.der"
cp "$samples/scep_resp2.der" "$here/corpus/p7_msg/jscep_scep_resp2.der"
cp "$samples/scep_req0.der" "$here/corpus/csr/jscep_scep_req0.der"
cp "$samples/scep_resp0.der" "$here/corpus/certs/jscep_scep_resp0.der"
cp "$samples/scep_resp2.der" "$here/corpus/certs/jscep_scep_resp2.der"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A CSR from "openssl req"; $1 name, $2 string_mask, $3 challenge or "",
# the rest: extra arguments (key type, -utf8).
csr() {
	local name=$1 mask=$2 challenge=$3
	shift 3
	{
		printf '[req]\nprompt = no\nstring_mask = %s\n' "$mask"
		printf 'distinguished_name = dn\n'
		[[ -n $challenge ]] && printf 'attributes = attrs\n'
		printf '[dn]\nCN = router1.example.com\nO = Example\n'
		[[ -n $challenge ]] &&
			printf '[attrs]\nchallengePassword = %s\n' "$challenge"
		true
	} >"$tmp/$name.cnf"
	openssl req -new -nodes -config "$tmp/$name.cnf" -keyout "$tmp/$name.key" \
		-outform DER -out "$here/corpus/csr/$name.der" "$@" 2>/dev/null
}
csr openssl_req_challenge_printable default 'AbC123xyz' -newkey rsa:2048
csr openssl_req_challenge_utf8 utf8only $'p\xc3\xa4ss-\xe2\x82\xac' -utf8 \
	-newkey rsa:2048
csr openssl_req_challenge_t61 default $'p\xc3\xa4ssw\xc3\xb6rd' -utf8 \
	-newkey rsa:2048
csr openssl_req_challenge_bmp default $'\xd0\xbf\xd0\xb0\xd1\x80\xd0\xbe\xd0\xbb\xd1\x8c' \
	-utf8 -newkey rsa:2048
csr openssl_req_ec_p256_no_challenge default '' \
	-newkey ec -pkeyopt ec_paramgen_curve:P-256
csr openssl_req_ed25519_challenge default 'secret' -newkey ed25519

# A two-certificate chain (CA, then leaf) as a certs-only SignedData.
openssl req -x509 -nodes -newkey rsa:2048 -keyout "$tmp/ca.key" \
	-subj '/CN=Example Issuing CA' -days 3650 -out "$tmp/ca.pem" 2>/dev/null
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	-keyout "$tmp/leaf.key" -subj '/CN=device-42' -out "$tmp/leaf.csr" \
	2>/dev/null
openssl x509 -req -in "$tmp/leaf.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
	-set_serial 42 -days 365 -out "$tmp/leaf.pem" 2>/dev/null
cat "$tmp/ca.pem" "$tmp/leaf.pem" >"$tmp/chain.pem"
openssl crl2pkcs7 -nocrl -certfile "$tmp/chain.pem" -outform DER \
	-out "$here/corpus/certs/openssl_crl2pkcs7_chain.der"
openssl crl2pkcs7 -nocrl -outform DER \
	-out "$here/corpus/certs/openssl_crl2pkcs7_empty.der"
# ... and a CRL from "openssl ca -gencrl" with its issuer.
printf '[ca]\ndefault_ca = d\n[d]\ndatabase = %s\ncrlnumber = %s\n' \
	"$tmp/index.txt" "$tmp/crlnumber" >"$tmp/ca.cnf"
printf 'default_md = sha256\ndefault_crl_days = 30\n' >>"$tmp/ca.cnf"
: >"$tmp/index.txt"
echo 01 >"$tmp/crlnumber"
openssl ca -config "$tmp/ca.cnf" -gencrl -keyfile "$tmp/ca.key" \
	-cert "$tmp/ca.pem" -out "$tmp/crl.pem" 2>/dev/null
openssl crl2pkcs7 -in "$tmp/crl.pem" -certfile "$tmp/ca.pem" -outform DER \
	-out "$here/corpus/certs/openssl_crl2pkcs7_crl_and_ca.der"

for d in p7_msg csr certs query; do
	printf '%-8s %3d files, largest %s bytes\n' "$d" \
		"$(find "$here/corpus/$d" -type f | wc -l)" \
		"$(find "$here/corpus/$d" -type f -printf '%s\n' | sort -n | tail -1)"
done
