#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fully static Linux programs, for the DaemonSet installer image (deploy/): no shared library and
# no program interpreter, so they run on any node's userland (as the Go plugin's CGO_ENABLED=0
# builds do).
#   linux/build-static.sh [build dir]      (default build-static) -> <dir>/bin/azure-vnet{,-ipam,-inspect}
# cJSON and an HTTP-only libcurl come from ci/static-deps.sh (.deps-static, or
# AZCNI_STATIC_PREFIX); the rest is glibc's, libnl's and expat's static archives from Debian.
# Warnings are errors (AZCNI_WERROR, default ON).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build-static}
prefix=${AZCNI_STATIC_PREFIX:-$top/.deps-static}

"$top/ci/static-deps.sh" "$prefix"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" \
	-DAZCNI_FULLY_STATIC=ON -DAZCNI_STATIC_PREFIX="$prefix" -DAZCNI_TESTS=OFF \
	-DAZCNI_WERROR="${AZCNI_WERROR:-ON}" >/dev/null
# The linker's notes that getaddrinfo (libcurl, libnl) and getprotoby* (libnl) in a static
# program need the build's glibc at run time are filtered: libcurl resolves only a host name (the
# NMAgent URL is an IP address), and we call none of libnl's (README, Install).
cmake --build "$build" -j"$(nproc)" --target azure-vnet azure-vnet-ipam azure-vnet-inspect 2>&1 |
	{ grep -Ev '^\[|^-- |statically linked applications requires at runtime|^/usr/bin/ld: .*\.a\(.*\): in function' || true; }
for p in azure-vnet azure-vnet-ipam azure-vnet-inspect; do
	f=$build/bin/$p
	[ -x "$f" ] || { echo "build-static: $f missing" >&2; exit 1; }
	if readelf -lW "$f" | grep -q 'INTERP' || readelf -dW "$f" | grep -q 'NEEDED'; then
		echo "build-static: $f is not static" >&2
		exit 1
	fi
done
echo "build-static: $build/bin/azure-vnet $build/bin/azure-vnet-ipam $build/bin/azure-vnet-inspect (static)"
