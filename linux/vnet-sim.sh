#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An Azure VNet made of network namespaces, for the demo and the real-client tests. Nothing is
# created on the host outside these namespaces (no host interfaces, routes or firewall rules).
#
#   <P>fabric   the VNet: one port per VM ("vm1", "vm2", ...) and one to the internet ("inet").
#               Every port has the VNet gateway 10.240.0.1/32 and the one virtual MAC
#               12:34:56:78:9a:bc; proxy ARP answers for every other VNet IP. Each VM's IPs
#               (primary and secondaries) are routed to that VM's NIC (a permanent neighbour
#               entry for the NIC's MAC, as the fabric knows it). Only primary IPs may reach
#               the internet (Azure's default outbound access). Serves NMAgent at
#               168.63.129.16:80 (python3 http.server) with each VM's own interface XML,
#               chosen by the source address of the request. Also holds IMDS's 169.254.169.254
#               (nothing served: a test's own listener shows who reached it).
#   <P>vmN      a VM: eth0 with MAC 00:0d:3a:00:00:0N, primary IP/16, default via 10.240.0.1.
#               vm1 10.240.0.4 (secondaries .5-.34), vm2 10.240.0.35 (.36-.65), ...
#   <P>inet     an internet host 203.0.113.10/24 behind the fabric.
# Dual-stack (AZSIM_IPV6=1, the default): the VNet also has fd00:10:240::/64 (a ULA range). Every
#   fabric port also holds Azure's IPv6 gateway fe80::1234:5678:9abc (the same MAC); each VM
#   gets primary fd00:10:240::<primary octet>/128 (as Azure's DHCPv6 hands it) and secondaries
#   ::<octet+1>..::<octet+N> (vm1 ::4, ::5-::34; the digits read as hex), its default route via
#   the gateway; the fabric routes each VM's IPv6 secondaries to that VM's primary and lets
#   only primaries reach the internet host 2001:db8:ff::10/64. The NMAgent XML gets a second
#   IPSubnet. AZSIM_IPV6=0: IPv4 only, as before.
# Variants (AZSIM_MODE, kept in <dir>/mode by up, so env/status/cns read it back):
#   nmagent     (default) pods from each VM's NIC secondaries (NMAgent, azure-vnet-ipam); each VM's
#               net.d holds linux/10-azure.conflist.
#   podsubnet   dynamic pod IP allocation ("swift"): the VNet's pod subnet 10.241.0.0/16 (gateway
#               10.241.0.1). VM N's network container owns 10.241.N.4 (its primary IP) and
#               10.241.N.5 .. 10.241.N.<4+secondaries> (its pods); the fabric routes each of
#               them to VM N, as it does NIC secondaries. IPv4 only (as AKS's pod subnets).
#               net.d: linux/azure-linux-swift.conflist.
#   overlay     Azure CNI Overlay: the cluster's pod CIDR 10.244.0.0/16 (IPv6 fd00:10:244::/64);
#               VM N's block 10.244.N.0/24 (fd00:10:244::N:0/112), pods from .4 (::N:4), no
#               gateway (an Overlay network container has none); the fabric routes each block
#               to its VM, as Azure's overlay routing does. IPv6 too when AZSIM_IPV6=1; VMs of
#               even number list a pod's IPv6 first (real CNS's order is a Go map's).
#               net.d: linux/azure-linux-swift-overlay.conflist.
#   In both CNS variants each VM runs its own CNS (tests/cns/cns-double.py, on 127.0.0.1:10090
#   inside the VM's namespace) owning that node's pool, its state kept in <dir>/vmN/cns.json
#   (across `cns vmN stop|start`), its log <dir>/vmN/cns.log. Pod addresses never reach the
#   internet themselves (the fabric drops them): only the node's SNAT gets them out.
#
# Usage: linux/vnet-sim.sh up|down|status
#        linux/vnet-sim.sh exec vmN [--bind SRC:DST]... -- CMD [ARG]...
#            runs CMD in vmN's namespace with AZURE_CNI_RUNTIME_DIR / AZURE_CNI_LOG_DIR set to
#            that VM's own directories, in a private mount namespace where /var/lib/cni (the
#            libcni result cache) is the VM's own, and each --bind DST shows SRC (a missing
#            DST is created on a throw-away overlay of its nearest existing parent). The host's
#            files are never touched.
#        linux/vnet-sim.sh env vmN    prints the VM's variables (shell syntax): AZSIM_NS,
#            AZSIM_PRIMARY(6), AZSIM_POOL_FIRST/LAST (and AZSIM_POOL6_*: the VM's pod addresses
#            in every variant), AZSIM_NETCONF (the VM's conflist directory), AZSIM_MODE, ...
#        linux/vnet-sim.sh cns vmN stop|start   stop or (re)start the VM's CNS (its pool kept)
# Environment: AZSIM_PREFIX (default "azsim-"), AZSIM_DIR (default /run/<prefix>sim),
#              AZSIM_VMS (number of VMs, default 2, at most 7), AZSIM_SECONDARIES (default 30;
#              also the size of each VM's CNS pool), AZSIM_IPV6 (1 dual-stack, default; 0 IPv4
#              only), AZSIM_MODE (nmagent, default; podsubnet; overlay: read by up only).
set -euo pipefail

