#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Windows end-to-end under wine: cross-builds everything (ci/build-windows.sh), runs the Windows
# unit tests (ctest, wine as the emulator), then the real azure-vnet.exe / azure-vnet-ipam.exe for
# ADD, CHECK, DEL with the shipped Windows conflist against the HCN test double
# (tests/windows/fake-hcn), asserting the JSON documents the double received and the CNI results.
# Cases B21, B22, B24 of ../shared/cases/bug-cases.md, plus hung HNS, missing namespace, stale
# endpoint of the same name, missing DLL, dual-stack and IPv6-only pods (tests/windows/dualstack.sh),
# ipam.type azure-cns (tests/windows/cns.sh); then the crash tests (tests/windows/crash.sh: killed at
# every step of ADD, DEL and GC). Everything lives in a scratch dir removed at the end.
# Usage: tests/windows/run.sh      (root on Debian 12; installs mingw-w64/wine when missing)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/lib/jqe.sh
. "$top/tests/lib/jqe.sh"
# shellcheck source=tests/lib/suite.sh
. "$top/tests/lib/suite.sh"
build=${AZCNI_WIN_BUILD:-$top/build-windows}

need=()
command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64)
command -v wine >/dev/null || need+=(wine wine64)
command -v jq >/dev/null || need+=(jq)
if [ ${#need[@]} -gt 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >/dev/null
fi

"$top/ci/build-windows.sh" "$build" >/dev/null

scratch=$(mktemp -d /tmp/azcni-win.XXXXXX)
export WINEPREFIX=$scratch/prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
nm_pid=
cleanup() {
	[ -z "$nm_pid" ] || kill "$nm_pid" 2>/dev/null || true
	[ -z "${cns_pid:-}" ] || kill "$cns_pid" 2>/dev/null || true
	wineserver -k >/dev/null 2>&1 || true
	rm -rf "$scratch"
}
trap cleanup EXIT
GUARD_S=120 # a hung program fails its check (status 124) instead of hanging the suite; never asserted on

suite_begin "$scratch/results"
# check DESC CMD...: CMD's status decides (its stdout is not shown); a failure shows $out, the
# output of the plugin call the check is about
suite_on_fail() { echo "     last output: $(tr -d '\n\t' <<<"${out:-}")"; }

# ---- unit tests of the Windows-only code, under wine through ctest's emulator ----
wineboot -i >/dev/null 2>&1 || true
# every cross-built unit test (portable code, test-os with its Windows path expectations, and
# tests/windows/test-*.c)
if (cd "$scratch" && ctest --test-dir "$build" --output-on-failure) >"$scratch/ctest.log" 2>&1; then
	ok "ctest (Windows unit tests under wine): $(grep -c 'Passed' "$scratch/ctest.log") passed"
else
	bad "ctest (Windows unit tests under wine)"
	tr -d '\r' <"$scratch/ctest.log" | tail -n 40
fi

# ---- end-to-end set-up ----
rt=$scratch/rt
mkdir -p "$rt"
cp "$build/tests/windows/fake-hcn/computenetwork.dll" "$scratch/fake-computenetwork.dll"
cp "$top/tests/data/interfaces.json" "$rt/interfaces.json"
win() { winepath -w "$1" 2>/dev/null; }
RT_W=$(win "$rt")
DLL_W=$(win "$scratch/fake-computenetwork.dll")
export FAKE_HCN_STATE="$RT_W\\fake-hcn.json" FAKE_HCN_LOG="$RT_W\\hcn-calls.log"
hcn_state=$rt/fake-hcn.json
hcn_log=$rt/hcn-calls.log
NS=5c1c7a10-8d4e-4c0b-9b1e-2f3a4b5c6d7e          # containerd passes lower case
NS_UP=$(echo "$NS" | tr a-f A-F)                 # HNS prints upper case

seed_namespace() {
	jq -n --arg id "$NS_UP" '{Networks:{},Endpoints:{},Namespaces:{($id):{ID:$id,Type:"HostDefault",Resources:[]}}}' >"$hcn_state"
}
# fresh_node TAG: a runtime dir $scratch/rt-TAG of its own and a fresh fake HNS for the next cases
fresh_node() {
	rt=$scratch/rt-$1
	mkdir -p "$rt"
	RT_W=$(win "$rt")
	export FAKE_HCN_STATE="$RT_W\\fake-hcn.json" FAKE_HCN_LOG="$RT_W\\hcn-calls.log"
	hcn_state=$rt/fake-hcn.json
	hcn_log=$rt/hcn-calls.log
	seed_namespace
}
seed_namespace

# the plugin config as a runtime builds it from the conflist: plugins[0] + name + cniVersion,
# with the IPAM source switched to the interfaces.json file (no wireserver here)
conflist=$top/tests/data/conflist/10-azure-windows.conflist
check "package folder: the three programs, the conflist and install.ps1" \
	eval "cd '$build/package' && [ -s azure-vnet.exe ] && [ -s azure-vnet-ipam.exe ] && [ -s azure-vnet-inspect.exe ] && cmp -s 10-azure.conflist '$top/windows/10-azure.conflist' && cmp -s install.ps1 '$top/windows/install.ps1'"
jq '.plugins[0] + {name: .name, cniVersion: .cniVersion} | .ipam.environment = "mas"' "$conflist" >"$scratch/conf.json"

# vnet_exe <command> <container id> <netns>: exec azure-vnet.exe (config on stdin) with the test
# environment, under the $GUARD_S guard unless GUARD_S is empty; RT_DIR set and empty: no runtime
# and log directory override (the defaults: the working directory)
vnet_exe() {
	AZURE_CNI_RUNTIME_DIR="${RT_DIR-$RT_W}" AZURE_CNI_LOG_DIR="${RT_DIR-$RT_W}" \
		AZURE_CNI_MAS_FILE="$RT_W\\interfaces.json" AZURE_CNI_HCN_DLL="${HCN_DLL-$DLL_W}" \
		AZURE_CNI_NMAGENT_URL="${NM_URL:-http://127.0.0.1:1/no-nmagent}" \
		CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=$3 CNI_IFNAME=eth0 \
		CNI_PATH='C:\k\azurecni\bin;C:\opt\cni\bin' \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-$2;K8S_POD_INFRA_CONTAINER_ID=$2" \
		exec ${GUARD_S:+timeout "$GUARD_S"} wine "$build/bin/azure-vnet.exe"
}
# cni <command> <container id> [conf file] [netns]: runs azure-vnet.exe; stdout in $out, status in $rc
cni() {
	local cmd=$1 cid=$2 conf=${3:-$scratch/conf.json} ns=${4:-$NS}
	set +e
	out=$(vnet_exe "$cmd" "$cid" "$ns" <"$conf")
	rc=$?
	set -e
	if [[ $out == *$'\r'* ]]; then
		bad "$cmd $cid: stdout has CR characters"
	fi
}
calls() { [ -f "$hcn_log" ] && jq -c "select(.fn == \"$1\")" "$hcn_log" || true; }
ncalls() { calls "$1" | grep -c . || true; }
ipam_inuse() { # ipam_inuse <ip>: prints true/false
	jq -r --arg ip "$1" '[.IPAM.AddressSpaces[].Pools[].Addresses[$ip].InUse] | map(select(. != null)) | .[0] // false' "$rt/azure-vnet-ipam.json"
}
cid8() { echo "${1:0:8}-eth0"; }

C1=c1aaaaaa11112222333344445555
C2=c2bbbbbb11112222333344445555
C3=c3cccccc11112222333344445555
C4=c4dddddd11112222333344445555
C5=c5eeeeee11112222333344445555

# ---- ADD with the shipped conflist ----
cni ADD $C1
check "ADD c1 exits 0" [ $rc -eq 0 ]
check "ADD c1 result: address, gateway, interface" \
	jqe '.ips[0].address == "10.240.0.5/16" and .ips[0].gateway == "10.240.0.1" and .interfaces[0].name == "eth0"' <<<"$out"
check "ADD c1 result dns: nameservers and per-namespace search" \
	jqe '.dns.nameservers == ["10.0.0.10","168.63.129.16"] and .dns.search == ["default.svc.cluster.local"]' <<<"$out"
net_doc=$(calls HcnCreateNetwork | head -n1)
check "HcnCreateNetwork: L2Bridge, Flags 8, static subnet with default route via the gateway" \
	jqe '.doc | .Name == "azure" and .Type == "L2Bridge" and .Flags == 8 and .SchemaVersion.Major == 2
		and .Ipams[0].Type == "Static" and .Ipams[0].Subnets[0].IpAddressPrefix == "10.240.0.0/16"
		and .Ipams[0].Subnets[0].Routes == [{"NextHop":"10.240.0.1","DestinationPrefix":"0.0.0.0/0"}]' <<<"$net_doc"
net_id=$(jq -r '.id' <<<"$net_doc")
ep_call=$(calls HcnCreateEndpoint | head -n1)
check "HcnCreateEndpoint: name, network, IP, route, DNS" \
	jqe --arg n "$(cid8 $C1)" --arg net "$net_id" '.network == $net and (.doc | .Name == $n
		and (.HostComputeNetwork | ascii_upcase) == $net
		and .IpConfigurations == [{"IpAddress":"10.240.0.5","PrefixLength":16}]
		and .Routes == [{"NextHop":"10.240.0.1","DestinationPrefix":"0.0.0.0/0"}]
		and .Dns.ServerList == ["10.0.0.10","168.63.129.16"] and .Dns.Search == ["default.svc.cluster.local"])' <<<"$ep_call"
check "HcnCreateEndpoint: conflist policies translated to v2, in order" \
	jqe '.doc.Policies == [{"Type":"OutBoundNAT","Settings":{"Exceptions":["10.240.0.0/16","10.0.0.0/8"]}},
		{"Type":"SDNRoute","Settings":{"DestinationPrefix":"10.0.0.0/8","NeedEncap":true}}]' <<<"$ep_call"
