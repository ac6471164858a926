#!/usr/bin/env python3
"""Add to docs/scepgate.cfg.5 every key that `scepctl check-config
--describe` lists and the page lacks, and fix the type and default of
those it has, so that the page follows the key table (conf/conf.c).
Text the page has beyond the type and default is kept. Usage:
  scepctl check-config --describe | scripts/cfg-man-sync.py docs/scepgate.cfg.5
tests/integration/test_manpages.sh fails when the two differ."""
import re
import sys


def rows(text):
    out = []
    for line in text.splitlines():
        t = line.split()
        if not t:
            continue
        i, typ = 2, t[1]
        if typ in ("int", "list"):
            typ, i = typ + " " + t[2], 3
        if t[i] == "required" and t[i + 1:i + 2] == ["if"]:
            d, rest = ["Required if the upstream is %s." % t[i + 2]], t[i + 3:]
        elif t[i] == "required":
            d, rest = ["Required."], t[i + 1:]
        elif t[i] == "-":
            d, rest = ["No default."], t[i + 1:]
        else:
            d, rest = ["Default:", ".Ql %s ." % t[i]], t[i + 1:]
        desc = " ".join(rest)
        desc = desc[:1].upper() + desc[1:]
        if desc and not desc.endswith("."):
            desc += "."
        out.append((t[0], typ, d, desc))
    return out


def top(key):
    return re.split(r"[.\[]", key)[0]


def main():
    want = rows(sys.stdin.read())
    path = sys.argv[1]
    lines = open(path).read().split("\n")
    have = {}
    for n, line in enumerate(lines):
        if line.startswith(".It Cm "):
            have[line[7:].partition(" Pq Vt ")[0]] = n
    for key, typ, d, desc in want:
        entry = [".It Cm %s Pq Vt %s" % (key, typ)] + d + ([desc] if desc else [])
        if key in have:
            n = have[key]
            lines[n] = entry[0]
            old = 2 if lines[n + 1] == "Default:" else 1
            lines[n + 1:n + 1 + old] = d
        else:
            # after the last entry of the same top-level key, else a new
            # section before the .Sh after the last section
            same = [have[k] for k in have if top(k) == top(key)]
            if same:
                n = max(same) + 1
                while n < len(lines) and not lines[n].startswith((".It", ".El")):
                    n += 1
                lines[n:n] = entry
            else:
                # the keys' sections end where the next .Sh starts
                ss = [i for i, l in enumerate(lines) if l.startswith(".Ss ")]
                n = ss[-1] if ss else 0
                while n < len(lines) and not lines[n].startswith(".Sh "):
                    n += 1
                lines[n:n] = [".Ss %s" % top(key), ".Bl -tag -width Ds"] + \
                    entry + [".El"]
        have = {}
        for m, line in enumerate(lines):
            if line.startswith(".It Cm "):
                have[line[7:].partition(" Pq Vt ")[0]] = m
    open(path, "w").write("\n".join(lines))


main()