P=${AZSIM_PREFIX:-azsim-}
DIR=${AZSIM_DIR:-/run/${P}sim}
NVMS=${AZSIM_VMS:-2}
NSEC=${AZSIM_SECONDARIES:-30}
FABRIC=${P}fabric
INET=${P}inet
GW=10.240.0.1
VNET=10.240.0.0/16
VMAC=12:34:56:78:9a:bc
WIRESERVER=168.63.129.16
IMDS=169.254.169.254
INET_IP=203.0.113.10
INET_GW=203.0.113.1
IPV6=${AZSIM_IPV6:-1}
VNET6=fd00:10:240::/64
GW6=fe80::1234:5678:9abc
INET6_IP=2001:db8:ff::10
INET6_GW=2001:db8:ff::1
TOP=$(cd "$(dirname "$0")/.." && pwd)
PODNET=10.241.0.0/16 # the pod subnet (podsubnet)
PODGW=10.241.0.1
OVL=10.244.0.0/16 # the cluster's pod CIDR (overlay)
OVL6=fd00:10:244::/64
CNSPORT=10090
# the variant: what up was given, else what the running simulation was brought up with
MODE=${AZSIM_MODE:-}
[ -n "$MODE" ] || MODE=$(cat "$DIR/mode" 2>/dev/null) || MODE=nmagent

die() { echo "vnet-sim: $*" >&2; exit 1; }

# vm_primary N - the primary IP's last octet of VM N (1-based): 4, 35, 66, ...
vm_octet() { echo $((4 + ($1 - 1) * (NSEC + 1))); }
vm_mac() { printf '00:0d:3a:00:00:%02x' "$1"; }
v6() { echo "fd00:10:240::$1"; } # the IPv6 twin of last octet $1

validate() {
	[[ $P =~ ^[a-z0-9-]{1,12}$ ]] || die "AZSIM_PREFIX must be 1-12 of [a-z0-9-]"
	[[ $NVMS =~ ^[1-7]$ ]] || die "AZSIM_VMS must be 1..7"
	[[ $IPV6 =~ ^[01]$ ]] || die "AZSIM_IPV6 must be 0 or 1"
	[[ $MODE =~ ^(nmagent|podsubnet|overlay)$ ]] || die "AZSIM_MODE must be nmagent, podsubnet or overlay"
	[[ $NSEC =~ ^[0-9]+$ ]] && [ "$NSEC" -ge 1 ] && [ $((4 + NVMS * (NSEC + 1))) -le 255 ] ||
		die "AZSIM_SECONDARIES too large for $NVMS VMs in 10.240.0.0/24"
}

# nsx NS CMD...: CMD in namespace NS (`ip -n` for ip itself: one exec less, the setup is many)
nsx() {
	local ns=$1
	shift
	if [ "$1" = ip ]; then
		shift
		ip -n "$ns" "$@"
	else
		ip netns exec "$ns" "$@"
	fi
}

