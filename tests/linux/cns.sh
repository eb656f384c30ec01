#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ipam.type azure-cns end to end: the real azure-vnet in transparent mode against the CNS test
# double, on the VNet simulation's pod-subnet variant (linux/vnet-sim.sh, AZSIM_MODE podsubnet,
# prefix "cns<pid>-", two VMs, IPv4): the node is vm1 (eth0 10.240.0.4/16, default via the
# fabric's 10.240.0.1), its CNS (tests/cns/cns-double.py on 127.0.0.1:10090 inside vm1) hands
# out vm1's addresses of the pod subnet 10.241.0.0/16 (10.241.1.5-10, network container primary
# 10.241.1.4), which the fabric routes to vm1. Covers ADD (the pod reaches the node and another
# pod), what is sent to CNS, repeated ADD, DEL and its release, CNS down, hung, refusing,
# answering garbage or NotFound, the older singular API, a data-plane failure after CNS gave the
# address, cnsurl, GC, bad input, and cnitool with the shipped linux/azure-linux-swift.conflist
# on both VMs (ADD, CHECK, DEL, pod to pod across VMs).
# Usage: tests/linux/cns.sh [build-dir]   (default build). Root only. Exit 1 on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bdir=${1:-$top/build}
# shellcheck source=tests/lib/jqe.sh
. "$top/tests/lib/jqe.sh"
# shellcheck source=tests/lib/suite.sh
. "$top/tests/lib/suite.sh"
# shellcheck source=tests/lib/cns.sh
. "$top/tests/lib/cns.sh"
B=$bdir/bin
[ -x "$B/azure-vnet" ] || { echo "FAIL: build $B first"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 0; }

P=cns$$-
WORK=$(mktemp -d /tmp/cns-test.XXXXXX)
declare -A DPID=()
export AZSIM_PREFIX=$P AZSIM_DIR=$WORK/sim AZSIM_MODE=podsubnet AZSIM_VMS=2 AZSIM_SECONDARIES=6 \
	AZSIM_IPV6=0
sim=$top/linux/vnet-sim.sh

# stop_double PORT: the node's CNS (10090: the simulation's, its pool kept) or another double
stop_double() {
	local port=$1
	[ "$port" = 10090 ] && { "$sim" cns vm1 stop; return; }
	[ -n "${DPID[$port]:-}" ] || return 0
	kill "${DPID[$port]}" 2>/dev/null
	wait "${DPID[$port]}" 2>/dev/null
	unset "DPID[$port]"
}

