#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Regenerates linux/hot-text.ld (see linux/hot-text.py) from a build: traces one warm transparent
# ADD of BUILD/bin/azure-vnet under valgrind lackey, in network namespaces it creates and removes
# (prefix "hot$$-": a node with eth0 and a default route, a pod), with a mas source of 250
# secondary addresses, as tests/bench/bench.py measures the ADD's peak RSS.
#   linux/hot-text.sh [BUILD]   (default build; root, valgrind; then rebuild and commit the .ld)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
bin=$build/bin/azure-vnet
if [ ! -x "$bin" ] || [ ! -f "$bin.map" ]; then
	echo "hot-text: $bin or $bin.map missing (build first)" >&2
	exit 1
fi
command -v valgrind >/dev/null || { echo "hot-text: valgrind not found" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "hot-text: needs root (network namespaces)" >&2; exit 1; }

P=hot$$-
work=$(mktemp -d /tmp/hot-text.XXXXXX)
cleanup() {
	local n
	for n in node fab pod; do ip netns del "$P$n" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
ip netns add "${P}node"
ip netns add "${P}fab"
ip netns add "${P}pod"
ip -n "${P}node" link add eth0 address 00:0d:3a:6e:18:25 type veth peer name fab0 netns "${P}fab"
ip -n "${P}fab" addr add 10.240.0.1/16 dev fab0
ip -n "${P}fab" link set fab0 up
ip -n "${P}node" addr add 10.240.0.4/16 dev eth0
ip -n "${P}node" link set eth0 up
ip -n "${P}node" link set lo up
ip -n "${P}node" route add default via 10.240.0.1
addrs='{"Address":"10.240.0.4","IsPrimary":true}'
for i in $(seq 5 254); do addrs="$addrs,{\"Address\":\"10.240.0.$i\",\"IsPrimary\":false}"; done
echo "{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"IsPrimary\":true,\"IPSubnets\":[{\"Prefix\":\"10.240.0.0/16\",\"IPAddresses\":[$addrs]}]}]}" >"$work/interfaces.json"
echo '{"cniVersion":"1.0.0","name":"azure","type":"azure-vnet","mode":"transparent","ipam":{"type":"azure-vnet-ipam","environment":"mas"}}' >"$work/conf"
export AZURE_CNI_RUNTIME_DIR=$work/run AZURE_CNI_LOG_DIR=$work/log AZURE_CNI_MAS_FILE=$work/interfaces.json
export CNI_IFNAME=eth0 CNI_CONTAINERID=hot0000000000001 CNI_NETNS=/var/run/netns/${P}pod
run() { ip netns exec "${P}node" env CNI_COMMAND="$1" "${@:2}" <"$work/conf" >/dev/null; }
# warm: the network exists and the source was read, as for every ADD but a node's first
run ADD "$bin"
run DEL "$bin"
run ADD valgrind -v -v -v --tool=lackey --trace-mem=yes --log-file="$work/trace" "$bin"
run DEL "$bin"
"$top/linux/hot-text.py" "$work/trace" "$bin" "$bin.map" >"$work/hot-text.ld"
mv "$work/hot-text.ld" "$top/linux/hot-text.ld"
echo "hot-text: $top/linux/hot-text.ld ($(grep -c '^    \*' "$top/linux/hot-text.ld") rules)"
