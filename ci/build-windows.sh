#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Windows programs, cross-built on Debian with mingw-w64:
#   ci/build-windows.sh [build dir]      (default build-windows)
# produces <build dir>/bin/azure-vnet.exe, azure-vnet-ipam.exe and azure-vnet-inspect.exe, linked
# -static (they need only DLLs every Windows Server 2019+ ships: kernel32, winhttp, ole32, ...;
# computenetwork.dll is loaded at run time), and <build dir>/package/: the three programs,
# 10-azure.conflist and install.ps1 side by side, the folder to copy to a node and run install.ps1
# from, and the same files as <build dir>/azure-vnet-cni-windows-amd64-v<version>.zip (ci/windows-zip.sh).
# cJSON, expat and cmocka come from ci/cross-deps.sh (.deps-mingw).
# AZCNI_TESTS=OFF skips the unit tests (then cmocka is not needed). Warnings are errors
# (AZCNI_WERROR, default ON here: this is the CI build; AZCNI_WERROR=OFF to build anyway).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build-windows}
deps=${AZCNI_DEPS_PREFIX:-$top/.deps-mingw}

"$top/ci/cross-deps.sh" "$deps"
cmake -S "$top" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$top/cmake/toolchain-mingw64.cmake" \
	-DAZCNI_DEPS_PREFIX="$deps" -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" \
	-DAZCNI_TESTS="${AZCNI_TESTS:-ON}" -DAZCNI_WERROR="${AZCNI_WERROR:-ON}" >/dev/null
cmake --build "$build" -j"$(nproc)"
for exe in azure-vnet.exe azure-vnet-ipam.exe azure-vnet-inspect.exe; do
	[ -f "$build/bin/$exe" ] || { echo "build-windows: $build/bin/$exe missing" >&2; exit 1; }
	# only system DLLs may be imported
	bad=$(x86_64-w64-mingw32-objdump -p "$build/bin/$exe" | sed -n 's/^\s*DLL Name: //p' |
		grep -Eiv '^(kernel32|user32|advapi32|ws2_32|winhttp|ole32|oleaut32|rpcrt4|msvcrt|iphlpapi|shell32|bcrypt|ntdll|api-ms-win-[a-z0-9-]+)\.dll$' || true)
	if [ -n "$bad" ]; then
		echo "build-windows: $exe imports non-system DLLs: $bad" >&2
		exit 1
	fi
done
pkg=$build/package
rm -rf "$pkg"
mkdir -p "$pkg"
cp "$build/bin/azure-vnet.exe" "$build/bin/azure-vnet-ipam.exe" "$build/bin/azure-vnet-inspect.exe" \
	"$top/windows/10-azure.conflist" "$top/windows/install.ps1" "$pkg/"
zip=$("$top/ci/windows-zip.sh" "$build")
echo "build-windows: $build/bin/azure-vnet.exe $build/bin/azure-vnet-ipam.exe; package $pkg; $zip"
