#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The logs in the Go plugin's form (issue 12): azure-vnet.log and azure-vnet-ipam.log as JSON
# lines with zap's keys (level, ts, caller, msg, pid), one record per line also when 20 calls
# write at once; an error record for a failed call; "logLevel" honoured; rotation past the size
# limit as lumberjack names and keeps backups (AZURE_CNI_LOG_MAX_BYTES lowers the 5 MiB limit
# for the test), with no line lost or torn across files. Inside network namespaces this script
# creates and removes (prefix "log").
# Usage: tests/linux/logs.sh [build-dir]   (default build). Root only. Exit 1 on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bdir=${1:-$top/build}
# shellcheck source=tests/lib/suite.sh
. "$top/tests/lib/suite.sh"
# shellcheck source=tests/lib/node.sh
. "$top/tests/lib/node.sh"
B=$bdir/bin
[ -x "$B/azure-vnet" ] || { echo "FAIL: build $B first"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 0; }

netns_suite_begin log
CONF='{"cniVersion":"1.0.0","name":"azure","type":"azure-vnet","mode":"transparent","ipam":{"type":"azure-vnet-ipam","environment":"mas"}}'

call() {
	local cmd=$1 n=$2
	shift 2
	env CNI_COMMAND="$cmd" CNI_CONTAINERID="$(printf 'a1a1%08d' "$n")" \
		CNI_NETNS="/var/run/netns/${P}p$n" CNI_IFNAME=eth0 "$@" \
		timeout 20 ip netns exec "$NODE" "$B/azure-vnet" <<<"$CONF" >/dev/null 2>&1
}
# every line of the files is one JSON object with zap's keys in order, a level name, an ISO
# 8601 UTC time with milliseconds, a caller "<dir>/<file>.c:<line>" and the pid as a number
zap_lines() {
	jq -e -s 'all(.[]; (keys_unsorted == ["level","ts","caller","msg","pid"]) and
		(.level | IN("debug","info","warn","error")) and
		(.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$")) and
		(.caller | test("^[a-z]+/[a-z0-9-]+\\.c:[0-9]+$")) and (.pid | type == "number"))' "$@" >/dev/null
}

node_setup logs 10.245 60
for i in $(seq 1 24); do ip netns add "${P}p$i"; done
call ADD 1
call ADD 1 CNI_IFNAME=
check "azure-vnet.log: JSON lines with zap's keys" zap_lines "$RT/azure-vnet.log"
check "an ADD's record: info, naming command and container" \
	jq -e -s 'any(.[]; .level == "info" and (.msg | test("ADD container=a1a100000001 ifname=eth0 result=ok")))' "$RT/azure-vnet.log"
check "a failed call's record is at error level with its code" \
	jq -e -s 'any(.[]; .level == "error" and (.msg | test("ADD container=a1a100000001 ifname= error code=4")))' "$RT/azure-vnet.log"
for i in $(seq 2 21); do call ADD "$i" & done
wait
check "20 calls at once: every line still one record" zap_lines "$RT/azure-vnet.log"
check "20 calls at once: 20 ADD records" \
	test "$(jq -s '[.[] | select(.msg | test("^azure-vnet ADD container=a1a1000000(0[2-9]|1[0-9]|2[01]) ifname=eth0 result=ok"))] | length' "$RT/azure-vnet.log")" = 20

# logLevel error: the successful calls' info records are dropped, the error kept
before=$(wc -l <"$RT/azure-vnet.log")
CONF=$(jq -c '.logLevel = "error"' <<<"$CONF")
call DEL 2
call ADD 2 CNI_IFNAME=
check "logLevel error: only the error record is written" \
	bash -c "tail -n +$((before + 1)) '$RT/azure-vnet.log' | jq -e -s 'length == 1 and .[0].level == \"error\"' >/dev/null"
CONF=$(jq -c 'del(.logLevel)' <<<"$CONF")

# rotation: a 4 KiB limit; 114 calls write well past it many times. Nine backups of
# azure-vnet-ipam.log (whose names also start "azure-vnet-") must survive azure-vnet's pruning.
for i in 1 2 3 4 5 6 7 8 9; do
	echo '{}' >"$RT/azure-vnet-ipam-2026-01-0${i}T00-00-00.000.log"
done
export AZURE_CNI_LOG_MAX_BYTES=4096
for round in 1 2 3; do
	for i in $(seq 3 21); do call DEL "$i" & done
	wait
	for i in $(seq 3 21); do call ADD "$i" & done
	wait
done
backups=$(ls "$RT" | grep -cE '^azure-vnet-[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-[0-9]{2}\.[0-9]{3}\.log$')
check "rotated: backups named <name>-<UTC time>.log ($backups)" test "$backups" -ge 2
check "at most 8 backups kept" test "$backups" -le 8
check "the live log is back under the limit plus one record" test "$(stat -c %s "$RT/azure-vnet.log")" -le $((4096 + 4608))
check "every line of the live log and of each backup is one record" \
	zap_lines "$RT"/azure-vnet.log "$RT"/azure-vnet-2*.log
check "azure-vnet's pruning leaves azure-vnet-ipam.log's 9 backups alone" \
	test "$(ls "$RT" | grep -cE '^azure-vnet-ipam-2026-01-0[1-9]T00-00-00\.000\.log$')" = 9
# every ADD of the three rounds left a record in some file (none lost by a rotation)
# (backups beyond 8 are deleted, so only a lower bound can be checked across files: the
# records of the last round are all kept)
check "no record lost across rotations: the last round's 19 ADD records are all there" \
	test "$(cat "$RT"/azure-vnet-2*.log "$RT/azure-vnet.log" | jq -s '[.[] | select(.msg | test("^azure-vnet ADD container=a1a1000000(0[3-9]|1[0-9]|2[01]) ifname=eth0 result=ok"))] | length')" -ge 19
node_drop
suite_end
