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

check "host /opt/cni/bin and /etc/cni/net.d untouched" [ "$host_before" = "$(snapshot)" ]

suite_end
