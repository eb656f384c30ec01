# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# ipam.type azure-cns on Windows (issue 11), sourced by tests/windows/run.sh (its helpers: cni,
# calls, ncalls, fresh_node, check; its $scratch, $build, $NS). azure-vnet.exe under
# wine asks the CNS test double (tests/cns/cns-double.py, a native process on 127.0.0.1) over
# WinHTTP, with the shipped Windows conflists windows/azure-windows-swift.conflist (pod subnets)
# and windows/azure-windows-swift-overlay.conflist (Overlay), against the HCN test double.
cns_port=0  # the first cns_start takes a free port; a restart keeps it (the conflists name it)
cns_pid=
cns_stop() {
	[ -z "$cns_pid" ] || { kill "$cns_pid" 2>/dev/null; wait "$cns_pid" 2>/dev/null || true; }
	cns_pid=
}
# cns_start ARGS...: the CNS double on 127.0.0.1:$cns_port (a free port the first time: other
# suites may run beside this one), returns once it listens
cns_start() {
	rm -f "$scratch/cns.ready" "$scratch/cns.port"
	/usr/bin/python3 "$top/tests/cns/cns-double.py" --port "$cns_port" --count 4 \
		--port-file "$scratch/cns.port" --ready "$scratch/cns.ready" "$@" 2>>"$scratch/cns.log" &
	cns_pid=$!
	for _ in $(seq 100); do
		if [ -s "$scratch/cns.ready" ]; then
			cns_port=$(cat "$scratch/cns.port")
			return 0
		fi
		sleep 0.05
	done
	return 1
}
cns_held() { curl -s "http://127.0.0.1:$cns_port/test/pool" | jq -r --arg k "$1" '[.assigned | to_entries[] | select(.value == $k) | .key] | join(",")'; }
# cns_conf CONFLIST OUT: the runtime's config of a shipped conflist, CNS on our port
cns_conf() {
	jq --arg u "http://127.0.0.1:$cns_port" '.plugins[0] + {name, cniVersion, cnsurl: $u}' "$1" >"$2"
}

# ---- pod subnets ("swift": executionMode v4swift) ----
fresh_node cns
cns_start || bad "CNS double started"
cns_conf "$top/windows/azure-windows-swift.conflist" "$scratch/conf-cns.json"
cni ADD $C1 "$scratch/conf-cns.json"
check "CNS pod subnets: ADD exits 0 with CNS's address and gateway" \
	jqe '.ips[0].address == "10.241.0.4/16" and .ips[0].gateway == "10.241.0.1"' <<<"$out"
check "CNS pod subnets: CNS holds the address for the pod's interface" [ "$(cns_held "$(cid8 $C1)")" = 10.241.0.4 ]
check "CNS pod subnets: the HCN network is the pod subnet via CNS's gateway" \
	jqe '.doc | .Type == "L2Bridge" and .Ipams[0].Subnets[0].IpAddressPrefix == "10.241.0.0/16"
		and .Ipams[0].Subnets[0].Routes == [{"NextHop":"10.241.0.1","DestinationPrefix":"0.0.0.0/0"}]' \
	<<<"$(calls HcnCreateNetwork | head -n1)"
ep_call=$(calls HcnCreateEndpoint | tail -n1)
check "CNS pod subnets: the endpoint has the address, the conflist's policies, then Azure DNS from the NC's primary IP and IMDS NATed (Go getNATInfo)" \
	jqe '.doc.IpConfigurations == [{"IpAddress":"10.241.0.4","PrefixLength":16}] and
		.doc.Policies == [{"Type":"OutBoundNAT","Settings":{"Exceptions":["10.240.0.0/16","10.0.0.0/8"]}},
		{"Type":"SDNRoute","Settings":{"DestinationPrefix":"10.0.0.0/8","NeedEncap":true}},
		{"Type":"OutBoundNAT","Settings":{"VirtualIP":"10.241.0.2","Destinations":["168.63.129.16"]}},
		{"Type":"OutBoundNAT","Settings":{"Destinations":["169.254.169.254"]}}]' <<<"$ep_call"
jq 'del(.executionMode)' "$scratch/conf-cns.json" >"$scratch/conf-cns-noexec.json"
cni ADD $C2 "$scratch/conf-cns-noexec.json"
check "CNS pod subnets without executionMode v4swift: no DNS/IMDS NAT (as Go)" \
	jqe '[.doc.Policies[] | select(.Settings.Destinations)] == []' <<<"$(calls HcnCreateEndpoint | tail -n1)"
cni DEL $C2 "$scratch/conf-cns-noexec.json"
cni DEL $C1 "$scratch/conf-cns.json"
check "CNS pod subnets: DEL exits 0, released in CNS, endpoint gone" \
	eval "[ $rc -eq 0 ] && [ -z \"\$(cns_held $(cid8 $C1))\" ] && jq -e '.Endpoints == {}' '$hcn_state' >/dev/null"
cns_stop
n_ep=$(ncalls HcnCreateEndpoint)
cni ADD $C3 "$scratch/conf-cns.json"
check "CNS down: ADD is code 11 naming CNS, no HCN endpoint" \
	eval "jq -e '.code == 11 and (.msg | contains(\"CNS\"))' <<<'$out' >/dev/null && [ \"\$(ncalls HcnCreateEndpoint)\" = $n_ep ]"

