#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A corrupt state file no longer stops the node (issue 9 item 7). In the middle of a 250-pod fill
# (AZCNI_CORRUPT_PODS, default 250; both files, and bridge mode, with at most 64 pods) one state
# file is corrupted (azure-vnet-ipam.json, azure-vnet.json, or both), then the fill goes on. Checks: every ADD after the corruption
# succeeds; no address is handed out twice (the results, and the host routes in transparent
# mode); the IPAM holds exactly the live pods' addresses; the corrupt file is kept as
# <file>.corrupt-<UTC> and the log says so at error level; both files parse; every pod is then
# deleted (DEL exits 0) and nothing is left: no address in use, host veth, host route, ebtables
# rule, record or owner lock file. Transparent and bridge mode (bridge: one file at a time; with
# both files gone a bridge node has no host route to tell its pods' addresses by). All inside
# network namespaces this script creates and removes (prefix "cor").
# Usage: tests/linux/corrupt.sh [build-dir]   (default build). Root only. Exit 1 on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bdir=${1:-$top/build}
# shellcheck source=tests/lib/suite.sh
. "$top/tests/lib/suite.sh"
# shellcheck source=tests/lib/node.sh
. "$top/tests/lib/node.sh"
B=$bdir/bin
[ -x "$B/azure-vnet" ] && [ -x "$B/azure-vnet-ipam" ] || { echo "FAIL: build $B first"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 0; }
PODS=${AZCNI_CORRUPT_PODS:-250}
[ "$PODS" -ge 2 ] && [ "$PODS" -le 250 ] || { echo "FAIL: AZCNI_CORRUPT_PODS must be 2..250"; exit 1; }

netns_suite_begin cor

# call CMD N: azure-vnet for pod N (container cafe<N>, netns ${P}p<N>), bounded to 20 s; output
# in $out, exit code in $rc
call() {
	local cmd=$1 cid
	cid=$(printf 'cafe%08d' "$2")
	out=$(CNI_COMMAND="$cmd" CNI_CONTAINERID="$cid" CNI_NETNS="/var/run/netns/${P}p$2" \
		CNI_IFNAME=eth0 CNI_ARGS="K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-$2" \
		timeout 20 ip netns exec "$NODE" "$B/azure-vnet" <<<"$CONF" 2>>"$WORK/stderr")
	rc=$?
}
# fill_one N: ADD pod N; its address appended to $WORK/ips, a failure to $WORK/failed
fill_one() {
	ip netns add "${P}p$1"
	call ADD "$1"
	if [ $rc -eq 0 ]; then
		jq -r '.ips[0].address' <<<"$out" | cut -d/ -f1 >>"$WORK/ips"
	else
		echo "ADD $1: $out" >>"$WORK/failed"
	fi
}
# del_one N: DEL pod N; a failure to $WORK/failed
del_one() {
	call DEL "$1"
	[ $rc -eq 0 ] || echo "DEL $1: $out" >>"$WORK/failed"
}
# batch FN FROM TO: FN for each of FROM..TO, 8 at a time (as a kubelet starts pods in parallel;
# the lines each appends are short, so appends never interleave)
batch() {
	local fn=$1 n
	for n in $(seq "$2" "$3"); do
		"$fn" "$n" &
		[ $((n % 8)) -ne 0 ] || wait
	done
	wait
}
fill() { batch fill_one "$1" "$2"; }
# corrupt FILE: cut it in the middle and append bytes that are not JSON
corrupt() {
	local f=$RT/$1 size
	size=$(stat -c %s "$f")
	head -c $((size / 2)) "$f" >"$WORK/cut" && printf '\x00\xff{"oops' >>"$WORK/cut"
	cat "$WORK/cut" >"$f"
}
in_use() { jq '[.IPAM.AddressSpaces[].Pools[].Addresses[] | select(.InUse)] | length' "$RT/azure-vnet-ipam.json"; }
in_use_ips() { jq -r '.IPAM.AddressSpaces[].Pools[].Addresses[] | select(.InUse) | .Addr' "$RT/azure-vnet-ipam.json" | sort; }
held() {
	local ips veths routes ebt recs locks
	ips=$(in_use 2>/dev/null || echo x)
	veths=$(ip -n "$NODE" -o link | grep -c ' azv')
	routes=$(ip -n "$NODE" route | grep -c '^10\.241\.0\.[0-9]* dev azv')
	ebt=$( { ip netns exec "$NODE" ebtables -t nat -L PREROUTING 2>/dev/null; ip netns exec "$NODE" ebtables -t nat -L POSTROUTING 2>/dev/null; } | grep -cE '10\.241\.0\.([5-9]|[0-9]{2,3})([^0-9]|$)')
	recs=$(jq '[.Network.ExternalInterfaces[].Networks[].Endpoints // {} | length] | add // 0' "$RT/azure-vnet.json" 2>/dev/null || echo x)
	locks=$(ls "$RT/azure-vnet" 2>/dev/null | grep -cv '^azure-vnet\(-ipam\)\?\.lock$')
	echo "$ips $veths $routes $ebt $recs $locks"
}

