#!/usr/bin/env bash
# log.format = "json": every line is one JSON object with ts, level, msg;
# a caller's sane X-Request-ID is kept and echoed, a hostile one replaced;
# one strongSwan enrollment's request id is on its HTTP line, on the ra/
# decision line and in its audit record (docs/operations.md, "Logs").
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need pki timeout
sg_setup
cd "$WORK"

# Restart with JSON logs (the format is read at start).
sg_stop
sed -i 's/^log = { level = "info"; };$/log = { level = "info"; format = "json"; };/' "$CFG"
grep -q 'format = "json"' "$CFG" || sg_fail "cannot set log.format in $CFG"
: >"$DIR/server.log"	# sg_start appends: only the JSON run's lines
sg_start

echo "X-Request-ID: kept when sane, echoed, replaced when not"
curl -fs -D hdr1 -o /dev/null -H 'X-Request-ID: it-logs.42' \
	"$URL?operation=GetCACaps" || sg_fail "GetCACaps failed"
grep -qi '^X-Request-ID: it-logs.42' hdr1 || sg_fail "not echoed: $(cat hdr1)"
curl -fs -D hdr2 -o /dev/null -H 'X-Request-ID: bad"id{}' \
	"$URL?operation=GetCACaps" || sg_fail "GetCACaps failed"
rid2=$(sed -n 's/^X-Request-ID: *\([^[:space:]]*\).*/\1/ip' hdr2)
[[ $rid2 =~ ^[0-9a-f]{16}$ ]] || sg_fail "hostile id not replaced: '$rid2'"

echo "pki --scep"
sg_pki_enroll logs cert.der
[[ -s cert.der ]] || sg_fail "no certificate"

"$SCEPCTL" --config "$CFG" audit list --json >audit.json ||
	sg_fail "scepctl audit list failed"

# Checks the log and the audit; prints what failed.
python3 - "$DIR/server.log" audit.json <<'PY' || sg_fail "log check failed"
import json, sys
lines = []
for n, raw in enumerate(open(sys.argv[1]), 1):
    try:
        o = json.loads(raw)
    except ValueError as e:
        sys.exit("line %d is not JSON (%s): %r" % (n, e, raw))
    for f in ("ts", "level", "msg"):
        if not isinstance(o.get(f), str):
            sys.exit("line %d has no %s: %r" % (n, f, raw))
    lines.append(o)
def find(pred, what):
    hits = [o for o in lines if pred(o)]
    if not hits:
        sys.exit("no %s line in the log" % what)
    return hits
find(lambda o: o.get("request_id") == "it-logs.42" and
     o.get("op") == "GetCACaps", "GetCACaps it-logs.42")
dec = find(lambda o: "PKCSReq success" in o["msg"], "PKCSReq success")[0]
rid, tid = dec.get("request_id"), dec.get("transid")
if not rid or not tid or dec.get("endpoint") != "demo":
    sys.exit("decision line lacks request_id/transid/endpoint: %r" % dec)
find(lambda o: o.get("request_id") == rid and o.get("op") == "PKIOperation"
     and o.get("status") == "200" and o.get("peer"), "HTTP " + rid)
audit = json.load(open(sys.argv[2]))
recs = audit if isinstance(audit, list) else next(
    v for v in audit.values() if isinstance(v, list))
if not any(r.get("transid") == tid and
           "request_id=" + rid in (r.get("details") or "") for r in recs):
    sys.exit("no audit record of %s with request_id=%s: %r" % (tid, rid, recs))
print("request_id %s: HTTP line, decision line and audit record" % rid)
PY
echo "PASS"
