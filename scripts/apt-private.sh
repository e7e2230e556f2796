#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# apt-get / apt-cache over Debian suites the host is not configured for
# (sid, trixie-backports), without touching the host's apt configuration.
#
#   scripts/apt-private.sh apt-get download linux-source-7.3
#   scripts/apt-private.sh apt-cache policy linux-source-7.3
#
# Its own sources.list, package lists and package cache live under
# $ZSM_CACHE/apt (default ~/.cache/zsm/apt); /etc/apt and the host's
# lists are never read for sources or written. The sources use the mirror
# host of the host's own Debian entry (deb.debian.org when none is found).
# The lists are refreshed when older than a day (ZSM_APT_UPDATE=1: always,
# =0: never, for offline runs on a filled cache).
#
# ZSM_APT_ARCH=arm64: the lists and downloads are of that architecture
# only (APT::Architectures), kept under $ZSM_CACHE/apt-arm64, so `apt-get
# download busybox-static` fetches the arm64 package; the suites are then
# by default the host's Debian release and its -updates. The host's dpkg
# architectures are never changed.
set -euo pipefail

cache=${ZSM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zsm}
arch=${ZSM_APT_ARCH:-}
dir=$cache/apt${arch:+-$arch}
if [ -n "$arch" ]; then
	codename=$(sed -n "s/^VERSION_CODENAME=//p" /etc/os-release 2>/dev/null)
	codename=${codename:-bookworm}
	suites=${ZSM_APT_SUITES:-$codename $codename-updates}
else
	suites=${ZSM_APT_SUITES:-sid trixie-backports}
fi

[ $# -ge 1 ] || { echo "usage: $0 apt-get|apt-cache ARGS..." >&2; exit 2; }

mirror=$(grep -h -s -o -E 'https?://[^ ]+/debian/?( |$)' \
	/etc/apt/sources.list /etc/apt/sources.list.d/*.list \
	/etc/apt/sources.list.d/*.sources | head -n 1 | tr -d ' ' || true)
mirror=${mirror%/}
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian

mkdir -p "$dir/etc/preferences.d" "$dir/lists/partial" \
	"$dir/cache/archives/partial"
list=$dir/etc/sources.list
want=$(for s in $suites; do
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $s main"
done)
[ "$(cat "$list" 2>/dev/null)" = "$want" ] || echo "$want" >"$list"

opts=(-o "Dir::Etc::sourcelist=$list" -o Dir::Etc::sourceparts=-
      -o "Dir::Etc::preferencesparts=$dir/etc/preferences.d"
      -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
      -o APT::Sandbox::User=root)
if [ -n "$arch" ]; then
	opts+=(-o "APT::Architecture=$arch" -o "APT::Architectures=$arch")
fi

exec 8>"$dir/.lock"
flock 8
stamp=$dir/lists/.updated
case ${ZSM_APT_UPDATE:-auto} in
1) update=1 ;;
0) update=0 ;;
*) update=0
   [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] &&
	[ -n "$(find "$stamp" -mmin -1440)" ] || update=1 ;;
esac
if [ $update = 1 ]; then
	echo "apt-private: updating lists ($suites) from $mirror" >&2
	apt-get -q "${opts[@]}" update >&2
	echo "$want" >"$stamp"
fi
flock -u 8

cmd=$1
shift
case $cmd in
apt-get | apt-cache) exec "$cmd" "${opts[@]}" "$@" ;;
*) echo "apt-private: $cmd: only apt-get and apt-cache" >&2; exit 2 ;;
esac