ep1=$(jq -r '.id' <<<"$ep_call")
check "HcnModifyNamespace: Add endpoint to CNI_NETNS" \
	jqe --arg ns "$NS_UP" --arg ep "$ep1" 'select(.id == $ns) | .doc == {"ResourceType":"Endpoint","RequestType":"Add","Settings":{"EndpointId":($ep | ascii_downcase)}}' \
	<<<"$(calls HcnModifyNamespace | tail -n1)"
check "fake HNS holds the endpoint in the namespace" \
	jqe --arg ns "$NS_UP" --arg ep "$ep1" '.Namespaces[$ns].Resources[0].Data.ID == $ep and .Endpoints[$ep].HostComputeNamespace == $ns' "$hcn_state"
check "azure-vnet.json records network and endpoint HNS IDs" \
	jqe --arg net "$net_id" --arg ep "$ep1" --arg epid "$(cid8 $C1)" \
	'[.Network.ExternalInterfaces[].Networks.azure] | .[0] | (.HnsId | ascii_upcase) == $net and (.Endpoints[$epid].HnsId | ascii_upcase) == $ep' "$rt/azure-vnet.json"
check "azure-vnet.json: SandboxKey the container ID, NetNs the namespace GUID (as Go's Windows record)" \
	jqe --arg epid "$(cid8 $C1)" --arg c "$C1" --arg ns "$NS" \
	'[.Network.ExternalInterfaces[].Networks.azure.Endpoints[$epid]] | .[0] | .SandboxKey == $c and (.NetNs | ascii_downcase) == $ns' "$rt/azure-vnet.json"
check "azure-vnet-ipam.json: 10.240.0.5 in use" [ "$(ipam_inuse 10.240.0.5)" = true ]
check "log file C:\\k-style azure-vnet.log written" grep -q 'ADD' "$rt/azure-vnet.log"
# azure-vnet-inspect.exe (in the zip) on this node: c1's address with its pod, the HNS endpoint
# found by enumeration, nothing inconsistent (exit status 0)
add1_out=$out  # the ADD's result, kept for the repeated ADD below ($out shows a failed check)
set +e
insp=$(AZURE_CNI_RUNTIME_DIR="$RT_W" AZURE_CNI_LOG_DIR="$RT_W" AZURE_CNI_HCN_DLL="$DLL_W" \
	timeout "${GUARD_S:-60}" wine "$build/bin/azure-vnet-inspect.exe" --json 2>>"$scratch/inspect.err")
insp_rc=$?
set -e
insp_ok() {
	[ "$insp_rc" -eq 0 ] && jq -e --arg c "$C1" --arg ep "$(cid8 $C1)" '.consistent and any(.allocations[];
		.address == "10.240.0.5" and .containerID == $c and .podNamespace == "default"
		and .podName == ("pod-" + $c) and .hostInterface == $ep)' <<<"$insp"
}
out="rc $insp_rc: $insp"
check "azure-vnet-inspect.exe --json: exit 0, c1's 10.240.0.5 with pod default/pod-$C1, HNS endpoint $(cid8 $C1)" insp_ok
# the HNS endpoint gone behind the plugin's back (HNS restarted, deleted by hand): a stale record
cp "$hcn_state" "$scratch/hcn-saved.json"
jq '.Endpoints = {} | .Namespaces[].Resources = []' "$scratch/hcn-saved.json" >"$hcn_state"
set +e
insp=$(AZURE_CNI_RUNTIME_DIR="$RT_W" AZURE_CNI_LOG_DIR="$RT_W" AZURE_CNI_HCN_DLL="$DLL_W" \
	timeout "${GUARD_S:-60}" wine "$build/bin/azure-vnet-inspect.exe" --json 2>>"$scratch/inspect.err")
insp_rc=$?
set -e
out="rc $insp_rc: $insp"
check "azure-vnet-inspect.exe: the HNS endpoint gone is a stale-record naming it, exit 1" \
	eval "[ $insp_rc -eq 1 ] && jq -e --arg n '$(cid8 $C1)' '[.problems[] | select(.kind == \"stale-record\")] | length == 1 and (.[0].message | contains(\$n))' <<<\"\$insp\""
cp "$scratch/hcn-saved.json" "$hcn_state"
# no HNS on the node (computenetwork.dll missing): the state files alone, exit 3, no leak judged
set +e
insp=$(AZURE_CNI_RUNTIME_DIR="$RT_W" AZURE_CNI_LOG_DIR="$RT_W" AZURE_CNI_HCN_DLL='C:\no\such.dll' \
	timeout "${GUARD_S:-60}" wine "$build/bin/azure-vnet-inspect.exe" --json 2>"$scratch/inspect3.err")
insp_rc=$?
set -e
out="rc $insp_rc: $insp $(cat "$scratch/inspect3.err")"
check "azure-vnet-inspect.exe without HNS: exit 3, osChecked false, c1's allocation listed, no problem, a message" \
	eval "[ $insp_rc -eq 3 ] && jq -e '.osChecked == false and .problems == [] and any(.allocations[]; .address == \"10.240.0.5\")' <<<\"\$insp\" >/dev/null && grep -q 'not checked' '$scratch/inspect3.err'"

# ---- repeated ADD: same answer, no second endpoint, no second IP ----
owned_by() { # owned_by <container id>: the addresses IPAM holds for it, one a line
	jq -r --arg c "$1" '.IPAM.AddressSpaces[].Pools[].Addresses[] | select(.InUse and (.ID | startswith($c))) | .Addr' "$rt/azure-vnet-ipam.json"
}
named() { jq -r --arg n "$1" '[.Endpoints[] | select(.Name == $n)] | length' "$hcn_state"; }
cni ADD $C1
check "repeated ADD c1 exits 0 with the same result" \
	eval "[ $rc -eq 0 ] && [ \"\$(jq -cS . <<<\"\$out\")\" = \"\$(jq -cS . <<<\"\$add1_out\")\" ]"
check "repeated ADD c1 creates nothing" [ "$(ncalls HcnCreateEndpoint)" -eq 1 ]
check "repeated ADD c1: one endpoint of that name, one IP" \
	eval "[ \$(named $(cid8 $C1)) -eq 1 ] && [ \"\$(owned_by $C1)\" = 10.240.0.5 ]"

# ---- CHECK ----
jq '.cniVersion = "1.0.0"' "$scratch/conf.json" >"$scratch/conf-1.0.json"
jq '.windowsSettings = {hnsTimeoutDurationInSeconds: 2}' "$scratch/conf.json" >"$scratch/conf-timeout.json"
cni CHECK $C1 "$scratch/conf-1.0.json"
check "CHECK c1 exits 0" [ $rc -eq 0 ]
cni CHECK $C2 "$scratch/conf-1.0.json"
check "CHECK of an unknown container fails" [ $rc -ne 0 ]

