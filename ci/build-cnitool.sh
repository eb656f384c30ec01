#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build cnitool (libcni's command-line client, upstream v1.1.2) from the Debian source package
# golang-github-appc-cni, against the libcni that golang-github-appc-cni-dev installs. No network
# beyond the Debian mirror (no Go proxy). Needs golang-go, golang-github-appc-cni-dev, dpkg-dev
# and deb-src (ci/deps.sh sets them up).
# Usage: ci/build-cnitool.sh [OUTPUT]   (default build/tools/cnitool). Prints the output path.
# Does nothing when OUTPUT already exists and runs.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build/tools/cnitool}
if [ -x "$out" ]; then
	echo "$out"
	exit 0
fi
command -v go >/dev/null || { echo "build-cnitool: go not installed (ci/deps.sh)" >&2; exit 1; }
[ -d /usr/share/gocode/src/github.com/containernetworking/cni/libcni ] ||
	{ echo "build-cnitool: golang-github-appc-cni-dev not installed" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get source -qq --download-only golang-github-appc-cni >/dev/null 2>&1 ||
	{ echo "build-cnitool: apt-get source golang-github-appc-cni failed (deb-src enabled?)" >&2; exit 1; }
orig=$(ls golang-github-appc-cni_*.orig.tar.* | head -n1)
# The tarball's top directory carries the version; take cnitool.go wherever it is.
member=$(tar -tf "$orig" | grep '/cnitool/cnitool.go$' | head -n1)
[ -n "$member" ] || { echo "build-cnitool: no cnitool/cnitool.go in $orig" >&2; exit 1; }
tar -xf "$orig" "$member"
mkdir -p "$(dirname "$out")"
GOPATH=/usr/share/gocode GO111MODULE=off GOCACHE="$work/gocache" CGO_ENABLED=0 GOFLAGS= \
	go build -o "$out.tmp" "$member"
mv "$out.tmp" "$out"
echo "$out"
