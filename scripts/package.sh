#!/usr/bin/env bash
# Builds the Debian package: build-pkg/scepgate_VERSION_amd64.deb.
# Usage: scripts/package.sh [BUILD_DIR]   (default build-pkg)
# A release build (no sanitizers, no tests), stripped, then lintian's
# verdict; packaging/README.md explains each tag that remains.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build-pkg}
jobs=${JOBS:-2}

# Debian's hardening flags (fortify, stack protector, relro, bindnow).
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)" \
LDFLAGS=$(dpkg-buildflags --get LDFLAGS) \
	cmake -S "$root" -B "$out" -DCMAKE_BUILD_TYPE=Release \
	-DWITH_TESTS=OFF -DCPACK_STRIP_FILES=ON >/dev/null
cmake --build "$out" -j"$jobs" >/dev/null
(cd "$out" && cpack -G DEB >/dev/null 2>&1)
deb=$(ls -t "$out"/scepgate_*_*.deb | head -n 1)
echo "$deb"
