#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Windows release archive, named as the Go plugin's (Makefile cni-archive):
#   ci/windows-zip.sh BUILD_DIR   ->  BUILD_DIR/azure-vnet-cni-windows-amd64-v<version>.zip
# holding BUILD_DIR/package/ (ci/build-windows.sh): azure-vnet.exe, azure-vnet-ipam.exe,
# azure-vnet-inspect.exe, 10-azure.conflist and install.ps1 at the top level, as the Go archive
# has its files. The version is the build's AZCNI_VERSION (CMakeCache.txt) in the Go tag form,
# "v0.1.0". Extra attributes and file dates are kept out (-X; mtimes SOURCE_DATE_EPOCH, default 2000-01-01), so
# the same files give the same archive. Prints the archive's path.
set -euo pipefail
build=$(cd "${1:?usage: ci/windows-zip.sh BUILD_DIR}" && pwd)
pkg=$build/package
files=(azure-vnet.exe azure-vnet-ipam.exe azure-vnet-inspect.exe 10-azure.conflist install.ps1)
die() { echo "windows-zip: $*" >&2; exit 1; }
command -v zip >/dev/null || die "zip not found (apt-get install zip)"
version=$(sed -n 's/^AZCNI_VERSION:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null)
[ -n "$version" ] || die "no AZCNI_VERSION in $build/CMakeCache.txt"
for f in "${files[@]}"; do [ -f "$pkg/$f" ] || die "$pkg/$f missing (ci/build-windows.sh makes it)"; done
out=$build/azure-vnet-cni-windows-amd64-v$version.zip
stage=$(mktemp -d "$build/.zip.XXXXXX")
trap 'rm -rf "$stage"' EXIT
for f in "${files[@]}"; do
	cp "$pkg/$f" "$stage/$f"
	touch -d @"${SOURCE_DATE_EPOCH:-946684800}" "$stage/$f" # zip stores no date before 1980
done
(cd "$stage" && TZ=UTC zip -9 -X -q "$stage/out.zip" "${files[@]}")
mv -f "$stage/out.zip" "$out"
echo "$out"
