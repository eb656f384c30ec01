# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# A suite's pass/fail counting, shared by the shell suites (sourced).
#   suite_begin FILE     start counting into FILE (created or emptied; exported as SUITE_RESULTS,
#                        so checks made by child processes that source this file count too)
#   ok DESC              a passed check          bad DESC   a failed check
#   skip DESC            a check not run (e.g. a client that cannot be installed)
#   check DESC CMD...    run CMD: status 0 is ok DESC, anything else bad DESC; always returns 0
#   suite_failed         the number of failed checks so far
#   suite_end            a list of the failed checks, then the last line of the suite, exactly
#                        "N passed, N failed" (", N skipped" added when some were skipped);
#                        returns 1 when any check failed
# One line per result in FILE ("PASS desc", "FAIL desc", "SKIP desc"), so the counts are right
# whatever process made the check. Settings, read at each call:
#   SUITE_LOG      where check sends CMD's stdout (appended; default /dev/null)
#   SUITE_ERRLOG   where check sends CMD's stderr (appended; default: not redirected)
#   SUITE_INDENT   printed before each PASS/FAIL/SKIP line
# A suite may define suite_on_fail: called with DESC after each failed check (e.g. to show the
# output that failed). PASS, FAIL and SKIP are coloured when stdout is a terminal.

suite_begin() {
	export SUITE_RESULTS=$1
	: >"$SUITE_RESULTS"
}

# suite_record WORD COLOUR DESC: one result, to stdout and to SUITE_RESULTS.
suite_record() {
	local word=$1 colour=$2 d=$3 off=$'\e[0m'
	[ -t 1 ] || colour='' off=''
	echo "${SUITE_INDENT:-}$colour$word$off $d"
	printf '%s %s\n' "$word" "${d//$'\n'/ }" >>"${SUITE_RESULTS:?suite_begin first}"
}

ok() { suite_record PASS $'\e[32m' "$*"; }
skip() { suite_record SKIP $'\e[33m' "$*"; }
bad() {
	suite_record FAIL $'\e[31m' "$*"
	if declare -F suite_on_fail >/dev/null; then suite_on_fail "$*"; fi
	return 0
}

check() {
	local d=$1 rc=0
	shift
	# "|| rc=$?": a failing CMD is a failed check, not the end of a `set -e` suite
	if [ -n "${SUITE_ERRLOG:-}" ]; then
		"$@" >>"${SUITE_LOG:-/dev/null}" 2>>"$SUITE_ERRLOG" || rc=$?
	else
		"$@" >>"${SUITE_LOG:-/dev/null}" || rc=$?
	fi
	if [ $rc -eq 0 ]; then ok "$d"; else bad "$d"; fi
	return 0
}

suite_count() { grep -c "^$1 " "$SUITE_RESULTS" || true; }
suite_failed() { suite_count FAIL; }

suite_end() {
	local p f s
	p=$(suite_count PASS)
	f=$(suite_count FAIL)
	s=$(suite_count SKIP)
	if [ "$f" -gt 0 ]; then
		echo "failed:"
		sed -n 's/^FAIL /  - /p' "$SUITE_RESULTS"
	fi
	if [ "$s" -gt 0 ]; then
		echo "$p passed, $f failed, $s skipped"
	else
		echo "$p passed, $f failed"
	fi
	[ "$f" -eq 0 ]
}
