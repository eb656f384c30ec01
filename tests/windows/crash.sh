#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Windows crash tests under wine: azure-vnet.exe killed (TerminateProcess, exit code 137) at every
# numbered step of ADD, DEL and GC (platform_fault_point: AZURE_CNI_FAULT_KILL_AT=N kills the Nth
# step; AZURE_CNI_FAULT_LOG lists them), against the HCN test double (tests/windows/fake-hcn), on
# a node whose HNS network exists and on a new node whose first ADD also makes it. After each
# kill: the process ran no atexit handler and no DLL detach (the fake's FAKE_HCN_EXIT_LOG probe);
# both state files parse; the next call does not wait on a stale lock (lock timeout 2 s); the
# runtime's retry succeeds (ADD: with both addresses the killed ADD took, one endpoint of its name,
# attached); a DEL (or GC) leaves no HNS endpoint, namespace attachment, address or record, and
# the HNS network stays, the one recorded; a new ADD succeeds. Also each killed ADD left to a GC
# that omits it (no retry): the GC removes all it made. The Linux version: tests/linux/crash.sh.
# Usage: tests/windows/crash.sh [build dir]        (default build-windows, built by
#                                                  ci/build-windows.sh; needs wine)
#        tests/windows/crash.sh --in-suite <build dir>   from tests/windows/run.sh: its WINEPREFIX
#                                                  and its count (SUITE_RESULTS), no summary line
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
in_suite=
if [ "${1:-}" = --in-suite ]; then
	in_suite=1
	shift
fi
build=${1:-$top/build-windows}
# shellcheck source=tests/lib/jqe.sh
. "$top/tests/lib/jqe.sh"
# shellcheck source=tests/lib/suite.sh
. "$top/tests/lib/suite.sh"
exe=$build/bin/azure-vnet.exe
dll=$build/tests/windows/fake-hcn/computenetwork.dll
[ -f "$exe" ] && [ -f "$dll" ] || { echo "FAIL: build $build first (ci/build-windows.sh)"; exit 1; }

work=$(mktemp -d /tmp/azcni-wcrash.XXXXXX)
cleanup() {
	[ -n "$in_suite" ] || wineserver -k >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
if [ -z "$in_suite" ]; then
	export WINEPREFIX=$work/prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
	wineboot -i >/dev/null 2>&1 || true
	suite_begin "$work/results"
fi
# on a failed check: the last call's status and output, what the node holds (addresses, HNS
# endpoints, namespace attachments, records) and the tail of the plugin's log
suite_on_fail() {
	echo "     last call: rc ${rc:-?}, output: $(tr -d '\n\t' <<<"${out:-}")"
	[ -z "${rt:-}" ] || echo "     held: $(held 2>/dev/null); networks: $(jq -c '[.Networks[].Name]' "$hcn" 2>/dev/null)"
	[ -z "${rt:-}" ] || [ ! -f "$rt/azure-vnet.log" ] || tail -n 8 "$rt/azure-vnet.log" | sed 's/^/     log: /'
}
cp "$dll" "$work/fake-computenetwork.dll"
DLL_W=$(winepath -w "$work/fake-computenetwork.dll" 2>/dev/null)
jq '.plugins[0] + {name: .name, cniVersion: .cniVersion} | .ipam.environment = "mas"' \
	"$top/tests/data/conflist/10-azure-windows.conflist" >"$work/conf.json"
jq '.cniVersion = "1.0.0"' "$work/conf.json" >"$work/conf-1.0.json"

# the pods' HCN namespaces (containerd makes them; HNS prints GUIDs in upper case)
NS_W=5c1c7a10-8d4e-4c0b-9b1e-2f3a4b5c6d70
NS_A=5c1c7a10-8d4e-4c0b-9b1e-2f3a4b5c6d7a
NS_B=5c1c7a10-8d4e-4c0b-9b1e-2f3a4b5c6d7b
CW=cwwwwwww11112222333344445555
CA=caaaaaaa11112222333344445555
CB=cbbbbbbb11112222333344445555

# new_node TAG: a runtime dir of its own (state, logs, the dual-stack interfaces.json: 10.240.0.5,
# .6 and fd00:db8:1::5, ::6, so that every kill also checks nothing of either family is left; a
# killed dual-stack ADD once left its second address to GC for ever) and an HNS
# with the three namespaces and no network
new_node() {
	rt=$work/rt-$1
	mkdir -p "$rt"
	cp "$top/tests/data/interfaces-dualstack.json" "$rt/interfaces.json"
	RT_W=$(winepath -w "$rt" 2>/dev/null)
	hcn=$rt/fake-hcn.json
	jq -n --args '{Networks: {}, Endpoints: {},
		Namespaces: ([$ARGS.positional[] | ascii_upcase | {key: ., value: {ID: ., Type: "HostDefault", Resources: []}}] | from_entries)}' \
		$NS_W $NS_A $NS_B >"$hcn"
}

