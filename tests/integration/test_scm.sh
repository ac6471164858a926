#!/usr/bin/env bash
# The "scm" upstream against tests/doubles/scm (reference/scm-rest-api.md 5):
# strongSwan pki --scep enrolls a device with 2 pending collects (PENDING,
# then CertPoll), with manual approval at SCM, through a burst of 429s,
# with the password, OAuth and client-certificate logins, and a client
# (S/MIME) certificate with an email SAN. A declined order, a client CSR
# without email and bad credentials end in FAILURE; no secret reaches the
# server log or the database; scepctl cert revoke reaches SCM. scepctl
# org sync and profile sync copy the double's catalogue, after which
# account add refuses profiles and terms SCM would refuse.
#
# SCM_DOUBLE is the scm-double binary (default: next to scepgate in the
# build tree). SCM_EXAMPLE=FILE saves one enrollment's request/response
# pairs (redacted) there, for docs/upstream-scm.md.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need pki timeout sqlite3
: "${SCEPGATE:?SCEPGATE is not set (run through ctest)}"
SCM_DOUBLE=${SCM_DOUBLE:-$(dirname "$SCEPGATE")/../tests/doubles/scm/scm-double}
[[ -x $SCM_DOUBLE ]] || sg_fail "no scm-double at $SCM_DOUBLE"
sg_setup
cd "$WORK"


# ---- the double ----
SCM_DIR=$SG_TMP/scm
SCM_PORT=$(sg_free_port)
SCM_TLS_PORT=$(sg_free_port)
SCM=http://127.0.0.1:$SCM_PORT
"$SCM_DOUBLE" --port "$SCM_PORT" --tls-port "$SCM_TLS_PORT" \
	--ca-dir "$SCM_DIR" --pending 2 >"$SG_TMP/scm.out" 2>"$SG_TMP/scm.log" &
SCM_PID=$!
scm_cleanup() {
	local rc=$?
	kill "$SCM_PID" 2>/dev/null || true
	wait "$SCM_PID" 2>/dev/null || true
	sg_check_log "$rc" "$SG_TMP/scm.log" "scm-double's log" 30 || rc=$?
	(exit "$rc")
	sg_cleanup
}
trap scm_cleanup EXIT
for _ in $(seq 100); do
	curl -fs -o /dev/null --max-time 1 "$SCM/__test/config" && break
	kill -0 "$SCM_PID" 2>/dev/null || sg_fail "scm-double exited at start"
	sleep 0.1
done
curl -fs -o /dev/null "$SCM/__test/config" || sg_fail "scm-double not up"

# hook JSON: POST /__test/config
hook() {
	curl -fs -o /dev/null -H 'Content-Type: application/json' -d "$1" \
		"$SCM/__test/config" || sg_fail "test hook $1"
}
# The double's state as JSON, and a Python expression over it ("s").
state() {
	curl -fs "$SCM/__test/state" | python3 -c "import json, sys
s = json.load(sys.stdin)
print($1)"
}
seq_now() {
	curl -fs "$SCM/__test/log" | python3 -c 'import json, sys
l = json.load(sys.stdin); print(l[-1]["seq"] if l else 0)'
}

# ---- scepgate on the double ----
PASSWORD=$(cat "$SCM_DIR/password.txt")
SECRET=$(cat "$SCM_DIR/client_secret.txt")
install -m 600 "$SCM_DIR/password.txt" "$DIR/scm.password"
install -m 600 "$SCM_DIR/client_secret.txt" "$DIR/scm.secret"
cp "$SCM_DIR/ca.pem" "$DIR/scm-chain.pem"

# upstream LOGIN-METHOD [SMIME-VERSION [TIMEOUT]]: rewrite the upstream
# line of the config.
upstream() {
	local u
	case $1 in
	password)
		u="url = \"$SCM/api\"; auth = \"password\"; login = \"scep-gateway\";"
		u+=" password_file = \"scm.password\"; customer_uri = \"examplecorp\";" ;;
	oauth)
		u="url = \"$SCM/api\"; auth = \"oauth\"; client_id = \"scepgate-client\";"
		u+=" client_secret_file = \"scm.secret\";"
		u+=" token_url = \"$SCM/auth/realms/apiclients/protocol/openid-connect/token\";" ;;
	client-cert)
		u="url = \"https://127.0.0.1:$SCM_TLS_PORT/api\"; auth = \"client-cert\";"
		u+=" login = \"scep-gateway\"; customer_uri = \"examplecorp\";"
		u+=" client_cert = \"$SCM_DIR/client.pem\"; client_key = \"$SCM_DIR/client.key\";"
		u+=" tls_ca_file = \"$SCM_DIR/root.pem\";" ;;
	esac
	sed -i "s|^upstream = .*|upstream = { type = \"scm\"; $u smime_api_version = ${2:-1}; timeout = ${3:-20}; poll_interval = 2; ca_chain = \"scm-chain.pem\"; };|" "$CFG"
	"$SCEPCTL" --config "$CFG" check-config >/dev/null ||
		sg_fail "check-config refuses the scm upstream: $(grep ^upstream "$CFG")"
}

