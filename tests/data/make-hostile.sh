#!/bin/sh
#
# Regenerate the hostile inputs of tests/data/ (STYLE.md 7) from the
# RFC 8894 samples next to this script. Deterministic: no keys, no
# randomness, only openssl(1), od(1) and dd(1). Offsets are taken from
# "openssl asn1parse" so that they are not magic numbers. See README.md
# for what each file tests; test_p7.c holds the expected results.
#
set -eu
cd "$(dirname "$0")"

REQ=scep_req2.der	# outer SignedData of a PKCSReq
CSR=scep_req0.der	# the PKCS#10 inside it
CERTS=scep_resp0.der	# a degenerate certs-only SignedData

# Print "offset header-length length" of the first asn1parse line of
# file $1 matching the extended regular expression $2.
tlv() {
	openssl asn1parse -inform DER -in "$1" |
	    awk -v re="$2" '$0 ~ re {
		gsub(/= +/, "=");
		split($1, o, ":"); split($2, h, "="); split($3, l, "=");
		print o[1], h[2], l[2]; exit }'
}

# Write byte value $3 (decimal) at offset $2 of file $1.
putbyte() {
	printf "$(printf '\\%03o' "$3")" |
	    dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# Flip the lowest bit of the byte at offset $2 of file $1.
flip() {
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	putbyte "$1" "$2" $((b ^ 1))
}

size() {
	wc -c <"$1" | tr -d ' '
}

# An empty POST body.
: >empty.der

# The request cut in the middle of the eContent.
head -c 1200 "$REQ" >req2_truncated.der

# A valid request followed by bytes that are not part of it.
cp "$REQ" req2_trailing_garbage.der
printf 'GARBAGE\0\n' >>req2_trailing_garbage.der

# Not a ContentInfo at all: the signer certificate on its own.
openssl pkcs7 -inform DER -in "$REQ" -print_certs |
    openssl x509 -outform DER -out req2_bare_certificate.der

# A ContentInfo of the wrong type: the inner EnvelopedData sent bare.
set -- $(tlv "$REQ" 'd=4 .*cont \[ 0 \]')
openssl asn1parse -inform DER -in "$REQ" -strparse $(($1 + $2)) \
    -out req2_envelope_only.der -noout

# A SignedData whose eContentType is envelopedData, not id-data (the
# last byte of the OID 1.2.840.113549.1.7.1 becomes 3).
cp "$REQ" req2_econtent_type_enveloped.der
set -- $(tlv "$REQ" 'd=4 .*OBJECT .*:pkcs7-data')
putbyte req2_econtent_type_enveloped.der $(($1 + $2 + $3 - 1)) 3

# One bit of the RSA signature flipped (it is the last field).
cp "$REQ" req2_bad_signature.der
flip req2_bad_signature.der $(($(size "$REQ") - 8))

# One bit of the eContent flipped: messageDigest no longer matches.
cp "$REQ" req2_tampered_content.der
set -- $(tlv "$REQ" 'd=4 .*cont \[ 0 \]')
flip req2_tampered_content.der $(($1 + $2 + 200))

# A SEQUENCE header claiming 2 GiB, then nothing.
printf '\060\204\177\377\377\377\006\011\052\206\110\206\367\015\001\007\002' \
    >huge_length.der

# A length of length 8 with every bit set: overflows a long.
printf '\060\210\377\377\377\377\377\377\377\377\006\011' \
    >length_overflow.der

# id-data whose content is a BER constructed OCTET STRING nested 40 deep
# (OpenSSL allows 5): must fail cleanly, not recurse without end.
{
	printf '\060\200\006\011\052\206\110\206\367\015\001\007\001\240\200'
	i=0
	while [ $i -lt 40 ]; do printf '\044\200'; i=$((i + 1)); done
	printf '\004\001\101'
	i=0
	while [ $i -lt 42 ]; do printf '\000\000'; i=$((i + 1)); done
} >nested_ber_octets.der

# The PKCS#10 cut short, and with its self-signature damaged.
head -c 400 "$CSR" >req0_truncated.der
cp "$CSR" req0_bad_signature.der
flip req0_bad_signature.der $(($(size "$CSR") - 8))

# The certs-only SignedData cut short, and with trailing bytes.
head -c 500 "$CERTS" >resp0_truncated.der
cp "$CERTS" resp0_trailing_garbage.der
printf '\000\000' >>resp0_trailing_garbage.der
