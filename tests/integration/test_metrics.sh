#!/usr/bin/env bash
# /metrics: after issued, refused (wrong access code), pending (manual
# approval) and error requests, promtool accepts the text and the counts
# by endpoint, operation, messageType, outcome and failInfo, the latency
# histogram and build_info are right; a made-up endpoint path never
# becomes a label. The gauges (lockouts, pending transactions, valid,
# revoked and expiring certificates) follow a lockout, a short-lived
# certificate and a revoke, after their cache of 5 s.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need promtool
bench=${SCEPBENCH:-$(dirname "$SCEPCTL")/scep-bench}
[[ -x $bench ]] || sg_fail "no scep-bench at $bench"
sg_setup
cd "$WORK"
base=http://127.0.0.1:$PORT
root=$(cd "$(dirname "$0")/../.." && pwd)
version=$(sed -n 's/^project(scepgate VERSION \([0-9.]*\).*/\1/p' \
	"$root/CMakeLists.txt")

echo "traffic"
for _ in 1 2 3; do
	curl -fsS -o /dev/null "$URL?operation=GetCACaps"
done
curl -fsS -o /dev/null "$URL?operation=GetCACert"
curl -sS -o /dev/null "$base/scep/made-up-$RANDOM?operation=GetCACaps"
curl -sS -o /dev/null "$URL?operation=PKIOperation&message=!!"
"$bench" --url "$URL" --challenge "$CODE" --count 5 --keys 2 >ok.log 2>&1 ||
	sg_fail "enrollments: $(cat ok.log)"
"$bench" --url "$URL" --challenge wrong-code --count 2 --keys 1 \
	>bad.log 2>&1 || true
out=$("$SCEPCTL" --config "$CFG" account add --endpoint demo --name manual \
	--org Demo --term 30 --approval manual) || sg_fail "account add: $out"
mcode=$(sg_field 'access code' <<<"$out")
[[ -n $mcode ]] || sg_fail "no access code in: $out"
"$bench" --url "$URL" --challenge "$mcode" --count 1 --keys 1 --timeout 3 \
	>pending.log 2>&1 || true

# scrape: GET /metrics into metrics.txt, which promtool must accept.
scrape() {
	curl -fsS -D headers -o metrics.txt "$base/metrics" || sg_fail "GET /metrics"
	grep -qi '^content-type: text/plain; version=0.0.4' headers ||
		sg_fail "content type: $(cat headers)"
	promtool check metrics <metrics.txt >promtool.log 2>&1 ||
		sg_fail "promtool: $(cat promtool.log)"
}
echo "promtool check metrics"
scrape

# value SERIES: the value of the exact series, or 0
value() {
	awk -v s="$1" 'index($0, s " ") == 1 { print $NF; f = 1 } END { if (!f) print 0 }' metrics.txt
}
# want SERIES OP N: the series compares to N with OP (-eq, -ge)
want() {
	local v
	v=$(value "$1")
	test "$v" "$2" "$3" || sg_fail "$1 is $v, want $2 $3: $(grep -v '^#' metrics.txt)"
}
r='scepgate_requests_total{endpoint="demo",operation='
# scep-bench asks for GetCACaps and GetCACert too.
want "${r}\"GetCACaps\",message_type=\"\",outcome=\"success\"}" -ge 3
want "${r}\"GetCACert\",message_type=\"\",outcome=\"success\"}" -ge 1
want "${r}\"PKIOperation\",message_type=\"PKCSReq\",outcome=\"issued\"}" -eq 5
want "${r}\"PKIOperation\",message_type=\"PKCSReq\",outcome=\"refused\",failinfo=\"badRequest\"}" -eq 2
want "${r}\"PKIOperation\",message_type=\"PKCSReq\",outcome=\"pending\"}" -eq 1
e='scepgate_requests_total{endpoint="",operation='
want "${e}\"GetCACaps\",message_type=\"\",outcome=\"error\"}" -eq 1
want "${e}\"PKIOperation\",message_type=\"\",outcome=\"error\"}" -eq 1
grep -q 'made-up' metrics.txt && sg_fail "a made-up path became a label"
h='scepgate_pkioperation_seconds'
l='endpoint="demo",message_type="PKCSReq"'
want "${h}_count{$l}" -eq 8
want "${h}_bucket{$l,le=\"+Inf\"}" -eq 8
want "${h}_bucket{$l,le=\"30\"}" -eq 8
awk -v p="${h}_sum{$l} " 'index($0, p) == 1 && $NF > 0 { f = 1 } END { exit !f }' \
	metrics.txt || sg_fail "histogram sum"
grep -q "^scepgate_build_info{version=\"$version\",libmicrohttpd=\"[0-9.]*\"} 1$" \
	metrics.txt || sg_fail "build_info: $(grep build_info metrics.txt)"

echo "gauges"
want 'scepgate_transactions{status="pending"}' -eq 1
want 'scepgate_transactions{status="new"}' -eq 0
want 'scepgate_certificates{status="valid"}' -eq 5
want 'scepgate_certificates{status="revoked"}' -eq 0
want 'scepgate_certificates_expiring' -eq 0
want 'scepgate_lockouts{kind="source"}' -eq 0
want 'scepgate_lockouts{kind="endpoint"}' -eq 0
t0=$(date +%s)
# One of the 5 is revoked; a certificate of 20 days expires within 30;
# then 3 more wrong codes (5, limits.lockout_failures) lock the source
# 127.0.0.0/24 out.
serial=$("$SCEPCTL" --config "$CFG" cert list --json |
	python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["serial"])')
"$SCEPCTL" --config "$CFG" cert revoke "$serial" --reason keyCompromise \
	>/dev/null || sg_fail "cert revoke $serial"
scrape
# Cached for 5 s: a scrape right after the first shows the same numbers.
if (($(date +%s) - t0 < 4)); then
	want 'scepgate_certificates{status="revoked"}' -eq 0
fi
out=$("$SCEPCTL" --config "$CFG" account add --endpoint demo --name short \
	--org Demo --term 20) || sg_fail "account add: $out"
scode=$(sg_field 'access code' <<<"$out")
"$bench" --url "$URL" --challenge "$scode" --count 1 --keys 1 >short.log 2>&1 ||
	sg_fail "short-lived enrollment: $(cat short.log)"
"$bench" --url "$URL" --challenge wrong-code --count 3 --keys 1 \
	>bad2.log 2>&1 || true
sleep 5
scrape
want 'scepgate_lockouts{kind="source"}' -eq 1
want 'scepgate_lockouts{kind="endpoint"}' -eq 0
want 'scepgate_transactions{status="pending"}' -eq 1
want 'scepgate_certificates{status="valid"}' -eq 5
want 'scepgate_certificates{status="revoked"}' -eq 1
want 'scepgate_certificates_expiring' -eq 1
echo "OK"
