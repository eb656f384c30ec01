# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Dual-stack and IPv6-only pods on Windows (issue 10), sourced by tests/windows/run.sh (its
# helpers: cni, calls, ncalls, fresh_node, check, owned_by, gc_conf; its $scratch, $top, $NS).
# azure-vnet.exe under wine with the NIC of tests/data/interfaces-dualstack.json (two more
# secondaries per family) against the HCN test double, whose address rules (a v6 IpConfiguration
# needs a v6 subnet of the network, one address per family, routes of the endpoint's families)
# stand for HNS's. Each wine call is checked for many things: the suite's time is its calls.
ds_nic() { # ds_nic [v6only]: the dual-stack NIC (IPv6 alone with v6only) as $rt/interfaces.json
	jq --arg only "${1:-}" '.Interfaces[0].IPSubnets |= map(
		.IPAddresses += [{Address: (.Prefix | sub("0/16$"; "7") | sub("::/64$"; "::7")), IsPrimary: false}]
		| select($only == "" or (.Prefix | contains(":"))))' \
		"$top/tests/data/interfaces-dualstack.json" >"$rt/interfaces.json"
}
ds_nothing_made() { # ds_nothing_made <container id> <endpoint creates before>: no endpoint, no IP
	[ "$(ncalls HcnCreateEndpoint)" = "$2" ] && [ -z "$(owned_by "$1")" ] &&
		jq -e --arg n "$(cid8 "$1")" '[.Endpoints[] | select(.Name == $n)] == []' "$hcn_state" >/dev/null
}
ds_epname() { jq -r --arg n "$(cid8 "$1")" '[.Endpoints[] | select(.Name == $n) | .ID][0] // ""' "$hcn_state"; }

# ---- dual-stack ADD: an HCN network with a subnet per family, an endpoint with both ----
fresh_node ds
ds_nic
cni ADD $C1
check "dual-stack ADD: exit 0, ips IPv4 then IPv6 with each family's IPAM gateway" \
	jqe '[.ips[] | {address, gateway}] == [{"address":"10.240.0.5/16","gateway":"10.240.0.1"},
		{"address":"fd00:db8:1::5/64","gateway":"fd00:db8:1::1"}]' <<<"$out"
check "dual-stack HcnCreateNetwork: one Static Ipam, the IPv4 subnet then the IPv6 one via Azure's fe80::1234:5678:9abc" \
	jqe '.doc.Ipams == [{"Type":"Static","Subnets":[
		{"IpAddressPrefix":"10.240.0.0/16","Routes":[{"NextHop":"10.240.0.1","DestinationPrefix":"0.0.0.0/0"}]},
		{"IpAddressPrefix":"fd00:db8:1::/64","Routes":[{"NextHop":"fe80::1234:5678:9abc","DestinationPrefix":"::/0"}]}]}]' \
	<<<"$(calls HcnCreateNetwork | tail -n1)"
check "dual-stack HcnCreateEndpoint: an IpConfiguration and a default route per family; the v6 SNAT exceptions in an OutBoundNAT of their own" \
	jqe '.doc | .IpConfigurations == [{"IpAddress":"10.240.0.5","PrefixLength":16},{"IpAddress":"fd00:db8:1::5","PrefixLength":64}]
		and .Routes == [{"NextHop":"10.240.0.1","DestinationPrefix":"0.0.0.0/0"},{"NextHop":"fe80::1234:5678:9abc","DestinationPrefix":"::/0"}]
		and ([.Policies[] | select(.Type == "OutBoundNAT") | .Settings.Exceptions] | (.[0] | all(contains(":") | not)) and .[-1] == ["fd00:db8:1::/64"])' \
	<<<"$(calls HcnCreateEndpoint | tail -n1)"
check "dual-stack ADD: IPAM holds both for c1, the record both, HNS's endpoint attached" \
	eval "[ \"\$(owned_by $C1 | sort | tr '\n' ' ')\" = '10.240.0.5 fd00:db8:1::5 ' ] &&
		jqe --arg id $(cid8 $C1) '[.Network.ExternalInterfaces[].Networks.azure.Endpoints[\$id].IPAddresses[].IP] == [\"10.240.0.5\",\"fd00:db8:1::5\"]' '$rt/azure-vnet.json' >/dev/null &&
		jqe --arg ep \"\$(ds_epname $C1)\" '.Namespaces[].Resources | any(.Data.ID == \$ep)' '$hcn_state' >/dev/null"
