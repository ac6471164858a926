#!/usr/bin/env bash
# An MDM built for NDES (Fleet's NDES SCEP proxy, Jamf Pro's dynamic
# challenge): curl -u NAME:TOKEN fetches /certsrv/mscep_admin/ from the
# admin listener, the page is UTF-16LE with a byte-order mark and
# matches Fleet's regular expression, and its code enrolls micromdm
# scepclient at /certsrv/mscep/mscep.dll on the SCEP listener. At
# challenges.max_outstanding the page says "The password cache is
# full."; a wrong password gets 401.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need scepclient iconv timeout
sg_setup
APORT=$(sg_free_port)
sg_stop
sed -i 's/tls_port = 0;/tls_port = 0;\n  ndes_endpoint = "demo";/' "$CFG"
grep -q 'ndes_endpoint = "demo";' "$CFG" || sg_fail "no ndes_endpoint in $CFG"
printf 'admin = { port = %d; };\nchallenges = { max_outstanding = 2; };\n' \
	"$APORT" >>"$CFG"
sg_start
ADMIN=http://127.0.0.1:$APORT/certsrv/mscep_admin/
SCEP=http://127.0.0.1:$PORT/certsrv/mscep/mscep.dll

out=$("$SCEPCTL" --config "$CFG" token add ndes --scope challenge \
	--endpoint demo) || sg_fail "token add: $out"
TOK=$(sg_field 'token' <<<"$out")
[[ -n $TOK ]] || sg_fail "no token in: $out"
for _ in $(seq 50); do
	curl -s -o /dev/null --max-time 1 "$ADMIN" && break
	sleep 0.1
done

# page N [URL]: fetch the page with Basic auth into $WORK/N.{raw,html,hdr}.
page() {
	local code
	code=$(curl -sS -u "ndes:$TOK" -D "$WORK/$1.hdr" -o "$WORK/$1.raw" \
		-w '%{http_code}' "${2:-$ADMIN}")
	[[ $code == 200 ]] || sg_fail "page $1: HTTP $code"
	[[ $(head -c 2 "$WORK/$1.raw" | od -An -tx1 | tr -d ' ') == fffe ]] ||
		sg_fail "page $1: no UTF-16LE byte-order mark"
	grep -qi '^Content-Type: text/html; charset=utf-16' "$WORK/$1.hdr" ||
		sg_fail "page $1: $(grep -i content-type "$WORK/$1.hdr")"
	tail -c +3 "$WORK/$1.raw" | iconv -f UTF-16LE -t UTF-8 >"$WORK/$1.html" ||
		sg_fail "page $1 is not UTF-16LE"
}
# fleet N: the code Fleet's regular expression finds on page N.
fleet() {
	python3 - "$WORK/$1.html" <<'EOF'
import re, sys
m = re.search(r"(?i)The enrollment challenge password is: <B> (?P<password>\S*)",
              open(sys.argv[1]).read())
if not m:
    sys.exit("no challenge password on the page")
print(m.group("password"))
EOF
}

echo "the mscep_admin page, decoded from UTF-16, matched with Fleet's regex"
page p1
grep -q 'Network Device Enrollment Service' "$WORK/p1.html" ||
	sg_fail "not an NDES page: $(cat "$WORK/p1.html")"
code=$(fleet p1) || sg_fail "Fleet's regex: $(cat "$WORK/p1.html")"
[[ -n $code ]] || sg_fail "empty challenge"

echo "its code enrolls micromdm scepclient at /certsrv/mscep/mscep.dll"
mkdir "$WORK/ndes1"
timeout 60 scepclient -server-url "$SCEP" -challenge "$code" \
	-private-key "$WORK/ndes1/key.pem" -certificate "$WORK/ndes1/cert.pem" \
	-cn ndes-one >"$WORK/ndes1/client.log" 2>&1 ||
	sg_fail "scepclient: $(cat "$WORK/ndes1/client.log")"
openssl verify -CAfile "$DIR/ca.pem" "$WORK/ndes1/cert.pem" >/dev/null ||
	sg_fail "the certificate does not verify"
caps=$(curl -fsS "$SCEP/pkiclient.exe?operation=GetCACaps") ||
	sg_fail "GetCACaps at .../mscep.dll/pkiclient.exe"
[[ $caps == *POSTPKIOperation* ]] || sg_fail "GetCACaps: $caps"

echo "without the trailing slash too; then the cache is full at 2"
page p2 "${ADMIN%/}"
fleet p2 >/dev/null || sg_fail "page 2 has no password"
page p3
fleet p3 >/dev/null || sg_fail "page 3 has no password"
page p4
grep -q 'The password cache is full\.' "$WORK/p4.html" ||
	sg_fail "no cache-full text at the cap: $(cat "$WORK/p4.html")"
if fleet p4 >/dev/null 2>&1; then
	sg_fail "a password on the cache-full page"
fi

echo "a wrong password gets 401 with a Basic challenge"
code401=$(curl -sS -u "ndes:wrong$TOK" -D "$WORK/bad.hdr" -o /dev/null \
	-w '%{http_code}' "$ADMIN")
[[ $code401 == 401 ]] || sg_fail "wrong password: HTTP $code401"
grep -qi '^WWW-Authenticate: Basic' "$WORK/bad.hdr" ||
	sg_fail "401 without WWW-Authenticate: Basic"
code401=$(curl -sS -u "other:$TOK" -o /dev/null -w '%{http_code}' "$ADMIN")
[[ $code401 == 401 ]] || sg_fail "the token under another name: HTTP $code401"
! grep -qF "$TOK" "$DIR/server.log" || sg_fail "the token is in server.log"
! grep -qF "$code" "$DIR/server.log" || sg_fail "a challenge is in server.log"
echo "PASS"
