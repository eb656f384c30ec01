#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# azure-vnet-inspect on a simulated node (issue 13, the inspection command): the pools and every
# allocation with its owner, pod, host interface, sandbox and age; each kind of problem made for
# real on the node (an orphaned veth from a killed ADD, a leaked address, a pod whose netns went
# without a DEL, a record whose veth is gone, an address held by the wrong owner, a corrupt state
# file) is found with the right exit status; --repair removes only what it proved orphaned (the
# orphan and the leak), never a live pod, and nothing while a state file is corrupt.
# All inside network namespaces this script creates and removes (prefix "ins").
# Usage: tests/linux/inspect.sh [build-dir]   (default build). Root only. Exit 1 on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bdir=${1:-$top/build}
# shellcheck source=tests/lib/suite.sh
. "$top/tests/lib/suite.sh"
# shellcheck source=tests/lib/node.sh
. "$top/tests/lib/node.sh"
B=$bdir/bin
for p in azure-vnet azure-vnet-ipam azure-vnet-inspect; do
	[ -x "$B/$p" ] || { echo "FAIL: build $B first ($p missing)"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 0; }

netns_suite_begin ins
CONF='{"cniVersion":"1.0.0","name":"azure","type":"azure-vnet","mode":"transparent","ipam":{"type":"azure-vnet-ipam","environment":"mas"}}'

# call CMD N [env...]: azure-vnet for pod N; output in $out, exit code in $rc
call() {
	local cmd=$1 n=$2
	shift 2
	out=$(env "$@" CNI_COMMAND="$cmd" CNI_CONTAINERID="$(printf 'feed%08d' "$n")" \
		CNI_NETNS="/var/run/netns/${P}p$n" CNI_IFNAME=eth0 \
		CNI_ARGS="K8S_POD_NAMESPACE=ns$n;K8S_POD_NAME=pod-$n" \
		timeout 20 ip netns exec "$NODE" "$B/azure-vnet" <<<"$CONF" 2>/dev/null)
	rc=$?
}
pod() { ip netns add "${P}p$1"; }
# inspect [args...]: azure-vnet-inspect in the node; stdout in $out, exit code in $rc
inspect() {
	out=$(timeout 20 ip netns exec "$NODE" "$B/azure-vnet-inspect" "$@" 2>"$WORK/inspect.err")
	rc=$?
}
kinds() { jq -r '[.problems[] | select(.repaired | not) | .kind] | sort | join(",")' <<<"$out"; }
suite_on_fail() { echo "    inspect: rc=$rc $(jq -c '.problems' <<<"$out" 2>/dev/null || echo "$out" | head -5)"; }

node_setup inspect 10.242 4
pod 1
pod 2
call ADD 1
call ADD 2
inspect --json
check "a clean node: exit 0, consistent, the OS checked" bash -c "[ $rc -eq 0 ] && [ '$(jq -r '.consistent and .osChecked' <<<"$out")' = true ]"
check "the pool: 4 addresses, 2 in use, 2 free" \
	test "$(jq -c '.pools[0] | [.id, .family, .size, .inUse, .free]' <<<"$out")" = '["10.242.0.0/16","IPv4",4,2,2]'
check "each allocation with its owner, pod, host interface, sandbox and age" \
	test "$(jq -c '[.allocations[] | select(.containerID == "feed00000001") | [.address, .ifname, .podNamespace, .podName, (.hostInterface | startswith("azv")), .sandbox, (.ageSeconds >= 0)]][0]' <<<"$out")" \
	= "[\"10.242.0.5\",\"eth0\",\"ns1\",\"pod-1\",true,\"/var/run/netns/${P}p1\",true]"
inspect
check "text output lists the pool and the pods" bash -c "[ $rc -eq 0 ] && grep -q '10.242.0.0/16' <<<'$out' && grep -q 'ns2/pod-2' <<<'$out' && grep -q 'consistent: yes' <<<'$out'"

# an ADD killed after it tagged its veth and routed the address, before its record
pod 3
n=1
while :; do
	call ADD 3 AZURE_CNI_FAULT_KILL_AT=$n AZURE_CNI_FAULT_LOG="$WORK/steps"
	[ $rc -eq 137 ] || { call DEL 3; break; }
	if ip -n "$NODE" route | grep -q '^10.242.0.7 dev azv' && ! jq -e '.. | objects | select(.ContainerID? == "feed00000003")' "$RT/azure-vnet.json" >/dev/null; then
		break
	fi
	call DEL 3
	n=$((n + 1))
done
check "setup: an ADD killed with its veth routed and no record (step $n)" test "$rc" = 137
inspect --json
check "the orphan is found: exit 1, kind orphan, repairable" \
	bash -c "[ $rc -eq 1 ] && [ '$(kinds)' = orphan ] && [ '$(jq -r '.problems[0].repairable' <<<"$out")' = true ]"
