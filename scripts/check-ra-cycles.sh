#!/usr/bin/env bash
# No call circles between the files of ra/ (issue 9, docs/layout.md).
#
# usage: check-ra-cycles.sh OBJECT|DIR...
#
# From the object files of libsgra (ctest passes $<TARGET_OBJECTS:sgra>;
# a directory is searched for *.o): file A calls file B when a symbol A
# leaves undefined is one B defines (nm). The graph of those calls must
# be acyclic; every circle is printed and the script fails. It prints
# the graph too (A -> B C ...), which is the map of who calls whom.
set -euo pipefail

if (($# == 0)); then
	echo "usage: $0 OBJECT|DIR..." >&2
	exit 2
fi

objs=()
for a in "$@"; do
	if [[ -d $a ]]; then
		while IFS= read -r o; do objs+=("$o"); done \
		    < <(find "$a" -name '*.o' | sort)
	else
		objs+=("$a")
	fi
done

# ".../sgra.dir/upstream/ra_up.c.o" -> "upstream/ra_up.c"
name() {
	local n=${1##*sgra.dir/}
	printf '%s\n' "${n%.o}"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One line per symbol: "D file sym" (defined) or "U file sym" (used).
for o in "${objs[@]}"; do
	n=$(name "$o")
	nm --defined-only -g "$o" | awk -v f="$n" 'NF == 3 { print "D", f, $3 }'
	nm -u "$o" | awk -v f="$n" '{ print "U", f, $NF }'
done > "$tmp/syms"

# Edges "caller callee", each once, no self-calls.
awk '$1 == "D" { def[$3] = $2 }
    $1 == "U" { use[NR] = $2 " " $3 }
    END {
	for (i in use) {
		split(use[i], p, " ")
		if ((p[2] in def) && def[p[2]] != p[1])
			print p[1], def[p[2]]
	}
    }' "$tmp/syms" | sort -u > "$tmp/edges"

echo "ra/ file calls (caller -> callees), from ${#objs[@]} objects:"
awk '{ out[$1] = out[$1] " " $2 } END { for (f in out) print f " ->" out[f] }' \
    "$tmp/edges" | sort | sed 's/^/  /'

# tsort names each loop it has to break; no loop, no complaint.
if ! tsort "$tmp/edges" > /dev/null 2> "$tmp/loops"; then
	echo "FAIL: call circles between files of ra/:" >&2
	awk '/input contains a loop/ { if (c != "") print "  " c " -> " first
		c = ""; next }
	    { sub(/^tsort: /, ""); if (c == "") { c = $0; first = $0 }
		else c = c " -> " $0 }
	    END { if (c != "") print "  " c " -> " first }' "$tmp/loops" >&2
	exit 1
fi
echo "ok: no call circles between the files of ra/"