# ---- DEL ----
cni DEL $C1
check "DEL c1 exits 0" [ $rc -eq 0 ]
check "DEL c1: namespace Remove then HcnDeleteEndpoint" \
	jqe --arg ep "$ep1" '.doc.RequestType == "Remove" and .doc.Settings.EndpointId == ($ep | ascii_downcase)' <<<"$(calls HcnModifyNamespace | tail -n1)"
check "DEL c1: endpoint gone from HNS" jqe '.Endpoints == {}' "$hcn_state"
check "DEL c1: IP free" [ "$(ipam_inuse 10.240.0.5)" = false ]
check "DEL c1: state entry removed" jqe '[.Network.ExternalInterfaces[].Networks.azure.Endpoints | length] == [0]' "$rt/azure-vnet.json"
check "DEL c1: the network stays" jqe '.Networks | length == 1' "$hcn_state"
cni DEL $C1
check "DEL c1 again exits 0 (idempotent)" [ $rc -eq 0 ]

# ---- B21: every OutBoundNAT exception, ROUTE -> SDNRoute; malformed policy = code 7, no HCN call ----
jq '.AdditionalArgs = [
	{Name: "EndpointPolicy", Value: {Type: "OutBoundNAT", ExceptionList: ["10.0.0.0/8","172.16.0.0/12","192.168.0.0/16"]}},
	{Name: "EndpointPolicy", Value: {Type: "ROUTE", DestinationPrefix: "10.96.0.0/12", NeedEncap: true}}]' \
	"$scratch/conf.json" >"$scratch/conf-b21.json"
cni ADD $C2 "$scratch/conf-b21.json"
check "B21 ADD exits 0" [ $rc -eq 0 ]
check "B21 endpoint policies: all three exceptions, then SDNRoute" \
	jqe '.doc.Policies == [{"Type":"OutBoundNAT","Settings":{"Exceptions":["10.0.0.0/8","172.16.0.0/12","192.168.0.0/16"]}},
		{"Type":"SDNRoute","Settings":{"DestinationPrefix":"10.96.0.0/12","NeedEncap":true}}]' <<<"$(calls HcnCreateEndpoint | tail -n1)"
cni DEL $C2 "$scratch/conf-b21.json"
check "B21 DEL exits 0" [ $rc -eq 0 ]
jq '.AdditionalArgs = [{Name: "EndpointPolicy", Value: "OutBoundNAT:10.0.0.0/8"}]' "$scratch/conf.json" >"$scratch/conf-bad.json"
: >"$hcn_log"
cni ADD $C2 "$scratch/conf-bad.json"
check "B21 malformed policy: code 7" jqe '.code == 7' <<<"$out"
check "B21 malformed policy: no HCN call at all" [ ! -s "$hcn_log" ]
check "B21 malformed policy: no IP taken" [ "$(ipam_inuse 10.240.0.5)" = false ]

# ---- B22: DEL when the endpoint does not exist ----
FAKE_HCN_FAIL=HcnCreateEndpoint:0x803b000d cni ADD $C2
check "B22a ADD with HNS invalid-policy failure: code 103 with the HNS message" \
	jqe '.code == 103 and (.msg | test("0x803b000d")) and (.details | test("policy configuration is invalid"))' <<<"$out"
check "B22a failed ADD released its IP" [ "$(ipam_inuse 10.240.0.5)" = false ]
cni DEL $C2
check "B22a DEL after the failed ADD exits 0" [ $rc -eq 0 ]
cni ADD $C3
ep3=$(jq -r '.id' <<<"$(calls HcnCreateEndpoint | tail -n1)")
check "B22b ADD c3 exits 0" [ $rc -eq 0 ]
jq --arg ep "$ep3" 'del(.Endpoints[$ep]) | .Namespaces[].Resources = []' "$hcn_state" >"$hcn_state.new" && mv "$hcn_state.new" "$hcn_state"
cni DEL $C3
check "B22b DEL of an endpoint deleted out of band exits 0" [ $rc -eq 0 ]
check "B22b its IP is free" [ "$(ipam_inuse 10.240.0.5)" = false ]
check "B22b its state entry is gone" jqe '[.Network.ExternalInterfaces[].Networks.azure.Endpoints | length] == [0]' "$rt/azure-vnet.json"
cni DEL $C3
check "B22b second DEL exits 0" [ $rc -eq 0 ]
cni ADD $C3
FAKE_HCN_FAIL=HcnDeleteEndpoint:0x80004005 cni DEL $C3
check "B22 other HNS errors are still reported (code 103)" jqe '.code == 103' <<<"$out"
check "B22 ... but the IP is released anyway" [ "$(ipam_inuse 10.240.0.5)" = false ]
cni DEL $C3
check "B22 retried DEL finishes (exit 0, endpoint gone)" bash -c "[ $rc -eq 0 ] && jq -e '.Endpoints == {}' '$hcn_state' >/dev/null"

# ---- B24: HNS lost the network (reboot / HNS restart) ----
cni ADD $C4
check "B24 ADD c4 exits 0" [ $rc -eq 0 ]
ip4=$(jq -r '.ips[0].address' <<<"$out" | cut -d/ -f1)
old_net=$(jq -r '.Networks | keys[0]' "$hcn_state")
seed_namespace # the non-persistent network and its endpoints are gone; containerd made a new namespace
cni ADD $C5
check "B24 ADD c5 after HNS lost the network exits 0" [ $rc -eq 0 ]
new_net=$(jq -r '.Networks | keys[0]' "$hcn_state")
check "B24 network re-created with a new ID" bash -c "[ -n '$new_net' ] && [ '$new_net' != '$old_net' ] && [ '$new_net' != null ]"
check "B24 state records the new network ID" \
	jqe --arg net "$new_net" '[.Network.ExternalInterfaces[].Networks.azure.HnsId | ascii_upcase] == [$net]' "$rt/azure-vnet.json"
cni DEL $C4
check "B24 DEL c4 (endpoint lost with the network) exits 0" [ $rc -eq 0 ]
check "B24 c4's IP ($ip4) is free" [ "$(ipam_inuse "$ip4")" = false ]
cni DEL $C5
check "B24 DEL c5 exits 0" [ $rc -eq 0 ]

# ---- a stale endpoint of the same name (kubernetes#74766) is replaced ----
jq --arg net "$new_net" '.Endpoints["0B3C1F6E-3F1D-4B3C-9D4E-1A2B3C4D5E6F"] = {ID: "0B3C1F6E-3F1D-4B3C-9D4E-1A2B3C4D5E6F", Name: "c1aaaaaa-eth0", HostComputeNetwork: $net}' \
	"$hcn_state" >"$hcn_state.new" && mv "$hcn_state.new" "$hcn_state"
cni ADD $C1
check "ADD over a stale same-name endpoint exits 0" [ $rc -eq 0 ]
check "... and the stale endpoint was deleted" jqe '.Endpoints | has("0B3C1F6E-3F1D-4B3C-9D4E-1A2B3C4D5E6F") | not' "$hcn_state"
cni DEL $C1

# ---- kubernetes#74766: an ADD killed after HcnCreateEndpoint left the endpoint (not attached,
# no record) and the IP; the runtime's retry must end with one endpoint and one IP ----
jq '.windowsSettings = {hnsTimeoutDurationInSeconds: 600}' "$scratch/conf.json" >"$scratch/conf-slow.json"
: >"$hcn_log"
GUARD_S= FAKE_HCN_FAIL=HcnModifyNamespace:hang vnet_exe ADD $C1 $NS <"$scratch/conf-slow.json" >/dev/null &
killed=$!
for _ in $(seq 600); do [ "$(ncalls HcnModifyNamespace)" -ge 1 ] && break; sleep 0.1; done # a bound, not an assert
kill -KILL $killed 2>/dev/null || true
wait $killed 2>/dev/null || true
ep_killed=$(calls HcnCreateEndpoint | jq -r '.id' | tail -n1)
ip_killed=$(calls HcnCreateEndpoint | jq -r '.doc.IpConfigurations[0].IpAddress' | tail -n1)
check "74766 set-up: the killed ADD left its endpoint, unattached, and its IP" \
	eval "[ -n '$ep_killed' ] && [ \$(named $(cid8 $C1)) -eq 1 ] && [ \"\$(owned_by $C1)\" = '$ip_killed' ] &&
		jqe '.Namespaces[].Resources == []' '$hcn_state' >/dev/null"