# restart_gate [SIGNAL]: stop scepgate (TERM, or SIGNAL: KILL for a
# crash) and start it again on $CFG.
restart_gate() {
	kill -"${1:-TERM}" "$SG_PID" 2>/dev/null || true
	wait "$SG_PID" 2>/dev/null || true
	"$SCEPGATE" --config "$CFG" >>"$DIR/server.log" 2>&1 &
	SG_PID=$!
	for _ in $(seq 100); do
		curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/healthz" &&
			return 0
		kill -0 "$SG_PID" 2>/dev/null || sg_fail "scepgate exited at start"
		sleep 0.1
	done
	sg_fail "scepgate not healthy after 10 s"
}

ctl() { "$SCEPCTL" --config "$CFG" "$@"; }

# fails WANT-IN-STDERR CTL-ARGS...: scepctl exits 1 saying that.
fails() {
	local want=$1 out rc=0
	shift
	out=$(ctl "$@" 2>&1) || rc=$?
	[[ $rc == 1 ]] || sg_fail "scepctl $*: exit $rc, want 1: $out"
	[[ $out == *"$want"* ]] || sg_fail "scepctl $*: '$out' lacks '$want'"
}

echo "catalogue: the local upstream has none"
fails "the local upstream has no catalogue" org sync
fails "the local upstream has no catalogue" profile sync
[[ $(ctl profile list --json) == "[]" ]] || sg_fail "profiles before any sync"

upstream password
restart_gate

# What the double knows (tests/doubles/scm/README.md): organization
# "Example Corp" with department "Factory Floor"; profiles "IoT Device 1y"
# (7311), "Device Manual Approval" (7312), "Client Cert 1y" (7402).
ctl org add "Example Corp" >/dev/null
ctl dept add "Example Corp" "Factory Floor" >/dev/null
ctl account add --endpoint demo --name scm-dev --org "Example Corp" \
	--dept "Factory Floor" --profile "IoT Device 1y" --term 365 \
	--access-code ScmDevCode0001 >/dev/null
ctl account add --endpoint demo --name scm-approve --org "Example Corp" \
	--profile 7312 --term 365 --access-code ScmApproveCode01 >/dev/null
ctl endpoint add people --type client --uri people \
	--getcert-format full-chain >/dev/null
ctl account add --endpoint people --name scm-people --org "Example Corp" \
	--profile "Client Cert 1y" --term 730 --access-code ScmPeopleCode01 >/dev/null
PEOPLE_URL=${URL%/demo}/people

# The RA certificate encrypts and verifies; the double's CA chain is what
# the issued certificates chain to (GetCACert sends RA + that chain).
openssl x509 -in "$DIR/ra.pem" -outform DER -out ra.der
openssl x509 -in "$SCM_DIR/issuing-ca.pem" -outform DER -out scmca.der

# enroll NAME CODE URL [pki options]: key and cert.der in $WORK/NAME. An
# existing key is used again: pki derives the transactionID from it.
enroll() {
	local d=$WORK/$1
	mkdir -p "$d"
	[[ -s $d/key.der ]] ||
		pki --gen --type rsa --size 2048 --outform der >"$d/key.der" 2>/dev/null
	timeout 60 pki --scep --url "$3" --in "$d/key.der" \
		--dn "CN=$1,O=scepgate" --password "$2" \
		--cacert-enc ra.der --cacert-sig ra.der --cacert scmca.der \
		--maxpolltime 30 --interval 1 "${@:4}" >"$d/cert.der" 2>"$d/pki.log"
}

# check NAME: cert.der chains to the double's CA.
check() { sg_pki_issued "$1" "$SCM_DIR/ca.pem"; }
# refused NAME: pki got a FAILURE reply.
refused() { sg_pki_refused "$1"; }