inspect --json --repair
check "--repair removes it: exit 0, marked repaired" bash -c "[ $rc -eq 0 ] && [ '$(jq -r '.problems[0].repaired' <<<"$out")' = true ]"
check "after the repair: no veth or route for it, its address free" \
	bash -c "! ip -n $NODE route | grep -q '^10.242.0.7 ' && [ \"\$(jq '[.IPAM.AddressSpaces[].Pools[].Addresses[] | select(.InUse)] | length' $RT/azure-vnet-ipam.json)\" = 2 ]"
inspect
check "then the node is consistent" test "$rc" = 0

# a leaked address: held by an owner with nothing on the node
jq '(.IPAM.AddressSpaces[].Pools[].Addresses["10.242.0.8"]) |= (.InUse = true | .ID = "dead00000000")' \
	"$RT/azure-vnet-ipam.json" >"$WORK/x" && cat "$WORK/x" >"$RT/azure-vnet-ipam.json"
inspect --json
check "a leak is found (exit 1, kind leak)" bash -c "[ $rc -eq 1 ] && [ '$(kinds)' = leak ]"
inspect --json --repair
check "--repair releases it" bash -c "[ $rc -eq 0 ] && [ \"\$(jq -r '.IPAM.AddressSpaces[].Pools[].Addresses[\"10.242.0.8\"].InUse' $RT/azure-vnet-ipam.json)\" = false ]"

# a pod whose netns went without a DEL, and a record whose veth is gone: reported, not repaired
# (the netns takes the pod's veth pair with it: its host end is gone too)
ip netns del "${P}p2"
inspect --json
check "a pod whose netns is gone: sandbox-gone (and its veth: stale-record)" \
	bash -c "[ $rc -eq 1 ] && [ '$(kinds)' = sandbox-gone,stale-record ]"
inspect --json --repair
check "--repair leaves it (the runtime's DEL or GC removes it): the address stays held" \
	bash -c "[ $rc -eq 1 ] && [ '$(kinds)' = sandbox-gone,stale-record ] && [ \"\$(jq -r '.IPAM.AddressSpaces[].Pools[].Addresses[\"10.242.0.6\"].InUse' $RT/azure-vnet-ipam.json)\" = true ]"
call DEL 2
host1=$(jq -r '.. | objects | select(.ContainerID? == "feed00000001") | .HostIfName // empty' "$RT/azure-vnet.json" | head -1)
[ -n "$host1" ] || host1=$(ip -n "$NODE" route | awk '$1 == "10.242.0.5" {print $3}')
ip -n "$NODE" link del "$host1"
inspect --json
check "a record whose host veth is gone: stale-record" bash -c "[ $rc -eq 1 ] && [ '$(kinds)' = stale-record ]"
call DEL 1
inspect
check "after the DELs: consistent" test "$rc" = 0

# the IPAM gives a pod's address to another owner
pod 4
call ADD 4
ip4=$(jq -r '.ips[0].address' <<<"$out" | cut -d/ -f1)
jq --arg ip "$ip4" '(.IPAM.AddressSpaces[].Pools[].Addresses[$ip]) |= (.ID = "other0000000")' \
	"$RT/azure-vnet-ipam.json" >"$WORK/x" && cat "$WORK/x" >"$RT/azure-vnet-ipam.json"
inspect --json --repair
check "an address held by the wrong owner: mismatch, not repaired, the pod untouched" \
	bash -c "[ $rc -eq 1 ] && [[ '$(kinds)' == *mismatch* ]] && ip -n $NODE route | grep -q '^$ip4 dev azv'"
jq --arg ip "$ip4" '(.IPAM.AddressSpaces[].Pools[].Addresses[$ip]) |= (.ID = "feed00000004")' \
	"$RT/azure-vnet-ipam.json" >"$WORK/x" && cat "$WORK/x" >"$RT/azure-vnet-ipam.json"

# a corrupt state file: reported; --repair touches nothing (every pod would look orphaned)
cp "$RT/azure-vnet.json" "$WORK/net.json"
printf '{"Network": [' >"$RT/azure-vnet.json"
inspect --json --repair
check "a corrupt state file: corrupt-state, and --repair removes nothing" \
	bash -c "[ $rc -eq 1 ] && [ '$(kinds)' = corrupt-state ] && ip -n $NODE route | grep -q '^$ip4 dev azv'"
cat "$WORK/net.json" >"$RT/azure-vnet.json"
call DEL 4
inspect
check "bad arguments: exit 2" bash -c "ip netns exec $NODE $B/azure-vnet-inspect --bogus >/dev/null 2>&1; [ \$? -eq 2 ]"
node_drop
suite_end