# ---- Overlay: the node's block of the cluster's pod CIDR, no gateway from CNS ----
fresh_node cns-ovl
cns_start --subnet 10.244.0.0/16 --nc-primary 10.244.1.0 --first 10.244.1.4 --gateway "" ||
	bad "CNS double (Overlay) started"
cns_conf "$top/windows/azure-windows-swift-overlay.conflist" "$scratch/conf-ovl.json"
cni ADD $C4 "$scratch/conf-ovl.json"
check "CNS Overlay: ADD exits 0, the cluster prefix, gateway the CIDR's first address (Go's Windows rule)" \
	jqe '.ips[0].address == "10.244.1.4/16" and .ips[0].gateway == "10.244.0.1"' <<<"$out"
check "CNS Overlay: the HCN network is the pod CIDR via that gateway" \
	jqe '.doc.Ipams[0].Subnets[0] | .IpAddressPrefix == "10.244.0.0/16" and .Routes == [{"NextHop":"10.244.0.1","DestinationPrefix":"0.0.0.0/0"}]' \
	<<<"$(calls HcnCreateNetwork | head -n1)"
check "CNS Overlay: SNAT exempts the pod CIDR (the conflist's 10.0.0.0/8 covers it); no DNS/IMDS NAT" \
	jqe '(.doc.Policies[0].Settings.Exceptions == ["10.240.0.0/16","10.0.0.0/8"]) and ([.doc.Policies[] | select(.Settings.Destinations)] == [])' \
	<<<"$(calls HcnCreateEndpoint | tail -n1)"
jq '.AdditionalArgs[0].Value.ExceptionList = ["10.240.0.0/16"]' "$scratch/conf-ovl.json" >"$scratch/conf-ovl-narrow.json"
cni ADD $C5 "$scratch/conf-ovl-narrow.json"
check "CNS Overlay: a pod CIDR no exception covers is added to the OutBoundNAT exceptions" \
	jqe '.doc.Policies[0].Settings.Exceptions == ["10.240.0.0/16","10.244.0.0/16"]' <<<"$(calls HcnCreateEndpoint | tail -n1)"
cni DEL $C5 "$scratch/conf-ovl-narrow.json"
cni DEL $C4 "$scratch/conf-ovl.json"
check "CNS Overlay: DEL exits 0, released in CNS" eval "[ $rc -eq 0 ] && [ -z \"\$(cns_held $(cid8 $C4))\" ]"
cns_stop

# ---- dual-stack Overlay (AKS dualstackoverlay): CNS gives each pod an IPv4 and an IPv6 address
# (IPv6 listed first, as CNS's Go map may order them); no IPv6 gateway from CNS: Azure's ----
fresh_node cns-ds
cns_start --subnet 10.244.0.0/16 --nc-primary 10.244.1.0 --first 10.244.1.4 --gateway "" \
	--subnet6 fd44::/64 --nc-primary6 fd44::1:0 --first6 fd44::1:4 --v6-first ||
	bad "CNS double (dual-stack Overlay) started"
cni ADD $C1 "$scratch/conf-ovl.json"
check "CNS dual-stack: ADD exits 0, IPv4 first, the IPv6 gateway Azure's fe80::1234:5678:9abc" \
	jqe '[.ips[] | {address, gateway}] == [{"address":"10.244.1.4/16","gateway":"10.244.0.1"},
		{"address":"fd44::1:4/64","gateway":"fe80::1234:5678:9abc"}]' <<<"$out"
check "CNS dual-stack: the HCN network has both subnets, the endpoint both addresses (prefix lengths /16, /64) and a default route each; CNS holds both" \
	eval "jqe '.doc.Ipams[0].Subnets | map(.IpAddressPrefix) == [\"10.244.0.0/16\",\"fd44::/64\"] and .[1].Routes == [{\"NextHop\":\"fe80::1234:5678:9abc\",\"DestinationPrefix\":\"::/0\"}]' <<<'$(calls HcnCreateNetwork)' >/dev/null &&
		jqe '.doc | .IpConfigurations == [{\"IpAddress\":\"10.244.1.4\",\"PrefixLength\":16},{\"IpAddress\":\"fd44::1:4\",\"PrefixLength\":64}] and (.Routes | map(.DestinationPrefix)) == [\"0.0.0.0/0\",\"::/0\"]' <<<'$(calls HcnCreateEndpoint | tail -n1)' >/dev/null &&
		[ \"\$(cns_held $(cid8 $C1) | tr ',' '\n' | sort | tr '\n' ' ')\" = '10.244.1.4 fd44::1:4 ' ]"
cni DEL $C1 "$scratch/conf-ovl.json"
check "CNS dual-stack: DEL exits 0, both released in CNS, endpoint gone" \
	eval "[ $rc -eq 0 ] && [ -z \"\$(cns_held $(cid8 $C1))\" ] && jq -e '.Endpoints == {}' '$hcn_state' >/dev/null"
cns_stop