write_xml() { # N FILE: VM N's NMAgent interface-info document
	local n=$1 file=$2 o i mac
	o=$(vm_octet "$n")
	mac=$(vm_mac "$n" | tr -d : | tr a-f A-F)
	{
		echo '<Interfaces>'
		echo "  <Interface MacAddress=\"$mac\" IsPrimary=\"true\">"
		echo "    <IPSubnet Prefix=\"$VNET\">"
		echo "      <IPAddress Address=\"10.240.0.$o\" IsPrimary=\"true\"/>"
		for ((i = 1; i <= NSEC; i++)); do
			echo "      <IPAddress Address=\"10.240.0.$((o + i))\" IsPrimary=\"false\"/>"
		done
		echo '    </IPSubnet>'
		if [ "$IPV6" = 1 ]; then
			echo "    <IPSubnet Prefix=\"$VNET6\">"
			echo "      <IPAddress Address=\"$(v6 "$o")\" IsPrimary=\"true\"/>"
			for ((i = 1; i <= NSEC; i++)); do
				echo "      <IPAddress Address=\"$(v6 $((o + i)))\" IsPrimary=\"false\"/>"
			done
			echo '    </IPSubnet>'
		fi
		echo '  </Interface>'
		echo '</Interfaces>'
	} >"$file"
}

write_server() {
	cat >"$DIR/nmagent.py" <<'PY'
# NMAgent interface-info endpoint of the simulated wireserver: GET
# /machine/plugins?comp=nmagent&type=getinterfaceinfov1 returns <dir>/<source IP>.xml.
import http.server, os, sys
from urllib.parse import urlsplit, parse_qs

DOCS, PIDFILE = sys.argv[1], sys.argv[2]

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        doc = os.path.join(DOCS, self.client_address[0] + ".xml")
        if (url.path != "/machine/plugins" or q.get("comp") != ["nmagent"]
                or q.get("type") != ["getinterfaceinfov1"] or not os.path.exists(doc)):
            self.send_error(404)
            return
        with open(doc, "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("nmagent: %s %s\n" % (self.client_address[0], fmt % args))
        sys.stderr.flush()

srv = http.server.ThreadingHTTPServer(("168.63.129.16", 80), Handler)
with open(PIDFILE + ".tmp", "w") as f:
    f.write("%d\n" % os.getpid())
os.rename(PIDFILE + ".tmp", PIDFILE)
srv.serve_forever()
PY
}

server_pid() { # prints the NMAgent server's pid when it is alive and ours
	local pid
	pid=$(cat "$DIR/nmagent.pid" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$DIR/nmagent.py" || return 1
	echo "$pid"
}

# ns_exists NS (not `ip netns list | grep -q`: under pipefail grep's early exit fails the pipe)
ns_exists() { [ -e "/run/netns/$1" ]; }

sysctl_ns() { nsx "$1" sysctl -qw "${@:2}" >/dev/null; } # NS KEY=VALUE...

# ---- the CNS variants ----

# pool N: VM N's pod addresses "FIRST LAST NC_PRIMARY" (IPv4) in the CNS variants
pool() {
	case $MODE in
	podsubnet) echo "10.241.$1.5 10.241.$1.$((4 + NSEC)) 10.241.$1.4" ;;
	overlay) echo "10.244.$1.4 10.244.$1.$((3 + NSEC)) 10.244.$1.0" ;;
	esac
}
# pool6 N: VM N's IPv6 pod addresses "FIRST LAST NC_PRIMARY" (overlay, dual-stack)
pool6() { printf 'fd00:10:244::%x:4 fd00:10:244::%x:%x fd00:10:244::%x:0\n' "$1" "$1" $((3 + NSEC)) "$1"; }
cns_v6() { [ "$MODE" = overlay ] && [ "$IPV6" = 1 ]; }

# fabric_pods N: the fabric routes VM N's pod addresses to the VM
fabric_pods() {
	local n=$1 o first last nc i
	o=$(vm_octet "$n")
	read -r first last nc <<<"$(pool "$n")"
	case $MODE in
	podsubnet)
		for ((i = 4; i <= 4 + NSEC; i++)); do
			echo "route add 10.241.$n.$i/32 via 10.240.0.$o dev vm$n"
		done | nsx "$FABRIC" ip -batch -
		;;
	overlay)
		nsx "$FABRIC" ip route add "10.244.$n.0/24" via "10.240.0.$o" dev "vm$n"
		cns_v6 && nsx "$FABRIC" ip -6 route add "fd00:10:244::$(printf %x "$n"):0/112" \
			via "$(v6 "$o")" dev "vm$n"
		;;
	esac
	return 0
}