cni CHECK $C1 "$scratch/conf-1.0.json"
check "dual-stack CHECK: exit 0" [ $rc -eq 0 ]
jq '.cniVersion = "0.2.0"' "$scratch/conf.json" >"$scratch/conf-0.2.json"
cni ADD $C1 "$scratch/conf-0.2.json"
check "dual-stack repeated ADD, cniVersion 0.2.0: ip4 and ip6 as before, no second endpoint" \
	eval "jq -e '.ip4.ip == \"10.240.0.5/16\" and .ip6.ip == \"fd00:db8:1::5/64\"' <<<'$out' >/dev/null && [ \"\$(ncalls HcnCreateEndpoint)\" = 1 ]"
cp "$hcn_state" "$scratch/ds-saved.json"
jq --arg ep "$(ds_epname $C1)" '.Endpoints[$ep].IpConfigurations |= map(select(.IpAddress | contains(":") | not))' \
	"$scratch/ds-saved.json" >"$hcn_state"
cni CHECK $C1 "$scratch/conf-1.0.json"
check "dual-stack CHECK: the endpoint without its IPv6 configuration fails naming fd00:db8:1::5" \
	jqe '.code != 0 and (.msg | contains("fd00:db8:1::5"))' <<<"$out"
cp "$scratch/ds-saved.json" "$hcn_state"

# ---- rollback: HNS fails midway (attach after the create); nothing of either family stays ----
n_ep=$(ncalls HcnCreateEndpoint)
FAKE_HCN_FAIL=HcnModifyNamespace:0x80004005 cni ADD $C2
check "dual-stack rollback (namespace attach failed): code 103, the endpoint made and deleted, no address of c2 held" \
	eval "jq -e '.code == 103' <<<'$out' >/dev/null && [ \"\$(ncalls HcnCreateEndpoint)\" = $((n_ep + 1)) ] &&
		ds_nothing_made $C2 $((n_ep + 1))"

# ---- bad input: code 7 naming the field, no HCN endpoint, no address ----
n_ep=$(ncalls HcnCreateEndpoint)
for bad in '"ipAddress":"fd00:db8:1::6","subnet":"10.240.0.0/16"' '"subnet":"fd00:db8:1::/80"'; do
	jq -c ".ipam += {$bad}" "$scratch/conf.json" >"$scratch/conf-dsbad.json"
	cni ADD $C2 "$scratch/conf-dsbad.json"
	check "dual-stack ipam {$bad}: code 7 naming the field, nothing made" \
		eval "jq -e '.code == 7 and (.msg | test(\"ipam.(ipAddress|subnet)\"))' <<<'$out' >/dev/null && ds_nothing_made $C2 $n_ep"
done

# ---- GC, DEL: both families go ----
AZURE_CNI_FAULT_LOG="$RT_W\\steps" cni ADD $C3
gc_conf "$scratch/gc-ds.json" "$C1"
cni GC $C1 "$scratch/gc-ds.json"
check "dual-stack GC [c1]: exit 0, c3's endpoint and both its addresses gone, c1 kept" \
	eval "[ $rc -eq 0 ] && [ -z \"\$(ds_epname $C3)\" ] && [ -z \"\$(owned_by $C3)\" ] && [ -n \"\$(ds_epname $C1)\" ]"
# an ADD killed after its IPAM step (both addresses taken, no endpoint, no record), then a GC
# without it: both addresses released (the GC kept the second one: its own owner lock, taken
# for the first, looked like a running call of that owner)
step=$(tr -d '\r' <"$rt/steps" | awk '$2 == "ADD" && $3 == "ipam" {print $1; exit}') || true # CRLF: the exe's text mode
AZURE_CNI_FAULT_KILL_AT=$step cni ADD $C3
check "dual-stack ADD killed at step $step (ADD ipam): both addresses of c3 held, no endpoint" \
	eval "[ $rc -eq 137 ] && [ \"\$(owned_by $C3 | wc -l)\" = 2 ] && [ -z \"\$(ds_epname $C3)\" ]"
