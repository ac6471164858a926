#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz/, STYLE.md 7) for FUZZ_SECONDS
# (default 20) each. Exits non-zero if any target crashed, leaked, timed
# out or ran out of memory, and prints the path of the input that did.
#
# The fuzzers are built in their own tree, build-fuzz/, with clang and
# -fsanitize=fuzzer-no-link,address,undefined in CMAKE_C_FLAGS, so that
# every library under test carries libFuzzer's coverage hooks and the
# sanitizers; only the fuzz_* binaries link libFuzzer itself
# (-fsanitize=fuzzer, tests/fuzz/CMakeLists.txt).
#
# The committed corpus tests/fuzz/corpus/<target>/ is only read. New
# inputs go to build-fuzz/corpus-new/<target>/ and findings to
# build-fuzz/findings/<target>/. With MERGE=1 the new inputs that add
# coverage are then merged into the committed corpus (libFuzzer -merge=1);
# look at what it added before committing (keep seeds small and few).
# To keep a finding fixed, copy it into the corpus as crash-<what>: the
# fuzz_replay_<target> ctest runs it on every build.
#
#   FUZZ_SECONDS=60 bash scripts/fuzz.sh            # all targets
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh p7_msg    # one target
#   build-fuzz/tests/fuzz/fuzz_p7_msg crash-...     # rerun a finding
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}
build="build-fuzz"
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
	targets=(p7_msg csr certs query conf scm_json msft_attr p7_info
	    webhook)
fi

if ! command -v clang >/dev/null; then
	echo "fuzz.sh: clang is needed for libFuzzer" >&2
	exit 1
fi

# libFuzzer sets most of ASan's options itself; UBSan must stop at the
# first report or it is only a line in the log, not a finding.
export ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-}${UBSAN_OPTIONS:+:}halt_on_error=1:print_stacktrace=1

CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DWITH_FUZZ=ON -DWITH_TESTS=ON \
	-DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address,undefined"
cmake --build "$build" -j2 --target "${targets[@]/#/fuzz_}"

failed=()
for t in "${targets[@]}"; do
	corpus=tests/fuzz/corpus/$t
	new=$build/corpus-new/$t
	findings=$build/findings/$t
	mkdir -p "$new" "$findings"
	extra=()
	if [[ -f tests/fuzz/$t.dict ]]; then
		extra=(-dict="tests/fuzz/$t.dict")
	fi
	# Inputs up to a little over limits.max_body (64 KiB), so the size
	# checks of the query and base64 decoders are reached too.
	extra+=(-max_len=70000)
	log=$build/fuzz-$t.log
	printf '\n==== fuzz_%s: %ss, log %s ====\n' "$t" "$seconds" "$log"
	# The first directory receives new inputs; the corpus is only read.
	set +e
	"$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=25 \
		-print_final_stats=1 -artifact_prefix="$findings/" "${extra[@]}" \
		"$new" "$corpus" >"$log" 2>&1
	rc=$?
	set -e
	# The seed count, the last status line and the final stats.
	grep -E '^INFO: seed corpus|^#[0-9]+[[:space:]]+INITED' "$log" || true
	grep -E '^#[0-9]+[[:space:]]+(pulse|NEW|REDUCE|DONE)' "$log" |
		tail -n 1 || true
	grep -E '^stat::' "$log" || true
	if [[ $rc -ne 0 ]]; then
		failed+=("$t")
		tail -n 60 "$log"
		echo "fuzz.sh: fuzz_$t failed (exit $rc)" >&2
		sed -n 's/.*Test unit written to \(.*\)$/fuzz.sh: crashing input: \1/p' \
			"$log" >&2
		continue
	fi
	if [[ ${MERGE:-0} == 1 ]]; then
		"$build/tests/fuzz/fuzz_$t" -merge=1 "${extra[@]}" "$corpus" \
			"$new" 2>&1 | tail -n 2
	fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
	echo "fuzz.sh: findings in: ${failed[*]}" >&2
	exit 1
fi
echo "fuzz.sh: no findings in ${targets[*]} (${seconds}s each)"
