#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Dual-stack (issue 10) end to end, all inside network namespaces this script creates and removes
# (prefix "vds<pid>-"): a "node" (the VM) whose eth0 holds 10.240.0.4/16 and 2001:db8:0:1::4/64
# (a veth whose peer sits in a "fabric" netns holding the gateways .1 and ::1 and an outside
# host fd99::1 on its loopback), pods as netns. iptables/ip6tables run only inside the node netns.
# Transparent mode: both addresses on the pod (nodad), the IPv6 default route via the link-local
# gateway fe80::1234:5678:9abc with a PERMANENT neighbour to the host veth MAC, host /128 route,
# accept_ra 0 on the host end (and the pod end in bridge mode), IPv6 forwarding, ip6tables SNAT; pod to pod, pod to the VM and pod
# to outside over IPv6; CHECK, DEL, GC and rollback cover both families. Bridge and tunnel mode
# the same with IPv6 through Azure's gateway (fe80::1234:5678:9abc, 12:34:56:78:9a:bc, which
# the fabric netns then carries), per-pod ebtables IPv6 MAC DNAT, the bridge neighbours, the
# neighbour-solicitation drop at the NIC, ip6tables SNAT of bridged traffic. Last, a node whose
# network was made while the NIC had IPv4 only and which gains IPv6 later (the VNet made
# dual-stack): the next ADD extends the network (its record's IPv6 subnet, the ip6tables SNAT,
# bridge: the solicitation drop), in transparent and bridge mode.
# Usage: tests/linux/dualstack.sh [build-dir]   (default build). Root only. Exit 1 on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bdir=${1:-$top/build}
# shellcheck source=tests/lib/jqe.sh
. "$top/tests/lib/jqe.sh"
# shellcheck source=tests/lib/suite.sh
. "$top/tests/lib/suite.sh"
# shellcheck source=tests/lib/cns.sh
. "$top/tests/lib/cns.sh"   # seen_as
B=$bdir/bin
[ -x "$B/azure-vnet" ] && [ -x "$B/azure-vnet-ipam" ] || { echo "FAIL: build $B first"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 0; }

P=vds$$-
WORK=$(mktemp -d /tmp/vds-test.XXXXXX)

