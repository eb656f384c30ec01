#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The unit tests, the IPAM process suite (tests/ipam) and the Linux netns suites
# (tests/linux/plugin.sh, tests/linux/cns.sh, tests/linux/overlay.sh) against a build with AddressSanitizer,
# UndefinedBehaviorSanitizer and LeakSanitizer (AZCNI_SANITIZE=ON; any finding stops the
# process). Every sanitized process writes its report to a file under a directory of this run
# (ASAN_OPTIONS log_path), so a finding in a call whose failure a suite expected still fails
# here. One check per suite, plus one for the reports.
# Usage: tests/asan/run.sh [build-dir]   (default build-asan; configure it with
#   cmake -S . -B build-asan -DAZCNI_SANITIZE=ON && cmake --build build-asan)
# Root for the process and netns suites (they skip their root-only parts otherwise).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bdir=$(cd "${1:-$top/build-asan}" && pwd) || exit 1
# shellcheck source=tests/lib/suite.sh
. "$top/tests/lib/suite.sh"
[ -x "$bdir/bin/azure-vnet" ] && [ -x "$bdir/bin/azure-vnet-ipam" ] ||
	{ echo "FAIL: build $bdir first (AZCNI_SANITIZE=ON)"; exit 1; }
grep -q '^AZCNI_SANITIZE:BOOL=ON' "$bdir/CMakeCache.txt" ||
	{ echo "FAIL: $bdir is not an AZCNI_SANITIZE=ON build"; exit 1; }

WORK=$(mktemp -d /tmp/azcni-asan.XXXXXX)
chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT
mkdir -m 1777 "$WORK/reports"
suite_begin "$WORK/results"

# exitcode 86: a sanitizer finding is never mistaken for a CNI error (exit 1)
common="log_path=$WORK/reports/report:exitcode=86:print_stacktrace=1"
export ASAN_OPTIONS="$common:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="$common:halt_on_error=1"
export LSAN_OPTIONS="$common"

# run DESC CMD...: CMD's output indented; its status is the check's
run() {
	local d=$1 rc
	shift
	echo "--- $d: $*"
	"$@" 2>&1 | sed 's/^/    /'
	rc=${PIPESTATUS[0]}
	if [ "$rc" = 0 ]; then ok "$d"; else bad "$d (status $rc)"; fi
}

run "unit tests (ctest -LE process) under ASan+UBSan" \
	ctest --test-dir "$bdir" --output-on-failure --no-tests=error -LE process
run "IPAM process suite (tests/ipam) under ASan+UBSan" \
	env AZCNI_IPAM_BIN="$bdir/bin/azure-vnet-ipam" "$top/tests/ipam/run.sh"
run "Linux netns suite (tests/linux/plugin.sh) under ASan+UBSan" \
	"$top/tests/linux/plugin.sh" "$bdir"
run "azure-cns netns suite (tests/linux/cns.sh) under ASan+UBSan" \
	"$top/tests/linux/cns.sh" "$bdir"
run "Azure CNI Overlay netns suite (tests/linux/overlay.sh) under ASan+UBSan" \
	"$top/tests/linux/overlay.sh" "$bdir"

reports=$(find "$WORK/reports" -type f | sort)
if [ -z "$reports" ]; then
	ok "no sanitizer report from any process"
else
	bad "sanitizer reports from $(echo "$reports" | wc -l) processes"
	for f in $reports; do
		echo "--- $f"
		head -40 "$f" | sed 's/^/    /'
	done
fi
suite_end