# cni CMD CID NETNS [conf] [VAR=value...]: azure-vnet.exe, bounded to 60 s; stdout in $out,
# status in $rc (137: killed)
cni() {
	local cmd=$1 cid=$2 ns=$3 conf=${4:-$work/conf.json}
	shift 3
	[ $# -eq 0 ] || shift
	out=$(env AZURE_CNI_RUNTIME_DIR="$RT_W" AZURE_CNI_LOG_DIR="$RT_W" \
		AZURE_CNI_MAS_FILE="$RT_W\\interfaces.json" AZURE_CNI_HCN_DLL="$DLL_W" \
		AZURE_CNI_NMAGENT_URL=http://127.0.0.1:1/no-nmagent AZURE_CNI_LOCK_TIMEOUT_MS=2000 \
		FAKE_HCN_STATE="$RT_W\\fake-hcn.json" FAKE_HCN_LOG="$RT_W\\hcn-calls.log" \
		CNI_COMMAND="$cmd" CNI_CONTAINERID="$cid" CNI_NETNS="$ns" CNI_IFNAME=eth0 \
		CNI_PATH='C:\k\azurecni\bin' \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-$cid" \
		"$@" timeout 60 wine "$exe" <"$conf")
	rc=$?
}
# killed CMD CID NETNS [conf] N: the call killed at step N, with the exit probe on; $rc 137 when
# it was, and $clean set when it ran no atexit handler and no DLL detach
killed() {
	local n=${*: -1} probe=$rt/exit.log
	rm -f "$probe"
	cni "${@:1:$#-1}" AZURE_CNI_FAULT_KILL_AT="$n" FAKE_HCN_EXIT_LOG="$RT_W\\exit.log"
	clean=
	[ -s "$probe" ] || clean=1
}
# gc_conf VALID-CID: the 1.1.0 config keeping VALID-CID's attachment (file name on stdout)
gc_conf() {
	jq --arg v "$1" '.cniVersion = "1.1.0" | .["cni.dev/valid-attachments"] = [{containerID: $v, ifname: "eth0"}]' \
		"$work/conf.json" >"$work/gc-$1.json"
	echo "$work/gc-$1.json"
}

# ipam_ip CID [6]: the IPv4 (IPv6) address IPAM holds for CID, "" when none
ipam_ip() {
	jq -r --arg c "$1" --arg f "${2:-4}" '[.IPAM.AddressSpaces[].Pools[].Addresses[]
		| select(.InUse and .ID == $c and ((.Addr | test(":")) == ($f == "6"))) | .Addr][0] // ""' \
		"$rt/azure-vnet-ipam.json" 2>/dev/null
}
states_parse() {
	local f
	for f in "$rt/azure-vnet.json" "$rt/azure-vnet-ipam.json"; do
		[ ! -s "$f" ] || jq -e . "$f" >/dev/null || return 1
	done
}
# held: what the node holds beyond the network: addresses in use, HNS endpoints, namespace
# attachments, endpoint records. "0 0 0 0" when nothing.
held() {
	local ips eps att recs
	ips=$(jq '[.IPAM.AddressSpaces[].Pools[].Addresses[] | select(.InUse)] | length' "$rt/azure-vnet-ipam.json" 2>/dev/null || echo 0)
	eps=$(jq '.Endpoints | length' "$hcn")
	att=$(jq '[.Namespaces[].Resources[]] | length' "$hcn")
	recs=$(jq '[.Network.ExternalInterfaces[].Networks[].Endpoints // {} | length] | add // 0' "$rt/azure-vnet.json" 2>/dev/null || echo 0)
	echo "$ips $eps $att $recs"
}
# one_network: HNS has one network, named azure, and the state records its ID
one_network() {
	local id
	id=$(jq -r '[.Networks[] | select(.Name == "azure") | .ID] | if length == 1 then .[0] else "" end' "$hcn")
	[ -n "$id" ] && [ "$(jq '.Networks | length' "$hcn")" -eq 1 ] &&
		jqe --arg id "$id" '[.Network.ExternalInterfaces[].Networks.azure.HnsId | ascii_upcase] == [$id]' "$rt/azure-vnet.json" >/dev/null
}
# attached CID NETNS: exactly one HNS endpoint exists, named CID's record ID, in NETNS and
# holding the address IPAM gave CID
attached() {
	jqe --arg n "${1:0:8}-eth0" --arg ns "${2^^}" --arg ip "$(ipam_ip "$1")" \
		'(.Endpoints | length) == 1 and ([.Endpoints[] | select(.Name == $n and .HostComputeNamespace == $ns
			and any(.IpConfigurations[]; .IpAddress == $ip))] | length) == 1
			and ([.Namespaces[$ns].Resources[]] | length) == 1' "$hcn" >/dev/null
}
nothing_left() { [ "$(held)" = "0 0 0 0" ] && one_network; }

