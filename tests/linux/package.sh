#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Packages and deployment:
#   deb      linux/package.sh on the build: lintian clean (errors and warnings; the overrides are
#            exactly the two linux/debian/ gives reasons for), contents, modes, Depends covering
#            every NEEDED library, the build's programs, no maintainer scripts; installed with
#            dpkg into a scratch root (dpkg --root), verified, the conffile opt-in, then removed
#            and purged leaving nothing of ours
#   zip      ci/windows-zip.sh: the Go release's name, the package's files at the top level,
#            byte-identical, reproducible; the real build-windows/ archive when there is one
#   image    linux/build-static.sh (static programs; the static azure-vnet-ipam against the IPAM
#            suite's loopback NMAgent), deploy/build-image.sh with podman in a private store (no
#            registry), the image's files, its installer run with the DaemonSet manifest's
#            securityContext into a scratch host root (hostPath mounts): files, modes, content,
#            renamed in, no temp files, the conflist only when asked, bad input, a read-only
#            host; the pause container ends on SIGTERM; the manifest matches the image
# Never touches the host's /opt/cni/bin, /etc/cni/net.d, /usr/share/doc or dpkg database
# (snapshots compared at the end). Uses build/ (AZCNI_BUILD_DIR); build-static/ is built here.
# Exit non-zero on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${AZCNI_BUILD_DIR:-$top/build}
static=${AZCNI_STATIC_BUILD_DIR:-$top/build-static}
winbuild=${AZCNI_WINDOWS_BUILD_DIR:-$top/build-windows}
# shellcheck source=tests/lib/suite.sh
. "$top/tests/lib/suite.sh"

snapshot() {
	for d in /opt/cni/bin /etc/cni/net.d /usr/share/doc/azure-vnet-cni /usr/share/doc/azure-vnet-cni-conflist; do
		ls -la --time-style=full-iso "$d" 2>&1
	done
	dpkg-query -W -f='${Package} ${Status}\n' 'azure-vnet-cni*' 2>&1
}
host_before=$(snapshot)

tmp=$(mktemp -d /tmp/azpkg.XXXXXX)
# --network-config-dir: podman's CNI backend otherwise creates /etc/cni/net.d/cni.lock on the
# host the first time it runs a container there (a fresh machine's package run failed the
# "host untouched" check on it)
pm=(podman --root "$tmp/podman/root" --runroot "$tmp/podman/run" --storage-driver vfs
	--network-config-dir "$tmp/podman/net.d"
	--tmpdir "$tmp/podman/tmp" --cgroup-manager cgroupfs --events-backend file --runtime runc)
