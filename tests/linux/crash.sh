#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Crash tests: azure-vnet killed (SIGKILL) at every numbered step of ADD, DEL and GC
# (platform_fault_point: AZURE_CNI_FAULT_KILL_AT=N kills the Nth step; AZURE_CNI_FAULT_LOG lists
# them), in transparent and bridge mode, on a node whose network exists, on a new node whose
# first ADD also makes the network (bridge: moves the NIC's addresses to the bridge), and on a
# node whose network was made before the NIC had IPv6 (the ADD extends it). After each kill:
# both state files parse; the next call does not wait on a stale lock (lock timeout 5 s, each
# call bounded); the runtime's retry succeeds (ADD: with the addresses the killed ADD took, if
# it took them); a DEL (or GC) leaves no address, host veth, host /32 or /128 route, ebtables
# rule, bridge neighbour, record or owner lock file, and no second copy of the network's
# iptables/ip6tables SNAT jump; a new ADD succeeds; a first ADD's node keeps its IPs and default
# routes. The NIC is dual-stack (IPv4 and IPv6 secondaries: every pod gets both). All inside
# network namespaces this script creates and removes (prefix "crs").
# Usage: tests/linux/crash.sh [build-dir]   (default build). Root only. Exit 1 on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bdir=${1:-$top/build}
# shellcheck source=tests/lib/jqe.sh
. "$top/tests/lib/jqe.sh"
# shellcheck source=tests/lib/suite.sh
. "$top/tests/lib/suite.sh"
B=$bdir/bin
[ -x "$B/azure-vnet" ] && [ -x "$B/azure-vnet-ipam" ] || { echo "FAIL: build $B first"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 0; }