# kill_add TAG N: ADD of pod a killed at step N, then the checks. Returns 1 once N is past the
# last step (the ADD completed).
kill_add() {
	local tag=$1 n=$2 want want6 ip ip6
	killed ADD $CA $NS_A "$work/conf.json" "$n"
	if [ $rc -ne 137 ]; then
		cni DEL $CA $NS_A
		return 1
	fi
	want=$(ipam_ip $CA)
	want6=$(ipam_ip $CA 6)
	check "$tag: ADD killed at step $n (no atexit, no DLL detach): state files parse" \
		eval "[ -n '$clean' ] && states_parse"
	cni ADD $CA $NS_A
	ip=$(jq -r '.ips[0].address // ""' <<<"$out" | cut -d/ -f1)
	ip6=$(jq -r '.ips[1].address // ""' <<<"$out" | cut -d/ -f1)
	check "$tag: step $n: the retried ADD succeeds${want:+ with $want}${want6:+ and $want6}, one endpoint, attached" \
		eval "[ $rc -eq 0 ] && [ -n '$ip' ] && [ -n '$ip6' ] && { [ -z '$want' ] || [ '$ip' = '$want' ]; } &&
			{ [ -z '$want6' ] || [ '$ip6' = '$want6' ]; } && attached $CA $NS_A"
	cni CHECK $CA $NS_A "$work/conf-1.0.json"
	check "$tag: step $n: CHECK after the retry" [ $rc -eq 0 ]
	cni DEL $CA $NS_A
	check "$tag: step $n: DEL exits 0, leaves nothing, the network stays" \
		eval "[ $rc -eq 0 ] && nothing_left"
	cni ADD $CB $NS_B
	check "$tag: step $n: a new ADD succeeds" eval "[ $rc -eq 0 ] && attached $CB $NS_B"
	cni DEL $CB $NS_B
	return 0
}

# kill_del TAG N: DEL killed at step N after a good ADD; the retried DEL finishes.
kill_del() {
	local tag=$1 n=$2
	cni ADD $CA $NS_A
	killed DEL $CA $NS_A "$work/conf.json" "$n"
	[ $rc -eq 137 ] || return 1
	check "$tag: DEL killed at step $n (no atexit, no DLL detach): state files parse" \
		eval "[ -n '$clean' ] && states_parse"
	cni DEL $CA $NS_A
	check "$tag: step $n: the retried DEL exits 0 and leaves nothing" \
		eval "[ $rc -eq 0 ] && nothing_left"
	cni ADD $CB $NS_B
	check "$tag: step $n: a new ADD succeeds" eval "[ $rc -eq 0 ] && attached $CB $NS_B"
	cni DEL $CB $NS_B
	return 0
}

