#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# All the tests: native build + cmocka unit tests, IPAM process tests, Linux data-plane tests in
# network namespaces, valgrind memcheck of ADD/CHECK/DEL, real CNI clients, the install script,
# the unit, IPAM and netns suites again under ASan+UBSan (build-asan), bounded libFuzzer runs
# (build-fuzz, clang), the Windows cross-build under wine, and the Debian packages, the Windows
# zip and the DaemonSet installer image (package).
# Run as root on Debian 12 after ci/deps.sh. Exit non-zero when any suite fails.
# The native build is RelWithDebInfo with warnings as errors (AZCNI_WERROR); when it fails, the
# suites that use its programs are reported "not run" (never run against an older build) and the
# run fails. The Windows suite builds its own tree (ci/build-windows.sh) and runs regardless, in the
# background beside the Linux suites (it shares nothing with them; its output comes at the end).
# AZCNI_SKIP="windows clients" skips suites by name (for quick local runs; CI skips nothing).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

failed=()
passed=()
notrun=()
skip=" ${AZCNI_SKIP:-} "
built=1

# skipped NAME: true (and says so) when AZCNI_SKIP names the suite
skipped() {
	[[ $skip == *" $1 "* ]] || return 1
	echo "=== SKIP $1 (AZCNI_SKIP)"
}

# counted NAME STATUS T0 [NOTE]: count a suite that ended with STATUS, started at T0 (SECONDS)
counted() {
	if [ "$2" -eq 0 ]; then
		passed+=("$1")
		echo "=== PASS $1 ($((SECONDS - $3)) s${4:+, $4})"
	else
		failed+=("$1")
		echo "=== FAIL $1 ($((SECONDS - $3)) s${4:+, $4})"
	fi
}

# suite NAME CMD...: run one suite; needs_build NAME CMD...: the same for a suite that uses
# build/, unless the build failed.
suite() {
	local name=$1 t0=$SECONDS rc=0
	shift
	skipped "$name" && return
	echo "=== RUN  $name: $*"
	"$@" || rc=$?
	counted "$name" "$rc" "$t0"
}

# suite_bg NAME CMD...: start one suite in the background, its output to a log of its own;
# suite_wait NAME: wait for it, print its log, count it. For a suite that shares nothing with the
# others (the Windows suite: its own build tree, wine, no network namespaces), so that it runs
# beside the Linux suites instead of after them (2 cores: most of the netns suites wait on the
# kernel, not the CPU).
declare -A bg_pid bg_log bg_t0
suite_bg() {
	local name=$1
	shift
	skipped "$name" && return
	bg_log[$name]=$(mktemp "/tmp/azcni-ci-$name.XXXXXX.log")
	bg_t0[$name]=$SECONDS
	echo "=== START $name (in the background, output at the end): $*"
	"$@" >"${bg_log[$name]}" 2>&1 &
	bg_pid[$name]=$!
}

suite_wait() {
	local name=$1 rc=0
	[ -n "${bg_pid[$name]:-}" ] || return 0
	wait "${bg_pid[$name]}" || rc=$?
	echo "=== RUN  $name (ran in the background; its output:)"
	cat "${bg_log[$name]}"
	rm -f "${bg_log[$name]}"
	counted "$name" "$rc" "${bg_t0[$name]}" "in the background"
}

needs_build() {
	if [ "$built" = 0 ]; then
		notrun+=("$1")
		echo "=== NOT RUN $1 (the build failed)"
		return
	fi
	suite "$@"
}

# build: the status is cmake's (configure, then build; pipefail), the progress lines filtered out.
# ci/static-deps.sh first: the programs link cJSON statically as the packages ship them (and the
# unit tests' allocation failures then reach cJSON's allocations too); without it, shared.
build() {
	{ ci/static-deps.sh >/dev/null || echo "build: ci/static-deps.sh failed: cJSON linked shared"; } &&
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAZCNI_WERROR=ON >/dev/null &&
		cmake --build build -j"$(nproc)" 2>&1 | { grep -Ev '^\[|^-- ' || true; } &&
		[ -x build/bin/azure-vnet-ipam ] && [ -x build/bin/azure-vnet ]
}

# asan_suite: build-asan (AZCNI_SANITIZE), then the unit, IPAM and netns suites over it
asan_suite() {
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAZCNI_WERROR=ON \
		-DAZCNI_SANITIZE=ON >/dev/null &&
		cmake --build build-asan -j"$(nproc)" 2>&1 | { grep -Ev '^\[|^-- ' || true; } &&
		tests/asan/run.sh build-asan
}

# fuzz_suite: build-fuzz (clang, AZCNI_FUZZ; the harnesses only), then a bounded run of each
# (AZCNI_FUZZ_TIME seconds per target, default 12, two at a time on two CPUs)
fuzz_suite() {
	cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DAZCNI_WERROR=ON -DAZCNI_FUZZ=ON -DAZCNI_TESTS=OFF >/dev/null &&
		cmake --build build-fuzz -j"$(nproc)" --target fuzz 2>&1 | { grep -Ev '^\[|^-- ' || true; } &&
		tests/fuzz/run.sh build-fuzz
}

suite build build
[ ${#failed[@]} -eq 0 ] || built=0
needs_build unit ctest --test-dir build --output-on-failure --no-tests=error -LE process
[ -x tests/ipam/run.sh ] && needs_build ipam tests/ipam/run.sh
[ -x tests/windows/run.sh ] && suite_bg windows tests/windows/run.sh
[ -x tests/linux/plugin.sh ] && needs_build linux-plugin tests/linux/plugin.sh
[ -x tests/linux/dualstack.sh ] && needs_build linux-dualstack tests/linux/dualstack.sh
[ -x tests/linux/dualstack-clients.sh ] && needs_build dualstack-clients tests/linux/dualstack-clients.sh
[ -x tests/linux/cns.sh ] && needs_build linux-cns tests/linux/cns.sh
[ -x tests/linux/overlay.sh ] && needs_build linux-overlay tests/linux/overlay.sh
[ -x tests/linux/crash.sh ] && needs_build crash tests/linux/crash.sh
[ -x tests/linux/corrupt.sh ] && needs_build corrupt tests/linux/corrupt.sh
[ -x tests/linux/inspect.sh ] && needs_build inspect tests/linux/inspect.sh
[ -x tests/linux/metrics.sh ] && needs_build metrics tests/linux/metrics.sh
[ -x tests/linux/logs.sh ] && needs_build logs tests/linux/logs.sh
[ -x tests/linux/compat.sh ] && needs_build compat tests/linux/compat.sh
[ -x tests/linux/valgrind.sh ] && needs_build valgrind tests/linux/valgrind.sh
[ -x tests/linux/install.sh ] && needs_build install tests/linux/install.sh
[ -x tests/linux/clients.sh ] && needs_build clients tests/linux/clients.sh
[ -x linux/demo.sh ] && needs_build demo linux/demo.sh
[ -x tests/asan/run.sh ] && suite asan asan_suite
[ -x tests/fuzz/run.sh ] && suite fuzz fuzz_suite
suite_wait windows
# after windows: it also checks the zip ci/build-windows.sh made
[ -x tests/linux/package.sh ] && needs_build package tests/linux/package.sh

echo
echo "passed: ${passed[*]:-none}"
echo "failed: ${failed[*]:-none}"
[ ${#notrun[@]} -eq 0 ] || echo "not run (the build failed): ${notrun[*]}"
[ ${#failed[@]} -eq 0 ] && [ ${#notrun[@]} -eq 0 ]
