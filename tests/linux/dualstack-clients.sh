#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Real CNI clients with a dual-stack conflist (issue 10), inside the dual-stack VNet simulation
# (linux/vnet-sim.sh with AZSIM_IPV6=1, prefix azdsc-; every plugin call runs in a simulated
# VM's namespace, all traffic stays between the simulation's namespaces):
#   cnitool  azure-vnet + azure-vnet-ipam (NMAgent source: the simulated wireserver), transparent
#            and bridge mode: ADD gives each pod an IPv4 and an IPv6 secondary of its VM, pod to
#            pod across VMs over IPv6 with the pods' own addresses, pod to the internet IPv6
#            host, CHECK, DEL (twice), both addresses back in the pool.
#   podman   runc, CNI backend, transparent mode: a container with both addresses
#            (GlobalIPv6Address), reached from the other VM over IPv6; podman rm gives both back.
# podman reads its configuration and plugins from a temporary directory and runs in a private
# mount namespace where /var/lib is a temporary overlay: the host's files are never touched. A
# client that is not available is reported SKIP. Usage: tests/linux/dualstack-clients.sh [build-dir].
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-${AZCNI_BUILD_DIR:-$top/build}}
export AZSIM_PREFIX=azdsc- AZSIM_IPV6=1 AZSIM_SECONDARIES=8
export AZSIM_DIR=/run/${AZSIM_PREFIX}sim
P=$AZSIM_PREFIX
sim=$top/linux/vnet-sim.sh
# shellcheck source=tests/lib/suite.sh
. "$top/tests/lib/suite.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 0; }
# The whole suite in a private mount namespace: podman's container netns mounts and the /var/lib
# overlay (podman_vm1) must outlive each podman command and stay invisible to the host.
if [ -z "${AZDSC_PRIVATE:-}" ]; then
	AZDSC_PRIVATE=1 exec unshare -m --propagation private -- "$0" "$@"
fi
for b in azure-vnet azure-vnet-ipam; do
	[ -x "$build/bin/$b" ] || { echo "FAIL: $build/bin/$b missing (build first)"; exit 1; }
done

