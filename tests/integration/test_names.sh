#!/usr/bin/env bash
# Names (issue 10 section 3, docs/names.md), with strongSwan pki --scep as
# the client: a name pattern and SAN types on endpoint "demo" refuse
# CN=www.bank.example, DNS:*.google.com and an IP address with a FAILURE
# whose reason names the field (server log and audit); an allowed request
# gets O from the account, not the CSR; a renewal that changes the subject
# is refused, one that keeps it is not. Then: over-long scepctl names are
# refused (not cut), the audit CSV export neutralises hostile fields, and
# a database without the name columns gets them at open.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need pki timeout jq sqlite3
sg_setup
cd "$WORK"

sc() { "$SCEPCTL" --config "$CFG" "$@"; }

timeout 60 pki --scepca --url "$URL" --caout ca.der --raout ra.der \
	>scepca.log 2>&1 || sg_fail "pki --scepca failed: $(cat scepca.log)"

# enroll NAME DN [pki options]: key.der and cert.der in $WORK/NAME
enroll() {
	local d=$WORK/$1
	mkdir -p "$d"
	[[ -f $d/key.der ]] || pki --gen --type rsa --size 2048 --outform der \
		>"$d/key.der" 2>/dev/null
	timeout 60 pki --scep --url "$URL" --in "$d/key.der" --dn "$2" \
		--cacert-enc ra.der --cacert-sig ra.der --cacert ca.der \
		--maxpolltime 10 --interval 1 "${@:3}" >"$d/cert.der" 2>"$d/pki.log"
}

# refused NAME REASON DN [pki options]: FAILURE, REASON in log and audit.
refused() {
	local name=$1 reason=$2
	shift 2
	echo "refused: $name"
	if enroll "$name" "$@"; then
		sg_fail "$name: pki --scep succeeded"
	fi
	sg_pki_refused "$name"
	grep -qF "$reason" "$DIR/server.log" ||
		sg_fail "$name: no '$reason' in server.log: $(grep -i failure "$DIR/server.log" | tail -3)"
	sc audit list --json | jq -e --arg r "$reason" \
		'any(.[]; .details | contains($r))' >/dev/null ||
		sg_fail "$name: the audit does not say '$reason'"
}

subject_of() { # FILE.der
	openssl x509 -inform DER -in "$1" -noout -subject -nameopt RFC2253 |
		sed 's/^subject=//'
}

echo "endpoint policy: --name-pattern '*.example.com' --san-types dns,email"
sc endpoint edit demo --name-pattern '*.example.com' --san-types dns,email \
	--renewal-days 0 \
	>/dev/null || sg_fail "endpoint edit failed"
show=$(sc endpoint show demo --json)
jq -e '.name_pattern == "*.example.com" and .san_types == "dns,email" and
	.subject_org == "account" and .renewal_names == "same"' <<<"$show" \
	>/dev/null || sg_fail "endpoint show --json: $show"

# The measured request of issue 10, field by field. (pki --san writes
# DNS, IP and email names only: UPN and URI are in tests/unit/test_names.)
refused bank "CN www.bank.example does not match *.example.com" \
	"CN=www.bank.example, O=Other Org" --password "$CODE"
refused google "DNS name *.google.com does not match *.example.com" \
	"CN=www.example.com, O=Other Org" --san '*.google.com' --password "$CODE"
refused ipaddr "SAN type ip is not allowed on endpoint 'demo'" \
	"CN=ip.example.com" --san 10.0.0.1 --password "$CODE"

echo "allowed: CN=host1.example.com, DNS:host1.example.com; O from the account"
enroll host1 "CN=host1.example.com, O=Other Org, OU=Evil" \
	--san host1.example.com --password "$CODE" ||
	sg_fail "host1: pki --scep failed: $(cat host1/pki.log)"
subj=$(subject_of host1/cert.der)
[[ $subj == "CN=host1.example.com,O=Demo" ]] ||
	sg_fail "host1: subject is '$subj', not CN=host1.example.com,O=Demo"
openssl x509 -inform DER -in host1/cert.der -noout -ext subjectAltName |
	grep -q "DNS:host1.example.com" || sg_fail "host1: SAN missing"