cni GC $C1 "$scratch/gc-ds.json"
check "dual-stack GC [c1] after it: exit 0, both addresses of c3 released" \
	eval "[ $rc -eq 0 ] && [ -z \"\$(owned_by $C3)\" ]"
cni DEL $C1
check "dual-stack DEL: exit 0, endpoint gone, both addresses free, record gone" \
	eval "[ $rc -eq 0 ] && jqe '.Endpoints == {}' '$hcn_state' >/dev/null && [ -z \"\$(owned_by $C1)\" ] &&
		jqe '[.Network.ExternalInterfaces[].Networks.azure.Endpoints | length] == [0]' '$rt/azure-vnet.json' >/dev/null"

# ---- an HNS network made IPv4-only before the NIC had IPv6: HNS refuses the v6 address ----
fresh_node ds4
ds_nic
jq '.Networks["6A7B8C9D-0000-4000-8000-000000000001"] = {ID: "6A7B8C9D-0000-4000-8000-000000000001", Name: "azure", Type: "L2Bridge",
	Ipams: [{Type: "Static", Subnets: [{IpAddressPrefix: "10.240.0.0/16", Routes: [{NextHop: "10.240.0.1", DestinationPrefix: "0.0.0.0/0"}]}]}]}' \
	"$hcn_state" >"$hcn_state.new" && mv "$hcn_state.new" "$hcn_state"
cni ADD $C1
check "IPv4-only HNS network, dual-stack pod: HNS's 0x80070057 (no v6 subnet), code 103, nothing of c1 left" \
	eval "jq -e '.code == 103 and (.msg | contains(\"0x80070057\"))' <<<'$out' >/dev/null &&
		[ \"\$(calls HcnCreateEndpoint | jq -r .rule)\" = \"an IpConfiguration's address is in no subnet of the network\" ] &&
		ds_nothing_made $C1 1"

# ---- IPv6-only NIC: an IPv6 network and endpoint; asking for IPv4 is code 7 ----
fresh_node ds6
ds_nic v6only
cni ADD $C1
check "IPv6-only ADD: exit 0, the IPv6 address alone" \
	jqe '[.ips[] | {address, gateway}] == [{"address":"fd00:db8:1::5/64","gateway":"fd00:db8:1::1"}]' <<<"$out"
check "IPv6-only HNS: the network's one subnet is IPv6, the endpoint's one IpConfiguration and route too" \
	eval "jqe '.doc.Ipams[0].Subnets == [{\"IpAddressPrefix\":\"fd00:db8:1::/64\",\"Routes\":[{\"NextHop\":\"fe80::1234:5678:9abc\",\"DestinationPrefix\":\"::/0\"}]}]' <<<'$(calls HcnCreateNetwork)' >/dev/null &&
		jqe '.doc | .IpConfigurations == [{\"IpAddress\":\"fd00:db8:1::5\",\"PrefixLength\":64}] and .Routes == [{\"NextHop\":\"fe80::1234:5678:9abc\",\"DestinationPrefix\":\"::/0\"}]' <<<'$(calls HcnCreateEndpoint)' >/dev/null"
cni CHECK $C1 "$scratch/conf-1.0.json"
check "IPv6-only CHECK: exit 0" [ $rc -eq 0 ]
jq -c '.ipam += {ipAddress: "10.240.0.6"}' "$scratch/conf.json" >"$scratch/conf-dsbad.json"
cni ADD $C2 "$scratch/conf-dsbad.json"
check "IPv6-only NIC, ipam.ipAddress 10.240.0.6: code 7 naming ipam.ipAddress, nothing made" \
	eval "jq -e '.code == 7 and (.msg | contains(\"ipam.ipAddress\"))' <<<'$out' >/dev/null && ds_nothing_made $C2 1"
cni DEL $C1
check "IPv6-only DEL: exit 0, endpoint gone, the address free" \
	eval "[ $rc -eq 0 ] && jqe '.Endpoints == {}' '$hcn_state' >/dev/null && [ -z \"\$(owned_by $C1)\" ]"
