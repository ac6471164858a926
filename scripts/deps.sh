#!/usr/bin/env bash
# Installs every Debian 12 package needed to build and test scepgate,
# including the SCEP clients the integration tests drive.
set -euo pipefail

pkgs=(
	build-essential cmake pkg-config clang libclang-rt-14-dev
	libssl-dev libmicrohttpd-dev libconfig-dev libsqlite3-dev
	libcmocka-dev libcurl4-openssl-dev libjansson-dev
	scep strongswan-pki libstrongswan-extra-plugins certmonger
	openssl curl jq python3 python3-yaml strace sqlite3 procps
	wrk nginx valgrind
	dpkg-dev lintian mandoc prometheus
	libengine-pkcs11-openssl softhsm2 opensc
	libpq-dev postgresql
)

missing=()
for p in "${pkgs[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[[ $status == installed ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
	echo "deps: all ${#pkgs[@]} packages present"
	exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
	sudo=(sudo)
fi
echo "deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends "${missing[@]}"
