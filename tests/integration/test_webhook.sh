#!/usr/bin/env bash
# Issue 13, the webhooks (docs/webhooks.md): a challenge-validation
# webhook decides each PKCSReq of endpoint "demo" (tests/doubles/webhook/
# webhook.py checks the signature and allows "ok-", "acct-NAME-", denies
# the rest, sleeps on "slow-"). micromdm scepclient and strongSwan pki
# enroll when allowed; a denial is a FAILURE with the reason; a slow,
# unreachable or signature-refusing (401) receiver fails closed; the
# answer's account is the certificate's. Notifications of issued,
# refused and revoked arrive signed, also after the receiver was down
# across a scepgate restart. The secret and the challenges are in no
# log, audit export or database file.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need scepclient pki jq timeout
double=$(cd "$(dirname "$0")/../doubles/webhook" && pwd)/webhook.py
sg_setup
cd "$WORK"
bench=$(dirname "$SCEPCTL")/scep-bench
ctl() { "$SCEPCTL" --config "$CFG" "$@"; }
SECRET=wh-Secret-7f3a9c21
printf '%s\n' "$SECRET" >"$DIR/webhook.secret"
printf 'another-secret\n' >"$DIR/wrong.secret"
chmod 600 "$DIR/webhook.secret" "$DIR/wrong.secret"
HOOKLOG=$WORK/hook.jsonl
WPORT=$(sg_free_port)
RPID=

# receiver SECRETFILE: (re)start webhook.py on WPORT.
receiver() {
	[[ -z $RPID ]] || { kill "$RPID" 2>/dev/null; wait "$RPID" 2>/dev/null || true; }
	rm -f "$WORK/port"
	python3 "$double" --port "$WPORT" --port-file "$WORK/port" \
		--secret-file "$1" --log "$HOOKLOG" --slow 10 &
	RPID=$!
	for _ in $(seq 50); do [[ -s $WORK/port ]] && return 0; sleep 0.1; done
	sg_fail "webhook.py did not start"
}
receiver_down() {
	kill "$RPID" 2>/dev/null || true
	wait "$RPID" 2>/dev/null || true
	RPID=
}
r=0
trap 'r=$?; [[ -z $RPID ]] || kill "$RPID" 2>/dev/null; (exit "$r"); sg_cleanup' EXIT

# mdm NAME CHALLENGE: scepclient enrolls CN=NAME in $WORK/NAME.
mdm() {
	mkdir -p "$WORK/$1"
	timeout 60 scepclient -server-url "$URL" -challenge "$2" \
		-private-key "$WORK/$1/key.pem" -certificate "$WORK/$1/cert.pem" \
		-cn "$1" >"$WORK/$1/client.log" 2>&1
}
# refused CHALLENGE: the failInfoText of one enrollment (scep-bench).
refused() {
	{ "$bench" --url "$URL" --challenge "$1" --count 1 --keys 1 \
		--timeout 30 --json 2>/dev/null || true; } | jq -r .first_error
}
# events KIND: the valid notifications of KIND so far (JSON lines).
events() {
	jq -c "select(.path == \"/events\" and .valid and
		.body.event == \"$1\") | .body" "$HOOKLOG" 2>/dev/null || true
}
# wait_event KIND JQ-FILTER SECONDS: a notification of KIND matching.
wait_event() {
	for _ in $(seq $(($3 * 5))); do
		events "$1" | jq -se "map(select($2)) | length > 0" \
			>/dev/null 2>&1 && return 0
		sleep 0.2
	done
	sg_fail "no '$1' notification matching $2 within $3 s: $(cat "$HOOKLOG")"
}

receiver "$DIR/webhook.secret"
ctl endpoint edit demo --challenge-webhook "http://127.0.0.1:$WPORT/check" \
	--webhook-secret-file "$DIR/webhook.secret" --webhook-timeout 3 \
	--notify-webhook "http://127.0.0.1:$WPORT/events" >/dev/null
show=$(ctl endpoint show demo --json)
[[ $(jq -r .webhook_timeout <<<"$show") == 3 &&
	$(jq -r .challenge_webhook <<<"$show") == *"/check" ]] ||
	sg_fail "endpoint show: $show"
acct0=$(ctl account list --endpoint demo --json | jq -r '.[0].name')

echo "allowed: micromdm scepclient and strongSwan pki"
mdm mdm-ok ok-mdm-1 || sg_fail "scepclient: $(cat "$WORK/mdm-ok/client.log")"
openssl verify -CAfile "$DIR/ca.pem" "$WORK/mdm-ok/cert.pem" >/dev/null ||
	sg_fail "scepclient's certificate does not verify"
mkdir "$WORK/pki-ok"
(cd "$WORK/pki-ok" && CODE=ok-pki-1 && sg_pki_enroll pki-ok cert.der)
sg_pki_issued pki-ok "$DIR/ca.pem"
jq -e 'select(.path == "/check" and .valid and .body.challenge ==
	"ok-pki-1" and .body.endpoint == "demo" and (.body.csr | length) > 100
	and (.body.subject | test("CN=pki-ok")))' "$HOOKLOG" >/dev/null ||
	sg_fail "the validation request lacks fields: $(tail -n 1 "$HOOKLOG")"

echo "denied: FAILURE with the receiver's reason"
if mdm mdm-no nope-1; then sg_fail "scepclient enrolled a denied device"; fi
grep -q 'failInfo' "$WORK/mdm-no/client.log" ||
	sg_fail "no FAILURE: $(cat "$WORK/mdm-no/client.log")"