cleanup() {
	if [ -d "$tmp/podman" ]; then
		"${pm[@]}" rm -a -f -t 0 >/dev/null 2>&1
		"${pm[@]}" rmi -a -f >/dev/null 2>&1
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
suite_begin "$tmp/results"
SUITE_LOG=$tmp/log SUITE_ERRLOG=$tmp/log
suite_on_fail() { tail -n 15 "$tmp/log" | sed 's/^/    /'; }

version=$(dpkg-parsechangelog -l "$top/linux/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)

# ---- deb ----
deb_suite() {
	local out=$tmp/deb d=$tmp/deb/azure-vnet-cni_${version}_$arch.deb
	local c=$tmp/deb/azure-vnet-cni-conflist_${version}_all.deb
	check "deb: linux/package.sh builds both packages" "$top/linux/package.sh" "$build" "$out"
	check "deb: azure-vnet-cni_${version}_$arch.deb and azure-vnet-cni-conflist_${version}_all.deb" \
		test -f "$d" -a -f "$c"
	[ -f "$d" ] && [ -f "$c" ] || return

	# lintian: no error or warning; the overrides in force are exactly the two documented ones
	lintian --fail-on error,warning -I --pedantic "$d" "$c" >"$tmp/lintian" 2>>"$tmp/log"
	local rc=$?
	sed 's/^/    lintian: /' "$tmp/lintian"
	check "deb: lintian --fail-on error,warning passes (exit $rc)" test "$rc" = 0
	check "deb: lintian reports no E: or W: tag" bash -c "! grep -E '^[EW]: ' '$tmp/lintian'"
	lintian --show-overrides "$d" "$c" 2>/dev/null | sed -n 's/^O: \([^ ]*\) \([^ ]*\).*/\1 \2/p' |
		sort -u >"$tmp/overrides"
	check "deb: overrides in force: dir-or-file-in-opt, embedded-library (each with a reason)" \
		diff -u <(printf '%s\n' 'azure-vnet-cni: dir-or-file-in-opt' 'azure-vnet-cni: embedded-library') "$tmp/overrides"
	check "deb: every block of overrides starts with a comment (its reason)" \
		awk '/^[^#]/ && (NR == 1 || prev == "") {bad=1} {prev=$0} END {exit bad}' "$top/linux/debian/azure-vnet-cni.lintian-overrides"

	# contents and modes
	dpkg-deb -c "$d" | awk '{print $1, $2, $6}' | sed 's|\./||' | sort >"$tmp/list"
	cat >"$tmp/want" <<-EOF
	-rw-r--r-- root/root usr/share/doc/azure-vnet-cni/changelog.gz
	-rw-r--r-- root/root usr/share/doc/azure-vnet-cni/copyright
	-rw-r--r-- root/root usr/share/doc/azure-vnet-cni/examples/10-azure-bridge.conflist
	-rw-r--r-- root/root usr/share/doc/azure-vnet-cni/examples/10-azure.conflist
	-rw-r--r-- root/root usr/share/doc/azure-vnet-cni/examples/azure-linux-swift-overlay.conflist
	-rw-r--r-- root/root usr/share/doc/azure-vnet-cni/examples/azure-linux-swift.conflist
	-rw-r--r-- root/root usr/share/lintian/overrides/azure-vnet-cni
	-rwxr-xr-x root/root opt/cni/bin/azure-vnet
	-rwxr-xr-x root/root opt/cni/bin/azure-vnet-ipam
	-rwxr-xr-x root/root usr/sbin/azure-vnet-inspect
	-rw-r--r-- root/root usr/share/man/man8/azure-vnet-inspect.8.gz
	EOF
	check "deb: azure-vnet-cni holds exactly the programs (0755), a man page, examples, copyright, changelog, overrides (root:root)" \
		diff -u <(sort "$tmp/want") <(grep -v '^d' "$tmp/list")
	check "deb: no directory but opt/cni/bin, usr/sbin, usr/share/{doc,lintian,man}; all 0755" \
		bash -c "grep '^d' '$tmp/list' | grep -v '^drwxr-xr-x root/root ' | grep -q . && exit 1;
			! grep '^d' '$tmp/list' | awk '{print \$3}' | grep -Ev '^(/?|opt/|opt/cni/|opt/cni/bin/|usr/|usr/sbin/|usr/share/|usr/share/doc/.*|usr/share/lintian/.*|usr/share/man/|usr/share/man/man8/)$' | grep -q ."
	check "deb: nothing in etc/ (no conflist unless azure-vnet-cni-conflist is installed)" \
		bash -c "! grep -q ' etc/' '$tmp/list'"
	dpkg-deb -c "$c" | awk '$1 !~ /^d/ {print $1, $2, $6}' | sed 's|\./||' | sort >"$tmp/clist"
	check "deb: azure-vnet-cni-conflist holds etc/cni/net.d/10-azure.conflist (0644), copyright, changelog" \
		diff -u <(printf '%s\n' '-rw-r--r-- root/root etc/cni/net.d/10-azure.conflist' \
			'-rw-r--r-- root/root usr/share/doc/azure-vnet-cni-conflist/changelog.gz' \
			'-rw-r--r-- root/root usr/share/doc/azure-vnet-cni-conflist/copyright') "$tmp/clist"
	check "deb: the conflist is a conffile" \
		bash -c "dpkg-deb --ctrl-tarfile '$c' | tar -xO ./conffiles | grep -qx /etc/cni/net.d/10-azure.conflist"
	check "deb: no maintainer scripts (control.tar: control, md5sums[, conffiles])" \
		bash -c "[ \"\$(dpkg-deb --ctrl-tarfile '$d' | tar -t | sort | tr '\n' ' ')\" = './ ./control ./md5sums ' ] &&
			[ \"\$(dpkg-deb --ctrl-tarfile '$c' | tar -t | sort | tr '\n' ' ')\" = './ ./conffiles ./control ./md5sums ' ]"

	# the programs are the build's, stripped as dh_strip does
	mkdir -p "$tmp/x"
	dpkg-deb -x "$d" "$tmp/x"
	local p
	for p in opt/cni/bin/azure-vnet opt/cni/bin/azure-vnet-ipam usr/sbin/azure-vnet-inspect; do
		cp "$build/bin/${p##*/}" "$tmp/${p##*/}.stripped"
		strip --remove-section=.comment --remove-section=.note --strip-unneeded "$tmp/${p##*/}.stripped"
		check "deb: /$p is build/bin/${p##*/} stripped" cmp "$tmp/${p##*/}.stripped" "$tmp/x/$p"
	done
	check "deb: examples are linux/10-azure.conflist, the bridge sample and the azure-cns ones" \
		bash -c "cmp '$top/linux/10-azure.conflist' '$tmp/x/usr/share/doc/azure-vnet-cni/examples/10-azure.conflist' &&
			cmp '$top/linux/azure-linux-swift.conflist' '$tmp/x/usr/share/doc/azure-vnet-cni/examples/azure-linux-swift.conflist' &&
			cmp '$top/linux/azure-linux-swift-overlay.conflist' '$tmp/x/usr/share/doc/azure-vnet-cni/examples/azure-linux-swift-overlay.conflist' &&
			cmp '$top/tests/data/conflist/10-azure-linux-bridge.conflist' '$tmp/x/usr/share/doc/azure-vnet-cni/examples/10-azure-bridge.conflist'"

	# Depends: every NEEDED library's package, libcurl4 (dlopen, unseen by dpkg-shlibdeps)
	local depends lib owner missing=""
	depends=$(dpkg-deb -f "$d" Depends)
	echo "    Depends: $depends"
	echo "    Built-Using: $(dpkg-deb -f "$d" Built-Using)"
	for lib in $(objdump -p "$tmp/x/opt/cni/bin/azure-vnet" "$tmp/x/opt/cni/bin/azure-vnet-ipam" \
		"$tmp/x/usr/sbin/azure-vnet-inspect" |
		awk '/NEEDED/ {print $2}' | sort -u); do
		owner=$(dpkg -S "*/$lib" 2>/dev/null | head -n1 | cut -d: -f1)
		[[ ", $depends," == *", $owner "* ]] || missing+=" $lib($owner)"
	done
	check "deb: Depends names the package of every NEEDED library${missing:+ (missing:$missing)}" test -z "$missing"
	check "deb: Depends has libcurl4 (loaded with dlopen) and iptables" \
		bash -c "[[ ', $depends,' == *', libcurl4 ('* && [[ ', $depends,' == *', iptables,'* ]]"
	if grep -q '^AZCNI_NL3_A:FILEPATH=/' "$build/CMakeCache.txt"; then
		check "deb: Built-Using names libnl3 and expat (linked statically)" \
			bash -c "dpkg-deb -f '$d' Built-Using | grep -q 'libnl3 (= ' && dpkg-deb -f '$d' Built-Using | grep -q 'expat (= '"
	fi
	check "deb: Version is debian/changelog's ($version), the version the programs report" \
		bash -c "[ \"\$(dpkg-deb -f '$d' Version)\" = '$version' ] && [ \"\$('$build/bin/azure-vnet' -v)\" = 'Azure CNI Version v${version%-*}' ]"
	check "deb: package.sh refuses a build whose version differs from the changelog" \
		bash -c "mkdir -p '$tmp/fakebuild/bin' && printf '#!/bin/sh\necho Azure CNI Version 9.9.9\n' >'$tmp/fakebuild/bin/azure-vnet' &&
			cp '$tmp/fakebuild/bin/azure-vnet' '$tmp/fakebuild/bin/azure-vnet-ipam' && chmod 755 '$tmp/fakebuild/bin/'* &&
			! '$top/linux/package.sh' '$tmp/fakebuild' '$tmp/fakeout' && [ -z \"\$(ls -A '$tmp/fakeout' 2>/dev/null)\" ]"

	# dpkg into a scratch root: a dpkg database of its own, a file of someone else's in the way
	local root=$tmp/root
	local dp=(dpkg --root="$root" --log="$tmp/dpkg.log" --force-depends --force-script-chrootless)
	mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/opt/cni/bin" "$root/etc/cni/net.d"
	: >"$root/var/lib/dpkg/status"
	: >"$root/var/lib/dpkg/available"
	printf '#!/bin/sh\n' >"$root/opt/cni/bin/portmap"
	chmod 755 "$root/opt/cni/bin/portmap"
	echo '{}' >"$root/etc/cni/net.d/99-other.conflist"
	(cd "$root" && find . -printf '%p %m %s\n' | grep -v '^./var/lib/dpkg' | sort) >"$tmp/root-before"
	check "dpkg --root: azure-vnet-cni installs" "${dp[@]}" -i "$d"
	check "dpkg --root: azure-vnet-cni is 'install ok installed'" \
		bash -c "dpkg-query --admindir='$root/var/lib/dpkg' -W -f='\${Status}' azure-vnet-cni | grep -qx 'install ok installed'"
	for p in azure-vnet azure-vnet-ipam; do
		check "dpkg --root: /opt/cni/bin/$p 0755 root:root" \
			bash -c "[ \"\$(stat -c '%a %U:%G' '$root/opt/cni/bin/$p')\" = '755 root:root' ]"
	done
	check "dpkg --root: /usr/sbin/azure-vnet-inspect 0755 root:root, its man page" \
		bash -c "[ \"\$(stat -c '%a %U:%G' '$root/usr/sbin/azure-vnet-inspect')\" = '755 root:root' ] &&
			zcat '$root/usr/share/man/man8/azure-vnet-inspect.8.gz' | grep -q '^.TH AZURE-VNET-INSPECT 8'"
	check "dpkg --root: the installed azure-vnet-inspect answers --help" \
		bash -c "'$root/usr/sbin/azure-vnet-inspect' --help 2>&1 | grep -q 'usage: azure-vnet-inspect'"
	check "dpkg --root: the installed azure-vnet answers VERSION" \
		bash -c "CNI_COMMAND=VERSION '$root/opt/cni/bin/azure-vnet' <<<'{\"cniVersion\":\"1.0.0\"}' | jq -e '.supportedVersions | index(\"1.0.0\")'"
	check "dpkg --root: the examples are in /usr/share/doc/azure-vnet-cni/examples" \
		test -f "$root/usr/share/doc/azure-vnet-cni/examples/10-azure.conflist"
	check "dpkg --root: /etc/cni/net.d holds no conflist of ours" test ! -e "$root/etc/cni/net.d/10-azure.conflist"
	check "dpkg --root --verify azure-vnet-cni: no difference" \
		bash -c "[ -z \"\$(dpkg --root='$root' --verify azure-vnet-cni)\" ]"
	check "dpkg --root: a file of someone else's in /opt/cni/bin is kept" cmp -s <(printf '#!/bin/sh\n') "$root/opt/cni/bin/portmap"

	check "dpkg --root: azure-vnet-cni-conflist installs (the opt-in)" "${dp[@]}" -i "$c"
	check "dpkg --root: /etc/cni/net.d/10-azure.conflist 0644, linux/10-azure.conflist" \
		bash -c "[ \"\$(stat -c %a '$root/etc/cni/net.d/10-azure.conflist')\" = 644 ] && cmp '$top/linux/10-azure.conflist' '$root/etc/cni/net.d/10-azure.conflist'"
	# an operator's edit survives removal (a conffile), and goes only with purge
	echo '{"edited":true}' >"$root/etc/cni/net.d/10-azure.conflist"
	check "dpkg --root -r azure-vnet-cni-conflist" "${dp[@]}" -r azure-vnet-cni-conflist
	check "dpkg -r keeps the edited conffile" grep -q edited "$root/etc/cni/net.d/10-azure.conflist"
	check "dpkg --root --purge azure-vnet-cni-conflist" "${dp[@]}" --purge azure-vnet-cni-conflist
	check "dpkg --purge removes the conffile" test ! -e "$root/etc/cni/net.d/10-azure.conflist"
	check "dpkg --root --purge azure-vnet-cni" "${dp[@]}" --purge azure-vnet-cni
	(cd "$root" && find . -printf '%p %m %s\n' | grep -v '^./var/lib/dpkg' | sort) >"$tmp/root-after"
	check "dpkg --purge: the root is as before install (nothing of ours, the others' files kept)" \
		diff -u "$tmp/root-before" "$tmp/root-after"
	check "dpkg --purge: no package of ours left in the scratch database" \
		bash -c "! dpkg-query --admindir='$root/var/lib/dpkg' -W 'azure-vnet-cni*' 2>/dev/null | grep -q ."
}

# ---- zip ----
zip_suite() {
	local w=$tmp/win f
	mkdir -p "$w/package"
	echo 'AZCNI_VERSION:STRING=1.2.3' >"$w/CMakeCache.txt"
	for f in azure-vnet.exe azure-vnet-ipam.exe azure-vnet-inspect.exe 10-azure.conflist install.ps1; do
		head -c 3000 /dev/urandom >"$w/package/$f"
	done
	check "zip: ci/windows-zip.sh succeeds" "$top/ci/windows-zip.sh" "$w"
	local z=$w/azure-vnet-cni-windows-amd64-v1.2.3.zip
	check "zip: named azure-vnet-cni-windows-amd64-v<version>.zip (the Go tag form)" test -f "$z"
	check "zip: exactly the five files, at the top level" \
		diff <(printf '%s\n' 10-azure.conflist azure-vnet-inspect.exe azure-vnet-ipam.exe azure-vnet.exe install.ps1) \
		<(unzip -Z1 "$z" | LC_ALL=C sort)
	check "zip: contents byte-identical to the package" \
		bash -c "for f in azure-vnet.exe azure-vnet-ipam.exe azure-vnet-inspect.exe 10-azure.conflist install.ps1; do
			unzip -p '$z' \"\$f\" | cmp -s - '$w/package/'\"\$f\" || exit 1; done"
	cp "$z" "$tmp/first.zip"
	touch "$w/package/"*
	"$top/ci/windows-zip.sh" "$w" >/dev/null 2>&1
	check "zip: the same files give the same archive" cmp "$z" "$tmp/first.zip"
	rm "$w/package/install.ps1" "$z"
	check "zip: a missing file fails and makes no archive" \
		bash -c "! '$top/ci/windows-zip.sh' '$w' 2>/dev/null && [ ! -e '$z' ] && ! ls '$w'/.zip.* 2>/dev/null"
	local real
	real=$(ls "$winbuild"/azure-vnet-cni-windows-amd64-*.zip 2>/dev/null | head -n1)
	if [ -n "$real" ] && [ -d "$winbuild/package" ]; then
		check "zip: ${real##*/} holds build-windows/package/ (5 files, identical)" \
			bash -c "[ \"\$(unzip -Z1 '$real' | LC_ALL=C sort | tr '\n' ' ')\" = '10-azure.conflist azure-vnet-inspect.exe azure-vnet-ipam.exe azure-vnet.exe install.ps1 ' ] &&
				for f in \$(unzip -Z1 '$real'); do unzip -p '$real' \"\$f\" | cmp -s - '$winbuild/package/'\"\$f\" || exit 1; done"
		check "zip: ${real##*/} names the build's version" \
			test "${real##*-}" = "v$(sed -n 's/^AZCNI_VERSION:STRING=//p' "$winbuild/CMakeCache.txt").zip"
	else
		skip "zip: no build-windows/ archive (ci/build-windows.sh makes it; the windows suite runs it)"
	fi
}

# ---- image ----
# manifest QUERY: a value from deploy/azure-vnet-cni.yaml (python3 expression over `ds`)
manifest() {
	python3 -c 'import sys, yaml; ds = yaml.safe_load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$top/deploy/azure-vnet-cni.yaml" "$1"
}

image_suite() {
	local p
	check "image: linux/build-static.sh builds static programs" "$top/linux/build-static.sh" "$static"
	for p in azure-vnet azure-vnet-ipam azure-vnet-inspect; do
		check "image: $p is static (no interpreter, no NEEDED)" \
			bash -c "! readelf -lW '$static/bin/$p' | grep -q INTERP && ! readelf -dW '$static/bin/$p' | grep -q NEEDED"
	done
	[ -x "$static/bin/azure-vnet" ] || return
	check "image: static azure-vnet answers VERSION" \
		bash -c "CNI_COMMAND=VERSION '$static/bin/azure-vnet' <<<'{\"cniVersion\":\"1.0.0\"}' | jq -e '.supportedVersions | index(\"1.0.0\")'"
	check "image: static azure-vnet-ipam passes the IPAM suite's NMAgent tests (libcurl linked, HTTP)" \
		env AZCNI_IPAM_BIN="$static/bin/azure-vnet-ipam" "$top/tests/ipam/run.sh" -k nmagent

	local tag
	tag=$(PODMAN="${pm[*]}" "$top/deploy/build-image.sh" --bin "$static/bin" --save "$tmp/image.tar" 2>>"$tmp/log" | tail -n1)
	check "image: deploy/build-image.sh builds localhost/azure-vnet-cni:${version%-*} (podman, no registry)" \
		test "$tag" = "localhost/azure-vnet-cni:${version%-*}"
	check "image: saved as an OCI archive" bash -c "tar -tf '$tmp/image.tar' | grep -qx index.json"
	local size
	size=$("${pm[@]}" image inspect -f '{{.Size}}' "$tag" 2>>"$tmp/log")
	echo "    image size: $size bytes"
	check "image: under 16 MB ($size bytes)" test "${size:-999999999}" -lt 16000000
	"${pm[@]}" create --name azpkg-list "$tag" >>"$tmp/log" 2>&1
	"${pm[@]}" export azpkg-list 2>>"$tmp/log" | tar -tvf - | awk '{print $1, $6}' | sed 's|/$||' |
		grep -Ev ' (dev|proc|sys|etc|run)(/.*)?$' | sort >"$tmp/image-files"
	"${pm[@]}" rm -f azpkg-list >>"$tmp/log" 2>&1
	check "image: only busybox (and its applet links), install-cni.sh and the payload" \
		diff -u <(printf '%s\n' 'drwxr-xr-x azure-cni' '-rw-r--r-- azure-cni/10-azure.conflist' \
			'-rw-r--r-- azure-cni/SHA256SUMS' '-rwxr-xr-x azure-cni/azure-vnet' '-rwxr-xr-x azure-cni/azure-vnet-inspect' \
			'-rwxr-xr-x azure-cni/azure-vnet-ipam' \
			'drwxr-xr-x bin' '-rwxr-xr-x bin/busybox' 'lrwxrwxrwx bin/chmod' 'lrwxrwxrwx bin/cp' 'lrwxrwxrwx bin/mv' \
			'lrwxrwxrwx bin/rm' 'lrwxrwxrwx bin/sh' 'lrwxrwxrwx bin/sha256sum' 'lrwxrwxrwx bin/sleep' \
			'lrwxrwxrwx bin/sync' '-rwxr-xr-x install-cni.sh' | sort) "$tmp/image-files"
	check "image: entry point /bin/sh /install-cni.sh, default mode install" \
		bash -c "[ \"\$(${pm[*]} image inspect -f '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' '$tag')\" = '[\"/bin/sh\",\"/install-cni.sh\"] [\"install\"]' ]"

	# the manifest runs this image, with these mounts, modes and securityContext
	check "manifest: a DaemonSet whose init container installs and whose container pauses, both $tag" \
		test "$(manifest '[ds["kind"], [(c["image"], c["args"]) for c in ds["spec"]["template"]["spec"]["initContainers"]], [(c["image"], c["args"]) for c in ds["spec"]["template"]["spec"]["containers"]]]')" \
		= "['DaemonSet', [('$tag', ['install'])], [('$tag', ['pause'])]]"
	check "manifest: hostPath /opt/cni/bin and /etc/cni/net.d mounted at the same paths" \
		test "$(manifest 'sorted((v["hostPath"]["path"], [m["mountPath"] for m in ds["spec"]["template"]["spec"]["initContainers"][0]["volumeMounts"] if m["name"] == v["name"]]) for v in ds["spec"]["template"]["spec"]["volumes"])')" \
		= "[('/etc/cni/net.d', ['/etc/cni/net.d']), ('/opt/cni/bin', ['/opt/cni/bin'])]"
	check "manifest: AZURE_CNI_INSTALL_CONFLIST is \"false\" (the conflist only when asked)" \
		test "$(manifest '[e["value"] for e in ds["spec"]["template"]["spec"]["initContainers"][0]["env"] if e["name"] == "AZURE_CNI_INSTALL_CONFLIST"]')" = "['false']"
	local caps ro sc='ds["spec"]["template"]["spec"]["initContainers"][0]["securityContext"]'
	caps=$(manifest "' '.join('--cap-add=' + c for c in $sc['capabilities'].get('add', []))")
	ro=$(manifest "$sc['readOnlyRootFilesystem'] and $sc['capabilities']['drop'] == ['ALL']")
	check "manifest: read-only root, all capabilities dropped but: ${caps:-none}" test "$ro" = True

	# the installer, as the init container runs it, into a scratch host root
	local h=$tmp/host
	mkdir -p "$h/opt/cni/bin" "$h/etc/cni/net.d"
	printf 'old azure-vnet\n' >"$h/opt/cni/bin/azure-vnet"
	chmod 700 "$h/opt/cni/bin/azure-vnet"
	ln "$h/opt/cni/bin/azure-vnet" "$tmp/old-azure-vnet" # a runtime's open file: must stay whole
	printf '#!/bin/sh\n' >"$h/opt/cni/bin/portmap"
	echo '{"name":"other"}' >"$h/etc/cni/net.d/87-other.conflist"
	# shellcheck disable=SC2086
	local run=("${pm[@]}" run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024
		--read-only --cap-drop all $caps
		-v "$h/opt/cni/bin:/opt/cni/bin" -v "$h/etc/cni/net.d:/etc/cni/net.d")
	check "installer: runs (conflist not asked)" "${run[@]}" -e AZURE_CNI_INSTALL_CONFLIST=false "$tag" install
	mkdir -p "$tmp/payload"
	"${pm[@]}" create --name azpkg-payload "$tag" >>"$tmp/log" 2>&1
	"${pm[@]}" cp azpkg-payload:/azure-cni/. "$tmp/payload" >>"$tmp/log" 2>&1
	"${pm[@]}" rm -f azpkg-payload >>"$tmp/log" 2>&1
	for p in azure-vnet azure-vnet-ipam azure-vnet-inspect; do
		check "installer: /opt/cni/bin/$p 0755, the image's (SHA256SUMS), the static build's stripped" \
			bash -c "[ \"\$(stat -c %a '$h/opt/cni/bin/$p')\" = 755 ] && cmp -s '$tmp/payload/$p' '$h/opt/cni/bin/$p' &&
				grep -q \"^\$(sha256sum <'$h/opt/cni/bin/$p' | cut -d' ' -f1)  $p\$\" '$tmp/payload/SHA256SUMS' &&
				cp '$static/bin/$p' '$tmp/$p.static' && strip --strip-unneeded '$tmp/$p.static' && cmp -s '$tmp/$p.static' '$h/opt/cni/bin/$p'"
	done
	check "installer: the installed static azure-vnet answers VERSION" \
		bash -c "CNI_COMMAND=VERSION '$h/opt/cni/bin/azure-vnet' <<<'{\"cniVersion\":\"1.0.0\"}' | jq -e '.supportedVersions | index(\"1.0.0\")'"
	check "installer: the installed static azure-vnet-inspect answers --help" \
		bash -c "'$h/opt/cni/bin/azure-vnet-inspect' --help 2>&1 | grep -q 'usage: azure-vnet-inspect'"
	check "installer: the old azure-vnet was renamed over, not written in place (its open copy intact)" \
		bash -c "[ \"\$(cat '$tmp/old-azure-vnet')\" = 'old azure-vnet' ] && [ \"\$(stat -c %i '$tmp/old-azure-vnet')\" != \"\$(stat -c %i '$h/opt/cni/bin/azure-vnet')\" ]"
	check "installer: no conflist written when not asked" test ! -e "$h/etc/cni/net.d/10-azure.conflist"
	check "installer: no temp file left" bash -c "[ -z \"\$(find '$h' -name '*azure-cni-tmp*')\" ]"
	check "installer: the host's other files untouched" \
		bash -c "cmp -s <(printf '#!/bin/sh\n') '$h/opt/cni/bin/portmap' && grep -q other '$h/etc/cni/net.d/87-other.conflist'"

	check "installer: runs with AZURE_CNI_INSTALL_CONFLIST=true" "${run[@]}" -e AZURE_CNI_INSTALL_CONFLIST=true "$tag"
	check "installer: /etc/cni/net.d/10-azure.conflist 0644, linux/10-azure.conflist" \
		bash -c "[ \"\$(stat -c %a '$h/etc/cni/net.d/10-azure.conflist')\" = 644 ] && cmp -s '$top/linux/10-azure.conflist' '$h/etc/cni/net.d/10-azure.conflist'"
	check "installer: no temp file left (second run)" bash -c "[ -z \"\$(find '$h' -name '*azure-cni-tmp*')\" ]"
	(cd "$h" && find . -printf '%p %m %s %i\n' | sort) >"$tmp/host-before-bad"
	check "installer: AZURE_CNI_INSTALL_CONFLIST=yes is refused" \
		bash -c "! ${run[*]} -e AZURE_CNI_INSTALL_CONFLIST=yes '$tag' 2>/dev/null"
	check "installer: an unknown mode is refused" bash -c "! ${run[*]} '$tag' upgrade 2>/dev/null"
	# a host directory the installer cannot write: it fails, the installed programs stay
	check "installer: a read-only /opt/cni/bin fails" \
		bash -c "! ${pm[*]} run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --read-only \
			-v '$h/opt/cni/bin:/opt/cni/bin:ro' -v '$h/etc/cni/net.d:/etc/cni/net.d' '$tag' 2>/dev/null"
	(cd "$h" && find . -printf '%p %m %s %i\n' | sort) >"$tmp/host-after-bad"
	check "installer: refused and failed runs changed nothing on the host" diff -u "$tmp/host-before-bad" "$tmp/host-after-bad"
	# a damaged payload installs nothing (the script itself, outside the image, under dash)
	mkdir -p "$tmp/h2/bin" "$tmp/h2/conf"
	cp -r "$tmp/payload" "$tmp/bad-payload"
	printf 'X' >>"$tmp/bad-payload/azure-vnet"
	check "installer: a payload that does not match SHA256SUMS is refused (dash)" \
		bash -c "! AZURE_CNI_PAYLOAD='$tmp/bad-payload' AZURE_CNI_BIN_DIR='$tmp/h2/bin' AZURE_CNI_CONF_DIR='$tmp/h2/conf' \
			AZURE_CNI_INSTALL_CONFLIST=true dash '$top/deploy/install-cni.sh' 2>/dev/null"
	check "installer: ... and nothing is installed" bash -c "[ -z \"\$(find '$tmp/h2' -mindepth 2)\" ]"
	printf 'old\n' >"$tmp/h2/bin/azure-vnet"
	check "installer: the good payload installs under dash too (traced)" \
		env AZURE_CNI_PAYLOAD="$tmp/payload" AZURE_CNI_BIN_DIR="$tmp/h2/bin" AZURE_CNI_CONF_DIR="$tmp/h2/conf" \
		AZURE_CNI_INSTALL_CONFLIST=true strace -f -qq -y -o "$tmp/trace" \
		-e trace=fsync,fdatasync,rename,renameat,renameat2 dash "$top/deploy/install-cni.sh"
	check "installer: each file fsynced under its temp name, renamed in, then its directory fsynced" \
		python3 - "$tmp/trace" "$tmp/h2/bin/azure-vnet-ipam" "$tmp/h2/bin/azure-vnet" "$tmp/h2/bin/azure-vnet-inspect" \
		"$tmp/h2/conf/10-azure.conflist" <<-'EOF'
		import os, re, sys
		ev = []
		for line in open(sys.argv[1]):
		    m = re.search(r'\bfsync\(\d+<([^>]*)>\)\s*= 0', line)
		    if m:
		        ev.append(("fsync", m.group(1)))
		    m = re.search(r'\brename(?:at2?)?\(.*?"([^"]+)".*?"([^"]+)".*\)\s*= 0', line)
		    if m:
		        ev.append(("rename", m.group(1), m.group(2)))
		last = -1
		for target in sys.argv[2:]:
		    r = [i for i, e in enumerate(ev) if e[0] == "rename" and e[2] == target]
		    assert len(r) == 1, (target, ev)
		    tmpname = ev[r[0]][1]
		    assert os.path.dirname(tmpname) == os.path.dirname(target), tmpname
		    assert ("fsync", tmpname) in ev[last + 1:r[0]], ("no fsync of", tmpname)
		    d = [i for i, e in enumerate(ev) if i > r[0] and e == ("fsync", os.path.dirname(target))]
		    assert d, ("no fsync of the directory after", target)
		    last = d[0]
		EOF
	check "installer: ... all four files, nothing else" \
		bash -c "[ \"\$(cd '$tmp/h2' && find . -type f | sort | tr '\n' ' ')\" = './bin/azure-vnet ./bin/azure-vnet-inspect ./bin/azure-vnet-ipam ./conf/10-azure.conflist ' ]"

	# the DaemonSet's long-running container: ends (status 0) on the SIGTERM of a pod's deletion
	"${pm[@]}" run -d --name azpkg-pause --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		--read-only --cap-drop all "$tag" pause >>"$tmp/log" 2>&1
	check "pause: running" bash -c "[ \"\$(${pm[*]} inspect -f '{{.State.Running}}' azpkg-pause)\" = true ]"
	"${pm[@]}" stop -t 60 azpkg-pause >>"$tmp/log" 2>&1
	check "pause: SIGTERM ends it with status 0 (not killed)" \
		bash -c "[ \"\$(${pm[*]} inspect -f '{{.State.ExitCode}}' azpkg-pause)\" = 0 ]"
	"${pm[@]}" rm -f azpkg-pause >>"$tmp/log" 2>&1
}

if command -v lintian >/dev/null && command -v dpkg-gencontrol >/dev/null && [ -x "$build/bin/azure-vnet-inspect" ]; then
	deb_suite
else
	bad "deb: needs lintian, dpkg-dev (ci/deps.sh) and a build in $build"
fi
if command -v zip >/dev/null && command -v unzip >/dev/null; then
	zip_suite
else
	bad "zip: needs zip and unzip (ci/deps.sh)"
fi
if command -v podman >/dev/null && command -v runc >/dev/null && [ -x /bin/busybox ] && python3 -c 'import yaml' 2>/dev/null; then
	image_suite
else
	bad "image: needs podman, runc, busybox-static and python3-yaml (ci/deps.sh)"
fi

check "host /opt/cni/bin, /etc/cni/net.d, /usr/share/doc and dpkg database untouched" test "$host_before" = "$(snapshot)"
suite_end