# run MODE WHICH: the fill with WHICH ("ipam", "net" or "both") corrupted half-way
run() {
	local mode=$1 which=$2 tag="$1, $2 corrupt" half=$((PODS / 2)) f n nips
	node_setup "$mode-$which" 10.241 250
	: >"$WORK/ips"
	: >"$WORK/failed"
	fill 1 "$half"
	check "$tag: the first $half ADDs succeed" test ! -s "$WORK/failed"
	case $which in
	ipam) corrupt azure-vnet-ipam.json ;;
	net) corrupt azure-vnet.json ;;
	both) corrupt azure-vnet-ipam.json; corrupt azure-vnet.json ;;
	esac
	fill $((half + 1)) "$PODS"
	check "$tag: every ADD after the corruption succeeds" test ! -s "$WORK/failed"
	[ -s "$WORK/failed" ] && head -3 "$WORK/failed"
	nips=$(sort "$WORK/ips" | uniq | wc -l)
	check "$tag: $PODS pods, $PODS distinct addresses" test "$nips" = "$PODS"
	check "$tag: the IPAM holds exactly the pods' addresses" \
		bash -c "[ \"\$(sort '$WORK/ips')\" = \"\$(jq -r '.IPAM.AddressSpaces[].Pools[].Addresses[] | select(.InUse) | .Addr' '$RT/azure-vnet-ipam.json' | sort)\" ]"
	if [ "$mode" = transparent ]; then
		check "$tag: one host route per pod, none twice" \
			test "$(ip -n "$NODE" route | grep '^10\.241\.0\.[0-9]* dev azv' | awk '{print $1}' | sort -u | wc -l)" = "$PODS"
	fi
	check "$tag: both files parse" bash -c "jq -e . '$RT/azure-vnet.json' >/dev/null && jq -e . '$RT/azure-vnet-ipam.json' >/dev/null"
	for f in $( [ "$which" = net ] || echo azure-vnet-ipam.json; [ "$which" = ipam ] || echo azure-vnet.json); do
		check "$tag: $f kept as $f.corrupt-<UTC>" bash -c "ls '$RT' | grep -qE '^$f\\.corrupt-[0-9]{8}T[0-9]{6}Z\$'"
		check "$tag: the log says $f was corrupt, at error level" \
			jq -e -s --arg f "$f" 'any(.[]; .level == "error" and (.msg | contains($f + " was corrupt")))' "$RT/azure-vnet.log"
	done
	: >"$WORK/failed"
	batch del_one 1 "$PODS"
	check "$tag: every pod deleted (DEL exits 0)" test ! -s "$WORK/failed"
	[ -s "$WORK/failed" ] && head -3 "$WORK/failed"
	check "$tag: nothing is left (ips veths routes ebtables records locks)" test "$(held)" = "0 0 0 0 0 0"
	echo "  held: $(held)"
	node_drop
}

TRANSPARENT='{"cniVersion":"1.0.0","name":"azure","type":"azure-vnet","mode":"transparent","ipam":{"type":"azure-vnet-ipam","environment":"mas"}}'
BRIDGE='{"cniVersion":"1.0.0","name":"azure","type":"azure-vnet","mode":"bridge","bridge":"azure0","ipam":{"type":"azure-vnet-ipam","environment":"mas"}}'

