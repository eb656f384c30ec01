#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# azure-vnet data-plane tests, all inside network namespaces this script creates and removes
# (prefix "vnt-"): a "node" netns with eth0 10.240.0.4/16 (a veth whose peer sits in a "fabric"
# netns holding 10.240.0.1) and a default route, pods as netns. iptables/ebtables run only inside
# the node netns. Covers transparent and bridge mode, SNAT once per network, repeated ADD, CHECK,
# GC, delegated IPAM, bad input, every state a first bridge ADD killed while making the bridge
# leaves, and cases B01 B03 B04 B08 B15 of ../shared/cases/bug-cases.md.
# Usage: tests/linux/plugin.sh [build-dir]   (default build). Root only. Exit 1 on any failure.
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

P=vnt$$-
WORK=$(mktemp -d /tmp/vnt-test.XXXXXX)

cleanup() {
	local n
	for n in $(ip netns list | awk '{print $1}' | grep "^$P"); do
		ip netns del "$n" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

# check DESC CMD...: CMD's status decides; its output (stdout and stderr) is not shown
SUITE_ERRLOG=/dev/null
suite_begin "$WORK/results"

# mas interfaces.json with secondaries .5 .. .(4+n)
mas() {
	local n=$1 i addrs=""
	for i in $(seq 5 $((4 + n))); do
		addrs="$addrs,{\"Address\":\"10.240.0.$i\",\"IsPrimary\":false}"
	done
	cat >"$RT/interfaces.json" <<EOF
{"Interfaces":[{"MacAddress":"000D3A6E1825","IsPrimary":true,"IPSubnets":[{"Prefix":"10.240.0.0/16","IPAddresses":[{"Address":"10.240.0.4","IsPrimary":true}$addrs]}]}]}
EOF
}

# fresh node: new runtime dir, node + fabric netns. $1 = number of secondaries.
NODE=
setup_node() {
	local tag=$1 n=${2:-4}
	NODE=${P}node-$tag
	FAB=${P}fab-$tag
	RT=$WORK/rt-$tag
	mkdir -p "$RT"
	mas "$n"
	export AZURE_CNI_RUNTIME_DIR=$RT AZURE_CNI_LOG_DIR=$RT AZURE_CNI_MAS_FILE=$RT/interfaces.json
	export CNI_PATH=$B:/usr/lib/cni:/opt/cni/bin
	ip netns add "$NODE"
	ip netns add "$FAB"
	ip -n "$NODE" link set lo up
	ip -n "$NODE" link add eth0 address 00:0d:3a:6e:18:25 type veth peer name fab0 netns "$FAB"
	ip -n "$FAB" addr add 10.240.0.1/16 dev fab0
	ip -n "$FAB" link set fab0 up
	ip -n "$NODE" addr add 10.240.0.4/16 dev eth0
	ip -n "$NODE" link set eth0 up
	ip -n "$NODE" route add default via 10.240.0.1
}

pod() { ip netns add "${P}$1" && ip -n "${P}$1" link set lo up; }
nspath() { echo "/var/run/netns/${P}$1"; }

# run CMD CID NETNS-PATH [ifname]: config in $CONF; stdout to stdout
run() {
	CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=$3 CNI_IFNAME=${4:-eth0} \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-$2" \
		ip netns exec "$NODE" "$B/azure-vnet" <<<"$CONF"
}

inuse() { jq '[.IPAM.AddressSpaces.local.Pools[].Addresses[] | select(.InUse)] | length' "$RT/azure-vnet-ipam.json"; }
in_node() { ip netns exec "$NODE" "$@"; }
ping1() { ip netns exec "${P}$1" busybox ping -c1 -W2 "$2"; }
is_error() { jout '.code > 0 and (.msg | length > 0)' "$1"; }
# jout FILTER TEXT: jq -e FILTER on TEXT, failing on empty TEXT (jq -e alone passes on no input)
jout() { [ -n "$2" ] && jqe "$1" <<<"$2"; }
eq() { [ "$1" = "$2" ]; }
absent() { ! "$@"; }
ebt_has0() { in_node ebtables -t nat -L PREROUTING | grep -- "$1 " >/dev/null; }

TRANSPARENT='{"cniVersion":"0.4.0","name":"azure","type":"azure-vnet","mode":"transparent","ipsToRouteViaHost":["169.254.20.10"],"ipam":{"type":"azure-vnet-ipam","environment":"mas"}}'
BRIDGE='{"cniVersion":"1.0.0","name":"azure","type":"azure-vnet","mode":"bridge","bridge":"azure0","ipam":{"type":"azure-vnet-ipam","environment":"mas"}}'

# ---------------------------------------------------------------- transparent
echo "== transparent mode"
setup_node t 4
CONF=$TRANSPARENT
pod p1
pod p2
r1=$(run ADD c1aaaaaaaa1 "$(nspath p1)")
check "ADD p1 exits 0" eq "$?" 0
r2=$(run ADD c2aaaaaaaa2 "$(nspath p2)")
ip1=$(jq -r '.ips[0].address' <<<"$r1" | cut -d/ -f1)
ip2=$(jq -r '.ips[0].address' <<<"$r2" | cut -d/ -f1)
hv1=$(jq -r '.interfaces[0].name' <<<"$r1")
check "ADD p2 gets another IP ($ip1, $ip2)" [ -n "$ip2" ] && [ "$ip1" != "$ip2" ] && [ "$ip2" != null ]
check "primary IP .4 never handed out" [ "$ip1" != 10.240.0.4 ] && [ "$ip2" != 10.240.0.4 ]
check "result: host veth azv+11 hex with aa:aa:aa:aa:aa:aa" jqe '.interfaces[0].name | test("^azv[0-9a-f]{11}$")' <<<"$r1"
check "result: host veth MAC" jqe '.interfaces[0].mac == "aa:aa:aa:aa:aa:aa" and (.interfaces[0].sandbox // "") == ""' <<<"$r1"
check "result: eth0 with mac and sandbox" jqe --arg s "$(nspath p1)" '.interfaces[1].name == "eth0" and (.interfaces[1].mac | length == 17) and .interfaces[1].sandbox == $s' <<<"$r1"
check "result: ips interface 1, IPAM gateway, version 0.4.0" jqe '.ips[0].interface == 1 and .ips[0].gateway == "10.240.0.1" and .cniVersion == "0.4.0"' <<<"$r1"
check "host veth MAC is aa:aa:aa:aa:aa:aa" bash -c "ip -n $NODE link show $hv1 | grep -q 'link/ether aa:aa:aa:aa:aa:aa'"
check "host veth MTU = eth0 MTU" eq "$(ip -n "$NODE" -j link show "$hv1" | jq .[0].mtu)" "$(ip -n "$NODE" -j link show eth0 | jq .[0].mtu)"
check "pod eth0 MTU = eth0 MTU" eq "$(ip -n "${P}p1" -j link show eth0 | jq .[0].mtu)" "$(ip -n "$NODE" -j link show eth0 | jq .[0].mtu)"
check "host /32 route to the pod" bash -c "ip -n $NODE route show $ip1 | grep -q 'dev $hv1'"
check "proxy_arp=1 on the host veth" eq "$(in_node cat /proc/sys/net/ipv4/conf/$hv1/proxy_arp)" 1
check "proxy_arp on the host veth only, not node-wide" eq "$(in_node cat /proc/sys/net/ipv4/conf/all/proxy_arp /proc/sys/net/ipv4/conf/default/proxy_arp /proc/sys/net/ipv4/conf/eth0/proxy_arp | tr -d '\n')" 000
check "host veth: accept_ra=0, accept_dad=0 (the Go plugin's)" eq "$(in_node cat /proc/sys/net/ipv6/conf/$hv1/accept_ra /proc/sys/net/ipv6/conf/$hv1/accept_dad | tr -d '\n')" 00
check "pod eth0 (transparent): accept_ra as the kernel set it (no /proc/sys write in the pod)" eq "$(ip netns exec "${P}p1" cat /proc/sys/net/ipv6/conf/eth0/accept_ra)" "$(ip netns exec "${P}p1" cat /proc/sys/net/ipv6/conf/default/accept_ra)"
check "ip_forward=1 on the node" eq "$(in_node cat /proc/sys/net/ipv4/ip_forward)" 1
check "pod: address with prefix" bash -c "ip -n ${P}p1 addr show eth0 | grep -q 'inet $ip1/16'"
check "pod: no kernel subnet route" absent bash -c "ip -n ${P}p1 route | grep -q '10.240.0.0/16'"
check "pod: 169.254.1.1 link route" bash -c "ip -n ${P}p1 route | grep -q '169.254.1.1 dev eth0 scope link'"
check "pod: default via 169.254.1.1" bash -c "ip -n ${P}p1 route | grep -q 'default via 169.254.1.1 dev eth0'"
check "pod: ipsToRouteViaHost 169.254.20.10 via host" bash -c "ip -n ${P}p1 route | grep -q '169.254.20.10 via 169.254.1.1'"
check "pod: PERMANENT neighbour 169.254.1.1 -> aa:aa:.." bash -c "ip -n ${P}p1 neigh show 169.254.1.1 | grep -q 'aa:aa:aa:aa:aa:aa PERMANENT'"
check "ping pod -> pod on the node" ping1 p1 "$ip2"
check "ping pod -> node primary IP" ping1 p1 10.240.0.4
check "SNAT: one jump from nat POSTROUTING" eq "$(in_node iptables -t nat -S POSTROUTING | grep -c AZURE-VNET-SNAT)" 1
check "SNAT: to the primary IP, after the VNet RETURN" bash -c "ip netns exec $NODE iptables -t nat -S AZURE-VNET-SNAT | tr '\n' ' ' | grep -q -- '-d 10.240.0.0/16 -j RETURN -A AZURE-VNET-SNAT -j SNAT --to-source 10.240.0.4'"
check "state file parses, 2 endpoints, Go keys" eq "$(jq '.Network.ExternalInterfaces.eth0.Networks.azure.Endpoints | length' "$RT/azure-vnet.json")" 2
check "state endpoint ID <cid[:8]>-eth0, base64 mask" jqe '.Network.ExternalInterfaces.eth0.Networks.azure.Endpoints["c1aaaaaa-eth0"].IPAddresses[0].Mask == "//8AAA=="' "$RT/azure-vnet.json"
check "CHECK healthy: exit 0, no output" eq "$(run CHECK c1aaaaaaaa1 "$(nspath p1)"; echo "rc=$?")" "rc=0"
# repeated ADD: same result, nothing re-created, SNAT not re-run (rule still once)
r1b=$(run ADD c1aaaaaaaa1 "$(nspath p1)")
check "repeated ADD: exit 0, same IP and MACs" eq "$(jq -c '[.ips, .interfaces]' <<<"$r1b")" "$(jq -c '[.ips, .interfaces]' <<<"$r1")"
check "repeated ADD: one host veth for p1" eq "$(ip -n "$NODE" -o link | grep -c "$hv1")" 1
check "repeated ADD: still 2 IPs in use" eq "$(inuse)" 2
check "SNAT still once after 3 ADDs" eq "$(in_node iptables -t nat -S POSTROUTING | grep -c AZURE-VNET-SNAT)" 1
# CHECK finds a missing SNAT rule
in_node iptables -t nat -F AZURE-VNET-SNAT
out=$(run CHECK c1aaaaaaaa1 "$(nspath p1)")
check "CHECK reports the missing SNAT rule (106)" jout '.code == 106 and (.msg | test("SNAT"))' "$out"
in_node iptables -t nat -A AZURE-VNET-SNAT -d 10.240.0.0/16 -j RETURN
in_node iptables -t nat -A AZURE-VNET-SNAT -j SNAT --to-source 10.240.0.4
check "CHECK healthy again once the rule is back" run CHECK c1aaaaaaaa1 "$(nspath p1)"
# CHECK finds a missing neighbour
in_node true
ip -n "${P}p2" neigh del 169.254.1.1 dev eth0
out=$(run CHECK c2aaaaaaaa2 "$(nspath p2)")
check "CHECK reports the missing neighbour (106)" jout '.code == 106 and (.msg | test("neighbour"))' "$out"
# DEL
hv2=$(jq -r '.interfaces[0].name' <<<"$r2")
out=$(run DEL c2aaaaaaaa2 "$(nspath p2)"; echo "rc=$?")
check "DEL p2: exit 0, no output" eq "$out" "rc=0"
check "DEL p2: host veth gone" absent ip -n "$NODE" link show "$hv2"
check "DEL p2: host route gone" absent bash -c "ip -n $NODE route | grep -q '^$ip2 '"
check "DEL p2: eth0 gone from the pod" absent ip -n "${P}p2" link show eth0
check "DEL p2: IP released" eq "$(inuse)" 1
check "DEL p2 again: exit 0" run DEL c2aaaaaaaa2 "$(nspath p2)"
check "DEL of a never-added container: exit 0" run DEL c9aaaaaaaa9 ""

# Container IDs sharing their first 8 characters (cnitool-..., default-...) share the Go-style
# endpoint ID: each owner must keep its own record, and DEL of one must not touch the other.
pod s1
pod s2
rs1=$(run ADD sharedid-one "$(nspath s1)")
rs2=$(run ADD sharedid-two "$(nspath s2)")
hs1=$(jq -r '.interfaces[0].name' <<<"$rs1")
hs2=$(jq -r '.interfaces[0].name' <<<"$rs2")
check "shared cid prefix: both ADDs succeed with distinct IPs" jqe --argjson b "$rs2" '.ips[0].address != $b.ips[0].address' <<<"$rs1"
check "shared cid prefix: two endpoint records" eq "$(jq '[.Network.ExternalInterfaces.eth0.Networks.azure.Endpoints[] | select(.ContainerID | startswith("sharedid"))] | length' "$RT/azure-vnet.json")" 2
check "shared cid prefix: DEL of the first exits 0" run DEL sharedid-one "$(nspath s1)"
check "shared cid prefix: first host veth gone" absent ip -n "$NODE" link show "$hs1"
check "shared cid prefix: second host veth kept" ip -n "$NODE" link show "$hs2"
check "shared cid prefix: CHECK of the second still healthy" run CHECK sharedid-two "$(nspath s2)"
check "shared cid prefix: DEL of the second exits 0" run DEL sharedid-two "$(nspath s2)"
check "shared cid prefix: no record left" eq "$(jq '[.Network.ExternalInterfaces.eth0.Networks.azure.Endpoints[] | select(.ContainerID | startswith("sharedid"))] | length' "$RT/azure-vnet.json")" 0
ip netns del "${P}s1"; ip netns del "${P}s2"

# Per-owner lock files (<runtime>/azure-vnet/<sha1 of "cid/ifname">.lock): DEL removes its own,
# so they do not pile up; only the global locks and those of owners still attached remain.
ownerlock() { echo "$RT/azure-vnet/$(printf '%s/%s' "$1" "${2:-eth0}" | sha1sum | cut -c1-40).lock"; }
check "owner lock: an attached owner's lock file exists (ADD keeps it)" test -f "$(ownerlock c1aaaaaaaa1)"
check "owner lock: DEL removed the owner's lock file (p2)" absent test -e "$(ownerlock c2aaaaaaaa2)"
check "owner lock: DEL of a never-added container leaves no lock file" absent test -e "$(ownerlock c9aaaaaaaa9)"
pod l1
cyc_ok=true
for i in $(seq 1 20); do
	run ADD "lockcyc$i" "$(nspath l1)" >/dev/null || cyc_ok=false
	run DEL "lockcyc$i" "$(nspath l1)" >/dev/null || cyc_ok=false
done
ip netns del "${P}l1"
check "owner lock: 20 ADD/DEL cycles succeed" $cyc_ok
want=$(printf '%s\n' azure-vnet-ipam.lock azure-vnet.lock "$(basename "$(ownerlock c1aaaaaaaa1)")" | sort)
got=$(ls "$RT/azure-vnet" | sort)
check "owner lock: after 20 cycles only the global locks and the attached owner's remain" eq "$got" "$want"

# ---------------------------------------------------------------- same-owner race
# A runtime retrying ADD while the first is still running: two ADDs of one container at once.
# Each round: both succeed with the same IP, or one fails with an error object; never a pod
# without its IP, an IP released under a live pod, or two records.
echo "== two parallel ADDs of the same container (10 rounds)"
setup_node race 4
CONF=$TRANSPARENT
race_ok=true
race_why=
for i in $(seq 1 10); do
	pod "w$i"
	run ADD "race${i}aaaaaa" "$(nspath "w$i")" >"$WORK/race-a.out" 2>/dev/null &
	pa=$!
	run ADD "race${i}aaaaaa" "$(nspath "w$i")" >"$WORK/race-b.out" 2>/dev/null &
	pb=$!
	wait $pa; ra=$?
	wait $pb; rb=$?
	ipa=$(jq -r '.ips[0].address // empty' "$WORK/race-a.out" 2>/dev/null | cut -d/ -f1)
	ipb=$(jq -r '.ips[0].address // empty' "$WORK/race-b.out" 2>/dev/null | cut -d/ -f1)
	good=$ipa
	[ -n "${RACE_DEBUG:-}" ] && echo "round $i: $ra $rb $(jq -c '.msg // .ips[0].address' "$WORK/race-a.out" "$WORK/race-b.out" | tr '\n' ' ')"
	if [ $ra -eq 0 ] && [ $rb -eq 0 ]; then
		[ -n "$ipa" ] && [ "$ipa" = "$ipb" ] || { race_ok=false; race_why="$race_why r$i:different-ips"; }
	elif [ $ra -eq 0 ]; then
		is_error "$(cat "$WORK/race-b.out")" >/dev/null || { race_ok=false; race_why="$race_why r$i:b-no-error"; }
	elif [ $rb -eq 0 ]; then
		good=$ipb
		is_error "$(cat "$WORK/race-a.out")" >/dev/null || { race_ok=false; race_why="$race_why r$i:a-no-error"; }
	else
		race_ok=false; race_why="$race_why r$i:both-failed"
	fi
	[ "$(inuse)" = 1 ] || { race_ok=false; race_why="$race_why r$i:inuse=$(inuse)"; }
	ip -n "${P}w$i" addr show eth0 2>/dev/null | grep "inet $good/" >/dev/null || { race_ok=false; race_why="$race_why r$i:pod-lost-ip"; }
	[ "$(jq --arg c "race${i}aaaaaa" '[.Network.ExternalInterfaces.eth0.Networks.azure.Endpoints[] | select(.ContainerID == $c)] | length' "$RT/azure-vnet.json")" = 1 ] || { race_ok=false; race_why="$race_why r$i:records"; }
	run CHECK "race${i}aaaaaa" "$(nspath "w$i")" >/dev/null || { race_ok=false; race_why="$race_why r$i:check"; }
	run DEL "race${i}aaaaaa" "$(nspath "w$i")" >/dev/null
	ip netns del "${P}w$i"
done
[ -z "$race_why" ] || echo "  race failures:$race_why"
check "same-owner parallel ADDs: same IP or a clear error; InUse 1, pod has its IP, one record" $race_ok
check "same-owner parallel ADDs: InUse 0 after the DELs" eq "$(inuse)" 0

# ---------------------------------------------------------------- B15 prevResult/runtimeConfig
echo "== B15 chained prevResult, runtimeConfig, capabilities"
pod p3
CONF='{"cniVersion":"1.1.0","name":"azure","type":"azure-vnet","mode":"transparent","capabilities":{"portMappings":true,"dns":true},"runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}],"dns":{"servers":["10.0.0.10"],"searches":["svc.cluster.local"]}},"ipam":{"type":"azure-vnet-ipam","environment":"mas"}}'
r3=$(run ADD c3aaaaaaaa3 "$(nspath p3)")
check "ADD with runtimeConfig+capabilities (1.1.0)" jqe '.ips[0].address and (has("version") | not)' <<<"$r3"
check "result dns from runtimeConfig.dns" jqe '.dns.nameservers == ["10.0.0.10"] and .dns.search == ["svc.cluster.local"]' <<<"$r3"
CONF=$(jq -c --argjson p "$r3" '. + {prevResult: $p}' <<<"$CONF")
out=$(run CHECK c3aaaaaaaa3 "$(nspath p3)"; echo "rc=$?")
check "CHECK with prevResult: exit 0 silently" eq "$out" "rc=0"
ip3=$(jq -r '.ips[0].address' <<<"$r3" | cut -d/ -f1)
ip -n "${P}p3" addr flush dev eth0
out=$(run CHECK c3aaaaaaaa3 "$(nspath p3)")
check "CHECK after 'ip addr flush' fails (106, names the address)" jout ".code == 106 and (.msg | contains(\"$ip3\"))" "$out"
out=$(run DEL c3aaaaaaaa3 "$(nspath p3)"; echo "rc=$?")
check "DEL with prevResult: exit 0, no output" eq "$out" "rc=0"
CONF=$TRANSPARENT

# ---------------------------------------------------------------- DEL vs config errors of ADD
# A config error in what only ADD uses (AdditionalArgs, runtimeConfig) must not keep DEL from
# cleaning up: the runtime would retry the DEL forever and the IP would leak.
echo "== DEL with a config error only ADD cares about"
pod d7
inuse0=$(inuse)
for bad in '.runtimeConfig = {portMappings: [{hostPort: 70000, containerPort: 80, protocol: "tcp"}]}' \
	   '.AdditionalArgs = [{Name: "EndpointPolicy", Value: "not-an-object"}]'; do
	BADCONF=$(jq -c "$bad" <<<"$TRANSPARENT")
	out=$(CONF=$BADCONF run ADD cd7aaaaaaa7 "$(nspath d7)")
	check "ADD with a config error ($bad): code 7 naming the field" jout '.code == 7 and (.msg | test("portMappings|AdditionalArgs"))' "$out"
	check "... and it took no IP" eq "$(inuse)" "$inuse0"
	rd7=$(run ADD cd7aaaaaaa7 "$(nspath d7)")
	check "ADD with the good config: an IP" jqe '.ips[0].address' <<<"$rd7"
	check "... in use" eq "$(inuse)" "$((inuse0 + 1))"
	out=$(CONF=$BADCONF run DEL cd7aaaaaaa7 "$(nspath d7)"; echo "rc=$?")
	check "DEL with that config error: exit 0, no output" eq "$out" "rc=0"
	check "... the IP is released" eq "$(inuse)" "$inuse0"
	check "... the endpoint record is gone" absent jqe '.Network.ExternalInterfaces.eth0.Networks.azure.Endpoints["cd7aaaaa-eth0"]' "$RT/azure-vnet.json"
	check "... the pod has no eth0 left" absent ip -n "${P}d7" link show eth0
done
ip netns del "${P}d7"

# ---------------------------------------------------------------- B04 netns gone
echo "== B04 DEL with an empty or missing netns"
pod p4
r4=$(run ADD c4aaaaaaaa4 "$(nspath p4)")
hv4=$(jq -r '.interfaces[0].name' <<<"$r4")
ip4=$(jq -r '.ips[0].address' <<<"$r4" | cut -d/ -f1)
before=$(inuse)
ip netns del "${P}p4"
check "DEL with CNI_NETNS=\"\": exit 0" run DEL c4aaaaaaaa4 ""
check "DEL with a missing netns path: exit 0" run DEL c4aaaaaaaa4 /var/run/netns/nope
check "B04: IP freed" eq "$(inuse)" $((before - 1))
check "B04: host veth and route gone" absent bash -c "ip -n $NODE link show $hv4 || ip -n $NODE route | grep -q '^$ip4 '"
out=$(CNI_COMMAND=ADD CNI_CONTAINERID=c5aaaaaaaa5 CNI_IFNAME=eth0 ip netns exec "$NODE" env -u CNI_NETNS "$B/azure-vnet" <<<"$CONF")
check "ADD without CNI_NETNS: code 4" jout '.code == 4' "$out"

# ---------------------------------------------------------------- bad input
echo "== bad input changes nothing"
pod p6
snap() { ip -n "$NODE" -o link | awk '{print $2}'; cat "$RT/azure-vnet.json" "$RT/azure-vnet-ipam.json"; in_node iptables -t nat -S; }
s0=$(snap)
out=$(run ADD c6aaaaaaaa6 "$(nspath p6)" eth0123456789012)
check "ifname over 15 bytes: error" is_error "$out"
out=$(run ADD c6aaaaaaaa6 "$(nspath p6)" "a/b")
check "ifname with '/': error" is_error "$out"
touch "$WORK/notns"
out=$(run ADD c6aaaaaaaa6 "$WORK/notns")
check "netns path that is not a netns: code 4" jout '.code == 4' "$out"
links0=$(ip -n "$NODE" -o link | wc -l)
out=$(run ADD c6aaaaaaaa6 /proc/self/ns/net)
check "CNI_NETNS naming the node's own netns: code 4 naming CNI_NETNS" jout '.code == 4 and (.msg | test("CNI_NETNS"))' "$out"
sleeper=$(ip netns exec "$NODE" sh -c 'sleep 30 >/dev/null & echo $!')
out=$(run ADD c6aaaaaaaa6 "/proc/$sleeper/ns/net")
kill "$sleeper" 2>/dev/null
check "CNI_NETNS naming the node's netns through another process: code 4" jout '.code == 4' "$out"
check "own netns refused: no interface made" eq "$(ip -n "$NODE" -o link | wc -l)" "$links0"
out=$(run ADD c6aaaaaaaa6 /proc/self/ns/uts)
check "netns path of another namespace type (uts): code 4" jout '.code == 4 and (.msg | test("not a network namespace"))' "$out"
out=$(CONF=$(jq -c '.mode = "weird"' <<<"$TRANSPARENT") run ADD c6aaaaaaaa6 "$(nspath p6)")
check "unknown mode: code 7" jout '.code == 7' "$out"
out=$(CONF=$(jq -c '.mode = "bridge" | .bridge = "br;rm -rf"' <<<"$TRANSPARENT") run ADD c6aaaaaaaa6 "$(nspath p6)")
check "bridge name with odd characters: code 7" jout '.code == 7' "$out"
out=$(CONF=$(jq -c 'del(.ipam)' <<<"$TRANSPARENT") run ADD c6aaaaaaaa6 "$(nspath p6)")
check "missing ipam: code 7" jout '.code == 7' "$out"
out=$(CONF=$(jq -c 'del(.name)' <<<"$TRANSPARENT") run ADD c6aaaaaaaa6 "$(nspath p6)")
check "missing name: code 7 naming the field" jout '.code == 7 and (.msg | test("\"name\""))' "$out"
out=$(CNI_COMMAND=ADD CNI_CONTAINERID=c6aaaaaaaa6 CNI_NETNS="$(nspath p6)" CNI_IFNAME=eth0 \
	ip netns exec "$NODE" "$B/azure-vnet-ipam" <<<"$(jq -c '.ipam + {cniVersion, type: "azure-vnet-ipam"}' <<<"$TRANSPARENT")")
check "azure-vnet-ipam without name: code 7 naming the field" jout '.code == 7 and (.msg | test("\"name\""))' "$out"
check "nothing changed by the bad ADDs" eq "$(snap)" "$s0"
check "pod netns untouched" absent ip -n "${P}p6" link show eth0

# ---------------------------------------------------------------- B01
echo "== B01 failed ADD leaks nothing"
setup_node b01 6
CONF='{"cniVersion":"0.3.0","name":"azure","type":"azure-vnet","mode":"transparent","ipam":{"type":"azure-vnet-ipam","environment":"mas"}}'
# the first ADD creates the network, so the clash is not on the fresh-node path only
pod q0
run ADD q0aaaaaaaa0 "$(nspath q0)" >/dev/null
base=$(inuse)
links0=$(ip -n "$NODE" -o link | wc -l)
allfail=true
for i in 1 2 3 4 5; do
	pod "q$i"
	ip -n "${P}q$i" link add eth0 type veth peer name other0
	out=$(run ADD "q${i}aaaaaaaa$i" "$(nspath "q$i")")
	rc=$?
	{ [ $rc -ne 0 ] && [ "$(jq -s length <<<"$out")" = 1 ] && is_error "$out" >/dev/null; } || allfail=false
done
check "B01: 5 ADDs into a netns with eth0 fail with one error object each" $allfail
check "B01: InUse unchanged ($base)" eq "$(inuse)" "$base"
check "B01: no host veth left" eq "$(ip -n "$NODE" -o link | wc -l)" "$links0"
check "B01: a failed ADD leaves no owner lock file" absent test -e "$(ownerlock q3aaaaaaaa3)"
check "B01: the runtime's DEL after the failure is a no-op success" run DEL q1aaaaaaaa1 "$(nspath q1)"
pod q6
check "B01: c6 into a clean netns succeeds" run ADD q6aaaaaaaa6 "$(nspath q6)"
run DEL q6aaaaaaaa6 "$(nspath q6)" >/dev/null
run DEL q0aaaaaaaa0 "$(nspath q0)" >/dev/null
check "B01: InUse 0 at the end" eq "$(inuse)" 0
# a failure after the IP and the veth exist (IPAM exhausted is before; here: pod netns vanishes
# is racy, so use a bad ipsToRouteViaHost gateway clash instead: eth0 exists -> done above)

# ---------------------------------------------------------------- bridge mode
echo "== bridge mode"
setup_node br 4
CONF=$BRIDGE
pod b1
pod b2
rb1=$(run ADD cb1aaaaaaa1 "$(nspath b1)")
check "bridge ADD b1" jqe '.ips[0].address' <<<"$rb1"
rb2=$(run ADD cb2aaaaaaa2 "$(nspath b2)")
bip1=$(jq -r '.ips[0].address' <<<"$rb1" | cut -d/ -f1)
bip2=$(jq -r '.ips[0].address' <<<"$rb2" | cut -d/ -f1)
bmac1=$(jq -r '.interfaces[1].mac' <<<"$rb1")
check "bridge ADD b2, distinct IP" [ -n "$bip2" ] && [ "$bip1" != "$bip2" ]
check "azure0 holds the node IP" bash -c "ip -n $NODE addr show azure0 | grep -q 'inet 10.240.0.4/16'"
check "eth0 lost its IP and is enslaved to azure0" bash -c "ip -n $NODE link show eth0 | grep -q 'master azure0' && ! ip -n $NODE addr show eth0 | grep -q 'inet '"
check "azure0 MAC pinned to eth0's" eq "$(ip -n "$NODE" -j link show azure0 | jq -r .[0].address)" 00:0d:3a:6e:18:25
check "default route moved to azure0" bash -c "ip -n $NODE route | grep -q 'default via 10.240.0.1 dev azure0'"
check "bridge-nf-call-iptables=1 (or br_netfilter absent)" bash -c "[ ! -e /proc/sys/net/bridge ] || [ \$(ip netns exec $NODE cat /proc/sys/net/bridge/bridge-nf-call-iptables) = 1 ]"
check "ebtables ARP reply for b1" bash -c "ip netns exec $NODE ebtables -t nat -L PREROUTING | grep -q -- '--arp-ip-dst $bip1 -j arpreply --arpreply-mac $bmac1'"
check "ebtables MAC DNAT for b1" bash -c "ip netns exec $NODE ebtables -t nat -L PREROUTING | grep -q -- '--ip-dst $bip1 -j dnat --to-dst $bmac1'"
check "ebtables MAC SNAT on eth0 once" eq "$(in_node ebtables -t nat -L POSTROUTING | grep -c 'snat --to-src')" 1
check "bridge pod eth0: accept_ra=0 (it shares the segment with other pods and the VNet)" eq "$(ip netns exec "${P}b1" cat /proc/sys/net/ipv6/conf/eth0/accept_ra)" 0
check "accept_ra=0 on azure0 and the host veth only, not node-wide" bash -c "[ \$(ip netns exec $NODE cat /proc/sys/net/ipv6/conf/azure0/accept_ra) = 0 ] && [ \$(ip netns exec $NODE cat /proc/sys/net/ipv6/conf/$(jq -r '.interfaces[0].name' <<<"$rb1")/accept_ra) = 0 ] && [ \$(ip netns exec $NODE cat /proc/sys/net/ipv6/conf/all/accept_ra) = 1 ]"
check "host veth hairpin on" bash -c "ip -n $NODE -d link show $(jq -r '.interfaces[0].name' <<<"$rb1") | grep -q 'hairpin on'"
check "ping b1 -> b2 over the bridge" ping1 b1 "$bip2"
check "ping b1 -> node IP" ping1 b1 10.240.0.4
check "bridge CHECK healthy" run CHECK cb1aaaaaaa1 "$(nspath b1)"
chk() { run CHECK cb1aaaaaaa1 "$(nspath b1)"; }
in_node ip neigh del "$bip1" dev azure0
check "bridge CHECK reports the missing bridge neighbour (106)" jout '.code == 106 and (.msg | test("neighbour"))' "$(chk)"
in_node ip neigh replace "$bip1" lladdr "$bmac1" dev azure0 nud permanent
check "bridge CHECK healthy with the neighbour back" chk
arp1=(-p ARP --arp-op Request --arp-ip-dst "$bip1" -j arpreply --arpreply-mac "$bmac1")
dnat1=(-p IPv4 -i eth0 --ip-dst "$bip1" -j dnat --to-dst "$bmac1" --dnat-target ACCEPT)
in_node ebtables -t nat -D PREROUTING "${arp1[@]}"
check "bridge CHECK reports the missing ebtables ARP reply (106)" jout '.code == 106 and (.msg | test("ARP reply"))' "$(chk)"
in_node ebtables -t nat -A PREROUTING "${arp1[@]}"
in_node ebtables -t nat -D PREROUTING "${dnat1[@]}"
check "bridge CHECK reports the missing ebtables MAC DNAT (106)" jout '.code == 106 and (.msg | test("DNAT"))' "$(chk)"
in_node ebtables -t nat -A PREROUTING "${dnat1[@]}"
ip -n "${P}b1" route del default
check "bridge CHECK reports the missing pod default route (106)" jout '.code == 106 and (.msg | test("route 0.0.0.0/0"))' "$(chk)"
ip -n "${P}b1" route add default via 10.240.0.1 dev eth0
ip -n "${P}b1" addr flush dev eth0
check "bridge CHECK reports the missing pod address (106)" jout ".code == 106 and (.msg | contains(\"$bip1\"))" "$(chk)"
ip -n "${P}b1" addr add "$bip1/16" dev eth0
ip -n "${P}b1" route replace default via 10.240.0.1 dev eth0
check "bridge CHECK healthy once everything is back" chk
out=$(CONF=$(jq -c '.mode = "transparent"' <<<"$BRIDGE") run CHECK cb1aaaaaaa1 "$(nspath b1)")
check "CHECK with a config mode other than the network's: code 7 naming the mode" jout '.code == 7 and (.msg | test("exists in mode bridge"))' "$out"
pod b9
out=$(CONF=$(jq -c '.mode = "transparent"' <<<"$BRIDGE") run ADD cb9aaaaaaa9 "$(nspath b9)")
check "ADD with a config mode other than the network's: code 7, nothing made" bash -c "jq -e '.code == 7 and (.msg | test(\"exists in mode bridge\"))' <<<'$out' && ! ip -n ${P}b9 link show eth0"
check "SNAT once in bridge mode" eq "$(in_node iptables -t nat -S POSTROUTING | grep -c AZURE-VNET-SNAT)" 1
echo "== a bridge ADD with ebtables-nft runs no program: the pod's rules go over netlink (issue 14)"
if in_node ebtables -V 2>/dev/null | grep -q nf_tables && command -v strace >/dev/null; then
	pod b6
	# (LeakSanitizer cannot run under ptrace: off for this one call of an ASan build)
	rb6=$(CNI_COMMAND=ADD CNI_CONTAINERID=cb6aaaaaaa6 CNI_NETNS="$(nspath b6)" CNI_IFNAME=eth0 \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		ip netns exec "$NODE" strace -f -qq -e trace=execve -o "$WORK/b6.trace" \
		"$B/azure-vnet" <<<"$CONF")
	bip6=$(jq -r '.ips[0].address' <<<"$rb6" | cut -d/ -f1)
	check "no program: ADD b6 exits with a result" jqe '.ips[0].address' <<<"$rb6"
	check "no program: one execve, the plugin's own" eq "$(grep -c 'execve(' "$WORK/b6.trace")" 1
	check "no program: b6's ARP reply and MAC DNAT are there, once each" eq "$(in_node ebtables -t nat -L PREROUTING | grep -c -- "$bip6 ")" 2
	check "no program: bridge CHECK of b6 healthy" run CHECK cb6aaaaaaa6 "$(nspath b6)"
	run DEL cb6aaaaaaa6 "$(nspath b6)" >/dev/null
	check "no program: DEL removed b6's rules" absent ebt_has0 "$bip6"
else
	echo "SKIP no program: ebtables is not ebtables-nft here, or no strace"
fi
echo "== bridge pod rules in one ebtables-restore batch (issue 14), the per-rule path as fallback"
printf '#!/bin/sh\ntee -a "%s" | ebtables-restore "$@"\n' "$WORK/restore.log" >"$WORK/ebt-restore-log"
chmod +x "$WORK/ebt-restore-log"
run_logged() { AZURE_CNI_EBTABLES_RESTORE=$WORK/ebt-restore-log run "$@"; }
pod b3
rb3=$(run_logged ADD cb3aaaaaaa3 "$(nspath b3)")
bip3=$(jq -r '.ips[0].address' <<<"$rb3" | cut -d/ -f1)
bmac3=$(jq -r '.interfaces[1].mac' <<<"$rb3")
check "batch: one ebtables-restore run for the ADD, the pod's ARP reply and MAC DNAT in it" eq "$(grep -c '^\*nat' "$WORK/restore.log")|$(grep -- "-A PREROUTING" "$WORK/restore.log")" "1|-A PREROUTING -p ARP --arp-op Request --arp-ip-dst $bip3 -j arpreply --arpreply-mac $bmac3
-A PREROUTING -p IPv4 -i eth0 --ip-dst $bip3 -j dnat --to-dst $bmac3 --dnat-target ACCEPT"
check "batch: the rules are there, once each" eq "$(in_node ebtables -t nat -L PREROUTING | grep -c -- "$bip3 ")" 2
check "batch: bridge CHECK healthy" run CHECK cb3aaaaaaa3 "$(nspath b3)"
check "batch: DEL exits 0" run_logged DEL cb3aaaaaaa3 "$(nspath b3)"
check "batch: one more ebtables-restore run for the DEL, deleting both" eq "$(grep -c '^\*nat' "$WORK/restore.log")|$(grep -c -- "^-D PREROUTING .*$bip3 " "$WORK/restore.log")" "2|2"
check "batch: DEL left no rule of the pod" absent ebt_has0 "$bip3"
# a killed pod's rules left for its address: the next pod given it (the lowest free) purges them
in_node ebtables -t nat -A PREROUTING -p ARP --arp-op Request --arp-ip-dst "$bip3" -j arpreply --arpreply-mac 02:00:00:00:00:09
in_node ebtables -t nat -A PREROUTING -p IPv4 -i eth0 --ip-dst "$bip3" -j dnat --to-dst 02:00:00:00:00:09 --dnat-target ACCEPT
pod b5
rb5=$(run ADD cb5aaaaaaa5 "$(nspath b5)")
bmac5=$(jq -r '.interfaces[1].mac' <<<"$rb5")
check "stale rules: the next pod has the address ($bip3)" eq "$(jq -r '.ips[0].address' <<<"$rb5" | cut -d/ -f1)" "$bip3"
check "stale rules: removed, the pod's own two there" eq "$(in_node ebtables -t nat -L PREROUTING | grep -- "$bip3 " | grep -c 02:00:00:00:00:09)|$(in_node ebtables -t nat -L PREROUTING | grep -- "$bip3 " | grep -c "$bmac5")" "0|2"
run DEL cb5aaaaaaa5 "$(nspath b5)" >/dev/null
pod b4
rb4=$(AZURE_CNI_EBTABLES_RESTORE=false run ADD cb4aaaaaaa4 "$(nspath b4)")
bip4=$(jq -r '.ips[0].address' <<<"$rb4" | cut -d/ -f1)
check "fallback (ebtables-restore fails): ADD exits 0, both rules there once" eq "$(in_node ebtables -t nat -L PREROUTING | grep -c -- "$bip4 ")" 2
AZURE_CNI_EBTABLES_RESTORE=false run DEL cb4aaaaaaa4 "$(nspath b4)" >/dev/null
check "fallback: DEL removed them" absent ebt_has0 "$bip4"
echo "== bridge DEL without an endpoint record (killed between endpoint create and state save)"
jqi() { jq "$1" "$2" >"$2.tmp" && mv "$2.tmp" "$2"; }
ebt_has() { in_node ebtables -t nat -L PREROUTING | grep -- "$1 " >/dev/null; }
pod b7
rb7=$(run ADD cb7aaaaaaa7 "$(nspath b7)")
bip7=$(jq -r '.ips[0].address' <<<"$rb7" | cut -d/ -f1)
jqi 'del(.Network.ExternalInterfaces.eth0.Networks.azure.Endpoints["cb7aaaaa-eth0"])' "$RT/azure-vnet.json"
check "no record: the pod's ebtables rules are there before the DEL" ebt_has "$bip7"
check "no record, no prevResult: DEL exits 0" run DEL cb7aaaaaaa7 "$(nspath b7)"
check "no record, no prevResult: the pod's ebtables rules are removed (IP from IPAM)" absent ebt_has "$bip7"
check "no record, no prevResult: IP freed" eq "$(inuse)" 2
# killed between the pod's two ebtables rules (ARP reply first, MAC DNAT never added)
pod b6
rb6=$(run ADD cb6aaaaaaa6 "$(nspath b6)")
bip6=$(jq -r '.ips[0].address' <<<"$rb6" | cut -d/ -f1)
jqi 'del(.Network.ExternalInterfaces.eth0.Networks.azure.Endpoints["cb6aaaaa-eth0"])' "$RT/azure-vnet.json"
in_node ebtables -t nat -D PREROUTING -p IPv4 -i eth0 --ip-dst "$bip6" -j dnat --to-dst "$(jq -r '.interfaces[1].mac' <<<"$rb6")" --dnat-target ACCEPT
check "no record, no DNAT rule: DEL exits 0" run DEL cb6aaaaaaa6 "$(nspath b6)"
check "no record, no DNAT rule: the pod's ARP reply rule is removed (MAC from it)" absent ebt_has "$bip6"
check "no record, no DNAT rule: IP freed" eq "$(inuse)" 2
pod b8
rb8=$(run ADD cb8aaaaaaa8 "$(nspath b8)")
bip8=$(jq -r '.ips[0].address' <<<"$rb8" | cut -d/ -f1)
jqi 'del(.Network.ExternalInterfaces.eth0.Networks.azure.Endpoints["cb8aaaaa-eth0"])' "$RT/azure-vnet.json"
# the IPAM forgot it as well: only prevResult knows the pod
jqi "(.IPAM.AddressSpaces.local.Pools[].Addresses[\"$bip8\"] | select(. != null)) |= (.InUse = false | .ID = \"\" | .IfName = \"\")" "$RT/azure-vnet-ipam.json"
check "no record, prevResult: DEL exits 0" eq "$(CONF=$(jq -c --argjson p "$rb8" '. + {prevResult: $p}' <<<"$BRIDGE") run DEL cb8aaaaaaa8 "$(nspath b8)"; echo "rc=$?")" rc=0
check "no record, prevResult: the pod's ebtables rules are removed (MAC from prevResult)" absent ebt_has "$bip8"
echo "== B03 DEL when the veth is already gone (bridge)"
ip netns del "${P}b1"
check "B03: DEL exits 0" run DEL cb1aaaaaaa1 "$(nspath b1)"
check "B03: DEL again exits 0" run DEL cb1aaaaaaa1 "$(nspath b1)"
check "B03: ebtables rules of b1 removed" absent bash -c "ip netns exec $NODE ebtables -t nat -L PREROUTING | grep -q -- '$bip1 '"
check "B03: bridge neighbour of b1 removed" absent bash -c "ip -n $NODE neigh show dev azure0 | grep -q '^$bip1 '"
check "B03: endpoint removed from state" absent jqe '.Network.ExternalInterfaces.eth0.Networks.azure.Endpoints["cb1aaaaa-eth0"]' "$RT/azure-vnet.json"
check "B03: IP freed" eq "$(inuse)" 1
check "b2 still reachable from the node" in_node busybox ping -c1 -W2 "$bip2"

# ---------------------------------------------------------------- GC
echo "== GC (1.1.0)"
before=$(inuse)
for bad in '["cb2aaaaaaa2"]' '[{"ifname":"eth0"}]'; do
	CONF=$(jq -c --argjson v "$bad" '.cniVersion = "1.1.0" | . + {"cni.dev/valid-attachments": $v}' <<<"$BRIDGE")
	out=$(run GC "" "")
	check "azure-vnet GC with valid-attachments $bad: code 7" jout '.code == 7 and (.msg | test("valid-attachments"))' "$out"
	out=$(CNI_COMMAND=GC ip netns exec "$NODE" "$B/azure-vnet-ipam" <<<"$(jq -c '.type = "azure-vnet-ipam"' <<<"$CONF")")
	check "azure-vnet-ipam GC with valid-attachments $bad: code 7" jout '.code == 7 and (.msg | test("valid-attachments"))' "$out"
done
check "bad GC requests released nothing" eq "$(inuse)" "$before"
CONF=$(jq -c '.cniVersion = "1.1.0" | . + {"cni.dev/valid-attachments": []}' <<<"$BRIDGE")
check "GC: b2's owner lock file exists before GC" test -f "$(ownerlock cb2aaaaaaa2)"
locks_before=$(ls "$RT/azure-vnet" | grep -vx "$(basename "$(ownerlock cb2aaaaaaa2)")" | sort)
# b2's owner lock held elsewhere (a call of that owner running): GC keeps b2 whole
exec 9>>"$(ownerlock cb2aaaaaaa2)"
flock 9
check "GC with b2's owner lock busy: exit 0" run GC "" ""
check "GC with b2's owner lock busy: b2's endpoint, veth and IP are kept" bash -c "jq -e '.Network.ExternalInterfaces.eth0.Networks.azure.Endpoints[\"cb2aaaaa-eth0\"]' $RT/azure-vnet.json >/dev/null && [ \$(jq '[.IPAM.AddressSpaces.local.Pools[].Addresses[] | select(.InUse)] | length' $RT/azure-vnet-ipam.json) = 1 ] && ip -n $NODE -o link | grep -q azv"
exec 9>&-
check "GC with no valid attachments: exit 0" run GC "" ""
check "GC removed b2's endpoint and IP" bash -c "[ \$(jq '[.IPAM.AddressSpaces.local.Pools[].Addresses[] | select(.InUse)] | length' $RT/azure-vnet-ipam.json) = 0 ] && ! ip -n $NODE -o link | grep -q azv"
check "GC removed b2's owner lock file" absent test -e "$(ownerlock cb2aaaaaaa2)"
check "GC removed only the removed owner's lock file (and made none)" eq "$(ls "$RT/azure-vnet" | sort)" "$locks_before"
CONF=$(jq -c '.cniVersion = "1.1.0"' <<<"$BRIDGE")
check "STATUS: exit 0 with free addresses" run STATUS "" ""

# ---------------------------------------------------------------- bridge creation failures
# A failure while creating the bridge network (ebtables or the SNAT) must put the node back:
# eth0 with its IP and default route, no bridge, no rules; the next ADD then succeeds.
node_pristine() {
	ip -n "$NODE" addr show eth0 | grep 'inet 10.240.0.4/16' >/dev/null &&
		! ip -n "$NODE" link show eth0 | grep master >/dev/null &&
		! ip -n "$NODE" link show azure0 >/dev/null 2>&1 &&
		ip -n "$NODE" route | grep 'default via 10.240.0.1 dev eth0' >/dev/null
}
for tool in EBTABLES IPTABLES; do
	echo "== bridge network creation fails (AZURE_CNI_$tool=/bin/false), then a normal ADD"
	setup_node "f$tool" 2
	CONF=$BRIDGE
	pod "f1$tool"
	export "AZURE_CNI_$tool=/bin/false"
	out=$(run ADD cf1aaaaaaa1 "$(nspath "f1$tool")")
	unset "AZURE_CNI_$tool"
	check "$tool failure: ADD fails with an error object" is_error "$out"
	check "$tool failure: eth0 has its IP and default route back, no azure0" node_pristine
	check "$tool failure: no SNAT jump left" eq "$(in_node iptables -t nat -S POSTROUTING | grep -c AZURE-VNET-SNAT)" 0
	check "$tool failure: no ebtables rule left" eq "$(in_node ebtables -t nat -L | grep -c -- '-j')" 0
	check "$tool failure: IP released" eq "$(inuse)" 0
	rf=$(run ADD cf1aaaaaaa1 "$(nspath "f1$tool")")
	check "$tool failure: the next ADD succeeds" jqe '.ips[0].address' <<<"$rf"
	check "$tool failure: azure0 holds the node IP, eth0 enslaved" bash -c "ip -n $NODE addr show azure0 | grep -q 'inet 10.240.0.4/16' && ip -n $NODE link show eth0 | grep -q 'master azure0'"
	check "$tool failure: ping pod -> node" ping1 "f1$tool" 10.240.0.4
done

echo "== bridge network after the state file was lost (truncated)"
setup_node trunc 3
CONF=$BRIDGE
pod k1
pod k2
run ADD ck1aaaaaaa1 "$(nspath k1)" >/dev/null
truncate -s0 "$RT/azure-vnet.json"
rk2=$(run ADD ck2aaaaaaa2 "$(nspath k2)")
check "state lost: ADD c2 adopts azure0 and succeeds" jqe '.ips[0].address' <<<"$rk2"
check "state lost: one bridge, eth0 still its port, azure0 holds the node IP" bash -c "[ \$(ip -n $NODE -o link show type bridge | wc -l) = 1 ] && ip -n $NODE link show eth0 | grep -q 'master azure0' && ip -n $NODE addr show azure0 | grep -q 'inet 10.240.0.4/16'"
check "state lost: state records eth0 with bridge azure0" eq "$(jq -r '.Network.ExternalInterfaces.eth0.BridgeName' "$RT/azure-vnet.json")" azure0
check "state lost: ping k2 -> node" ping1 k2 10.240.0.4
check "state lost: CHECK c2 healthy" run CHECK ck2aaaaaaa2 "$(nspath k2)"
check "state lost: the record keeps eth0's address and default route (read off azure0)" jqe '.Network.ExternalInterfaces.eth0 | .IPAddresses == [{"IP":"10.240.0.4","Mask":"//8AAA=="}] and ([.Routes[] | select(.Gw == "10.240.0.1" and .Family == 2 and .Dst == null and .LinkIndex > 0 and .Table == 254 and (has("DevName") | not))] | length == 1)' "$RT/azure-vnet.json"

# ---------------------------------------------------------------- first bridge ADD killed
# Each state a first bridge ADD killed while making the bridge leaves, made by hand (its steps:
# the bridge, eth0's address onto it too, eth0's default route appended onto it, eth0
# enslaved, eth0's address deleted). DEL changes nothing; an ADD whose network creation fails
# puts eth0 back whole (for a complete bridge: leaves it as found); the next ADD finishes the
# bridge: azure0 with the node IP and the only default route, eth0 its port without an
# address, the record keeping eth0's address and route, traffic through it.
half_bridge() {
	local s=$1
	in_node ip link add azure0 address 00:0d:3a:6e:18:25 type bridge
	if [ "$s" -ge 2 ]; then in_node ip link set azure0 up; in_node ip addr add 10.240.0.4/16 dev azure0; fi
	if [ "$s" -ge 3 ]; then in_node ip route append default via 10.240.0.1 dev azure0; fi
	if [ "$s" -ge 4 ]; then in_node ip link set eth0 master azure0; fi
	if [ "$s" -ge 5 ]; then in_node ip addr del 10.240.0.4/16 dev eth0; fi
}
node_bridged() {
	ip -n "$NODE" addr show azure0 | grep 'inet 10.240.0.4/16' >/dev/null &&
		ip -n "$NODE" link show eth0 | grep 'master azure0' >/dev/null &&
		! ip -n "$NODE" addr show eth0 | grep 'inet ' >/dev/null &&
		[ "$(ip -n "$NODE" route show default | wc -l)" = 1 ] &&
		ip -n "$NODE" route show default | grep 'via 10.240.0.1 dev azure0' >/dev/null &&
		in_node busybox ping -c1 -W2 10.240.0.1 >/dev/null
}
# the node's IPv4 addresses and routes, and which link is whose port (IPv6 link-local
# addresses come and go on their own)
node_links() {
	ip -n "$NODE" -4 -o addr | awk '{print $2, $4}'
	ip -n "$NODE" route
	ip -n "$NODE" -o link | grep -o '^[0-9]*: [^:]*\|master [^ ]*'
}
killed_at=("" "bridge made" "address on the bridge too" "default route on the bridge too" "eth0 enslaved" "eth0's address deleted")
for s in 1 2 3 4 5; do
	d="killed at step $s (${killed_at[$s]})"
	echo "== first bridge ADD $d"
	setup_node "kill$s" 2
	CONF=$BRIDGE
	pod "x$s"
	half_bridge "$s"
	before=$(node_links)
	check "$d: DEL exits 0" run DEL "cx${s}aaaaaaa" "$(nspath "x$s")"
	check "$d: DEL changes no address, route or link" eq "$(node_links)" "$before"
	out=$(AZURE_CNI_EBTABLES=/bin/false run ADD "cx${s}aaaaaaa" "$(nspath "x$s")")
	check "$d: an ADD failing after the bridge ends with an error object" is_error "$out"
	if [ "$s" -lt 5 ]; then
		check "$d: ... and puts eth0 back with its IP and default route, no azure0" node_pristine
		half_bridge "$s"
	else
		check "$d: ... and leaves the complete bridge as it found it" node_bridged
	fi
	rx=$(run ADD "cx${s}aaaaaaa" "$(nspath "x$s")")
	check "$d: the next ADD succeeds" jqe '.ips[0].address' <<<"$rx"
	check "$d: azure0 holds the node IP and the one default route, eth0 its port without an address" node_bridged
	check "$d: the record keeps eth0's address and default route" jqe '.Network.ExternalInterfaces.eth0 | .BridgeName == "azure0" and .IPAddresses == [{"IP":"10.240.0.4","Mask":"//8AAA=="}] and ([.Routes[] | select(.Gw == "10.240.0.1" and .Family == 2 and .Dst == null and .LinkIndex > 0 and .Table == 254 and (has("DevName") | not))] | length == 1)' "$RT/azure-vnet.json"
	check "$d: ping pod -> fabric" ping1 "x$s" 10.240.0.1
	check "$d: CHECK healthy" run CHECK "cx${s}aaaaaaa" "$(nspath "x$s")"
	check "$d: DEL of the pod exits 0" run DEL "cx${s}aaaaaaa" "$(nspath "x$s")"
	check "$d: ... and the node keeps azure0 with its IP and default route" node_bridged
done
# killed at step 2 with the bridge older than eth0 (a lower ifindex): the node IP is found on the
# bridge first, which has no port yet; eth0 beside it, with the same address, is the master
echo "== first bridge ADD killed at step 2, the bridge older than eth0"
setup_node killold 2
CONF=$BRIDGE
pod xo
in_node ip link del eth0
in_node ip link add azure0 address 00:0d:3a:6e:18:25 type bridge
in_node ip link add eth0 address 00:0d:3a:6e:18:25 type veth peer name fab0 netns "$FAB"
ip -n "$FAB" addr add 10.240.0.1/16 dev fab0
ip -n "$FAB" link set fab0 up
in_node ip addr add 10.240.0.4/16 dev eth0
in_node ip link set eth0 up
in_node ip route add default via 10.240.0.1
in_node ip link set azure0 up
in_node ip addr add 10.240.0.4/16 dev azure0
rx=$(run ADD cxoaaaaaaaa "$(nspath xo)")
check "bridge older than eth0: the next ADD succeeds" jqe '.ips[0].address' <<<"$rx"
check "bridge older than eth0: azure0 holds the node IP and the one default route, eth0 its port" node_bridged
check "bridge older than eth0: ping pod -> fabric" ping1 xo 10.240.0.1

# ---------------------------------------------------------------- delegated IPAM
echo "== delegated IPAM (host-local)"
if [ -x /usr/lib/cni/host-local ]; then
	setup_node hl 1
	CONF=$(jq -c --arg d "$WORK/hl" '.ipam = {"type":"host-local","dataDir":$d,"ranges":[[{"subnet":"10.240.0.0/16","rangeStart":"10.240.10.1","rangeEnd":"10.240.10.9","gateway":"10.240.0.1"}]]}' <<<"$TRANSPARENT")
	pod h1
	rh=$(run ADD ch1aaaaaaa1 "$(nspath h1)")
	check "host-local ADD gives 10.240.10.x" jqe '.ips[0].address | startswith("10.240.10.")' <<<"$rh"
	check "host-local: ping pod -> node" ping1 h1 10.240.0.4
	check "host-local DEL: exit 0" run DEL ch1aaaaaaa1 "$(nspath h1)"
	check "host-local DEL released the address" absent bash -c "ls $WORK/hl/azure | grep -q '^10.240.10'"
else
	echo "SKIP host-local not installed"
fi

# ---------------------------------------------------------------- delegated IPAM that hangs
echo "== delegated IPAM plugin that hangs or floods its output"
setup_node hang 1
mkdir -p "$WORK/fake"
printf '#!/bin/sh\nexec sleep 30\n' >"$WORK/fake/sleepy"
printf '#!/bin/sh\nexec head -c 3000000 /dev/zero\n' >"$WORK/fake/chatty"
chmod +x "$WORK/fake/sleepy" "$WORK/fake/chatty"
pod g1
links0=$(ip -n "$NODE" -o link | wc -l)
out=$(CONF=$(jq -c '.ipam = {"type":"sleepy"}' <<<"$TRANSPARENT") CNI_PATH=$WORK/fake:$CNI_PATH \
	AZURE_CNI_EXEC_TIMEOUT_MS=1000 timeout 20 bash -c "$(declare -f run); B=$B NODE=$NODE CONF=\$CONF run ADD cg1aaaaaaa1 $(nspath g1)")
check "hung IPAM plugin: ADD ends with code 11 naming the plugin" jout '.code == 11 and (.msg | test("sleepy"))' "$out"
out=$(CONF=$(jq -c '.ipam = {"type":"chatty"}' <<<"$TRANSPARENT") CNI_PATH=$WORK/fake:$CNI_PATH \
	timeout 20 bash -c "$(declare -f run); B=$B NODE=$NODE CONF=\$CONF run ADD cg1aaaaaaa1 $(nspath g1)")
check "IPAM plugin writing 3 MB: ADD ends with an error naming the plugin" jout '.code > 0 and (.msg | test("chatty"))' "$out"
check "failed delegated ADDs left no interface" eq "$(ip -n "$NODE" -o link | wc -l)" "$links0"

# ---------------------------------------------------------------- a plugin named as its own IPAM
# It would run itself, and the child would wait on the locks its parent holds until they time
# out: code 7 before any exec, by name or through a link to the binary.
echo "== ipam.type naming the plugin itself"
setup_node self 1
pod s1
ln -sf "$B/azure-vnet" "$WORK/fake/myipam"
for t in azure-vnet myipam; do
	for cmd in ADD DEL; do
		t0=$SECONDS
		out=$(CONF=$(jq -c --arg t "$t" '.ipam = {"type": $t}' <<<"$TRANSPARENT") CNI_PATH=$WORK/fake:$CNI_PATH \
			AZURE_CNI_LOCK_TIMEOUT_MS=3000 timeout 20 bash -c "$(declare -f run); B=$B NODE=$NODE CONF=\$CONF run $cmd cs1aaaaaaa1 $(nspath s1)")
		check "ipam.type $t: $cmd is code 7 naming ipam.type at once" \
			jout '.code == 7 and (.msg | test("ipam.type"))' "$out"
		check "ipam.type $t: $cmd answered without waiting on a lock" [ $((SECONDS - t0)) -lt 3 ]
	done
done
check "ipam.type naming the plugin: no interface made" absent ip -n "${P}s1" link show eth0

# ---------------------------------------------------------------- iptables lock wait
echo "== iptables -w shorter than the 30 s network lock"
setup_node ipw 1
printf '#!/bin/sh\necho "$*" >>%s/ipt.log\nexec iptables "$@"\n' "$WORK" >"$WORK/fake/ipt"
chmod +x "$WORK/fake/ipt"
pod i1
export AZURE_CNI_IPTABLES=$WORK/fake/ipt
check "ADD through a logging iptables" run ADD ci1aaaaaaa1 "$(nspath i1)"
unset AZURE_CNI_IPTABLES
check "iptables ran with -w 10 every time" bash -c "[ -s $WORK/ipt.log ] && ! grep -v -- '^-w 10 ' $WORK/ipt.log"

# ---------------------------------------------------------------- children die with the plugin
# An iptables still running when the plugin is killed must not append its rule after DEL has
# cleaned up (issue 9): it dies with the plugin (PR_SET_PDEATHSIG). What an iptables leaves in
# its process group dies when it exits; one past AZURE_CNI_EXEC_TIMEOUT_MS is killed (code 11).
echo "== children die with the plugin"
setup_node kid 2
CONF=$TRANSPARENT
pod kd1
# slow: records "pid ppid", waits, then would mark and run the real iptables
printf '#!/bin/sh\necho "$$ $PPID" >%s/slow.pid\nsleep 2\necho late >>%s/slow.late\nexec iptables "$@"\n' \
	"$WORK" "$WORK" >"$WORK/fake/slow-ipt"
# litter: leaves a background job in its group that would mark later, then runs iptables
printf '#!/bin/sh\n(sleep 2; echo late >>%s/litter.late) &\nexec iptables "$@"\n' "$WORK" >"$WORK/fake/litter-ipt"
# hung: never ends (no exec, so its command line stays findable)
printf '#!/bin/sh\nsleep 30\n' >"$WORK/fake/hung-ipt"
chmod +x "$WORK/fake/slow-ipt" "$WORK/fake/litter-ipt" "$WORK/fake/hung-ipt"
rm -f "$WORK/slow.pid" "$WORK/slow.late"
AZURE_CNI_IPTABLES=$WORK/fake/slow-ipt run ADD ckd1aaaaaa1 "$(nspath kd1)" >/dev/null 2>&1 &
for _ in $(seq 1 100); do [ -s "$WORK/slow.pid" ] && break; sleep 0.05; done
read -r kid plug <"$WORK/slow.pid" 2>/dev/null || kid=
check "slow iptables started by the plugin" [ -n "$kid" ] && [ "$(cat "/proc/$plug/comm" 2>/dev/null)" = azure-vnet ]
check "slow iptables leads its own process group" eq "$(ps -o pgid= -p "$kid" | tr -d ' ')" "$kid"
[ -n "${plug:-}" ] && kill -KILL "$plug" 2>/dev/null
wait
sleep 3
check "plugin SIGKILLed: its iptables died with it (no rule after the kill)" absent test -e "$WORK/slow.late"
check "plugin SIGKILLed: no iptables process left" absent kill -0 "${kid:-0}" 2>/dev/null
rm -f "$WORK/litter.late"
setup_node kid2 2
pod kd2
AZURE_CNI_IPTABLES=$WORK/fake/litter-ipt run ADD ckd2aaaaaa2 "$(nspath kd2)" >/dev/null
check "ADD through an iptables that leaves a job behind succeeds" eq "$?" 0
sleep 3
check "what iptables left in its process group is killed when it exits" absent test -e "$WORK/litter.late"
setup_node kid3 2
pod kd3
t0=$SECONDS
out=$(AZURE_CNI_IPTABLES=$WORK/fake/hung-ipt AZURE_CNI_EXEC_TIMEOUT_MS=500 run ADD ckd3aaaaaa3 "$(nspath kd3)")
took=$((SECONDS - t0))
check "a hung iptables: ADD ends with code 11 naming it" jout '.code == 11 and (.msg | test("hung-ipt"))' "$out"
check "a hung iptables: ADD ends well before its 30 s (${took} s)" [ "$took" -lt 10 ]
check "a hung iptables: killed, no process of it left" absent pgrep -f "$WORK/fake/hung-ipt"
check "a hung iptables: the failed ADD left no IP" eq "$(inuse)" 0

# ---------------------------------------------------------------- tunnel, SNAT off
echo "== tunnel mode (VEPA) with enableOutboundSnat=false and disableIPTableLock"
setup_node tun 2
CONF=$(jq -c '.mode = "tunnel" | .enableOutboundSnat = false | .disableIPTableLock = true' <<<"$BRIDGE")
pod u1
ru=$(run ADD cu1aaaaaaa1 "$(nspath u1)")
uip=$(jq -r '.ips[0].address' <<<"$ru" | cut -d/ -f1)
check "tunnel ADD" jqe '.ips[0].address' <<<"$ru"
check "tunnel: ARP reply with the VEPA MAC" bash -c "ip netns exec $NODE ebtables -t nat -L PREROUTING | grep -q -- '--arp-ip-dst $uip -j arpreply --arpreply-mac 12:34:56:78:9a:bc'"
check "enableOutboundSnat=false: no SNAT chain jump" eq "$(in_node iptables -t nat -S POSTROUTING | grep -c AZURE-VNET-SNAT)" 0
check "tunnel CHECK (no SNAT expected)" run CHECK cu1aaaaaaa1 "$(nspath u1)"
check "tunnel DEL" run DEL cu1aaaaaaa1 "$(nspath u1)"
check "tunnel DEL removed the pod rules" absent bash -c "ip netns exec $NODE ebtables -t nat -L PREROUTING | grep -q -- '$uip '"

# ---------------------------------------------------------------- B08 parallel bridge ADDs
echo "== B08 30 parallel ADDs then DELs, fresh node, bridge mode"
setup_node b08 40
CONF=$BRIDGE
for i in $(seq 1 30); do pod "r$i"; done
for i in $(seq 1 30); do
	run ADD "r${i}aaaaaaaaa" "$(nspath "r$i")" >"$WORK/b08-$i.out" 2>&1 &
done
wait
bad=0
for i in $(seq 1 30); do jqe '.ips[0].address' "$WORK/b08-$i.out" >/dev/null 2>&1 || bad=$((bad + 1)); done
check "B08: 30 ADDs succeeded ($bad failed)" eq "$bad" 0
check "B08: 30 distinct IPs" eq "$(cat "$WORK"/b08-*.out | jq -r '.ips[0].address' 2>/dev/null | sort -u | wc -l)" 30
check "B08: one bridge azure0" eq "$(ip -n "$NODE" -o link show type bridge | wc -l)" 1
check "B08: azure0 holds eth0 and the node IP" bash -c "ip -n $NODE link show eth0 | grep -q 'master azure0' && ip -n $NODE addr show azure0 | grep -q 'inet 10.240.0.4/16'"
check "B08: state files parse, 30 endpoints" eq "$(jq '.Network.ExternalInterfaces.eth0.Networks.azure.Endpoints | length' "$RT/azure-vnet.json")" 30
check "B08: InUse 30" eq "$(inuse)" 30
for i in $(seq 1 30); do
	run DEL "r${i}aaaaaaaaa" "$(nspath "r$i")" >"$WORK/b08d-$i.out" 2>&1 &
done
wait
check "B08: DELs printed nothing" eq "$(cat "$WORK"/b08d-*.out | wc -c)" 0
check "B08: InUse 0 after the DELs" eq "$(inuse)" 0
check "B08: no endpoint left in state" eq "$(jq '.Network.ExternalInterfaces.eth0.Networks.azure.Endpoints | length' "$RT/azure-vnet.json")" 0
check "B08: no host veth left" absent bash -c "ip -n $NODE -o link | grep -q azv"
check "B08: no per-pod ebtables rule left" eq "$(in_node ebtables -t nat -L PREROUTING | grep -c 'dnat --to-dst [0-9a-f:]* --dnat-target' )" 1

# ---------------------------------------------------------------- names that cannot collide
echo "== names: adversarial owners (record keys, host veth names), transparent mode"
setup_node nm 4
CONF=$TRANSPARENT
EPS=.Network.ExternalInterfaces.eth0.Networks.azure.Endpoints
# ("abcdefgh-y",eth0) and ("abcdefgh",y-eth0) share "abcdefgh-y-eth0" under the Go ID and
# <cid>-<ifname>; an 8-character container ID has no shorter Go ID
pod n1; pod n2; pod n3
run ADD abcdefgh-x "$(nspath n1)" eth0 >/dev/null
run ADD abcdefgh-y "$(nspath n2)" eth0 >/dev/null
r3=$(run ADD abcdefgh "$(nspath n3)" y-eth0)
check "keys: ADD (abcdefgh, y-eth0) exits 0" eq "$?" 0
check "keys: three records, each under its own key" jqe "$EPS"' | (length == 3) and .["abcdefgh-eth0"].ContainerID == "abcdefgh-x" and .["abcdefgh-y:eth0"].ContainerID == "abcdefgh-y" and .["abcdefgh-y-eth0"].ContainerID == "abcdefgh"' "$RT/azure-vnet.json"
hy=$(jq -r "$EPS"'["abcdefgh-y:eth0"].HostIfName // empty' "$RT/azure-vnet.json")
check "keys: DEL (abcdefgh, y-eth0) exits 0" run DEL abcdefgh "$(nspath n3)" y-eth0
check "keys: ... leaves the other two records" jqe "$EPS"' | (length == 2) and .["abcdefgh-y:eth0"].ContainerID == "abcdefgh-y"' "$RT/azure-vnet.json"
check "keys: ... and their host veths and addresses" bash -c "[ -n '$hy' ] && ip -n $NODE link show '$hy' >/dev/null && [ \$(jq '[.IPAM.AddressSpaces.local.Pools[].Addresses[] | select(.InUse)] | length' $RT/azure-vnet-ipam.json) = 2 ]"
check "keys: ping between the two left" ping1 n1 "$(ip -n "${P}n2" -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family=="inet") | .local')"
run DEL abcdefgh-x "$(nspath n1)" eth0 >/dev/null
run DEL abcdefgh-y "$(nspath n2)" eth0 >/dev/null
check "keys: all gone after the DELs" bash -c "[ \$(jq '$EPS | length' $RT/azure-vnet.json) = 0 ] && ! ip -n $NODE -o link | grep -q azv"

# ("vethab",c) and ("vetha",bc): one host veth name under the unseparated hash
pod n4; pod n5
run ADD vethab "$(nspath n4)" c >/dev/null
run ADD vetha "$(nspath n5)" bc >/dev/null
h4=$(jq -r "$EPS"'["vethab-c"].HostIfName' "$RT/azure-vnet.json")
h5=$(jq -r "$EPS"'["vetha-bc"].HostIfName' "$RT/azure-vnet.json")
check "veth: (vethab,c) and (vetha,bc) get two host veths ($h4, $h5)" bash -c "[ '$h4' != '$h5' ] && ip -n $NODE link show '$h4' >/dev/null && ip -n $NODE link show '$h5' >/dev/null"
check "veth: both pods have their interface" bash -c "ip -n ${P}n4 link show c >/dev/null && ip -n ${P}n5 link show bc >/dev/null"
run DEL vetha "$(nspath n5)" bc >/dev/null
check "veth: DEL of one leaves the other's veth" bash -c "ip -n $NODE link show '$h4' >/dev/null && ip -n ${P}n4 link show c >/dev/null"
run DEL vethab "$(nspath n4)" c >/dev/null

# a forced collision: links already hold the owner's first name and our earlier versions' name
cand() { printf '%s' "${#1}:$1,${#2}:$2,${#3}:$3,$4" | sha1sum | cut -c1-11 | sed 's/^/azv/'; }
oldname() { printf '%s' "$1$2$3" | sha1sum | cut -c1-11 | sed 's/^/azv/'; }
c0=$(cand azure coll1aaaaa eth0 0)
c1=$(cand azure coll1aaaaa eth0 1)
co=$(oldname azure coll1aaaaa eth0)
ip -n "$NODE" link add "$c0" type veth peer name nmblock0
ip -n "$NODE" link add "$co" type veth peer name nmblock1
pod n6
r6=$(run ADD coll1aaaaa "$(nspath n6)")
check "collision: ADD exits 0" eq "$?" 0
check "collision: ADD takes the next name $c1" jout ".interfaces[0].name == \"$c1\"" "$r6"
check "collision: the record keeps it" jqe "$EPS"'["coll1aaa-eth0"].HostIfName == "'"$c1"'"' "$RT/azure-vnet.json"
check "collision: the links in the way are left" bash -c "ip -n $NODE link show '$c0' >/dev/null && ip -n $NODE link show '$co' >/dev/null"
check "collision: the veth carries its owner's tag" bash -c "ip -n $NODE -j -d link show '$c1' | jq -e '.[0].ifalias | startswith(\"azure-vnet \") and endswith(\" coll1aaaaa/eth0\")'"
check "collision: CHECK passes" run CHECK coll1aaaaa "$(nspath n6)"
check "collision: ping pod -> node" ping1 n6 10.240.0.4
run DEL coll1aaaaa "$(nspath n6)" >/dev/null
check "collision: DEL removes $c1 and leaves the others" bash -c "! ip -n $NODE link show '$c1' >/dev/null 2>&1 && ip -n $NODE link show '$c0' >/dev/null && ip -n $NODE link show '$co' >/dev/null"
run ADD coll1aaaaa "$(nspath n6)" >/dev/null
jqi "del($EPS[\"coll1aaa-eth0\"])" "$RT/azure-vnet.json"
check "collision: DEL without a record exits 0" run DEL coll1aaaaa "$(nspath n6)"
check "collision: ... finds $c1 by its tag, leaves the others" bash -c "! ip -n $NODE link show '$c1' >/dev/null 2>&1 && ip -n $NODE link show '$c0' >/dev/null && ip -n $NODE link show '$co' >/dev/null"
check "collision: ... and releases the address" eq "$(inuse)" 0
# a veth of our earlier versions (untagged, the old name), its record lost: DEL still finds it
ip -n "$NODE" link del "$co"
ip -n "$NODE" link add "$co" type veth peer name eth0 netns "${P}n6"
run DEL coll1aaaaa "$(nspath n6)" >/dev/null
check "earlier name: DEL without a record removes the untagged veth $co, not $c0" bash -c "! ip -n $NODE link show '$co' >/dev/null 2>&1 && ip -n $NODE link show '$c0' >/dev/null"
ip -n "$NODE" link del "$c0"

echo
suite_end
