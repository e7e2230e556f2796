#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian kernel headers for building zsm, without installing them on the
# host.
#
#   scripts/fetch-headers.sh ABI      e.g. 6.1.0-56-amd64, 6.1.0-50-arm64
#
# Prints (last line of stdout) a kernel build directory usable as KDIR:
# $ZSM_CACHE/headers/<ABI>-<version>/usr/src/linux-headers-<ABI>.
#
# Installing linux-headers-<ABI> with apt would pull in its dependencies,
# and for some kernels (Debian's 6.12 backport) that is linux-image-<ABI>:
# a new kernel in the host's /boot and an update-initramfs run. A test run
# must never change what the host boots, so the three packages a module
# build needs (linux-headers-<ABI>, linux-headers-<ABI's common part> and
# the linux-kbuild package it names) are fetched with `apt-get download`
# and unpacked with `dpkg-deb -x` into the cache. The only fix-up: the
# arch Makefile includes the common one by absolute path (/usr/src/...);
# it is pointed at the unpacked copy. Done once per package version; the
# host's dpkg database and /usr/src are never touched.
#
# An ABI ending in -arm64 is for cross builds (ARCH=arm64): the headers
# come from scripts/apt-private.sh's arm64 lists (ZSM_APT_ARCH=arm64),
# linux-kbuild (the host programs, fixdep and modpost) from the host's
# lists, of the headers' version.
set -euo pipefail

cache=${ZSM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zsm}

die() {
	echo "fetch-headers: $*" >&2
	exit 1
}

[ $# = 1 ] || die "usage: $0 ABI"
abi=$1
pkg=linux-headers-$abi
here=$(cd "$(dirname "$0")" && pwd)
foreign=
case $abi in
*-arm64) foreign=arm64 ;;
esac

# apt_ apt-get|apt-cache ARGS...: apt with the lists of the ABI's
# architecture.
apt_() {
	if [ -n "$foreign" ]; then
		ZSM_APT_ARCH=$foreign "$here/apt-private.sh" "$@"
	else
		"$@"
	fi
}

# field <package> <field>: a field of the candidate version.
field() {
	apt_ apt-cache show --no-all-versions "$1" 2>/dev/null |
		sed -n "s/^$2: //p" | head -n 1
}

ver=$(field "$pkg" Version)
if [ -z "$ver" ]; then
	# No package lists (apt-get update not run): reuse what is cached.
	out=$(find "$cache/headers" -maxdepth 1 -name "$abi-*" -type d 2>/dev/null |
	      sort | tail -n 1)
	[ -n "$out" ] && [ -f "$out/.done" ] ||
		die "apt knows no $pkg (apt-get update?) and nothing is cached"
	echo "$out/usr/src/$pkg"
	exit 0
fi

out=$cache/headers/$abi-$ver
mkdir -p "$cache/headers"
exec 9>"$cache/headers/.lock"
flock 9
if [ -f "$out/.done" ]; then
	echo "$out/usr/src/$pkg"
	exit 0
fi

# The exact common and kbuild packages the headers package depends on
# ("name (= version)" or "name (>= version)").
deps=$(field "$pkg" Depends | tr ',' '\n' |
       sed -n 's/^ *\(linux-headers-[^ ]*-common\(-rt\)\{0,1\}\|linux-kbuild-[^ ]*\)\( .*\)\{0,1\}$/\1/p')
[ "$(wc -w <<<"$deps")" = 2 ] ||
	die "$pkg $ver: cannot find its -common and linux-kbuild dependencies ($deps)"

tmp=$(mktemp -d "$cache/headers/tmp.XXXXXX")
# shellcheck disable=SC2064 # expand now
trap "rm -rf '$tmp'" EXIT
echo "fetch-headers: downloading $pkg=$ver $(xargs echo <<<"$deps")" >&2
if [ -n "$foreign" ]; then
	kbuild=$(grep '^linux-kbuild' <<<"$deps")
	deps=$(grep -v '^linux-kbuild' <<<"$deps")
	(cd "$tmp" && apt-get download -q "$kbuild=$ver" >&2)
fi
# shellcheck disable=SC2086 # one package per word
(cd "$tmp" && apt_ apt-get download -q "$pkg=$ver" $deps >&2)
mkdir "$tmp/root"
for deb in "$tmp"/*.deb; do
	dpkg-deb -x "$deb" "$tmp/root"
done
kdir=$tmp/root/usr/src/$pkg
[ -f "$kdir/Makefile" ] || die "no $pkg/Makefile in the packages"
sed -i "s|^include /usr/src/|include $out/usr/src/|" "$kdir/Makefile"
grep -q "^include $out/" "$kdir/Makefile" ||
	die "$kdir/Makefile: unexpected include line"
rm -f "$tmp"/*.deb
rm -rf "$out"
mv "$tmp/root" "$out"
echo "Debian $pkg $ver" >"$out/package"
touch "$out/.done"
echo "$out/usr/src/$pkg"
