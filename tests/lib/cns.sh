# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# The CNS test double (tests/cns/cns-double.py) for the netns suites (sourced; needs $top).
#   cns_double_start NETNS KEY DIR ARGS...   start one in NETNS with ARGS (--port ... and the
#       pool's), its pool in DIR/cns-KEY.json (kept across restarts), its log DIR/double-KEY.log;
#       returns 0 once it listens, with its pid in CNS_DOUBLE_PID, else 1 (the log printed)
cns_double_start() {
	local ns=$1 key=$2 dir=$3 i
	shift 3
	rm -f "$dir/ready-$key"
	ip netns exec "$ns" /usr/bin/python3 "$top/tests/cns/cns-double.py" \
		--state "$dir/cns-$key.json" --ready "$dir/ready-$key" "$@" 2>>"$dir/double-$key.log" &
	CNS_DOUBLE_PID=$!
	for i in $(seq 200); do
		[ -s "$dir/ready-$key" ] && return 0
		kill -0 "$CNS_DOUBLE_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "cns-double $key in $ns did not start"
	cat "$dir/double-$key.log"
	return 1
}
