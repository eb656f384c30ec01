#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Azure CNI Overlay (ipam.type azure-cns, ipam.mode overlay) end to end: the real azure-vnet in
# transparent mode on the VNet simulation's Overlay variant (linux/vnet-sim.sh, AZSIM_MODE
# overlay, prefix "ovl<pid>-", three VMs): each VM runs its own CNS test double
# (tests/cns/cns-double.py on 127.0.0.1:10090 in the VM's netns) handing out that node's overlay
# addresses, as AKS's CNS does from the NodeNetworkConfig: VM N's /24 10.244.N.0/24 of the
# cluster's pod CIDR 10.244.0.0/16 (IPv6 fd00:10:244::N:0/112 of fd00:10:244::/64), with the
# cluster CIDR's prefix length and no gateway; the fabric routes each block to its VM (as
# Azure's overlay routing does); vm3 runs no pods (a VNet VM); inet is an internet host.
# Covers: the result (the cluster prefix, gateway 169.254.1.1), pod to pod on one VM and across
# VMs with the pods' own addresses, pod to the internet and to a VNet VM seen as the node's
# primary IP (Overlay addresses are not VNet addresses), the same over IPv6 (each VM's CNS a
# dual-stack one, vm2's listing IPv6 first), an IPv4-only Overlay node, DEL releasing in CNS,
# nothing left; cnitool with that conflist on vm1 and vm2 (ADD, CHECK, DEL, pod to pod). The
# network configuration is the shipped linux/azure-linux-swift-overlay.conflist's.
# Usage: tests/linux/overlay.sh [build-dir]   (default build). Root only. Exit 1 on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bdir=${1:-$top/build}
# shellcheck source=tests/lib/jqe.sh
. "$top/tests/lib/jqe.sh"
# shellcheck source=tests/lib/suite.sh
. "$top/tests/lib/suite.sh"
# shellcheck source=tests/lib/node.sh
. "$top/tests/lib/node.sh"
# shellcheck source=tests/lib/cns.sh
. "$top/tests/lib/cns.sh"
B=$bdir/bin
[ -x "$B/azure-vnet" ] || { echo "FAIL: build $B first"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 0; }

netns_suite_begin ovl
export AZSIM_PREFIX=$P AZSIM_DIR=$WORK/sim AZSIM_MODE=overlay AZSIM_VMS=3 AZSIM_SECONDARIES=6 \
	AZSIM_IPV6=1
sim=$top/linux/vnet-sim.sh
trap '"$sim" down >/dev/null 2>&1; netns_suite_cleanup' EXIT
"$sim" up >/dev/null || exit 1
INET=${P}inet
for n in 1 2 3; do
	eval "$("$sim" env "vm$n")"
	declare "VM$n=$AZSIM_PRIMARY" "VM${n}6=$AZSIM_PRIMARY6"
done
INET6=$AZSIM_INET6

# the network configuration the runtime makes of the shipped Overlay conflist's first plugin
CONF=$(jq -c '.plugins[0] + {cniVersion, name}' "$top/linux/azure-linux-swift-overlay.conflist")
export AZURE_CNI_LOCK_TIMEOUT_MS=5000

