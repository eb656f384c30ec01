#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The VNet demo: pods on an Azure-like VNet, attached by a real CNI client (cnitool) running the
# shipped conflist of the mode with our azure-vnet (and azure-vnet-ipam), inside a simulated
# VNet of network namespaces (linux/vnet-sim.sh, its variant of the mode). Shows:
#   pod <-> pod on the same VM; pod <-> pod across VMs with the pod IPs unchanged (the receiver
#   sees the sender's pod IP); pod <-> the other VM's primary IP; pod -> an internet host, seen
#   with the VM's primary IP (SNAT); DEL returning every IP to the pool. Where the mode gives
#   both families the same is shown over IPv6 (pod <-> pod across VMs with the pods' own
#   addresses, pod -> an internet IPv6 host seen with the VM's primary IPv6).
# Modes (--mode; README "which mode when"):
#   nmagent    (default) linux/10-azure.conflist: each pod gets a secondary IP of its VM's NIC
#              (NMAgent, azure-vnet-ipam), IPv4 and fd00:10:240::/64. The other VM sees the
#              pod's own IP.
#   podsubnet  linux/azure-linux-swift.conflist: each VM's CNS (the test double on
#              127.0.0.1:10090 in the VM) hands out that node's addresses of the pod subnet
#              10.241.0.0/16, which the fabric routes to the VM. IPv4 only, as AKS's pod
#              subnets. The other VM reaches a pod by its own IP; a pod's connection to it is
#              SNATed to the node's primary IP (the shipped conflist sets no vnetCidrs).
#   overlay    linux/azure-linux-swift-overlay.conflist: each VM's CNS hands out that node's
#              block of the cluster's pod CIDR 10.244.0.0/16 (and fd00:10:244::/64), which the
#              fabric routes to the VM; pods reach pods with their own addresses, the other VM
#              (outside the pod CIDR) sees the node's primary IP.
# Nothing is created on the host outside the demo's namespaces; everything is torn down at exit.
#
# Usage: sudo linux/demo.sh [--mode nmagent|podsubnet|overlay] [--bridge | --reference]
#   --bridge     (nmagent) mode bridge (tests/data/conflist/10-azure-linux-bridge.conflist)
#                instead of the shipped transparent conflist
#   --reference  (nmagent) use the reference plugins (ptp + host-local, ipMasq) instead of
#                azure-vnet, to check the simulation itself (IPv4 only: the simulation runs
#                without IPv6).
# Environment: AZCNI_BUILD_DIR (default build; built when needed), AZCNI_NO_BUILD=1,
#              AZSIM_PREFIX (default azdemo-).
# Exit status: 0 when every check passed.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${AZCNI_BUILD_DIR:-$top/build}
export AZSIM_PREFIX=${AZSIM_PREFIX:-azdemo-}
export AZSIM_DIR=/run/${AZSIM_PREFIX}sim
sim=$top/linux/vnet-sim.sh
P=$AZSIM_PREFIX
reference=0
bridge=0
mode=nmagent
usage() { echo "usage: $0 [--mode nmagent|podsubnet|overlay] [--bridge | --reference]" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--reference) reference=1 && export AZSIM_IPV6=0 ;;
	--bridge) bridge=1 ;;
	--mode) mode=${2:-}; shift ;;
	--mode=*) mode=${1#--mode=} ;;
	-h | --help) sed -n '3,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) usage ;;
	esac
	shift
done
case $mode in
nmagent) conflist=$top/linux/10-azure.conflist ;;
podsubnet) conflist=$top/linux/azure-linux-swift.conflist ;;
overlay) conflist=$top/linux/azure-linux-swift-overlay.conflist ;;
*) usage ;;
esac
[ "$reference$bridge" = 11 ] && usage
[ "$mode" != nmagent ] && [ "$reference$bridge" != 00 ] &&
	{ echo "demo: --bridge and --reference are nmagent-mode options" >&2; exit 2; }
