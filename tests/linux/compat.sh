#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Drop-in both ways (issue 12): state files as the Go plugin writes them, for a transparent, a
# bridge and a tunnel node with several pods. Each node's pods are made for real, then both
# files are rewritten exactly as the Go plugin writes them (tests/compat/gostate.py: Go's struct
# field order and omitempty, its Go-only fields NICType, SecondaryInterfaces, NetworkNameSpace,
# the NIC routes' netlink form with Tos/Type/Flags/LinkIndex; on the transparent node also an
# unknown address space and unknown keys, the bad-input case). Then our ADD, DEL and GC on them:
# every Go field of what stays is present and unchanged, every pod and address accounted for,
# the files still read as Go's structs read them. In tunnel mode the Go form of a pod's ARP reply
# rule (its own MAC) is made with ebtables and our DEL must remove it.
# All inside network namespaces this script creates and removes (prefix "cmp").
# Usage: tests/linux/compat.sh [build-dir]   (default build). Root only. Exit 1 on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bdir=${1:-$top/build}
# shellcheck source=tests/lib/suite.sh
. "$top/tests/lib/suite.sh"
# shellcheck source=tests/lib/node.sh
. "$top/tests/lib/node.sh"
B=$bdir/bin
GOSTATE="/usr/bin/python3 $top/tests/compat/gostate.py"
for p in azure-vnet azure-vnet-ipam; do
	[ -x "$B/$p" ] || { echo "FAIL: build $B first ($p missing)"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 0; }

netns_suite_begin cmp
BASE='{"cniVersion":"1.1.0","name":"azure","type":"azure-vnet","bridge":"azure0","ipam":{"type":"azure-vnet-ipam","environment":"mas"}}'

cid() { printf 'c0ffee%02d00000000000000000000000000000000000000000000000000000000' "$1"; }
# call CMD N: azure-vnet for pod N; output in $out, exit code in $rc
call() {
	out=$(env CNI_COMMAND="$1" CNI_CONTAINERID="$(cid "$2")" CNI_NETNS="/var/run/netns/${P}p$2" \
		CNI_IFNAME=eth0 CNI_ARGS="K8S_POD_NAMESPACE=ns$2;K8S_POD_NAME=pod-$2" \
		timeout 20 ip netns exec "$NODE" "$B/azure-vnet" <<<"$CONF" 2>/dev/null)
	rc=$?
}
# gc N...: GC keeping pods N...
gc() {
	local v='[]' n conf
	for n in "$@"; do v=$(jq -c --arg c "$(cid "$n")" '. + [{"containerID": $c, "ifname": "eth0"}]' <<<"$v"); done
	conf=$(jq -c --argjson v "$v" '.["cni.dev/valid-attachments"] = $v' <<<"$CONF")
	out=$(CNI_COMMAND=GC timeout 20 ip netns exec "$NODE" "$B/azure-vnet" <<<"$conf" 2>/dev/null)
	rc=$?
}
pod() { ip netns add "${P}p$1"; ip -n "${P}p$1" link set lo up; }
eps() { jq -c '[.Network.ExternalInterfaces[].Networks[].Endpoints[] | .ContainerID] | sort' "$RT/azure-vnet.json"; }
# the endpoint record path of pod N in gostate.py "same" form
ep_path() {
	jq -r --arg c "$(cid "$1")" '.Network.ExternalInterfaces | to_entries[] | .key as $x |
		.value.Networks | to_entries[] | .key as $n | .value.Endpoints | to_entries[] |
		select(.value.ContainerID == $c) | "Network.ExternalInterfaces.\($x).Networks.\($n).Endpoints.\(.key)"' "$GO"
}
ip_of() { jq -r --arg c "$(cid "$1")" '[.IPAM.AddressSpaces.local.Pools[].Addresses[] | select(.InUse and .ID == $c) | .Addr][0] // ""' "$RT/azure-vnet-ipam.json"; }
addr_path() { echo "IPAM.AddressSpaces.local.Pools.$NET.0.0/16.Addresses.$1"; }
# every address in use is held by a recorded pod, and every recorded pod's address is in use by it
accounted() {
	local rec held
	rec=$(jq -c '[.Network.ExternalInterfaces[].Networks[].Endpoints[] | [.ContainerID, .IPAddresses[0].IP]] | sort' "$RT/azure-vnet.json")
	held=$(jq -c '[.IPAM.AddressSpaces.local.Pools[].Addresses[] | select(.InUse) | [.ID, .Addr]] | sort' "$RT/azure-vnet-ipam.json")
	[ "$rec" = "$held" ] && [ "$rec" = "$(jq -c --arg a "$(cid "$2")" --arg b "$(cid "$3")" --arg ia "$4" --arg ib "$5" -n '[[$a, $ia], [$b, $ib]] | sort')" ]
}
suite_on_fail() { [ -n "${LAST:-}" ] && sed 's/^/    /' "$LAST" | head -12; LAST=; }
same() { LAST=$WORK/same.out; $GOSTATE same "$@" >"$LAST"; }
gocheck() { LAST=$WORK/check.out; $GOSTATE check "$@" >"$LAST"; }
arp_rules() { ip netns exec "$NODE" ebtables -t nat -L PREROUTING | grep -c -- "--arp-ip-dst $1 " || true; }