cns_pid() { # N: the pid of VM N's CNS when it is alive and ours
	local pid
	pid=$(cat "$DIR/vm$1/cns.pid" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$DIR/vm$1/cns.json" || return 1
	echo "$pid"
}

# cns_launch N: start VM N's CNS on 127.0.0.1:10090 in the VM, owning the VM's pool (cns_wait
# waits until it listens). setsid: it outlives this script (down ends it with the VM's processes).
cns_launch() {
	local n=$1 o first last nc args=() f6 l6 nc6
	o=$(vm_octet "$n")
	read -r first last nc <<<"$(pool "$n")"
	case $MODE in
	podsubnet) args=(--subnet "$PODNET" --gateway "$PODGW") ;;
	overlay) args=(--subnet "$OVL" --gateway "") ;;
	esac
	if cns_v6; then
		read -r f6 l6 nc6 <<<"$(pool6 "$n")"
		args+=(--subnet6 "$OVL6" --first6 "$f6" --nc-primary6 "$nc6")
		[ $((n % 2)) = 0 ] && args+=(--v6-first)
	fi
	cns_pid "$n" >/dev/null && die "vm$n's CNS already runs"
	rm -f "$DIR/vm$n/cns.pid"
	setsid ip netns exec "${P}vm$n" python3 -u "$TOP/tests/cns/cns-double.py" --port "$CNSPORT" \
		--first "$first" --count "$NSEC" --nc-primary "$nc" "${args[@]}" \
		--host-ip "10.240.0.$o" --host-gateway "$GW" --host-subnet "$VNET" \
		--state "$DIR/vm$n/cns.json" --ready "$DIR/vm$n/cns.pid" \
		</dev/null >>"$DIR/vm$n/cns.log" 2>&1 &
	echo $! >"$DIR/vm$n/cns.launched"
}

cns_wait() { # N
	local n=$1 i launched
	launched=$(cat "$DIR/vm$n/cns.launched")
	for ((i = 0; i < 200; i++)); do
		cns_pid "$n" >/dev/null && return 0
		kill -0 "$launched" 2>/dev/null || break
		sleep 0.05
	done
	cat "$DIR/vm$n/cns.log" >&2
	die "vm$n's CNS did not start"
}

cns_start() { cns_launch "$1" && cns_wait "$1"; }

cns_stop() { # N
	local pid i
	pid=$(cns_pid "$1") || return 0
	kill "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
	rm -f "$DIR/vm$1/cns.pid"
}

# netconf N: VM N's conflist directory, with the variant's shipped conflist
netconf() {
	local c=10-azure.conflist
	case $MODE in
	podsubnet) c=azure-linux-swift.conflist ;;
	overlay) c=azure-linux-swift-overlay.conflist ;;
	esac
	mkdir -p "$DIR/vm$1/net.d"
	cp "$TOP/linux/$c" "$DIR/vm$1/net.d/10-azure.conflist"
}

# vm_up6 N NS: VM N's IPv6 (its fabric port is up, its IPv4 done)
vm_up6() {
	local n=$1 ns=$2 o i p
	o=$(vm_octet "$n")
	p=$(v6 "$o")
	[ "$n" = 1 ] && sysctl_ns "$FABRIC" net.ipv6.conf.all.forwarding=1
	sysctl_ns "$FABRIC" "net.ipv6.conf.vm$n.accept_ra=0"
	sysctl_ns "$ns" net.ipv6.conf.eth0.accept_ra=0
	printf '%s\n' "addr add $p/128 dev eth0 nodad" "route add default via $GW6 dev eth0" |
		nsx "$ns" ip -batch -
	{
		echo "addr add $GW6/64 dev vm$n nodad"
		echo "neigh replace $p lladdr $(vm_mac "$n") dev vm$n nud permanent"
		echo "route add $p/128 dev vm$n"
		for ((i = 1; i <= NSEC; i++)); do
			echo "route add $(v6 $((o + i)))/128 via $p dev vm$n"
		done
	} | nsx "$FABRIC" ip -6 -batch -
}

# inet_up6: the internet host's IPv6, reachable from the VMs' primary IPv6 addresses only
inet_up6() {
	local n
	sysctl_ns "$INET" net.ipv6.conf.eth0.accept_ra=0
	nsx "$FABRIC" ip addr add "$INET6_GW/64" dev inet nodad
	nsx "$INET" ip addr add "$INET6_IP/64" dev eth0 nodad
	nsx "$INET" ip -6 route add default via "$INET6_GW"
	for ((n = 1; n <= NVMS; n++)); do
		nsx "$FABRIC" ip -6 rule add pref 100 from "$(v6 "$(vm_octet "$n")")" to "$INET6_IP/64" lookup main
	done
	nsx "$FABRIC" ip -6 rule add pref 101 from "$VNET6" to "$INET6_IP/64" unreachable
	nsx "$FABRIC" ip -6 rule add pref 101 from "$OVL6" to "$INET6_IP/64" unreachable
}