cni ADD $C1
check "74766 retried ADD exits 0 with the same IP" jqe --arg ip "$ip_killed/16" '.ips[0].address == $ip' <<<"$out"
check "74766 the leftover endpoint was removed: one endpoint of that name, a new one, attached" \
	eval "[ \$(named $(cid8 $C1)) -eq 1 ] && jqe --arg old '$ep_killed' --arg ns '$NS_UP' \
		'.Endpoints | has(\$old) | not' '$hcn_state' >/dev/null &&
		jqe --arg ns '$NS_UP' '.Namespaces[\$ns].Resources | length == 1' '$hcn_state' >/dev/null"
check "74766 one IP held by the container" eval "[ \"\$(owned_by $C1)\" = '$ip_killed' ]"
cni ADD $C1
check "74766 and a further ADD creates nothing more" \
	eval "[ $rc -eq 0 ] && [ \$(ncalls HcnCreateEndpoint) -eq 2 ] && [ \$(named $(cid8 $C1)) -eq 1 ]"
cni DEL $C1
check "74766 DEL exits 0, nothing left" \
	eval "[ $rc -eq 0 ] && jqe '.Endpoints == {}' '$hcn_state' >/dev/null && [ -z \"\$(owned_by $C1)\" ]"

# ---- GC (CNI 1.1.0): endpoints and IPs of attachments not in cni.dev/valid-attachments ----
# gc_conf <file> <container id...>: the 1.1.0 config with those containers (eth0) valid
gc_conf() {
	local f=$1
	shift
	jq '.cniVersion = "1.1.0" | .["cni.dev/valid-attachments"] = [$ARGS.positional[] | {containerID: ., ifname: "eth0"}]' \
		--args "$@" <"$scratch/conf.json" >"$f"
}
ep_of() { jq -r --arg n "$(cid8 "$1")" '[.Endpoints[] | select(.Name == $n) | .ID][0] // ""' "$hcn_state"; }
has_record() { jqe --arg id "$(cid8 "$1")" '[.Network.ExternalInterfaces[].Networks.azure.Endpoints | has($id)] == [true]' "$rt/azure-vnet.json" >/dev/null; }
cni ADD $C1
ip_c1=$(jq -r '.ips[0].address' <<<"$out" | cut -d/ -f1)
cni ADD $C2
ip_c2=$(jq -r '.ips[0].address' <<<"$out" | cut -d/ -f1)
cni ADD $C3
ip_c3=$(jq -r '.ips[0].address' <<<"$out" | cut -d/ -f1)
ep_c2=$(ep_of $C2)
check "GC set-up: three pods with three addresses" eval "[ -n '$ep_c2' ] && [ \$(printf '%s\n' $ip_c1 $ip_c2 $ip_c3 | sort -u | grep -c .) -eq 3 ]"
gc_conf "$scratch/gc-13.json" $C1 $C3
: >"$hcn_log"
cni GC $C1 "$scratch/gc-13.json"
check "GC [c1 c3] exits 0 with empty stdout" eval "[ $rc -eq 0 ] && [ -z '$out' ]"
check "GC: c2's endpoint detached from its namespace, then deleted" \
	jq -es --arg ep "$ep_c2" '[.[] | select(.fn == "HcnModifyNamespace" or .fn == "HcnDeleteEndpoint")] |
		length == 2 and .[0].doc.RequestType == "Remove" and (.[0].doc.Settings.EndpointId | ascii_upcase) == $ep
		and .[1].fn == "HcnDeleteEndpoint" and .[1].id == $ep' "$hcn_log"
check "GC: c2's endpoint gone from HNS, c1 and c3 kept" \
	eval "[ -z \"\$(ep_of $C2)\" ] && [ -n \"\$(ep_of $C1)\" ] && [ -n \"\$(ep_of $C3)\" ]"
check "GC: c2's IP ($ip_c2) free, c1's and c3's in use" \
	eval "[ \"\$(ipam_inuse $ip_c2)\" = false ] && [ \"\$(ipam_inuse $ip_c1)\" = true ] && [ \"\$(ipam_inuse $ip_c3)\" = true ]"
check "GC: c2's record gone, c1's and c3's kept" eval "! has_record $C2 && has_record $C1 && has_record $C3"
: >"$hcn_log"
cni GC $C1 "$scratch/gc-13.json"
check "GC again: exits 0 and deletes nothing" eval "[ $rc -eq 0 ] && [ \$(ncalls HcnDeleteEndpoint) -eq 0 ]"
cni CHECK $C1 "$scratch/conf-1.0.json"
check "GC left c1 working (CHECK exits 0)" [ $rc -eq 0 ]
# an HNS failure: reported (code 103), the IP released anyway, the record kept for a retry
gc_conf "$scratch/gc-1.json" $C1
FAKE_HCN_FAIL=HcnDeleteEndpoint:0x80004005 cni GC $C1 "$scratch/gc-1.json"
check "GC with HcnDeleteEndpoint failing: code 103" jqe '.code == 103' <<<"$out"
check "... c3's IP released anyway, its record kept" eval "[ \"\$(ipam_inuse $ip_c3)\" = false ] && has_record $C3"
check "... c1 untouched" eval "[ \"\$(ipam_inuse $ip_c1)\" = true ] && has_record $C1 && [ -n \"\$(ep_of $C1)\" ]"
cni GC $C1 "$scratch/gc-1.json"
check "retried GC finishes: exit 0, c3's endpoint and record gone" \
	eval "[ $rc -eq 0 ] && [ -z \"\$(ep_of $C3)\" ] && ! has_record $C3"
# an endpoint HNS lost out of band (B22's kind) is done
cni ADD $C2
jq --arg ep "$(ep_of $C2)" 'del(.Endpoints[$ep]) | .Namespaces[].Resources |= map(select(.Data.ID != $ep))' "$hcn_state" >"$hcn_state.new" && mv "$hcn_state.new" "$hcn_state"
cni GC $C1 "$scratch/gc-1.json"
check "GC of an endpoint HNS already lost: exit 0, record gone, IP free" \
	eval "[ $rc -eq 0 ] && ! has_record $C2 && [ \"\$(ipam_inuse $ip_c2)\" = false ]"
gc_conf "$scratch/gc-none.json"
cni GC $C1 "$scratch/gc-none.json"
check "GC with no valid attachments removes everything" \
	eval "[ $rc -eq 0 ] && jqe '.Endpoints == {}' '$hcn_state' >/dev/null && [ \"\$(ipam_inuse $ip_c1)\" = false ] && ! has_record $C1"
check "... and keeps the network" jqe '.Networks | length == 1' "$hcn_state"
jq 'del(.["cni.dev/valid-attachments"])' "$scratch/gc-none.json" >"$scratch/gc-missing.json"
cni GC $C1 "$scratch/gc-missing.json"
check "GC without cni.dev/valid-attachments: code 7" jqe '.code == 7' <<<"$out"
cni GC $C1 "$scratch/conf-1.0.json"
check "GC with cniVersion 1.0.0: refused (code 1)" jqe '.code == 1' <<<"$out"
jq '.cniVersion = "1.1.0"' "$scratch/conf.json" >"$scratch/conf-1.1.json"
cni STATUS $C1 "$scratch/conf-1.1.json"
check "STATUS with free addresses: exit 0, empty stdout" eval "[ $rc -eq 0 ] && [ -z '$out' ]"

# ---- every HCN call of an ADD failing in turn: an error naming the call, no endpoint, no IP,
# no record left behind; then the next ADD works ----
seed_namespace # HNS lost the network: the ADD below also exercises the re-create path
: >"$hcn_log"
cni ADD $C1
add_fns=$(jq -r 'select(.fn | startswith("HcnClose") | not) | .fn' "$hcn_log" | sort -u) # a failing close is ignored by design
check "fault set-up: ADD calls create network, create endpoint and modify namespace" \
	eval "[ $rc -eq 0 ] && grep -qx HcnCreateNetwork <<<'$add_fns' && grep -qx HcnCreateEndpoint <<<'$add_fns' && grep -qx HcnModifyNamespace <<<'$add_fns'"