out=$(refused nope-2)
[[ $out == *"challenge refused by the webhook: unknown device"* ]] ||
	sg_fail "denied: '$out'"

echo "slow receiver: fail closed in about webhook_timeout"
t0=$(date +%s%N)
out=$(refused slow-1)
ms=$((($(date +%s%N) - t0) / 1000000))
echo "  answered in $ms ms"
[[ $out == *"challenge could not be checked: webhook timed out after 3 s"* ]] ||
	sg_fail "slow: '$out'"
((ms >= 2900 && ms < 9000)) || sg_fail "slow: answered in $ms ms, timeout 3 s"

echo "receiver with another secret: 401, fail closed"
wrong_from=$(date +%s)
receiver "$DIR/wrong.secret"
out=$(refused ok-wrongsecret)
[[ $out == *"webhook answered HTTP 401"* ]] || sg_fail "401: '$out'"

echo "receiver down: fail closed"
receiver_down
wrong_until=$(date +%s)
out=$(refused ok-down)
[[ $out == *"challenge could not be checked: webhook unreachable"* ]] ||
	sg_fail "down: '$out'"
receiver "$DIR/webhook.secret"

echo "the answer's account is the certificate's"
ctl org add hook-org >/dev/null
ctl account add --endpoint demo --name lab --org hook-org --term 30 >/dev/null
out=$(refused ok-two-accounts)
[[ $out == *"webhook named no account and the endpoint has 2"* ]] ||
	sg_fail "two accounts, none named: '$out'"
mdm mdm-lab acct-lab-1 || sg_fail "acct-lab: $(cat "$WORK/mdm-lab/client.log")"
serial=$(openssl x509 -in "$WORK/mdm-lab/cert.pem" -noout -serial | cut -d= -f2)
[[ $(ctl cert show "$serial" --json | jq -r .account) == lab ]] ||
	sg_fail "certificate $serial is not account lab's"
serial0=$(openssl x509 -in "$WORK/mdm-ok/cert.pem" -noout -serial | cut -d= -f2)
[[ $(ctl cert show "$serial0" --json | jq -r .account) == "$acct0" ]] ||
	sg_fail "certificate $serial0 is not account $acct0's"
out=$(refused acct-nosuch-1)
[[ $out == *"webhook chose account 'nosuch'"* ]] || sg_fail "nosuch: '$out'"

echo "notifications: issued, refused, revoked, signed"
wait_event issued ".serial == \"$serial\" and .transaction_id != \"\"" 20
wait_event refused '.reason | test("unknown device")' 20
ctl cert revoke "$serial0" --reason keyCompromise >/dev/null
wait_event revoked ".serial == \"$serial0\" and .reason == \"keyCompromise\"" 20
echo "an admin's reject is a refused event too"
ctl account add --endpoint demo --name held --org hook-org --term 30 \
	--approval manual >/dev/null
out=$(refused acct-held-1)
rid=$(ctl request list --status pending --json | jq -r '.[0].id // empty')
[[ -n $rid ]] || sg_fail "no pending request for account held: '$out'"
ctl request reject "$rid" --reason "not ours" >/dev/null
wait_event refused '.reason | test("rejected by .*: not ours")' 20
ids=$(jq -r 'select(.path == "/events") | .event_id' "$HOOKLOG" | sort -u | wc -l)
((ids >= 3)) || sg_fail "events without ids"
# Only the receiver with the wrong secret (which answered 401, so the
# event stayed in the outbox) saw signatures it could not check.
bad=$(jq -c "select(.path == \"/events\" and (.valid | not) and
	((.timestamp | tonumber) < $wrong_from or
	(.timestamp | tonumber) > $wrong_until))" "$HOOKLOG")
[[ -z $bad ]] || sg_fail "notifications with a bad signature: $bad"

echo "receiver down across a restart: the event arrives later"
receiver_down
ctl cert revoke "$serial" --reason superseded >/dev/null
sleep 3		# a delivery attempt fails meanwhile
sg_stop
receiver "$DIR/webhook.secret"
sg_start
wait_event revoked ".serial == \"$serial\"" 40
grep -q "notify webhook: event revoked-$serial, try 1" "$DIR/server.log" ||
	sg_fail "no failed first delivery in the log"

echo "denials count for the lockout like wrong access codes"
for i in $(seq 8); do
	out=$(refused "nope-lock-$i")
	[[ $out == *"too many attempts"* ]] && break
done
[[ $out == *"too many attempts"* ]] ||
	sg_fail "8 more denials did not lock the source out: '$out'"
n=$(jq -s 'map(select(.path == "/check" and
	(.body.challenge | startswith("nope-lock-")))) | length' "$HOOKLOG")
((n < i)) || sg_fail "the locked-out request still reached the webhook"

echo "the secret and the challenges are in no log, export or database"
sleep 1
ctl audit export --before "$(date +%s)" --out "$WORK/audit.csv" >/dev/null
grep -q 'challenge refused by the webhook' "$WORK/audit.csv" ||
	sg_fail "the denial is not audited"
[[ -s $DIR/scepgate.db ]] || sg_fail "no database at $DIR/scepgate.db"
grep -q 'issued' "$DIR/server.log" || sg_fail "empty server.log"
for f in "$DIR/server.log" "$WORK/audit.csv" "$DIR"/*.db*; do
	for s in "$SECRET" ok-mdm-1 ok-pki-1 nope-2 acct-lab-1 slow-1; do
		! grep -aqF -- "$s" "$f" || sg_fail "'$s' is in $f"
	done
done
echo "ok"
