#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian's linux-source-<SERIES> package from the suites of
# scripts/apt-private.sh (sid, trixie-backports), unpacked into the cache.
#
#   scripts/fetch-source.sh 7.3
#
# Takes the newest version of linux-source-<SERIES> the private lists
# know. Prints two lines on stdout: the Debian version, then the path of
# linux-source-<SERIES>.tar.xz. Downloaded and unpacked (dpkg-deb -x, the
# host's dpkg database is not involved) once per version, under
# $ZSM_CACHE/pkg/linux-source-<SERIES>_<version>/. Without package lists
# (offline, ZSM_APT_UPDATE=0) the newest cached version is used.
set -euo pipefail

cache=${ZSM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zsm}
here=$(cd "$(dirname "$0")" && pwd)

die() {
	echo "fetch-source: $*" >&2
	exit 1
}

[ $# = 1 ] || die "usage: $0 SERIES (e.g. 7.3)"
series=$1
pkg=linux-source-$series

ver=$("$here/apt-private.sh" apt-cache show "$pkg" 2>/dev/null |
      sed -n 's/^Version: //p' | sort -V | tail -n 1 || true)
if [ -z "$ver" ]; then
	out=$(find "$cache/pkg" -maxdepth 1 -name "${pkg}_*" -type d 2>/dev/null |
	      sort -V | tail -n 1)
	if [ -z "$out" ] || [ ! -f "$out/.done" ]; then
		die "no $pkg in the private package lists and nothing cached"
	fi
	ver=${out##*/"${pkg}"_}
else
	out=$cache/pkg/${pkg}_$ver
fi
tarball=$out/usr/src/$pkg.tar.xz

mkdir -p "$cache/pkg"
exec 9>"$cache/pkg/.lock"
flock 9
if [ ! -f "$out/.done" ]; then
	tmp=$(mktemp -d "$cache/pkg/tmp.XXXXXX")
	# shellcheck disable=SC2064 # expand now
	trap "rm -rf '$tmp'" EXIT
	echo "fetch-source: downloading $pkg=$ver" >&2
	(cd "$tmp" && "$here/apt-private.sh" apt-get download -q "$pkg=$ver" >&2)
	mkdir "$tmp/root"
	dpkg-deb -x "$tmp"/*.deb "$tmp/root"
	[ -f "$tmp/root/usr/src/$pkg.tar.xz" ] || die "no /usr/src/$pkg.tar.xz in $pkg"
	rm -rf "$out"
	mv "$tmp/root" "$out"
	touch "$out/.done"
fi
echo "$ver"
echo "$tarball"