cni DEL $C1
left_nothing() { # left_nothing <container id>: no endpoint in HNS or the namespace, no IP, no record
	jqe '.Endpoints == {} and ([.Namespaces[].Resources[]] == [])' "$hcn_state" >/dev/null &&
		[ -z "$(owned_by "$1")" ] && ! has_record "$1"
}
for fn in $add_fns; do
	seed_namespace
	FAKE_HCN_FAIL=$fn:0x80004005 cni ADD $C2
	if [ $rc -eq 0 ]; then
		bad "ADD with $fn failing (0x80004005) exits 0"
		cni DEL $C2
		continue
	fi
	check "ADD with $fn failing: code 103 naming the call and the HRESULT" \
		jqe --arg fn "$fn" '.code == 103 and (.msg | contains($fn) and contains("0x80004005"))' <<<"$out"
	check "... $fn: no endpoint, no IP, no record left" left_nothing $C2
done
for fn in HcnCreateNetwork HcnModifyNamespace; do
	seed_namespace
	FAKE_HCN_FAIL=$fn:hang cni ADD $C2 "$scratch/conf-timeout.json"
	check "ADD with $fn hung: code 11 naming the call" \
		jqe --arg fn "$fn" '.code == 11 and (.msg | contains($fn) and contains("timed out"))' <<<"$out"
	if [ $fn = HcnCreateNetwork ]; then
		check "... $fn hung: no endpoint, no IP, no record left" left_nothing $C2
	else
		# the endpoint exists (its rollback skipped after the timeout): its IP stays reserved
		check "... $fn hung: the IP stays reserved with a placeholder record" \
			eval "[ -n \"\$(owned_by $C2)\" ] && has_record $C2"
		cni DEL $C2
		check "... $fn hung: the next DEL leaves nothing" left_nothing $C2
	fi
done
seed_namespace
cni ADD $C2
check "after the injected faults a plain ADD works" eval "[ $rc -eq 0 ] && [ -n \"\$(owned_by $C2)\" ]"
cni DEL $C2
check "... and its DEL leaves nothing" left_nothing $C2

# ---- hung HNS: bounded by windowsSettings.hnsTimeoutDurationInSeconds ----
FAKE_HCN_FAIL=HcnCreateEndpoint:hang cni ADD $C2 "$scratch/conf-timeout.json"
check "hung HcnCreateEndpoint: code 11 timed out" jqe '.code == 11 and (.msg | test("timed out"))' <<<"$out"
check "hung HcnCreateEndpoint: IP kept reserved (HNS may still create the endpoint)" \
	[ "$(ipam_inuse 10.240.0.5)" = true ]
cni DEL $C2
check "... the next DEL frees it" eval "[ $rc -eq 0 ] && [ \"\$(ipam_inuse 10.240.0.5)\" = false ]" 

# ---- two container IDs with the same first 8 characters: one endpoint and record each ----
CA=default-pod-a
CB=default-pod-b
named_ns() { jq -r --arg n "$1" '[.Endpoints[] | select(.Name == $n) | .HostComputeNamespace // ""][0] // ""' "$hcn_state"; }
cni ADD $CA
ipa=$(jq -r '.ips[0].address' <<<"$out" | cut -d/ -f1)
check "same prefix: ADD $CA exits 0" [ $rc -eq 0 ]
cni ADD $CB
ipb=$(jq -r '.ips[0].address' <<<"$out" | cut -d/ -f1)
check "same prefix: ADD $CB exits 0 with another IP" eval "[ $rc -eq 0 ] && [ '$ipa' != '$ipb' ]"
check "same prefix: $CA keeps its endpoint (default--eth0), $CB gets default-pod-b:eth0, both attached" \
	eval "[ -n \"\$(named_ns default--eth0)\" ] && [ -n \"\$(named_ns default-pod-b:eth0)\" ]"
check "same prefix: two records, one per owner" \
	jqe '[.Network.ExternalInterfaces[].Networks.azure.Endpoints[] | select(.ContainerID | startswith("default-pod-"))] | map(.Id) | sort == ["default--eth0","default-pod-b:eth0"]' "$rt/azure-vnet.json"
cni ADD $CB
check "same prefix: repeated ADD $CB answers, $CA's endpoint untouched" \
	eval "[ $rc -eq 0 ] && [ \$(named default--eth0) -eq 1 ] && [ \$(named default-pod-b:eth0) -eq 1 ]"
