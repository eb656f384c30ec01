#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Give a running `--network none` podman or docker container a VNet interface (CNI ADD), or take
# it away (CNI DEL), by running the first plugin of the azure conflist (azure-vnet) the way the
# Go plugin's scripts/docker-run.sh and docker-del.sh do, with their DEL bug fixed: DEL gets the
# container's real netns path (/proc/<pid>/ns/net) while it runs, and an empty CNI_NETNS once it
# has stopped or is gone, which the plugin handles.
#
# Usage: linux/attach.sh add|del CONTAINER
# Environment:
#   AZCNI_RUNTIME    container CLI, with any global flags (default: podman, else docker)
#   AZCNI_CONFLIST   conflist (default /etc/cni/net.d/10-azure.conflist)
#   CNI_PATH         plugin search path (default /opt/cni/bin:/usr/lib/cni)
#   CNI_IFNAME       interface name in the container (default eth0)
#   K8S_POD_NAMESPACE, K8S_POD_NAME   passed in CNI_ARGS (default "default", the container name)
#   AZCNI_ATTACH_DIR where ADD results are kept for DEL's prevResult (default /var/run/azure-vnet-attach)
# ADD prints the plugin's result. Exit status is the plugin's.
set -euo pipefail
die() { echo "attach: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: $0 add|del CONTAINER"
cmd=$1 ctr=$2
case $cmd in add) CMD=ADD ;; del) CMD=DEL ;; *) die "unknown command $cmd (add or del)" ;; esac

if [ -n "${AZCNI_RUNTIME:-}" ]; then
	read -r -a rt <<<"$AZCNI_RUNTIME"
elif command -v podman >/dev/null; then rt=(podman)
elif command -v docker >/dev/null; then rt=(docker)
else die "neither podman nor docker found (set AZCNI_RUNTIME)"; fi
conflist=${AZCNI_CONFLIST:-/etc/cni/net.d/10-azure.conflist}
cni_path=${CNI_PATH:-/opt/cni/bin:/usr/lib/cni}
ifname=${CNI_IFNAME:-eth0}
dir=${AZCNI_ATTACH_DIR:-/var/run/azure-vnet-attach}
command -v jq >/dev/null || die "jq is required"
[ -r "$conflist" ] || die "conflist $conflist not readable"

# The container: full ID, name and PID (0 when not running). A container that no longer exists
# can still be detached by its full ID (DEL only, with an empty netns).
if info=$("${rt[@]}" inspect --format '{{.Id}} {{.Name}} {{.State.Pid}}' "$ctr" 2>/dev/null); then
	read -r id name pid <<<"$info"
	name=${name#/}
else
	[ "$CMD" = DEL ] || die "no such container: $ctr"
	id=$ctr name=$ctr pid=0
fi
[[ $id =~ ^[0-9a-zA-Z][0-9a-zA-Z_.-]*$ ]] || die "unexpected container ID '$id'"
netns=""
if [ "$pid" -gt 0 ] 2>/dev/null; then
	netns=/proc/$pid/ns/net
elif [ "$CMD" = ADD ]; then
	die "container $ctr is not running"
fi

conf=$(jq -c '.plugins[0] + {name: .name, cniVersion: .cniVersion}' "$conflist") ||
	die "cannot read the first plugin of $conflist"
type=$(jq -r .type <<<"$conf")
[[ $type =~ ^[A-Za-z0-9._-]+$ ]] || die "bad plugin type '$type'"
plugin=""
IFS=: read -r -a path_dirs <<<"$cni_path"
for d in "${path_dirs[@]}"; do
	if [ -x "$d/$type" ]; then plugin=$d/$type; break; fi
done
[ -n "$plugin" ] || die "plugin $type not found in $cni_path"

saved=$dir/$id-$ifname.json
if [ "$CMD" = DEL ] && [ -s "$saved" ]; then
	# libcni sends prevResult on DEL from 0.4.0 on; do the same.
	ver=$(jq -r '.cniVersion // "0.2.0"' <<<"$conf")
	case $ver in 0.1.* | 0.2.* | 0.3.*) ;; *) conf=$(jq -c --slurpfile p "$saved" '. + {prevResult: $p[0]}' <<<"$conf") ;; esac
fi

rc=0
out=$(CNI_COMMAND=$CMD CNI_CONTAINERID=$id CNI_NETNS=$netns CNI_IFNAME=$ifname CNI_PATH=$cni_path \
	CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=${K8S_POD_NAMESPACE:-default};K8S_POD_NAME=${K8S_POD_NAME:-$name}" \
	"$plugin" <<<"$conf") || rc=$?
if [ $rc -ne 0 ]; then
	echo "$out"
	echo "attach: $type $CMD for $name (netns '${netns}') failed" >&2
	exit $rc
fi
if [ "$CMD" = ADD ]; then
	mkdir -p "$dir"
	printf '%s\n' "$out" >"$saved.tmp" && mv "$saved.tmp" "$saved"
	printf '%s\n' "$out"
else
	rm -f "$saved"
fi