[ "$bridge" = 1 ] && conflist=$top/tests/data/conflist/10-azure-linux-bridge.conflist
export AZSIM_MODE=$mode
cns=0
[ "$mode" = nmagent ] || cns=1

[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (sudo $0)" >&2; exit 2; }

bold=$'\e[1m' off=$'\e[0m'
[ -t 1 ] || bold='' off=''
say() { echo "${bold}== $*${off}"; }
# ok DESC, bad DESC: one check's result (tests/lib/suite.sh counts them)
# shellcheck source=tests/lib/suite.sh
. "$top/tests/lib/suite.sh"
SUITE_INDENT="  "

work=$(mktemp -d /tmp/azdemo.XXXXXX)
cleanup() {
	local rc=$?
	"$sim" down >/dev/null 2>&1
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
suite_begin "$work/results"

# ---- build ----
if [ "$reference" = 0 ] && [ "${AZCNI_NO_BUILD:-0}" != 1 ]; then
	say "build ($build)"
	{ [ -f "$build/CMakeCache.txt" ] || cmake -S "$top" -B "$build" >/dev/null; } &&
		cmake --build "$build" -j"$(nproc)" >"$work/build.log" 2>&1 ||
		{ tail -n 30 "$work/build.log"; echo "demo: build failed" >&2; exit 1; }
fi
if [ "$reference" = 0 ]; then
	for b in azure-vnet azure-vnet-ipam; do
		[ -x "$build/bin/$b" ] || { echo "demo: $build/bin/$b missing" >&2; exit 1; }
	done
fi

# ---- the client ----
cnitool=""
if cnitool=$("$top/ci/build-cnitool.sh" "$build/tools/cnitool" 2>"$work/cnitool.log"); then
	client="cnitool ($cnitool, libcni 1.1.2)"
else
	cnitool=""
	client="direct exec of the first plugin (cnitool unavailable: $(tail -n1 "$work/cnitool.log"))"
fi

mkdir -p "$work/cnibin"
for b in azure-vnet azure-vnet-ipam; do ln -s "$build/bin/$b" "$work/cnibin/$b"; done
export CNI_PATH=$work/cnibin:/usr/lib/cni

# ---- the VNet ----
say "VNet simulation (namespaces ${P}*), mode $mode"
"$sim" down >/dev/null 2>&1 # leftovers of an interrupted run with the same prefix
"$sim" up || exit 1
"$sim" status | sed 's/^/  /'

# vm_env N: sets AZSIM_NS, AZSIM_PRIMARY, AZSIM_POOL_FIRST/LAST, AZURE_CNI_RUNTIME_DIR ...
vm_env() { eval "$("$sim" env "vm$1")"; }

netconf() { # N: the conflist directory VM N's client reads
	local d=$work/net.d-vm$1
	if [ ! -d "$d" ]; then
		mkdir -p "$d"
		if [ "$reference" = 1 ]; then
			vm_env "$1"
			jq -n --arg first "$AZSIM_POOL_FIRST" --arg last "$AZSIM_POOL_LAST" \
				--arg gw "$AZSIM_PRIMARY" --arg dir "$AZURE_CNI_RUNTIME_DIR/host-local" \
				'{cniVersion:"0.3.1",name:"azure",plugins:[{type:"ptp",ipMasq:true,
				  ipam:{type:"host-local",dataDir:$dir,routes:[{dst:"0.0.0.0/0"}],
				  ranges:[[{subnet:"10.240.0.0/16",rangeStart:$first,rangeEnd:$last,gateway:$gw}]]}}]}' \
				>"$d/10-azure.conflist"
		else
			cp "$conflist" "$d/10-azure.conflist"
		fi
	fi
	echo "$d"
}