work=$(mktemp -d /tmp/azdsc.XXXXXX)
cgroup_parents() { ls -d /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/libpod_parent 2>/dev/null || true; }
cgroups_before=$(cgroup_parents)
cleanup() {
	local rc=$? d
	[ -n "${pm:-}" ] && podman_vm1 rm -a -f -t 0 >>"$work/log" 2>&1
	for d in $(cgroup_parents); do
		grep -qxF "$d" <<<"$cgroups_before" && continue
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	"$sim" down >/dev/null 2>&1
	umount /var/lib 2>/dev/null # the overlay podman_setup made (its upper layer is in $work)
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
SUITE_LOG=$work/log SUITE_ERRLOG=$work/log
suite_begin "$work/results"

vm_env() { eval "$("$sim" env "vm$1")"; }
in_use() { # N FAMILY(4|6): addresses of that family in use in VM N's pool
	vm_env "$1"
	jq --argjson v6 "$([ "$2" = 6 ] && echo true || echo false)" \
		'[.IPAM.AddressSpaces[]?.Pools[]? | select((.IsIPv6 // false) == $v6) | .Addresses[]? | select(.InUse)] | length' \
		"$AZURE_CNI_RUNTIME_DIR/azure-vnet-ipam.json" 2>/dev/null || echo "?"
}
v6of() { jq -r '[.ips[]?.address | select(contains(":"))][0] // "" | split("/")[0]' <<<"$1"; }
v4of() { jq -r '[.ips[]?.address | select(contains(":") | not)][0] // "" | split("/")[0]' <<<"$1"; }
in_pool6() { # IP N: IP is one of VM N's IPv6 secondaries
	vm_env "$2"
	[ -n "$1" ] && [ "${1%::*}" = "${AZSIM_POOL6_FIRST%::*}" ] &&
		[ $((0x${1##*:})) -ge $((0x${AZSIM_POOL6_FIRST##*:})) ] &&
		[ $((0x${1##*:})) -le $((0x${AZSIM_POOL6_LAST##*:})) ]
}
ping_from() { # NETNS IP: a few tries (the first packet may wait for neighbour discovery)
	local i
	for i in 1 2 3; do ip netns exec "$1" busybox ping -c1 -W2 "$2" >/dev/null 2>&1 && return 0; done
	return 1
}
# seen_by_inet NETNS: the source address the internet host sees for a TCP connection from NETNS
seen_by_inet() {
	local port=$((7100 + RANDOM % 500)) spid seen
	rm -f "$work/seen" "$work/ready"
	ip netns exec "${P}inet" python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", int(sys.argv[1]))); s.listen(1); open(sys.argv[2], "w").close(); s.settimeout(15)
c, peer = s.accept(); c.close(); open(sys.argv[3], "w").write(peer[0])' "$port" "$work/ready" "$work/seen" &
	spid=$!
	for ((i = 0; i < 100; i++)); do [ -e "$work/ready" ] && break; sleep 0.05; done
	ip netns exec "$1" python3 -c 'import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5).close()' "$AZSIM_INET6" "$port" ||
		kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	cat "$work/seen" 2>/dev/null
}
eq() { [ "$1" = "$2" ]; }

mkdir -p "$work/cnibin"
for b in azure-vnet azure-vnet-ipam; do ln -s "$build/bin/$b" "$work/cnibin/$b"; done
ln -s /usr/lib/cni/loopback "$work/cnibin/loopback"
export CNI_PATH=$work/cnibin
"$sim" down >/dev/null 2>&1 # leftovers of an interrupted run with the same prefix
"$sim" up >>"$work/log" 2>&1 || { cat "$work/log"; exit 1; }

# conflist MODE DIR: the dual-stack conflist (a VM NIC with both families; nothing else needed)
conflist() {
	mkdir -p "$2"
	jq -n --arg mode "$1" '{cniVersion: "1.0.0", name: "azure", plugins: [{type: "azure-vnet",
		mode: $mode, bridge: "azure0", ipam: {type: "azure-vnet-ipam"}}]}' >"$2/10-azure.conflist"
}

# ---------------------------------------------------------------------------------------------
# cnitool_mode MODE: two pods (vm1, vm2) through cnitool, both families, then DEL
cnitool_mode() {
	local mode=$1 pa=${P}vm1-$1 pc=${P}vm2-$1 ra rc a6 c6 n
	ct_dir=$work/net.d-$1 # global: ct runs under check, whose locals would hide ours
	conflist "$mode" "$ct_dir"
	ct() { # N CMD NETNS
		"$sim" exec "vm$1" -- env NETCONFPATH="$ct_dir" CNI_PATH="$CNI_PATH" \
			CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$3" \
			"$cnitool" "$2" azure "/var/run/netns/$3"
	}
	ip netns add "$pa" && ip -n "$pa" link set lo up
	ip netns add "$pc" && ip -n "$pc" link set lo up
	ra=$(ct 1 add "$pa" 2>>"$work/log")
	check "cnitool $mode ADD on vm1 exits 0" eq "$?" 0
	rc=$(ct 2 add "$pc" 2>>"$work/log")
	check "cnitool $mode ADD on vm2 exits 0" eq "$?" 0
	a6=$(v6of "$ra") c6=$(v6of "$rc")
	vm_env 1
	check "cnitool $mode: vm1's pod has an IPv4 and an IPv6 secondary ($(v4of "$ra"), $a6)" \
		bash -c "[ -n '$(v4of "$ra")' ] && ip -n $pa -6 -o addr show dev eth0 scope global | grep -q ' $a6/64'"
	check "cnitool $mode: $a6 is one of vm1's IPv6 secondaries" in_pool6 "$a6" 1
	check "cnitool $mode: $c6 is one of vm2's IPv6 secondaries" in_pool6 "$c6" 2
	check "cnitool $mode: pod -> pod across VMs over IPv6 ($a6 -> $c6)" ping_from "$pa" "$c6"
	check "cnitool $mode: pod -> pod across VMs over IPv4" ping_from "$pa" "$(v4of "$rc")"
	vm_env 1
	check "cnitool $mode: pod -> the internet IPv6 host, seen as vm1's primary $AZSIM_PRIMARY6" \
		eq "$(seen_by_inet "$pa")" "$AZSIM_PRIMARY6"
	check "cnitool $mode: CHECK (both families)" ct 1 check "$pa"
	check "cnitool $mode: DEL on vm1" ct 1 del "$pa"
	check "cnitool $mode: DEL on vm2" ct 2 del "$pc"
	check "cnitool $mode: DEL again (idempotent)" ct 1 del "$pa"
	for n in 1 2; do
		check "cnitool $mode: vm$n: 0 IPv4 and 0 IPv6 addresses in use" \
			eq "$(in_use "$n" 4)/$(in_use "$n" 6)" "0/0"
	done
	check "cnitool $mode: no pod interface or IPv6 host route left in vm1" \
		bash -c "! ip -n ${P}vm1 -o link | grep -q azv && ! ip -n ${P}vm1 -6 route | grep -q azv"
	ip netns del "$pa"
	ip netns del "$pc"
}

echo "== cnitool, dual-stack conflist"
if cnitool=$("$top/ci/build-cnitool.sh" "$build/tools/cnitool" 2>>"$work/log"); then
	cnitool_mode transparent
	# a fresh simulation: the VMs' NICs go back out of the bridge
	"$sim" down >/dev/null 2>&1
	"$sim" up >>"$work/log" 2>&1 || { cat "$work/log"; exit 1; }
	cnitool_mode bridge
else
	skip "cnitool: cannot be built (golang-go, golang-github-appc-cni-dev, deb-src: ci/deps.sh)"
fi

# ---------------------------------------------------------------------------------------------
# podman in vm1's network namespace (nsenter: `ip netns exec` would remount /sys without the
# cgroup mounts runc needs), CNI backend, its configuration and plugins in $work; in this
# suite's private mount namespace /var/lib (libcni's cache /var/lib/cni) is an overlay whose
# upper layer is in $work (podman_setup): the host's files are never touched. Its cleanup
# process (started by conmon) may not see our environment: the plugins are wrappers that pin
# vm1's state and log directories.
podman_vm1() {
	nsenter --net="/run/netns/${P}vm1" env CONTAINERS_CONF="$work/containers.conf" "${pm[@]}" "$@"
}
podman_setup() {
	local b
	mkdir -p "$work/p/net.d" "$work/p/bin" "$work/p/containers" "$work/rootfs/bin" "$work/rootfs/www" \
		"$work/pov/u" "$work/pov/w"
	mount -t overlay azdsc-ov -o "lowerdir=/var/lib,upperdir=$work/pov/u,workdir=$work/pov/w" \
		/var/lib && mkdir -p /var/lib/cni || return 1
	conflist transparent "$work/p/net.d"
	vm_env 1
	for b in azure-vnet azure-vnet-ipam; do
		printf '#!/bin/sh\nexport AZURE_CNI_RUNTIME_DIR=%q AZURE_CNI_LOG_DIR=%q\nexec %q "$@"\n' \
			"$AZURE_CNI_RUNTIME_DIR" "$AZURE_CNI_LOG_DIR" "$build/bin/$b" >"$work/p/bin/$b"
		chmod 755 "$work/p/bin/$b"
	done
	cp /usr/lib/cni/loopback "$work/p/bin/"
	cat >"$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[network]
network_backend = "cni"
cni_plugin_dirs = ["$work/p/bin"]
network_config_dir = "$work/p/net.d"
default_network = "azure"
[engine]
runtime = "runc"
EOF
	pm=(podman --root "$work/podman/root" --runroot "$work/podman/run" --storage-driver vfs
		--tmpdir "$work/podman/tmp" --cgroup-manager cgroupfs --events-backend file)
	cp /bin/busybox "$work/rootfs/bin/"
	echo "hi over IPv6" >"$work/rootfs/www/index.html"
	tar -C "$work/rootfs" -cf "$work/bb-rootfs.tar" .
	podman_vm1 import -q "$work/bb-rootfs.tar" localhost/bb:latest >>"$work/log" 2>&1
}
wget6_from() { # NETNS IP WANT: fetch http://[IP]:80/ (bounded retries while httpd starts)
	local i got
	for ((i = 0; i < 20; i++)); do
		got=$(ip netns exec "$1" python3 -c 'import sys, urllib.request as u
sys.stdout.write(u.urlopen("http://[%s]:80/" % sys.argv[1], timeout=2).read().decode())' "$2" 2>/dev/null) && break
		sleep 0.1
	done
	[ "$got" = "$3" ]
}

echo "== podman, dual-stack conflist"
if command -v podman >/dev/null && command -v runc >/dev/null; then
	"$sim" down >/dev/null 2>&1
	"$sim" up >>"$work/log" 2>&1 || { cat "$work/log"; exit 1; }
	if podman_setup && out=$(podman_vm1 run -d --name azd1 --network azure localhost/bb \
		/bin/busybox httpd -f -p 80 -h /www 2>&1); then
		ok "podman run --network azure (dual-stack conflist, runc, CNI backend)"
		ip4=$(podman_vm1 inspect -f '{{.NetworkSettings.Networks.azure.IPAddress}}' azd1 2>>"$work/log")
		ip6=$(podman_vm1 inspect -f '{{.NetworkSettings.Networks.azure.GlobalIPv6Address}}' azd1 2>>"$work/log")
		check "podman: the container has IPv4 $ip4 and IPv6 $ip6" bash -c "[ -n '$ip4' ] && [ -n '$ip6' ]"
		check "podman: $ip6 is one of vm1's IPv6 secondaries" in_pool6 "$ip6" 1
		check "podman: 1 IPv4 and 1 IPv6 address in use" eq "$(in_use 1 4)/$(in_use 1 6)" "1/1"
		check "podman: vm2 reaches the container at [$ip6]:80" wget6_from "${P}vm2" "$ip6" "hi over IPv6"
		check "podman rm -f" podman_vm1 rm -f -t 1 azd1
		check "podman rm: both addresses back in the pool" eq "$(in_use 1 4)/$(in_use 1 6)" "0/0"
		check "podman rm: no pod interface or IPv6 host route left in vm1" \
			bash -c "! ip -n ${P}vm1 -o link | grep -q azv && ! ip -n ${P}vm1 -6 route | grep -q azv"
	else
		bad "podman run --network azure: ${out:-setup failed (see log)}"
	fi
else
	skip "podman: podman or runc not installed (tests/linux/clients.sh installs them)"
fi

if [ "$(suite_failed)" -gt 0 ]; then
	echo "--- log (last 40 lines)"
	tail -n 40 "$work/log"
	for d in "$AZSIM_DIR"/vm*/log; do tail -n 20 "$d"/*.log 2>/dev/null; done
fi
suite_end
