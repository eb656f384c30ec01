# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# A simulated Azure VM in network namespaces, shared by the netns suites (sourced).
#   node_setup TAG NET N   the node netns ${P}node-TAG with eth0 NET.0.4/16 (MAC
#                          00:0d:3a:6e:18:26) whose fabric peer ${P}fab-TAG holds NET.0.1 and is
#                          its default route, and the "mas" source $RT/interfaces.json listing
#                          NET.0.4 (primary) and N secondaries NET.0.5 ..; exports the plugin's
#                          AZURE_CNI_* paths into $RT=$WORK/rt-TAG and CNI_PATH=$B; sets NODE
#   node_drop              remove the node, its fabric and every pod netns ${P}p*
#   netns_suite_begin TAG  a suite's start: P=TAG<pid>- (its netns prefix), WORK (a temp dir),
#                          an EXIT trap that removes every netns ${P}* and WORK, suite_begin
# Needs P (the suite's netns prefix), WORK and B set by the suite (netns_suite_begin sets P and
# WORK), and tests/lib/suite.sh sourced.
netns_suite_begin() {
	P=$1$$-
	WORK=$(mktemp -d "/tmp/$1-test.XXXXXX")
	trap netns_suite_cleanup EXIT
	SUITE_ERRLOG=/dev/null
	suite_begin "$WORK/results"
}

netns_suite_cleanup() {
	local n
	for n in $(ip netns list | awk '{print $1}' | grep "^$P"); do
		ip netns del "$n" 2>/dev/null
	done
	rm -rf "$WORK"
}

node_setup() {
	local tag=$1 net=$2 n=$3 fab=${P}fab-$1 i ips
	NODE=${P}node-$tag
	RT=$WORK/rt-$tag
	mkdir -p "$RT"
	ips="{\"Address\":\"$net.0.4\",\"IsPrimary\":true}"
	for i in $(seq 5 $((4 + n))); do ips+=",{\"Address\":\"$net.0.$i\",\"IsPrimary\":false}"; done
	echo "{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1826\",\"IsPrimary\":true,\"IPSubnets\":[{\"Prefix\":\"$net.0.0/16\",\"IPAddresses\":[$ips]}]}]}" >"$RT/interfaces.json"
	export AZURE_CNI_RUNTIME_DIR=$RT AZURE_CNI_LOG_DIR=$RT AZURE_CNI_MAS_FILE=$RT/interfaces.json
	export AZURE_CNI_LOCK_TIMEOUT_MS=5000 CNI_PATH=$B
	ip netns add "$NODE"
	ip netns add "$fab"
	ip -n "$NODE" link set lo up
	ip -n "$NODE" link add eth0 address 00:0d:3a:6e:18:26 type veth peer name fab0 netns "$fab"
	ip -n "$fab" addr add "$net.0.1/16" dev fab0
	ip -n "$fab" link set fab0 up
	ip -n "$NODE" addr add "$net.0.4/16" dev eth0
	ip -n "$NODE" link set eth0 up
	ip -n "$NODE" route add default via "$net.0.1"
}

node_drop() {
	local n
	for n in $(ip netns list | awk '{print $1}' | grep "^${P}p"); do ip netns del "$n"; done
	ip netns del "$NODE"
	ip netns del "${NODE/node-/fab-}"
}