# cni VM CMD POD: run the client in the VM for the pod's netns; result JSON on stdout.
cni() {
	local n=$1 cmd=$2 pod=$3 nc
	nc=$(netconf "$n")
	if [ -n "$cnitool" ]; then
		"$sim" exec "vm$n" -- env NETCONFPATH="$nc" CNI_PATH="$CNI_PATH" \
			CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$pod" \
			"$cnitool" "$cmd" azure "/var/run/netns/$pod"
	else
		local conf c
		conf=$(jq '.plugins[0] + {name: .name, cniVersion: .cniVersion}' "$nc/10-azure.conflist")
		c=$(echo "$cmd" | tr a-z A-Z)
		"$sim" exec "vm$n" -- env CNI_COMMAND="$c" CNI_CONTAINERID="$(printf %s "$pod" | sha256sum | cut -c1-64)" \
			CNI_NETNS="/var/run/netns/$pod" CNI_IFNAME=eth0 CNI_PATH="$CNI_PATH" \
			CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$pod" \
			"$work/cnibin/$(jq -r .type <<<"$conf")" <<<"$conf"
	fi
}

# cns_held N FAMILY: addresses of FAMILY (4 or 6) VM N's CNS holds for pods
cns_held() {
	ip netns exec "${P}vm$1" curl -s --max-time 5 http://127.0.0.1:10090/test/pool |
		jq --arg f "$2" '[.assigned | keys[] | select(contains(":") == ($f == "6"))] | length' 2>/dev/null ||
		echo "?"
}
in_use() { # N: addresses in use in VM N's pool
	vm_env "$1"
	if [ "$cns" = 1 ]; then
		cns_held "$1" 4
	elif [ "$reference" = 1 ]; then
		find "$AZURE_CNI_RUNTIME_DIR/host-local" -type f -name '10.*' 2>/dev/null | wc -l
	else
		jq '[.IPAM.AddressSpaces[]?.Pools[]? | select(.IsIPv6 | not) | .Addresses[]? | select(.InUse)] | length' \
			"$AZURE_CNI_RUNTIME_DIR/azure-vnet-ipam.json" 2>/dev/null || echo "?"
	fi
}
in_use6() { # N: IPv6 addresses in use in VM N's pool
	vm_env "$1"
	[ "$cns" = 1 ] && { cns_held "$1" 6; return; }
	jq '[.IPAM.AddressSpaces[]?.Pools[]? | select(.IsIPv6) | .Addresses[]? | select(.InUse)] | length' \
		"$AZURE_CNI_RUNTIME_DIR/azure-vnet-ipam.json" 2>/dev/null || echo "?"
}
dual=0
[ "$reference" = 0 ] && [ "${AZSIM_IPV6:-1}" = 1 ] && [ "$mode" != podsubnet ] && dual=1

# in_range IP FIRST LAST: FIRST <= IP <= LAST (either family)
in_range() {
	python3 -c 'import ipaddress as i, sys; a = [i.ip_address(x) for x in sys.argv[1:]]
sys.exit(0 if a[1] <= a[0] <= a[2] else 1)' "$1" "$2" "$3" 2>/dev/null
}
case $mode in
nmagent) what="a secondary IP of" ;;
podsubnet) what="a pod-subnet address CNS gave" ;;
overlay) what="an overlay address CNS gave" ;;
esac

