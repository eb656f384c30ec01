#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install the Azure VNet CNI plugin on a Linux node of one's own:
#   azure-vnet, azure-vnet-ipam  -> <root>/opt/cni/bin/           (0755)
#   azure-vnet-inspect           -> <root>/usr/local/sbin/        (0755, the operator's command)
#   linux/10-azure.conflist      -> <root>/etc/cni/net.d/10-azure.conflist (0644)
# and, when the shipped conflist's chained portmap is not already in <root>/opt/cni/bin, a link
# to the distribution's (/usr/lib/cni/portmap, Debian's containernetworking-plugins).
# Each file is replaced atomically (temp file + rename), so a runtime never execs a torn binary.
#
# Usage: linux/install.sh [--root DIR] [--bin DIR] [--conflist FILE] [--uninstall]
#   --root DIR       install under DIR instead of / (for tests and images)
#   --bin DIR        where the built binaries are (default build/bin)
#   --conflist FILE  the conflist to install (default linux/10-azure.conflist)
#   --uninstall      remove what install puts there (our programs, our conflist, our portmap link)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
root=/
bin=$top/build/bin
conflist=$top/linux/10-azure.conflist
uninstall=0
die() { echo "install: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
	case $1 in
	--root) root=${2:?}; shift 2 ;;
	--bin) bin=${2:?}; shift 2 ;;
	--conflist) conflist=${2:?}; shift 2 ;;
	--uninstall) uninstall=1; shift ;;
	-h | --help) sed -n '3,15p' "$0"; exit 0 ;;
	*) die "unknown argument: $1" ;;
	esac
done
[ -d "$root" ] || die "root $root is not a directory"
root=$(cd "$root" && pwd)
[ "$root" = / ] && root=""
bindir=$root/opt/cni/bin
confdir=$root/etc/cni/net.d
sbindir=$root/usr/local/sbin
progs=(azure-vnet azure-vnet-ipam)

if [ "$uninstall" = 1 ]; then
	for p in "${progs[@]}"; do rm -f "$bindir/$p"; done
	rm -f "$sbindir/azure-vnet-inspect" "$confdir/10-azure.conflist"
	[ "$(readlink "$bindir/portmap" 2>/dev/null)" = /usr/lib/cni/portmap ] && rm -f "$bindir/portmap"
	echo "install: removed azure-vnet, azure-vnet-ipam, azure-vnet-inspect and 10-azure.conflist from ${root:-/}"
	exit 0
fi

for p in "${progs[@]}" azure-vnet-inspect; do
	[ -x "$bin/$p" ] || die "$bin/$p not found (build first: cmake -S . -B build && cmake --build build)"
done
[ -r "$conflist" ] || die "conflist $conflist not readable"
if command -v jq >/dev/null; then
	jq -e '.plugins[0].type == "azure-vnet"' "$conflist" >/dev/null ||
		die "$conflist is not a conflist whose first plugin is azure-vnet"
fi

# put SRC DST MODE: atomic replace of DST by a copy of SRC.
put() {
	local tmp
	tmp=$(mktemp "$2.XXXXXX")
	if ! cp "$1" "$tmp" || ! chmod "$3" "$tmp" || ! mv -f "$tmp" "$2"; then
		rm -f "$tmp"
		die "cannot install $2"
	fi
}

install -d -m 0755 "$bindir" "$confdir" "$sbindir"
for p in "${progs[@]}"; do
	put "$bin/$p" "$bindir/$p" 0755
	echo "install: $bindir/$p"
done
put "$bin/azure-vnet-inspect" "$sbindir/azure-vnet-inspect" 0755
echo "install: $sbindir/azure-vnet-inspect"
put "$conflist" "$confdir/10-azure.conflist" 0644
echo "install: $confdir/10-azure.conflist"
if [ ! -e "$bindir/portmap" ] && [ -x /usr/lib/cni/portmap ]; then
	ln -s /usr/lib/cni/portmap "$bindir/portmap"
	echo "install: $bindir/portmap -> /usr/lib/cni/portmap"
elif [ ! -e "$bindir/portmap" ]; then
	echo "install: note: no portmap plugin in $bindir (the conflist chains it; apt-get install containernetworking-plugins)"
fi
