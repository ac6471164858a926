#!/usr/bin/env bash
# scepctl, command by command (issue #5): exit codes (0 ok, 1 failure,
# 2 usage), --help with an example, --json field names and values (jq),
# aligned tables, error messages that say what to do next, access codes
# that are shown once and never stored, the append-only audit log, and
# the effect of admin changes on a running scepgate. Enrollments use
# strongSwan pki (as test_strongswan.sh); without pki the enrollment part
# is skipped (and fails under CI).
#
# Every check is counted; the script goes on after a failed check and
# exits 1 at the end if any failed, so one run shows every problem.
# shellcheck disable=SC2016 # jq filters use $variables of their own
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need jq timeout
sg_setup
cd "$WORK"
# The Azure accounts the Intune endpoints below name: scepctl refuses an
# --azure name the configuration does not define. The running scepgate
# does not need them (no Intune enrollment here; test_intune.sh).
printf 'scepctl-test-azure-secret\n' >"$DIR/azure.secret"
chmod 600 "$DIR/azure.secret"
cat >>"$CFG" <<'EOF'
azure = (
  { name = "contoso"; tenant = "contoso.onmicrosoft.com";
    client_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
    client_secret_file = "azure.secret"; },
  { name = "fabrikam"; tenant = "fabrikam.onmicrosoft.com";
    client_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
    client_secret_file = "azure.secret"; }
);
EOF
BASE=${URL%/demo}	# http://127.0.0.1:PORT/scep

NPASS=0
NFAIL=0
pass() { NPASS=$((NPASS + 1)); }
bad() {
	NFAIL=$((NFAIL + 1))
	echo "FAIL: $*" >&2
}
check() { # DESC CMD...: CMD must succeed
	local desc=$1
	shift
	if "$@"; then pass; else bad "$desc"; fi
}