run_node() {
	local mode=$1 NET=$2 extra=$3 n ips=() goargs=() skip
	echo "== $mode node${extra:+ (with an unknown address space and unknown keys)}"
	CONF=$(jq -c --arg m "$mode" '.mode = $m' <<<"$BASE")
	node_setup "$mode" "$NET" 6
	for n in 1 2 3; do pod $n; call ADD $n; ips[n]=$(jq -r '.ips[0].address' <<<"$out" | cut -d/ -f1); done
	check "$mode: 3 pods made" test -n "${ips[1]}" -a -n "${ips[3]}"
	check "$mode: both files rewritten as the Go plugin writes them" \
		bash -c "$GOSTATE goify '$RT/azure-vnet.json' $extra && $GOSTATE goify '$RT/azure-vnet-ipam.json' $extra"
	GO=$WORK/go-$mode.json GOI=$WORK/go-ipam-$mode.json
	cp "$RT/azure-vnet.json" "$GO"
	cp "$RT/azure-vnet-ipam.json" "$GOI"
	[ -n "$extra" ] && goargs=(--extra "XAnnotations,XFutureField,Other")
	check "$mode: the Go-shaped fixtures pass the Go struct checker" gocheck "$GO" "${goargs[@]}"
	check "$mode: the Go-shaped IPAM fixture passes the Go struct checker" gocheck "$GOI" "${goargs[@]}"
	if [ "$mode" = tunnel ]; then
		# The Go plugin's form for the network-creating pod: ARP reply with the pod's own MAC.
		local mac
		mac=$(ip -n "${P}p1" link show eth0 | awk '/link\/ether/ {print $2}')
		ip netns exec "$NODE" ebtables -t nat -D PREROUTING -p ARP --arp-op Request \
			--arp-ip-dst "${ips[1]}" -j arpreply --arpreply-mac 12:34:56:78:9a:bc 2>/dev/null
		ip netns exec "$NODE" ebtables -t nat -A PREROUTING -p ARP --arp-op Request \
			--arp-ip-dst "${ips[1]}" -j arpreply --arpreply-mac "$mac" --arpreply-target DROP
		check "tunnel: the Go-form ARP reply rule of pod 1 is in place" [ "$(arp_rules "${ips[1]}")" = 1 ]
	fi

	pod 4
	call ADD 4
	ips[4]=$(jq -r '.ips[0].address // ""' <<<"$out" | cut -d/ -f1)
	check "$mode: our ADD on Go's files" test "$rc" = 0 -a -n "${ips[4]}"
	check "$mode: the new pod's address is one no Go pod holds" bash -c "[ '${ips[4]}' != '${ips[1]}' ] && [ '${ips[4]}' != '${ips[2]}' ] && [ '${ips[4]}' != '${ips[3]}' ]"
	skip=("Network.Version" "Network.TimeStamp" "IPAM.Version" "IPAM.TimeStamp"
		"$(ep_path 1)" "$(ep_path 3)" "$(addr_path "${ips[1]}")" "$(addr_path "${ips[3]}")"
		"$(addr_path "${ips[4]}")" "IPAM.AddressSpaces.local.Pools.$NET.0.0/16.RefCount")
	call DEL 1
	check "$mode: our DEL of a Go pod" [ "$rc" = 0 ]
	if [ "$mode" = tunnel ]; then
		check "tunnel: DEL removed the Go-form ARP reply rule (and ours)" [ "$(arp_rules "${ips[1]}")" = 0 ]
	fi
	gc 2 4
	check "$mode: our GC on Go's files" [ "$rc" = 0 ]
	check "$mode: the records left are pods 2 and 4" [ "$(eps)" = "$(jq -nc --arg a "$(cid 2)" --arg b "$(cid 4)" '[$a, $b]')" ]
	check "$mode: every pod and address accounted for (records = addresses in use)" accounted x 2 4 "${ips[2]}" "${ips[4]}"
	check "$mode: every Go field of azure-vnet.json kept, unchanged, in place" same "$GO" "$RT/azure-vnet.json" "${skip[@]}"
	check "$mode: every Go field of azure-vnet-ipam.json kept, unchanged, in place" same "$GOI" "$RT/azure-vnet-ipam.json" "${skip[@]}"
	check "$mode: our azure-vnet.json reads as Go's structs" gocheck "$RT/azure-vnet.json" "${goargs[@]}"
	check "$mode: our azure-vnet-ipam.json reads as Go's structs" gocheck "$RT/azure-vnet-ipam.json" "${goargs[@]}"
	# shellcheck disable=SC2016 # a jq program
	check "$mode: our new record as Go writes it (NetworkNameSpace, NICType, no SandboxKey)" \
		jq -e --arg c "$(cid 4)" --arg ns "/var/run/netns/${P}p4" '[.Network.ExternalInterfaces[].Networks[].Endpoints[] | select(.ContainerID == $c)][0] |
			.NetworkNameSpace == $ns and .NICType == "InfraNIC" and .SandboxKey == "" and (has("NetNs") | not) and (has("HnsId") | not)' "$RT/azure-vnet.json"
	if [ -n "$extra" ]; then
		check "bad input: the unknown address space, top-level and IPAM keys round-trip untouched" \
			jq -e '.IPAM.AddressSpaces.global.Pools["10.99.0.0/24"].Gateway == "10.99.0.1" and .IPAM.XFutureField == ["kept", 7] and .Other == {"z": 1}' "$RT/azure-vnet-ipam.json"
		check "bad input: unknown keys of azure-vnet.json round-trip untouched" \
			jq -e '.Other == {"a": [1, {"b": "c"}]} and .Network.XFutureField == "kept" and ([.Network.ExternalInterfaces[].Networks[].Endpoints[] | select(.XAnnotations)] | length) == 1' "$RT/azure-vnet.json"
	fi
	call DEL 2
	call DEL 4
	check "$mode: DEL of the rest leaves no record and no address in use" \
		bash -c "[ \"\$(jq -c '[.Network.ExternalInterfaces[].Networks[].Endpoints[]] | length' '$RT/azure-vnet.json')\" = 0 ] && [ \"\$(jq '[.IPAM.AddressSpaces.local.Pools[].Addresses[] | select(.InUse)] | length' '$RT/azure-vnet-ipam.json')\" = 0 ]"
	node_drop
}

run_node transparent 10.231 --extra
run_node bridge 10.232 ""
run_node tunnel 10.233 ""
suite_end
