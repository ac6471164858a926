#!/usr/bin/env bash
# /metrics: after issued, refused (wrong access code), pending (manual
# approval) and error requests, promtool accepts the text and the counts
# by endpoint, operation, messageType, outcome and failInfo, the latency
# histogram and build_info are right; a made-up endpoint path never
# becomes a label.
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

echo "promtool check metrics"
curl -fsS -D headers -o metrics.txt "$base/metrics" || sg_fail "GET /metrics"
grep -qi '^content-type: text/plain; version=0.0.4' headers ||
	sg_fail "content type: $(cat headers)"
promtool check metrics <metrics.txt >promtool.log 2>&1 ||
	sg_fail "promtool: $(cat promtool.log)"

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
echo "OK"
