#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Tests of linux/install.sh into temporary roots: files, modes, contents, idempotence, atomic
# replacement, bad input, uninstall; and that the host's /opt/cni/bin and /etc/cni/net.d are
# left as they were. Uses the real build when present (default build/, or AZCNI_BUILD_DIR), and
# stand-in binaries otherwise. Exit non-zero on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
inst=$top/linux/install.sh
build=${AZCNI_BUILD_DIR:-$top/build}
# shellcheck source=tests/lib/suite.sh
. "$top/tests/lib/suite.sh"

snapshot() { for d in /opt/cni/bin /etc/cni/net.d; do ls -la --time-style=full-iso "$d" 2>&1; done; }
host_before=$(snapshot)

tmp=$(mktemp -d /tmp/azinst.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
suite_begin "$tmp/results"

# Binaries: the real build when it exists, else stand-ins that say who they are.
bin=$tmp/bin
mkdir -p "$bin"
real=0
if [ -x "$build/bin/azure-vnet" ] && [ -x "$build/bin/azure-vnet-ipam" ] && [ -x "$build/bin/azure-vnet-inspect" ]; then
	cp "$build/bin/azure-vnet" "$build/bin/azure-vnet-ipam" "$build/bin/azure-vnet-inspect" "$bin/"
	real=1
else
	for p in azure-vnet azure-vnet-ipam azure-vnet-inspect; do printf '#!/bin/sh\necho %s v1\n' "$p" >"$bin/$p"; chmod 755 "$bin/$p"; done
fi

root=$tmp/root
mkdir -p "$root"
check "install into an empty root succeeds" "$inst" --root "$root" --bin "$bin"
for p in azure-vnet azure-vnet-ipam; do
	check "$p installed, mode 0755, identical" \
		bash -c "[ \"\$(stat -c %a '$root/opt/cni/bin/$p')\" = 755 ] && cmp -s '$bin/$p' '$root/opt/cni/bin/$p'"
done
check "azure-vnet-inspect installed in /usr/local/sbin, mode 0755, identical" \
	bash -c "[ \"\$(stat -c %a '$root/usr/local/sbin/azure-vnet-inspect')\" = 755 ] &&
		cmp -s '$bin/azure-vnet-inspect' '$root/usr/local/sbin/azure-vnet-inspect'"
check "10-azure.conflist installed, mode 0644, identical to linux/10-azure.conflist" \
	bash -c "[ \"\$(stat -c %a '$root/etc/cni/net.d/10-azure.conflist')\" = 644 ] &&
		cmp -s '$top/linux/10-azure.conflist' '$root/etc/cni/net.d/10-azure.conflist'"
check "installed conflist: azure-vnet transparent then portmap, name azure" \
	jq -e '.name == "azure" and .plugins[0].type == "azure-vnet" and .plugins[0].mode == "transparent"
		and .plugins[0].ipam.type == "azure-vnet-ipam" and .plugins[1].type == "portmap"
		and .plugins[1].capabilities.portMappings == true' "$root/etc/cni/net.d/10-azure.conflist"
check "shipped conflist matches the fixture of the Go plugin's" \
	bash -c "diff <(jq -S . '$top/linux/10-azure.conflist') <(jq -S . '$top/tests/data/conflist/10-azure-linux.conflist') >/dev/null"
if [ -x /usr/lib/cni/portmap ]; then
	check "portmap linked from /usr/lib/cni" [ "$(readlink "$root/opt/cni/bin/portmap")" = /usr/lib/cni/portmap ]
fi
if [ "$real" = 1 ]; then
	out=$(CNI_COMMAND=VERSION "$root/opt/cni/bin/azure-vnet" <<<'{"cniVersion":"1.0.0"}' 2>&1)
	check "installed azure-vnet answers VERSION" jq -e '.supportedVersions | index("0.3.0")' <<<"$out"
	out=$("$root/usr/local/sbin/azure-vnet-inspect" --help 2>&1)
	check "installed azure-vnet-inspect answers --help" grep -q 'usage: azure-vnet-inspect' <<<"$out"
fi

# Idempotent: a second install gives the same tree; an update replaces the binary (new inode).
before=$(cd "$root" && find . -printf '%p %m %s\n' | sort)
ino=$(stat -c %i "$root/opt/cni/bin/azure-vnet")
check "second install succeeds" "$inst" --root "$root" --bin "$bin"
after=$(cd "$root" && find . -printf '%p %m %s\n' | sort)
check "second install leaves the same tree" [ "$before" = "$after" ]
check "binary replaced by rename (new inode, no in-place write)" [ "$(stat -c %i "$root/opt/cni/bin/azure-vnet")" != "$ino" ]
check "no temp files left" bash -c "! find '$root' -name '*.??????' | grep -q ."

# A portmap the node already has is kept.
root2=$tmp/root2
mkdir -p "$root2/opt/cni/bin"
printf '#!/bin/sh\n' >"$root2/opt/cni/bin/portmap"
chmod 755 "$root2/opt/cni/bin/portmap"
"$inst" --root "$root2" --bin "$bin" >/dev/null
check "an existing portmap is kept" bash -c "[ ! -L '$root2/opt/cni/bin/portmap' ]"

# Bad input: nothing installed.
root3=$tmp/root3
mkdir -p "$root3"
check "missing binaries: fails" bash -c "! '$inst' --root '$root3' --bin '$tmp/nowhere' 2>/dev/null"
check "missing binaries: nothing installed" bash -c "[ -z \"\$(ls -A '$root3')\" ]"
mkdir -p "$tmp/noinspect"
cp "$bin/azure-vnet" "$bin/azure-vnet-ipam" "$tmp/noinspect/"
check "azure-vnet-inspect missing: fails, nothing installed" \
	bash -c "! '$inst' --root '$root3' --bin '$tmp/noinspect' 2>/dev/null && [ -z \"\$(ls -A '$root3')\" ]"
echo '{"cniVersion":"0.3.0","name":"x","plugins":[{"type":"bridge"}]}' >"$tmp/other.conflist"
check "a conflist without azure-vnet first: fails" \
	bash -c "! '$inst' --root '$root3' --bin '$bin' --conflist '$tmp/other.conflist' 2>/dev/null"
check "root that does not exist: fails" bash -c "! '$inst' --root '$tmp/absent' --bin '$bin' 2>/dev/null"
check "unknown argument: fails" bash -c "! '$inst' --bogus 2>/dev/null"

# Uninstall removes only ours.
touch "$root/etc/cni/net.d/99-other.conflist"
check "uninstall succeeds" "$inst" --root "$root" --uninstall
check "uninstall removed our files" bash -c "[ ! -e '$root/opt/cni/bin/azure-vnet' ] && [ ! -e '$root/opt/cni/bin/azure-vnet-ipam' ] &&
	[ ! -e '$root/usr/local/sbin/azure-vnet-inspect' ] &&
	[ ! -e '$root/etc/cni/net.d/10-azure.conflist' ] && [ ! -e '$root/opt/cni/bin/portmap' ]"
check "uninstall kept other conflists" [ -e "$root/etc/cni/net.d/99-other.conflist" ]
"$inst" --root "$root2" --uninstall >/dev/null
check "uninstall kept a portmap that was not our link" [ -e "$root2/opt/cni/bin/portmap" ]

# Switching back to the Go plugin (README "Switching back"): a node root with our leftovers,
# its firewall in a network namespace of this test (prefix "insb"; root only).
if [ "$(id -u)" = 0 ] && command -v iptables >/dev/null; then
	ns=insb$$
	r=$tmp/node
	rt=$r/var/run
	mkdir -p "$rt/azure-vnet" "$r/var/log" "$r/var/lib/prom"
	"$inst" --root "$r" --bin "$bin" >/dev/null
	jq '.plugins[0].metricsDir = "/var/lib/prom"' "$r/etc/cni/net.d/10-azure.conflist" >"$tmp/c" && cp "$tmp/c" "$r/etc/cni/net.d/10-azure.conflist"
	echo '{"Network":{"Version":"v1"}}' >"$rt/azure-vnet.json"
	echo '{"IPAM":{"Version":"v1"}}' >"$rt/azure-vnet-ipam.json"
	cp "$rt/azure-vnet.json" "$rt/azure-vnet.json.corrupt-20261130T071241Z"
	touch "$rt/azure-vnet/azure-vnet.lock" "$rt/azure-vnet/azure-vnet-ipam.lock" "$rt/azure-vnet.json.tmp.Ab12Cd" \
		"$r/var/log/azure-vnet.log" "$r/var/lib/prom/azure_cni.prom" "$r/var/lib/prom/azure_cni.prom.lock" "$r/var/lib/prom/other.prom"
	for h in 1111111111111111111111111111111111111111 2222222222222222222222222222222222222222 3333333333333333333333333333333333333333; do
		touch "$rt/azure-vnet/$h.lock"
	done
	sums=$(cd "$rt" && sha1sum azure-vnet.json azure-vnet-ipam.json azure-vnet.json.corrupt-*)
	ip netns add "$ns"
	trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"' EXIT
	for t in iptables ip6tables; do
		ip netns exec "$ns" $t -w -t nat -N AZURE-VNET-SNAT
		ip netns exec "$ns" $t -w -t nat -A AZURE-VNET-SNAT -j MASQUERADE
		ip netns exec "$ns" $t -w -t nat -A POSTROUTING -o lo -j ACCEPT
	done
	ip netns exec "$ns" iptables -w -t nat -A POSTROUTING -s 10.240.0.0/16 -j AZURE-VNET-SNAT
	ip netns exec "$ns" ip6tables -w -t nat -A POSTROUTING -s 2001:db8:0:1::/64 -j AZURE-VNET-SNAT
	# a call of ours running: its owner lock is held (by this shell, on fd 9)
	exec 9>>"$rt/azure-vnet/3333333333333333333333333333333333333333.lock"
	flock 9
	check "uninstall --keep-snat leaves the SNAT chains" bash -c "ip netns exec $ns '$inst' --root '$r' --uninstall --snat --keep-snat >/dev/null &&
		ip netns exec $ns iptables -w -t nat -S AZURE-VNET-SNAT >/dev/null"
	"$inst" --root "$r" --bin "$bin" >/dev/null
	jq '.plugins[0].metricsDir = "/var/lib/prom"' "$r/etc/cni/net.d/10-azure.conflist" >"$tmp/c" && cp "$tmp/c" "$r/etc/cni/net.d/10-azure.conflist"
	touch "$r/var/lib/prom/azure_cni.prom"
	check "switching back: uninstall succeeds" ip netns exec "$ns" "$inst" --root "$r" --uninstall --snat
	for t in iptables ip6tables; do
		check "switching back: $t chain AZURE-VNET-SNAT and its POSTROUTING jump removed" \
			bash -c "! ip netns exec $ns $t -w -t nat -S AZURE-VNET-SNAT 2>/dev/null && ! ip netns exec $ns $t -w -t nat -S POSTROUTING | grep -q AZURE-VNET-SNAT"
		check "switching back: another $t POSTROUTING rule kept" bash -c "ip netns exec $ns $t -w -t nat -S POSTROUTING | grep -q -- '-o lo -j ACCEPT'"
	done
	check "switching back: free per-pod lock files removed" bash -c "[ ! -e '$rt/azure-vnet/1111111111111111111111111111111111111111.lock' ] && [ ! -e '$rt/azure-vnet/2222222222222222222222222222222222222222.lock' ]"
	check "switching back: a per-pod lock a running call holds is kept" [ -e "$rt/azure-vnet/3333333333333333333333333333333333333333.lock" ]
	check "switching back: Go's own lock files kept" bash -c "[ -e '$rt/azure-vnet/azure-vnet.lock' ] && [ -e '$rt/azure-vnet/azure-vnet-ipam.lock' ]"
	check "switching back: state files and the .corrupt copy unchanged" [ "$sums" = "$(cd "$rt" && sha1sum azure-vnet.json azure-vnet-ipam.json azure-vnet.json.corrupt-*)" ]
	check "switching back: a killed save's temp file removed" [ ! -e "$rt/azure-vnet.json.tmp.Ab12Cd" ]
	check "switching back: the metrics textfile removed, other textfiles kept" bash -c "[ ! -e '$r/var/lib/prom/azure_cni.prom' ] && [ ! -e '$r/var/lib/prom/azure_cni.prom.lock' ] && [ -e '$r/var/lib/prom/other.prom' ]"
	check "switching back: the log kept" [ -e "$r/var/log/azure-vnet.log" ]
	exec 9>&-
	ip netns del "$ns"
else
	skip "switching back (needs root and iptables)"
fi

check "host /opt/cni/bin and /etc/cni/net.d untouched" [ "$host_before" = "$(snapshot)" ]

suite_end