cleanup() {
	local n
	for n in $(ip netns list | awk '{print $1}' | grep "^$P"); do
		ip netns del "$n" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
printf '#!/bin/sh\ncase " $* " in *" -A "*"--ip6-dst"*) exit 1 ;; esac\nexec ebtables "$@"\n' >"$WORK/ebt-v6fail"
chmod +x "$WORK/ebt-v6fail"

SUITE_ERRLOG=/dev/null
suite_begin "$WORK/results"
# after a failed check: the last call's output (its CNI error)
suite_on_fail() { echo "    last output: $(tr -d '\n\t' <<<"${out:-}${r:-}" | cut -c1-300)"; }

V4='{"Prefix":"10.240.0.0/16","IPAddresses":[{"Address":"10.240.0.4","IsPrimary":true},{"Address":"10.240.0.5"},{"Address":"10.240.0.6"},{"Address":"10.240.0.7"}]}'
V6='{"Prefix":"2001:db8:0:1::/64","IPAddresses":[{"Address":"2001:db8:0:1::4","IsPrimary":true},{"Address":"2001:db8:0:1::"},{"Address":"2001:db8:0:1::5"},{"Address":"2001:db8:0:1::6"},{"Address":"2001:db8:0:1::7"}]}'

# mas SUBNETS-JSON: interfaces.json of the node's NIC with these IPSubnets
mas() {
	echo "{\"Interfaces\":[{\"MacAddress\":\"000D3A6E1825\",\"IsPrimary\":true,\"IPSubnets\":[$1]}]}" \
		>"$RT/interfaces.json"
}

# setup_node TAG SUBNETS-JSON [v4] [v6]: a fresh node and fabric with the families asked for
setup_node() {
	local tag=$1
	NODE=${P}node-$tag
	FAB=${P}fab-$tag
	RT=$WORK/rt-$tag
	mkdir -p "$RT"
	mas "$2"
	export AZURE_CNI_RUNTIME_DIR=$RT AZURE_CNI_LOG_DIR=$RT AZURE_CNI_MAS_FILE=$RT/interfaces.json
	export CNI_PATH=$B
	ip netns add "$NODE"
	ip netns add "$FAB"
	ip -n "$NODE" link set lo up
	ip -n "$FAB" link set lo up
	ip -n "$NODE" link add eth0 address 00:0d:3a:6e:18:25 type veth peer name fab0 netns "$FAB"
	ip -n "$FAB" link set fab0 up
	ip -n "$NODE" link set eth0 up
	if [ "${3:-}" = v4 ]; then
		ip -n "$FAB" addr add 10.240.0.1/16 dev fab0
		ip -n "$NODE" addr add 10.240.0.4/16 dev eth0
		ip -n "$NODE" route add default via 10.240.0.1
	fi
	if [ "${4:-}" = v6 ]; then
		ip -n "$FAB" addr add 2001:db8:0:1::1/64 dev fab0 nodad
		ip -n "$FAB" addr add fd99::1/128 dev lo
		ip -n "$NODE" addr add 2001:db8:0:1::4/64 dev eth0 nodad
		ip -n "$NODE" -6 route add default via 2001:db8:0:1::1 dev eth0
	fi
}

pod() { ip netns add "${P}$1" && ip -n "${P}$1" link set lo up; }
nspath() { echo "/var/run/netns/${P}$1"; }

# run CMD CID NETNS-PATH: config in $CONF
run() {
	CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=$3 CNI_IFNAME=eth0 \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-$2" \
		ip netns exec "$NODE" "$B/azure-vnet" <<<"$CONF"
}

inuse() { jq '[.IPAM.AddressSpaces.local.Pools[].Addresses[] | select(.InUse)] | length' "$RT/azure-vnet-ipam.json"; }
inuse6() { jq '[.IPAM.AddressSpaces.local.Pools[] | select(.IsIPv6) | .Addresses[] | select(.InUse)] | length' "$RT/azure-vnet-ipam.json"; }
in_node() { ip netns exec "$NODE" "$@"; }
# ping6 POD ADDR: a few tries (neighbour discovery of the first packet), never a timed assert
ping6() {
	local i
	for i in 1 2 3; do
		ip netns exec "${P}$1" busybox ping -c1 -W2 "$2" >/dev/null 2>&1 && return 0
	done
	return 1
}
ping4() { ip netns exec "${P}$1" busybox ping -c1 -W2 "$2"; }
jout() { [ -n "$2" ] && jqe "$1" <<<"$2"; }
eq() { [ "$1" = "$2" ]; }
absent() { ! "$@"; }
v6of() { jq -r '[.ips[] | select(.address | contains(":"))][0].address // "" | split("/")[0]' <<<"$1"; }
v4of() { jq -r '[.ips[] | select(.address | contains(":") | not)][0].address // "" | split("/")[0]' <<<"$1"; }

TRANSPARENT='{"cniVersion":"1.0.0","name":"azure","type":"azure-vnet","mode":"transparent","ipam":{"type":"azure-vnet-ipam","environment":"mas"}}'
BRIDGE='{"cniVersion":"1.0.0","name":"azure","type":"azure-vnet","mode":"bridge","bridge":"azure0","ipam":{"type":"azure-vnet-ipam","environment":"mas"}}'

# ---------------------------------------------------------------- transparent, dual-stack
echo "== transparent mode, dual-stack NIC"
setup_node t "$V4,$V6" v4 v6
CONF=$TRANSPARENT
pod p1
pod p2
r1=$(run ADD d1aaaaaaaa1 "$(nspath p1)")
check "ADD p1 exits 0" eq "$?" 0
r2=$(run ADD d2aaaaaaaa2 "$(nspath p2)")
a4=$(v4of "$r1"); a6=$(v6of "$r1"); b6=$(v6of "$r2")
hv1=$(jq -r '.interfaces[0].name' <<<"$r1")
hv2=$(jq -r '.interfaces[0].name' <<<"$r2")
check "result: an IPv4 and an IPv6 address on eth0 ($a4, $a6)" \
	jout '(.ips | length) == 2 and .ips[0].address == "10.240.0.5/16" and .ips[1].address == "2001:db8:0:1::5/64" and .ips[1].gateway == "2001:db8:0:1::1" and .ips[1].interface == 1' "$r1"
check "result: a default route per family" jout '[.routes[].dst] | sort == ["0.0.0.0/0", "::/0"]' "$r1"
check "p2 gets other addresses of both families ($b6)" eq "$b6 $(v4of "$r2")" "2001:db8:0:1::6 10.240.0.6"
check "neither primary nor the anycast 2001:db8:0:1:: handed out" \
	jqe '[.IPAM.AddressSpaces.local.Pools[].Addresses[] | select(.InUse) | .Addr] - ["10.240.0.4", "2001:db8:0:1::4", "2001:db8:0:1::"] | length == 4' "$RT/azure-vnet-ipam.json"
check "pod: IPv6 address /64 without DAD (nodad, not tentative)" bash -c "ip -n ${P}p1 -6 addr show dev eth0 scope global | grep -q 'inet6 $a6/64 scope global nodad' && ! ip -n ${P}p1 -6 addr show dev eth0 scope global | grep -q tentative"
check "pod: IPv4 address still there" bash -c "ip -n ${P}p1 addr show eth0 | grep -q 'inet $a4/16'"
check "pod: no kernel IPv6 subnet route" absent bash -c "ip -n ${P}p1 -6 route | grep -q '2001:db8:0:1::/64'"
check "pod: IPv6 default via fe80::1234:5678:9abc dev eth0" bash -c "ip -n ${P}p1 -6 route | grep -q 'default via fe80::1234:5678:9abc dev eth0'"
check "pod: PERMANENT neighbour fe80::1234:5678:9abc -> aa:aa:aa:aa:aa:aa" bash -c "ip -n ${P}p1 -6 neigh show fe80::1234:5678:9abc | grep -q 'lladdr aa:aa:aa:aa:aa:aa PERMANENT'"
check "pod: IPv4 gateway as before (169.254.1.1 PERMANENT)" bash -c "ip -n ${P}p1 neigh show 169.254.1.1 | grep -q 'aa:aa:aa:aa:aa:aa PERMANENT'"
check "host: /128 route to the pod via its veth" bash -c "ip -n $NODE -6 route show $a6 | grep -q 'dev $hv1'"
check "host: /32 route to the pod via its veth" bash -c "ip -n $NODE route show $a4 | grep -q 'dev $hv1'"
check "accept_ra=0 on the host veth" eq "$(in_node cat /proc/sys/net/ipv6/conf/"$hv1"/accept_ra)" 0
check "accept_dad=0 on the host veth" eq "$(in_node cat /proc/sys/net/ipv6/conf/"$hv1"/accept_dad)" 0
check "proxy_arp=1 on the host veth" eq "$(in_node cat /proc/sys/net/ipv4/conf/"$hv1"/proxy_arp)" 1
check "the pod interface's accept_ra as the kernel set it (transparent: no /proc/sys write in the pod)" eq "$(ip netns exec "${P}p1" cat /proc/sys/net/ipv6/conf/eth0/accept_ra)" "$(ip netns exec "${P}p1" cat /proc/sys/net/ipv6/conf/default/accept_ra)"
check "IPv6 forwarding on in the node's netns" eq "$(in_node cat /proc/sys/net/ipv6/conf/all/forwarding)" 1
check "the master's accept_ra 1 became 2 (the VM keeps its router advertisements)" eq "$(in_node cat /proc/sys/net/ipv6/conf/eth0/accept_ra)" 2
check "ping pod -> pod over IPv6" ping6 p1 "$b6"
check "ping pod -> pod over IPv4" ping4 p1 "$(v4of "$r2")"
check "ping pod -> the VM's primary IPv6" ping6 p1 2001:db8:0:1::4
check "ping pod -> outside IPv6 host (fd99::1), SNATed to the VM's primary IPv6" ping6 p2 fd99::1
check "ip6tables SNAT: one jump from nat POSTROUTING for the IPv6 subnet" eq "$(in_node ip6tables -t nat -S POSTROUTING | grep -c -- '-s 2001:db8:0:1::/64 -j AZURE-VNET-SNAT')" 1
check "ip6tables SNAT: to the primary IPv6, after the VNet RETURN" bash -c "ip netns exec $NODE ip6tables -t nat -S AZURE-VNET-SNAT | tr '\n' ' ' | grep -q -- '-d 2001:db8:0:1::/64 -j RETURN -A AZURE-VNET-SNAT -j SNAT --to-source 2001:db8:0:1::4'"
check "iptables SNAT (IPv4) as before" eq "$(in_node iptables -t nat -S POSTROUTING | grep -c AZURE-VNET-SNAT)" 1
check "state: network subnets IPv4 then IPv6 (Family 10)" jqe '.Network.ExternalInterfaces.eth0.Networks.azure.Subnets | length == 2 and .[1].Family == 10 and .[1].Prefix.IP == "2001:db8:0:1::"' "$RT/azure-vnet.json"
check "state: the endpoint records both addresses" jqe '[.Network.ExternalInterfaces.eth0.Networks.azure.Endpoints["d1aaaaaa-eth0"].IPAddresses[].IP] == ["10.240.0.5", "2001:db8:0:1::5"]' "$RT/azure-vnet.json"
check "IPAM state: 2 IPv6 addresses in use" eq "$(inuse6)" 2
check "CHECK healthy: exit 0, no output" eq "$(run CHECK d1aaaaaaaa1 "$(nspath p1)"; echo "rc=$?")" "rc=0"
r1b=$(run ADD d1aaaaaaaa1 "$(nspath p1)")
check "repeated ADD: the same two addresses" eq "$(jq -c .ips <<<"$r1b")" "$(jq -c .ips <<<"$r1")"
# CHECK finds what is missing of IPv6
ip -n "${P}p1" -6 neigh del fe80::1234:5678:9abc dev eth0
out=$(run CHECK d1aaaaaaaa1 "$(nspath p1)")
check "CHECK reports the missing IPv6 gateway neighbour (106)" jout '.code == 106 and (.msg | test("fe80::1234:5678:9abc"))' "$out"
ip -n "${P}p1" -6 neigh replace fe80::1234:5678:9abc lladdr aa:aa:aa:aa:aa:aa dev eth0 nud permanent
ip -n "${P}p1" -6 route del default
out=$(run CHECK d1aaaaaaaa1 "$(nspath p1)")
check "CHECK reports the missing IPv6 default route (106)" jout '.code == 106 and (.msg | test("default via fe80::1234:5678:9abc"))' "$out"
ip -n "${P}p1" -6 route add default via fe80::1234:5678:9abc dev eth0
ip -n "$NODE" -6 route del "$a6/128"
out=$(run CHECK d1aaaaaaaa1 "$(nspath p1)")
check "CHECK reports the missing host /128 route (106)" jout ".code == 106 and (.msg | test(\"$a6\"))" "$out"
ip -n "$NODE" -6 route add "$a6/128" dev "$hv1"
in_node ip6tables -t nat -F AZURE-VNET-SNAT
out=$(run CHECK d1aaaaaaaa1 "$(nspath p1)")
check "CHECK reports the missing ip6tables SNAT rule (106)" jout '.code == 106 and (.msg | test("ip6tables"))' "$out"
in_node ip6tables -t nat -A AZURE-VNET-SNAT -d 2001:db8:0:1::/64 -j RETURN
in_node ip6tables -t nat -A AZURE-VNET-SNAT -j SNAT --to-source 2001:db8:0:1::4
check "CHECK healthy again" run CHECK d1aaaaaaaa1 "$(nspath p1)"
# a 0.2.0 config: ip4 and ip6
pod p3
CONF=${TRANSPARENT/1.0.0/0.2.0}
r3=$(run ADD d3aaaaaaaa3 "$(nspath p3)")
check "ADD 0.2.0: ip4 and ip6, each with its default route" jout '.ip4.ip == "10.240.0.7/16" and .ip6.ip == "2001:db8:0:1::7/64" and .ip6.routes[0].dst == "::/0"' "$r3"
CONF=$TRANSPARENT
# exhausted (IPv4 .5 .6 .7 taken): the next dual-stack ADD fails whole, nothing made
pod p4
before=$(inuse); links0=$(ip -n "$NODE" -o link | wc -l)
out=$(run ADD d4aaaaaaaa4 "$(nspath p4)")
check "exhausted: code 101, nothing allocated, no veth" bash -c "jq -e '.code == 101' <<<'$out' >/dev/null && [ \"\$(jq '[.IPAM.AddressSpaces.local.Pools[].Addresses[] | select(.InUse)] | length' $RT/azure-vnet-ipam.json)\" = $before ] && [ \"\$(ip -n $NODE -o link | wc -l)\" = $links0 ]"
check "exhausted: no eth0 in the pod" absent ip -n "${P}p4" link show eth0
# DEL leaves nothing of either family
out=$(run DEL d2aaaaaaaa2 "$(nspath p2)"; echo "rc=$?")
check "DEL p2: exit 0, no output" eq "$out" "rc=0"
check "DEL p2: host veth gone" absent ip -n "$NODE" link show "$hv2"
check "DEL p2: host /128 route gone" absent bash -c "ip -n $NODE -6 route | grep -q '^$b6 '"
check "DEL p2: host /32 route gone" absent bash -c "ip -n $NODE route | grep -q '^10.240.0.6 '"
check "DEL p2: eth0 gone from the pod (no address of either family)" absent bash -c "ip -n ${P}p2 addr | grep -q 'inet6\? \(10\.\|2001:\)'"
check "DEL p2: both addresses released" bash -c "[ \"\$(jq '[.IPAM.AddressSpaces.local.Pools[].Addresses[] | select(.InUse and .ID == \"d2aaaaaaaa2\")] | length' $RT/azure-vnet-ipam.json)\" = 0 ]"
check "DEL p2 again: exit 0" run DEL d2aaaaaaaa2 "$(nspath p2)"
# rollback: the host /128 route of the next pod's IPv6 address is taken; the ADD fails at that
# step and leaves nothing of either family
pod p5
ip -n "$NODE" -6 route add blackhole 2001:db8:0:1::6/128
before=$(inuse); links0=$(ip -n "$NODE" -o link | wc -l)
out=$(run ADD d5aaaaaaaa5 "$(nspath p5)")
check "rollback: ADD fails with one error object (103)" jout '.code == 103' "$out"
check "rollback: both addresses returned" eq "$(inuse)" "$before"
check "rollback: no host veth, no IPv4 host route left" bash -c "[ \"\$(ip -n $NODE -o link | wc -l)\" = $links0 ] && ! ip -n $NODE route | grep -q '^10.240.0.6 '"
check "rollback: no interface left in the pod" absent ip -n "${P}p5" link show eth0
ip -n "$NODE" -6 route del blackhole 2001:db8:0:1::6/128
check "after the rollback the same ADD succeeds" run ADD d5aaaaaaaa5 "$(nspath p5)"
# GC: only p1 is valid; p3 and p5 go with both families
gc=$(jq -c '.cniVersion = "1.1.0" | .["cni.dev/valid-attachments"] = [{"containerID":"d1aaaaaaaa1","ifname":"eth0"}]' <<<"$TRANSPARENT")
out=$(CONF=$gc run GC "" ""; echo "rc=$?")
check "GC: exit 0" eq "$out" "rc=0"
check "GC: only p1's two addresses stay in use" bash -c "[ \"\$(jq -c '[.IPAM.AddressSpaces.local.Pools[].Addresses[] | select(.InUse) | .ID] | unique' $RT/azure-vnet-ipam.json)\" = '[\"d1aaaaaaaa1\"]' ] && [ \"\$(jq '[.IPAM.AddressSpaces.local.Pools[].Addresses[] | select(.InUse)] | length' $RT/azure-vnet-ipam.json)\" = 2 ]"
check "GC: p3's pod interface gone" absent ip -n "${P}p3" link show eth0
check "GC: no host /128 route but p1's" eq "$(ip -n "$NODE" -6 route | grep -c '^2001:db8:0:1::[0-9a-f]* dev azv')" 1
# an ADD killed after its IPAM step (both addresses taken, nothing made, no record), then a GC
# without it: the GC locks the owner once for both addresses and releases both (it released the
# IPv4 one and kept the IPv6 one, its owner lock "busy": the GC's own lock of the first address)
pod p6
AZURE_CNI_FAULT_LOG=$WORK/steps run ADD d6aaaaaaaa6 "$(nspath p6)" >/dev/null
run DEL d6aaaaaaaa6 "$(nspath p6)" >/dev/null
step=$(awk '$2 == "ADD" && $3 == "ipam" {print $1; exit}' "$WORK/steps")
AZURE_CNI_FAULT_KILL_AT=$step run ADD d6aaaaaaaa6 "$(nspath p6)" >/dev/null 2>&1
owned6() { jq '[.IPAM.AddressSpaces.local.Pools[].Addresses[] | select(.InUse and .ID == "d6aaaaaaaa6")] | length' "$RT/azure-vnet-ipam.json"; }
check "ADD killed at step $step (ADD ipam): both its addresses held, no record" \
	bash -c "[ $(owned6) = 2 ] && ! grep -q d6aaaaaa '$RT/azure-vnet.json'"
out=$(CONF=$gc run GC "" ""; echo "rc=$?")
check "GC after the killed ADD: exit 0, both its addresses released" \
	bash -c "[ '$out' = rc=0 ] && [ $(owned6) = 0 ]"
check "DEL p1: exit 0" run DEL d1aaaaaaaa1 "$(nspath p1)"
check "DEL p1: no IPv6 host route, no azv link left" bash -c "! ip -n $NODE -6 route | grep -q azv && ! ip -n $NODE -o link | grep -q azv"
check "all addresses released" eq "$(inuse)" 0

# ---------------------------------------------------------------- transparent, IPv6-only NIC
echo "== transparent mode, IPv6-only NIC"
setup_node t6 "$V6" v4 v6
CONF=$TRANSPARENT
pod q1
pod q2
r=$(run ADD e1aaaaaaaa1 "$(nspath q1)")
check "ADD: IPv6 only in the result" jout '[.ips[].address] == ["2001:db8:0:1::5/64"] and [.routes[].dst] == ["::/0"]' "$r"
r=$(run ADD e2aaaaaaaa2 "$(nspath q2)")
check "pod: no IPv4 address" absent bash -c "ip -n ${P}q1 addr show eth0 | grep -q 'inet '"
check "ping pod -> pod over IPv6" ping6 q1 2001:db8:0:1::6
check "ping pod -> outside IPv6 host (SNAT)" ping6 q1 fd99::1
check "state: the network's subnet is the IPv6 one" jqe '.Network.ExternalInterfaces.eth0.Networks.azure.Subnets | length == 1 and .[0].Family == 10' "$RT/azure-vnet.json"
check "no IPv4 SNAT jump for an IPv6 subnet" absent bash -c "ip netns exec $NODE iptables -t nat -S POSTROUTING | grep -q AZURE-VNET-SNAT"
check "CHECK healthy" run CHECK e1aaaaaaaa1 "$(nspath q1)"
out=$(run DEL e1aaaaaaaa1 "$(nspath q1)"; echo "rc=$?"; run DEL e2aaaaaaaa2 "$(nspath q2)"; echo "rc=$?")
check "DEL both: exit 0" eq "$out" "rc=0
rc=0"
check "DEL both: nothing in use, no azv link" bash -c "[ \"\$(jq '[.IPAM.AddressSpaces.local.Pools[].Addresses[] | select(.InUse)] | length' $RT/azure-vnet-ipam.json)\" = 0 ] && ! ip -n $NODE -o link | grep -q azv"

# ---------------------------------------------------------------- bridge and tunnel mode
# The fabric as Azure's: a router (IPv6 forwarding) whose port is the IPv6 gateway
# fe80::1234:5678:9abc with MAC 12:34:56:78:9a:bc, each secondary routed to the NIC (via the
# VM's primary: frames reach the NIC's MAC).
fabric_azure6() {
	local a
	ip netns exec "$FAB" sysctl -qw net.ipv6.conf.all.forwarding=1
	ip -n "$FAB" link set fab0 address 12:34:56:78:9a:bc
	ip -n "$FAB" addr add fe80::1234:5678:9abc/64 dev fab0 nodad
	for a in 5 6 7; do
		ip -n "$FAB" -6 route add "2001:db8:0:1::$a/128" via 2001:db8:0:1::4 dev fab0
	done
}
ebt() { ip netns exec "$NODE" ebtables "$@"; }
echo "== bridge mode, dual-stack NIC"
setup_node b "$V4,$V6" v4 v6
fabric_azure6
CONF=$BRIDGE
pod b1
pod b2
r1=$(run ADD f1aaaaaaaa1 "$(nspath b1)")
check "bridge ADD b1 exits 0" eq "$?" 0
r2=$(run ADD f2aaaaaaaa2 "$(nspath b2)")
a6=$(v6of "$r1"); b6=$(v6of "$r2")
m1=$(jq -r '.interfaces[1].mac' <<<"$r1")
check "bridge result: both families ($a6, $b6)" jout '[.ips[].address] == ["10.240.0.5/16", "2001:db8:0:1::5/64"]' "$r1"
check "bridge: the primary IPv6 moved to the bridge" bash -c "ip -n $NODE -6 addr show dev azure0 | grep -q 'inet6 2001:db8:0:1::4/64'"
check "bridge pod: IPv6 address without DAD (nodad, not tentative)" bash -c "ip -n ${P}b1 -6 addr show dev eth0 scope global | grep -q 'inet6 $a6/64 scope global nodad' && ! ip -n ${P}b1 -6 addr show dev eth0 scope global | grep -q tentative"
check "bridge pod: no on-link IPv6 subnet route (it would solicit across the NIC)" absent bash -c "ip -n ${P}b1 -6 route | grep -q '^2001:db8:0:1::/64'"
check "bridge pod: IPv6 default via fe80::1234:5678:9abc" bash -c "ip -n ${P}b1 -6 route | grep -q 'default via fe80::1234:5678:9abc dev eth0'"
check "bridge pod: PERMANENT neighbour fe80::1234:5678:9abc -> 12:34:56:78:9a:bc" bash -c "ip -n ${P}b1 -6 neigh show fe80::1234:5678:9abc | grep -q 'lladdr 12:34:56:78:9a:bc PERMANENT'"
check "bridge pod: IPv4 default via the IPAM gateway as before" bash -c "ip -n ${P}b1 route | grep -q 'default via 10.240.0.1'"
check "bridge pod: accept_ra=0" eq "$(ip netns exec "${P}b1" cat /proc/sys/net/ipv6/conf/eth0/accept_ra)" 0
check "bridge: accept_ra=0 on the bridge" eq "$(in_node cat /proc/sys/net/ipv6/conf/azure0/accept_ra)" 0
check "bridge: the bridge's PERMANENT neighbour $a6 -> the pod's MAC" bash -c "ip -n $NODE -6 neigh show $a6 dev azure0 | grep -q 'lladdr $m1 PERMANENT'"
check "bridge: ebtables IPv6 MAC DNAT from eth0 for $a6" bash -c "ip netns exec $NODE ebtables -t nat -L PREROUTING | grep -q -- '-p IPv6 -i eth0 --ip6-dst $a6 -j dnat --to-dst $m1'"
check "bridge: no IPv6 ARP reply rule" absent bash -c "ip netns exec $NODE ebtables -t nat -L PREROUTING | grep -q 'arp-ip-dst 2001'"
check "bridge: neighbour solicitations not forwarded out of eth0" bash -c "ip netns exec $NODE ebtables -t filter -L FORWARD | grep -q -- '-p IPv6 -o eth0 --ip6-proto ipv6-icmp --ip6-icmp-type neighbour-solicitation -j DROP'"
check "bridge: bridge-nf-call-ip6tables=1 (or br_netfilter absent)" bash -c "[ ! -e /proc/sys/net/bridge ] || [ \$(ip netns exec $NODE cat /proc/sys/net/bridge/bridge-nf-call-ip6tables) = 1 ]"
check "bridge: IPv6 forwarding on" eq "$(in_node cat /proc/sys/net/ipv6/conf/all/forwarding)" 1
check "bridge: ip6tables SNAT jump for the IPv6 subnet" eq "$(in_node ip6tables -t nat -S POSTROUTING | grep -c -- '-s 2001:db8:0:1::/64 -j AZURE-VNET-SNAT')" 1
check "bridge ping pod -> pod over IPv6 (through the fabric)" ping6 b1 "$b6"
check "bridge ping pod -> pod over IPv4" ping4 b1 10.240.0.6
check "bridge ping pod -> the VM's primary IPv6" ping6 b1 2001:db8:0:1::4
check "bridge ping pod -> outside IPv6 host (fd99::1), SNATed" ping6 b2 fd99::1
check "bridge CHECK healthy" run CHECK f1aaaaaaaa1 "$(nspath b1)"
chk() { run CHECK f1aaaaaaaa1 "$(nspath b1)"; }
ebt -t nat -D PREROUTING -p IPv6 -i eth0 --ip6-dst "$a6" -j dnat --to-dst "$m1" --dnat-target ACCEPT
check "bridge CHECK reports the missing IPv6 MAC DNAT (106)" jout ".code == 106 and (.msg | test(\"DNAT for $a6\"))" "$(chk)"
ebt -t nat -A PREROUTING -p IPv6 -i eth0 --ip6-dst "$a6" -j dnat --to-dst "$m1" --dnat-target ACCEPT
ip -n "$NODE" -6 neigh del "$a6" dev azure0
check "bridge CHECK reports the missing IPv6 bridge neighbour (106)" jout ".code == 106 and (.msg | test(\"neighbour $a6\"))" "$(chk)"
ip -n "$NODE" -6 neigh replace "$a6" lladdr "$m1" dev azure0 nud permanent
ip -n "${P}b1" -6 neigh del fe80::1234:5678:9abc dev eth0
check "bridge CHECK reports the missing gateway neighbour (106)" jout '.code == 106 and (.msg | test("fe80::1234:5678:9abc -> the gateway MAC"))' "$(chk)"
ip -n "${P}b1" -6 neigh replace fe80::1234:5678:9abc lladdr 12:34:56:78:9a:bc dev eth0 nud permanent
ip -n "${P}b1" -6 route del default
check "bridge CHECK reports the missing IPv6 default route (106)" jout '.code == 106 and (.msg | test("default via fe80"))' "$(chk)"
ip -n "${P}b1" -6 route add default via fe80::1234:5678:9abc dev eth0
in_node ip6tables -t nat -F AZURE-VNET-SNAT
check "bridge CHECK reports the missing ip6tables SNAT (106)" jout '.code == 106 and (.msg | test("ip6tables"))' "$(chk)"
in_node ip6tables -t nat -A AZURE-VNET-SNAT -d 2001:db8:0:1::/64 -j RETURN
in_node ip6tables -t nat -A AZURE-VNET-SNAT -j SNAT --to-source 2001:db8:0:1::4
check "bridge CHECK healthy again" chk
# rollback: an ebtables that refuses to append an IPv6 rule fails the pod's IPv6 MAC DNAT,
# after its IPv4 rules, neighbours and IPv6 gateway were made; the ADD leaves nothing
pod b3
before=$(inuse); links0=$(ip -n "$NODE" -o link | wc -l)
ebt0=$(ebt -t nat -L PREROUTING | grep -c dnat)
out=$(AZURE_CNI_EBTABLES=$WORK/ebt-v6fail run ADD f3aaaaaaaa3 "$(nspath b3)")
check "bridge rollback (ip6 MAC DNAT fails): code 103" jout '.code == 103' "$out"
check "bridge rollback: both addresses returned" eq "$(inuse)" "$before"
check "bridge rollback: no host veth, no pod interface" bash -c "[ \"\$(ip -n $NODE -o link | wc -l)\" = $links0 ] && ! ip -n ${P}b3 link show eth0 2>/dev/null"
check "bridge rollback: no pod rule left (IPv4 or IPv6)" eq "$(ebt -t nat -L PREROUTING | grep -c dnat)" "$ebt0"
check "bridge rollback: no bridge neighbour of either address left" absent bash -c "ip -n $NODE neigh show dev azure0 | grep -q '^\(10.240.0.7\|2001:db8:0:1::7\) '"
check "after the rollback the same ADD succeeds" run ADD f3aaaaaaaa3 "$(nspath b3)"
out=$(run DEL f2aaaaaaaa2 "$(nspath b2)"; echo "rc=$?")
check "bridge DEL b2: exit 0, no output" eq "$out" "rc=0"
check "bridge DEL b2: no ebtables rule and no bridge neighbour of $b6" absent bash -c "ip netns exec $NODE ebtables -t nat -L PREROUTING | grep -q -- '$b6 ' || ip -n $NODE -6 neigh show dev azure0 | grep -q '^$b6 '"
check "bridge DEL b2: both addresses released" bash -c "[ \"\$(jq '[.IPAM.AddressSpaces.local.Pools[].Addresses[] | select(.InUse and .ID == \"f2aaaaaaaa2\")] | length' $RT/azure-vnet-ipam.json)\" = 0 ]"
run DEL f1aaaaaaaa1 "$(nspath b1)" >/dev/null
run DEL f3aaaaaaaa3 "$(nspath b3)" >/dev/null
check "bridge DEL all: nothing in use, no pod rule, no azv link" bash -c "[ \"\$(jq '[.IPAM.AddressSpaces.local.Pools[].Addresses[] | select(.InUse)] | length' $RT/azure-vnet-ipam.json)\" = 0 ] && ! ip -n $NODE -o link | grep -q azv && ! ip netns exec $NODE ebtables -t nat -L PREROUTING | grep -q -- '--ip6\?-dst'"

echo "== bridge mode, IPv6-only NIC"
setup_node b6 "$V6" v4 v6
fabric_azure6
CONF=$BRIDGE
pod c1
pod c2
links0=$(ip -n "$NODE" -o link | wc -l)
for bad in '"ipAddress":"10.240.0.5"' '"subnet":"10.240.0.0/16"' '"subnet":"2001:db8:0:1::/80"'; do
	out=$(CONF=$(jq -c ".ipam += {$bad}" <<<"$BRIDGE") run ADD g0aaaaaaaa0 "$(nspath c1)")
	check "bridge, IPv6-only NIC, ipam {$bad}: code 7 naming the field, nothing made" \
		bash -c "jq -e '.code == 7 and (.msg | test(\"ipam.(ipAddress|subnet)\"))' <<<'$out' >/dev/null && [ \"\$(ip -n $NODE -o link | wc -l)\" = $links0 ] && ! ip -n ${P}c1 link show eth0 2>/dev/null && { [ ! -s $RT/azure-vnet-ipam.json ] || [ \"\$(jq '[.IPAM.AddressSpaces.local.Pools[].Addresses[] | select(.InUse)] | length' $RT/azure-vnet-ipam.json)\" = 0 ]; }"
done
r=$(run ADD g1aaaaaaaa1 "$(nspath c1)")
check "bridge, IPv6-only NIC: IPv6 alone in the result" jout '[.ips[].address] == ["2001:db8:0:1::5/64"]' "$r"
run ADD g2aaaaaaaa2 "$(nspath c2)" >/dev/null
check "bridge, IPv6-only: no IPv6 ARP reply rule for the primary" absent bash -c "ip netns exec $NODE ebtables -t nat -L PREROUTING | grep -q 'arp-ip-dst 2001'"
check "bridge, IPv6-only: ping pod -> pod" ping6 c1 2001:db8:0:1::6
check "bridge, IPv6-only: ping pod -> outside (SNAT)" ping6 c2 fd99::1
check "bridge, IPv6-only: CHECK healthy" run CHECK g1aaaaaaaa1 "$(nspath c1)"
run DEL g1aaaaaaaa1 "$(nspath c1)" >/dev/null
run DEL g2aaaaaaaa2 "$(nspath c2)" >/dev/null
check "bridge, IPv6-only: DEL leaves nothing" bash -c "[ \"\$(jq '[.IPAM.AddressSpaces.local.Pools[].Addresses[] | select(.InUse)] | length' $RT/azure-vnet-ipam.json)\" = 0 ] && ! ip -n $NODE -o link | grep -q azv"

echo "== tunnel mode, dual-stack NIC"
setup_node tu "$V4,$V6" v4 v6
fabric_azure6
CONF=${BRIDGE/\"bridge\",\"bridge\"/\"tunnel\",\"bridge\"}
pod t1
pod t2
r1=$(run ADD h1aaaaaaaa1 "$(nspath t1)")
check "tunnel ADD: both families" jout '(.ips | length) == 2' "$r1"
run ADD h2aaaaaaaa2 "$(nspath t2)" >/dev/null
check "tunnel: no bridge neighbour for the pod's IPv6 (VEPA)" absent bash -c "ip -n $NODE -6 neigh show dev azure0 | grep -q '^2001:db8:0:1::5 .*PERMANENT'"
check "tunnel ping pod -> pod over IPv6" ping6 t1 2001:db8:0:1::6
check "tunnel ping pod -> outside IPv6 (SNAT)" ping6 t1 fd99::1
check "tunnel CHECK healthy" run CHECK h1aaaaaaaa1 "$(nspath t1)"
run DEL h1aaaaaaaa1 "$(nspath t1)" >/dev/null
run DEL h2aaaaaaaa2 "$(nspath t2)" >/dev/null
check "tunnel DEL: nothing in use, no pod rule" bash -c "[ \"\$(jq '[.IPAM.AddressSpaces.local.Pools[].Addresses[] | select(.InUse)] | length' $RT/azure-vnet-ipam.json)\" = 0 ] && ! ip netns exec $NODE ebtables -t nat -L PREROUTING | grep -q -- '--ip6\?-dst'"

# ---------------------------------------------------------------- the NIC gains IPv6 later
# late_held: what the node holds of pods (addresses in use, azv links, host /32 and /128 routes
# via them, pod ebtables rules, endpoint records); "0 0 0 0 0" when nothing
late_held() {
	local ips links routes ebtr recs
	ips=$(inuse)
	links=$(ip -n "$NODE" -o link | grep -c ' azv')
	routes=$( { ip -n "$NODE" route; ip -n "$NODE" -6 route; } | grep -c '^\(10\.240\|2001:db8\)[^ ]* dev azv')
	ebtr=$(ebt -t nat -L PREROUTING 2>/dev/null | grep -c -- '--ip6\?-dst')
	recs=$(jq '[.Network.ExternalInterfaces[].Networks[].Endpoints // {} | length] | add // 0' "$RT/azure-vnet.json")
	echo "$ips $links $routes $ebtr $recs"
}
subnets() { jq -c '[.Network.ExternalInterfaces[].Networks.azure.Subnets[] | [.Family, .Prefix.IP, .PrimaryIP]]' "$RT/azure-vnet.json"; }
for mode in transparent bridge; do
	echo "== $mode mode: the NIC gains IPv6 after the network was made"
	setup_node "late-$mode" "$V4" v4
	# queryInterval 0: every ADD reads the source (else one within 10 s of the last read may not)
	if [ $mode = transparent ]; then CONF=$TRANSPARENT; dev=eth0; else CONF=$BRIDGE; dev=azure0; fi
	CONF=$(jq -c ".ipam.queryInterval = 0" <<<"$CONF")
	pod "lo$mode"
	pod "lw$mode"
	pod "ln$mode"
	pod "lx$mode"
	r=$(run ADD 70aaaaaaaa1 "$(nspath "lo$mode")")
	check "$mode late: the first pod, IPv4 only" jout '[.ips[].address] == ["10.240.0.5/16"]' "$r"
	check "$mode late: the network is recorded with IPv4 alone" eq "$(subnets)" '[[2,"10.240.0.0","10.240.0.4"]]'
	# the VNet made dual-stack: NMAgent lists IPv6 secondaries before the VM has its address
	mas "$V4,$V6"
	# (IPv6 listed, not yet on the master): the pod gets the network's IPv4 alone, holding no
	# IPv6 address, and the network stays as it was; a failed ADD would stop the node's pods
	r=$(run ADD 77aaaaaaaa1 "$(nspath "lw$mode")")
	check "$mode late: IPv6 listed but not on the master: the pod is IPv4 only" jout '[.ips[].address] == ["10.240.0.6/16"]' "$r"
	check "$mode late: that ADD holds no IPv6 address, the network is unchanged, no ip6tables SNAT" \
		bash -c "[ $(inuse6) = 0 ] && [ '$(subnets)' = '[[2,\"10.240.0.0\",\"10.240.0.4\"]]' ] && ! ip netns exec $NODE ip6tables -t nat -S | grep -q AZURE-VNET-SNAT && [ -z \"\$(ip -n ${P}lw$mode -6 addr show dev eth0 scope global)\" ]"
	check "$mode late: CHECK of that pod passes" run CHECK 77aaaaaaaa1 "$(nspath "lw$mode")"
	check "$mode late: and its DEL (the pool has three addresses)" run DEL 77aaaaaaaa1 "$(nspath "lw$mode")"
	# that ADD killed at each step (the runtime retries ADD of the same container): the retried
	# ADD gives the IPv4-only pod too, holding no IPv6 address, and its DEL leaves what was there
	held0=$(late_held)
	rm -f "$WORK/steps"
	AZURE_CNI_FAULT_LOG=$WORK/steps run ADD 78aaaaaaaa1 "$(nspath "lw$mode")" >/dev/null
	run DEL 78aaaaaaaa1 "$(nspath "lw$mode")" >/dev/null
	nsteps=$(wc -l <"$WORK/steps")
	bad=""
	for n in $(seq 1 "$nsteps"); do
		AZURE_CNI_FAULT_KILL_AT=$n run ADD 78aaaaaaaa1 "$(nspath "lw$mode")" >/dev/null 2>&1
		r=$(run ADD 78aaaaaaaa1 "$(nspath "lw$mode")")
		jq -e '[.ips[].address] == ["10.240.0.6/16"]' <<<"$r" >/dev/null 2>&1 && [ "$(inuse6)" = 0 ] ||
			bad="$bad step $n: $(jq -c . <<<"$r" 2>/dev/null || echo "$r") inuse6 $(inuse6);"
		run DEL 78aaaaaaaa1 "$(nspath "lw$mode")" >/dev/null || bad="$bad step $n: DEL failed;"
		[ "$(late_held)" = "$held0" ] || bad="$bad step $n: held $(late_held);"
	done
	[ -z "$bad" ] || echo "  $bad" >&2
	check "$mode late: the fallback ADD killed at each of its $nsteps steps: the retried ADD is IPv4 only, no IPv6 held, DEL leaves nothing" eq "$bad" ""
	# and left to a DEL without a retry, or to a GC that lists only the older pod
	gcconf=$(jq -c '.cniVersion = "1.1.0" | .["cni.dev/valid-attachments"] = [{"containerID": "70aaaaaaaa1", "ifname": "eth0"}]' <<<"$CONF")
	bad=""
	for n in $(seq 1 "$nsteps"); do
		AZURE_CNI_FAULT_KILL_AT=$n run ADD 78aaaaaaaa1 "$(nspath "lw$mode")" >/dev/null 2>&1
		run DEL 78aaaaaaaa1 "$(nspath "lw$mode")" >/dev/null || bad="$bad step $n: DEL failed;"
		[ "$(late_held)" = "$held0" ] || bad="$bad step $n: after DEL held $(late_held);"
		AZURE_CNI_FAULT_KILL_AT=$n run ADD 78aaaaaaaa1 "$(nspath "lw$mode")" >/dev/null 2>&1
		CONF=$gcconf run GC "" "" >/dev/null || bad="$bad step $n: GC failed;"
		[ "$(late_held)" = "$held0" ] || bad="$bad step $n: after GC held $(late_held);"
	done
	[ -z "$bad" ] || echo "  $bad" >&2
	check "$mode late: the fallback ADD killed at each step, then a DEL, or a GC without it: nothing left" eq "$bad" ""
	# two such ADDs at once: both IPv4 only, no IPv6 held, the network unchanged
	pod "ly$mode"
	run ADD 79aaaaaaaa1 "$(nspath "lw$mode")" >"$WORK/c1" &
	c1=$!
	run ADD 79aaaaaaaa2 "$(nspath "ly$mode")" >"$WORK/c2"
	wait $c1
	check "$mode late: two concurrent fallback ADDs: both IPv4 only, no IPv6 held, the network unchanged" \
		bash -c "jq -e '[.ips[].address | contains(\":\")] == [false]' $WORK/c1 >/dev/null && jq -e '[.ips[].address | contains(\":\")] == [false]' $WORK/c2 >/dev/null && [ \$(jq '[.IPAM.AddressSpaces.local.Pools[] | select(.IsIPv6) | .Addresses[] | select(.InUse)] | length' $RT/azure-vnet-ipam.json) = 0 ] && [ '$(subnets)' = '[[2,\"10.240.0.0\",\"10.240.0.4\"]]' ]"
	run DEL 79aaaaaaaa1 "$(nspath "lw$mode")" >/dev/null
	run DEL 79aaaaaaaa2 "$(nspath "ly$mode")" >/dev/null
	check "$mode late: their DELs leave what was there before" eq "$(late_held)" "$held0"
	# now the VM has its IPv6 (on the bridge in bridge mode: it holds the node's addresses)
	ip -n "$FAB" addr add 2001:db8:0:1::1/64 dev fab0 nodad
	ip -n "$FAB" addr add fd99::1/128 dev lo
	[ $mode = bridge ] && fabric_azure6
	ip -n "$NODE" addr add 2001:db8:0:1::4/64 dev "$dev" nodad
	ip -n "$NODE" -6 route add default via 2001:db8:0:1::1 dev "$dev"
	r=$(run ADD 71aaaaaaaa1 "$(nspath "ln$mode")")
	n6=$(v6of "$r")
	check "$mode late: a new pod is dual-stack ($n6)" jout '[.ips[].address] == ["10.240.0.6/16", "2001:db8:0:1::5/64"]' "$r"
	check "$mode late: the network record gained the IPv6 subnet (Family 10, PrimaryIP the VM's)" \
		eq "$(subnets)" '[[2,"10.240.0.0","10.240.0.4"],[10,"2001:db8:0:1::","2001:db8:0:1::4"]]'
	check "$mode late: the external interface lists both subnets and the IPv6 gateway" \
		jqe '.Network.ExternalInterfaces[] | .Subnets == ["10.240.0.0/16", "2001:db8:0:1::/64"] and .IPv6Gateway == "2001:db8:0:1::1"' "$RT/azure-vnet.json"
	check "$mode late: one ip6tables SNAT jump for the IPv6 subnet" eq "$(in_node ip6tables -t nat -S POSTROUTING | grep -c -- '-s 2001:db8:0:1::/64 -j AZURE-VNET-SNAT')" 1
	check "$mode late: the new pod reaches an outside IPv6 host, seen as the VM's primary IPv6" \
		seen_as "$FAB" "${P}ln$mode" fd99::1 2001:db8:0:1::4
	[ $mode = bridge ] && check "bridge late: neighbour solicitations not forwarded out of eth0" \
		bash -c "ip netns exec $NODE ebtables -t filter -L FORWARD | grep -q -- '-p IPv6 -o eth0 --ip6-proto ipv6-icmp --ip6-icmp-type neighbour-solicitation -j DROP'"
	check "$mode late: CHECK of the new pod passes" run CHECK 71aaaaaaaa1 "$(nspath "ln$mode")"
	check "$mode late: CHECK of the old (IPv4) pod still passes" run CHECK 70aaaaaaaa1 "$(nspath "lo$mode")"
	# a record an earlier version left (the network never extended): CHECK names the gap, the
	# next ADD closes it
	jq '.Network.ExternalInterfaces[].Networks.azure.Subnets |= .[:1]' "$RT/azure-vnet.json" >"$WORK/net.json" &&
		cat "$WORK/net.json" >"$RT/azure-vnet.json"
	in_node ip6tables -t nat -D POSTROUTING -s 2001:db8:0:1::/64 -j AZURE-VNET-SNAT
	out=$(run CHECK 71aaaaaaaa1 "$(nspath "ln$mode")")
	check "$mode late: CHECK of a dual-stack pod on a network without IPv6: 106 naming the IPv6 SNAT" \
		jout '.code == 106 and (.msg | test("IPv6 \\(ip6tables nat AZURE-VNET-SNAT\\) is missing"))' "$out"
	r=$(run ADD 72aaaaaaaa1 "$(nspath "lx$mode")")
	check "$mode late: the next ADD extends that network again" bash -c "[ '$(subnets)' = '[[2,\"10.240.0.0\",\"10.240.0.4\"],[10,\"2001:db8:0:1::\",\"2001:db8:0:1::4\"]]' ] && [ \$(ip netns exec $NODE ip6tables -t nat -S POSTROUTING | grep -c -- '-s 2001:db8:0:1::/64 -j AZURE-VNET-SNAT') = 1 ]"
	check "$mode late: and CHECK passes again" run CHECK 71aaaaaaaa1 "$(nspath "ln$mode")"
	out=$(run DEL 70aaaaaaaa1 "$(nspath "lo$mode")"; echo "rc=$?"; run DEL 71aaaaaaaa1 "$(nspath "ln$mode")"; echo "rc=$?"; run DEL 72aaaaaaaa1 "$(nspath "lx$mode")"; echo "rc=$?")
	check "$mode late: DEL of the pods: exit 0" eq "$(tr '\n' ' ' <<<"$out")" "rc=0 rc=0 rc=0 "
	check "$mode late: DEL leaves nothing (addresses, links, host routes, pod rules, records)" eq "$(late_held)" "0 0 0 0 0"
done

echo "== transparent mode: an IPv6-only NIC gains IPv4 after the network was made"
setup_node late-v4 "$V6" v4 v6
CONF=$(jq -c ".ipam.queryInterval = 0" <<<"$TRANSPARENT")
pod m1
pod m2
r=$(run ADD 73aaaaaaaa1 "$(nspath m1)")
check "late IPv4: the first pod, IPv6 only" jout '[.ips[].address] == ["2001:db8:0:1::5/64"]' "$r"
check "late IPv4: the network is recorded with IPv6 alone" eq "$(subnets)" '[[10,"2001:db8:0:1::","2001:db8:0:1::4"]]'
mas "$V4,$V6"
r=$(run ADD 74aaaaaaaa1 "$(nspath m2)")
check "late IPv4: a new pod is dual-stack" jout '[.ips[].address] == ["10.240.0.5/16", "2001:db8:0:1::6/64"]' "$r"
check "late IPv4: the record lists IPv4 first, then IPv6 (the Go layout)" \
	eq "$(subnets)" '[[2,"10.240.0.0","10.240.0.4"],[10,"2001:db8:0:1::","2001:db8:0:1::4"]]'
check "late IPv4: one iptables SNAT jump for the IPv4 subnet, the ip6tables one kept" \
	bash -c "[ \$(ip netns exec $NODE iptables -t nat -S POSTROUTING | grep -c -- '-s 10.240.0.0/16 -j AZURE-VNET-SNAT') = 1 ] && [ \$(ip netns exec $NODE ip6tables -t nat -S POSTROUTING | grep -c -- '-s 2001:db8:0:1::/64 -j AZURE-VNET-SNAT') = 1 ]"
ip -n "$FAB" addr add 198.51.100.1/32 dev lo
check "late IPv4: the new pod reaches an outside IPv4 host seen as the VM's primary" \
	seen_as "$FAB" "${P}m2" 198.51.100.1 10.240.0.4
check "late IPv4: CHECK of the new pod passes" run CHECK 74aaaaaaaa1 "$(nspath m2)"
check "late IPv4: CHECK of the old (IPv6) pod still passes" run CHECK 73aaaaaaaa1 "$(nspath m1)"
run DEL 73aaaaaaaa1 "$(nspath m1)" >/dev/null
run DEL 74aaaaaaaa1 "$(nspath m2)" >/dev/null
check "late IPv4: DEL leaves nothing" eq "$(late_held)" "0 0 0 0 0"

echo "== transparent mode: two concurrent ADDs right after the NIC gains IPv6"
setup_node late-conc "$V4" v4
CONF=$(jq -c ".ipam.queryInterval = 0" <<<"$TRANSPARENT")
for i in 0 1 2; do pod "k$i"; done   # the IPv4 pool has three addresses
run ADD 75aaaaaaaa0 "$(nspath k0)" >/dev/null
mas "$V4,$V6"
ip -n "$FAB" addr add 2001:db8:0:1::1/64 dev fab0 nodad
ip -n "$NODE" addr add 2001:db8:0:1::4/64 dev eth0 nodad
for i in 1 2; do run ADD "75aaaaaaaa$i" "$(nspath "k$i")" >"$WORK/conc$i" & done
wait
check "concurrent: both ADDs are dual-stack" \
	eq "$(for i in 1 2; do jq -c '[.ips[]?.address | contains(":")]' "$WORK/conc$i"; done | sort -u)" '[false,true]'
check "concurrent: the network extended once (two subnets, one ip6tables jump)" \
	bash -c "[ '$(subnets)' = '[[2,\"10.240.0.0\",\"10.240.0.4\"],[10,\"2001:db8:0:1::\",\"2001:db8:0:1::4\"]]' ] && [ \$(ip netns exec $NODE ip6tables -t nat -S POSTROUTING | grep -c AZURE-VNET-SNAT) = 1 ]"
for i in 0 1 2; do
	check "concurrent: CHECK k$i" run CHECK "75aaaaaaaa$i" "$(nspath "k$i")"
	run DEL "75aaaaaaaa$i" "$(nspath "k$i")" >/dev/null
done
check "concurrent: DEL leaves nothing" eq "$(late_held)" "0 0 0 0 0"

# ---------------------------------------------------------------- hostile dual-stack input
# Each bad request on a new node is one CNI error naming the field, and nothing is made: no
# address in use, no network record, no link, no pod interface, no SNAT chain of either family.
echo "== hostile dual-stack input (transparent, a new node)"
nothing_made() {
	[ "$(ip -n "$NODE" -o link | wc -l)" = "$links0" ] && ! ip -n "${P}h1" link show eth0 2>/dev/null &&
		{ [ ! -s "$RT/azure-vnet-ipam.json" ] || [ "$(inuse)" = 0 ]; } &&
		{ [ ! -s "$RT/azure-vnet.json" ] || jq -e '[.Network.ExternalInterfaces[]?.Networks // {} | length] | add // 0 | . == 0' "$RT/azure-vnet.json" >/dev/null; } &&
		! in_node iptables -t nat -S | grep -q AZURE-VNET-SNAT && ! in_node ip6tables -t nat -S | grep -q AZURE-VNET-SNAT
}
setup_node hostile "$V4,$V6" v4 v6
pod h1
links0=$(ip -n "$NODE" -o link | wc -l)
while IFS='|' read -r what ipam field; do
	CONF=$(jq -c ".ipam += {$ipam}" <<<"$TRANSPARENT")
	out=$(run ADD h1aaaaaaaa1 "$(nspath h1)")
	check "hostile: $what: code 7 naming $field" jout ".code == 7 and (.msg | contains(\"$field\"))" "$out"
	check "hostile: $what: nothing made" nothing_made
done <<'EOF'
IPv6 subnet longer than /64|"subnet":"2001:db8:0:1::/80"|ipam.subnet
malformed IPv6 subnet|"subnet":"2001:db8::1::/64"|ipam.subnet
malformed IPv6 ipAddress|"ipAddress":"2001:db8:0:1::zz"|ipam.ipAddress
IPv6 ipAddress with a prefix length|"ipAddress":"2001:db8:0:1::5/64"|ipam.ipAddress
IPv4 ipAddress in an IPv6 subnet|"subnet":"2001:db8:0:1::/64","ipAddress":"10.240.0.5"|ipam.ipAddress
IPv6 ipAddress in an IPv4 subnet|"subnet":"10.240.0.0/16","ipAddress":"2001:db8:0:1::5"|ipam.ipAddress
IPv6 subnet the NIC does not have|"subnet":"2001:db8:0:2::/64"|ipam.subnet
EOF
CONF=$TRANSPARENT
mas "$V4,${V6/\/64/\/80}"
out=$(run ADD h1aaaaaaaa1 "$(nspath h1)")
check "hostile: a source (interfaces.json) IPv6 Prefix longer than /64: code 105 naming it" \
	jout '.code == 105 and (.msg | test("2001:db8:0:1::/80"))' "$out"
check "hostile: that source: nothing made" nothing_made
mas "$V6"
for bad in '"ipAddress":"10.240.0.5"' '"subnet":"10.240.0.0/16"'; do
	out=$(CONF=$(jq -c ".ipam += {$bad}" <<<"$TRANSPARENT") run ADD h1aaaaaaaa1 "$(nspath h1)")
	check "hostile: IPv6-only NIC, ipam {$bad}: code 7 naming the field and the family" \
		jout '.code == 7 and (.msg | test("ipam.(ipAddress|subnet)")) and (.msg | test("IPv4"))' "$out"
	check "hostile: IPv6-only NIC, ipam {$bad}: nothing made" nothing_made
done
# a network made on IPv4 alone, then a source whose new IPv6 Prefix is bad: the ADD fails
# naming it and the network stays as it was
mas "$V4"
check "hostile: a first IPv4 pod" run ADD h1aaaaaaaa1 "$(nspath h1)"
check "hostile: nothing_made sees what a good ADD made" absent nothing_made
rec0=$(jq -c .Network.ExternalInterfaces "$RT/azure-vnet.json")
pod h2
mas "$V4,${V6/\/64/\/80}"
out=$(CONF=$(jq -c '.ipam.queryInterval = 0' <<<"$TRANSPARENT") run ADD h2aaaaaaaa2 "$(nspath h2)")
check "hostile: the NIC gains a bad IPv6 Prefix: code 105 naming it" jout '.code == 105 and (.msg | test("2001:db8:0:1::/80"))' "$out"
check "hostile: the network record unchanged, no ip6tables SNAT, no pod interface" \
	bash -c "[ '$(jq -c .Network.ExternalInterfaces "$RT/azure-vnet.json")' = '$rec0' ] && ! ip netns exec $NODE ip6tables -t nat -S | grep -q AZURE-VNET-SNAT && ! ip -n ${P}h2 link show eth0 2>/dev/null"
run DEL h1aaaaaaaa1 "$(nspath h1)" >/dev/null

suite_end