# x WANT ARGS...: runs "scepctl --config CFG ARGS"; OUT, ERR and RC keep
# its stdout, stderr and exit code; the exit code must be WANT.
# xr WANT ARGS...: the same without --config.
LAST=
x() { _run "$1" "$SCEPCTL" --config "$CFG" "${@:2}"; }
xr() { _run "$1" "$SCEPCTL" "${@:2}"; }
_run() {
	local want=$1
	shift
	LAST="scepctl ${*:2}"
	if OUT=$("$@" 2>"$WORK/stderr"); then RC=0; else RC=$?; fi
	ERR=$(<"$WORK/stderr")
	if [[ $RC == "$want" ]]; then
		pass
	else
		bad "$LAST: exit $RC, want $want; stdout: ${OUT:0:300}; stderr: ${ERR:0:300}"
	fi
}
out_has() { # STRING: stdout of the last command contains it
	if [[ $OUT == *"$1"* ]]; then pass; else bad "$LAST: stdout lacks '$1': ${OUT:0:400}"; fi
}
err_has() { # STRING: stderr of the last command contains it
	if [[ $ERR == *"$1"* ]]; then pass; else bad "$LAST: stderr lacks '$1': ${ERR:0:400}"; fi
}
jqt() { # [jq options] FILTER: the last stdout is JSON and FILTER is true
	local f=${!#}
	if jq -e "${@:1:$#-1}" "$f" <<<"$OUT" >/dev/null 2>&1; then
		pass
	else
		bad "$LAST: jq '$f' ${*:1:$#-1} is not true for: $(jq -c . <<<"$OUT" 2>&1 | head -c 600)"
	fi
}
keys_are() { # FILTER "k1,k2,...": the keys of FILTER's object, in order
	local got
	got=$(jq -r "$1 | keys_unsorted | join(\",\")" <<<"$OUT" 2>&1) || true
	if [[ $got == "$2" ]]; then pass; else bad "$LAST: keys of $1 are '$got', want '$2'"; fi
}
# The last stdout is a table whose columns line up under the header: at
# every column start of the header, each row has the two-space gap.
aligned() {
	local msg
	if msg=$(python3 -c '
import re, sys
rows = [l.rstrip("\n") for l in sys.stdin if l.strip()]
starts = [m.end() for m in re.finditer(r"\S(  +)(?=\S)", rows[0])]
for r in rows[1:]:
    p = r.ljust(max(starts + [0]) + 2)
    for b in starts:
        if p[b - 2:b] != "  ":
            print("column at %d: %r" % (b, r))
            sys.exit(1)
' <<<"$OUT"); then
		pass
	else
		bad "$LAST: table not aligned: $msg"
	fi
}
code_ok() { # CODE: a generated access code, 20 letters and digits
	if [[ $1 =~ ^[A-Za-z0-9]{20}$ ]]; then pass; else bad "$LAST: access code '$1' is not 20 letters and digits"; fi
}
CODES=("$CODE")	# every access code seen: none may be stored

echo "== global options, usage, exit codes"
xr 0 --help
out_has "usage: scepctl"
out_has "Exit codes: 0 ok, 1 failure, 2 usage"
xr 2
err_has "usage: scepctl"
xr 2 frobnicate
err_has "unknown command 'frobnicate'"
err_has "scepctl --help"
xr 2 --frob org list
xr 2 --config
_run 2 env -u SCEPGATE_CONFIG "$SCEPCTL" org list
err_has "--config FILE or set SCEPGATE_CONFIG"
check "SCEPGATE_CONFIG is used" env SCEPGATE_CONFIG="$CFG" "$SCEPCTL" org list >/dev/null
xr 1 --config "$WORK/nonexistent.cfg" org list
err_has "nonexistent.cfg"

echo "== --help on every command"
for c in init check-config org dept profile endpoint account request cert audit ra; do
	xr 0 "$c" --help
	out_has "usage: scepctl $c"
	out_has "example:"
done
for c in "endpoint add" "endpoint delegate" "account rotate-code" \
	"cert revoke" "audit export" "request approve" "ra export"; do
	# shellcheck disable=SC2086 # split "endpoint add" into two words
	xr 0 $c --help
	out_has "example:"
done

echo "== init"
code_ok "$CODE"
check "init URL ends in /scep/demo: $URL" test "${URL##*/scep/}" == demo
sum=$(sha256sum "$DIR/ca.pem" "$DIR/scepgate.cfg")
xr 1 init --dir "$DIR" --port "$PORT"
err_has "refusing to overwrite"
check "a refused init changed nothing" test "$sum" == "$(sha256sum "$DIR/ca.pem" "$DIR/scepgate.cfg")"
xr 2 init
xr 2 init --dir "$SG_TMP/x" --port 0
xr 2 init --dir "$SG_TMP/x" --port 65536
xr 2 init --dir "$SG_TMP/x" --port eighty
xr 2 init --dir "$SG_TMP/x" extra
xr 2 init --dir "$SG_TMP/x" --bogus
xr 1 init --dir "$SG_TMP/no/such/parent" --port 8080
xr 0 init --dir "$SG_TMP/inst2" --port 8081 --address 127.0.0.2
out_has "SCEP URL:    http://127.0.0.2:8081/scep/demo"
code2=$(sg_field 'access code' <<<"$OUT")
code_ok "$code2"
check "two inits give different codes" test "$code2" != "$CODE"
for f in ca.pem ca.key ra.pem ra.key secret.key scepgate.cfg scepgate.db; do
	check "init wrote $f" test -s "$SG_TMP/inst2/$f"
done
check "init keeps keys private" test "$(stat -c %a "$SG_TMP/inst2/ca.key" "$SG_TMP/inst2/secret.key" | sort -u)" == 600
xr 0 --config "$SG_TMP/inst2/scepgate.cfg" check-config
xr 1 init --dir "$SG_TMP/inst2"

echo "== check-config"
x 0 check-config
out_has "$CFG: OK"
x 0 check-config --describe
for k in listen.port database secret_file "ra[].id" upstream; do out_has "$k"; done
x 2 check-config extra
_run 0 env -u SCEPGATE_CONFIG "$SCEPCTL" check-config --describe
out_has "listen.port"
printf 'listen = { port = "not a number"; };\n' >"$WORK/broken.cfg"
xr 1 --config "$WORK/broken.cfg" check-config
err_has "broken.cfg"

echo "== org and dept"
x 0 --actor alice org add Acme
out_has "organization 'Acme' added"
x 1 org add Acme
err_has "already exists"
x 1 org add "bad/name"
err_has "letters, digits"
x 2 org add
x 2 org add A B
x 2 org frob
x 0 org list
out_has Acme
aligned
x 0 org list --json
jqt 'type == "array" and length == 2'
keys_are '.[0]' "id,name,scm_id"
jqt '[.[].name] | sort == ["Acme", "Demo"]'
jqt 'all(.[]; (.id | type) == "number" and .scm_id == 0)'
x 2 org list --json extra
x 1 org sync
err_has "the local upstream has no catalogue"
x 2 org sync extra
x 0 --actor alice dept add Acme Sales
out_has "department 'Sales' added to 'Acme'"
x 0 dept add Acme HR
x 0 dept add Demo Lab
x 1 dept add Acme Sales
err_has "already exists"
x 1 dept add Nowhere Sales
err_has "scepctl org add"
x 2 dept add Acme
x 0 dept list
aligned
out_has Sales
x 0 dept list Acme --json
keys_are '.[0]' "id,org,name,scm_id"
jqt '[.[] | "\(.org)/\(.name)"] == ["Acme/HR", "Acme/Sales"]'
x 0 dept list --json
jqt 'length == 3'
x 0 dept list Nowhere --json
jqt '. == []'
x 2 dept list A B

echo "== profile (the local upstream has no catalogue)"
x 0 profile list
out_has "SCM ID"
x 0 profile list --json
jqt '. == []'
x 1 profile sync
err_has "profile sync need upstream.type"
x 2 profile
x 2 profile frob
x 2 profile list extra

echo "== ra"
x 0 ra list
out_has "ra1"
aligned
x 0 ra list --json
jqt 'length == 1'
keys_are '.[0]' "id,subject,issuer,key_usage,serial,not_after,endpoints"
jqt '.[0].id == "ra1"'
jqt '.[0].key_usage | split(",") | index("keyEncipherment") != null'
jqt '.[0].key_usage | split(",") | index("digitalSignature") != null'
jqt '.[0].endpoints | split(",") == ["demo"]'
jqt '.[0].subject | contains("scepgate demo RA")'
rasub=$(openssl x509 -in "$DIR/ra.pem" -noout -serial | sed 's/^serial=//')
jqt --arg s "$rasub" '.[0].serial == $s'
jqt '.[0].not_after | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")'
x 0 ra show ra1 --json
keys_are '.' "id,subject,issuer,key_usage,serial,not_after,endpoints"
jqt '.issuer | contains("scepgate demo root CA")'
x 0 ra show ra1
out_has "key usage  digitalSignature,keyEncipherment"
x 1 ra show nosuch
err_has "scepctl ra list"
x 1 ra show
x 0 ra export ra1
check "ra export equals ra.pem" test "$OUT" == "$(<"$DIR/ra.pem")"
x 1 ra export nosuch
err_has "scepctl ra list"
x 2 ra
x 2 ra frob

echo "== endpoint add, list, show"
x 0 --actor alice endpoint add routers --type device --uri routers \
	--cacert-format pem --getcert-format single --renewal-days 10 \
	--ra ra1 --ra-enc ra1 --min-rsa 3072 --key-types rsa \
	--challenge-types printable,utf8
out_has "SCEP URL: $BASE/routers"
# pem (SCM's "Single PEM") is kept, with its caveat on stderr only.
err_has "warning: --cacert-format pem"
err_has 'micromdm'"'"'s scepclient fails with "x509: malformed certificate"'
check "the pem warning is not on stdout" test "${OUT/warning/}" == "$OUT"
x 0 endpoint add laptops --type client --uri laptops
check "no pem warning for cms-chain" test -z "$ERR"
x 0 endpoint add phones --type device-intune --uri phones --org Acme \
	--dept Sales --profile phones --term 90 --azure contoso
x 0 endpoint add tablets --type client-intune --uri tablets --org Acme \
	--profile tabs --term 30 --azure contoso
x 2 endpoint add kiosks --type device-intune --uri kiosks
err_has "Intune endpoints need --org and --term"
x 2 endpoint add kiosks --type client-intune --uri kiosks --org Acme
x 2 endpoint add kiosks --type device --uri kiosks --org Acme
err_has "for Intune endpoints"
x 2 endpoint add kiosks --type client --uri kiosks --term 30
x 2 endpoint add kiosks --type client --uri kiosks --azure a@b
x 1 endpoint add kiosks --type device-intune --uri kiosks --org Acme \
	--term 30 --azure nosuch
err_has "no azure account 'nosuch' (see scepctl azure list)"
x 1 endpoint add kiosks --type device --uri routers
err_has "already exists"
x 1 endpoint add routers --type device --uri kiosks
err_has "already exists"
x 2 endpoint add kiosks --type server --uri kiosks
err_has "device, client, device-intune or client-intune"
x 2 endpoint add kiosks --uri kiosks
x 2 endpoint add kiosks --type device
x 2 endpoint add --type device --uri kiosks
x 2 endpoint add kiosks --type device --uri kiosks --cacert-format p7
err_has "pem, der or cms-chain"
x 2 endpoint add kiosks --type device --uri kiosks --getcert-format all
err_has "single or full-chain"
x 2 endpoint add kiosks --type device --uri kiosks --renewal-days -1
x 2 endpoint add kiosks --type device --uri kiosks --min-rsa 512
x 2 endpoint add kiosks --type device --uri kiosks --key-types dsa
x 2 endpoint add kiosks --type device --uri kiosks --challenge-types t61
x 1 endpoint add kiosks --type device --uri "a/b"
err_has "URI extension"
x 1 endpoint add kiosks --type device --uri pkiclient.exe
x 1 endpoint add kiosks --type device --uri kiosks --ra ra9
err_has "RA certificate 'ra9'"
x 1 endpoint show kiosks
err_has "no endpoint named 'kiosks'"

x 0 endpoint list
out_has routers
aligned
x 0 endpoint list --json
jqt '[.[].name] == ["demo", "laptops", "phones", "routers", "tablets"]'
EPKEYS="id,name,uri,url,type,ra,ra_enc,cacert_format,getcert_format,renewal_days,min_rsa_bits,key_types,challenge_types,delegation,created,san_types,name_pattern,subject_org,renewal_names"
keys_are '.[] | select(.name == "demo")' "$EPKEYS"
keys_are '.[] | select(.name == "phones")' "$EPKEYS,intune"
jqt 'all(.[]; .url == "'"$BASE"'/" + .uri)'
jqt 'all(.[]; . as $e | $e.url | endswith("/scep/" + $e.uri))'
jqt '[.[] | .type] == ["device", "client", "device-intune", "device", "client-intune"]'
x 0 endpoint show routers --json
keys_are '.' "$EPKEYS"
jqt '.type == "device" and .uri == "routers" and .ra == "ra1" and .ra_enc == "ra1"'
jqt '.cacert_format == "pem" and .getcert_format == "single" and .renewal_days == 10'
jqt '.min_rsa_bits == 3072 and .key_types == "rsa" and .challenge_types == "printable,utf8"'
jqt '.delegation == "general" and (has("delegated_to") | not) and (has("intune") | not)'
jqt '.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")'
x 0 endpoint show --json laptops
jqt '.type == "client" and .cacert_format == "cms-chain" and .getcert_format == "full-chain"'
jqt '.renewal_days == 30 and .min_rsa_bits == 2048 and .key_types == "rsa,ec"'
jqt '.challenge_types == "printable,utf8,bmp,other"'
x 0 endpoint show phones --json
keys_are '.intune' "org,dept,profile,term_days,azure_account"
jqt '.intune == {"org": "Acme", "dept": "Sales", "profile": "phones", "term_days": 90, "azure_account": "contoso"}'
x 0 endpoint show tablets --json
jqt '.type == "client-intune" and .intune.dept == "" and .intune.term_days == 30'
x 0 endpoint show routers
out_has "url              $BASE/routers"
out_has "note             pem sends the RA certificate as PEM text"
x 0 endpoint show laptops
check "no pem note on a cms-chain endpoint" test "${OUT/note/}" == "$OUT"
x 2 endpoint show
x 2 endpoint list extra
x 2 endpoint frob
x 0 ra list --json
jqt '.[0].endpoints | split(",") == ["demo", "laptops", "phones", "routers", "tablets"]'

echo "== endpoint edit (the running server follows)"
curl -fsS "$BASE/routers?operation=GetCACert" >"$WORK/cacert.pem" ||
	bad "GetCACert on the new endpoint routers failed"
check "GetCACert of a pem endpoint is ra.pem" cmp -s "$WORK/cacert.pem" "$DIR/ra.pem"
x 0 endpoint edit routers --uri rtr --cacert-format der \
	--getcert-format full-chain --renewal-days 0 --min-rsa 2048 \
	--key-types rsa,ec --challenge-types printable
out_has "endpoint 'routers' updated"
x 0 endpoint show routers --json
jqt '.uri == "rtr" and .url == "'"$BASE"'/rtr"'
jqt '.cacert_format == "der" and .getcert_format == "full-chain"'
jqt '.renewal_days == 0 and .min_rsa_bits == 2048 and .key_types == "rsa,ec" and .challenge_types == "printable"'
jqt '.type == "device"'
curl -fsS -o "$WORK/cacert.der" "$BASE/rtr?operation=GetCACert" ||
	bad "GetCACert on the edited URI rtr failed"
check "GetCACert of a der endpoint is ra.pem in DER" cmp -s "$WORK/cacert.der" \
	<(openssl x509 -in "$DIR/ra.pem" -outform DER)
check "the old URI is gone" test "$(curl -s -o /dev/null -w '%{http_code}' \
	"$BASE/routers?operation=GetCACaps")" == 404
check "no pem warning when editing to der" test -z "$ERR"
x 0 endpoint edit routers --cacert-format pem
out_has "endpoint 'routers' updated"
err_has "warning: --cacert-format pem"
check "the pem warning is not on stdout" test "${OUT/warning/}" == "$OUT"
x 0 endpoint show routers --json
keys_are '.' "$EPKEYS"
jqt '.cacert_format == "pem"'
check "endpoint show --json: nothing on stderr" test -z "$ERR"
x 0 endpoint edit routers --cacert-format cms-chain
check "no pem warning when editing to cms-chain" test -z "$ERR"
curl -fsS -o "$WORK/cacert.p7" "$BASE/rtr?operation=GetCACert" ||
	bad "GetCACert (cms-chain) failed"
check "GetCACert of a cms-chain endpoint is a PKCS#7 with the RA cert" \
	grep -q "scepgate demo RA" <(openssl pkcs7 -inform DER -in "$WORK/cacert.p7" -print_certs 2>&1)
x 2 endpoint edit routers --type client
err_has "fixed once created"
x 1 endpoint edit routers --uri laptops
err_has "already exists"
x 1 endpoint edit routers --uri "bad uri"
x 1 endpoint edit routers --ra ra9
err_has "scepctl ra list"
x 2 endpoint edit routers --cacert-format p7
x 1 endpoint edit nosuch --uri x
err_has "no endpoint named 'nosuch'"
x 2 endpoint edit
x 1 endpoint edit phones --azure nosuch
err_has "no azure account 'nosuch' (see scepctl azure list)"
x 0 endpoint edit phones --profile phones2 --term 60 --azure fabrikam
x 0 endpoint show phones --json
jqt '.intune == {"org": "Acme", "dept": "Sales", "profile": "phones2", "term_days": 60, "azure_account": "fabrikam"}'
x 1 endpoint edit phones --org Demo
err_has "fixed"
x 1 endpoint edit phones --dept HR
err_has "fixed"
# Like "endpoint add", edit must refuse the Intune options on a plain
# SCEP endpoint (they belong to its accounts there).
x 2 endpoint edit routers --term 5
err_has "for Intune endpoints"
x 2 endpoint edit routers --profile p --azure a@b
x 0 endpoint show routers --json
jqt 'has("intune") | not'

echo "== delegation"
x 0 --actor alice endpoint delegate routers --org Acme/Sales
out_has "customized delegation"
x 0 endpoint show routers --json
jqt '.delegation == "customized" and .delegated_to == [{"org": "Acme", "dept": "Sales"}]'
x 0 endpoint list --json
jqt '.[] | select(.name == "routers") | .delegation == "customized"'
x 1 account add --endpoint routers --name r-demo --org Demo --term 30
err_has "not delegated to 'Demo'"
err_has "scepctl endpoint delegate"
x 1 account add --endpoint routers --name r-hr --org Acme --dept HR --term 30
err_has "delegate"
x 1 account add --endpoint routers --name r-acme --org Acme --term 30
err_has "delegate"
x 0 account add --endpoint routers --name r-sales --org Acme --dept Sales --term 30
CODES+=("$(sg_field 'access code' <<<"$OUT")")
x 0 endpoint delegate routers --org Acme --org Demo/Lab
x 0 endpoint show routers --json
jqt '.delegated_to == [{"org": "Acme", "dept": ""}, {"org": "Demo", "dept": "Lab"}]'
x 0 account add --endpoint routers --name r-hr --org Acme --dept HR --term 30
CODES+=("$(sg_field 'access code' <<<"$OUT")")
x 1 account add --endpoint routers --name r-demo --org Demo --term 30
err_has "delegate"
x 1 endpoint delegate routers --org Nowhere
err_has "Nowhere"
x 1 endpoint delegate routers --org Acme/Nowhere
err_has "Nowhere"
x 1 endpoint delegate nosuch --general
x 2 endpoint delegate routers
x 2 endpoint delegate routers --general --org Acme
x 2 endpoint delegate --general
x 2 endpoint delegate routers --org
x 0 endpoint delegate routers --general
out_has "general delegation"
x 0 endpoint show routers --json
jqt '.delegation == "general" and (has("delegated_to") | not)'
x 0 account add --endpoint routers --name r-demo --org Demo --term 30
CODES+=("$(sg_field 'access code' <<<"$OUT")")

echo "== accounts"
x 0 --actor alice account add --endpoint laptops --name lab --org Acme \
	--dept Sales --profile std --term 365
out_has "account 'lab' added to endpoint 'laptops'"
out_has "shown once"
labcode=$(sg_field 'access code' <<<"$OUT")
code_ok "$labcode"
CODES+=("$labcode")
x 0 account add --endpoint laptops --name lab2 --org Demo --term 30 --approval manual
lab2code=$(sg_field 'access code' <<<"$OUT")
code_ok "$lab2code"
CODES+=("$lab2code")
# Intune has no PENDING: no accounts, so no manual approval, there.
x 1 account add --endpoint phones --name p-manual --org Acme --term 30 \
	--approval manual
err_has "endpoint 'phones' is an Intune endpoint: it has no accounts"
check "two generated codes differ" test "$labcode" != "$lab2code"
x 0 account add --endpoint laptops --name own --org Demo --term 30 --access-code Secret12345
out_has "access code: Secret12345"
CODES+=(Secret12345)
x 1 account add --endpoint laptops --name bad --org Demo --term 30 --access-code Secret_12345
err_has "A-Z a-z 0-9 space ' ( ) + , - . / : = ?"
check "a refused code is not echoed" test "${ERR/Secret_12345/}" == "$ERR"
x 1 account add --endpoint laptops --name bad --org Demo --term 30 --access-code short1
# Admin-chosen codes may use the whole PrintableString set.
x 0 account add --endpoint demo --name pr-dash --org Demo --term 30 --access-code "Abc-123.x"
out_has "access code: Abc-123.x"
CODES+=("Abc-123.x")
x 0 account add --endpoint demo --name pr-all --org Demo --term 30 --access-code "Open (1+2), -./:=? 'x'"
out_has "access code: Open (1+2), -./:=? 'x'"
CODES+=("Open (1+2), -./:=? 'x'")
x 1 account add --endpoint demo --name pr-bad --org Demo --term 30 --access-code "Abc-123.x!"
err_has "A-Z a-z 0-9 space"
check "a refused code is not echoed" test "${ERR/Abc-123.x!/}" == "$ERR"
x 1 account add --endpoint laptops --name bad --org Demo --term 30 --access-code Secret12345
err_has "already exists"
x 1 account add --endpoint laptops --name lab --org Demo --term 30
err_has "already exists"
x 1 account add --endpoint laptops --name bad --org Nowhere --term 30
err_has "scepctl org add"
x 1 account add --endpoint laptops --name bad --org Demo --dept Nowhere --term 30
err_has "scepctl dept add"
x 1 account add --endpoint nosuch --name bad --org Demo --term 30
err_has "no endpoint named 'nosuch'"
x 1 account add --endpoint phones --name bad --org Acme --term 30
err_has "Intune endpoint"
x 1 account add --endpoint laptops --name "bad/name" --org Demo --term 30
x 2 account add --endpoint laptops --name bad --term 30
err_has "needs --name, --org and --term"
x 2 account add --endpoint laptops --name bad --org Demo
x 2 account add --endpoint laptops --name bad --org Demo --term 0
x 2 account add --endpoint laptops --name bad --org Demo --term 3651
x 2 account add --endpoint laptops --name bad --org Demo --term 30 --approval later
x 2 account add --name bad --org Demo --term 30
err_has "--endpoint NAME --name N"
x 2 account add --endpoint laptops --name bad --org Demo --term 30 extra

x 0 account list --endpoint laptops
out_has lab2
aligned
x 0 account list --endpoint laptops --json
ACKEYS="id,endpoint,name,org,dept,profile,term_days,approval,state,created"
keys_are '.[0]' "$ACKEYS"
jqt '[.[].name] == ["lab", "lab2", "own"]'
jqt '[.[] | keys[] | select(test("code|hmac|secret"))] == []'
jqt '.[0] | .endpoint == "laptops" and .org == "Acme" and .dept == "Sales" and .profile == "std" and .term_days == 365 and .approval == "auto" and .state == "enabled"'
jqt '.[1] | .org == "Demo" and .dept == "" and .approval == "manual"'
check "no access code in account list --json" test "${OUT/$labcode/}" == "$OUT"
x 1 account list --endpoint nosuch
x 2 account list
x 0 account show --endpoint laptops --name lab --json
keys_are '.' "$ACKEYS"
jqt '.name == "lab" and .state == "enabled"'
x 0 account show --endpoint laptops --name lab
out_has "rotate-code"
check "no access code in account show" test "${OUT/$labcode/}" == "$OUT"
x 1 account show --endpoint laptops --name nosuch
err_has "no account 'nosuch' on endpoint 'laptops'"
x 2 account show --endpoint laptops
err_has "needs --name"

x 0 account edit --endpoint laptops --name lab --term 730 --profile gold --approval manual
x 0 account show --endpoint laptops --name lab --json
jqt '.term_days == 730 and .profile == "gold" and .approval == "manual" and .org == "Acme" and .dept == "Sales"'
x 0 account edit --endpoint laptops --name lab --approval auto
x 0 account show --endpoint laptops --name lab --json
jqt '.term_days == 730 and .approval == "auto"'
x 1 account edit --endpoint laptops --name lab --org Demo
err_has "organization and department are fixed"
x 1 account edit --endpoint laptops --name lab --dept HR
err_has "fixed"
x 2 account edit --endpoint laptops --name lab --access-code Other12345
err_has "rotate-code"
x 2 account edit --endpoint laptops --name lab --term 0
x 1 account edit --endpoint laptops --name nosuch --term 5
x 0 account show --endpoint laptops --name lab --json
jqt '.org == "Acme" and .dept == "Sales"'

x 0 --actor alice account rotate-code --endpoint laptops --name lab
out_has "shown once"
newcode=$(sg_field 'access code' <<<"$OUT")
code_ok "$newcode"
check "rotate-code gives a new code" test "$newcode" != "$labcode"
CODES+=("$newcode")
x 1 account rotate-code --endpoint laptops --name nosuch
x 2 account rotate-code --endpoint laptops

x 0 account disable --endpoint laptops --name lab
x 0 account show --endpoint laptops --name lab --json
jqt '.state == "disabled" and .term_days == 730'
x 0 account list --endpoint laptops --json
jqt '.[] | select(.name == "lab") | .state == "disabled"'
x 0 account enable --endpoint laptops --name lab
x 0 account show --endpoint laptops --name lab --json
jqt '.state == "enabled"'
x 1 account disable --endpoint laptops --name nosuch
x 1 account enable --endpoint nosuch --name lab
x 2 account frob --endpoint laptops --name lab

x 0 --actor alice account delete --endpoint laptops --name own
x 1 account delete --endpoint laptops --name own
err_has "no account 'own'"
x 0 account list --endpoint laptops --json
jqt '[.[].name] == ["lab", "lab2"]'

echo "== requests and certificates without enrollments"
x 0 request list --json
jqt '. == []'
x 0 request list
out_has "ID"
x 2 request list --status finished
err_has "new, pending, issued or rejected"
x 1 request approve 999
err_has "no request 999"
x 1 request reject 999 --reason "not ours"
err_has "no request 999"
x 2 request approve abc
x 2 request approve
x 2 request reject 999
x 2 request
x 0 cert list --json
jqt '. == []'
x 2 cert list --status expired
err_has "valid, revoked or superseded"
x 1 cert show 0123ABCD
err_has "no certificate with serial"
x 1 cert revoke 0123ABCD --reason keyCompromise
x 2 cert revoke 0123ABCD --reason stolen
err_has "keyCompromise"
x 2 cert revoke 0123ABCD
x 2 cert show
x 2 cert
# Unknown options are usage errors (exit 2), as in every other command.
x 2 request list --bogus
x 2 cert list --bogus
x 2 audit list --bogus
x 2 ra list --bogus

echo "== enrollments (strongSwan pki)"
HAVE_PKI=false
if command -v pki >/dev/null; then
	HAVE_PKI=true
elif [[ -n ${CI:-} ]]; then
	bad "pki is not installed (CI=$CI, run scripts/deps.sh)"
else
	echo "SKIP: pki is not installed: no enrollments (scripts/deps.sh installs it)" >&2
fi

# enroll NAME URL PASSWORD [pki options]: key and cert.der in $WORK/NAME
enroll() {
	local d=$WORK/$1
	mkdir -p "$d"
	pki --gen --type rsa --size 2048 --outform der >"$d/key.der" 2>/dev/null
	timeout 90 pki --scep --url "$2" --in "$d/key.der" \
		--dn "CN=$1,O=scepgate" --password "$3" \
		--cacert-enc "$WORK/ra.der" --cacert-sig "$WORK/ra.der" \
		--cacert "$WORK/ca.der" --maxpolltime "${POLL:-10}" --interval 1 \
		"${@:4}" >"$d/cert.der" 2>"$d/pki.log"
}
# issued NAME: cert.der exists and chains to ca.pem; SERIAL gets its serial
issued() {
	local d=$WORK/$1
	SERIAL=
	if [[ -s $d/cert.der ]] &&
		openssl x509 -inform DER -in "$d/cert.der" -out "$d/cert.pem" &&
		openssl verify -CAfile "$DIR/ca.pem" "$d/cert.pem" >/dev/null; then
		SERIAL=$(openssl x509 -in "$d/cert.pem" -noout -serial | sed 's/^serial=//')
		pass
	else
		bad "$1: no valid certificate: $(tail -5 "$d/pki.log")"
	fi
}
refused() { # NAME: pki got a FAILURE reply and no certificate
	if [[ ! -s $WORK/$1/cert.der ]] &&
		grep -q "reply status is not 'SUCCESS'" "$WORK/$1/pki.log"; then
		pass
	else
		bad "$1: expected a SCEP FAILURE: $(tail -5 "$WORK/$1/pki.log")"
	fi
}
# wait_pending N: until "request list --status pending" has N entries
wait_pending() {
	for _ in $(seq 100); do
		[[ $("$SCEPCTL" --config "$CFG" request list --status pending \
			--json | jq length) == "$1" ]] && return 0
		sleep 0.2
	done
	bad "no $1 pending request(s) after 20 s"
	return 1
}

if $HAVE_PKI; then
	timeout 60 pki --scepca --url "$URL" --caout "$WORK/ca.der" \
		--raout "$WORK/ra.der" >"$WORK/scepca.log" 2>&1 ||
		bad "pki --scepca: $(cat "$WORK/scepca.log")"

	echo "-- automatic enrollment on demo"
	enroll ok1 "$URL" "$CODE" || true
	issued ok1
	s1=$SERIAL
	enroll wrong1 "$URL" "wrong$CODE" || true
	refused wrong1

	x 0 cert list --json
	jqt 'length == 1'
	keys_are '.[0]' "serial,endpoint,account,subject,not_before,not_after,status,revoked_at,reason,challenge_id,minted_by"
	jqt --arg s "$s1" '.[0] | .serial == $s and .endpoint == "demo" and .account == "demo-devices" and .status == "valid" and .revoked_at == "" and .reason == ""'
	jqt '.[0].subject | contains("CN=ok1")'
	x 0 cert list
	out_has "$s1"
	aligned
	x 0 cert list --endpoint demo --status valid --json
	jqt 'length == 1'
	x 0 cert list --endpoint laptops --json
	jqt '. == []'
	x 0 cert list --status revoked --json
	jqt '. == []'
	x 0 cert show "$s1" --json
	keys_are '.' "serial,endpoint,account,subject,not_before,not_after,status,revoked_at,reason,challenge_id,minted_by,pem"
	jqt '.pem | startswith("-----BEGIN CERTIFICATE-----")'
	x 0 cert show "$s1" --pem
	printf '%s\n' "$OUT" >"$WORK/show.pem"
	check "cert show --pem verifies against ca.pem" \
		openssl verify -CAfile "$DIR/ca.pem" "$WORK/show.pem"
	check "cert show --pem is the enrolled certificate" \
		cmp -s <(openssl x509 -in "$WORK/show.pem" -outform DER) "$WORK/ok1/cert.der"
	x 0 cert show "$s1"
	out_has "status      valid"
	x 0 request list --json
	keys_are '.[0]' "id,endpoint,account,transid,type,status,subject,serial,order,reason,peer,created"
	jqt --arg s "$s1" 'any(.[]; .status == "issued" and .serial == $s and .endpoint == "demo" and .account == "demo-devices" and .type == "PKCSReq" and .peer == "127.0.0.1")'
	x 0 request list --status issued --json
	jqt 'all(.[]; .status == "issued")'
	x 0 request list
	aligned

	echo "-- rotate-code, disable, enable against the server"
	x 0 account rotate-code --endpoint demo --name demo-devices
	democode=$(sg_field 'access code' <<<"$OUT")
	CODES+=("$democode")
	enroll oldcode "$URL" "$CODE" || true
	refused oldcode
	enroll newcode "$URL" "$democode" || true
	issued newcode
	x 0 account disable --endpoint demo --name demo-devices
	enroll disabled "$URL" "$democode" || true
	refused disabled
	x 0 account enable --endpoint demo --name demo-devices
	enroll enabled "$URL" "$democode" || true
	issued enabled

	echo "-- manual approval: approve, reject, pending requests"
	x 0 endpoint add manual --type device --uri manual
	x 0 account add --endpoint manual --name m1 --org Demo --term 30 --approval manual
	mcode=$(sg_field 'access code' <<<"$OUT")
	CODES+=("$mcode")
	POLL=60 enroll approve-me "$BASE/manual" "$mcode" &
	pid=$!
	wait_pending 1 || true
	x 0 request list --status pending --json
	jqt '.[0] | .endpoint == "manual" and .account == "m1" and .type == "PKCSReq" and .status == "pending" and (.subject | contains("CN=approve-me")) and .serial == ""'
	rid=$(jq '.[0].id' <<<"$OUT")
	rtid=$(jq -r '.[0].transid' <<<"$OUT")
	x 0 --actor alice request approve "$rid"
	out_has "request $rid approved"
	wait "$pid" || true
	issued approve-me
	s2=$SERIAL
	x 1 request approve "$rid"
	err_has "not waiting for approval"
	x 1 request reject "$rid" --reason late
	x 0 request list --json
	jqt --argjson id "$rid" --arg s "$s2" '.[] | select(.id == $id) | .status == "issued" and .serial == $s'

	POLL=60 enroll reject-me "$BASE/manual" "$mcode" &
	pid=$!
	wait_pending 1 || true
	x 0 request list --status pending --json
	jid=$(jq '.[0].id' <<<"$OUT")
	jtid=$(jq -r '.[0].transid' <<<"$OUT")
	x 1 endpoint delete manual
	err_has "1 pending request"
	err_has "--force"
	x 2 request reject "$jid"
	x 0 --actor bob request reject "$jid" --reason "not ours"
	out_has "request $jid rejected"
	wait "$pid" || true
	refused reject-me
	x 1 request approve "$jid"
	x 0 request list --status rejected --json
	jqt --argjson id "$jid" 'any(.[]; .id == $id and .status == "rejected" and (.reason | contains("not ours")))'

	echo "-- revoke"
	x 0 --actor alice cert revoke "$s2" --reason keyCompromise
	out_has "revoked"
	x 1 cert revoke "$s2" --reason keyCompromise
	x 2 cert revoke "$s2" --reason stolen
	x 0 cert show "$s2" --json
	jqt '.status == "revoked" and .reason == "keyCompromise" and (.revoked_at | test("^[0-9]{4}-.*Z$"))'
	x 0 cert list --status revoked --json
	jqt --arg s "$s2" '[.[].serial] == [$s]'
	x 0 cert list --endpoint manual --json
	jqt '.[0].account == "m1"'
	slow=$(tr 'A-F' 'a-f' <<<"$s1")
	x 0 cert revoke "$slow" --reason superseded
	x 0 cert show "$s1" --json
	jqt '.status == "revoked" and .reason == "superseded"'
	x 0 cert show "$s1"
	out_has "status      revoked, superseded"
fi

echo "== audit"
x 0 audit list --json
AUKEYS="id,time,actor,endpoint,account,transid,action,outcome,details"
keys_are '.[0]' "$AUKEYS"
jqt '[.[].id] | . == sort'
jqt 'all(.[]; .time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$"))'
jqt 'all(.[]; .outcome | IN("success", "failure", "pending"))'
jqt 'any(.[]; .actor == "scepctl-init" and .action == "endpoint add" and .endpoint == "demo")'
jqt 'any(.[]; .actor == "alice" and .action == "org add" and .details == "Acme" and .outcome == "success")'
jqt 'any(.[]; .actor == "alice" and .action == "dept add" and .details == "Acme/Sales")'
jqt 'any(.[]; .actor == "alice" and .action == "endpoint add" and .endpoint == "routers")'
jqt 'any(.[]; .actor == "alice" and .action == "endpoint delegate" and .endpoint == "routers" and (.details | contains("Acme/Sales")))'
jqt 'any(.[]; .actor == "alice" and .action == "account add" and .endpoint == "laptops" and .account == "lab")'
jqt 'any(.[]; .actor == "alice" and .action == "account rotate-code" and .account == "lab")'
jqt 'any(.[]; .actor == "alice" and .action == "account delete" and .account == "own")'
jqt 'any(.[]; .action == "account edit" and .account == "lab" and .details == "disabled")'
jqt 'any(.[]; .action == "account edit" and .account == "lab" and .details == "enabled")'
jqt 'any(.[]; .action == "endpoint edit" and .endpoint == "routers" and .outcome == "success")'
jqt 'any(.[]; .action == "org add" and .outcome == "failure" and (.details | startswith("Acme: ")))'
me=$(id -un)
jqt --arg me "$me" 'any(.[]; .actor == $me and .action == "endpoint add" and .endpoint == "laptops")'
# Nothing read-only is audited.
jqt 'all(.[]; .action | test("list|show|export") | not)'
if $HAVE_PKI; then
	jqt 'any(.[]; .action == "PKCSReq" and .outcome == "success" and .endpoint == "demo" and .account == "demo-devices" and (.transid | length > 0) and (.actor | startswith("device@")))'
	jqt 'any(.[]; .action == "PKCSReq" and .outcome == "failure" and .endpoint == "demo" and (.transid | length > 0))'
	jqt --arg t "$rtid" 'any(.[]; .action == "PKCSReq" and .outcome == "pending" and .transid == $t and .account == "m1")'
	jqt 'any(.[]; .actor == "alice" and .action == "request approve" and .outcome == "success" and .endpoint == "manual" and .account == "m1")'
	jqt 'any(.[]; .actor == "bob" and .action == "request reject" and .outcome == "success")'
	jqt 'any(.[]; .actor == "alice" and .action == "cert revoke" and .outcome == "success")'
	# Every record names the transaction, endpoint and account it is about:
	# approving, rejecting, and the CertPoll that delivers the outcome.
	jqt --arg t "$rtid" 'any(.[]; .action == "request approve" and .transid == $t)'
	jqt --arg t "$jtid" 'any(.[]; .action == "request reject" and .outcome == "success" and .endpoint == "manual" and .account == "m1" and .transid == $t)'
	jqt --arg t "$rtid" 'any(.[]; .action == "CertPoll" and .outcome == "success" and .transid == $t and .account == "m1")'
	jqt --arg t "$jtid" 'any(.[]; .action == "CertPoll" and .outcome == "failure" and .transid == $t and .account == "m1")'
	jqt --arg s "$s2" 'any(.[]; .action == "cert revoke" and (.details | contains($s)) and .endpoint == "manual" and .account == "m1")'
fi
total=$(jq length <<<"$OUT")
x 0 audit list
aligned
x 0 audit list --endpoint laptops --json
jqt 'length > 0 and all(.[]; .endpoint == "laptops")'
x 0 audit list --endpoint laptops --account lab --json
jqt 'length > 0 and all(.[]; .endpoint == "laptops" and .account == "lab")'
x 0 audit list --account never-used --json
jqt '. == []'
x 0 audit list --outcome failure --json
jqt 'length > 0 and all(.[]; .outcome == "failure")'
x 0 audit list --outcome success --json
jqt 'length > 0 and all(.[]; .outcome == "success")'
x 2 audit list --outcome succeeded
x 0 audit list --since 2999-01-01 --json
jqt '. == []'
x 0 audit list --since 2999-01-01T00:00:00Z --json
jqt '. == []'
x 0 audit list --until 1970-01-02 --json
jqt '. == []'
x 0 audit list --since 1 --until 32503680000 --json
jqt --argjson n "$total" 'length == $n'
today=$(date -u +%Y-%m-%d)
x 0 audit list --since "$today" --json
jqt --argjson n "$total" 'length == $n'
x 2 audit list --since yesterday
err_has "YYYY-MM-DD"
x 2 audit list --until 2026-13-45
x 2 audit
x 2 audit frob
x 0 audit export --format json
jqt --argjson n "$total" 'length == $n'
keys_are '.[0]' "$AUKEYS"
x 0 audit export --format json --endpoint routers
jqt 'length > 0 and all(.[]; .endpoint == "routers")'
x 0 audit export --format csv
printf '%s\n' "$OUT" >"$WORK/audit.csv"
check "audit.csv: header and $total rows (python3 csv)" python3 - "$WORK/audit.csv" "$total" <<'EOF'
import csv, sys
with open(sys.argv[1], newline="") as f:
    rows = list(csv.reader(f))
assert rows[0] == ["id", "time", "actor", "endpoint", "account",
    "transid", "action", "outcome", "details"], rows[0]
assert len(rows) == int(sys.argv[2]) + 1, len(rows)
assert all(len(r) == 9 for r in rows), [r for r in rows if len(r) != 9]
assert any(r[2] == "alice" and r[6] == "org add" for r in rows[1:])
EOF
x 0 audit export --format csv --since 2999-01-01
check "empty CSV export is the header only" test "$OUT" == \
	"id,time,actor,endpoint,account,transid,action,outcome,details"
x 2 audit export
err_has "--format csv|json"
x 2 audit export --format xml

echo "== the audit log is append-only"
check "audit rejects UPDATE and DELETE" python3 - "$DIR/scepgate.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
n = db.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
for sql in ("UPDATE audit SET actor = 'mallory'", "DELETE FROM audit",
        "UPDATE audit SET outcome = 'success' WHERE outcome = 'failure'"):
    try:
        db.execute(sql)
        db.commit()
    except sqlite3.DatabaseError as e:
        assert "append-only" in str(e), e
        db.rollback()
    else:
        sys.exit("allowed: " + sql)
assert db.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == n
assert db.execute("SELECT COUNT(*) FROM audit WHERE actor = 'mallory'").fetchone()[0] == 0
EOF
x 0 audit list --json
jqt --argjson n "$total" 'length == $n'

echo "== endpoint delete"
x 1 endpoint delete routers
err_has "3 account(s)"
err_has "--force"
x 0 endpoint show routers --json
x 0 --actor alice endpoint delete routers --force
out_has "endpoint 'routers' deleted"
x 1 endpoint show routers
x 1 account list --endpoint routers
x 1 endpoint delete routers --force
err_has "no endpoint named 'routers'"
x 0 endpoint delete tablets
x 2 endpoint delete
x 2 endpoint delete a b
x 0 endpoint list --json
jqt 'all(.[]; .name != "routers" and .name != "tablets")'
x 0 ra list --json
jqt '.[0].endpoints | split(",") | index("routers") == null'
x 0 audit list --endpoint routers --json
jqt 'any(.[]; .action == "endpoint delete" and .outcome == "failure")'
jqt 'any(.[]; .action == "endpoint delete" and .outcome == "success" and .actor == "alice" and .details == "forced")'
if $HAVE_PKI; then
	x 0 endpoint delete manual --force
fi

echo "== access codes are never stored"
for f in "$DIR/scepgate.db" "$DIR/scepgate.db-wal" "$DIR/server.log" "$WORK/audit.csv"; do
	[[ -e $f ]] || continue
	for c in "${CODES[@]}"; do
		[[ -n $c ]] || { bad "an access code was not captured"; continue; }
		n=$(grep -a -c -F -- "$c" "$f" || true)
		check "access code found $n time(s) in $f" test "$n" == 0
	done
done
check "${#CODES[@]} access codes checked" test "${#CODES[@]}" -ge 8

echo "$NPASS checks passed, $NFAIL failed"
((NFAIL == 0)) || sg_fail "$NFAIL check(s) failed (see FAIL: lines above)"
echo "PASS"