cmd_up() {
	validate
	ns_exists "$FABRIC" && die "already up (linux/vnet-sim.sh down first)"
	mkdir -p "$DIR/nmagent"
	echo "$MODE" >"$DIR/mode"
	trap 'echo "vnet-sim: up failed, tearing down" >&2; cmd_down >/dev/null 2>&1' ERR

	ip netns add "$FABRIC"
	nsx "$FABRIC" ip link set lo up
	sysctl_ns "$FABRIC" net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.all.send_redirects=0 \
		net.ipv4.conf.default.send_redirects=0
	nsx "$FABRIC" ip addr add "$WIRESERVER/32" dev lo
	nsx "$FABRIC" ip addr add "$IMDS/32" dev lo
	# The servers start now and are waited for at the end (python's start-up overlaps the rest).
	write_server
	rm -f "$DIR/nmagent.pid"
	# setsid: the server outlives this script; down kills it by the pid it wrote.
	setsid ip netns exec "$FABRIC" python3 -u "$DIR/nmagent.py" "$DIR/nmagent" "$DIR/nmagent.pid" \
		</dev/null >>"$DIR/nmagent.log" 2>&1 &

	local n ns o i
	for ((n = 1; n <= NVMS; n++)); do
		ns=${P}vm$n
		o=$(vm_octet "$n")
		ip netns add "$ns"
		# Both ends are created inside the fabric, then one end moves: no host interface ever.
		# The fabric knows each NIC's MAC and which IPs the NIC owns. (One ip process per
		# namespace: the set-up is many small commands.)
		{
			echo "link add vm$n address $VMAC type veth peer name eth0 address $(vm_mac "$n")"
			echo "link set eth0 netns $ns"
			echo "addr add $GW/32 dev vm$n"
			echo "link set vm$n up"
			echo "neigh replace 10.240.0.$o lladdr $(vm_mac "$n") dev vm$n nud permanent"
			echo "route add 10.240.0.$o/32 dev vm$n"
			for ((i = 1; i <= NSEC; i++)); do
				echo "route add 10.240.0.$((o + i))/32 via 10.240.0.$o dev vm$n"
			done
		} | nsx "$FABRIC" ip -batch -
		sysctl_ns "$FABRIC" "net.ipv4.conf.vm$n.proxy_arp=1" "net.ipv4.neigh.vm$n.proxy_delay=0"
		printf '%s\n' "link set lo up" "addr add 10.240.0.$o/16 dev eth0" "link set eth0 up" \
			"route add default via $GW dev eth0" | nsx "$ns" ip -batch -
		[ "$IPV6" = 1 ] && vm_up6 "$n" "$ns"
		write_xml "$n" "$DIR/nmagent/10.240.0.$o.xml"
		mkdir -p "$DIR/vm$n/run" "$DIR/vm$n/log" "$DIR/vm$n/cni-cache" "$DIR/vm$n/mnt"
		fabric_pods "$n"
		netconf "$n"
		[ "$MODE" = nmagent ] || cns_launch "$n"
	done

	ip netns add "$INET"
	nsx "$INET" ip link set lo up
	nsx "$FABRIC" ip link add inet type veth peer name eth0
	nsx "$FABRIC" ip link set eth0 netns "$INET"
	nsx "$FABRIC" ip addr add "$INET_GW/24" dev inet
	nsx "$FABRIC" ip link set inet up
	nsx "$INET" ip addr add "$INET_IP/24" dev eth0
	nsx "$INET" ip link set eth0 up
	nsx "$INET" ip route add default via "$INET_GW"
	# Default outbound access: only a VM's primary IP may leave the VNet for the internet.
	for ((n = 1; n <= NVMS; n++)); do
		nsx "$FABRIC" ip rule add pref 100 from "10.240.0.$(vm_octet "$n")" to "$INET_IP/24" lookup main
	done
	nsx "$FABRIC" ip rule add pref 101 from "$VNET" to "$INET_IP/24" unreachable
	# pod addresses (pod subnet, overlay) never leave for the internet themselves
	nsx "$FABRIC" ip rule add pref 101 from "$PODNET" to "$INET_IP/24" unreachable
	nsx "$FABRIC" ip rule add pref 101 from "$OVL" to "$INET_IP/24" unreachable
	[ "$IPV6" = 1 ] && inet_up6

	for ((i = 0; i < 200; i++)); do
		if server_pid >/dev/null &&
			nsx "${P}vm1" bash -c "exec 3<>/dev/tcp/$WIRESERVER/80" 2>/dev/null; then
			break
		fi
		sleep 0.05
	done
	server_pid >/dev/null || { cat "$DIR/nmagent.log" >&2; die "NMAgent server did not start"; }
	if [ "$MODE" != nmagent ]; then
		for ((n = 1; n <= NVMS; n++)); do cns_wait "$n"; done
	fi
	trap - ERR
	echo "vnet-sim: up ($MODE): $FABRIC, $INET, VMs ${P}vm1..${P}vm$NVMS, NMAgent at $WIRESERVER:80 (pid $(server_pid))$([ "$MODE" = nmagent ] || echo ", a CNS in each VM at 127.0.0.1:$CNSPORT")"
}

