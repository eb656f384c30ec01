#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The installer image (deploy/Containerfile), built locally with podman from our static programs
# and Debian's static busybox: FROM scratch, nothing pulled from a registry.
#   deploy/build-image.sh [--bin DIR] [--tag TAG] [--save FILE]
#     --bin DIR    the static azure-vnet, azure-vnet-ipam and azure-vnet-inspect (default:
#                  linux/build-static.sh builds them into build-static/bin)
#     --tag TAG    default localhost/azure-vnet-cni:<version the programs report>
#     --save FILE  also write the image as an OCI archive (podman load -i FILE on another host,
#                  or push it to the cluster's registry)
# PODMAN overrides the podman command (e.g. "podman --root DIR --storage-driver vfs" for a
# private store). Prints the tag on its last line.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=
tag=
save=
read -r -a podman <<<"${PODMAN:-podman}"
die() { echo "build-image: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
	case $1 in
	--bin) bin=${2:?}; shift 2 ;;
	--tag) tag=${2:?}; shift 2 ;;
	--save) save=${2:?}; shift 2 ;;
	-h | --help) sed -n '3,13p' "$0"; exit 0 ;;
	*) die "unknown argument: $1" ;;
	esac
done
if [ -z "$bin" ]; then
	"$top/linux/build-static.sh" "$top/build-static" >&2
	bin=$top/build-static/bin
fi
busybox=/bin/busybox
# static_elf FILE: no program interpreter, no shared library
static_elf() { ! readelf -lW "$1" | grep -q INTERP && ! readelf -dW "$1" | grep -q NEEDED; }
progs=(azure-vnet azure-vnet-ipam azure-vnet-inspect)
for p in "${progs[@]}"; do
	[ -x "$bin/$p" ] || die "$bin/$p not found"
	static_elf "$bin/$p" || die "$bin/$p is not static (linux/build-static.sh builds static programs)"
done
[ -x "$busybox" ] && static_elf "$busybox" || die "$busybox is not a static busybox (apt-get install busybox-static)"
version=$("$bin/azure-vnet" -v)
version=${version##* }
version=${version#v} # -v prints the Go tag form (v0.1.0); the tag is the package version, as the manifest's
[ -n "$tag" ] || tag=localhost/azure-vnet-cni:$version

ctx=$(mktemp -d /tmp/azcni-image.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
umask 022
mkdir -p "$ctx/bin" "$ctx/azure-cni"
cp "$busybox" "$ctx/bin/busybox"
# the applets install-cni.sh runs
for a in sh cp mv rm chmod sync sha256sum sleep; do ln -s busybox "$ctx/bin/$a"; done
cp "$top/deploy/install-cni.sh" "$ctx/install-cni.sh"
chmod 0755 "$ctx/install-cni.sh"
for p in "${progs[@]}"; do
	cp "$bin/$p" "$ctx/azure-cni/$p"
	strip --strip-unneeded "$ctx/azure-cni/$p"
	chmod 0755 "$ctx/azure-cni/$p"
done
cp "$top/linux/10-azure.conflist" "$ctx/azure-cni/10-azure.conflist"
chmod 0644 "$ctx/azure-cni/10-azure.conflist"
(cd "$ctx/azure-cni" && sha256sum "${progs[@]}" 10-azure.conflist >SHA256SUMS)

"${podman[@]}" build --pull=never -q -f "$top/deploy/Containerfile" -t "$tag" \
	--label org.opencontainers.image.title=azure-vnet-cni \
	--label org.opencontainers.image.version="$version" "$ctx" >/dev/null
if [ -n "$save" ]; then
	rm -f "$save"
	"${podman[@]}" save -q --format oci-archive -o "$save" "$tag"
fi
echo "$tag"
