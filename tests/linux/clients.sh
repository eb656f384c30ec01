#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Real CNI clients driving azure-vnet + azure-vnet-ipam inside the VNet simulation
# (linux/vnet-sim.sh, prefix azcli-): every plugin call runs in a simulated VM's namespace and all
# traffic stays between the simulation's namespaces.
#   cnitool  the shipped conflist (azure-vnet + portmap): ADD with a port mapping reached from the
#            other VM, CHECK (conflist without portmap: its 1.1.1 CHECK is broken), CHECK failing
#            after the pod's address is removed, DEL (twice), IPs back in the pool.
#   podman   runc, CNI backend: a container on the azure network, reached across VMs by its pod
#            IP and through portmap; podman rm gives the IP back.
#   attach   linux/attach.sh gives a `--network none` podman container a VNet interface and
#            takes it away, also after the container stopped (empty netns).
#   ctr      containerd's `ctr run --cni` (DEL arrives with an empty netns).
#   cri      containerd's CRI plugin driven as the kubelet drives it, by our CRI client
#            (ci/build-cri-client.sh): RunPodSandbox with port mappings and DNS config, a
#            container serving HTTP reached from another pod and through its host port, the
#            CNI_ARGS (K8S_POD_*) in our records and in azure-vnet-inspect, containerd restarted
#            while pods run, StopPodSandbox (DEL with the netns), RemovePodSandbox (DEL again
#            without netns or prevResult), 30 pods started at once; then the shipped pod-subnet
#            conflist (azure-cns) with a CNS test double in vm1: the pod's name and namespace
#            reach CNS, StopPodSandbox releases its address there.
# podman, ctr and cri run in a private mount namespace where /etc/cni/net.d, /opt/cni/bin,
# /var/lib/cni, /var/lib/containers and /run/containerd (containerd's shim sockets and runc
# state) are temporary directories: the host's are never touched. containerd has its own root,
# state and socket in the scratch directory and is stopped by its pid. Storage is vfs (podman)
# or native (containerd) in temporary directories. A client whose package cannot be installed is
# reported SKIP. AZCNI_CLIENTS="cri ctr" runs only those clients (default: all four: cnitool
# podman ctr cri). AZCNI_REFERENCE=1 runs with ptp + host-local instead of azure-vnet (to check the
# test itself). Exit non-zero on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${AZCNI_BUILD_DIR:-$top/build}
export AZSIM_PREFIX=${AZSIM_PREFIX:-azcli-}
export AZSIM_IPV6=${AZSIM_IPV6:-0} # IPv4 only here: the dual-stack clients are in tests/linux/dualstack.sh
export AZSIM_DIR=/run/${AZSIM_PREFIX}sim
P=$AZSIM_PREFIX
sim=$top/linux/vnet-sim.sh
reference=${AZCNI_REFERENCE:-0}

# ensure CMD PACKAGE...: CMD present, installing the packages once if needed.
ensure() {
	local c=$1
	shift
	command -v "$c" >/dev/null && return 0
	DEBIAN_FRONTEND=noninteractive apt-get -qq -y -o DPkg::Lock::Timeout=300 install \
		--no-install-recommends "$@" >>"$work/log" 2>&1
	command -v "$c" >/dev/null
}

shipped=$top/tests/data/conflist/10-azure-linux.conflist
# conflist_for N OUT [check]: the shipped conflist for VM N (reference: ptp + host-local in its
# place); "check" drops portmap and raises cniVersion to 1.0.0 (libcni CHECKs from 0.4.0);
# "cri" adds dns to azure-vnet's capabilities (as the Go plugin's Windows conflist declares it),
# so the pod's DNS config reaches the plugin as runtimeConfig.dns.
conflist_for() {
	local n=$1 out=$2 mode=${3:-} c
	c=$(cat "$shipped")
	if [ "$reference" = 1 ]; then
		vm_env "$n"
		c=$(jq --arg first "$AZSIM_POOL_FIRST" --arg last "$AZSIM_POOL_LAST" \
			--arg gw "$AZSIM_PRIMARY" --arg dir "$AZURE_CNI_RUNTIME_DIR/host-local" \
			'.cniVersion = "0.4.0" | .plugins[0] = {type:"ptp",ipMasq:true,
			  ipam:{type:"host-local",dataDir:$dir,routes:[{dst:"0.0.0.0/0"}],
			  ranges:[[{subnet:"10.240.0.0/16",rangeStart:$first,rangeEnd:$last,gateway:$gw}]]}}' <<<"$c")
	fi
	if [ "$mode" = check ]; then
		c=$(jq '.cniVersion = "1.0.0" | .plugins |= map(select(.type != "portmap"))' <<<"$c")
	elif [ "$mode" = cri ]; then
		c=$(jq '.plugins[0].capabilities = {dns: true}' <<<"$c")
	fi
	printf '%s\n' "$c" >"$out"
}

