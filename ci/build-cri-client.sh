#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build tests/linux/cri-client/cri-client.go (our CRI client: the kubelet's calls to containerd)
# against k8s.io/cri-api runtime v1 as vendored in the Debian source package containerd, and
# Debian's golang-google-grpc-dev and golang-github-gogo-protobuf-dev, in GOPATH mode. No network
# beyond the Debian mirror (no Go proxy). Needs golang-go, those two packages, dpkg-dev, xz-utils
# and deb-src (ci/deps.sh sets them up).
# Usage: ci/build-cri-client.sh [OUTPUT]   (default build/tools/cri-client). Prints the output path.
# Does nothing when OUTPUT exists and was built from the same source with the same Go (the
# stamp OUTPUT.stamp holds the source's sha256 and `go version`).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build/tools/cri-client}
src=$top/tests/linux/cri-client/cri-client.go
command -v go >/dev/null || { echo "build-cri-client: go not installed (ci/deps.sh)" >&2; exit 1; }
stamp="$(sha256sum <"$src" | cut -d' ' -f1) $(go version)"
if [ -x "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "$out"
	exit 0
fi
for d in google.golang.org/grpc github.com/gogo/protobuf; do
	[ -d "/usr/share/gocode/src/$d" ] ||
		{ echo "build-cri-client: /usr/share/gocode/src/$d missing (golang-google-grpc-dev, golang-github-gogo-protobuf-dev: ci/deps.sh)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get source -qq --download-only containerd >/dev/null 2>&1 ||
	{ echo "build-cri-client: apt-get source containerd failed (deb-src enabled?)" >&2; exit 1; }
orig=$(ls containerd_*.orig.tar.* | head -n1)
# The tarball's top directory carries the version; take vendor/k8s.io/cri-api wherever it is.
# (awk reads the whole listing: no SIGPIPE to tar under pipefail)
member=$(tar -tf "$orig" | awk '/\/vendor\/k8s\.io\/cri-api\/pkg\/apis\/runtime\/v1\/api\.pb\.go$/ && !m { m = $0 } END { print m }')
[ -n "$member" ] || { echo "build-cri-client: no vendor/k8s.io/cri-api in $orig" >&2; exit 1; }
api=${member%/pkg/apis/runtime/v1/api.pb.go}
tar -xf "$orig" "$api/pkg/apis/runtime/v1"
mkdir -p gopath/src/k8s.io
ln -s "$work/$api" gopath/src/k8s.io/cri-api
mkdir -p "$(dirname "$out")"
GOPATH=$work/gopath:/usr/share/gocode GO111MODULE=off GOCACHE="$work/gocache" CGO_ENABLED=0 GOFLAGS= \
	go build -o "$out.tmp" "$src"
mv "$out.tmp" "$out"
printf '%s\n' "$stamp" >"$out.stamp"
echo "$out"