# ---- pods ----
if [ "$reference" = 1 ]; then plugin="ptp + host-local (reference)"; elif [ "$cns" = 1 ]; then plugin="azure-vnet + ipam azure-cns (each VM's CNS)"; else plugin="azure-vnet + azure-vnet-ipam"; fi
say "attach pods: $client, conflist ${conflist#$top/}, $plugin"
declare -A POD_IP POD_VM POD_IP6
pods=("vm1 a" "vm1 b" "vm2 c")
for pv in "${pods[@]}"; do
	read -r n pod <<<"$pv"
	n=${n#vm}
	ns=${P}vm$n-$pod
	ip netns add "$ns" && ip -n "$ns" link set lo up
	if ! out=$(cni "$n" add "$ns" 2>&1); then
		bad "ADD pod $pod on vm$n: $out"
		continue
	fi
	addr=$(jq -r '.ips[0].address // empty' <<<"$out" 2>/dev/null)
	ip=${addr%/*}
	vm_env "$n"
	if [ -n "$ip" ] && in_range "$ip" "$AZSIM_POOL_FIRST" "$AZSIM_POOL_LAST" &&
		ip -n "$ns" -4 -o addr show | grep -q " $ip/"; then
		ok "ADD pod $pod on vm$n: eth0 $addr, $what vm$n ($AZSIM_POOL_FIRST-$AZSIM_POOL_LAST)"
		POD_IP[$pod]=$ip
		POD_VM[$pod]=$n
	else
		bad "ADD pod $pod on vm$n: address '$addr' not in vm$n's pool or not on the pod's eth0: $out"
	fi
	[ "$dual" = 1 ] || continue
	addr6=$(jq -r '[.ips[]?.address | select(contains(":"))][0] // empty' <<<"$out" 2>/dev/null)
	ip6=${addr6%/*}
	if [ -n "$ip6" ] && in_range "$ip6" "$AZSIM_POOL6_FIRST" "$AZSIM_POOL6_LAST" &&
		ip -n "$ns" -6 -o addr show scope global | grep -q " $ip6/"; then
		ok "ADD pod $pod on vm$n: eth0 also $addr6, IPv6: $what vm$n ($AZSIM_POOL6_FIRST-$AZSIM_POOL6_LAST)"
		POD_IP6[$pod]=$ip6
	else
		bad "ADD pod $pod on vm$n: IPv6 address '$addr6' not in vm$n's pool or not on the pod's eth0"
	fi
done
if [ "$cns" = 1 ]; then
	for pv in "${pods[@]}"; do
		read -r n pod <<<"$pv"
		[ -n "${POD_IP[$pod]:-}" ] || continue
		# the pod's identity as CNS keeps it (K8S_POD_NAME / K8S_POD_NAMESPACE of CNI_ARGS)
		key=$(ip netns exec "${P}$n" curl -s --max-time 5 http://127.0.0.1:10090/test/pool |
			jq -r --arg ip "${POD_IP[$pod]}" '.assigned[$ip] // empty')
		who=$(ip netns exec "${P}$n" curl -s --max-time 5 http://127.0.0.1:10090/test/requests |
			jq -r --arg k "$key" '[.[] | select(.path == "/network/requestipconfigs" and .body.podInterfaceID == $k)][-1].body.orchestratorContext // {} | "\(.podNamespace)/\(.podName)"')
		if [ "$who" = "default/${P}$n-$pod" ]; then
			ok "$n's CNS holds ${POD_IP[$pod]} for $key, asked for pod $who (127.0.0.1:10090 inside $n)"
		else
			bad "$n's CNS was asked for pod $pod as '$who', want default/${P}$n-$pod"
		fi
	done
elif [ "$reference" = 0 ]; then
	echo "  NMAgent requests served by the fabric (source = the asking VM):"
	sort "$AZSIM_DIR/nmagent.log" | uniq -c | sed 's/^ */    /'
	for n in 1 2; do
		vm_env "$n"
		if grep -q "^nmagent: $AZSIM_PRIMARY \"GET /machine/plugins?comp=nmagent&type=getinterfaceinfov1 [^\"]*\" 200" \
			"$AZSIM_DIR/nmagent.log"; then
			ok "vm$n's IPAM fetched its own interface XML from 168.63.129.16 (as $AZSIM_PRIMARY)"
		else
			bad "vm$n's IPAM did not fetch its interface XML from 168.63.129.16"
		fi
	done
fi

cat >"$work/peer.py" <<'PY'
# peer.py serve PORT READY OUT [6]: accept one TCP connection (IPv6 with "6"), write the peer's
# address to OUT. peer.py connect IP PORT: connect, print what the server said.
import socket, sys
if sys.argv[1] == "serve":
    v6 = sys.argv[5:] == ["6"]
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::" if v6 else "0.0.0.0", int(sys.argv[2])))
    s.listen(1)
    open(sys.argv[3], "w").close()
    s.settimeout(15)  # a guard against a lost client, not a measurement
    c, peer = s.accept()
    c.sendall(("hello %s, from %s\n" % (peer[0], c.getsockname()[0])).encode())
    c.close()
    with open(sys.argv[4], "w") as f:
        f.write(peer[0])
else:
    c = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=5)
    sys.stdout.write(c.recv(200).decode())
PY

port=7000
# tcp_check DESC SERVER_NS CLIENT_NS DST EXPECTED_SOURCE (an IPv6 DST: over IPv6)
tcp_check() {
	local desc=$1 sns=$2 cns=$3 dst=$4 want=$5 spid said seen i fam=""
	port=$((port + 1))
	[[ $dst == *:* ]] && fam=6
	rm -f "$work/ready" "$work/seen"
	ip netns exec "$sns" python3 "$work/peer.py" serve "$port" "$work/ready" "$work/seen" $fam \
		>/dev/null 2>&1 &
	spid=$!
	for ((i = 0; i < 100; i++)); do [ -e "$work/ready" ] && break; sleep 0.05; done
	said=$(ip netns exec "$cns" python3 "$work/peer.py" connect "$dst" "$port" 2>&1)
	[ $? -eq 0 ] || kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	seen=$(cat "$work/seen" 2>/dev/null)
	if [ "$seen" = "$want" ]; then
		ok "$desc: TCP to $dst:$port, receiver saw source $seen"
	else
		bad "$desc: TCP to $dst:$port, receiver saw source '${seen:-nothing}', want $want ($said)"
	fi
}
ping_check() { # DESC NS DST
	if ip netns exec "$2" busybox ping -c 1 -W 2 "$3" >/dev/null 2>&1; then
		ok "$1: ping $3"
	else
		bad "$1: ping $3"
	fi
}

vm_env 1
vm1_primary=$AZSIM_PRIMARY
vm_env 2
vm2_primary=$AZSIM_PRIMARY
A=${POD_IP[a]:-} B=${POD_IP[b]:-} C=${POD_IP[c]:-}
nsA=${P}vm1-a nsB=${P}vm1-b nsC=${P}vm2-c

if [ -n "$A" ] && [ -n "$B" ]; then
	say "pod <-> pod on the same VM (vm1: a=$A, b=$B)"
	ping_check "a -> b" "$nsA" "$B"
	tcp_check "a -> b" "$nsB" "$nsA" "$B" "$A"
	tcp_check "b -> a" "$nsA" "$nsB" "$A" "$B"
fi
if [ -n "$A" ] && [ -n "$C" ]; then
	say "pod <-> pod across VMs, pod IPs unchanged (a=$A on vm1, c=$C on vm2)"
	ping_check "a -> c" "$nsA" "$C"
	tcp_check "a -> c" "$nsC" "$nsA" "$C" "$A"
	tcp_check "c -> a" "$nsA" "$nsC" "$A" "$C"
fi
if [ -n "$A" ]; then
	if [ "$cns" = 1 ]; then
		# outside the pod subnet / pod CIDR (the shipped conflists set no vnetCidrs): SNAT
		say "pod <-> the other VM's primary IP (vm2 $vm2_primary): vm2 sees vm1's primary IP"
		seen=$vm1_primary
	else
		say "pod <-> the other VM's primary IP (vm2 $vm2_primary): vm2 sees the pod's own IP"
		seen=$A
	fi
	ping_check "a -> vm2" "$nsA" "$vm2_primary"
	tcp_check "a -> vm2" "${P}vm2" "$nsA" "$vm2_primary" "$seen"
	tcp_check "vm2 -> a" "$nsA" "${P}vm2" "$A" "$vm2_primary"
fi
say "pod -> internet host 203.0.113.10 (outside the VNet): seen with the VM's primary IP"
[ -n "$A" ] && tcp_check "a (vm1) -> internet" "${P}inet" "$nsA" 203.0.113.10 "$vm1_primary"
[ -n "$C" ] && tcp_check "c (vm2) -> internet" "${P}inet" "$nsC" 203.0.113.10 "$vm2_primary"

A6=${POD_IP6[a]:-} B6=${POD_IP6[b]:-} C6=${POD_IP6[c]:-}
if [ -n "$A6" ] && [ -n "$C6" ]; then
	say "IPv6: pod <-> pod across VMs, pod IPs unchanged (a=$A6 on vm1, c=$C6 on vm2)"
	ping_check "a -> c" "$nsA" "$C6"
	tcp_check "a -> c" "$nsC" "$nsA" "$C6" "$A6"
	tcp_check "c -> a" "$nsA" "$nsC" "$A6" "$C6"
fi
if [ -n "$A6" ] && [ -n "$B6" ]; then
	say "IPv6: pod <-> pod on the same VM (vm1: a=$A6, b=$B6)"
	tcp_check "a -> b" "$nsB" "$nsA" "$B6" "$A6"
fi
if [ -n "$A6" ] || [ -n "$C6" ]; then
	vm_env 1; vm1_primary6=$AZSIM_PRIMARY6
	vm_env 2; vm2_primary6=$AZSIM_PRIMARY6
	say "IPv6: pod -> internet host $AZSIM_INET6: seen with the VM's primary IPv6"
	[ -n "$A6" ] && tcp_check "a (vm1) -> internet" "${P}inet" "$nsA" "$AZSIM_INET6" "$vm1_primary6"
	[ -n "$C6" ] && tcp_check "c (vm2) -> internet" "${P}inet" "$nsC" "$AZSIM_INET6" "$vm2_primary6"
fi

say "DEL returns the IPs to the pool"
declare -A want_before
for pod in "${!POD_VM[@]}"; do
	n=${POD_VM[$pod]}
	want_before[$n]=$((${want_before[$n]:-0} + 1))
done
for n in 1 2; do
	got=$(in_use "$n")
	if [ "$got" = "${want_before[$n]:-0}" ]; then
		ok "vm$n: $got address(es) in use before DEL"
	else
		bad "vm$n: $got address(es) in use before DEL, want ${want_before[$n]:-0}"
	fi
done
for pv in "${pods[@]}"; do
	read -r n pod <<<"$pv"
	n=${n#vm}
	ns=${P}vm$n-$pod
	if out=$(cni "$n" del "$ns" 2>&1); then
		ok "DEL pod $pod on vm$n"
	else
		bad "DEL pod $pod on vm$n: $out"
	fi
	ip=${POD_IP[$pod]:-}
	if [ -n "$ip" ] && ip -n "${P}vm$n" -4 route show "$ip/32" | grep -q .; then
		bad "DEL pod $pod on vm$n: host route to $ip left behind"
	fi
	ip=${POD_IP6[$pod]:-}
	if [ -n "$ip" ] && ip -n "${P}vm$n" -6 route show "$ip/128" | grep -q .; then
		bad "DEL pod $pod on vm$n: host route to $ip left behind"
	fi
	ip netns del "$ns"
done
for n in 1 2; do
	got=$(in_use "$n")
	if [ "$got" = 0 ]; then
		ok "vm$n: 0 addresses in use after DEL"
	else
		bad "vm$n: $got address(es) still in use after DEL"
	fi
	if [ "$dual" = 1 ]; then
		got=$(in_use6 "$n")
		if [ "$got" = 0 ]; then
			ok "vm$n: 0 IPv6 addresses in use after DEL"
		else
			bad "vm$n: $got IPv6 address(es) still in use after DEL"
		fi
	fi
	# The network's bridge (bridge mode) stays, as the Go plugin's does: DEL never removes a network.
	br=$(jq -r '.plugins[0].bridge // "azure0"' "$conflist")
	left=$(ip -n "${P}vm$n" -o link show | awk -F': ' '{print $2}' | grep -v -E "^(lo|eth0|$br)(@|\$)" | tr '\n' ' ')
	if [ -z "$left" ]; then
		ok "vm$n: no pod interfaces left"
	else
		bad "vm$n: interfaces left behind: $left"
	fi
done

echo
suite_end