# kill_gc TAG N: GC keeping b killed at step N; the retried GC removes a whole, b stays.
kill_gc() {
	local tag=$1 n=$2 conf
	conf=$(gc_conf $CB)
	cni ADD $CA $NS_A
	cni ADD $CB $NS_B
	killed GC $CB "" "$conf" "$n"
	if [ $rc -ne 137 ]; then
		cni DEL $CB $NS_B
		return 1
	fi
	check "$tag: GC killed at step $n (no atexit, no DLL detach): state files parse" \
		eval "[ -n '$clean' ] && states_parse"
	cni GC $CB "" "$conf"
	check "$tag: step $n: the retried GC exits 0, a's endpoint, address and record gone" \
		eval "[ $rc -eq 0 ] && [ -z \"\$(ipam_ip $CA)\" ] && attached $CB $NS_B &&
			jqe '[.Network.ExternalInterfaces[].Networks.azure.Endpoints[].ContainerID] == [\"$CB\"]' '$rt/azure-vnet.json' >/dev/null"
	cni CHECK $CB $NS_B "$work/conf-1.0.json"
	check "$tag: step $n: the valid pod is intact (CHECK)" [ $rc -eq 0 ]
	cni DEL $CB $NS_B
	check "$tag: step $n: after its DEL nothing is left, the network stays" nothing_left
	return 0
}

# kill_add_gc TAG N: ADD of pod a killed at step N, then no retry: the runtime gave up on the pod,
# and a GC without it removes whatever the ADD made (issue 9's GC that freed the address of a
# half-made pod and left its interface, which every later ADD of that address then hit).
kill_add_gc() {
	local tag=$1 n=$2 conf
	conf=$(gc_conf $CB)
	killed ADD $CA $NS_A "$work/conf.json" "$n"
	if [ $rc -ne 137 ]; then
		cni DEL $CA $NS_A
		return 1
	fi
	cni GC $CB "" "$conf"
	check "$tag: ADD killed at step $n, then a GC without it: exit 0, nothing left, the network stays" \
		eval "[ $rc -eq 0 ] && nothing_left"
	cni ADD $CB $NS_B
	check "$tag: step $n: a new ADD succeeds" eval "[ $rc -eq 0 ] && attached $CB $NS_B"
	cni DEL $CB $NS_B
	return 0
}

# the probe itself: a call that returns runs both
new_node probe
cni ADD $CW $NS_W "$work/conf.json" FAKE_HCN_EXIT_LOG="$RT_W\\exit.log"
check "exit probe: a call that returns runs the atexit handler and the DLL detach" \
	eval "[ $rc -eq 0 ] && grep -q ' atexit\$' '$rt/exit.log' && grep -q ' detach\$' '$rt/exit.log'"
killed DEL $CW $NS_W "$work/conf.json" 1
check "exit probe: TerminateProcess under wine is a kill (exit 137, neither ran)" \
	eval "[ $rc -eq 137 ] && [ -n '$clean' ]"

total=0
t0=$SECONDS
echo "== kills on a node whose HNS network exists"
new_node exists
cni ADD $CW $NS_W # the network, made once
cni DEL $CW $NS_W
check "set-up: the network made, nothing else left" nothing_left
for kind in add del gc add_gc; do
	n=1
	while "kill_$kind" "${kind/_/ then }" "$n"; do
		n=$((n + 1))
		total=$((total + 1))
	done
	check "${kind/_/ then }: killed at each of its $((n - 1)) steps" [ $n -gt 3 ]
done
echo "== kills during a new node's first ADD (the HNS network made too)"
n=1
while :; do
	new_node "first$n"
	kill_add "first ADD" "$n" || break
	check "first ADD: step $n: one HNS network, the one recorded" one_network
	n=$((n + 1))
	total=$((total + 1))
done
check "first ADD: killed at each of its $((n - 1)) steps" [ $n -gt 3 ]
echo "steps killed: $total ($((SECONDS - t0)) s)"
if [ -n "$in_suite" ]; then
	exit 0 # the caller counts
fi
suite_end