cleanup() {
	local n p
	for p in "${!DPID[@]}"; do stop_double "$p"; done
	"$sim" down >/dev/null 2>&1
	for n in $(ip netns list | awk '{print $1}' | grep "^$P"); do
		ip netns del "$n" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

SUITE_ERRLOG=/dev/null
suite_begin "$WORK/results"

"$sim" up >/dev/null || exit 1
NODE=${P}vm1
RT=$AZSIM_DIR/vm1/run
export AZURE_CNI_RUNTIME_DIR=$RT AZURE_CNI_LOG_DIR=$AZSIM_DIR/vm1/log
export CNI_PATH=$B

# start_double PORT [ARGS...]: the node's CNS on 127.0.0.1:PORT in the node netns (10090: the
# simulation's, restarted with its pool; else a double of its own, its pool kept in
# $WORK/cns-PORT.json across restarts); returns when it listens.
start_double() {
	local port=$1
	shift
	[ "$port" = 10090 ] && { "$sim" cns vm1 start; return; }
	cns_double_start "$NODE" "$port" "$WORK" --port "$port" --count 6 "$@"
	local r=$?
	DPID[$port]=$CNS_DOUBLE_PID   # also when it did not become ready: stopped at exit
	return $r
}

dget() { ip netns exec "$NODE" curl -s "http://127.0.0.1:${2:-10090}$1"; }
mode() { ip netns exec "$NODE" curl -s -o /dev/null -X POST -d "{\"mode\":\"$1\"}" "http://127.0.0.1:${2:-10090}/test/mode"; }
# dpost PATH BODY: a raw request to the double (its strictness), status and body
dpost() { ip netns exec "$NODE" curl -s -w '\n%{http_code}' -X POST --data-binary "$2" "http://127.0.0.1:10090$1"; }
assigned() { dget /test/pool | jq -r --arg k "$1" '[.assigned | to_entries[] | select(.value == $k) | .key] | join(",")'; }
nfree() { dget /test/pool | jq '.free | length'; }
nreq() { dget /test/requests | jq length; }
lastreq() { dget /test/requests | jq -c '.[-1]'; }

pod() { ip netns add "${P}$1" && ip -n "${P}$1" link set lo up; }
nspath() { echo "/var/run/netns/${P}$1"; }
CNI_ARGS_OF() { echo "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-$1"; }

# run CMD CID NETNS-PATH: config in $CONF, CNI_ARGS from $ARGS (default: the pod's identity)
run() {
	CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=$3 CNI_IFNAME=eth0 \
		CNI_ARGS=${ARGS-$(CNI_ARGS_OF "$2")} \
		ip netns exec "$NODE" "$B/azure-vnet" <<<"$CONF"
}

jout() { [ -n "$2" ] && jqe "$1" <<<"$2"; }
eq() { [ "$1" = "$2" ]; }
absent() { ! "$@"; }
ping1() { ip netns exec "${P}$1" busybox ping -c1 -W2 "$2"; }
links() { ip -n "$NODE" -o link | grep -c ' azv'; }
pod_routes() { ip -n "$NODE" route | grep -c '^10\.241\.[0-9.]* dev azv'; }
# nothing of pod NAME left: no eth0 in it, no azv veth more than $1, no pod route more than $2
nothing_left() {
	! ip -n "${P}$1" link show eth0 2>/dev/null &&
		[ "$(links)" = "$2" ] &&
		[ "$(pod_routes)" = "$3" ]
}
records() { jq '[.Network.ExternalInterfaces[].Networks[].Endpoints // {} | length] | add // 0' "$RT/azure-vnet.json" 2>/dev/null || echo 0; }


# the shipped pod-subnet conflist's first plugin, at CNI 1.1.0 (GC is tested here)
CONF=$(jq -c '.plugins[0] + {cniVersion: "1.1.0", name}' "$top/linux/azure-linux-swift.conflist")

echo "== the double is as strict as CNS"
out=$(dpost /network/requestipconfigs '[1,2]')
check "double: a body that does not decode is 400" eq "$(tail -n1 <<<"$out")" 400
out=$(dpost /network/requestipconfigs '{"podInterfaceID":"x-eth0"}' | head -n1)
check "double: no orchestratorContext is ReturnCode 33" jout '.response.ReturnCode == 33 and .podIPInfo == null' "$out"
out=$(dpost /network/requestipconfigs '{"podInterfaceID":"","orchestratorContext":{"podName":"a","podNamespace":"b"}}' | head -n1)
check "double: an empty podInterfaceID is ReturnCode 34" jout '.response.ReturnCode == 34' "$out"
out=$(dpost /network/requestipconfigs '{"podInterfaceID":7,"orchestratorContext":{}}')
check "double: a field of the wrong type is 400" eq "$(tail -n1 <<<"$out")" 400
out=$(dpost /network/requestipconfigs 'null' | head -n1)
check "double: a null body decodes (Go leaves the struct empty): ReturnCode 33" jout '.response.ReturnCode == 33' "$out"
out=$(dpost /network/requestipconfigs '{"podInterfaceID":"","orchestratorContext":{}} trailing' | head -n1)
check "double: what follows the first JSON value is not read (Go's json.Decoder): ReturnCode 34" jout '.response.ReturnCode == 34' "$out"
check "double: nothing was handed out by those" eq "$(nfree)" 6

echo "== a data-plane failure after CNS gave the address"
pod p0
out=$(AZURE_CNI_IPTABLES=/bin/false run ADD c0aaaaaaaa0 "$(nspath p0)")
check "ADD with the network's SNAT failing: an error" jout '.code == 103' "$out"
check "the address CNS gave was released in CNS" eq "$(nfree)" 6
check "the release named the same pod interface" jout '.path == "/network/releaseipconfigs" and .body.podInterfaceID == "c0aaaaaa-eth0"' "$(lastreq)"
check "nothing left: no eth0 in the pod, no veth, no pod route" nothing_left p0 0 0
check "nothing left: no SNAT jump, no SWIFT chain" absent bash -c "ip netns exec $NODE iptables -t nat -S | grep -q 'AZURE-VNET-SNAT\|SWIFT'"
# iptables failing only SWIFT's IMDS rule (after the SNAT chain and SWIFT's DNS rules were made)
ipt=$(command -v iptables)
printf '#!/bin/sh\ncase " $* " in *" --dport 80 "*) echo "injected failure" >&2; exit 4;; esac\nexec %s "$@"\n' \
	"$ipt" >"$WORK/ipt-no-imds"
chmod +x "$WORK/ipt-no-imds"
out=$(AZURE_CNI_IPTABLES=$WORK/ipt-no-imds run ADD c0aaaaaaaa0 "$(nspath p0)")
check "ADD with SWIFT's IMDS rule failing: an error" jout '.code == 103' "$out"
check "its rollback leaves no SWIFT chain or rule, no SNAT jump, no pod; CNS got the address back" \
	bash -c "! ip netns exec $NODE iptables -t nat -S | grep -q 'AZURE-VNET-SNAT\|SWIFT' && [ \"\$(ip -n $NODE -o link | grep -c azv)\" = 0 ] && [ $(nfree) = 6 ]"
# the Go plugin's SWIFT chain, one of its rules (its own spelling, identical to ours) and its
# jump, appended, made before our network: a rollback takes out only what it added; a network
# made later puts our jump first, no rule twice
ip netns exec "$NODE" iptables -t nat -N SWIFT
ip netns exec "$NODE" iptables -t nat -I SWIFT 1 -m addrtype ! --dst-type local -s 10.241.0.0/16 \
	-d 168.63.129.16 -p udp --dport 53 -j SNAT --to 10.241.1.4
ip netns exec "$NODE" iptables -t nat -A POSTROUTING -j SWIFT
out=$(AZURE_CNI_IPTABLES=$WORK/ipt-no-imds run ADD c0aaaaaaaa0 "$(nspath p0)")
check "ADD with SWIFT's IMDS rule failing, the Go plugin's chain there: an error" jout '.code == 103' "$out"
go_swift_kept() {
	local t
	t=$(ip netns exec "$NODE" iptables -t nat -S)
	[ "$(grep -c -- '^-A SWIFT ' <<<"$t")" = 1 ] &&
		grep -qx -- "-A SWIFT -s 10.241.0.0/16 -d 168.63.129.16/32 -p udp -m addrtype ! --dst-type LOCAL -m udp --dport 53 -j SNAT --to-source 10.241.1.4" <<<"$t" &&
		[ "$(grep -c -- '^-A POSTROUTING -j SWIFT$' <<<"$t")" = 1 ] &&
		! grep -q AZURE-VNET-SNAT <<<"$t" && [ "$(nfree)" = 6 ]
}
check "its rollback took out only its own SWIFT rule (tcp 53): the Go plugin's identical udp 53 rule, chain and jump stay" go_swift_kept

# CNS knows the node by a primary IP that is not the NIC's first address: IMDS must see that one
# (HostPrimaryIPInfo.PrimaryIP, as the Go plugin's setHostOptions), the outbound SNAT the NIC's
ip -n "$NODE" addr add 10.240.0.5/16 dev eth0
hostip() { ip netns exec "$NODE" curl -s -o /dev/null -X POST -d "{\"PrimaryIP\":\"$1\"}" http://127.0.0.1:10090/test/host; }
hostip 10.240.0.5

echo "== ADD, from the default CNS URL"
pod p1
pod p2
r1=$(run ADD c1aaaaaaaa1 "$(nspath p1)")
check "ADD p1 exits 0" eq "$?" 0
ip1=$(jq -r '.ips[0].address' <<<"$r1" | cut -d/ -f1)
check "ADD p1: an address of the CNS pool with its prefix length ($ip1)" jout '.ips[0].address | test("^10\\.241\\.1\\.([5-9]|10)/16$")' "$r1"
check "ADD p1: CNS's gateway, default route via it" jout '.ips[0].gateway == "10.241.0.1" and .routes == [{"dst":"0.0.0.0/0","gw":"10.241.0.1"}]' "$r1"
check "CNS was asked with the pod's identity (IPConfigsRequest)" jout '.path == "/network/requestipconfigs" and .body.podInterfaceID == "c1aaaaaa-eth0" and .body.infraContainerID == "c1aaaaaaaa1" and .body.ifname == "eth0" and .body.orchestratorContext == {"podName":"pod-c1aaaaaaaa1","podNamespace":"default"} and .body.desiredIPAddresses == null' "$(lastreq)"
check "CNS holds p1's address for its interface" eq "$(assigned c1aaaaaa-eth0)" "$ip1"
r2=$(run ADD c2aaaaaaaa2 "$(nspath p2)")
ip2=$(jq -r '.ips[0].address' <<<"$r2" | cut -d/ -f1)
check "ADD p2: another address ($ip2)" jout "(.ips[0].address | startswith(\"10.241.1.\")) and .ips[0].address != \"$ip1/16\"" "$r2"
check "pod: the address with CNS's prefix" bash -c "ip -n ${P}p1 addr show eth0 | grep -q 'inet $ip1/16'"
check "pod: default via 169.254.1.1" bash -c "ip -n ${P}p1 route | grep -q 'default via 169.254.1.1 dev eth0'"
check "node: /32 route to the pod" bash -c "ip -n $NODE route show $ip1 | grep -q 'dev azv'"
check "ping pod -> pod" ping1 p1 "$ip2"
check "ping pod -> node" ping1 p1 10.240.0.4
check "ping pod -> vm2 (a VNet VM)" ping1 p1 10.240.0.11
check "ping pod -> fabric (SNAT to the node)" ping1 p1 10.240.0.1

echo "== Azure DNS and IMDS from the pod subnet (the Go plugin's SWIFT chain)"
FAB=${P}fabric
swift_rules() {
	local t
	t=$(ip netns exec "$NODE" iptables -t nat -S)
	grep -qx -- '-A POSTROUTING -j SWIFT' <<<"$(grep -- '^-A POSTROUTING' <<<"$t" | head -n1)" &&
		[ "$(grep -c -- '^-A POSTROUTING -j SWIFT$' <<<"$t")" = 1 ] &&
		[ "$(grep -c -- '^-A SWIFT ' <<<"$t")" = 3 ] &&
		grep -qx -- "-A SWIFT -s 10.241.0.0/16 -d 168.63.129.16/32 -p udp -m addrtype ! --dst-type LOCAL -m udp --dport 53 -j SNAT --to-source 10.241.1.4" <<<"$t" &&
		grep -qx -- "-A SWIFT -s 10.241.0.0/16 -d 168.63.129.16/32 -p tcp -m addrtype ! --dst-type LOCAL -m tcp --dport 53 -j SNAT --to-source 10.241.1.4" <<<"$t" &&
		grep -qx -- "-A SWIFT -s 10.241.0.0/16 -d 169.254.169.254/32 -p tcp -m addrtype ! --dst-type LOCAL -m tcp --dport 80 -j SNAT --to-source 10.240.0.5" <<<"$t"
}
check "node: nat SWIFT holds DNS (udp, tcp 53) to the NC primary, IMDS (tcp 80) to the node's primary IP CNS gave, once each (the Go plugin's rule made first too); POSTROUTING jumps there first, once (Go's appended jump moved)" swift_rules
seen_on() { DPORT=$1 seen_as "${@:2}"; } # PORT SERVER_NS CLIENT_NS DST WANT BIND
check "pod -> Azure DNS 168.63.129.16:53 (tcp): seen as the network container's primary IP 10.241.1.4" \
	seen_on 53 "$FAB" "${P}p1" 168.63.129.16 10.241.1.4 168.63.129.16
check "pod -> IMDS 169.254.169.254:80: seen as the node's primary IP CNS gave, 10.240.0.5 (not the NIC's first, 10.240.0.4)" \
	seen_on 80 "$FAB" "${P}p1" 169.254.169.254 10.240.0.5 169.254.169.254
check "pod -> another port of 168.63.129.16: seen as the node's primary IP (the outbound SNAT)" \
	seen_as "$FAB" "${P}p1" 168.63.129.16 10.240.0.4 168.63.129.16

echo "== repeated ADD"
n=$(nreq)
r1b=$(run ADD c1aaaaaaaa1 "$(nspath p1)")
same_ips() { [ -n "$1" ] && [ "$(jq -c .ips <<<"$1")" = "$(jq -c .ips <<<"$r1")" ] && [ "$(nreq)" = "$2" ]; }
check "repeated ADD of a live pod: same address, CNS not asked" same_ips "$r1b" "$n"
hv1=$(jq -r '.interfaces[0].name' <<<"$r1")
ip -n "$NODE" link del "$hv1"
r1c=$(run ADD c1aaaaaaaa1 "$(nspath p1)")
check "ADD after the pod's veth vanished: CNS asked again, same address" same_ips "$r1c" $((n + 1))
check "... and the pod works again" ping1 p1 "$ip2"
check "CNS still holds one address for p1" eq "$(assigned c1aaaaaa-eth0)" "$ip1"

n=$(nreq)
check "CHECK of a CNS pod: exit 0" run CHECK c1aaaaaaaa1 "$(nspath p1)"
out=$(run STATUS "" ""; echo "rc=$?")
check "STATUS: ready (exit 0, no output)" eq "$out" "rc=0"
check "CHECK and STATUS do not ask CNS" eq "$(nreq)" "$n"

echo "== DEL"
out=$(run DEL c2aaaaaaaa2 "$(nspath p2)"; echo "rc=$?")
check "DEL p2: exit 0" eq "$out" "rc=0"
check "DEL p2: the release named its interface and address" jout ".path == \"/network/releaseipconfigs\" and .body.podInterfaceID == \"c2aaaaaa-eth0\" and .body.desiredIPAddresses == [\"$ip2\"]" "$(lastreq)"
check "DEL p2: CNS's pool has the address free again" eq "$(assigned c2aaaaaa-eth0)" ""
check "DEL p2: no route to it on the node" absent bash -c "ip -n $NODE route | grep -q '^$ip2 '"
check "DEL p2 again: exit 0" run DEL c2aaaaaaaa2 "$(nspath p2)"
pod p3
r3=$(run ADD c3aaaaaaaa3 "$(nspath p3)")
mode notfound
check "DEL when CNS answers NotFound: exit 0" run DEL c3aaaaaaaa3 "$(nspath p3)"
check "... and the record is gone" eq "$(jq '[.. | objects | select(.ContainerID? == "c3aaaaaaaa3")] | length' "$RT/azure-vnet.json")" 0
mode ok
# the double kept it: a DEL without CNI_ARGS (runtimes send none on DEL) frees it
del_noargs() { ARGS='' run DEL c3aaaaaaaa3 "$(nspath p3)"; }
check "DEL without CNI_ARGS: exit 0" del_noargs
check "DEL without CNI_ARGS: released by its interface" jout '.path == "/network/releaseipconfigs" and .body.podInterfaceID == "c3aaaaaa-eth0" and .body.orchestratorContext == {"podName":"","podNamespace":""}' "$(lastreq)"
check "... freed" eq "$(assigned c3aaaaaa-eth0)" ""

echo "== container IDs sharing their first 8 characters"
# The Go plugin sends both the same podInterfaceID (<cid[:8]>-<ifname>), and CNS then answers
# the second pod with the first one's address. Ours is the endpoint ID: unique per owner.
pod s1
pod s2
rs1=$(run ADD sharedid-one "$(nspath s1)")
rs2=$(run ADD sharedid-two "$(nspath s2)")
ips1=$(jq -r '.ips[0].address' <<<"$rs1" | cut -d/ -f1)
ips2=$(jq -r '.ips[0].address' <<<"$rs2" | cut -d/ -f1)
two_keys() { [ "$(assigned sharedid-eth0)" = "$ips1" ] && [ "$(assigned sharedid-two:eth0)" = "$ips2" ] && [ "$ips1" != "$ips2" ]; }
check "shared prefix: two CNS keys, two addresses ($ips1, $ips2)" two_keys
jq 'del(.Network.ExternalInterfaces[].Networks[].Endpoints[] | select(.ContainerID == "sharedid-two"))' "$RT/azure-vnet.json" >"$WORK/st.json" && cat "$WORK/st.json" >"$RT/azure-vnet.json"
check "shared prefix: DEL of the second without its record exits 0" run DEL sharedid-two "$(nspath s2)"
first_kept() { [ "$(assigned sharedid-eth0)" = "$ips1" ] && [ -z "$(assigned sharedid-two:eth0)" ]; }
check "shared prefix: ... released its own key, not the first pod's" first_kept
check "shared prefix: DEL of the first exits 0 and frees its address" run DEL sharedid-one "$(nspath s1)"
check "shared prefix: ... freed" eq "$(assigned sharedid-eth0)" ""

echo "== CNS down, hung, refusing, answering garbage"
veths=$(links)
routes=$(pod_routes)
nrec=$(records)
stop_double 10090
pod p4
out=$(run ADD c4aaaaaaaa4 "$(nspath p4)")
check "CNS down: ADD is code 11 naming CNS" jout '.code == 11 and (.msg | test("CNS")) and (.msg | test("10090"))' "$out"
check "CNS down: nothing left in the pod or on the node" nothing_left p4 "$veths" "$routes"
check "CNS down: no record" eq "$(records)" "$nrec"
out=$(run DEL c1aaaaaaaa1 "$(nspath p1)")
check "CNS down: DEL is code 11 (the runtime retries)" jout '.code == 11 and (.msg | test("CNS"))' "$out"
check "CNS down: the DEL kept p1's record" eq "$(records)" "$nrec"
check "CNS down: the DEL removed p1's veth and route (the record finishes the release)" bash -c "! ip -n $NODE route | grep -q '^$ip1 '"
veths=$(links)
routes=$(pod_routes)
start_double 10090 || exit 1
check "CNS restarted: its pool still holds p1's address" eq "$(assigned c1aaaaaa-eth0)" "$ip1"
mode hang
out=$(AZURE_CNI_CNS_TIMEOUT_MS=1500 run ADD c4aaaaaaaa4 "$(nspath p4)")
check "CNS hung: ADD is code 11 naming CNS" jout '.code == 11 and (.msg | test("CNS"))' "$out"
check "CNS hung: nothing left" nothing_left p4 "$veths" "$routes"
mode ok
mode refuse
out=$(run ADD c4aaaaaaaa4 "$(nspath p4)")
check "CNS refusing (FailedToAllocateIpConfig): code 11 naming it" jout '.code == 11 and (.msg | test("FailedToAllocateIpConfig \\(32\\)"))' "$out"
check "CNS refusing: nothing left" nothing_left p4 "$veths" "$routes"
mode malformed
out=$(run ADD c4aaaaaaaa4 "$(nspath p4)")
check "CNS answer with a bad address: code 105 naming the field" jout '.code == 105 and (.msg | test("podIPInfo\\[0\\].PodIPConfig.IPAddress"))' "$out"
check "... the address CNS assigned was released" eq "$(assigned c4aaaaaa-eth0)" ""
check "... nothing left" nothing_left p4 "$veths" "$routes"
mode garbage
out=$(run ADD c4aaaaaaaa4 "$(nspath p4)")
check "CNS answer that is not JSON: code 105" jout '.code == 105 and (.msg | test("not a JSON object"))' "$out"
held_none() { nothing_left "$@" && [ -z "$(assigned c4aaaaaa-eth0)" ]; }
check "... nothing left, nothing held" held_none p4 "$veths" "$routes"
mode ok
# DEL while CNS hangs: code 11 within the bound, the record kept for the retry (CNS may still
# finish that release once it wakes: the retried DEL's release is then of an unknown interface)
mode hang
out=$(AZURE_CNI_CNS_TIMEOUT_MS=1500 run DEL c1aaaaaaaa1 "$(nspath p1)")
check "CNS hung during DEL: code 11 naming CNS" jout '.code == 11 and (.msg | test("CNS"))' "$out"
check "CNS hung during DEL: p1's record kept" eq "$(records)" "$nrec"
mode ok
# CNS dies mid-request after assigning and saving (a restart): code 11; restarted, it answers
# the retried ADD with the address it assigned then
mode crash
out=$(run ADD c4aaaaaaaa4 "$(nspath p4)")
check "CNS died mid-ADD after assigning: code 11 naming CNS" jout '.code == 11 and (.msg | test("CNS"))' "$out"
crashed=$(jq -r 'to_entries[] | select(.value.key == "c4aaaaaa-eth0") | .key' "$AZSIM_DIR/vm1/cns.json")
crash_left() { [ -n "$crashed" ] && nothing_left p4 "$veths" "$routes"; }
check "... nothing left on the node; CNS's saved pool holds an address for the pod (${crashed:-none})" crash_left
"$sim" cns vm1 stop >/dev/null 2>&1
start_double 10090 || exit 1
r4=$(run ADD c4aaaaaaaa4 "$(nspath p4)")
check "CNS restarted: the retried ADD gets the address CNS assigned before it died" \
	jout ".ips[0].address == \"$crashed/16\"" "$r4"
check "... DEL: exit 0" run DEL c4aaaaaaaa4 "$(nspath p4)"
check "... released in CNS" eq "$(assigned c4aaaaaa-eth0)" ""
hostip ""
out=$(run ADD c4aaaaaaaa4 "$(nspath p4)")
check "CNS answer without HostPrimaryIPInfo.PrimaryIP (pod subnets): code 105 naming it" jout '.code == 105 and (.msg | test("podIPInfo\\[0\\].HostPrimaryIPInfo.PrimaryIP is missing"))' "$out"
check "... nothing left, nothing held" held_none p4 "$veths" "$routes"
hostip 10.240.0.5
# hostile answers (the double assigns, then answers with this podIPInfo): a CNI error naming the
# field (never a crash: exit 1 with JSON), nothing made, the assignment released
hostile() { # DESC PODIPINFO-JSON FIELD-REGEX
	local o hrc hf=$3  # not "rc": check's own local would hide it from hostile_out
	ip netns exec "$NODE" curl -s -o /dev/null -X POST -d "{\"podIPInfo\": $2}" http://127.0.0.1:10090/test/answer
	o=$(run ADD c4aaaaaaaa4 "$(nspath p4)")
	hrc=$?
	mode ok
	hostile_out() { [ "$hrc" = 1 ] && jq -e --arg f "$hf" '.code == 105 and (.msg | test($f))' <<<"$o" >/dev/null; }
	check "hostile CNS, $1: exit 1, code 105 naming $3" hostile_out
	check "hostile CNS, $1: nothing left, nothing held" held_none p4 "$veths" "$routes"
}
pi() { jq -c "$1" <<<'[{"PodIPConfig":{"IPAddress":"10.241.1.9","PrefixLength":16},"NetworkContainerPrimaryIPConfig":{"IPSubnet":{"IPAddress":"10.241.1.4","PrefixLength":16},"GatewayIPAddress":"10.241.0.1"},"HostPrimaryIPInfo":{"PrimaryIP":"10.240.0.5","Gateway":"10.240.0.1","Subnet":"10.240.0.0/16"},"NICType":"InfraNIC"}]'; }
hostile "a prefix length string" "$(pi '.[0].PodIPConfig.PrefixLength = "16"')" 'PodIPConfig.PrefixLength'
hostile "a prefix length of 4096" "$(pi '.[0].NetworkContainerPrimaryIPConfig.IPSubnet.PrefixLength = 4096')" 'IPSubnet.PrefixLength'
hostile "an IPv6 gateway for an IPv4 pod" "$(pi '.[0].NetworkContainerPrimaryIPConfig.GatewayIPAddress = "fd00::1"')" 'GatewayIPAddress'
hostile "no pod address" "$(pi 'del(.[0].PodIPConfig)')" 'PodIPConfig.IPAddress is missing'
hostile "a loopback pod address" "$(pi '.[0].PodIPConfig.IPAddress = "127.0.0.2"')" 'PodIPConfig.IPAddress'
hostile "routes that are not an array" "$(pi '.[0].Routes = {"a":1}')" 'Routes'
check "DEL of p1 once CNS is back: exit 0" run DEL c1aaaaaaaa1 "$(nspath p1)"
check "... CNS freed p1's address" eq "$(assigned c1aaaaaa-eth0)" ""

echo "== a CNS without the plural API (HTTP 404)"
mode old
r4=$(run ADD c4aaaaaaaa4 "$(nspath p4)")
check "old CNS: ADD exits 0 through /network/requestipconfig" jout '.ips[0].address | startswith("10.241.1.")' "$r4"
check "old CNS: IPConfigRequest field names" jout '.path == "/network/requestipconfig" and .body.PodInterfaceID == "c4aaaaaa-eth0" and .body.InfraContainerID == "c4aaaaaaaa4" and .body.OrchestratorContext.podName == "pod-c4aaaaaaaa4"' "$(lastreq)"
check "old CNS: DEL through /network/releaseipconfig" run DEL c4aaaaaaaa4 "$(nspath p4)"
old_released() { [ -z "$(assigned c4aaaaaa-eth0)" ] && jout '.path == "/network/releaseipconfig"' "$(lastreq)"; }
check "old CNS: released" old_released
mode ok

echo "== cnsurl"
start_double 10091 --first 10.242.0.4 --subnet 10.242.0.0/16 --gateway 10.242.0.1 || exit 1
pod p5
CONF5=${CONF/\"ipam\"/\"cnsurl\":\"http:\/\/127.0.0.1:10091\/ignored\/path\",\"ipam\"}
r5=$(CONF=$CONF5 run ADD c5aaaaaaaa5 "$(nspath p5)")
check "cnsurl: the address comes from that CNS" jout '(.ips[0].address | test("^10\\.242\\.0\\.[4-9]/16$")) and .ips[0].gateway == "10.242.0.1"' "$r5"
del5() { CONF=$CONF5 run DEL c5aaaaaaaa5 "$(nspath p5)" && [ "$(dget /test/pool 10091 | jq '.free | length')" = 6 ]; }
check "cnsurl: DEL releases there" del5
stop_double 10091

echo "== GC"
r6=$(run ADD c6aaaaaaaa6 "$(nspath p4)")
ip6=$(jq -r '.ips[0].address' <<<"$r6" | cut -d/ -f1)
GCCONF=${CONF/\"ipam\"/\"cni.dev\/valid-attachments\":[],\"ipam\"}
out=$(CONF=$GCCONF run GC "" ""; echo "rc=$?")
check "GC with no valid attachment: exit 0" eq "$out" "rc=0"
check "GC released the stale pod's address in CNS" eq "$(assigned c6aaaaaa-eth0)" ""
gc_gone() { [ "$(records)" = 0 ] && ! ip -n "$NODE" route | grep -q "^$ip6 "; }
check "GC removed its record and route" gc_gone

# an ADD killed after its endpoint was made, before its record was saved: an orphan GC traces
# by the veth's owner tag, and whose address it releases in CNS by the Go ID the ADD asked with
AZURE_CNI_FAULT_LOG=$WORK/steps run ADD c8aaaaaaaa8 "$(nspath p4)" >/dev/null
run DEL c8aaaaaaaa8 "$(nspath p4)" >/dev/null
step=$(awk '$2 == "ADD" && $3 == "endpoint" {print $1; exit}' "$WORK/steps")
AZURE_CNI_FAULT_KILL_AT=$step run ADD c8aaaaaaaa8 "$(nspath p4)" >/dev/null 2>&1
killed_left() { [ -n "$(assigned c8aaaaaa-eth0)" ] && [ "$(links)" = 1 ] && [ "$(records)" = 0 ]; }
check "killed ADD: CNS holds its address, its veth is left, no record" killed_left
out=$(CONF=$GCCONF run GC "" ""; echo "rc=$?")
check "GC of the orphan: exit 0" eq "$out" "rc=0"
check "GC of the orphan: its address released in CNS" eq "$(assigned c8aaaaaa-eth0)" ""
check "GC of the orphan: its veth gone" eq "$(links)" 0

echo "== killed at every step of ADD and of DEL, then retried"
# AZURE_CNI_FAULT_KILL_AT=N kills the call at its Nth step (platform_fault_point), as an OOM kill
# would: a retried ADD gets the address CNS holds for the pod, a DEL after it (or after a killed
# DEL) leaves nothing on the node and nothing held in CNS
pod k1
base="$(links) $(pod_routes) $(records) $(nfree)"
kcid=k1aaaaaaaa1
kadd() { run ADD $kcid "$(nspath k1)"; }
kdel() { run DEL $kcid "$(nspath k1)"; }
all_clean() {
	[ "$(links) $(pod_routes) $(records) $(nfree)" = "$base" ] && [ -z "$(assigned k1aaaaaa-eth0)" ] &&
		! ip -n "${P}k1" link show eth0 >/dev/null 2>&1
}
rm -f "$WORK/ksteps" "$WORK/kdsteps"
AZURE_CNI_FAULT_LOG=$WORK/ksteps kadd >/dev/null
AZURE_CNI_FAULT_LOG=$WORK/kdsteps kdel >/dev/null
# retried: the retried ADD got an address, the one CNS held before it (if any), and CNS holds
# exactly that one for the pod; done: the last call exited 0 and left nothing
retried() { [ -n "$got" ] && { [ -z "$held" ] || [ "$held" = "$got" ]; } && [ "$(assigned k1aaaaaa-eth0)" = "$got" ]; }
done_clean() { [ "$(tail -n1 <<<"$out")" = rc=0 ] && all_clean; }
for ((k = 1; k <= $(wc -l <"$WORK/ksteps"); k++)); do
	what=$(sed -n "${k}p" "$WORK/ksteps" | cut -d' ' -f2-)
	AZURE_CNI_FAULT_KILL_AT=$k kadd >/dev/null 2>&1
	held=$(assigned k1aaaaaa-eth0)
	got=$(kadd | jq -r '.ips[0].address // empty' | cut -d/ -f1)
	check "ADD killed at step $k ($what), ADD again: the address CNS holds (${held:-none yet}; got ${got:-none})" retried
	kdel >/dev/null
	AZURE_CNI_FAULT_KILL_AT=$k kadd >/dev/null 2>&1
	out=$(kdel; echo "rc=$?")
	check "ADD killed at step $k ($what), then DEL: exit 0, nothing left, nothing held in CNS" done_clean
done
for ((k = 1; k <= $(wc -l <"$WORK/kdsteps"); k++)); do
	what=$(sed -n "${k}p" "$WORK/kdsteps" | cut -d' ' -f2-)
	kadd >/dev/null
	AZURE_CNI_FAULT_KILL_AT=$k kdel >/dev/null 2>&1
	out=$(kdel; echo "rc=$?")
	check "DEL killed at step $k ($what), DEL again: exit 0, nothing left, nothing held in CNS" done_clean
done

echo "== bad input: a clear error, CNS not asked, nothing made"
n=$(nreq)
out=$(ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default" run ADD c7aaaaaaaa7 "$(nspath p4)")
check "no K8S_POD_NAME: code 4 naming it" jout '.code == 4 and (.msg | test("K8S_POD_NAME"))' "$out"
out=$(CONF=${CONF/\"azure-cns\"/\"azure-cns\",\"mode\":\"overlay1\"} run ADD c7aaaaaaaa7 "$(nspath p4)")
check "ipam.mode overlay1: code 7 naming ipam.mode" jout '.code == 7 and (.msg | test("ipam.mode"))' "$out"
out=$(CONF=${CONF/transparent/bridge} run ADD c7aaaaaaaa7 "$(nspath p4)")
check "bridge mode with azure-cns: code 7 naming mode and ipam.type" jout '.code == 7 and (.msg | test("mode")) and (.msg | test("azure-cns"))' "$out"
out=$(CONF=${CONF/\"ipam\"/\"cnsurl\":\"ftp:\/\/x\",\"ipam\"} run ADD c7aaaaaaaa7 "$(nspath p4)")
check "cnsurl ftp://x: code 7 naming cnsurl" jout '.code == 7 and (.msg | test("cnsurl"))' "$out"
check "bad input: CNS was not asked" eq "$(nreq)" "$n"
check "bad input: nothing made" nothing_left p4 0 0

echo "== cnitool with the shipped pod-subnet conflist, pods on two VMs"
cns_cnitool

suite_end