# ---------------------------------------------------------------------------------------------
# cnitool
test_cnitool() {
	local cnitool pod=${P}vm1-p1 out ip
	if ! cnitool=$("$top/ci/build-cnitool.sh" "$build/tools/cnitool" 2>>"$work/log"); then
		DEBIAN_FRONTEND=noninteractive apt-get -qq -y -o DPkg::Lock::Timeout=300 install \
			--no-install-recommends golang-go golang-github-appc-cni-dev dpkg-dev xz-utils >>"$work/log" 2>&1
		if ! cnitool=$("$top/ci/build-cnitool.sh" "$build/tools/cnitool" 2>>"$work/log"); then
			skip "cnitool: cannot be built (golang-go, golang-github-appc-cni-dev, deb-src: ci/deps.sh)"
			return
		fi
	fi
	conflist_for 1 "$work/conf-full/10-azure.conflist"
	conflist_for 1 "$work/conf-check/10-azure.conflist" check
	ip netns add "$pod" && ip -n "$pod" link set lo up
	ct() { # conflist-dir cmd: cnitool in vm1
		"$sim" exec vm1 -- env NETCONFPATH="$1" CNI_PATH="$CNI_PATH" \
			CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=p1" \
			CAP_ARGS='{"portMappings":[{"hostPort":18080,"containerPort":80,"protocol":"tcp"}]}' \
			"$cnitool" "$2" azure "/var/run/netns/$pod"
	}
	if out=$(ct "$work/conf-full" add 2>&1); then
		ok "cnitool ADD (azure-vnet + portmap, port 18080->80)"
	else
		bad "cnitool ADD: $out"
		return
	fi
	ip=$(jq -r '.ips[0].address // empty' <<<"$out")
	ip=${ip%/*}
	check "cnitool ADD: pod IP $ip is a vm1 secondary and on the pod's eth0" \
		both in_pool "$ip" 1 -- has_ip "/run/netns/$pod" "$ip"
	check "cnitool ADD: 1 address in use" [ "$(in_use 1)" = 1 ]
	ip netns exec "$pod" busybox httpd -p 80 -h "$work/rootfs/www"
	check "portmap: vm2 -> vm1 primary $vm1_primary:18080 reaches the pod's port 80" \
		wget_from "${P}vm2" "http://$vm1_primary:18080/" "hi from a container"
	check "pod IP reachable from vm2 unchanged ($ip:80)" \
		wget_from "${P}vm2" "http://$ip:80/" "hi from a container"
	check "cnitool CHECK (without portmap) passes" ct "$work/conf-check" check
	ip -n "$pod" addr flush dev eth0
	check "cnitool CHECK fails once the pod's address is gone" not ct "$work/conf-check" check
	check "cnitool DEL" ct "$work/conf-full" del
	check "cnitool DEL: IP back in the pool (0 in use)" [ "$(in_use 1)" = 0 ]
	check "cnitool DEL: portmap DNAT for 18080 gone" not dnat_has 18080
	check "cnitool DEL: no host route to $ip, no pod interface left" clean_vm 1 "$ip"
	check "cnitool DEL again (idempotent)" ct "$work/conf-full" del
	ip netns pids "$pod" | xargs -r kill
	ip netns del "$pod"
}

# ---------------------------------------------------------------------------------------------
# podman + the attach helper (inner: private mount namespace)
# The runtimes' own helper processes (podman's conmon-started cleanup, which runs the CNI DEL)
# do not inherit our environment, so the plugins are installed in the private /opt/cni/bin as
# wrappers that pin the simulated VM's state and log directories: a DEL never falls back to the
# host's /var/run. With CALLS set, azure-vnet also appends one line per call to that file:
# "COMMAND cid=CNI_CONTAINERID netns=CNI_NETNS prev=yes|no args=CNI_ARGS" (prev: a prevResult
# in its stdin), what the runtime sent.
install_wrapped_plugins() {
	local b real
	vm_env 1
	for b in "$work/cnibin/"*; do
		real=$(readlink -f "$b")
		case ${b##*/} in
		azure-vnet | azure-vnet-ipam)
			{
				printf '#!/bin/sh\nexport AZURE_CNI_RUNTIME_DIR=%q AZURE_CNI_LOG_DIR=%q\n' \
					"$AZURE_CNI_RUNTIME_DIR" "$AZURE_CNI_LOG_DIR"
				if [ -n "${CALLS:-}" ] && [ "${b##*/}" = azure-vnet ]; then
					printf 'in=$(cat)\ncase $in in *\\"prevResult\\"*) prev=yes ;; *) prev=no ;; esac\n'
					printf 'printf "%%s cid=%%s netns=%%s prev=%%s args=%%s\\n" "$CNI_COMMAND" "$CNI_CONTAINERID" "$CNI_NETNS" "$prev" "$CNI_ARGS" >>%q\n' "$CALLS"
					printf 'printf "%%s" "$in" | exec %q "$@"\n' "$real"
				else
					printf 'exec %q "$@"\n' "$real"
				fi
			} >"/opt/cni/bin/${b##*/}"
			chmod 755 "/opt/cni/bin/${b##*/}"
			;;
		*) cp -P "$b" /opt/cni/bin/ ;;
		esac
	done
}
podman_setup() {
	conflist_for 1 /etc/cni/net.d/10-azure.conflist
	install_wrapped_plugins
	cat >"$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[network]
network_backend = "cni"
cni_plugin_dirs = ["/opt/cni/bin"]
network_config_dir = "/etc/cni/net.d"
default_network = "azure"
[engine]
runtime = "runc"
EOF
	export CONTAINERS_CONF=$work/containers.conf
	pm=(podman --root "$work/podman/root" --runroot "$work/podman/run" --storage-driver vfs
		--tmpdir "$work/podman/tmp" --cgroup-manager cgroupfs --events-backend file)
	"${pm[@]}" import -q "$work/bb-rootfs.tar" localhost/bb:latest >>"$work/log" 2>&1
}
podman_cleanup() {
	in_vm 1 "${pm[@]}" rm -a -f -t 0 >>"$work/log" 2>&1
	"${pm[@]}" system reset -f >>"$work/log" 2>&1 || true
}
inner_podman() {
	local ip out pid
	podman_setup || { bad "podman: setup (see log)"; return; }
	if out=$(in_vm 1 "${pm[@]}" run -d --name azc1 --network azure -p 18090:80 localhost/bb \
		/bin/busybox httpd -f -p 80 -h /www 2>&1); then
		ok "podman run --network azure (runc, CNI backend)"
		ip=$("${pm[@]}" inspect -f '{{.NetworkSettings.Networks.azure.IPAddress}}' azc1)
		check "podman: container IP $ip is a vm1 secondary" in_pool "$ip" 1
		check "podman: 1 address in use" [ "$(in_use 1)" = 1 ]
		check "podman: vm2 reaches the container at its pod IP $ip:80" \
			wget_from "${P}vm2" "http://$ip:80/" "hi from a container"
		check "podman: vm2 reaches it through portmap $vm1_primary:18090" \
			wget_from "${P}vm2" "http://$vm1_primary:18090/" "hi from a container"
		check "podman rm -f" in_vm 1 "${pm[@]}" rm -f -t 1 azc1
		check "podman rm: IP back in the pool (0 in use)" [ "$(in_use 1)" = 0 ]
		check "podman rm: no pod interface or host route left in vm1" clean_vm 1 "$ip"
	else
		bad "podman run --network azure: $out"
	fi

	# attach helper: a --network none container gets a VNet interface, then loses it.
	if ! out=$("${pm[@]}" run -d --name azc2 --network none localhost/bb /bin/busybox sleep 600 2>&1); then
		bad "podman run --network none: $out"
		podman_cleanup
		return
	fi
	export AZCNI_RUNTIME="${pm[*]}" AZCNI_CONFLIST=/etc/cni/net.d/10-azure.conflist \
		AZCNI_ATTACH_DIR=$work/attach CNI_PATH=/opt/cni/bin
	pid=$("${pm[@]}" inspect -f '{{.State.Pid}}' azc2)
	if out=$(in_vm 1 "$top/linux/attach.sh" add azc2 2>&1); then
		ok "attach.sh add: --network none container attached"
		ip=$(jq -r '.ips[0].address // empty' <<<"$out")
		ip=${ip%/*}
		check "attach: container eth0 has $ip, a vm1 secondary" \
			both in_pool "$ip" 1 -- has_ip "/proc/$pid/ns/net" "$ip"
		check "attach: vm2 pings the container at $ip" ip netns exec "${P}vm2" busybox ping -c 1 -W 2 "$ip"
		check "attach.sh del (container running)" in_vm 1 "$top/linux/attach.sh" del azc2
		check "attach del: eth0 gone from the container" not nsenter --net="/proc/$pid/ns/net" ip link show dev eth0
		check "attach del: IP back in the pool (0 in use)" [ "$(in_use 1)" = 0 ]
		check "attach del: no pod interface or host route left in vm1" clean_vm 1 "$ip"
		# Attach again, then detach after the container stopped: DEL with an empty netns.
		in_vm 1 "$top/linux/attach.sh" add azc2 >>"$work/log" 2>&1
		"${pm[@]}" stop -t 0 azc2 >>"$work/log" 2>&1
		check "attach.sh del after the container stopped (empty CNI_NETNS)" \
			in_vm 1 "$top/linux/attach.sh" del azc2
		check "attach del (stopped): IP back in the pool (0 in use)" [ "$(in_use 1)" = 0 ]
		check "attach del (stopped): no pod interface or host route left in vm1" clean_vm 1
	else
		bad "attach.sh add: $out"
	fi
	podman_cleanup
}

# ---------------------------------------------------------------------------------------------
# containerd: ctr run --cni (inner: private mount namespace)
inner_ctr() {
	local sock=$work/ctrd/containerd.sock cpid out i ip
	conflist_for 1 /etc/cni/net.d/10-azure.conflist
	install_wrapped_plugins
	mkdir -p "$work/ctrd"
	cat >"$work/ctrd/config.toml" <<EOF
version = 2
root = "$work/ctrd/root"
state = "$work/ctrd/state"
[grpc]
  address = "$sock"
[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
EOF
	in_vm 1 containerd --config "$work/ctrd/config.toml" >>"$work/ctrd/containerd.log" 2>&1 &
	cpid=$!
	for ((i = 0; i < 100; i++)); do
		[ -S "$sock" ] && ctr -a "$sock" version >/dev/null 2>&1 && break
		sleep 0.1
	done
	if ! ctr -a "$sock" version >/dev/null 2>&1; then
		bad "ctr: containerd did not start: $(tail -n 5 "$work/ctrd/containerd.log")"
		kill "$cpid"
		wait "$cpid"
		return
	fi
	ctr -a "$sock" images import --snapshotter native "$work/bb-oci.tar" >>"$work/log" 2>&1 ||
		bad "ctr images import"
	if out=$(in_vm 1 ctr -a "$sock" run --rm --snapshotter native --cni localhost/bb:latest azct1 \
		/bin/busybox ip -4 -o addr show dev eth0 2>&1); then
		ok "ctr run --cni"
		ip=$(awk '{print $4}' <<<"$out" | head -n1)
		ip=${ip%/*}
		check "ctr: container eth0 $ip is a vm1 secondary" in_pool "$ip" 1
		check "ctr: DEL with empty netns gave the IP back (0 in use)" [ "$(in_use 1)" = 0 ]
		check "ctr: no pod interface or host route left in vm1" clean_vm 1 "$ip"
		check "ctr run --cni again (the IP is reusable)" \
			in_vm 1 ctr -a "$sock" run --rm --snapshotter native --cni localhost/bb:latest azct2 /bin/busybox true
		check "ctr: 0 in use after the second run" [ "$(in_use 1)" = 0 ]
	else
		bad "ctr run --cni: $out"
	fi
	kill "$cpid"
	wait "$cpid" 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
# containerd's CRI plugin, driven as the kubelet drives it (inner: private mount namespace).
# The pods are in Kubernetes namespace $CRI_NS, their cgroups under /${P}cri (removed at exit).
CRI_NS=azcli
crc() { "$cri_client" -a "$sock" "$@"; }
cri_start() { # containerd (CRI) in vm1, its pid in cpid; 0 once CRI says runtime and network ready
	local i
	in_vm 1 containerd --config "$work/cri/config.toml" >>"$work/cri/containerd.log" 2>&1 &
	cpid=$!
	for ((i = 0; i < 300; i++)); do
		crc status >/dev/null 2>&1 && return 0
		kill -0 "$cpid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
cri_stop() { # stop containerd by its pid (its shims and pods keep running)
	kill "$cpid" 2>/dev/null
	wait "$cpid" 2>/dev/null
}
cri_pod_json() { # NAME [HOSTPORT]: PodSandboxConfig of pod NAME (crictl's JSON) -> $work/cri/NAME.json
	local pm='[]'
	[ -z "${2:-}" ] || pm="[{\"protocol\":0,\"container_port\":80,\"host_port\":$2}]"
	jq -n --arg n "$1" --arg ns "$CRI_NS" --arg logs "$work/cri/logs/$1" --argjson pm "$pm" \
		--arg cg "/${P}cri" \
		'{metadata: {name: $n, namespace: $ns, uid: ($n + "-uid"), attempt: 0}, hostname: $n,
		  log_directory: $logs, port_mappings: $pm, linux: {cgroup_parent: $cg},
		  dns_config: {servers: ["10.0.0.10"], searches: [($ns + ".svc.cluster.local"), "svc.cluster.local"],
		               options: ["ndots:5"]}}' >"$work/cri/$1.json"
}
cri_ip() { crc inspectp "$1" | jq -r '.status.network.ip // empty'; }
cri_netns() {
	crc inspectp "$1" | jq -r '.info.info.runtimeSpec.linux.namespaces[] | select(.type == "network") | .path'
}
# fetch_in NETNS-PATH URL: the body of URL fetched from inside that netns (bounded retries)
fetch_in() {
	local i
	for ((i = 0; i < 20; i++)); do
		nsenter --net="$1" python3 -c 'import sys, urllib.request as u
sys.stdout.write(u.urlopen(sys.argv[1], timeout=2).read().decode())' "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# record CID: our endpoint record (azure-vnet.json in vm1) of sandbox CID, compact JSON or nothing
record() {
	vm_env 1
	jq -c --arg c "$1" 'first(.. | objects | select(.ContainerID? == $c)) // empty' \
		"$AZURE_CNI_RUNTIME_DIR/azure-vnet.json" 2>/dev/null
}
n_records() {
	vm_env 1
	jq '[.. | objects | select(has("PODName"))] | length' "$AZURE_CNI_RUNTIME_DIR/azure-vnet.json"
}
inspect_json() { in_vm 1 "$build/bin/azure-vnet-inspect" --json; }
# calls_of CID: the CNI calls azure-vnet got for sandbox CID (install_wrapped_plugins, CALLS)
calls_of() { grep -F " cid=$1 " "$CALLS" || true; }
matches() { grep -qE "$1" <<<"$2"; }
serves() { [ "$(fetch_in "$1" "$2")" = "$3" ]; } # NETNS-PATH URL BODY
result_has_dns() { # POD: containerd's record of the CNI result has nameserver 10.0.0.10
	crc inspectp "$1" | jq -e '.info.info.cniResult.DNS | any(.nameservers | index("10.0.0.10"))'
}
inspect_empty() { inspect_json | jq -e '.consistent and (.allocations | length) == 0'; }
all_in_pool() { local ip; for ip in $1; do in_pool "$ip" 1 || return 1; done; }
all_ping() { # IPS: each answers a ping from vm2
	local ip
	for ip in $1; do
		ip netns exec "${P}vm2" busybox ping -c 1 -W 2 "$ip" >/dev/null || { echo "no answer: $ip"; return 1; }
	done
}
both_dels() { # CID...: each got a DEL with its netns, then one with neither netns nor prevResult
	local p c
	for p; do
		c=$(calls_of "$p")
		matches "(^| )DEL cid=$p netns=/[^ ]+ .* DEL cid=$p netns= prev=no " "$(tr '\n' ' ' <<<"$c")" ||
			{ echo "$p: $c"; return 1; }
	done
}

cri_web_pods() {
	local web client ip cip ctr wnet cnet out
	cri_pod_json web 18083
	cri_pod_json client
	jq -n '{metadata: {name: "httpd"}, image: {image: "localhost/bb:latest"}, log_path: "httpd.log",
		linux: {}, command: ["/bin/busybox", "sh", "-c",
		"/bin/busybox cp /etc/resolv.conf /www/resolv.conf && exec /bin/busybox httpd -f -p 80 -h /www"]}' \
		>"$work/cri/httpd.json"
	if ! web=$(crc runp "$work/cri/web.json" 2>&1); then
		bad "CRI RunPodSandbox (port 18083->80, DNS config): $web"
		return
	fi
	ok "CRI RunPodSandbox (port 18083->80, DNS config)"
	ctr=$(crc create "$web" "$work/cri/httpd.json" "$work/cri/web.json" 2>>"$work/log") &&
		check "CRI CreateContainer + StartContainer (httpd in the pod)" crc start "$ctr" ||
		bad "CRI CreateContainer"
	client=$(crc runp "$work/cri/client.json" 2>>"$work/log") || bad "CRI RunPodSandbox (client pod)"
	ip=$(cri_ip "$web")
	cip=$(cri_ip "$client")
	wnet=$(cri_netns "$web")
	cnet=$(cri_netns "$client")
	check "CRI: pod IPs $ip and $cip are distinct vm1 secondaries, on each pod's eth0" \
		both in_pool "$ip" 1 -- both in_pool "$cip" 1 -- both [ "$ip" != "$cip" ] -- \
		both has_ip "$wnet" "$ip" -- has_ip "$cnet" "$cip"
	check "CRI: 2 addresses in use" [ "$(in_use 1)" = 2 ]
	out=$(calls_of "$web")
	check "CRI ADD: CNI_ARGS K8S_POD_NAMESPACE=$CRI_NS;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID;K8S_POD_UID, netns $wnet" \
		both matches "^ADD cid=$web netns=$wnet prev=no args=.*K8S_POD_NAMESPACE=$CRI_NS(;|$)" "$out" -- \
		both matches "^ADD .*K8S_POD_NAME=web(;|$)" "$out" -- \
		both matches "^ADD .*K8S_POD_INFRA_CONTAINER_ID=$web(;|$)" "$out" -- matches "^ADD .*K8S_POD_UID=web-uid(;|$)" "$out"
	out=$(record "$web")
	check "CNI_ARGS honoured: our record of the web pod has PODName web, PODNameSpace $CRI_NS, the netns (NetworkNameSpace, as Go's Linux record), DNS 10.0.0.10" \
		jq -e --arg ns "$CRI_NS" --arg net "$wnet" '.PODName == "web" and .PODNameSpace == $ns and
			.NetworkNameSpace == $net and (.DNS.Servers | index("10.0.0.10"))' <<<"$out"
	out=$(inspect_json)
	check "azure-vnet-inspect: consistent; the web pod's address with pod $CRI_NS/web, sandbox $wnet" \
		jq -e --arg ip "$ip" --arg ns "$CRI_NS" --arg net "$wnet" '.consistent and
			any(.allocations[]; .address == $ip and .podName == "web" and .podNamespace == $ns and .sandbox == $net)' <<<"$out"
	check "CRI DNS config reached the plugin: its result (containerd's cniResult) has nameserver 10.0.0.10" \
		result_has_dns "$web"
	out=$(fetch_in "$cnet" "http://$ip:80/resolv.conf")
	check "CRI DNS config in the container's resolv.conf (nameserver 10.0.0.10, search $CRI_NS.svc.cluster.local)" \
		both matches '^nameserver 10\.0\.0\.10$' "$out" -- matches "^search $CRI_NS\\.svc\\.cluster\\.local svc\\.cluster\\.local$" "$out"
	check "CRI: the client pod reaches the web pod at $ip:80" \
		serves "$cnet" "http://$ip:80/" "hi from a container"
	check "CRI: vm2 reaches the web pod through its host port $vm1_primary:18083 (portmap)" \
		wget_from "${P}vm2" "http://$vm1_primary:18083/" "hi from a container"

	# containerd restarted while the pods run: they keep their addresses and attachments.
	cri_stop
	if cri_start; then ok "containerd restarted with both pods running"; else bad "containerd restart"; return; fi
	check "after the restart: CRI reports the same pod IPs ($ip, $cip), still on the pods' eth0" \
		both [ "$(cri_ip "$web") $(cri_ip "$client")" = "$ip $cip" ] -- \
		both has_ip "$wnet" "$ip" -- has_ip "$cnet" "$cip"
	check "after the restart: the client pod still reaches $ip:80" \
		serves "$cnet" "http://$ip:80/" "hi from a container"
	check "after the restart: no CNI call was made (no ADD or DEL beyond the two ADDs)" \
		[ "$(grep -c . "$CALLS")" = 2 ]

	check "CRI StopPodSandbox (web)" crc stopp "$web"
	out=$(calls_of "$web")
	# No prevResult: libcni sends it from cniVersion 0.4.0 on, the shipped conflist is 0.3.0.
	check "StopPodSandbox: DEL with the pod's netns (no prevResult: the conflist is 0.3.0)" \
		matches "^DEL cid=$web netns=$wnet prev=no " "$out"
	check "StopPodSandbox: the web pod's address released (1 in use), no record left" \
		both [ "$(in_use 1)" = 1 ] -- [ -z "$(record "$web")" ]
	check "StopPodSandbox: no host route to $ip, one pod veth left (the client's)" \
		both [ -z "$(ip -n "${P}vm1" -4 route show "$ip/32")" ] -- [ "$(pod_links 1 | grep -c .)" = 1 ]
	check "StopPodSandbox: portmap's DNAT for 18083 gone" not dnat_has 18083
	check "CRI RemovePodSandbox (web)" crc rmp "$web"
	out=$(calls_of "$web")
	check "RemovePodSandbox: DEL again, with no netns and no prevResult" matches "^DEL cid=$web netns= prev=no " "$out"
	check "CRI StopPodSandbox + RemovePodSandbox (client)" both crc stopp "$client" -- crc rmp "$client"
	check "all stopped: 0 in use, no records, no pod veth or host route in vm1" \
		both [ "$(in_use 1)" = 0 ] -- both [ "$(n_records)" = 0 ] -- clean_vm 1
	check "azure-vnet-inspect: consistent, no allocations" inspect_empty
}

# cri_bulk N: N pods started at once (parallel RunPodSandbox), then stopped and removed at once.
cri_bulk() {
	local n=$1 i p pids=() ids=() ips out
	for ((i = 1; i <= n; i++)); do cri_pod_json "bulk$i"; done
	for ((i = 1; i <= n; i++)); do
		crc runp "$work/cri/bulk$i.json" >"$work/cri/bulk$i.id" 2>>"$work/log" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	for ((i = 1; i <= n; i++)); do
		p=$(cat "$work/cri/bulk$i.id")
		[ -n "$p" ] && ids+=("$p")
	done
	check "$n pods started at once: $n sandboxes ready" [ "${#ids[@]}" = "$n" ]
	ips=$(for p in "${ids[@]}"; do cri_ip "$p"; done | sort -u)
	check "$n pods: $n distinct IPs, all vm1 secondaries; $n in use" \
		both [ "$(grep -c . <<<"$ips")" = "$n" ] -- both [ "$(in_use 1)" = "$n" ] -- all_in_pool "$ips"
	check "$n pods: each answers a ping from vm2" all_ping "$ips"
	out=$(inspect_json)
	check "$n pods: azure-vnet-inspect consistent, $n allocations each with its pod's name" \
		jq -e --argjson n "$n" --arg ns "$CRI_NS" '.consistent and (.allocations | length) == $n and
			([.allocations[] | select(.podNamespace == $ns and (.podName | startswith("bulk")))] | length) == $n' <<<"$out"
	pids=()
	for p in "${ids[@]}"; do
		{ crc stopp "$p" && crc rmp "$p"; } >>"$work/log" 2>&1 &
		pids+=($!)
	done
	out=0
	for p in "${pids[@]}"; do wait "$p" || out=$((out + 1)); done
	check "$n pods stopped and removed at once ($out failed)" [ "$out" = 0 ]
	check "$n pods: each got a DEL with its netns, then one with neither netns nor prevResult" both_dels "${ids[@]}"
	check "$n pods gone: 0 in use, no records, no pod veth or host route in vm1" \
		both [ "$(in_use 1)" = 0 ] -- both [ "$(n_records)" = 0 ] -- clean_vm 1
}

inner_cri() {
	local cpid p
	sock=$work/cri/containerd.sock
	export CALLS=$work/cri/calls
	mkdir -p "$work/cri/logs"
	: >"$CALLS"
	conflist_for 1 /etc/cni/net.d/10-azure.conflist cri
	install_wrapped_plugins
	cat >"$work/cri/config.toml" <<TOML
version = 2
root = "$work/cri/root"
state = "$work/cri/state"
[grpc]
  address = "$sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/pause:latest"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/opt/cni/bin"
    conf_dir = "/etc/cni/net.d"
TOML
	if ! cri_start; then
		bad "cri: containerd's CRI did not become ready: $(tail -n 5 "$work/cri/containerd.log")"
		cri_stop
		return
	fi
	ok "containerd CRI ready (RuntimeReady, NetworkReady) on the azure conflist"
	for p in bb pause; do
		ctr -a "$sock" -n k8s.io images import --snapshotter native "$work/$p-oci.tar" >>"$work/log" 2>&1 ||
			bad "cri: ctr images import $p"
	done
	cri_web_pods
	cri_bulk 30
	for p in $(crc pods 2>/dev/null); do crc stopp "$p" && crc rmp "$p"; done >>"$work/log" 2>&1
	cri_swift
	cri_stop
}

# cri_swift: containerd restarted on the shipped pod-subnet conflist (ipam.type azure-cns; network
# "azure-swift", beside the NMAgent one) with a CNS test double in vm1 (127.0.0.1:10090): a
# RunPodSandbox gets CNS's address, and CNS was asked with the pod's name and Kubernetes
# namespace (containerd's K8S_POD_NAME / K8S_POD_NAMESPACE); StopPodSandbox releases it in CNS.
cri_swift() {
	local dpid id ip key who i
	cri_stop
	jq '.name = "azure-swift"' "$top/linux/azure-linux-swift.conflist" >/etc/cni/net.d/10-azure.conflist
	rm -f "$work/cri/cns.ready"
	ip netns exec "${P}vm1" python3 "$top/tests/cns/cns-double.py" --port 10090 --first 10.241.1.5 \
		--count 4 --nc-primary 10.241.1.4 --host-ip "$vm1_primary" --ready "$work/cri/cns.ready" \
		2>>"$work/log" &
	dpid=$!
	for ((i = 0; i < 200; i++)); do [ -s "$work/cri/cns.ready" ] && break; sleep 0.05; done
	if ! cri_start; then
		bad "cri (swift): containerd's CRI did not become ready: $(tail -n 5 "$work/cri/containerd.log")"
		kill "$dpid"
		return
	fi
	cri_pod_json swift
	id=$(crc runp "$work/cri/swift.json" 2>>"$work/log")
	ip=$(cri_ip "$id")
	check "cri (swift conflist): RunPodSandbox gets an address CNS gave ($ip)" matches '^10\.241\.1\.[5-8]$' "$ip"
	key=$(in_vm 1 curl -s http://127.0.0.1:10090/test/pool | jq -r --arg ip "$ip" '.assigned[$ip] // empty')
	who=$(in_vm 1 curl -s http://127.0.0.1:10090/test/requests |
		jq -c --arg k "$key" '[.[] | select(.path == "/network/requestipconfigs" and .body.podInterfaceID == $k)][-1].body.orchestratorContext')
	check "cri (swift): CNS was asked for pod $CRI_NS/swift (PodName, PodNamespace)" \
		[ "$who" = "{\"podName\":\"swift\",\"podNamespace\":\"$CRI_NS\"}" ]
	crc stopp "$id" >>"$work/log" 2>&1
	crc rmp "$id" >>"$work/log" 2>&1
	# the pod's own key was released (not only: nothing held, which holds when CNS never gave it)
	released() {
		[ -n "$key" ] &&
			in_vm 1 curl -s http://127.0.0.1:10090/test/pool | jq -e --arg ip "$ip" '.assigned[$ip] == null' >/dev/null &&
			in_vm 1 curl -s http://127.0.0.1:10090/test/requests |
			jq -e --arg k "$key" 'any(.[]; .path == "/network/releaseipconfigs" and .body.podInterfaceID == $k)' >/dev/null
	}
	check "cri (swift): StopPodSandbox released the pod's address in CNS by its interface" released
	kill "$dpid"
	wait "$dpid" 2>/dev/null
}

# run_private CLIENT: the inner part for CLIENT in a private mount namespace.
run_private() {
	mkdir -p "$work/mnt"
	unshare -m --propagation private -- "$0" --inner "$1" "$work"
}

# ---------------------------------------------------------------------------------------------
# Inner part: runs under `unshare -m` (see run_private), with $work prepared by the outer part.
if [ "${1:-}" = --inner ]; then
	client=$2
	work=$3
	# shellcheck source=/dev/null
	. "$work/lib.sh"
	vm_env 1
	vm1_primary=$AZSIM_PRIMARY
	mount --make-rprivate /
	mount -t tmpfs azcli-mnt "$work/mnt"
	k=0
	hide() { # DST SRC: show SRC at DST in this mount namespace only
		local dst=$1 src=$2 p
		if [ ! -e "$dst" ]; then
			p=$(dirname "$dst")
			while [ ! -d "$p" ]; do p=$(dirname "$p"); done
			k=$((k + 1))
			mkdir -p "$work/mnt/u$k" "$work/mnt/w$k"
			mount -t overlay azcli-ov -o "lowerdir=$p,upperdir=$work/mnt/u$k,workdir=$work/mnt/w$k" "$p"
			mkdir -p "$dst"
		fi
		mount --bind "$src" "$dst"
	}
	mkdir -p "$work/p/net.d" "$work/p/bin" "$work/p/cni-cache" "$work/p/containers"
	hide /etc/cni/net.d "$work/p/net.d"
	hide /opt/cni/bin "$work/p/bin"
	hide /var/lib/cni "$work/p/cni-cache"
	hide /var/lib/containers "$work/p/containers"
	mkdir -p "$work/p/run-containerd"
	hide /run/containerd "$work/p/run-containerd" # exists: made by the outer part when missing
	"inner_$client"
	exit $?
fi

# ---------------------------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || { echo "clients: run as root" >&2; exit 2; }
work=$(mktemp -d /tmp/azcli.XXXXXX)
pids=()
# cgroup parents podman (cgroupfs) and containerd (ctr's "default", the CRI pods' /<P>cri) leave
# behind: removed at exit when we made them.
cgroup_parents() {
	ls -d /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/*/default /sys/fs/cgroup/*/"${P}cri" \
		/sys/fs/cgroup/libpod_parent /sys/fs/cgroup/default /sys/fs/cgroup/"${P}cri" 2>/dev/null || true
}
cgroups_before=$(cgroup_parents)
# The mount point of the private /run/containerd (containerd's shim sockets and runc state): an
# empty directory made here when the host has none, removed at exit.
made_run_containerd=0
if [ ! -d /run/containerd ]; then
	mkdir /run/containerd
	made_run_containerd=1
fi
# our_shims: pids of containerd shims serving one of our containerds (socket under $work)
our_shims() {
	local d
	for d in /proc/[0-9]*; do
		tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -qE "^[^ ]*containerd-shim[^ ]* .*-address $work/" &&
			echo "${d#/proc/}"
	done
	return 0
}
cleanup() {
	local rc=$? p d
	for p in "${pids[@]}" $(our_shims); do kill "$p" 2>/dev/null; done
	for d in $(cgroup_parents); do
		grep -qxF "$d" <<<"$cgroups_before" && continue
		# processes left in a cgroup we made (a suite stopped half-way): ours, killed by pid
		for p in $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		for p in 1 2 3 4 5 6 7 8 9 10; do
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$d" ] || break
			sleep 0.2
		done
	done
	"$sim" down >/dev/null 2>&1
	[ "$made_run_containerd" = 0 ] || rmdir /run/containerd 2>/dev/null
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$work/lib.sh" <<'LIB'
# ok, bad, skip, check: tests/lib/suite.sh, counting into $work/results (SUITE_RESULTS, from the
# environment in the inner part); check logs the command's output to $work/log
# shellcheck source=tests/lib/suite.sh
. "$top/tests/lib/suite.sh"
SUITE_LOG=$work/log SUITE_ERRLOG=$work/log
vm_env() { eval "$("$sim" env "vm$1")"; }
in_use() { # N: addresses in use in VM N's pool
	vm_env "$1"
	if [ "$reference" = 1 ]; then
		find "$AZURE_CNI_RUNTIME_DIR/host-local" -type f -name '10.*' 2>/dev/null | wc -l
	else
		jq '[.IPAM.AddressSpaces[]?.Pools[]?.Addresses[]? | select(.InUse)] | length' \
			"$AZURE_CNI_RUNTIME_DIR/azure-vnet-ipam.json" 2>/dev/null || echo "?"
	fi
}
ip_to_int() { local IFS=.; set -- $1; echo $((($1 << 24) + ($2 << 16) + ($3 << 8) + $4)); }
in_pool() { # IP N: IP is one of VM N's secondaries
	vm_env "$2"
	[ -n "$1" ] && [ "$(ip_to_int "$1")" -ge "$(ip_to_int "$AZSIM_POOL_FIRST")" ] &&
		[ "$(ip_to_int "$1")" -le "$(ip_to_int "$AZSIM_POOL_LAST")" ]
}
pod_links() { # N: interfaces in VM N other than lo and eth0
	ip -n "${P}vm$1" -o link show | awk -F': ' '{print $2}' | grep -v -E '^(lo|eth0)(@|$)' || true
}
not() { ! "$@"; }
both() { # CMD1... -- CMD2...: both succeed
	local a=()
	while [ "$1" != -- ]; do a+=("$1"); shift; done
	shift
	"${a[@]}" && "$@"
}
has_ip() { # NETNS-PATH IP: eth0 in that netns has IP
	nsenter --net="$1" ip -4 -o addr show dev eth0 | grep -q " $2/"
}
dnat_has() { ip netns exec "${P}vm1" iptables -w -t nat -S | grep -q "dport $1"; }
clean_vm() { # N [IP]: no pod interface in VM N, and no host route to IP (any /32 when no IP)
	[ -z "$(pod_links "$1")" ] || { echo "left: $(pod_links "$1")"; return 1; }
	local r
	if [ -n "${2:-}" ]; then r=$(ip -n "${P}vm$1" -4 route show "$2/32")
	else r=$(ip -n "${P}vm$1" -4 route show | grep -E '^[0-9.]+ ' | grep -v '^10\.240\.0\.0/16' || true); fi
	[ -z "$r" ] || { echo "routes left: $r"; return 1; }
}
# wget_from NS URL WANT: fetch URL from NS (bounded retries while the server starts); not
# busybox wget, which crashes in some busybox-static builds
wget_from() {
	local i got
	for ((i = 0; i < 20; i++)); do
		got=$(ip netns exec "$1" python3 -c 'import sys, urllib.request as u
sys.stdout.write(u.urlopen(sys.argv[1], timeout=2).read().decode())' "$2" 2>/dev/null) && break
		sleep 0.1
	done
	[ "$got" = "$3" ]
}
# in_vm N CMD...: CMD in VM N's network namespace with its CNI directories (mounts unchanged)
in_vm() {
	local n=$1
	shift
	vm_env "$n"
	AZURE_CNI_RUNTIME_DIR=$AZURE_CNI_RUNTIME_DIR AZURE_CNI_LOG_DIR=$AZURE_CNI_LOG_DIR \
		nsenter --net="/run/netns/${P}vm$n" "$@"
}
LIB
# lib.sh reads these from the environment in the inner part.
export sim reference P work top build
# shellcheck source=/dev/null
. "$work/lib.sh"
suite_begin "$work/results"
# Every plugin call must use the simulated VMs' state: the host's default paths stay untouched.
host_state_before=$(ls -d /run/azure-vnet /run/azure-vnet.json /run/azure-vnet-ipam.json 2>/dev/null)

# ---- plugins and conflists ----
if [ "$reference" = 0 ]; then
	for b in azure-vnet azure-vnet-ipam; do
		[ -x "$build/bin/$b" ] || { echo "clients: $build/bin/$b missing (build first)"; exit 1; }
	done
fi
mkdir -p "$work/cnibin" "$work/conf-full" "$work/conf-check"
for b in azure-vnet azure-vnet-ipam; do ln -s "$build/bin/$b" "$work/cnibin/$b"; done
for b in portmap loopback; do ln -s "/usr/lib/cni/$b" "$work/cnibin/$b"; done
[ "$reference" = 1 ] && for b in ptp host-local; do ln -s "/usr/lib/cni/$b" "$work/cnibin/$b"; done
export CNI_PATH=$work/cnibin

"$sim" down >/dev/null 2>&1 # leftovers of an interrupted run with the same prefix
"$sim" up >>"$work/log" 2>&1 || { cat "$work/log"; exit 1; }
vm_env 1
vm1_primary=$AZSIM_PRIMARY

# busybox image for podman and containerd, built from /bin/busybox (no registry).
mkdir -p "$work/rootfs/bin" "$work/rootfs/www"
cp /bin/busybox "$work/rootfs/bin/"
echo "hi from a container" >"$work/rootfs/www/index.html"
tar -C "$work/rootfs" -cf "$work/bb-rootfs.tar" .

cat >"$work/oci.py" <<'PY'
# oci.py ROOTFS.tar OUT.tar REF [CMD-JSON]: a one-layer OCI image archive (image layout) of
# ROOTFS.tar; CMD-JSON is the image's Cmd (default ["/bin/busybox", "sh"]).
import hashlib, io, json, sys, tarfile
rootfs, out, ref = sys.argv[1:4]
cmd = json.loads(sys.argv[4]) if len(sys.argv) > 4 else ["/bin/busybox", "sh"]
layer = open(rootfs, "rb").read()
def blob(data):
    return "sha256:" + hashlib.sha256(data).hexdigest(), data
ldig, _ = blob(layer)
config = json.dumps({"architecture": "amd64", "os": "linux",
    "config": {"Cmd": cmd},
    "rootfs": {"type": "layers", "diff_ids": [ldig]}}).encode()
cdig, _ = blob(config)
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdig, "size": len(config)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ldig, "size": len(layer)}]}).encode()
mdig, _ = blob(manifest)
index = json.dumps({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": mdig, "size": len(manifest), "annotations": {"io.containerd.image.name": ref,
    "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[1]}}]}).encode()
with tarfile.open(out, "w") as t:
    def add(name, data):
        i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
    add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    add("index.json", index)
    for d in (layer, config, manifest):
        add("blobs/sha256/" + hashlib.sha256(d).hexdigest(), d)
PY
python3 "$work/oci.py" "$work/bb-rootfs.tar" "$work/bb-oci.tar" localhost/bb:latest
# the CRI sandbox ("pause") image: the same rootfs, sleeping
python3 "$work/oci.py" "$work/bb-rootfs.tar" "$work/pause-oci.tar" localhost/pause:latest \
	'["/bin/busybox", "sleep", "2147483647"]'

want() { [[ " ${AZCNI_CLIENTS:-cnitool podman ctr cri} " == *" $1 "* ]]; }
echo "== cnitool"
want cnitool && test_cnitool
echo "== podman + attach helper"
if ! want podman; then
	:
elif ensure podman podman runc crun catatonit && ensure runc runc; then
	run_private podman
else
	skip "podman: package cannot be installed"
fi
echo "== containerd ctr run --cni"
if ! want ctr; then
	:
elif ensure ctr containerd && ensure containerd containerd && ensure runc runc; then
	run_private ctr
else
	skip "ctr: containerd cannot be installed"
fi

echo "== containerd CRI (the kubelet's path)"
# build_cri_client: our CRI client (cached in $build/tools), installing its packages once if needed
build_cri_client() {
	"$top/ci/build-cri-client.sh" "$build/tools/cri-client" 2>>"$work/log" && return 0
	DEBIAN_FRONTEND=noninteractive apt-get -qq -y -o DPkg::Lock::Timeout=300 install --no-install-recommends \
		golang-go golang-google-grpc-dev golang-github-gogo-protobuf-dev dpkg-dev xz-utils >>"$work/log" 2>&1
	"$top/ci/build-cri-client.sh" "$build/tools/cri-client" 2>>"$work/log"
}
if ! want cri; then
	:
elif ! { ensure ctr containerd && ensure containerd containerd && ensure runc runc; }; then
	skip "cri: containerd cannot be installed"
elif ! cri_client=$(build_cri_client); then
	skip "cri: the CRI client cannot be built (golang-google-grpc-dev, golang-github-gogo-protobuf-dev, deb-src: ci/deps.sh)"
else
	export cri_client
	run_private cri
fi

check "no plugin call wrote the host's /run state (${host_state_before:-none before})" \
	[ "$(ls -d /run/azure-vnet /run/azure-vnet.json /run/azure-vnet-ipam.json 2>/dev/null)" = "$host_state_before" ]

if [ "$(suite_failed)" -gt 0 ]; then
	echo "--- log (last 40 lines)"
	tail -n 40 "$work/log"
	for d in "$AZSIM_DIR"/vm*/log; do tail -n 20 "$d"/*.log 2>/dev/null; done
fi
suite_end