P=crs$$-
WORK=$(mktemp -d /tmp/crs-test.XXXXXX)
cleanup() {
	local n
	for n in $(ip netns list | awk '{print $1}' | grep "^$P"); do
		ip netns del "$n" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
SUITE_ERRLOG=/dev/null
suite_begin "$WORK/results"
# after a failed check: the last call's output (its CNI error) and what the node holds
suite_on_fail() { echo "    last output: $(tr -d '\n\t' <<<"${out:-}" | cut -c1-300); held: $(held 2>/dev/null)"; }

V4='{"Prefix":"10.240.0.0/16","IPAddresses":[{"Address":"10.240.0.4","IsPrimary":true},{"Address":"10.240.0.5","IsPrimary":false},{"Address":"10.240.0.6","IsPrimary":false},{"Address":"10.240.0.7","IsPrimary":false},{"Address":"10.240.0.8","IsPrimary":false}]}'
V6='{"Prefix":"2001:db8:0:1::/64","IPAddresses":[{"Address":"2001:db8:0:1::4","IsPrimary":true},{"Address":"2001:db8:0:1::5","IsPrimary":false},{"Address":"2001:db8:0:1::6","IsPrimary":false},{"Address":"2001:db8:0:1::7","IsPrimary":false},{"Address":"2001:db8:0:1::8","IsPrimary":false}]}'
# mas SUBNETS-JSON: the node's interfaces.json with these IPSubnets
mas() { echo "{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"IsPrimary\":true,\"IPSubnets\":[$1]}]}" >"$RT/interfaces.json"; }
# setup_node TAG [v4only]: a node netns with eth0 10.240.0.4/16 and 2001:db8:0:1::4/64 (peer in
# a fabric netns holding .1 and ::1), default routes, and the mas source with secondaries
# .5 .. .8 and ::5 .. ::8 (v4only: IPv4 alone; gain_v6 adds IPv6 later); runtime dir, lock
# timeout 5 s
setup_node() {
	NODE=${P}node-$1
	FAB=${P}fab-$1
	local fab=$FAB
	RT=$WORK/rt-$1
	mkdir -p "$RT"
	mas "$V4,$V6"
	export AZURE_CNI_RUNTIME_DIR=$RT AZURE_CNI_LOG_DIR=$RT AZURE_CNI_MAS_FILE=$RT/interfaces.json
	export AZURE_CNI_LOCK_TIMEOUT_MS=5000 CNI_PATH=$B
	ip netns add "$NODE"
	ip netns add "$fab"
	ip -n "$NODE" link set lo up
	ip -n "$NODE" link add eth0 address 00:0d:3a:6e:18:25 type veth peer name fab0 netns "$fab"
	ip -n "$fab" addr add 10.240.0.1/16 dev fab0
	ip -n "$fab" link set fab0 up
	ip -n "$NODE" addr add 10.240.0.4/16 dev eth0
	ip -n "$NODE" link set eth0 up
	ip -n "$NODE" route add default via 10.240.0.1
	if [ "${2:-}" = v4only ]; then mas "$V4"; else gain_v6 eth0; fi
}
# gain_v6 DEV: the VNet made dual-stack: IPv6 secondaries in the mas source, the VM's IPv6 on
# DEV (eth0, or the bridge that holds the node's addresses) with its default route
gain_v6() {
	mas "$V4,$V6"
	ip -n "$FAB" addr add 2001:db8:0:1::1/64 dev fab0 nodad
	ip -n "$NODE" addr add 2001:db8:0:1::4/64 dev "$1" nodad
	ip -n "$NODE" -6 route add default via 2001:db8:0:1::1 dev "$1"
}
# steps_upto KIND: on a throwaway node made by KIND_node, ADD with the fault log (in
# $WORK/steps-KIND-$mode): prints the number of the last fault point before the endpoint's first
# ("netlink link add" after "ADD network")
steps_upto() {
	"$1_node" "$mode-probe-$1"
	pod a
	rm -f "$WORK/steps-$1-$mode"
	call ADD cafe0000000a a AZURE_CNI_FAULT_LOG="$WORK/steps-$1-$mode"
	call DEL cafe0000000a a
	drop_node
	awk '$2 == "ADD" && $3 == "network" {net = 1; next} net && $2 == "netlink" && $3 == "link" && $4 == "add" {print $1 - 1; exit}' "$WORK/steps-$1-$mode"
}
first_node() { setup_node "$1"; }
# late_node TAG: a node whose network was made while the NIC had IPv4 only; then the NIC gains
# IPv6 (on the bridge in bridge mode: it holds the node's addresses)
late_node() {
	setup_node "$1" v4only
	pod w
	call ADD cafe00000000 w
	call DEL cafe00000000 w
	gain_v6 "$([ "$mode" = bridge ] && echo azure0 || echo eth0)"
}
eq() { [ "$1" = "$2" ]; }
drop_node() { ip netns del "$NODE"; ip netns del "${NODE/node-/fab-}"; }
pod() { ip netns add "${P}$1" 2>/dev/null; ip -n "${P}$1" link set lo up; }
nspath() { echo "/var/run/netns/${P}$1"; }

# call CMD CID POD [extra env...]: azure-vnet in the node netns, bounded to 20 s; output in $out,
# exit code in $rc (137: killed)
call() {
	local cmd=$1 cid=$2 p=$3
	shift 3
	out=$(env "$@" CNI_COMMAND="$cmd" CNI_CONTAINERID="$cid" CNI_NETNS="$(nspath "$p")" \
		CNI_IFNAME=eth0 CNI_ARGS="K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-$cid" \
		timeout 20 ip netns exec "$NODE" "$B/azure-vnet" <<<"$CONF")
	rc=$?
}
# gc VALID-CID [extra env...]: GC keeping VALID-CID's attachment
# (the GC config of each CONF and VALID-CID made once: jq costs more than a kill step's checks)
declare -A GC_CONF
gc() {
	local valid=$1 conf
	shift
	conf=${GC_CONF[$CONF$valid]:-}
	if [ -z "$conf" ]; then
		conf=$(jq -c --arg v "$valid" '.cniVersion = "1.1.0" | .["cni.dev/valid-attachments"] = [{"containerID": $v, "ifname": "eth0"}]' <<<"$CONF")
		GC_CONF[$CONF$valid]=$conf
	fi
	out=$(env "$@" CNI_COMMAND=GC CNI_PATH="$B" timeout 20 ip netns exec "$NODE" "$B/azure-vnet" <<<"$conf")
	rc=$?
}
# ipam_ips CID: the addresses the IPAM holds for CID, sorted, space-separated ("" when none)
ipam_ips() { jq -r --arg c "$1" '[.IPAM.AddressSpaces[].Pools[].Addresses[] | select(.InUse and .ID == $c) | .Addr] | sort | join(" ")' "$RT/azure-vnet-ipam.json" 2>/dev/null; }
# result_ips: the addresses of the result in $out, sorted, space-separated
result_ips() { jq -r '[.ips[]?.address | split("/")[0]] | sort | join(" ")' <<<"$out" 2>/dev/null; }
states_parse() {
	local f files=()
	for f in "$RT/azure-vnet.json" "$RT/azure-vnet-ipam.json"; do
		[ ! -s "$f" ] || files+=("$f")
	done
	[ ${#files[@]} = 0 ] || jq -e . "${files[@]}" >/dev/null
}
# what the node holds beyond the network: addresses in use (both families), host veths, host
# /32 and /128 routes, pod ebtables rules (IPv4 and IPv6), permanent neighbours of pod
# addresses, endpoint records, owner lock files, and iptables + ip6tables SNAT jumps beyond the
# network's one each. "0 0 0 0 0 0 0 0" when nothing.
held() {
	local ips recs veths routes ebt neigh locks jumps
	# both state files in one jq; a missing one counts 0
	read -r ips recs < <(jq -rn '[inputs] | [([.[] | .IPAM? // empty | .AddressSpaces[].Pools[].Addresses[] | select(.InUse)] | length), ([.[] | .Network? // empty | .ExternalInterfaces[].Networks[].Endpoints // {} | length] | add // 0)] | @tsv' \
		$(ls "$RT/azure-vnet-ipam.json" "$RT/azure-vnet.json" 2>/dev/null) </dev/null 2>/dev/null || echo "0 0")
	veths=$(ip -n "$NODE" -o link | grep -c ' azv')
	routes=$( { ip -n "$NODE" route; ip -n "$NODE" -6 route; } | grep -c '^\(10\.240\.0\.[0-9]*\|2001:db8:0:1::[0-9a-f]*\) dev azv')
	neigh=$(ip -n "$NODE" neigh show nud permanent | grep -c '^\(10\.240\.0\.[5-8]\|2001:db8:0:1::[5-8]\) ')
	locks=$(ls "$RT/azure-vnet" 2>/dev/null | grep -cv '^azure-vnet\(-ipam\)\?\.lock$')
	# the firewall in one netns entry: pod rules in ebtables, SNAT jumps beyond one per family
	read -r ebt jumps < <(ip netns exec "$NODE" sh -c '
		e=$( { ebtables -t nat -L PREROUTING; ebtables -t nat -L POSTROUTING; } 2>/dev/null | grep -c "10\.240\.0\.[5-8]\|2001:db8:0:1::[5-8]")
		j=0
		for f in iptables ip6tables; do
			n=$($f -t nat -S POSTROUTING 2>/dev/null | grep -c -- "-j AZURE-VNET-SNAT\$")
			[ "$n" -gt 1 ] && j=$((j + n - 1))
		done
		echo "$e $j"')
	echo "$ips $veths $routes $ebt $neigh $recs $locks $jumps"
}
NOTHING="0 0 0 0 0 0 0 0"

# kill_add MODE-TAG N: ADD killed at step N, then the checks. Returns 1 once N is past the last
# step (the ADD completed).
kill_add() {
	local tag=$1 n=$2 want ips
	pod a
	call ADD cafe0000000a a AZURE_CNI_FAULT_KILL_AT="$n"
	if [ $rc -ne 137 ]; then
		call DEL cafe0000000a a
		return 1
	fi
	want=$(ipam_ips cafe0000000a)
	check "$tag: ADD killed at step $n: state files parse" states_parse
	call ADD cafe0000000a a
	ips=$(result_ips)
	check "$tag: step $n: the retried ADD succeeds, dual-stack${want:+, with $want}" bash -c "[ $rc -eq 0 ] && [ \$(wc -w <<<'$ips') = 2 ] && { [ -z '$want' ] || [ '$ips' = '$want' ]; }"
	call CHECK cafe0000000a a
	check "$tag: step $n: CHECK after the retry" eq "$rc" 0
	call DEL cafe0000000a a
	check "$tag: step $n: DEL exits 0 and leaves nothing" bash -c "[ $rc -eq 0 ] && [ '$(held)' = '$NOTHING' ]"
	pod b
	call ADD cafe0000000b b
	check "$tag: step $n: a new ADD succeeds" eq "$rc" 0
	call DEL cafe0000000b b
	return 0
}

# kill_del MODE-TAG N: DEL killed at step N after a good ADD; the retried DEL finishes.
kill_del() {
	local tag=$1 n=$2
	pod a
	call ADD cafe0000000a a
	call DEL cafe0000000a a AZURE_CNI_FAULT_KILL_AT="$n"
	[ $rc -eq 137 ] || return 1
	check "$tag: DEL killed at step $n: state files parse" states_parse
	call DEL cafe0000000a a
	check "$tag: step $n: the retried DEL exits 0 and leaves nothing" bash -c "[ $rc -eq 0 ] && [ '$(held)' = '$NOTHING' ]"
	call ADD cafe0000000b a
	check "$tag: step $n: a new ADD succeeds" eq "$rc" 0
	call DEL cafe0000000b a
	return 0
}

# kill_gc MODE-TAG N: GC (keeping b) killed at step N; the retried GC removes a whole, b stays.
kill_gc() {
	local tag=$1 n=$2
	pod a
	pod b
	call ADD cafe0000000a a
	call ADD cafe0000000b b
	gc cafe0000000b AZURE_CNI_FAULT_KILL_AT="$n"
	if [ $rc -ne 137 ]; then
		call DEL cafe0000000b b
		return 1
	fi
	check "$tag: GC killed at step $n: state files parse" states_parse
	gc cafe0000000b
	check "$tag: step $n: the retried GC exits 0" eq "$rc" 0
	call CHECK cafe0000000b b
	check "$tag: step $n: the valid pod is intact (CHECK)" eq "$rc" 0
	call DEL cafe0000000b b
	check "$tag: step $n: after its DEL nothing is left" eq "$(held)" "$NOTHING"
	return 0
}

# kill_add_gc MODE-TAG N: b attached, a's ADD killed at step N, then a GC keeping only b: it
# removes whatever a's ADD made (an unrecorded host veth and route too: issue 9's wedged node),
# b stays intact, and a new ADD (which takes the lowest free address, a's) succeeds.
kill_add_gc() {
	local tag=$1 n=$2
	pod a
	pod b
	pod c
	call ADD cafe0000000b b
	call ADD cafe0000000a a AZURE_CNI_FAULT_KILL_AT="$n"
	if [ $rc -ne 137 ]; then
		call DEL cafe0000000a a
		call DEL cafe0000000b b
		return 1
	fi
	gc cafe0000000b
	check "$tag: ADD killed at step $n, then GC: it exits 0" eq "$rc" 0
	call CHECK cafe0000000b b
	check "$tag: step $n: the valid pod is intact (CHECK)" eq "$rc" 0
	call ADD cafe0000000c c
	check "$tag: step $n: a new ADD succeeds" eq "$rc" 0
	call DEL cafe0000000c c
	call DEL cafe0000000b b
	check "$tag: step $n: after the DELs nothing is left" eq "$(held)" "$NOTHING"
	ip netns del "${P}a" 2>/dev/null
	return 0
}

# leftover MODE-TAG: a pod whose address the IPAM lost (its DEL never came, a GC of an older
# version released it) still holds its host veth and route; the next ADD, given that address,
# removes the leftover instead of failing, and DEL then leaves nothing.
leftover() {
	local tag=$1 ip
	pod a
	pod c
	call ADD cafe0000000a a
	ip=$(ipam_ips cafe0000000a)
	jq '(.IPAM.AddressSpaces[].Pools[].Addresses[] | select(.ID == "cafe0000000a")) |= (.InUse = false | .ID = "")' \
		"$RT/azure-vnet-ipam.json" >"$WORK/ipam.json" && cat "$WORK/ipam.json" >"$RT/azure-vnet-ipam.json"
	jq 'del(.Network.ExternalInterfaces[].Networks[].Endpoints[]? | select(.ContainerID == "cafe0000000a"))' \
		"$RT/azure-vnet.json" >"$WORK/net.json" && cat "$WORK/net.json" >"$RT/azure-vnet.json"
	call ADD cafe0000000c c
	check "$tag: an ADD given a gone owner's addresses ($ip) succeeds" \
		bash -c "[ $rc -eq 0 ] && [ '$(result_ips)' = '$ip' ]"
	call DEL cafe0000000c c
	gc cafe000000ff   # the lock file of a, whose DEL never came
	check "$tag: its DEL (and a GC) leave nothing" eq "$(held)" "$NOTHING"
	ip netns del "${P}a" 2>/dev/null
}

TRANSPARENT='{"cniVersion":"1.0.0","name":"azure","type":"azure-vnet","mode":"transparent","ipam":{"type":"azure-vnet-ipam","environment":"mas"}}'
BRIDGE='{"cniVersion":"1.0.0","name":"azure","type":"azure-vnet","mode":"bridge","bridge":"azure0","ipam":{"type":"azure-vnet-ipam","environment":"mas"}}'

total=0
for mode in transparent bridge; do
	if [ $mode = transparent ]; then CONF=$TRANSPARENT; else CONF=$BRIDGE; fi
	echo "== $mode: kills on a node whose network exists"
	setup_node "$mode"
	pod w
	call ADD cafe00000000 w   # the network, made once
	# held sees a live pod: both addresses, the veth, the host /32 and /128 (transparent) or
	# the pod's ebtables rules and bridge neighbours (bridge), its record and lock file
	want=$([ $mode = transparent ] && echo "2 1 2 0 0 1 1 0" || echo "2 1 0 3 2 1 1 0")
	check "$mode: held counts a live dual-stack pod ($want)" eq "$(held)" "$want"
	ip netns exec "$NODE" ip6tables -t nat -A POSTROUTING -s 2001:db8:0:1::/64 -j AZURE-VNET-SNAT
	check "$mode: held counts a second ip6tables SNAT jump" eq "$(held | cut -d' ' -f8)" 1
	ip netns exec "$NODE" ip6tables -t nat -D POSTROUTING -s 2001:db8:0:1::/64 -j AZURE-VNET-SNAT
	call DEL cafe00000000 w
	[ $mode = transparent ] && leftover "$mode"
	for kind in add del gc add_gc; do
		n=1
		while "kill_$kind" "$mode $kind" "$n"; do
			n=$((n + 1))
			total=$((total + 1))
		done
		check "$mode $kind: killed at each of its $((n - 1)) steps" [ $n -gt 3 ]
	done
	drop_node
done

# A first ADD, and an ADD that extends a network made before the NIC had IPv6, are killed at
# each step up to the last before their endpoint's first (the veth): from there on they are an
# ADD on a node whose network is recorded, whose kills the loops above cover step by step.
for mode in transparent bridge; do
	echo "== $mode: kills during a new node's first ADD (the network made too)"
	if [ $mode = transparent ]; then CONF=$TRANSPARENT; else CONF=$BRIDGE; fi
	last=$(steps_upto first)
	for ((n = 1; n <= last; n++)); do
		setup_node "$mode-first$n"
		kill_add "$mode first ADD" "$n" || { check "$mode first ADD: killed at step $n" false; drop_node; break; }
		check "$mode first ADD: step $n: the node keeps its IPs and default routes" \
			bash -c "ip -n $NODE -4 addr | grep -q 10.240.0.4/16 && ip -n $NODE route | grep -q '^default via 10.240.0.1' && ip -n $NODE -6 addr | grep -q 2001:db8:0:1::4/64 && ip -n $NODE -6 route | grep -q '^default via 2001:db8:0:1::1'"
		drop_node
		total=$((total + 1))
	done
	check "$mode first ADD: killed at each of its first ${last:-0} steps (the network made)" [ "${last:-0}" -gt 3 ]
done

for mode in transparent bridge; do
	echo "== $mode: kills during the ADD that extends a network made before the NIC had IPv6"
	if [ $mode = transparent ]; then CONF=$TRANSPARENT; else CONF=$BRIDGE; fi
	CONF=$(jq -c '.ipam.queryInterval = 0' <<<"$CONF")  # each ADD reads the mas source
	last=$(steps_upto late)
	first=$(awk '$2 == "ADD" && $3 == "network" {print $1; exit}' "$WORK/steps-late-$mode")
	for ((n = first; n <= last; n++)); do
		late_node "$mode-late$n"
		kill_add "$mode extending ADD" "$n" || { check "$mode extending ADD: killed at step $n" false; drop_node; break; }
		check "$mode extending ADD: step $n: the network has both subnets, one SNAT jump per family" \
			bash -c "jq -e '[.Network.ExternalInterfaces[].Networks.azure.Subnets[].Family] == [2, 10]' $RT/azure-vnet.json >/dev/null && [ \$(ip netns exec $NODE iptables -t nat -S POSTROUTING | grep -c AZURE-VNET-SNAT) = 1 ] && [ \$(ip netns exec $NODE ip6tables -t nat -S POSTROUTING | grep -c AZURE-VNET-SNAT) = 1 ]"
		drop_node
		total=$((total + 1))
	done
	check "$mode extending ADD: killed at each of its steps ${first:-0}..${last:-0} (the network extended)" [ $((${last:-0} - ${first:-0})) -gt 3 ]
done
echo "steps killed: $total"
suite_end
