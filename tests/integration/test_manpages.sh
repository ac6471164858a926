#!/usr/bin/env bash
# The manual pages: scepgate.cfg(5) documents exactly the keys of
# "scepctl check-config --describe" (conf/conf.c keys[]), each with the
# same type and default, and every page is mdoc without a warning.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
: "${SCEPCTL:?SCEPCTL is not set (run through ctest)}"
sg_need python3
root=$(cd "$(dirname "$0")/../.." && pwd)
SG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/scepgate-man.XXXXXX")
DIR=$SG_TMP
trap sg_cleanup EXIT

echo "scepgate.cfg(5) against check-config --describe"
"$SCEPCTL" check-config --describe >"$SG_TMP/describe" ||
	sg_fail "check-config --describe failed"
python3 - "$SG_TMP/describe" "$root/docs/scepgate.cfg.5" <<'PY' ||
import sys

def table(path):
    """key -> (type, default) from the --describe rows"""
    rows = {}
    for line in open(path):
        t = line.split()
        if not t:
            continue
        i = 2
        typ = t[1]
        if typ in ("int", "list"):
            typ += " " + t[2]
            i = 3
        if t[i] == "required" and t[i + 1:i + 2] == ["if"]:
            d = "Required if the upstream is %s." % t[i + 2]
        elif t[i] == "required":
            d = "Required."
        elif t[i] == "-":
            d = "No default."
        else:
            d = "Default: .Ql %s ." % t[i]
        rows[t[0]] = (typ, d)
    return rows

def page(path):
    """key -> (type, default) from ".It Cm KEY Pq Vt TYPE" entries"""
    rows, lines = {}, open(path).read().split("\n")
    for n, line in enumerate(lines):
        if not line.startswith(".It Cm "):
            continue
        key, _, typ = line[len(".It Cm "):].partition(" Pq Vt ")
        d = lines[n + 1]
        if d == "Default:":
            d += " " + lines[n + 2]
        rows[key] = (typ, d)
    return rows

want, have = table(sys.argv[1]), page(sys.argv[2])
bad = 0
for k in sorted(set(want) - set(have)):
    print("FAIL: key %s is in the table but not in scepgate.cfg.5" % k)
    bad = 1
for k in sorted(set(have) - set(want)):
    print("FAIL: key %s is in scepgate.cfg.5 but not in the table" % k)
    bad = 1
for k in sorted(set(want) & set(have)):
    if want[k] != have[k]:
        print("FAIL: %s: table says %s, scepgate.cfg.5 says %s"
              % (k, want[k], have[k]))
        bad = 1
print("%d keys" % len(want))
sys.exit(bad)
PY
	sg_fail "scepgate.cfg.5 and the key table differ"

echo "mdoc lint"
if command -v mandoc >/dev/null; then
	for p in scepgate.8 scepgate.cfg.5 scepctl.1; do
		out=$(mandoc -Tlint -W warning "$root/docs/$p" 2>&1) ||
			sg_fail "mandoc: $out"
	done
else
	sg_need groff
	for p in scepgate.8 scepgate.cfg.5 scepctl.1; do
		out=$(groff -mdoc -z -ww "$root/docs/$p" 2>&1)
		[[ -z $out ]] || sg_fail "groff $p: $out"
	done
fi
echo "OK"
