#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# All the tests: native build + cmocka unit tests, IPAM process tests, Linux data-plane tests in
# network namespaces, real CNI clients, the install script, and the Windows cross-build under wine.
# Run as root on Debian 12 after ci/deps.sh. Exit non-zero when any suite fails.
# AZCNI_SKIP="windows clients" skips suites by name (for quick local runs; CI skips nothing).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

failed=()
passed=()
skip=" ${AZCNI_SKIP:-} "

suite() {
	local name=$1
	shift
	if [[ $skip == *" $name "* ]]; then
		echo "=== SKIP $name (AZCNI_SKIP)"
		return
	fi
	echo "=== RUN  $name: $*"
	local t0=$SECONDS
	if "$@"; then
		passed+=("$name")
		echo "=== PASS $name ($((SECONDS - t0)) s)"
	else
		failed+=("$name")
		echo "=== FAIL $name ($((SECONDS - t0)) s)"
	fi
}

build() {
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAZCNI_WERROR=ON >/dev/null &&
		cmake --build build -j"$(nproc)" 2>&1 | grep -Ev '^\[|^-- ' || true
	[ -x build/bin/azure-vnet-ipam ] && [ -x build/bin/azure-vnet ]
}

suite build build
suite unit ctest --test-dir build --output-on-failure -LE process
[ -x tests/ipam/run.sh ] && suite ipam tests/ipam/run.sh
[ -x tests/linux/plugin.sh ] && suite linux-plugin tests/linux/plugin.sh
[ -x tests/linux/install.sh ] && suite install tests/linux/install.sh
[ -x tests/linux/clients.sh ] && suite clients tests/linux/clients.sh
[ -x linux/demo.sh ] && suite demo linux/demo.sh
[ -x tests/windows/run.sh ] && suite windows tests/windows/run.sh

echo
echo "passed: ${passed[*]:-none}"
echo "failed: ${failed[*]:-none}"
[ ${#failed[@]} -eq 0 ]
