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
# Usage: linux/install.sh [--root DIR] [--bin DIR] [--conflist FILE] [--uninstall [--keep-snat]]
#   --root DIR       install under DIR instead of / (for tests and images)
#   --bin DIR        where the built binaries are (default build/bin)
#   --conflist FILE  the conflist to install (default linux/10-azure.conflist)
#   --uninstall      remove what install puts there (our programs, our conflist, our portmap
#                    link) and what the Go plugin would not use or would leave stale (README
#                    "Switching back to the Go plugin"): our SNAT chains (AZURE-VNET-SNAT in
#                    iptables and ip6tables nat, with their POSTROUTING jumps), the per-pod lock
#                    files (<runtime>/azure-vnet/<sha1>.lock, each only while no call holds it),
#                    temp files of killed saves, the metrics textfile. Kept: both state files,
#                    Go's two lock files, the logs and their backups, *.corrupt-* copies.
#   --keep-snat      leave the SNAT chains (when nothing else, e.g. ip-masq-agent, masquerades)
#   --snat           remove them also with --root (they are the running network's: by default
#                    --root leaves iptables alone)
#   --runtime DIR    the runtime directory of the state and lock files (default <root>/var/run,
#                    or AZURE_CNI_RUNTIME_DIR)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
root=/
bin=$top/build/bin
conflist=$top/linux/10-azure.conflist
uninstall=0
keep_snat=0
snat=0
runtime=${AZURE_CNI_RUNTIME_DIR:-}
die() { echo "install: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
	case $1 in
	--root) root=${2:?}; shift 2 ;;
	--bin) bin=${2:?}; shift 2 ;;
	--conflist) conflist=${2:?}; shift 2 ;;
	--uninstall) uninstall=1; shift ;;
	--keep-snat) keep_snat=1; shift ;;
	--snat) snat=1; shift ;;
	--runtime) runtime=${2:?}; shift 2 ;;
	-h | --help) sed -n '3,26p' "$0"; exit 0 ;;
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

# snat_remove CMD: our SNAT chain in CMD's (iptables, ip6tables) nat table and the POSTROUTING
# rules that jump to it. The Go plugin makes none in single-tenant modes (ip-masq-agent does).
snat_remove() {
	local rule
	command -v "$1" >/dev/null || return 0
	"$1" -w -t nat -S AZURE-VNET-SNAT >/dev/null 2>&1 || return 0
	"$1" -w -t nat -S POSTROUTING | grep -- '-j AZURE-VNET-SNAT$' | while read -r rule; do
		# shellcheck disable=SC2086 # the rule's words, as iptables -S printed them
		"$1" -w -t nat -D ${rule#-A } || die "$1: cannot delete POSTROUTING rule: $rule"
	done
	if ! "$1" -w -t nat -F AZURE-VNET-SNAT || ! "$1" -w -t nat -X AZURE-VNET-SNAT; then
		die "$1: cannot remove chain AZURE-VNET-SNAT"
	fi
	echo "install: removed $1 nat chain AZURE-VNET-SNAT and its POSTROUTING jumps"
}

uninstall() {
	local rt=${runtime:-$root/var/run} f mdirs=() d n=0 busy=0
	# the metrics directory, from the conflist before it goes
	[ -n "${AZURE_CNI_METRICS_DIR:-}" ] && mdirs+=("$AZURE_CNI_METRICS_DIR")
	if [ -r "$confdir/10-azure.conflist" ] && command -v jq >/dev/null; then
		while read -r d; do [ -n "$d" ] && mdirs+=("$root$d"); done < <(jq -r '.plugins[]? | .metricsDir // empty' "$confdir/10-azure.conflist" 2>/dev/null)
	fi
	for p in "${progs[@]}"; do rm -f "$bindir/$p"; done
	rm -f "$sbindir/azure-vnet-inspect" "$confdir/10-azure.conflist"
	[ "$(readlink "$bindir/portmap" 2>/dev/null)" = /usr/lib/cni/portmap ] && rm -f "$bindir/portmap"
	echo "install: removed azure-vnet, azure-vnet-ipam, azure-vnet-inspect and 10-azure.conflist from ${root:-/}"
	for d in "${mdirs[@]}"; do
		rm -f "$d/azure_cni.prom" "$d/azure_cni.prom.lock" "$d"/azure_cni.prom.tmp.*
		echo "install: removed the metrics textfile from $d"
	done
	# per-pod locks (ours; Go's are azure-vnet.lock and azure-vnet-ipam.lock), each only when free
	for f in "$rt"/azure-vnet/*.lock; do
		[[ $(basename "$f") =~ ^[0-9a-f]{40}\.lock$ ]] || continue
		if flock -n "$f" rm -f "$f"; then n=$((n + 1)); else busy=$((busy + 1)); fi
	done
	echo "install: removed $n per-pod lock files from $rt/azure-vnet ($busy held by a running call, kept)"
	rm -f "$rt"/azure-vnet.json.tmp.* "$rt"/azure-vnet-ipam.json.tmp.*
	if [ "$keep_snat" = 0 ] && { [ -z "$root" ] || [ "$snat" = 1 ]; }; then
		snat_remove iptables
		snat_remove ip6tables
	fi
	echo "install: kept $rt/azure-vnet.json, azure-vnet-ipam.json, their locks, the logs and any *.corrupt-* copies"
}

if [ "$uninstall" = 1 ]; then
	uninstall
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