# reason NAME: the reason recorded for the request with subject CN=NAME.
reason() {
	ctl request list --json | python3 -c "import json, re, sys
r = [x for x in json.load(sys.stdin)
     if re.search(r'CN=$1(,|\$)', x['subject'])]
print(r[-1]['status'], r[-1]['order'], r[-1]['reason'])"
}

echo "device: 2 pending collects, then CertPoll"
first=$(seq_now)
enroll scm-dev1 ScmDevCode0001 "$URL" || sg_fail "scm-dev1: $(cat "$WORK/scm-dev1/pki.log")"
check scm-dev1
grep -q "ordered at the upstream\|PENDING\|pending" "$DIR/server.log" ||
	sg_fail "scm-dev1 was never pending"
grep -qi "status: PENDING\|pending" "$WORK/scm-dev1/pki.log" ||
	sg_fail "pki did not poll: $(cat "$WORK/scm-dev1/pki.log")"
[[ $(state "[c['collects'] for c in s['certs']][-1]") == 3 ]] ||
	sg_fail "expected 3 collects: $(state 's')"
tid=$(state "s['certs'][-1]['comments']")
[[ $tid == "SCEP transactionID "* ]] || sg_fail "no transactionID in comments: $tid"
echo "the order carries the SCEP request's X-Request-ID"
rid=$(sed -n 's/.* request_id=\([^ ]*\) scm: transid=.* ordered as .*/\1/p' \
	"$DIR/server.log" | head -n 1)
curl -fs "$SCM/__test/log" | python3 -c "import json, sys
sys.exit(not any(e['method'] == 'POST' and '$rid' and
    e['headers'].get('X-Request-ID') == '$rid' for e in json.load(sys.stdin)))" ||
	sg_fail "no X-Request-ID '$rid' on the order: $(grep 'ordered as' "$DIR/server.log")"
echo "/metrics: the calls to SCM by result, promtool clean"
curl -fs "http://127.0.0.1:$PORT/metrics" >metrics.txt || sg_fail "GET /metrics"
grep -Eq '^scepgate_upstream_request_seconds_count[{]service="SCM",result="ok"[}] [1-9]' \
	metrics.txt || sg_fail "no SCM calls in /metrics: $(grep upstream metrics.txt)"
if command -v promtool >/dev/null; then
	promtool check metrics <metrics.txt >promtool.log 2>&1 ||
		sg_fail "promtool: $(cat promtool.log)"
fi
enroll_body=$(curl -fs "$SCM/__test/last?path=/api/device/v1/enroll")
python3 - "$enroll_body" <<'EOF' || sg_fail "device enroll body: $enroll_body"
import json, sys
e = json.loads(sys.argv[1]); b = json.loads(e["body"])
assert e["headers"]["login"] == "scep-gateway"
assert e["headers"]["password"] == "***redacted***"
assert e["headers"]["customerUri"] == "examplecorp"
assert (b["orgId"], b["certType"], b["term"]) == (4022, 7311, 365), b
assert b["csr"].startswith("-----BEGIN CERTIFICATE REQUEST-----\n"), b
EOF
if [[ -n ${SCM_EXAMPLE:-} ]]; then
	curl -fs "$SCM/__test/log?since=$first" >"$SCM_EXAMPLE"
fi

echo "device: manual approval at SCM"
enroll scm-appr ScmApproveCode01 "$URL" &
appr=$!
for _ in $(seq 50); do
	[[ $(state "[c['status'] for c in s['certs'] if c['certType']['id'] == 7312]") == "['Requested']" ]] &&
		break
	sleep 0.2
done
id=$(state "[c['id'] for c in s['certs'] if c['certType']['id'] == 7312][0]")
sleep 2	# pki polls a few times while SCM waits
curl -fs -H "login: scep-gateway" -H "password: $PASSWORD" \
	-H "customerUri: examplecorp" -H 'Content-Type: application/json' \
	-d '{"message":"approved by test_scm.sh"}' \
	"$SCM/api/device/v1/approve/$id" || sg_fail "approve $id"
wait "$appr" || sg_fail "scm-appr: $(cat "$WORK/scm-appr/pki.log")"
check scm-appr