cmd_down() {
	local pid ns p
	if pid=$(server_pid); then
		kill "$pid" 2>/dev/null || true
	fi
	# Every namespace with our prefix (VMs, fabric, internet, and pods the callers made):
	# end the processes still inside (ours by construction), then delete the namespace.
	for ns in $(ip netns list | awk '{print $1}' | grep "^${P}" || true); do
		for p in $(ip netns pids "$ns" 2>/dev/null || true); do
			kill "$p" 2>/dev/null || true
		done
	done
	for ns in $(ip netns list | awk '{print $1}' | grep "^${P}" || true); do
		for p in $(ip netns pids "$ns" 2>/dev/null || true); do
			kill -9 "$p" 2>/dev/null || true
		done
		ip netns del "$ns" 2>/dev/null || true
	done
	case $DIR in /run/* | /tmp/* | /var/tmp/*) rm -rf "$DIR" ;; esac
	echo "vnet-sim: down"
}

cmd_status() {
	local ns n
	ns_exists "$FABRIC" || { echo "vnet-sim: down"; return 1; }
	echo "namespaces: $(ip netns list | awk '{print $1}' | grep "^${P}" | sort | tr '\n' ' ')"
	if pid=$(server_pid); then echo "nmagent: pid $pid at $WIRESERVER:80"; else echo "nmagent: NOT running"; fi
	echo "mode: $MODE (conflist $(jq -c '.plugins[0].ipam' "$DIR/vm1/net.d/10-azure.conflist" 2>/dev/null))"
	for ((n = 1; n <= NVMS; n++)); do
		ns=${P}vm$n
		ns_exists "$ns" || continue
		echo "$ns: $(nsx "$ns" ip -4 -o addr show dev eth0 | awk '{print $4}' | tr '\n' ' ')" \
			"mac $(nsx "$ns" cat /sys/class/net/eth0/address)" \
			"secondaries 10.240.0.$(($(vm_octet "$n") + 1))-$(($(vm_octet "$n") + NSEC))"
		[ "$IPV6" = 1 ] && echo "$ns: $(v6 "$(vm_octet "$n")")/128, secondaries" \
			"$(v6 $(($(vm_octet "$n") + 1)))-$(v6 $(($(vm_octet "$n") + NSEC))) in $VNET6"
		[ "$MODE" = nmagent ] && continue
		read -r first last nc <<<"$(pool "$n")"
		echo "$ns: CNS $(if pid=$(cns_pid "$n"); then echo "pid $pid"; else echo "NOT running"; fi)," \
			"pods $first-$last (network container $nc)$(cns_v6 && read -r f6 l6 _ <<<"$(pool6 "$n")" && echo ", $f6-$l6")"
	done
	echo "$INET: $INET_IP$([ "$IPV6" = 1 ] && echo " $INET6_IP")"
}

cmd_env() {
	local n=${1#vm}
	[[ $n =~ ^[1-7]$ ]] && [ "$n" -le "$NVMS" ] || die "no such VM: $1"
	local o
	o=$(vm_octet "$n")
	echo "AZSIM_NS=${P}vm$n"
	echo "AZSIM_PRIMARY=10.240.0.$o"
	if [ "$IPV6" = 1 ]; then
		echo "AZSIM_PRIMARY6=$(v6 "$o")"
		echo "AZSIM_INET6=$INET6_IP"
	fi
	if [ "$MODE" = nmagent ]; then
		echo "AZSIM_POOL_FIRST=10.240.0.$((o + 1))"
		echo "AZSIM_POOL_LAST=10.240.0.$((o + NSEC))"
		if [ "$IPV6" = 1 ]; then
			echo "AZSIM_POOL6_FIRST=$(v6 $((o + 1)))"
			echo "AZSIM_POOL6_LAST=$(v6 $((o + NSEC)))"
		fi
	else
		read -r first last nc <<<"$(pool "$n")"
		echo "AZSIM_POOL_FIRST=$first"
		echo "AZSIM_POOL_LAST=$last"
		echo "AZSIM_NC_PRIMARY=$nc"
		if cns_v6; then
			read -r first last nc <<<"$(pool6 "$n")"
			echo "AZSIM_POOL6_FIRST=$first"
			echo "AZSIM_POOL6_LAST=$last"
		else
			echo "AZSIM_POOL6_FIRST="
			echo "AZSIM_POOL6_LAST="
		fi
		echo "AZSIM_CNS_URL=http://127.0.0.1:$CNSPORT"
	fi
	echo "AZSIM_MODE=$MODE"
	echo "AZSIM_NETCONF=$DIR/vm$n/net.d"
	echo "AZURE_CNI_RUNTIME_DIR=$DIR/vm$n/run"
	echo "AZURE_CNI_LOG_DIR=$DIR/vm$n/log"
	echo "AZSIM_CNI_CACHE=$DIR/vm$n/cni-cache"
}

cmd_exec() {
	local vm=${1:-}
	shift || die "exec: VM missing"
	local n=${vm#vm}
	[[ $n =~ ^[1-7]$ ]] && ns_exists "${P}vm$n" || die "no such VM: $vm"
	local binds=("$DIR/vm$n/cni-cache:/var/lib/cni")
	while [ $# -gt 0 ]; do
		case $1 in
		--bind) binds+=("$2"); shift 2 ;;
		--) shift; break ;;
		*) break ;;
		esac
	done
	[ $# -gt 0 ] || die "exec: command missing"
	# The inner script gets everything through the environment: no quoting of caller values.
	AZSIM_BINDS=$(printf '%s\n' "${binds[@]}") AZSIM_NS="${P}vm$n" AZSIM_MNT="$DIR/vm$n/mnt" \
	AZURE_CNI_RUNTIME_DIR="$DIR/vm$n/run" AZURE_CNI_LOG_DIR="$DIR/vm$n/log" \
		exec unshare -m --propagation private -- bash -c '
set -e
tmp=$AZSIM_MNT
mount -t tmpfs azsim-tmp "$tmp"
k=0
while IFS= read -r b; do
	[ -n "$b" ] || continue
	src=${b%%:*} dst=${b#*:}
	if [ ! -e "$dst" ]; then
		# Make dst on an overlay of its nearest existing parent; the upper layer is tmpfs.
		p=$(dirname "$dst")
		while [ ! -d "$p" ]; do p=$(dirname "$p"); done
		k=$((k + 1))
		mkdir -p "$tmp/u$k" "$tmp/w$k"
		mount -t overlay azsim-ov -o "lowerdir=$p,upperdir=$tmp/u$k,workdir=$tmp/w$k" "$p"
		mkdir -p "$dst"
	fi
	mount --bind "$src" "$dst"
done <<<"$AZSIM_BINDS"
exec ip netns exec "$AZSIM_NS" "$@"
' azsim-exec "$@"
}

cmd_cns() {
	local n=${1#vm}
	[[ $n =~ ^[1-7]$ ]] && ns_exists "${P}vm$n" || die "no such VM: ${1:-}"
	[ "$MODE" != nmagent ] || die "the $MODE variant has no CNS"
	case ${2:-} in
	stop) cns_stop "$n" ;;
	start) cns_start "$n" ;;
	*) die "cns vmN stop|start" ;;
	esac
}

cmd=${1:-}
shift || true
case $cmd in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env "$@" ;;
exec) cmd_exec "$@" ;;
cns) cmd_cns "$@" ;;
*) echo "usage: $0 up|down|status|env vmN|exec vmN [--bind SRC:DST]... -- CMD...|cns vmN stop|start" >&2; exit 2 ;;
esac