# ---- cases an adversarial review found (each destroyed a live pod or left rules) ----
# ccall CMD CID POD [env...]: one call with $CONF on the review node; output $out, code $rc
ccall() {
	local cmd=$1 cid=$2 p=$3
	shift 3
	out=$(env CNI_COMMAND="$cmd" CNI_CONTAINERID="$cid" CNI_NETNS="/var/run/netns/${P}p$p" \
		CNI_IFNAME=eth0 "$@" timeout 20 ip netns exec "$NODE" "$B/azure-vnet" <<<"$CONF" 2>/dev/null)
	rc=$?
}
cgc() {
	local conf
	conf=$(jq -c --argjson v "$1" '.cniVersion = "1.1.0" | .["cni.dev/valid-attachments"] = $v' <<<"$CONF")
	out=$(CNI_COMMAND=GC timeout 20 ip netns exec "$NODE" "$B/azure-vnet" <<<"$conf" 2>/dev/null)
	rc=$?
}
review_cases() {
	local ebt
	# 1. two networks share the node's IPAM: a GC of one releases the other's pod's address
	# (an older limit); the next ADD given that address must fail, not delete that live pod
	node_setup review1 10.246 4
	ip netns add "${P}p1"; ip netns add "${P}p2"; ip netns add "${P}p3"
	CONF=$TRANSPARENT
	ccall ADD cid-b 1
	CONF=$(jq -c '.name = "azure2"' <<<"$TRANSPARENT")
	ccall ADD cid-a 2
	CONF=$TRANSPARENT
	cgc '[{"containerID":"cid-b","ifname":"eth0"}]'
	ccall ADD cid-c 3
	check "review: a GC of one network and an ADD never delete another network's live pod" \
		ip -n "${P}p2" link show eth0
	node_drop
	# 2. a live pod with an untagged veth (the Go plugin's) and no record, then a corrupt IPAM
	# file: the rebuild keeps its address, a GC does not release it, and no ADD takes it
	node_setup review2 10.246 4
	ip netns add "${P}p1"; ip netns add "${P}pg"; ip netns add "${P}p3"
	ccall ADD cid-b 1
	ip -n "$NODE" link add azv0123456789a type veth peer name eth0 netns "${P}pg"
	ip -n "${P}pg" addr add 10.246.0.6/16 dev eth0
	ip -n "${P}pg" link set eth0 up
	ip -n "$NODE" link set azv0123456789a up
	ip -n "$NODE" route add 10.246.0.6/32 dev azv0123456789a
	echo '{"IPAM": {"AddressSpaces": {"local": {"Pools": {' >"$RT/azure-vnet-ipam.json"
	cgc '[{"containerID":"cid-b","ifname":"eth0"}]'
	ccall ADD cid-c 3
	check "review: an untagged live pod keeps its address through a rebuild and a GC" \
		bash -c "[ $rc -eq 0 ] && [ \"\$(jq -r '.ips[0].address' <<<'$out')\" != 10.246.0.6/16 ] && ip -n ${P}pg link show eth0 >/dev/null"
	node_drop
	# 3. bridge mode, azure-vnet.json lost: a DEL of a pod without its record removes its
	# ebtables rules and bridge neighbour too
	node_setup review3 10.246 4
	ip netns add "${P}p1"; ip netns add "${P}p2"
	CONF=$BRIDGE
	ccall ADD cid-a 1
	ccall ADD cid-b 2
	echo '{"Network": {"Version": "v1", "ExternalInterfaces": {' >"$RT/azure-vnet.json"
	ccall DEL cid-a 1
	ebt=$( { ip netns exec "$NODE" ebtables -t nat -L PREROUTING; ip netns exec "$NODE" ebtables -t nat -L POSTROUTING; } 2>/dev/null | grep -c '10\.246\.0\.5 ')
	check "review: bridge DEL without its network's record leaves no rule or neighbour of it" \
		bash -c "[ $rc -eq 0 ] && [ $ebt = 0 ] && ! ip -n $NODE neigh show dev azure0 | grep -q '^10.246.0.5 '"
	node_drop
	# 4. a state file past the size limit (64 MiB) is corrupt too: rebuilt, not a stop
	node_setup review4 10.246 4
	ip netns add "${P}p1"; ip netns add "${P}p2"
	CONF=$TRANSPARENT
	ccall ADD cid-a 1
	{ cat "$RT/azure-vnet-ipam.json"; head -c $((65 * 1024 * 1024)) /dev/zero; } >"$WORK/big"
	cat "$WORK/big" >"$RT/azure-vnet-ipam.json"
	rm -f "$WORK/big"
	ccall ADD cid-b 2
	check "review: an IPAM file past 64 MiB is rebuilt and the ADD succeeds" \
		bash -c "[ $rc -eq 0 ] && [ \"\$(jq -r '.ips[0].address' <<<'$out')\" != 10.246.0.5/16 ]"
	rm -f "$RT"/azure-vnet-ipam.json.corrupt-*
	node_drop
	inplace_writer_case
}

