#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Debian packages of a finished build, made with dpkg-dev's own tools (dpkg-shlibdeps,
# dpkg-gencontrol, dpkg-deb) from the metadata in linux/debian/:
#   azure-vnet-cni_<ver>_<arch>.deb          /opt/cni/bin/azure-vnet, azure-vnet-ipam and
#                                            /usr/sbin/azure-vnet-inspect (the build's programs,
#                                            stripped as dh_strip does) with its manual page, sample
#                                            conflists in /usr/share/doc/azure-vnet-cni/examples
#   azure-vnet-cni-conflist_<ver>_all.deb    /etc/cni/net.d/10-azure.conflist as a conffile: the
#                                            opt-in for the node's CNI configuration
# No maintainer scripts. The programs are packaged, not rebuilt, so the package holds what the
# tests ran; the version is debian/changelog's and must be the one the programs report (-v).
#
# Usage: linux/package.sh [BUILD_DIR] [OUT_DIR]   (default build, BUILD_DIR/deb); prints the .debs
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd) || exit 1
out=${2:-$build/deb}
mkdir -p "$out" && out=$(cd "$out" && pwd)
deb=$top/linux/debian
die() { echo "package: $*" >&2; exit 1; }

for t in dpkg-deb dpkg-gencontrol dpkg-shlibdeps dpkg-parsechangelog strip; do
	command -v "$t" >/dev/null || die "$t not found (apt-get install dpkg-dev binutils)"
done
for prog in azure-vnet azure-vnet-ipam azure-vnet-inspect; do
	[ -x "$build/bin/$prog" ] || die "$build/bin/$prog not found (cmake -S . -B build && cmake --build build)"
done

version=$(dpkg-parsechangelog -l "$deb/changelog" -S Version)
upstream=${version%-*}
reported=$("$build/bin/azure-vnet" -v)
[ "$reported" = "Azure CNI Version v$upstream" ] ||
	die "the build reports \"$reported\", debian/changelog says $version (AZCNI_VERSION and the changelog must agree)"
# Reproducible: file dates and the gzip headers come from the changelog entry.
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l "$deb/changelog" -S Timestamp)
export SOURCE_DATE_EPOCH
umask 022

work=$(mktemp -d /tmp/azcni-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debian" "$out"
cp "$deb/control" "$deb/changelog" "$work/debian/"
cd "$work"

# doc PKG: the copyright file and the changelog of a native package, as lintian expects them
doc() {
	local d=debian/$1/usr/share/doc/$1
	install -d -m 0755 "$d"
	install -m 0644 "$deb/copyright" "$d/copyright"
	gzip -9nc "$deb/changelog" >"$d/changelog.gz"
	chmod 0644 "$d/changelog.gz"
}

# finish PKG: md5sums, control (dpkg-gencontrol), then the .deb
finish() {
	local p=$1 root=debian/$1 f
	shift
	(cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | LC_ALL=C sort -z |
		xargs -0r md5sum) >"$root/DEBIAN/md5sums"
	chmod 0644 "$root/DEBIAN/md5sums"
	dpkg-gencontrol -p"$p" -P"$root" -T"debian/$p.substvars" -fdebian/files "$@"
	f=$out/$(sed -n 's/^Package: //p' "$root/DEBIAN/control")_${version}_$(sed -n 's/^Architecture: //p' "$root/DEBIAN/control").deb
	find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	dpkg-deb --root-owner-group -Zxz --build "$root" "$f" >/dev/null
	echo "$f"
}

# azure-vnet-cni
p=azure-vnet-cni
install -d -m 0755 "debian/$p/DEBIAN" "debian/$p/opt/cni/bin" "debian/$p/usr/sbin" \
	"debian/$p/usr/share/man/man8" "debian/$p/usr/share/doc/$p/examples" \
	"debian/$p/usr/share/lintian/overrides"
# the plugins where runtimes look for them; the operator's command where root's PATH has it
for f in opt/cni/bin/azure-vnet opt/cni/bin/azure-vnet-ipam usr/sbin/azure-vnet-inspect; do
	install -m 0755 "$build/bin/${f##*/}" "debian/$p/$f"
	strip --remove-section=.comment --remove-section=.note --strip-unneeded "debian/$p/$f"
done
gzip -9nc "$deb/azure-vnet-inspect.8" >"debian/$p/usr/share/man/man8/azure-vnet-inspect.8.gz"
chmod 0644 "debian/$p/usr/share/man/man8/azure-vnet-inspect.8.gz"
install -m 0644 "$top/linux/10-azure.conflist" "debian/$p/usr/share/doc/$p/examples/10-azure.conflist"
install -m 0644 "$top/tests/data/conflist/10-azure-linux-bridge.conflist" \
	"debian/$p/usr/share/doc/$p/examples/10-azure-bridge.conflist"
# the azure-cns modes, as AKS ships them: pod subnets (dynamic pod IP allocation) and Overlay
for f in azure-linux-swift.conflist azure-linux-swift-overlay.conflist; do
	install -m 0644 "$top/linux/$f" "debian/$p/usr/share/doc/$p/examples/$f"
done
install -m 0644 "$deb/$p.lintian-overrides" "debian/$p/usr/share/lintian/overrides/$p"
doc "$p"
dpkg-shlibdeps -T"debian/$p.substvars" "debian/$p/opt/cni/bin/azure-vnet" "debian/$p/opt/cni/bin/azure-vnet-ipam" \
	"debian/$p/usr/sbin/azure-vnet-inspect"

# Built-Using: the Debian source packages of the static archives the build linked (CMake found
# them: AZCNI_STATIC_DEPS), which the LGPL of libnl asks us to name; cJSON's when it is linked.
built_using=()
for var in AZCNI_NL3_A AZCNI_NLROUTE3_A AZCNI_EXPAT_A; do
	a=$(sed -n "s/^$var:FILEPATH=//p" "$build/CMakeCache.txt" 2>/dev/null)
	case $a in '' | *NOTFOUND) continue ;; esac
	# dpkg may know the file under its pre-usrmerge name (/lib/... for /usr/lib/...)
	owner=$({ dpkg -S "$a" 2>/dev/null || dpkg -S "${a#/usr}" 2>/dev/null || true; } | head -n1 | cut -d: -f1)
	[ -n "$owner" ] || die "no Debian package owns $a (the static archive the build linked)"
	built_using+=("$(dpkg-query -W -f='${source:Package} (= ${source:Version})' "$owner")")
done
# cJSON's archive is ci/static-deps.sh's, built from a Debian source package it names
a=$(sed -n "s/^AZCNI_CJSON_A:INTERNAL=//p" "$build/CMakeCache.txt" 2>/dev/null)
if [ -n "$a" ]; then
	[ -s "$a.built-using" ] || die "$a.built-using missing (ci/static-deps.sh writes it)"
	built_using+=("$(cat "$a.built-using")")
fi
bu=$(printf '%s\n' "${built_using[@]}" | sort -u | paste -sd, | sed 's/,/, /g')
finish "$p" -Vmisc:Depends= -Vazcni:Built-Using="$bu"

# azure-vnet-cni-conflist
p=azure-vnet-cni-conflist
install -d -m 0755 "debian/$p/DEBIAN" "debian/$p/etc/cni/net.d"
install -m 0644 "$top/linux/10-azure.conflist" "debian/$p/etc/cni/net.d/10-azure.conflist"
echo /etc/cni/net.d/10-azure.conflist >"debian/$p/DEBIAN/conffiles"
chmod 0644 "debian/$p/DEBIAN/conffiles"
doc "$p"
: >"debian/$p.substvars"
finish "$p" -Vmisc:Depends=