cni CHECK $CA "$scratch/conf-1.0.json"
check "same prefix: CHECK $CA exits 0" [ $rc -eq 0 ]
cni CHECK $CB "$scratch/conf-1.0.json"
check "same prefix: CHECK $CB exits 0" [ $rc -eq 0 ]
cni DEL $CB
check "same prefix: DEL $CB leaves $CA's endpoint, IP and record" \
	eval "[ $rc -eq 0 ] && [ \$(named default--eth0) -eq 1 ] && [ \$(named default-pod-b:eth0) -eq 0 ] &&
		[ \"\$(ipam_inuse $ipa)\" = true ] && [ \"\$(ipam_inuse $ipb)\" = false ]"
cni CHECK $CA "$scratch/conf-1.0.json"
check "same prefix: CHECK $CA still exits 0" [ $rc -eq 0 ]
cni DEL $CB
check "same prefix: DEL $CB again (no record) does not touch $CA's endpoint" \
	eval "[ $rc -eq 0 ] && [ \$(named default--eth0) -eq 1 ] && [ \"\$(ipam_inuse $ipa)\" = true ]"
cni DEL $CA
check "same prefix: DEL $CA leaves nothing" left_nothing $CA

# ---- both state files corrupt: HNS endpoints are traced (issue 9 items 1 and 7) ----
cni ADD $CA
ipa=$(jq -r '.ips[0].address' <<<"$out" | cut -d/ -f1)
cni ADD $CB
ipb=$(jq -r '.ips[0].address' <<<"$out" | cut -d/ -f1)
printf '{"IPAM":{' >"$rt/azure-vnet-ipam.json"
printf '{"Network":' >"$rt/azure-vnet.json"
cni ADD $C4
ip4=$(jq -r '.ips[0].address // ""' <<<"$out" | cut -d/ -f1)
check "both files corrupt: ADD succeeds with an address no HNS endpoint holds ($ip4)" \
	eval "[ $rc -eq 0 ] && [ -n '$ip4' ] && [ '$ip4' != '$ipa' ] && [ '$ip4' != '$ipb' ]"
check "both files corrupt: each kept as <file>.corrupt-<UTC>" \
	eval "ls '$rt' | grep -qE '^azure-vnet-ipam\.json\.corrupt-[0-9]{8}T[0-9]{6}Z\$' && ls '$rt' | grep -qE '^azure-vnet\.json\.corrupt-[0-9]{8}T[0-9]{6}Z\$'"
gc_conf "$scratch/gc-4a.json" $C4 $CA
cni GC $C4 "$scratch/gc-4a.json"
check "GC removes the endpoint whose name gives an owner not valid and unrecorded ($CB), keeps the valid" \
	eval "[ $rc -eq 0 ] && [ \$(named default-pod-b:eth0) -eq 0 ] && [ \$(named default--eth0) -eq 1 ] && [ -n \"\$(ep_of $C4)\" ] && [ \"\$(ipam_inuse $ipb)\" = false ]"
cni DEL $CA
cni DEL $C4
gc_conf "$scratch/gc-none.json"
cni GC $C1 "$scratch/gc-none.json"
check "after the DELs and a GC: no endpoint, no address in use" \
	eval "jqe '.Endpoints == {}' '$hcn_state' >/dev/null && [ \"\$(ipam_inuse $ipa)\" = false ] && [ \"\$(ipam_inuse $ip4)\" = false ]"
rm -f "$rt"/*.corrupt-*

# ---- a retried ADD while the first hangs in HNS (per-owner lock): one endpoint, the IP kept ----
jq '.windowsSettings = {hnsTimeoutDurationInSeconds: 3}' "$scratch/conf.json" >"$scratch/conf-t3.json"
handle_problems() { [ -f "$hcn_log" ] && jq -c 'select(.problem)' "$hcn_log" || true; }
: >"$hcn_log"
GUARD_S= FAKE_HCN_FAIL=HcnModifyNamespace:hang vnet_exe ADD $C1 $NS <"$scratch/conf-t3.json" >"$scratch/add1.out" &
add1=$!
for _ in $(seq 600); do [ "$(ncalls HcnModifyNamespace)" -ge 1 ] && break; sleep 0.1; done # a bound, not an assert
cni ADD $C1
ip_retry=$(jq -r '.ips[0].address' <<<"$out" | cut -d/ -f1)
rc_retry=$rc
wait $add1 || true
check "owner lock: the retried ADD exits 0" [ $rc_retry -eq 0 ]
check "owner lock: the hung ADD ends with code 11" jqe '.code == 11' "$scratch/add1.out"
check "owner lock: the retried ADD's IP ($ip_retry) is still held by the container" \
	eval "[ \"\$(owned_by $C1)\" = '$ip_retry' ] && [ \"\$(ipam_inuse $ip_retry)\" = true ]"
check "owner lock: one endpoint of that name, attached to the namespace" \
	eval "[ \$(named $(cid8 $C1)) -eq 1 ] && [ -n \"\$(named_ns $(cid8 $C1))\" ]"
check "no HCN handle closed while in use or twice" eval "[ -z \"\$(handle_problems)\" ]"
cni CHECK $C1 "$scratch/conf-1.0.json"
check "owner lock: CHECK after both exits 0" [ $rc -eq 0 ]
cni DEL $C1
check "owner lock: DEL leaves nothing" left_nothing $C1

# ---- one HNS timeout bounds the whole command: no call after the one that hung ----
: >"$hcn_log"
FAKE_HCN_FAIL=HcnModifyNamespace:hang,HcnOpenNamespace:hang,HcnDeleteEndpoint:hang cni ADD $C2 "$scratch/conf-t3.json"
check "ADD with namespace open/modify and endpoint delete hung: code 11" jqe '.code == 11' <<<"$out"
check "... one hung HCN call, none after it (no rollback call waits again)" \
	eval "[ \$(ncalls HcnOpenNamespace) -eq 1 ] && [ \$(ncalls HcnModifyNamespace) -eq 0 ] && [ \$(ncalls HcnDeleteEndpoint) -eq 0 ]"
check "... no HCN handle closed while in use or twice" eval "[ -z \"\$(handle_problems)\" ]"
check "... IP and placeholder record kept for the next DEL" eval "[ -n \"\$(owned_by $C2)\" ] && has_record $C2"
cni DEL $C2
check "... the next DEL leaves nothing" left_nothing $C2

# ---- the network is queried outside the state lock: a hung query does not block another pod ----
cni ADD $C3
: >"$hcn_log"
GUARD_S= FAKE_HCN_FAIL=HcnOpenNetwork:hang vnet_exe ADD $C4 $NS <"$scratch/conf-slow.json" >/dev/null &
hung=$!
for _ in $(seq 600); do [ "$(ncalls HcnOpenNetwork)" -ge 1 ] && break; sleep 0.1; done # a bound, not an assert
AZURE_CNI_LOCK_TIMEOUT_MS=8000 cni DEL $C3
check "a DEL while another ADD's HNS network query hangs exits 0 (state lock free)" [ $rc -eq 0 ]
kill -KILL $hung 2>/dev/null || true
wait $hung 2>/dev/null || true
cni DEL $C4
check "... the killed ADD is cleaned up by its DEL" eval "left_nothing $C4 && left_nothing $C3"

# ---- DEL ignores config parts only ADD uses; detaches from the namespace recorded at ADD ----
cni ADD $C2
cni DEL $C2 "$scratch/conf-bad.json"
check "DEL with a malformed AdditionalArgs policy (B21 input) exits 0 and cleans up" \
	eval "[ $rc -eq 0 ] && left_nothing $C2"
jq '.runtimeConfig = {portMappings: "bogus"} | .dns = 5' "$scratch/conf.json" >"$scratch/conf-bad2.json"
cni ADD $C2
cni DEL $C2 "$scratch/conf-bad2.json"
check "DEL with malformed dns and runtimeConfig exits 0 and cleans up" eval "[ $rc -eq 0 ] && left_nothing $C2"
cni ADD $C2 "$scratch/conf-bad2.json"
check "... while ADD with them is code 7" jqe '.code == 7' <<<"$out"
cni ADD $C2
check "ADD c2 for the DEL-namespace test exits 0" [ $rc -eq 0 ]
: >"$hcn_log"
cni DEL $C2 "$scratch/conf.json" 99999999-8888-7777-6666-555555555555
check "DEL with another CNI_NETNS exits 0" [ $rc -eq 0 ]
out=$(cat "$hcn_log")
check "... it detached from the namespace recorded at ADD" \
	jq -es --arg ns "$NS_UP" 'map(select(.fn == "HcnModifyNamespace")) | length == 1 and .[0].id == $ns and .[0].doc.RequestType == "Remove"' "$hcn_log"
check "... and left nothing" left_nothing $C2

# ---- missing namespace, bad CNI_NETNS ----
cni ADD $C2 "$scratch/conf.json" 11111111-2222-3333-4444-555555555555
check "ADD into a namespace HNS does not know: code 103" jqe '.code == 103' <<<"$out"
check "... endpoint removed and IP released" bash -c "jq -e '.Endpoints == {}' '$hcn_state' >/dev/null && [ \"\$(jq -r '[.IPAM.AddressSpaces[].Pools[].Addresses[\"10.240.0.5\"].InUse][0]' '$rt/azure-vnet-ipam.json')\" = false ]"
cni ADD $C2 "$scratch/conf.json" 'container:abc'
check "ADD with a non-GUID CNI_NETNS: code 4" jqe '.code == 4' <<<"$out"

# ---- DLL loading: missing DLL / missing function = clear error; System32 in production ----
HCN_DLL='C:\nowhere\computenetwork.dll' cni ADD $C2
check "no computenetwork.dll: unsupported-build error, no crash" \
	jqe '.code == 103 and (.msg | test("unsupported on this Windows build"))' <<<"$out"
HCN_DLL='kernel32.dll' cni ADD $C2
check "a DLL without the HCN functions: unsupported-build error" \
	jqe '.code == 103 and (.msg | test("unsupported on this Windows build"))' <<<"$out"
check "... and no IP kept" [ "$(ipam_inuse 10.240.0.5)" = false ]
cp "$scratch/fake-computenetwork.dll" "$WINEPREFIX/drive_c/windows/system32/computenetwork.dll"
HCN_DLL= cni ADD $C2
check "production load from System32 (no override) works" [ $rc -eq 0 ]
HCN_DLL= cni DEL $C2
rm -f "$WINEPREFIX/drive_c/windows/system32/computenetwork.dll"

# ---- the Go plugin's lock files and paths (issue 12): azure-vnet.lock and azure-vnet-ipam.lock
# beside the state files, locked as Go's lockedfile locks them, so a Go process and ours exclude
# each other. golock.exe (tests/windows/golock) takes a lock the Go way. ----
golock=$build/tests/windows/golock/golock.exe
SCR_W=$(win "$scratch")
ipam_exe() { # ipam_exe <command> <container id>: azure-vnet-ipam.exe on this runtime dir; $out, $rc
	set +e
	out=$(AZURE_CNI_RUNTIME_DIR="$RT_W" AZURE_CNI_LOG_DIR="$RT_W" AZURE_CNI_MAS_FILE="$RT_W\\interfaces.json" \
		CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=$NS CNI_IFNAME=eth0 CNI_PATH='C:\k' \
		timeout "$GUARD_S" wine "$build/bin/azure-vnet-ipam.exe" <"$scratch/ipam.json")
	rc=$?
	set -e
}
# go_hold <lock file> <tag>: golock.exe takes the lock in the background (its pid in $go_pid) and
# holds it until $scratch/<tag>.release exists; go_wait <tag> waits until it holds it
go_hold() {
	rm -f "$scratch/$2.locked" "$scratch/$2.release"
	timeout "$GUARD_S" wine "$golock" "$1" hold "$SCR_W\\$2.locked" "$SCR_W\\$2.release" &
	go_pid=$!
}
go_wait() { for _ in $(seq 600); do [ -s "$scratch/$1.locked" ] && break; sleep 0.1; done; } # a bound, not an assert
go_release() { touch "$scratch/$1.release"; wait "$go_pid" || true; }
jq '.type = "azure-vnet-ipam"' "$scratch/conf.json" >"$scratch/ipam.json"
check "Go's lock files azure-vnet.lock and azure-vnet-ipam.lock beside the state files, not our old names" \
	eval "[ -f '$rt/azure-vnet.lock' ] && [ -f '$rt/azure-vnet-ipam.lock' ] && [ ! -e '$rt/azure-vnet.json.lock' ] && [ ! -e '$rt/azure-vnet-ipam.json.lock' ]"
check "... each holds its last holder's PID, as Go's processlock writes it" \
	eval "grep -qxE '[0-9]+' '$rt/azure-vnet.lock' && grep -qxE '[0-9]+' '$rt/azure-vnet-ipam.lock'"
go_hold "$RT_W\\azure-vnet-ipam.lock" gi
go_wait gi
check "Go-way lock of azure-vnet-ipam.lock taken" [ -s "$scratch/gi.locked" ]
AZURE_CNI_LOCK_TIMEOUT_MS=1500 cni ADD $C2
check "... azure-vnet.exe ADD waits for it, then code 11 naming azure-vnet-ipam.lock" \
	jqe '.code == 11 and (.msg | contains("azure-vnet-ipam.lock"))' <<<"$out"
AZURE_CNI_LOCK_TIMEOUT_MS=1500 ipam_exe ADD $C2
check "... so does azure-vnet-ipam.exe ADD" jqe '.code == 11 and (.msg | contains("azure-vnet-ipam.lock"))' <<<"$out"
check "... nothing allocated, no endpoint made" eval "[ -z \"\$(owned_by $C2)\" ] && [ \$(named $(cid8 $C2)) -eq 0 ]"
go_release gi
cni ADD $C2
check "once the Go-way holder let go, the ADD works" eval "[ $rc -eq 0 ] && [ -n \"\$(owned_by $C2)\" ]"
go_hold "$RT_W\\azure-vnet.lock" gn
go_wait gn
AZURE_CNI_LOCK_TIMEOUT_MS=1500 cni DEL $C2
check "a Go-way lock of azure-vnet.lock makes DEL wait, then code 11 naming it; the pod is kept" \
	eval "jqe '.code == 11 and (.msg | contains(\"azure-vnet.lock\"))' <<<'$out' >/dev/null && [ \$(named $(cid8 $C2)) -eq 1 ]"
go_release gn
cni DEL $C2
check "... and works once it let go" eval "[ $rc -eq 0 ] && left_nothing $C2"
# ours holds azure-vnet.lock: a first ADD after HNS lost the network, its network create hung
seed_namespace
: >"$hcn_log"
GUARD_S= FAKE_HCN_FAIL=HcnCreateNetwork:hang vnet_exe ADD $C3 $NS <"$scratch/conf-slow.json" >/dev/null &
hung=$!
for _ in $(seq 600); do [ "$(ncalls HcnCreateNetwork)" -ge 1 ] && break; sleep 0.1; done # a bound, not an assert
set +e
wine "$golock" "$RT_W\\azure-vnet.lock" try
go_rc=$?
set -e
check "while our ADD holds azure-vnet.lock (making the network), the Go way finds it held" [ $go_rc -eq 3 ]
AZURE_CNI_LOCK_TIMEOUT_MS=1500 cni ADD $C4
check "... another of our ADDs waits, then code 11 naming azure-vnet.lock, nothing kept" \
	eval "jqe '.code == 11 and (.msg | contains(\"azure-vnet.lock\"))' <<<'$out' >/dev/null && [ -z \"\$(owned_by $C4)\" ]"
go_hold "$RT_W\\azure-vnet.lock" gw # blocks in LockFileEx, as Go's does
kill -KILL $hung 2>/dev/null || true
wait $hung 2>/dev/null || true
go_wait gw
check "... a Go-way waiter gets the lock once our holder is gone" [ -s "$scratch/gw.locked" ]
go_release gw
cni ADD $C3
check "... and the retried ADD makes the network: one network, exit 0" \
	eval "[ $rc -eq 0 ] && jqe '.Networks | length == 1' '$hcn_state' >/dev/null"
cni DEL $C3
cni DEL $C4
check "... DEL leaves nothing" eval "left_nothing $C3 && left_nothing $C4"
# without overrides the files are the working directory's, as the Go plugin keeps them
cwd=$scratch/cwd
mkdir -p "$cwd"
pushd "$cwd" >/dev/null
RT_DIR= cni ADD $C5
check "default paths: ADD in a working directory exits 0" [ $rc -eq 0 ]
check "... azure-vnet.json, azure-vnet-ipam.json, their .lock files and azure-vnet.log are there" \
	eval "cd '$cwd' && [ -s azure-vnet.json ] && [ -s azure-vnet-ipam.json ] && [ -f azure-vnet.lock ] && [ -f azure-vnet-ipam.lock ] && [ -s azure-vnet.log ]"
go_hold azure-vnet.lock gc # a relative name, as the Go plugin opens it
go_wait gc
AZURE_CNI_LOCK_TIMEOUT_MS=1500 RT_DIR= cni DEL $C5
check "... a Go-way lock of the relative azure-vnet.lock holds our DEL off (code 11)" jqe '.code == 11' <<<"$out"
go_release gc
RT_DIR= cni DEL $C5
popd >/dev/null
check "... DEL there exits 0 and frees the address" \
	eval "[ $rc -eq 0 ] && jqe '[.IPAM.AddressSpaces[].Pools[].Addresses[] | select(.InUse)] == []' '$cwd/azure-vnet-ipam.json' >/dev/null"

# ---- network creation is serialized (issue 12): first ADDs after HNS lost the network make one;
# a network lost between its look-up and the endpoint is made again once ----
seed_namespace
: >"$hcn_log"
pids=()
for c in $C1 $C2 $C3 $C4; do
	vnet_exe ADD $c $NS <"$scratch/conf.json" >"$scratch/par-$c.out" 2>/dev/null &
	pids+=($!)
done
par_rc=0
for p in "${pids[@]}"; do wait "$p" || par_rc=1; done
check "4 parallel first ADDs after HNS lost the network: all exit 0" [ $par_rc -eq 0 ]
check "... exactly one network made (one HcnCreateNetwork), all four endpoints in it" \
	eval "[ \$(ncalls HcnCreateNetwork) -eq 1 ] && jqe '(.Networks | length == 1) and (.Networks | keys[0]) as \$n | [.Endpoints[].HostComputeNetwork] | length == 4 and all(. == \$n)' '$hcn_state' >/dev/null"
for c in $C2 $C3 $C4; do cni DEL $c; done # the pool has four addresses
: >"$hcn_log"
FAKE_HCN_FAIL=HcnCreateEndpoint:lose-networks cni ADD $C5
check "network lost between its look-up and the endpoint create: ADD exits 0" [ $rc -eq 0 ]
check "... HNS said 0x803b0001 once, the network was made again once, the endpoint created in it" \
	jq -es 'map(select(.fn == "HcnCreateEndpoint")) as $e | map(select(.fn == "HcnCreateNetwork")) as $n |
		($e | length) == 2 and $e[0].hr == "0x803b0001" and $e[1].hr == "0x00000000" and ($n | length) == 1
		and ($e[1].network | ascii_upcase) == ($n[0].id | ascii_upcase)' "$hcn_log"
check "... the state records the new network" \
	jqe --arg net "$(calls HcnCreateNetwork | jq -r .id)" '[.Network.ExternalInterfaces[].Networks.azure.HnsId | ascii_upcase] == [$net]' "$rt/azure-vnet.json"
: >"$hcn_log"
FAKE_HCN_FAIL=HcnCreateEndpoint:0x803b0001 cni ADD $C2
# HNS keeps answering 0x803b0001 while it lists the network by name: find-or-create adopts it (no
# HcnCreateNetwork), the endpoint create fails again, and that is the end
check "endpoint create saying 0x803b0001 each time: code 103 after one retry (two creates), nothing left" \
	eval "jqe '.code == 103' <<<'$out' >/dev/null && [ \$(ncalls HcnCreateEndpoint) -eq 2 ] && [ \$(ncalls HcnCreateNetwork) -eq 0 ] && [ -z \"\$(owned_by $C2)\" ] && ! has_record $C2"
for c in $C1 $C2 $C5; do cni DEL $c; done
check "... DEL of all leaves nothing" eval "left_nothing $C1 && left_nothing $C5"

# ---- azure-vnet-ipam.exe shares the IPAM state ----
jq '.type = "azure-vnet-ipam"' "$scratch/conf.json" >"$scratch/ipam.json"
set +e
ipam_out=$(AZURE_CNI_RUNTIME_DIR="$RT_W" AZURE_CNI_LOG_DIR="$RT_W" AZURE_CNI_MAS_FILE="$RT_W\\interfaces.json" \
	CNI_COMMAND=ADD CNI_CONTAINERID=ipamonly1234 CNI_NETNS=$NS CNI_IFNAME=eth0 CNI_PATH='C:\k' \
	wine "$build/bin/azure-vnet-ipam.exe" <"$scratch/ipam.json")
set -e
check "azure-vnet-ipam.exe ADD" jqe '.ips[0].address == "10.240.0.5/16"' <<<"$ipam_out"
check "azure-vnet-ipam.log written" test -s "$rt/azure-vnet-ipam.log"

# ---- NMAgent over WinHTTP (ipam.environment azure, the default) against a loopback server ----
# A fresh runtime dir and HNS: the pools come from the NMAgent XML, not interfaces.json.
fresh_node nm
python3 "$top/tests/windows/nmagent-server.py" "$scratch/nm.port" "$top/tests/data/single-nic-30.xml" \
	"$top/tests/data/truncated.xml" &
nm_pid=$!
for _ in $(seq 100); do [ -s "$scratch/nm.port" ] && break; sleep 0.1; done
nm_base="http://127.0.0.1:$(cat "$scratch/nm.port")"
nm_url() { echo "$nm_base/$1/machine/plugins?comp=nmagent&type=getinterfaceinfov1"; }
nm_hits() { grep -cx "$1" "$scratch/nm.port.hits" || true; }
jq 'del(.ipam.environment)' "$scratch/conf.json" >"$scratch/conf-nm.json"
jq '.type = "azure-vnet-ipam"' "$scratch/conf-nm.json" >"$scratch/ipam-nm.json"
# ipam <command> <container id>: azure-vnet-ipam.exe with $NM_URL; stdout in $out, status in $rc
ipam() {
	set +e
	out=$(AZURE_CNI_RUNTIME_DIR="$RT_W" AZURE_CNI_LOG_DIR="$RT_W" AZURE_CNI_NMAGENT_URL="$NM_URL" \
		CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=$NS CNI_IFNAME=eth0 CNI_PATH='C:\k' \
		timeout "$GUARD_S" wine "$build/bin/azure-vnet-ipam.exe" <"$scratch/ipam-nm.json")
	rc=$?
	set -e
}
state_sum() { cat "$rt/azure-vnet-ipam.json" "$rt/azure-vnet.json" 2>/dev/null | sha1sum; }

NM_URL=$(nm_url ok) ipam ADD nmipam11112222
check "NMAgent: azure-vnet-ipam.exe ADD gets 10.240.0.5 from the XML over WinHTTP" \
	jqe '.ips[0].address == "10.240.0.5/16" and .ips[0].gateway == "10.240.0.1"' <<<"$out"
check "NMAgent: the server was asked" [ "$(nm_hits ok)" -ge 1 ]
check "NMAgent: the pool holds the XML's 30 secondaries, not the primary" \
	jqe '[.IPAM.AddressSpaces[].Pools[].Addresses | (length == 30 and (has("10.240.0.4") | not))] == [true]' "$rt/azure-vnet-ipam.json"
NM_URL=$(nm_url ok) cni ADD $C1 "$scratch/conf-nm.json"
check "NMAgent: azure-vnet.exe ADD exits 0 with the next address" \
	bash -c "[ $rc -eq 0 ] && jq -e '.ips[0].address == \"10.240.0.6/16\"' <<<'$out' >/dev/null"
check "NMAgent: azure-vnet.exe created the endpoint with that address" \
	jqe '.doc.IpConfigurations == [{"IpAddress":"10.240.0.6","PrefixLength":16}]' <<<"$(calls HcnCreateEndpoint | tail -n1)"
hits_before=$(nm_hits ok)
NM_URL=$(nm_url ok) cni DEL $C1 "$scratch/conf-nm.json"
check "NMAgent: azure-vnet.exe DEL exits 0, IP free" bash -c "[ $rc -eq 0 ] && [ \"\$(jq -r '[.IPAM.AddressSpaces[].Pools[].Addresses[\"10.240.0.6\"].InUse][0]' '$rt/azure-vnet-ipam.json')\" = false ]"
NM_URL=$(nm_url ok) ipam DEL nmipam11112222
check "NMAgent: azure-vnet-ipam.exe DEL exits 0" [ $rc -eq 0 ]
check "NMAgent: DEL does not ask the source" [ "$(nm_hits ok)" -eq "$hits_before" ]

# broken sources: code 11 (hung, 500, redirect not followed) or 105 (truncated XML), the error
# names the source, nothing changes in the state or in HNS
: >"$hcn_log"
# Within ipam.queryInterval (default 10 s) of the good ADDs above, an ADD allocates from the
# state without reading the source: these cases read it on every ADD (queryInterval "0").
for f in ipam-nm conf-nm; do
	jq '.ipam.queryInterval = "0"' "$scratch/$f.json" >"$scratch/$f.tmp" && mv "$scratch/$f.tmp" "$scratch/$f.json"
done
for bad_src in hang:11:timed.out 500:11:status.500 redirect:11:status.302 trunc:105:malformed.XML; do
	IFS=: read -r mode code why <<<"$bad_src"
	before=$(state_sum)
	NM_URL=$(nm_url "$mode") ipam ADD nmbad111$mode
	check "NMAgent $mode: azure-vnet-ipam.exe ADD fails with code $code naming the source ($why)" \
		jqe --argjson c "$code" --arg u "$nm_base/$mode/" --arg why "$why" \
		'.code == $c and (.msg | contains("NMAgent") and contains($u) and test($why))' <<<"$out"
	NM_URL=$(nm_url "$mode") cni ADD $C2 "$scratch/conf-nm.json"
	check "NMAgent $mode: azure-vnet.exe ADD fails with code $code naming the source" \
		jqe --argjson c "$code" --arg u "$nm_base/$mode/" --arg why "$why" \
		'.code == $c and (.msg | contains("NMAgent") and contains($u) and test($why))' <<<"$out"
	check "NMAgent $mode: state unchanged" [ "$(state_sum)" = "$before" ]
done
check "NMAgent broken sources: no HCN endpoint was created" [ "$(ncalls HcnCreateEndpoint)" -eq 0 ]
check "NMAgent hang: both programs asked the hung server" [ "$(nm_hits hang)" -eq 2 ]
jq '.cniVersion = "1.1.0"' "$scratch/conf-nm.json" >"$scratch/conf-nm-1.1.json"
NM_URL=$(nm_url ok) cni STATUS $C1 "$scratch/conf-nm-1.1.json"
check "NMAgent STATUS with free addresses: exit 0" eval "[ $rc -eq 0 ] && [ -z '$out' ]"
NM_URL=$(nm_url 500) cni STATUS $C1 "$scratch/conf-nm-1.1.json"
check "NMAgent STATUS with the source failing: code 50 (as on Linux)" jqe '.code == 50' <<<"$out"
kill "$nm_pid" 2>/dev/null || true
wait "$nm_pid" 2>/dev/null || true
nm_pid=

# ---- dual-stack and IPv6-only pods (issue 10): both families in HNS, the result, CHECK, DEL, GC ----
# shellcheck source=tests/windows/dualstack.sh
. "$top/tests/windows/dualstack.sh"

# ---- ipam.type azure-cns: pod subnets and Overlay against the CNS test double ----
# shellcheck source=tests/windows/cns.sh
. "$top/tests/windows/cns.sh"

# ---- crash tests: killed at every step of ADD, DEL and GC (its own runtime dirs and HNS) ----
"$top/tests/windows/crash.sh" --in-suite "$build" || bad "crash tests (tests/windows/crash.sh) ran to the end"

suite_end
