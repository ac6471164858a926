#!/usr/bin/env bash
# The Debian package: builds it with scripts/package.sh (or takes
# $SCEPGATE_DEB), checks its control fields, conffiles and file list, that
# the packaged default configuration is valid for an instance made by the
# packaged scepctl, and that every lintian error or warning is explained in
# packaging/README.md. Nothing is installed: dpkg -x into a scratch dir.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need dpkg-deb lintian cmake cpack
root=$(cd "$(dirname "$0")/../.." && pwd)
SG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/scepgate-pkg.XXXXXX")
DIR=$SG_TMP
trap sg_cleanup EXIT

deb=${SCEPGATE_DEB:-}
if [[ -z $deb ]]; then
	echo "building the package"
	deb=$("$root/scripts/package.sh" "$SG_TMP/build" | tail -n 1) ||
		sg_fail "scripts/package.sh failed"
fi
[[ -f $deb ]] || sg_fail "no package at '$deb'"
version=$(sed -n 's/^project(scepgate VERSION \([0-9.]*\).*/\1/p' \
	"$root/CMakeLists.txt")
[[ $(basename "$deb") == "scepgate_${version}_amd64.deb" ]] ||
	sg_fail "package name $(basename "$deb"), want scepgate_${version}_amd64.deb"

echo "control fields"
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == scepgate ]] || sg_fail "Package: $(field Package)"
[[ $(field Version) == "$version" ]] || sg_fail "Version: $(field Version)"
[[ $(field Architecture) == amd64 ]] || sg_fail "Architecture"
deps=$(field Depends)
for d in adduser libc6 libssl3 libmicrohttpd12 libconfig9 libsqlite3-0 \
	libcurl4 libjansson4; do
	[[ ",$deps," == *[\ ,]$d[\ ,\(]* ]] ||
		sg_fail "Depends lacks $d (dpkg-shlibdeps): $deps"
done
# The HSM keys load libp11's engine by name (dlopen): not in Depends.
[[ $(field Recommends) == libengine-pkcs11-openssl ]] ||
	sg_fail "Recommends: '$(field Recommends)', want libengine-pkcs11-openssl"
[[ -n $(field Description) ]] || sg_fail "no Description"

echo "maintainer scripts and conffiles"
dpkg-deb -e "$deb" "$SG_TMP/control"
[[ $(cat "$SG_TMP/control/conffiles") == /etc/scepgate/scepgate.cfg ]] ||
	sg_fail "conffiles: $(cat "$SG_TMP/control/conffiles")"
grep -q 'adduser --system' "$SG_TMP/control/postinst" ||
	sg_fail "postinst creates no system user"
grep -q '/var/lib/scepgate' "$SG_TMP/control/postinst" ||
	sg_fail "postinst creates no /var/lib/scepgate"
for s in postinst prerm postrm; do
	sh -n "$SG_TMP/control/$s" || sg_fail "$s: syntax"
done

echo "file list"
dpkg-deb -c "$deb" | awk '{print $1, $6}' | grep -v '^d' |
	sed 's/^[^ ]* \.//' | sort >"$SG_TMP/files"
sort >"$SG_TMP/want" <<'LIST'
/etc/scepgate/scepgate.cfg
/lib/systemd/system/scepgate.service
/usr/bin/scep-bench
/usr/bin/scepctl
/usr/sbin/scepgate
/usr/share/doc/scepgate/changelog.gz
/usr/share/doc/scepgate/copyright
/usr/share/man/man1/scepctl.1.gz
/usr/share/man/man5/scepgate.cfg.5.gz
/usr/share/man/man8/scepgate.8.gz
LIST
diff -u "$SG_TMP/want" "$SG_TMP/files" || sg_fail "file list differs"
grep -q '^-rwxr-xr-x root/root .* \./usr/sbin/scepgate$' \
	<<<"$(dpkg-deb -c "$deb")" || sg_fail "scepgate is not root-owned 0755"

echo "the packaged binaries and default configuration"
dpkg -x "$deb" "$SG_TMP/root"
r=$SG_TMP/root
"$r/usr/sbin/scepgate" --version | grep -q "^scepgate $version$" ||
	sg_fail "scepgate --version"
"$r/usr/bin/scepctl" init --dir "$SG_TMP/state" >/dev/null ||
	sg_fail "packaged scepctl init"
sed "s|/var/lib/scepgate|$SG_TMP/state|g" "$r/etc/scepgate/scepgate.cfg" \
	>"$SG_TMP/scepgate.cfg"
"$r/usr/sbin/scepgate" --config "$SG_TMP/scepgate.cfg" --check ||
	sg_fail "the packaged scepgate.cfg does not fit scepctl init's instance"

echo "lintian"
lintian --tag-display-limit 0 "$deb" >"$SG_TMP/lintian" 2>&1 || true
cat "$SG_TMP/lintian"
bad=0
while read -r tag; do
	grep -q "^- \`$tag\`" "$root/packaging/README.md" && continue
	echo "FAIL: lintian tag $tag is not explained in packaging/README.md" >&2
	bad=1
done < <(sed -n 's/^[EW]: scepgate[^:]*: \([a-z0-9-]*\).*/\1/p' \
	"$SG_TMP/lintian" | sort -u)
((bad == 0)) || sg_fail "unexplained lintian tags"
grep -q '^[EW]: ' "$SG_TMP/lintian" || echo "lintian: no errors or warnings"
echo "OK"
