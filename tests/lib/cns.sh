# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# The CNS test double (tests/cns/cns-double.py) for the netns suites (sourced; needs $top).
#   cns_double_start NETNS KEY DIR ARGS...   start one in NETNS with ARGS (--port ... and the
#       pool's), its pool in DIR/cns-KEY.json (kept across restarts), its log DIR/double-KEY.log;
#       returns 0 once it listens, with its pid in CNS_DOUBLE_PID, else 1 (the log printed)
cns_double_start() {
	local ns=$1 key=$2 dir=$3 i
	shift 3
	rm -f "$dir/ready-$key"
	ip netns exec "$ns" /usr/bin/python3 "$top/tests/cns/cns-double.py" \
		--state "$dir/cns-$key.json" --ready "$dir/ready-$key" "$@" 2>>"$dir/double-$key.log" &
	CNS_DOUBLE_PID=$!
	for i in $(seq 200); do
		[ -s "$dir/ready-$key" ] && return 0
		kill -0 "$CNS_DOUBLE_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "cns-double $key in $ns did not start"
	cat "$dir/double-$key.log"
	return 1
}

port=${port:-7200}
# seen_as SERVER_NS CLIENT_NS DST WANT [BIND]: a TCP connection to DST (a listener on BIND, or on
# every address; port $DPORT, else the next of $port), the receiver saw WANT as its source
# (tests/lib/peer.py; needs WORK)
seen_as() {
	local spid i seen
	port=$((port + 1))
	rm -f "$WORK/ready" "$WORK/seen"
	ip netns exec "$1" /usr/bin/python3 "$top/tests/lib/peer.py" serve "${DPORT:-$port}" \
		"$WORK/ready" "$WORK/seen" ${5:+"$5"} >/dev/null 2>&1 &
	spid=$!
	for ((i = 0; i < 100; i++)); do [ -e "$WORK/ready" ] && break; sleep 0.05; done
	ip netns exec "$2" /usr/bin/python3 "$top/tests/lib/peer.py" connect "$3" "${DPORT:-$port}" \
		>/dev/null 2>&1 || kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	seen=$(cat "$WORK/seen" 2>/dev/null)
	[ "$seen" = "$4" ] || { echo "    saw '${seen:-nothing}', want $4"; return 1; }
}

# cns_cnitool: cnitool (libcni, ci/build-cnitool.sh) with the VNet simulation's shipped conflist
# (each VM's AZSIM_NETCONF) for pods q1 on vm1 and q2 on vm2: ADD, the pod identity each VM's CNS
# was asked with, pod to pod across VMs with their own addresses (IPv4; IPv6 too when CNS gave
# it), CHECK (the conflist at CNI 1.0.0 without portmap: libcni CHECKs from 0.4.0; and failing
# once the pod lost its address), DEL, CNS
# holding nothing of them after. SKIP when cnitool cannot be built. Needs sim, P, WORK, B and
# bdir from the suite.
cns_cnitool() {
	local ct n r ip6 a=() a6=() key who
	if ! ct=$("$top/ci/build-cnitool.sh" "$bdir/tools/cnitool" 2>>"$WORK/cnitool.log"); then
		skip "cnitool: cannot be built (golang-go, golang-github-appc-cni-dev, deb-src: ci/deps.sh)"
		return
	fi
	mkdir -p "$WORK/cnibin"
	ln -sf "$B/azure-vnet" "$WORK/cnibin/azure-vnet"
	ln -sf /usr/lib/cni/portmap "$WORK/cnibin/portmap"
	# ctool N CMD POD [NETCONF]: cnitool in VM N for pod POD (netns ${P}POD)
	ctool() {
		local nc=${4:-}
		[ -n "$nc" ] || nc=$(eval "$("$sim" env "vm$1")"; echo "$AZSIM_NETCONF")
		"$sim" exec "vm$1" -- env NETCONFPATH="$nc" CNI_PATH="$WORK/cnibin" \
			CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=ns-cnitool;K8S_POD_NAME=$3" \
			"$ct" "$2" azure "/var/run/netns/${P}$3"
	}
	for n in 1 2; do
		ip netns add "${P}q$n" && ip -n "${P}q$n" link set lo up
		r=$(ctool "$n" add "q$n")
		check "cnitool ADD q$n on vm$n (shipped $(jq -r '.plugins[0].ipam | if .mode then "Overlay" else "pod-subnet" end' \
			"$AZSIM_DIR/vm$n/net.d/10-azure.conflist") conflist): exit 0" eq "$?" 0
		a[n]=$(jq -r '[.ips[]?.address | select(contains("."))][0] // empty' <<<"$r" | cut -d/ -f1)
		ip6=$(jq -r '[.ips[]?.address | select(contains(":"))][0] // empty' <<<"$r" | cut -d/ -f1)
		a6[n]=$ip6
		key=$(ip netns exec "${P}vm$n" curl -s http://127.0.0.1:10090/test/pool |
			jq -r --arg ip "${a[n]}" '.assigned[$ip] // empty')
		who=$(ip netns exec "${P}vm$n" curl -s http://127.0.0.1:10090/test/requests |
			jq -c --arg k "$key" '[.[] | select(.path == "/network/requestipconfigs" and .body.podInterfaceID == $k)][-1].body.orchestratorContext')
		check "cnitool ADD q$n: vm$n's CNS holds ${a[n]:-nothing} for pod ns-cnitool/q$n" \
			eq "$who" "{\"podName\":\"q$n\",\"podNamespace\":\"ns-cnitool\"}"
	done
	check "cnitool: q1 -> q2 across VMs, q2 sees q1's own address" seen_as "${P}q2" "${P}q1" "${a[2]}" "${a[1]}"
	[ -z "${a6[1]}" ] || check "cnitool: IPv6 q1 -> q2, q2 sees q1's own address" \
		seen_as "${P}q2" "${P}q1" "${a6[2]}" "${a6[1]}"
	mkdir -p "$WORK/ct-check"
	jq '.cniVersion = "1.0.0" | .plugins |= map(select(.type != "portmap"))' \
		"$AZSIM_DIR/vm1/net.d/10-azure.conflist" >"$WORK/ct-check/10-azure.conflist"
	check "cnitool CHECK q1: exit 0" ctool 1 check q1 "$WORK/ct-check"
	# the same CHECK must see a broken pod (so the one above tested something)
	ip -n "${P}q1" addr flush dev eth0 scope global
	check "cnitool CHECK q1 fails once the pod's address is gone" absent ctool 1 check q1 "$WORK/ct-check"
	for n in 1 2; do
		check "cnitool DEL q$n: exit 0" ctool "$n" del "q$n"
		# (an ADD that got no address holds none either: that is the ADD's failure, not this one)
		check "cnitool DEL q$n: vm$n's CNS holds none of its addresses" \
			eq "${a[n]:+held }$(ip netns exec "${P}vm$n" curl -s http://127.0.0.1:10090/test/pool |
				jq --arg a "${a[n]}" --arg b "${a6[n]}" '[.assigned | keys[] | select(. == $a or . == $b)] | length')" "held 0"
		check "cnitool DEL q$n: no veth left in q$n" absent ip -n "${P}q$n" link show eth0
		ip netns del "${P}q$n"
	done
}