# run VM CMD CID: the plugin on VM N for pod CID (netns ${P}<first letter of CID>), VM N's own runtime dir
run() {
	AZURE_CNI_RUNTIME_DIR=$AZSIM_DIR/vm$1/run AZURE_CNI_LOG_DIR=$AZSIM_DIR/vm$1/log \
		CNI_COMMAND=$2 CNI_CONTAINERID=$3 CNI_NETNS=/var/run/netns/${P}${3:0:1} CNI_IFNAME=eth0 \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-$3" \
		ip netns exec "${P}vm$1" "$B/azure-vnet" <<<"$CONF"
}
pod() { ip netns add "${P}$1" && ip -n "${P}$1" link set lo up; }
jout() { [ -n "$2" ] && jqe "$1" <<<"$2"; }
eq() { [ "$1" = "$2" ]; }
absent() { ! "$@"; }
assigned() { ip netns exec "${P}vm$1" curl -s http://127.0.0.1:10090/test/pool | jq -r '.assigned | length'; }
addr_of() { jq -r ".ips[${2:-0}].address" <<<"$1" | cut -d/ -f1; }


echo "== ADD on two VMs"
pod a
pod b
pod c
ra=$(run 1 ADD a0000000001)
check "ADD a on vm1 exits 0" eq "$?" 0
rb=$(run 1 ADD b0000000002)
rc=$(run 2 ADD c0000000003)
A=$(addr_of "$ra") Bip=$(addr_of "$rb") C=$(addr_of "$rc")
A6=$(addr_of "$ra" 1) B6=$(addr_of "$rb" 1) C6=$(addr_of "$rc" 1)
check "a: the node's overlay address with the cluster prefix ($A)" jout '.ips[0].address | test("^10\\.244\\.1\\.[4-9]/16$")' "$ra"
check "a: gateway 169.254.1.1 (CNS gave none), default route via it" jout '.ips[0].gateway == "169.254.1.1" and (.routes | index({"dst":"0.0.0.0/0","gw":"169.254.1.1"}) != null)' "$ra"
check "a, dual-stack: the node's IPv6 overlay address with the cluster prefix ($A6)" jout '.ips[1].address | test("^fd00:10:244::1:[4-9]/64$")' "$ra"
check "a, dual-stack: gateway fe80::1234:5678:9abc (CNS gave none), a default route via it" jout '.ips[1].gateway == "fe80::1234:5678:9abc" and (.routes | index({"dst":"::/0","gw":"fe80::1234:5678:9abc"}) != null)' "$ra"
check "pod a: the IPv6 address on eth0 with /64" bash -c "ip -n ${P}a -6 addr show eth0 | grep -q 'inet6 $A6/64'"
check "c on vm2 (its CNS lists IPv6 first): IPv4 first all the same, vm2's overlay range ($C)" jout '.ips[0].address | test("^10\\.244\\.2\\.[4-9]/16$")' "$rc"
check "c on vm2: its network holds both families (IPv4 SNAT too)" bash -c "jq -e '[.Network.ExternalInterfaces[].Networks[].Subnets[].Prefix.IP] == [\"10.244.0.0\", \"fd00:10:244::\"]' $AZSIM_DIR/vm2/run/azure-vnet.json >/dev/null"
check "pod a: the address on eth0 with /16" bash -c "ip -n ${P}a addr show eth0 | grep -q 'inet $A/16'"
check "pod a: default via 169.254.1.1" bash -c "ip -n ${P}a route | grep -q 'default via 169.254.1.1 dev eth0'"
check "vm1: a /32 route to pod a" bash -c "ip -n ${P}vm1 route show $A | grep -q 'dev azv'"
check "vm1: no SWIFT chain (Overlay: DNS and IMDS go out with the outbound SNAT, as in Go)" \
	absent bash -c "ip netns exec ${P}vm1 iptables -t nat -S | grep -q SWIFT"
held() { [ "$(assigned 1)" = "$1" ] && [ "$(assigned 2)" = "$2" ]; }
check "CNS of vm1 holds 4 addresses (2 pods, 2 families), vm2's 2" held 4 2

echo "== traffic"
check "pod a -> pod b (same VM): b sees a's own address" seen_as "${P}b" "${P}a" "$Bip" "$A"
check "pod a -> pod c (across VMs, overlay routed by the fabric): c sees a's own address" seen_as "${P}c" "${P}a" "$C" "$A"
check "pod c -> pod a: a sees c's own address" seen_as "${P}a" "${P}c" "$A" "$C"
check "pod a -> internet host: seen as vm1's primary IP" seen_as "$INET" "${P}a" 203.0.113.10 "$VM1"
check "pod a -> VNet VM vm3: seen as vm1's primary IP (overlay addresses stay in the cluster)" seen_as "${P}vm3" "${P}a" "$VM3" "$VM1"
check "pod c -> VNet VM vm3: seen as vm2's primary IP" seen_as "${P}vm3" "${P}c" "$VM3" "$VM2"
check "IPv6: pod a -> pod b (same VM): b sees a's own address" seen_as "${P}b" "${P}a" "$B6" "$A6"
check "IPv6: pod a -> pod c (across VMs): c sees a's own address" seen_as "${P}c" "${P}a" "$C6" "$A6"
check "IPv6: pod c -> pod a: a sees c's own address" seen_as "${P}a" "${P}c" "$A6" "$C6"
check "IPv6: pod a -> internet host: seen as vm1's primary IPv6" seen_as "$INET" "${P}a" "$INET6" "$VM16"
check "IPv6: pod a -> VNet VM vm3: seen as vm1's primary IPv6" seen_as "${P}vm3" "${P}a" "$VM36" "$VM16"
check "pod a -> vm1 itself" ip netns exec "${P}a" busybox ping -c1 -W2 "$VM1"

echo "== repeated ADD, CHECK, DEL"
ra2=$(run 1 ADD a0000000001)
check "repeated ADD of a: the same address" eq "$(addr_of "$ra2")" "$A"
check_v1() { CONF=$(jq -c '.cniVersion = "1.1.0"' <<<"$CONF") run 1 CHECK a0000000001; }
check "CHECK of a (at CNI 1.1.0: the conflist's 0.3.0 has no CHECK): exit 0" check_v1
for x in 1:a0000000001 1:b0000000002 2:c0000000003; do
	check "DEL ${x#*:}: exit 0" run "${x%%:*}" DEL "${x#*:}"
done
check "DEL released every address in both CNSes" held 0 0
check "nothing left on vm1: no azv veth, no pod route" bash -c "! ip -n ${P}vm1 -o link | grep -q ' azv' && ! ip -n ${P}vm1 route | grep -q '^10\\.244\\.'"
check "nothing left in pod a" bash -c "! ip -n ${P}a link show eth0 2>/dev/null"

echo "== an IPv4-only Overlay node, the older mode names, bad input"
"$sim" cns vm1 stop
rm -f "$AZSIM_DIR/vm1/cns.json"
AZSIM_IPV6=0 "$sim" cns vm1 start || exit 1
del_mode() { CONF=${CONF/\"overlay\"/\"$1\"} run 1 DEL a0000000001 && [ "$(assigned 1)" = 0 ]; }
for m in v4overlay dualStackOverlay; do
	r=$(CONF=${CONF/\"overlay\"/\"$m\"} run 1 ADD a0000000001)
	check "ipam.mode $m, IPv4-only CNS: one address, the overlay gateway" jout '(.ips | length) == 1 and .ips[0].gateway == "169.254.1.1" and (.ips[0].address | startswith("10.244.1."))' "$r"
	check "... pod a reaches vm3 (SNAT)" ip netns exec "${P}a" busybox ping -c1 -W2 "$VM3"
	check "... DEL: exit 0 and released in CNS" del_mode "$m"
done
out=$(CONF=${CONF/\"overlay\"/\"overlay2\"} run 1 ADD a0000000001)
check "ipam.mode overlay2: code 7 naming ipam.mode" jout '.code == 7 and (.msg | test("ipam.mode"))' "$out"
check "... nothing asked of CNS, nothing held" eq "$(assigned 1)" 0

echo "== cnitool with the shipped Overlay conflist (IPv4-only vm1, dual-stack vm2)"
cns_cnitool

suite_end
