#!/usr/bin/env bash
# One-time challenges and API tokens (issue 13, docs/challenges.md) with
# real clients: scepctl token add/list/revoke; a minted challenge enrolls
# micromdm's scepclient, a second enrollment with it fails, an expired
# one and a revoked one fail, strongSwan pki enrolls with another, a
# --cn requirement refuses another CN and then issues for the right one;
# cert show --json names the challenge and its minter, the audit names
# the challenge id; no code or token is in the server log, the audit
# export or the database file.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need scepclient pki timeout jq
sg_setup
cd "$WORK"

sc() { "$SCEPCTL" --config "$CFG" "$@"; }
secrets=()

# mint [options]: a challenge on "demo" minted by "it-minter"; prints
# the code, its JSON (without the code) stays in $WORK/last.json.
mint() {
	local out
	out=$("$SCEPCTL" --config "$CFG" --actor it-minter challenge add \
		--endpoint demo --json "$@") || sg_fail "challenge add $*: $out"
	jq -r .challenge <<<"$out"
	jq 'del(.challenge)' <<<"$out" >last.json
}

# enroll NAME CODE: scepclient enrolls CN=NAME in its own $WORK/NAME.
enroll() {
	mkdir "$WORK/$1"
	timeout 60 scepclient -server-url "$URL" -challenge "$2" \
		-private-key "$WORK/$1/key.pem" -certificate "$WORK/$1/cert.pem" \
		-cn "$1" >"$WORK/$1/client.log" 2>&1
}

# refused NAME CODE REASON: FAILURE and no certificate; REASON logged.
refused() {
	echo "refused: $1 ($3)"
	if enroll "$1" "$2"; then
		sg_fail "$1: scepclient succeeded"
	fi
	[[ ! -s $WORK/$1/cert.pem ]] || sg_fail "$1: a certificate was issued"
	grep -q 'request failed, failInfo' "$WORK/$1/client.log" ||
		sg_fail "$1: no SCEP FAILURE: $(cat "$WORK/$1/client.log")"
	grep -qF "$3" "$DIR/server.log" ||
		sg_fail "$1: no '$3' in server.log"
}

issued() { # NAME
	[[ -s $WORK/$1/cert.pem ]] ||
		sg_fail "$1: no certificate: $(cat "$WORK/$1/client.log")"
	openssl verify -CAfile "$DIR/ca.pem" "$WORK/$1/cert.pem" >/dev/null ||
		sg_fail "$1: the certificate does not chain to ca.pem"
}

echo "tokens: add, list, revoke"
out=$(sc token add jamf --scope challenge --endpoint demo)
tok=$(sg_field token <<<"$out")
[[ $tok == sgt_* && ${#tok} -eq 47 ]] || sg_fail "token add printed '$out'"
secrets+=("$tok")
tok2=$(sc token add reader --scope read --json | jq -r .token)
[[ $tok2 == sgt_* ]] || sg_fail "token add --json gave no token"
secrets+=("$tok2")
sc token list --json | jq -e 'map(.name) == ["jamf", "reader"] and
	all(.[]; .state == "active") and (tostring | contains("sgt_") | not)
	and (.[0].scope == "challenge" and .[0].endpoint == "demo")' \
	>/dev/null || sg_fail "token list: $(sc token list --json)"
sc token revoke reader >/dev/null || sg_fail "token revoke failed"
sc token list --json | jq -e '.[] | select(.name == "reader") |
	.state == "revoked"' >/dev/null || sg_fail "reader is not revoked"
if sc token revoke reader 2>/dev/null; then
	sg_fail "a revoked token was revoked again"
fi
if sc token add reader --scope read >/dev/null 2>&1; then
	sg_fail "a token name was reused"
fi
if sc token add bad --scope root >/dev/null 2>&1; then
	sg_fail "scope 'root' was accepted"
fi

echo "scepclient enrolls with a challenge"
c1=$(mint)
secrets+=("$c1")
id1=$(jq -r .id last.json)
jq -e '.status == "outstanding" and .account == "demo-devices" and
	.minted_by == "it-minter" and (.expires_at | test("Z$"))' last.json \
	>/dev/null || sg_fail "challenge add: $(cat last.json)"
enroll mdm-c1 "$c1" || sg_fail "mdm-c1: $(cat mdm-c1/client.log)"
issued mdm-c1
serial=$(sc cert list --json | jq -r --argjson id "$id1" \
	'map(select(.challenge_id == $id)) | if length == 1 then .[0].serial
	else empty end')
[[ -n $serial ]] || sg_fail "no one certificate with challenge $id1"
sc cert show "$serial" --json | jq -e --argjson id "$id1" \
	'.challenge_id == $id and .minted_by == "it-minter"' >/dev/null ||
	sg_fail "cert show: $(sc cert show "$serial" --json | jq -c 'del(.pem)')"
sc challenge list --endpoint demo --all --json | jq -e --argjson id "$id1" \
	--arg s "$serial" 'any(.[]; .id == $id and .status == "used" and
	.serial == $s)' >/dev/null || sg_fail "challenge $id1 is not used"
sc audit list --json | jq -e --arg w "with challenge $id1" \
	'any(.[]; .details | contains($w))' >/dev/null ||
	sg_fail "the audit does not name challenge $id1"

refused mdm-c1-again "$c1" "challenge $id1 already used"

echo "an expired challenge"
c2=$(mint --lifetime 2)
secrets+=("$c2")
id2=$(jq -r .id last.json)
sleep 3
refused mdm-expired "$c2" "challenge $id2 expired"

echo "a revoked challenge"
c3=$(mint)
secrets+=("$c3")
id3=$(jq -r .id last.json)
sc challenge list --endpoint demo --json | jq -e --argjson id "$id3" \
	'map(.id) == [$id]' >/dev/null ||
	sg_fail "outstanding: $(sc challenge list --endpoint demo --json)"
sc challenge revoke "$id3" >/dev/null || sg_fail "challenge revoke failed"
refused mdm-revoked "$c3" "challenge $id3 revoked"

echo "strongSwan pki enrolls with another challenge"
c4=$(mint)
secrets+=("$c4")
mkdir pki-c4
(cd pki-c4 && CODE=$c4 && sg_pki_enroll pki-c4 cert.der)
sg_pki_issued pki-c4 "$DIR/ca.pem"

echo "a CN requirement"
c5=$(mint --cn required-host)
secrets+=("$c5")
id5=$(jq -r .id last.json)
refused mdm-wrong-cn "$c5" "challenge $id5 requires CN 'required-host'"
enroll required-host "$c5" || sg_fail "required-host: $(cat required-host/client.log)"
issued required-host

echo "no code or token in the log, the audit or the database"
sc audit export --format json >audit.json
sc audit export --format csv >audit.csv
for s in "${secrets[@]}"; do
	for f in "$DIR/server.log" audit.json audit.csv "$DIR"/scepgate.db*; do
		if grep -qaF "$s" "$f"; then
			sg_fail "a secret (${s:0:4}...) is in $f"
		fi
	done
done
echo "ok"
