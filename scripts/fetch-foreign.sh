#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A Debian package of another architecture, unpacked into the cache, for
# the guests of that architecture (busybox-static for the arm64 guests).
#
#   scripts/fetch-foreign.sh ARCH PACKAGE      e.g. arm64 busybox-static
#
# Prints (last line of stdout) the directory the package was unpacked into:
# $ZSM_CACHE/foreign/<ARCH>/<PACKAGE>-<version>. The package comes from the
# host's Debian release (ZSM_FOREIGN_SUITES, default: its codename and
# -updates) through scripts/apt-private.sh with ZSM_APT_ARCH=ARCH, is
# fetched with `apt-get download` and unpacked with `dpkg-deb -x`; the
# host's dpkg architectures and apt configuration are never changed. Done
# once per package version; with no network, the newest cached copy is
# used.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${ZSM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zsm}

die() {
	echo "fetch-foreign: $*" >&2
	exit 1
}

[ $# = 2 ] || die "usage: $0 ARCH PACKAGE"
arch=$1
pkg=$2
export ZSM_APT_ARCH=$arch
[ -z "${ZSM_FOREIGN_SUITES:-}" ] || export ZSM_APT_SUITES=$ZSM_FOREIGN_SUITES
base=$cache/foreign/$arch
mkdir -p "$base"

ver=$("$here/apt-private.sh" apt-cache show --no-all-versions "$pkg" 2>/dev/null |
      sed -n 's/^Version: //p' | head -n 1 || true)
if [ -z "$ver" ]; then
	out=$(find "$base" -maxdepth 1 -name "$pkg-*" -type d 2>/dev/null |
	      sort | tail -n 1)
	[ -n "$out" ] && [ -f "$out/.done" ] ||
		die "apt knows no $pkg for $arch and nothing is cached"
	echo "$out"
	exit 0
fi

out=$base/$pkg-$ver
exec 9>"$base/.lock"
flock 9
if [ ! -f "$out/.done" ]; then
	tmp=$(mktemp -d "$base/tmp.XXXXXX")
	# shellcheck disable=SC2064 # expand now
	trap "rm -rf '$tmp'" EXIT
	echo "fetch-foreign: downloading $pkg=$ver ($arch)" >&2
	(cd "$tmp" && "$here/apt-private.sh" apt-get download -q "$pkg=$ver" >&2)
	mkdir "$tmp/root"
	dpkg-deb -x "$tmp"/*.deb "$tmp/root"
	rm -rf "$out"
	mv "$tmp/root" "$out"
	touch "$out/.done"
fi
echo "$out"
