#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Cross-build the C libraries the Windows programs link (cJSON, expat, cmocka) as static mingw-w64
# libraries from their Debian source packages (fetched with apt-get source, never committed) into
# a prefix, default <repo>/.deps-mingw (gitignored). Idempotent: a finished library is skipped.
# Usage: ci/cross-deps.sh [prefix]        (root on Debian 12; installs the toolchain if missing)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
prefix=${1:-$top/.deps-mingw}
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
toolchain=$top/cmake/toolchain-mingw64.cmake
src=$prefix/src
bld=$prefix/build

need_pkgs=()
command -v x86_64-w64-mingw32-gcc >/dev/null || need_pkgs+=(gcc-mingw-w64-x86-64)
command -v dpkg-source >/dev/null || need_pkgs+=(dpkg-dev)
command -v cmake >/dev/null || need_pkgs+=(cmake)
if [ ${#need_pkgs[@]} -gt 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y "${need_pkgs[@]}"
fi

# Source packages need deb-src entries: the same sources file ci/deps.sh writes
# (debian-src.sources, or debian-src.list beside a classic sources.list), so the two scripts never
# add the same entries twice (apt warns about duplicates). An azcni-debian-src.* file from an
# earlier version of this script is taken over.
have_deb_src() { apt-get source --print-uris cjson >/dev/null 2>&1; }
srcdir=/etc/apt/sources.list.d
srcfile=$srcdir/debian-src.sources
for old in "$srcdir/azcni-debian-src.sources" "$srcdir/azcni-debian-src.list"; do
	[ -e "$old" ] || continue
	if [ -e "$srcfile" ] || [ -e "$srcdir/debian-src.list" ]; then
		rm -f "$old"
	else
		mv "$old" "$srcdir/debian-src.${old##*.}"
	fi
done
if ! have_deb_src; then
	if [ -e "$srcfile" ] || [ -e "$srcdir/debian-src.list" ]; then
		: # present already (ci/deps.sh): the indexes only need fetching
	elif [ -f "$srcdir/debian.sources" ]; then
		sed 's/^Types: deb$/Types: deb-src/' "$srcdir/debian.sources" >"$srcfile.tmp"
		mv "$srcfile.tmp" "$srcfile"
	else
		# classic sources.list: mirror each "deb" line as "deb-src"
		sed -n 's/^deb \(.*\)$/deb-src \1/p' /etc/apt/sources.list >"$srcdir/debian-src.list.tmp"
		mv "$srcdir/debian-src.list.tmp" "$srcdir/debian-src.list"
	fi
	apt-get update -qq
fi

# fetch <source package>: unpack it under $src once; prints the unpacked directory.
fetch() {
	local pkg=$1 dir
	mkdir -p "$src"
	dir=$(find "$src" -maxdepth 1 -type d -name "$pkg-[0-9]*" | head -n1)
	if [ -z "$dir" ]; then
		# A mirror may lack a security update's .dsc while the upstream tarball (shared by every
		# Debian revision) downloads: then unpack the upstream tarball alone.
		(cd "$src" && apt-get source -qq "$pkg" >/dev/null 2>&1) || true
		dir=$(find "$src" -maxdepth 1 -type d -name "$pkg-[0-9]*" | head -n1)
		if [ -z "$dir" ]; then
			local orig
			orig=$(find "$src" -maxdepth 1 -name "${pkg}_*.orig.tar.*" ! -name '*.asc' | head -n1)
			if [ -n "$orig" ]; then
				dir=$src/$pkg-0-upstream
				mkdir -p "$dir" && tar -C "$dir" --strip-components=1 -xf "$orig"
			fi
		fi
	fi
	[ -n "$dir" ] || { echo "no source tree for $pkg" >&2; return 1; }
	# expat keeps its CMake project one level down (expat/)
	[ -f "$dir/CMakeLists.txt" ] || [ ! -f "$dir/$pkg/CMakeLists.txt" ] || dir=$dir/$pkg
	echo "$dir"
}

# build <name> <stamp file relative to prefix> <source dir> <cmake args...>
build() {
	local name=$1 stamp=$2 dir=$3
	shift 3
	if [ -f "$prefix/$stamp" ]; then
		echo "cross-deps: $name already in $prefix"
		return 0
	fi
	echo "cross-deps: building $name from $dir"
	rm -rf "$bld/$name"
	cmake -S "$dir" -B "$bld/$name" -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
		-DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_BUILD_TYPE=Release "$@" >"$bld-$name.log" 2>&1 &&
		cmake --build "$bld/$name" -j"$(nproc)" >>"$bld-$name.log" 2>&1 &&
		cmake --install "$bld/$name" >>"$bld-$name.log" 2>&1 ||
		{ echo "cross-deps: $name failed, see $bld-$name.log" >&2; tail -n 20 "$bld-$name.log" >&2; return 1; }
	[ -f "$prefix/$stamp" ] || { echo "cross-deps: $name did not install $stamp" >&2; return 1; }
}

mkdir -p "$bld"
# cJSON: its own flags add -fstack-protector-strong (needs libssp) and its tests need C89 long long.
cjson_dir=$(fetch cjson)
expat_dir=$(fetch expat)
cmocka_dir=$(fetch cmocka)
build cjson lib/libcjson.a "$cjson_dir" -DBUILD_SHARED_LIBS=OFF -DBUILD_SHARED_AND_STATIC_LIBS=OFF \
	-DENABLE_CJSON_TEST=OFF -DENABLE_CUSTOM_COMPILER_FLAGS=OFF -DENABLE_CJSON_UTILS=OFF
build expat lib/libexpat.a "$expat_dir" -DEXPAT_SHARED_LIBS=OFF -DEXPAT_BUILD_TOOLS=OFF \
	-DEXPAT_BUILD_EXAMPLES=OFF -DEXPAT_BUILD_TESTS=OFF -DEXPAT_BUILD_DOCS=OFF -DEXPAT_BUILD_FUZZERS=OFF \
	-DEXPAT_MSVC_STATIC_CRT=OFF
# cmocka: built with mingw's C99 printf (so "%zu" in test messages prints), and its header's
# format attribute switched from the msvcrt archetype to gnu_printf to match (else every %zu in a
# test message is a -Wformat warning under mingw).
build cmocka lib/libcmocka-static.a "$cmocka_dir" -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF \
	-DUNIT_TESTING=OFF -DBUILD_SHARED_LIBS=OFF -DCMAKE_C_FLAGS=-D__USE_MINGW_ANSI_STDIO=1
sed -i 's/__format__ (__printf__,/__format__ (__gnu_printf__,/' "$prefix/include/cmocka.h"
echo "cross-deps: ready in $prefix"
