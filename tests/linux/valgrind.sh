#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# valgrind memcheck over one ADD, CHECK and DEL (and VERSION) of each program, azure-vnet in
# transparent and bridge mode and azure-vnet-ipam, all inside network namespaces this script
# creates and removes (prefix "vgr"): a "node" netns with eth0 10.240.0.4/16 (a veth to a
# "fabric" netns), pods as netns, the mas IPAM source. A check passes when the call succeeds and
# memcheck reports no error and no definite or indirect leak (--error-exitcode); its log is shown
# otherwise. The programs' children (iptables, ebtables) are not traced.
# Usage: tests/linux/valgrind.sh [build-dir]   (default build). Root only. Exit 1 on any failure.
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
command -v valgrind >/dev/null || { echo "FAIL: valgrind is not installed (ci/deps.sh)"; exit 1; }

P=vgr$$-
WORK=$(mktemp -d /tmp/vgr-test.XXXXXX)
cleanup() {
	local n
	for n in $(ip netns list | awk '{print $1}' | grep "^$P"); do
		ip netns del "$n" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
suite_begin "$WORK/results"
SUITE_ERRLOG=/dev/null
# a failed check shows the memcheck report of the call (and its stdout)
suite_on_fail() { sed 's/^/    /' "$WORK/vg.log" "$WORK/out" 2>/dev/null | head -60; }

# vg PROG CMD CID NETNS [STDIN-TEXT]: PROG under memcheck in the node netns; stdout to $WORK/out.
# Status: 99 when memcheck found something, else the program's.
vg() {
	local prog=$1 cmd=$2 cid=$3 netns=$4 conf=${5:-$CONF}
	CNI_COMMAND=$cmd CNI_CONTAINERID=$cid CNI_NETNS=$netns CNI_IFNAME=eth0 \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-$cid" \
		ip netns exec "$NODE" valgrind -q --tool=memcheck --error-exitcode=99 \
		--leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --track-origins=yes \
		--log-file="$WORK/vg.log" "$B/$prog" <<<"$conf" >"$WORK/out"
}
# ok_result: the call's stdout is a result with an IP
ok_result() { jqe '.ips[0].address | test("^10\\.240\\.0\\.")' "$WORK/out"; }
empty_out() { [ ! -s "$WORK/out" ]; }

# node NAME: node + fabric netns, runtime dir with interfaces.json (secondaries .5-.8)
node() {
	NODE=${P}node-$1
	local fab=${P}fab-$1
	RT=$WORK/rt-$1
	mkdir -p "$RT"
	cat >"$RT/interfaces.json" <<'JSON'
{"Interfaces":[{"MacAddress":"000D3A6E1825","IsPrimary":true,"IPSubnets":[{"Prefix":"10.240.0.0/16","IPAddresses":[{"Address":"10.240.0.4","IsPrimary":true},{"Address":"10.240.0.5","IsPrimary":false},{"Address":"10.240.0.6","IsPrimary":false},{"Address":"10.240.0.7","IsPrimary":false},{"Address":"10.240.0.8","IsPrimary":false}]}]}]}
JSON
	export AZURE_CNI_RUNTIME_DIR=$RT AZURE_CNI_LOG_DIR=$RT AZURE_CNI_MAS_FILE=$RT/interfaces.json
	export CNI_PATH=$B
	ip netns add "$NODE"
	ip netns add "$fab"
	ip -n "$NODE" link set lo up
	ip -n "$NODE" link add eth0 address 00:0d:3a:6e:18:25 type veth peer name fab0 netns "$fab"
	ip -n "$fab" addr add 10.240.0.1/16 dev fab0
	ip -n "$fab" link set fab0 up
	ip -n "$NODE" addr add 10.240.0.4/16 dev eth0
	ip -n "$NODE" link set eth0 up
	ip -n "$NODE" route add default via 10.240.0.1
}
pod() { ip netns add "${P}$1" && ip -n "${P}$1" link set lo up && echo "/var/run/netns/${P}$1"; }

# cycle PROG LABEL CID NETNS: ADD, CHECK, DEL, each under memcheck
cycle() {
	local prog=$1 label=$2 cid=$3 ns=$4
	check "$label: ADD clean under memcheck, with a result" \
		eval 'vg "$prog" ADD "$cid" "$ns" && ok_result'
	check "$label: CHECK clean under memcheck" eval 'vg "$prog" CHECK "$cid" "$ns" && empty_out'
	check "$label: DEL clean under memcheck" eval 'vg "$prog" DEL "$cid" "$ns" && empty_out'
}
# version PROG: VERSION (no container) under memcheck, with the supported versions
version() { vg "$1" VERSION "" "" "{}" && jqe '.supportedVersions | length > 0' "$WORK/out"; }

echo "== azure-vnet, transparent mode"
node t
CONF='{"cniVersion":"1.1.0","name":"azure","type":"azure-vnet","mode":"transparent","ipsToRouteViaHost":["169.254.20.10"],"ipam":{"type":"azure-vnet-ipam","environment":"mas"}}'
cycle azure-vnet "azure-vnet transparent" vgtransp0001 "$(pod pt)"
check "azure-vnet: VERSION clean under memcheck" version azure-vnet
# an error answer: exit 1 with code 7, and memcheck clean
bad_mode() {
	local rc=0
	vg azure-vnet ADD vgbadmode001 "$1" '{"cniVersion":"1.1.0","name":"azure","mode":"nope"}' || rc=$?
	[ "$rc" = 1 ] && jqe '.code == 7' "$WORK/out"
}
check "azure-vnet: an error answer (bad mode) clean under memcheck" bad_mode "$(pod pb)"

echo "== azure-vnet, bridge mode"
node b
CONF='{"cniVersion":"1.0.0","name":"azure","type":"azure-vnet","mode":"bridge","bridge":"azure0","ipam":{"type":"azure-vnet-ipam","environment":"mas"}}'
cycle azure-vnet "azure-vnet bridge" vgbridge0001 "$(pod pbr)"

echo "== azure-vnet, transparent mode, 40 pods (both state files mapped under a lease)"
node m
python3 - "$RT/interfaces.json" <<'PY'
import json, sys
addrs = [{"Address": "10.240.0.4", "IsPrimary": True}] + \
    [{"Address": "10.240.0.%d" % i, "IsPrimary": False} for i in range(5, 215)]
json.dump({"Interfaces": [{"MacAddress": "000D3A6E1825", "IsPrimary": True,
                           "IPSubnets": [{"Prefix": "10.240.0.0/16", "IPAddresses": addrs}]}]},
          open(sys.argv[1], "w"))
PY
CONF='{"cniVersion":"1.1.0","name":"azure","type":"azure-vnet","mode":"transparent","ipam":{"type":"azure-vnet-ipam","environment":"mas"}}'
fill() {
	local i
	for i in $(seq 40); do
		CNI_COMMAND=ADD CNI_CONTAINERID=vgfill$i CNI_NETNS=$(pod pm$i) CNI_IFNAME=eth0 \
			ip netns exec "$NODE" "$B/azure-vnet" <<<"$CONF" >/dev/null || return 1
	done
	# past platform_file_view's 32 KiB: the calls below map them (the IPAM file holds a
	# record of each of the 210 secondary addresses)
	[ "$(stat -c %s "$RT/azure-vnet.json")" -ge 32768 ] &&
		[ "$(stat -c %s "$RT/azure-vnet-ipam.json")" -ge 32768 ]
}
check "40 pods added (azure-vnet.json and azure-vnet-ipam.json of 32 KiB or more)" fill
cycle azure-vnet "azure-vnet transparent, 41st pod" vgtransp0041 "$(pod pm41)"

echo "== azure-vnet-ipam"
node i
CONF='{"cniVersion":"1.1.0","name":"azure","type":"azure-vnet-ipam","ipam":{"type":"azure-vnet-ipam","environment":"mas"}}'
cycle azure-vnet-ipam "azure-vnet-ipam" vgipam000001 "$(pod pi)"
check "azure-vnet-ipam: VERSION clean under memcheck" version azure-vnet-ipam

suite_end
