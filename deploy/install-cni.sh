#!/bin/sh
# SPDX-License-Identifier: MIT
# The installer image's entry point (deploy/Containerfile; POSIX sh, busybox in the image).
#   install-cni.sh [install]   copy azure-vnet, azure-vnet-ipam and azure-vnet-inspect (the
#                              operator's command, beside the plugins) (0755) into
#                              $AZURE_CNI_BIN_DIR, and, only when AZURE_CNI_INSTALL_CONFLIST=true,
#                              10-azure.conflist (0644) into $AZURE_CNI_CONF_DIR; then exit (an
#                              init container)
#   install-cni.sh pause       sleep until SIGTERM (the DaemonSet's long-running container)
# Each file is written to a temp name in its target directory, fsynced, checked against the
# image's SHA256SUMS, then renamed over the target, and the directory is fsynced: a runtime
# never execs a torn or half-written plugin, and a failed install leaves the old one in place.
# Environment:
#   AZURE_CNI_BIN_DIR          default /opt/cni/bin   (the host's, mounted by hostPath)
#   AZURE_CNI_CONF_DIR         default /etc/cni/net.d (the host's, mounted by hostPath)
#   AZURE_CNI_INSTALL_CONFLIST true|false, default false: the node's CNI configuration is left alone
#   AZURE_CNI_PAYLOAD          default /azure-cni: the files and their SHA256SUMS
set -eu

payload=${AZURE_CNI_PAYLOAD:-/azure-cni}
bindir=${AZURE_CNI_BIN_DIR:-/opt/cni/bin}
confdir=${AZURE_CNI_CONF_DIR:-/etc/cni/net.d}
want_conflist=${AZURE_CNI_INSTALL_CONFLIST:-false}
tmp=

log() { echo "install-cni: $*"; }
die() {
	echo "install-cni: $*" >&2
	[ -z "$tmp" ] || rm -f "$tmp"
	exit 1
}
trap '[ -z "$tmp" ] || rm -f "$tmp"; exit 1' HUP INT TERM

# sum NAME: the SHA256SUMS entry of NAME
sum() {
	while read -r h n; do
		if [ "$n" = "$1" ] || [ "$n" = "*$1" ]; then
			echo "$h"
			return 0
		fi
	done <"$payload/SHA256SUMS"
	return 1
}

# put NAME DIR MODE: atomic replace of DIR/NAME by the payload's NAME
put() {
	name=$1 dir=$2 mode=$3
	want=$(sum "$name") || die "$name is not in $payload/SHA256SUMS"
	[ -d "$dir" ] || die "$dir is not a directory (is the hostPath mounted?)"
	tmp=$dir/.$name.azure-cni-tmp.$$
	rm -f "$tmp"
	cp "$payload/$name" "$tmp" || die "cannot write $tmp"
	chmod "$mode" "$tmp" || die "cannot chmod $tmp"
	sync "$tmp" || die "cannot fsync $tmp"
	got=$(sha256sum "$tmp") || die "cannot read $tmp back"
	[ "${got%% *}" = "$want" ] || die "$tmp does not match SHA256SUMS (disk full?)"
	mv -f "$tmp" "$dir/$name" || die "cannot rename $tmp to $dir/$name"
	tmp=
	sync "$dir" || die "cannot fsync $dir"
	log "$dir/$name ($mode, sha256 $want)"
}

case ${1:-install} in
install)
	case $want_conflist in
	true | false) ;;
	*) die "AZURE_CNI_INSTALL_CONFLIST must be true or false, not '$want_conflist'" ;;
	esac
	# A damaged image installs nothing.
	(cd "$payload" && sha256sum -c SHA256SUMS >/dev/null) || die "the payload in $payload does not match its SHA256SUMS"
	# ipam first: azure-vnet, once renamed in, may run it at once.
	put azure-vnet-ipam "$bindir" 0755
	put azure-vnet "$bindir" 0755
	put azure-vnet-inspect "$bindir" 0755
	if [ "$want_conflist" = true ]; then
		put 10-azure.conflist "$confdir" 0644
	else
		log "conflist not installed (AZURE_CNI_INSTALL_CONFLIST=$want_conflist)"
	fi
	;;
pause)
	trap 'exit 0' TERM INT
	while :; do
		sleep 3600 &
		wait $! || true
	done
	;;
*)
	die "unknown mode '$1' (install or pause)"
	;;
esac
