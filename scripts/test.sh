#!/usr/bin/env bash
# The README's test command: installs dependencies, then builds and tests
# twice: build/ (RelWithDebInfo, all tests) and build-asan/ (ASan+UBSan,
# unit, integration and fuzz-replay tests). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

phase() { printf '\n==== %s ====\n' "$*"; }

phase "dependencies"
bash scripts/deps.sh

phase "build/: configure and build (RelWithDebInfo, -Werror)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWERROR=ON
cmake --build build -j2

phase "build/: ctest (all tests)"
(cd build && ctest --output-on-failure --no-tests=error -j2)

if [[ -z ${CC:-} ]] && command -v clang >/dev/null; then
	export CC=clang
fi
phase "build-asan/: configure and build (ASan+UBSan, -Werror, CC=${CC:-default})"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DWITH_SANITIZERS=ON -DWERROR=ON
cmake --build build-asan -j2

phase "build-asan/: ctest -L 'unit|integration|fuzz'"
(cd build-asan && ctest --output-on-failure --no-tests=error -j2 -L 'unit|integration|fuzz')

phase "fuzz smoke: every libFuzzer target briefly (build-fuzz/, scripts/fuzz.sh)"
FUZZ_SECONDS=${FUZZ_SECONDS:-10} bash scripts/fuzz.sh

phase "all tests passed"