echo "device: manual approval in scepgate sends the signed CSR to SCM"
ctl account add --endpoint demo --name scm-held --org "Example Corp" \
	--profile "IoT Device 1y" --term 365 --approval manual \
	--access-code ScmHeldCode0001 >/dev/null
enroll scm-held ScmHeldCode0001 "$URL" &
held=$!
rid=
for _ in $(seq 50); do
	rid=$(ctl request list --status pending --json | python3 -c "import json, sys
r = [x['id'] for x in json.load(sys.stdin) if 'CN=scm-held' in x['subject']]
print(r[0] if r else '')")
	[[ -n $rid ]] && break
	sleep 0.2
done
[[ -n $rid ]] || sg_fail "scm-held never waited for approval"
# While it waits, the database holds the CSR sealed: not the code.
for f in "$DIR"/scepgate.db*; do
	! grep -qa ScmHeldCode0001 "$f" || sg_fail "access code in clear in $f"
done
ctl request approve "$rid" >/dev/null || sg_fail "request approve $rid"
wait "$held" || sg_fail "scm-held: $(cat "$WORK/scm-held/pki.log")"
check scm-held

echo "device: declined at SCM gives FAILURE"
hook '{"decline_next": true}'
if enroll scm-decl ScmDevCode0001 "$URL"; then
	sg_fail "pki --scep succeeded for a declined order"
fi
refused scm-decl
r=$(reason scm-decl)
[[ $r == rejected*Declined* ]] || sg_fail "declined: request says '$r'"

echo "device: a burst of 429s still completes"
hook '{"fail_429": 3, "retry_after": 1, "fault_match": "/enroll"}'
since=$(seq_now)
enroll scm-429 ScmDevCode0001 "$URL" || sg_fail "scm-429: $(cat "$WORK/scm-429/pki.log")"
check scm-429
codes=$(curl -fs "$SCM/__test/log?since=$since" | python3 -c 'import json, sys
print(" ".join(str(e["status"]) for e in json.load(sys.stdin)
    if e["path"].endswith("/enroll")))')
[[ $codes == "429 429 429 200" ]] || sg_fail "enroll answers were: $codes"
hook '{"fault_match": ""}'

echo "device: 503 (HTML), 500/-2 and -195 on enroll, an empty reply on collect"
hook '{"fail_503": 1, "fail_500": 1, "fail_195": 1, "non_json": 2, "fault_match": "/enroll"}'
since=$(seq_now)
enroll scm-faults ScmDevCode0001 "$URL" ||
	sg_fail "scm-faults: $(cat "$WORK/scm-faults/pki.log")"
check scm-faults
codes=$(curl -fs "$SCM/__test/log?since=$since" | python3 -c 'import json, sys
print(" ".join(str(e["status"]) for e in json.load(sys.stdin)
    if e["path"].endswith("/enroll")))')
[[ $codes == "503 500 400 200" ]] || sg_fail "enroll answers were: $codes"
hook '{"empty_reply": 1, "fault_match": "/collect"}'
enroll scm-empty ScmDevCode0001 "$URL" ||
	sg_fail "scm-empty: $(cat "$WORK/scm-empty/pki.log")"
check scm-empty
hook '{"fault_match": ""}'

echo "device: 3 concurrent enrollments"
pids=()
for i in 1 2 3; do
	enroll "scm-par$i" ScmDevCode0001 "$URL" &
	pids+=($!)
done
for i in 1 2 3; do
	wait "${pids[i - 1]}" || sg_fail "scm-par$i: $(cat "$WORK/scm-par$i/pki.log")"
	check "scm-par$i"
done

echo "device: 8 lost enroll answers, then retries: one SCM order each"
# Issue 10 s.6. SCM carries out each enroll but answers after scepgate's
# 3 s timeout, and refuses the look-up right after: FAILURE. The retry
# (same key, same transactionID) finds the order and adopts it.
upstream password 1 3
restart_gate
before=$(state "len(s['certs'])")
hook '{"late_reply": 8, "late_ms": 5000, "fault_match": "/enroll", "fail_list": 8}'
# lost_round NAME N: NAME1..N enroll at once; exit codes into $WORK/lost.I
lost_round() {
	local i pids=()
	for i in $(seq "$2"); do
		enroll "$1$i" ScmDevCode0001 "$URL" &
		pids+=($!)
	done
	for i in $(seq "$2"); do
		wait "${pids[i - 1]}" && echo 0 >"$WORK/lost.$i" || echo $? >"$WORK/lost.$i"
	done
}
# lost_refused NAME N: each of the round was refused.
lost_refused() {
	local i
	for i in $(seq "$2"); do
		[[ $(cat "$WORK/lost.$i") != 0 ]] ||
			sg_fail "$1$i: issued although the answer was lost"
		refused "$1$i"
	done
}
# lost_issued NAME N: each of the round got its certificate.
lost_issued() {
	local i
	for i in $(seq "$2"); do
		[[ $(cat "$WORK/lost.$i") == 0 ]] ||
			sg_fail "$1$i retry: $(cat "$WORK/$1$i/pki.log")"
		check "$1$i"
	done
}
# one_order_each NAME N BEFORE: SCM's certificates after the first
# BEFORE hold exactly one order for each of NAME1..N's transactionIDs.
one_order_each() {
	state "s['certs'][$3:]" | python3 -c 'import ast, collections, sys
c = ast.literal_eval(sys.stdin.read())
n = collections.Counter(x["comments"].split(";")[0] for x in c
                        if x["commonName"].startswith(sys.argv[1]))
assert len(n) == int(sys.argv[2]) and set(n.values()) == {1}, n' "$1" "$2" ||
		sg_fail "$1: not one SCM order per transactionID (orders above)"
}
lost_round scm-lost 8
lost_refused scm-lost 8
hook '{"late_reply": 0, "fail_list": 0, "fault_match": ""}'
lost_round scm-lost 8
lost_issued scm-lost 8
one_order_each scm-lost 8 "$before"
lost=$(sqlite3 "$DIR/scepgate.db" "SELECT count(*) FROM audit
	WHERE details LIKE '%SCM enroll got no answer%'")
adopted=$(sqlite3 "$DIR/scepgate.db" "SELECT count(*) FROM audit
	WHERE details LIKE '%adopted SCM order%'")
[[ $lost == 8 && $adopted == 8 ]] ||
	sg_fail "audit: $lost lost answers and $adopted adoptions, want 8 and 8"
[[ $(grep -c "adopted SCM order" "$DIR/server.log") -ge 8 ]] ||
	sg_fail "server log does not show the adoptions"

echo "device: 4 lost enroll answers, kill -9, then retries: one order each"
# The marker of an order in flight lives with the transaction in the
# database (ra_store_txn_mark), so a crash and restart between the lost
# answer and the retry does not order a second certificate.
before=$(state "len(s['certs'])")
hook '{"late_reply": 4, "late_ms": 5000, "fault_match": "/enroll", "fail_list": 4}'
lost_round scm-crash 4
lost_refused scm-crash 4
restart_gate KILL
hook '{"late_reply": 0, "fail_list": 0, "fault_match": ""}'
lost_round scm-crash 4
lost_issued scm-crash 4
one_order_each scm-crash 4 "$before"
upstream password
restart_gate

echo "client: email SAN, names from the CN, S/MIME API"
enroll scm-jane ScmPeopleCode01 "$PEOPLE_URL" --san email:jane.doe@example.net ||
	sg_fail "scm-jane: $(cat "$WORK/scm-jane/pki.log")"
check scm-jane
openssl x509 -in "$WORK/scm-jane/cert.pem" -noout -ext subjectAltName |
	grep -q "email:jane.doe@example.net" || sg_fail "scm-jane: no email SAN"
body=$(curl -fs "$SCM/__test/last?path=/api/smime/v1/enroll")
python3 - "$body" <<'EOF' || sg_fail "client enroll body: $body"
import json, sys
b = json.loads(json.loads(sys.argv[1])["body"])
assert (b["email"], b["firstName"], b["lastName"]) == \
    ("jane.doe@example.net", "scm-jane", "scm-jane"), b
assert (b["orgId"], b["certType"], b["term"]) == (4021, 7402, 730), b
EOF

echo "client: no email address gives FAILURE"
if enroll scm-nomail ScmPeopleCode01 "$PEOPLE_URL"; then
	sg_fail "pki --scep succeeded without an email address"
fi
refused scm-nomail
r=$(reason scm-nomail)
[[ $r == *"client certificate needs an email address"* ]] ||
	sg_fail "no email: request says '$r'"

echo "catalogue: org sync records ids by name and adds what is missing"
out=$(ctl org sync) || sg_fail "org sync: $out"
for line in "organization 'Example Corp' updated (SCM id 4021): SCM id recorded" \
	"department 'Factory Floor' of 'Example Corp' updated (SCM id 4022)" \
	"department 'Sales' of 'Example Corp' added (SCM id 4023)" \
	"organization 'Other Org' added (SCM id 4030)" \
	"org sync: 2 added, 2 updated, 0 unchanged"; do
	[[ $out == *"$line"* ]] || sg_fail "org sync did not say '$line': $out"
done
ctl org list --json | python3 -c 'import json, sys
o = {x["name"]: x["scm_id"] for x in json.load(sys.stdin)}
assert o == {"Demo": 0, "Example Corp": 4021, "Other Org": 4030}, o' ||
	sg_fail "org list after sync: $(ctl org list)"
ctl dept list --json | python3 -c 'import json, sys
d = {(x["org"], x["name"]): x["scm_id"] for x in json.load(sys.stdin)}
assert d == {("Example Corp", "Factory Floor"): 4022,
             ("Example Corp", "Sales"): 4023}, d' ||
	sg_fail "dept list after sync: $(ctl dept list)"
out=$(ctl org sync) || sg_fail "org sync again: $out"
[[ $out == "org sync: 0 added, 0 updated, 4 unchanged" ]] ||
	sg_fail "second org sync: $out"

echo "catalogue: profile sync with the allowed terms"
out=$(ctl profile sync) || sg_fail "profile sync: $out"
[[ $out == *"device profile 'IoT Device 1y' added (SCM id 7311): terms 365, 730"* &&
	$out == *"profile sync: 5 added, 0 updated, 0 unchanged" ]] ||
	sg_fail "profile sync said: $out"
ctl profile list --json | python3 -c 'import json, sys
p = {(x["kind"], x["scm_id"]): (x["name"], x["terms"]) for x in json.load(sys.stdin)}
assert p == {("device", 7311): ("IoT Device 1y", [365, 730]),
             ("device", 7312): ("Device Manual Approval", [365]),
             ("device", 7313): ("Other Org Device", [365]),
             ("client", 7402): ("Client Cert 1y", [365, 730]),
             ("client", 7403): ("Client Manual Approval", [365])}, p' ||
	sg_fail "profile list: $(ctl profile list --json)"
ctl profile list | grep -Eq '^7311 +device +365,730 +IoT Device 1y$' ||
	sg_fail "profile list table: $(ctl profile list)"
audit=$(sqlite3 "$DIR/scepgate.db" "SELECT action || ': ' || details FROM audit
	WHERE action LIKE '% sync' AND outcome = 'success' ORDER BY id")
[[ $audit == *"org sync: 2 added, 2 updated, 0 unchanged"*"profile sync: 5 added"* ]] ||
	sg_fail "no audit records of the syncs: '$audit'"

echo "catalogue: account add and edit refuse what SCM would refuse"
fails "allowed terms: 365, 730" account add --endpoint demo --name scm-90 \
	--org "Example Corp" --profile "IoT Device 1y" --term 90
fails "allowed terms: 365" account add --endpoint demo --name scm-730 \
	--org "Example Corp" --profile 7312 --term 730
fails "is a client profile, but endpoint 'demo' issues device" account add \
	--endpoint demo --name scm-kind --org "Example Corp" \
	--profile "Client Cert 1y" --term 365
fails "is a device profile, but endpoint 'people' issues client" account add \
	--endpoint people --name scm-kind --org "Example Corp" \
	--profile "IoT Device 1y" --term 365
fails "run scepctl profile sync" account add --endpoint demo --name scm-typo \
	--org "Example Corp" --profile "IoT Device 1Y" --term 365
fails "allowed terms: 365, 730" account edit --endpoint demo --name scm-dev --term 90
ctl account disable --endpoint demo --name scm-approve >/dev/null ||
	sg_fail "disable is no profile change"
ctl account enable --endpoint demo --name scm-approve >/dev/null

echo "catalogue: a synced department, profile and term enroll"
ctl account add --endpoint demo --name scm-synced --org "Example Corp" \
	--dept Sales --profile "IoT Device 1y" --term 730 \
	--access-code ScmSyncedCode01 >/dev/null || sg_fail "account add scm-synced"
enroll scm-sync ScmSyncedCode01 "$URL" ||
	sg_fail "scm-sync: $(cat "$WORK/scm-sync/pki.log")"
check scm-sync
body=$(curl -fs "$SCM/__test/last?path=/api/device/v1/enroll")
python3 - "$body" <<'EOF' || sg_fail "synced enroll body: $body"
import json, sys
b = json.loads(json.loads(sys.argv[1])["body"])
assert (b["orgId"], b["certType"], b["term"]) == (4023, 7311, 730), b
EOF

echo "revoke at SCM"
serial=$(openssl x509 -in "$WORK/scm-dev1/cert.pem" -noout -serial | cut -d= -f2)
ctl cert revoke "$serial" --reason keyCompromise >/dev/null ||
	sg_fail "scepctl cert revoke $serial"
[[ $(state "len(s['revoked_serials'])") == 1 ]] ||
	sg_fail "SCM did not revoke: $(state "s['revoked_serials']")"

echo "OAuth login, token refresh after a 401"
upstream oauth 2
restart_gate
enroll scm-oauth ScmDevCode0001 "$URL" || sg_fail "scm-oauth: $(cat "$WORK/scm-oauth/pki.log")"
check scm-oauth
curl -fs -X POST "$SCM/__test/expire_tokens" || sg_fail "expire_tokens"
enroll scm-oauth2 ScmPeopleCode01 "$PEOPLE_URL" --san email:o2@example.net ||
	sg_fail "scm-oauth2: $(cat "$WORK/scm-oauth2/pki.log")"
check scm-oauth2
curl -fs "$SCM/__test/last?path=/api/smime/v2/enroll" >/dev/null ||
	sg_fail "smime_api_version = 2 did not use /api/smime/v2"
tokens=$(curl -fs "$SCM/__test/log" | python3 -c 'import json, sys
print(sum(1 for e in json.load(sys.stdin) if "openid-connect/token" in e["path"]))')
[[ $tokens == 2 ]] || sg_fail "expected 2 token requests, saw $tokens"

echo "client-certificate login over /private/api"
upstream client-cert
restart_gate
since=$(seq_now)
enroll scm-mtls ScmDevCode0001 "$URL" || sg_fail "scm-mtls: $(cat "$WORK/scm-mtls/pki.log")"
check scm-mtls
curl -fs "$SCM/__test/log?since=$since" | grep -q '"/private/api/device/v1/enroll"' ||
	sg_fail "client-cert login did not use /private/api"

echo "a password file others can read is refused"
upstream password
chmod 644 "$DIR/scm.password"
if out=$(ctl check-config 2>&1); then
	sg_fail "check-config accepted a password file of mode 0644"
fi
[[ $out == *"scm.password: readable by group or others"*"chmod 600"* ]] ||
	sg_fail "check-config: $out"
chmod 600 "$DIR/scm.password"

echo "bad credentials give FAILURE and an audit record"
echo "wrong-$PASSWORD" >"$DIR/scm.password"
restart_gate
if enroll scm-badpw ScmDevCode0001 "$URL"; then
	sg_fail "pki --scep succeeded with a wrong SCM password"
fi
refused scm-badpw
# The first call (the organization listing) already gets the 401.
audit=$(sqlite3 "$DIR/scepgate.db" "SELECT outcome || ' ' || details FROM audit
	WHERE details LIKE '%HTTP 401%' ORDER BY id DESC LIMIT 1")
[[ $audit == failure*"Unknown user (check the SCM credentials"* ]] ||
	sg_fail "no audit record of the 401: '$audit'"
echo "  audit: $audit"

echo "no secret in the server log, the database or the double's log"
for s in "$PASSWORD" "$SECRET"; do
	if grep -q -F -- "$s" "$DIR/server.log"; then
		sg_fail "a secret is in server.log"
	fi
	if grep -q -a -F -- "$s" "$DIR"/scepgate.db*; then
		sg_fail "a secret is in the database"
	fi
	if sqlite3 "$DIR/scepgate.db" .dump | grep -q -F -- "$s"; then
		sg_fail "a secret is in the database dump"
	fi
	if curl -fs "$SCM/__test/log" | grep -q -F -- "$s"; then
		sg_fail "a secret is in the double's request log"
	fi
done
curl -fs "$SCM/__test/log" | python3 -c 'import json, sys
toks = [json.loads(e["response"].replace("...", "\"x\":0"))
        for e in json.load(sys.stdin) if "openid-connect/token" in e["path"]]
assert all(t["access_token"] == "***redacted***" for t in toks), toks' ||
	sg_fail "a token is in the double's request log"

echo "PASS"
