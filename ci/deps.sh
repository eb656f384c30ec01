#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install everything the build, the Linux tests, the real-client tests and the demo need on
# Debian 12, non-interactively and quietly. Idempotent: safe to run again. Enables deb-src through
# a separate sources file (cnitool and the mingw deps are built from Debian source packages).
# Run as root.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -qq -y -o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)

build=(cmake gcc make pkg-config libcjson-dev libnl-3-dev libnl-route-3-dev libcmocka-dev
	libexpat1-dev libcurl4-openssl-dev)
runtime=(iproute2 iptables ebtables python3 jq busybox-static containernetworking-plugins
	hyperfine util-linux kmod curl python3-prometheus-client)
# Real clients (tests/linux/clients.sh): cnitool and our CRI client are built with Debian's Go from
# Debian source packages (ci/build-cnitool.sh, ci/build-cri-client.sh: the CRI client also needs
# Debian's grpc and gogo-protobuf Go sources).
clients=(golang-go golang-github-appc-cni-dev golang-google-grpc-dev golang-github-gogo-protobuf-dev
	dpkg-dev xz-utils podman runc crun catatonit containerd)
# Packages and deployment (tests/linux/package.sh): the Debian packages and lintian, the Windows
# zip, the installer image (podman and runc are in clients; busybox-static in runtime), the
# manifest check (python3-yaml), the installer's fsync/rename trace (strace).
packaging=(dpkg-dev lintian binutils zip unzip python3-yaml strace)
# The Windows cross-build and its tests under wine (ci/build-windows.sh, tests/windows/run.sh):
# mingw-w64, wine, and dpkg-dev for `apt-get source` (ci/cross-deps.sh). Installed with their
# recommends, the configuration the wine tests were verified with.
windows=(gcc-mingw-w64-x86-64 wine wine64 dpkg-dev)
# The fuzz, asan and valgrind suites: clang with its sanitizer and libFuzzer runtimes (only
# recommended by clang, so named), llvm-symbolizer (llvm) for the sanitizers' stacks, valgrind.
analysis=(clang llvm libclang-rt-dev valgrind)
# Optional extras.
extra=(${AZCNI_EXTRA_PACKAGES:-})

# The one deb-src sources file (ci/cross-deps.sh uses this name too). Earlier versions of
# cross-deps.sh wrote azcni-debian-src.*: take that one over rather than have both.
src=/etc/apt/sources.list.d/debian-src.sources
need_update=0
for old in /etc/apt/sources.list.d/azcni-debian-src.sources /etc/apt/sources.list.d/azcni-debian-src.list; do
	[ -e "$old" ] || continue
	if [ -e "$src" ] || [ -e "${src%.sources}.list" ]; then
		rm -f "$old"
	else
		mv "$old" "/etc/apt/sources.list.d/debian-src.${old##*.}"
	fi
	need_update=1
done
if [ ! -e "$src" ] && [ -e /etc/apt/sources.list.d/debian.sources ]; then
	sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$src.tmp"
	mv "$src.tmp" "$src"
	need_update=1
fi
# An old-style sources.list without deb822 files: add deb-src lines next to it, once.
if [ ! -e /etc/apt/sources.list.d/debian.sources ] && [ -e /etc/apt/sources.list ] &&
	! grep -qs '^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/*.list; then
	sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >/etc/apt/sources.list.d/debian-src.list
	need_update=1
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
for p in "${build[@]}" "${runtime[@]}" "${clients[@]}" "${packaging[@]}" "${analysis[@]}" "${extra[@]}"; do
	installed "$p" || missing+=("$p")
done
missing_win=()
for p in "${windows[@]}"; do
	installed "$p" || missing_win+=("$p")
done
# apt-get source needs fresh deb-src indexes even when every binary package is present.
if [ "$need_update" = 1 ] || [ ${#missing[@]} -gt 0 ] || [ ${#missing_win[@]} -gt 0 ] ||
	! ls /var/lib/apt/lists/*_source_Sources* >/dev/null 2>&1; then
	"${apt[@]}" update
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	"${apt[@]}" install --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ${#missing_win[@]} -gt 0 ]; then
	echo "deps: installing ${missing_win[*]} (Windows cross-build and wine)"
	"${apt[@]}" install "${missing_win[@]}" >/dev/null
fi
echo "deps: ok"