echo "renewal changing the subject is refused"
refused renew-bad "differs from the certificate renewed on endpoint 'demo'" \
	"CN=other.example.com, O=Demo" --san host1.example.com \
	--cert host1/cert.der --key host1/key.der
echo "renewal keeping its names is issued"
enroll renew-ok "CN=host1.example.com, O=Other Org" --san host1.example.com \
	--cert host1/cert.der --key host1/key.der ||
	sg_fail "renew-ok: pki --scep failed: $(cat renew-ok/pki.log)"
subj=$(subject_of renew-ok/cert.der)
[[ $subj == "CN=host1.example.com,O=Demo" ]] ||
	sg_fail "renew-ok: subject is '$subj'"

echo "over-long names are refused, not cut"
long=$(printf 'n%.0s' $(seq 200))
if out=$(sc endpoint add "$long" --type device --uri longone 2>&1); then
	sg_fail "endpoint add took a 200-byte name: $out"
fi
grep -q "200 bytes is too long (at most 127)" <<<"$out" ||
	sg_fail "endpoint add: no clear message: $out"
if out=$(sc account add --endpoint demo --name a1 --org "$long" --term 30 2>&1); then
	sg_fail "account add took a 200-byte organization: $out"
fi
grep -q "too long" <<<"$out" || sg_fail "account add: no clear message: $out"
if sc endpoint list --json | jq -e 'any(.[]; .uri == "longone")' >/dev/null; then
	sg_fail "an endpoint was created under a cut name"
fi

echo "audit CSV export neutralises formulas and control characters"
db=$(sed -n 's/^[[:space:]]*database[[:space:]]*=[[:space:]]*"\(.*\)".*/\1/p' "$CFG")
db=${db#sqlite:}
[[ $db == /* ]] || db=$DIR/$db
[[ -f $db ]] || sg_fail "database '$db' not found from $CFG"
# A device chooses its transactionID: written as the audit would keep it.
sqlite3 "$db" "INSERT INTO audit(time, actor, endpoint, account, transid,
	action, outcome, details) VALUES(strftime('%s','now'), 'device', 'demo',
	'', '+evil' || char(1) || char(27) || '[31m', 'PKCSReq', 'failure',
	'=HYPERLINK(\"http://x\")');"
sc --actor '@SUM(1+1)' org add CsvOrg >/dev/null
csv=$(sc audit export --format csv)
grep -qF "\"'+evil\\x01\\x1b[31m\"" <<<"$csv" ||
	sg_fail "transactionID not neutralised: $(grep evil <<<"$csv")"
grep -qF "\"'=HYPERLINK(\"\"http://x\"\")\"" <<<"$csv" ||
	sg_fail "details not neutralised: $(grep HYPERLINK <<<"$csv")"
grep -qF "\"'@SUM(1+1)\"" <<<"$csv" ||
	sg_fail "actor not neutralised: $(grep SUM <<<"$csv")"
if LC_ALL=C grep -q $'[\x01\x1b]' <<<"$csv"; then
	sg_fail "a control character reached the CSV"
fi
# JSON keeps the value as it is (only CSV is for spreadsheets).
sc audit export --format json | jq -e 'any(.[]; .transid == "+evil\u0001\u001b[31m")' \
	>/dev/null || sg_fail "JSON export changed the transactionID"

echo "a database without the name columns gets them at open"
kill "$SG_PID"
wait "$SG_PID" 2>/dev/null || true
unset SG_PID
sqlite3 "$db" "UPDATE meta SET value = '2' WHERE key = 'schema_version';"
for c in san_types name_pattern subject_csr renewal_any; do
	sqlite3 "$db" "ALTER TABLE endpoint DROP COLUMN $c;"
done
show=$(sc endpoint show demo --json) || sg_fail "endpoint show on an old database failed"
jq -e '.san_types == "dns,ip,email" and .name_pattern == "" and
	.subject_org == "account" and .renewal_names == "same"' <<<"$show" \
	>/dev/null || sg_fail "old database: endpoint show --json: $show"

echo "PASS"
