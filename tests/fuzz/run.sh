#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bounded libFuzzer runs of every harness in tests/fuzz (ASan+UBSan, leak detection on), each
# starting from its committed seed corpus (corpus/<target>/, copied: the inputs a run finds are
# not committed) with json.dict or xml.dict. One check per target: no crash, leak, timeout or
# broken invariant; its line gives the executions, the corpus growth and the coverage reached.
# A finding is kept in <build-dir>/fuzz-artifacts/ (reproduce: <build-dir>/bin/fuzz-<t> FILE)
# and its sanitizer report is shown.
# Usage: tests/fuzz/run.sh [build-dir]   (default build-fuzz; configure it with
#   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DAZCNI_FUZZ=ON -DAZCNI_TESTS=OFF
#   cmake --build build-fuzz --target fuzz)
# AZCNI_FUZZ_TIME   seconds per target (default 12)
# AZCNI_FUZZ_JOBS   targets run at once (default: the number of CPUs)
# AZCNI_FUZZ_TARGETS  a subset, e.g. "request netstate" (default: every corpus/<target>)
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bdir=${1:-$top/build-fuzz}
here=$top/tests/fuzz
# shellcheck source=tests/lib/suite.sh
. "$top/tests/lib/suite.sh"

secs=${AZCNI_FUZZ_TIME:-12}
jobs=${AZCNI_FUZZ_JOBS:-$(nproc)}
targets=${AZCNI_FUZZ_TARGETS:-$(cd "$here/corpus" && echo *)}
art=$bdir/fuzz-artifacts
WORK=$(mktemp -d /tmp/azcni-fuzz.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$art"
suite_begin "$WORK/results"

# run_one TARGET: fuzz it for $secs seconds; the log is $WORK/TARGET.log, the status
# $WORK/TARGET.rc.
run_one() {
	local t=$1 dict=$here/json.dict rc=0
	[ "$t" = nmagent ] && dict=$here/xml.dict
	mkdir -p "$WORK/$t.corpus"
	cp "$here/corpus/$t"/* "$WORK/$t.corpus/" 2>/dev/null
	"$bdir/bin/fuzz-$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=16384 -print_final_stats=1 -dict="$dict" -artifact_prefix="$art/$t-" \
		"$WORK/$t.corpus" >"$WORK/$t.log" 2>&1 || rc=$?
	echo "$rc" >"$WORK/$t.rc"
}

echo "fuzz: ${secs} s per target, $jobs at once: $targets"
running=0
for t in $targets; do
	if [ ! -x "$bdir/bin/fuzz-$t" ]; then
		echo 127 >"$WORK/$t.rc"
		echo "no $bdir/bin/fuzz-$t (build the fuzz target)" >"$WORK/$t.log"
		continue
	fi
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

total=0
for t in $targets; do
	log=$WORK/$t.log
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1)
	seeds=$(find "$here/corpus/$t" -type f | wc -l)
	grown=$(find "$WORK/$t.corpus" -type f | wc -l)
	total=$((total + ${runs:-0}))
	if [ "$(cat "$WORK/$t.rc")" = 0 ]; then
		ok "fuzz-$t: ${runs:-?} runs in $secs s, corpus $seeds -> $grown, ${cov:-cov: ?}"
	else
		bad "fuzz-$t (status $(cat "$WORK/$t.rc")): ${runs:-?} runs; artifacts in $art"
		# the report and the top of its stack, the artifact; not libFuzzer's byte dumps
		grep -E -e '^==[0-9]+==ERROR|runtime error|invariant failed|round trip differs' \
			-e '^ +#[0-9] |SUMMARY|Test unit written|^Base64|^no ' "$log" |
			head -30 | sed 's/^/    /'
	fi
done
echo "fuzz: $total executions in all"
suite_end
