#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The two static archives Debian does not ship in a linkable form, built natively from their
# Debian source packages (apt-get source: upstream plus Debian's patches) into a prefix, default
# <repo>/.deps-static (gitignored), for the fully static programs of the installer image
# (linux/build-static.sh, CMake -DAZCNI_FULLY_STATIC=ON):
#   libcjson.a  cJSON (libcjson-dev ships only the shared library); the default dynamic build
#               links it too when it is here (CMakeLists.txt, AZCNI_STATIC_DEPS)
#   libcurl.a   HTTP only, no TLS, no compression, no IDN, no other protocol. Debian's own
#               libcurl.a cannot be linked statically: it needs libgssapi_krb5, libldap, librtmp,
#               libssh2, libpsl and libnghttp2, which Debian ships without static archives. The
#               plugin's one HTTP use is the NMAgent GET to http://168.63.129.16, plain HTTP.
# libnl-3, libnl-route-3 and expat come from Debian's -dev packages (.a files) as they are.
# Idempotent: a finished library is skipped. Needs deb-src entries (ci/deps.sh writes them).
# Usage: ci/static-deps.sh [prefix]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
prefix=${1:-$top/.deps-static}
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
src=$prefix/src
jobs=$(nproc)

# fetch PKG: the unpacked Debian source tree of PKG under $src (once); prints its directory
fetch() {
	local dir
	mkdir -p "$src"
	dir=$(find "$src" -maxdepth 1 -type d -name "$1-[0-9]*" | head -n1)
	if [ -z "$dir" ]; then
		(cd "$src" && apt-get source -qq "$1" >/dev/null 2>&1) ||
			{ echo "static-deps: apt-get source $1 failed (deb-src entries: run ci/deps.sh)" >&2; return 1; }
		dir=$(find "$src" -maxdepth 1 -type d -name "$1-[0-9]*" | head -n1)
	fi
	[ -n "$dir" ] || { echo "static-deps: no source tree for $1" >&2; return 1; }
	echo "$dir"
}

# cJSON gets Debian's own hardening flags (dpkg-buildflags: stack protector, _FORTIFY_SOURCE), as
# libcjson1's shared library has them, and function sections (linux/hot-text.ld places its
# functions one by one). libcjson.a.cflags records the flags (an archive built with others is
# rebuilt); libcjson.a.built-using names the Debian source (linux/package.sh's Built-Using).
cjson_flags=(-O2)
if command -v dpkg-buildflags >/dev/null; then
	read -ra cjson_flags <<<"$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get CPPFLAGS) $(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get CFLAGS | sed 's/ -ffile-prefix-map=[^ ]*//')"
fi
cjson_flags+=(-fno-strict-aliasing -ffunction-sections)
if [ ! -f "$prefix/lib/libcjson.a" ] || [ ! -f "$prefix/lib/libcjson.a.built-using" ] ||
	[ "$(cat "$prefix/lib/libcjson.a.cflags" 2>/dev/null)" != "${cjson_flags[*]}" ]; then
	dir=$(fetch cjson)
	mkdir -p "$prefix/lib" "$prefix/include/cjson"
	cc "${cjson_flags[@]}" -c "$dir/cJSON.c" -o "$prefix/lib/cJSON.o"
	rm -f "$prefix/lib/libcjson.a.tmp"
	ar rcs "$prefix/lib/libcjson.a.tmp" "$prefix/lib/cJSON.o"
	rm -f "$prefix/lib/cJSON.o"
	cp "$dir/cJSON.h" "$prefix/include/cjson/cJSON.h"
	mv "$prefix/lib/libcjson.a.tmp" "$prefix/lib/libcjson.a"
	echo "${cjson_flags[*]}" >"$prefix/lib/libcjson.a.cflags"
	echo "cjson (= $(cd "$dir" && dpkg-parsechangelog -S Version))" >"$prefix/lib/libcjson.a.built-using"
	echo "static-deps: $prefix/lib/libcjson.a ($(basename "$dir"))"
fi

if [ ! -f "$prefix/lib/libcurl.a" ]; then
	dir=$(fetch curl)
	bld=$prefix/build/curl
	rm -rf "$bld"
	mkdir -p "$bld"
	# Debian's patches touch configure.ac and Makefile.am: regenerate nothing (the release
	# tarball's configure is used as is).
	(cd "$bld" && "$dir/configure" --prefix="$prefix" --disable-shared --enable-static \
		--disable-dependency-tracking --disable-maintainer-mode \
		--without-ssl --without-zlib --without-brotli --without-zstd --without-libpsl \
		--without-libidn2 --without-nghttp2 --without-nghttp3 --without-ngtcp2 \
		--without-librtmp --without-libssh2 --without-libgsasl --without-gssapi \
		--disable-ldap --disable-ldaps --disable-rtsp --disable-dict --disable-telnet \
		--disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp \
		--disable-gopher --disable-mqtt --disable-ftp --disable-file --disable-manual \
		--disable-ntlm --disable-alt-svc --disable-unix-sockets --disable-cookies \
		--disable-netrc --disable-websockets --enable-symbol-hiding >configure.log 2>&1) ||
		{ tail -20 "$bld/config.log" >&2; exit 1; }
	make -C "$bld/lib" -j"$jobs" >"$bld/make.log" 2>&1 || { tail -30 "$bld/make.log" >&2; exit 1; }
	make -C "$bld/include" install >/dev/null
	make -C "$bld/lib" install >/dev/null
	rm -f "$prefix/lib/libcurl.la"
	echo "static-deps: $prefix/lib/libcurl.a ($(basename "$dir"), HTTP only)"
fi