# lock_waiter INODE: does /proc/locks show a process waiting for a flock on INODE?
lock_waiter() { grep -qE "^[0-9]+: -> FLOCK .*:$1 " /proc/locks; }
# leased INODE: does /proc/locks show a lease on INODE?
leased() { grep -qE "^[0-9]+: LEASE .*:$1 " /proc/locks; }
# rewrite_in_place FILE SRC: FILE opened in place (O_TRUNC, as the Go store's flush did up to
# v1.2.1, or a shell's >) and SRC's bytes written, retrying a refused non-blocking open every
# 50 ms up to 10 s. Exit 0 when it got in after the first try was refused (a pinned view's
# lease, the break then begun), 3 when the first try got in (no lease held), 1 never.
rewrite_in_place() {
	python3 - "$1" "$2" <<'PY'
import os, sys, time
path, data = sys.argv[1], open(sys.argv[2], "rb").read()
for i in range(200):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NONBLOCK)
    except BlockingIOError:
        time.sleep(0.05)
        continue
    os.write(fd, data)
    os.close(fd)
    sys.exit(0 if i > 0 else 3)
sys.exit(1)
PY
}
# 5. an in-place writer while an ADD holds azure-vnet.json (40 pods: past 32 KiB, mapped under a
# read lease) and waits for the state lock: the writer gets in at once (before, it waited for
# the call to end, and past lease-break-time the call's mapping was truncated under it), the ADD
# then works from the writer's file (its locked step reads the changed file) and succeeds
inplace_writer_case() {
	local i lock sino lino pid ok=1 wrc
	node_setup review5 10.246 45
	CONF=$TRANSPARENT
	for i in $(seq 40); do
		ip netns add "${P}p$i"
		ccall ADD "cid-f$i" "$i"
		[ $rc -eq 0 ] || ok=0
	done
	check "review: 40 pods added, azure-vnet.json of 32 KiB or more" \
		bash -c "[ $ok = 1 ] && [ \$(stat -c %s '$RT/azure-vnet.json') -ge 32768 ]"
	# the writer's version: the same state re-indented, cid-f1's record gone
	jq '(.Network.ExternalInterfaces[].Networks[].Endpoints) |= with_entries(select(.value.ContainerID != "cid-f1"))' \
		"$RT/azure-vnet.json" >"$WORK/inplace.json"
	lock=$RT/azure-vnet/azure-vnet.lock
	exec 9>>"$lock"
	flock 9
	lino=$(stat -c %i "$lock")
	sino=$(stat -c %i "$RT/azure-vnet.json")
	ip netns add "${P}p41"
	( ccall ADD cid-f41 41 AZURE_CNI_LOCK_TIMEOUT_MS=20000; echo "$rc" >"$WORK/inplace.rc" ) 9>&- &
	pid=$!
	for i in $(seq 200); do
		lock_waiter "$lino" && break
		sleep 0.05
	done
	check "review: the ADD holds azure-vnet.json under a lease while it waits for the state lock" \
		bash -c "$(declare -f lock_waiter leased); lock_waiter $lino && leased $sino"
	rewrite_in_place "$RT/azure-vnet.json" "$WORK/inplace.json"
	wrc=$?
	check "review: an in-place writer gets in while the ADD still waits (its first open refused)" \
		bash -c "[ $wrc = 0 ] && $(declare -f lock_waiter); lock_waiter $lino"
	flock -u 9
	exec 9>&-
	wait "$pid"
	check "review: the ADD then succeeds" test "$(cat "$WORK/inplace.rc")" = 0
	check "review: the saved file is the writer's with the new pod (cid-f1 gone, cid-f41 there, 40 records)" \
		jq -e '[.Network.ExternalInterfaces[].Networks[].Endpoints[].ContainerID] | length == 40 and (any(.[]; . == "cid-f1") | not) and any(.[]; . == "cid-f41")' "$RT/azure-vnet.json"
	node_drop
}

# The issue's case at full size (each file corrupted in the middle of a 250-pod fill, the mode
# the Go plugin's AKS conflists use); both files, and bridge mode, with fewer pods (CI time).
review_cases
FULL=$PODS
CONF=$TRANSPARENT
for which in ipam net; do run transparent "$which"; done
PODS=$((FULL < 64 ? FULL : 64))
run transparent both
CONF=$BRIDGE
for which in ipam net; do run bridge "$which"; done
suite_end
