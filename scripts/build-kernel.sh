#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (or reuse) a zsm guest kernel from Debian's linux-source-6.12.
#
#   scripts/build-kernel.sh debug|kasan|kcsan|perf
#
# Flavours and the config fragments they merge, in order, onto tinyconfig:
#   debug  base debug        make check: lockdep, DEBUG_VM, kmemleak, faults
#   kasan  base debug kasan  make check-kasan, make soak: debug plus KASAN
#   kcsan  base debug kcsan  make check-kcsan: debug plus KCSAN (strict)
#   perf   base perf         make bench: no checkers
#
# The tree is cached outside the repository, under $ZSM_CACHE (default
# ~/.cache/zsm), keyed by the Debian source version, a hash of the options
# in the flavour's fragments (not their comments) and RECIPE below. A
# cached build is reused as it is; a changed option gives a new key and a
# new build. The last line printed on stdout is the build directory: it
# holds build/ (the O= tree, usable as KDIR for external modules) and
# mods/ (modules_install output).
set -euo pipefail

flavor=${1:-debug}
here=$(cd "$(dirname "$0")" && pwd)
cfgdir=$here/kconfig
case $flavor in
debug) frags="base debug" ;;
kasan) frags="base debug kasan" ;;
kcsan) frags="base debug kcsan" ;;
perf) frags="base perf" ;;
*) echo "usage: $0 debug|kasan|kcsan|perf" >&2; exit 2 ;;
esac
# Bump RECIPE when a change below changes what a build produces; other
# edits of this script keep every cached kernel valid.
RECIPE=2
fragfiles=()
for f in $frags; do
	fragfiles+=("$cfgdir/$f.config")
done

cache=${ZSM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zsm}
tarball=/usr/src/linux-source-6.12.tar.xz
if [ ! -r "$tarball" ]; then
	echo "build-kernel: $tarball missing: apt-get install linux-source-6.12" >&2
	exit 1
fi
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
[ -n "$srcver" ] || srcver=$(stat -c %s-%Y "$tarball")

# Only the fragments' options count: comments may change freely.
key=$(cat "${fragfiles[@]}" | grep -v -e '^#' -e '^[[:space:]]*$' |
      { cat; echo "recipe $RECIPE $srcver"; } | sha256sum | cut -c1-12)
out=$cache/kernel-6.12-$flavor-$key
srcroot=$cache/src/$srcver
src=$srcroot/linux-source-6.12
mkdir -p "$cache" "$srcroot"

reuse() {
	echo "build-kernel: reusing $out" >&2
	echo "$out"
	exit 0
}

# A finished build is never changed: reuse it without waiting for a
# build of another flavour that holds the lock.
[ ! -f "$out/.done" ] || reuse
# One builder at a time per cache (CI and a developer may share one).
exec 9>"$cache/.lock"
flock 9
[ ! -f "$out/.done" ] || reuse

if [ ! -f "$srcroot/.extracted" ]; then
	echo "build-kernel: extracting $tarball (Debian $srcver)" >&2
	rm -rf "$src"
	tar -C "$srcroot" -xf "$tarball"
	touch "$srcroot/.extracted"
fi

echo "build-kernel: building $flavor kernel into $out" >&2
rm -rf "$out"
mkdir -p "$out/build"
mk() { make -s -C "$src" O="$out/build" ARCH=x86_64 "$@"; }
mk tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$out/build" "$out/build/.config" \
	"${fragfiles[@]}" >/dev/null
mk olddefconfig >/dev/null

# Every option the fragments ask for must have survived olddefconfig;
# a silently dropped option (a missing dependency) would make tests lie.
bad=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=n) opt=${line%=n}
		if grep -q "^$opt=" "$out/build/.config"; then
			echo "build-kernel: $opt still set" >&2; bad=1
		fi ;;
	CONFIG_*=*)
		if ! grep -qx "$line" "$out/build/.config"; then
			echo "build-kernel: wanted $line, got: $(grep "^${line%%=*}=" "$out/build/.config" || echo unset)" >&2
			bad=1
		fi ;;
	esac
done < <(cat "${fragfiles[@]}")
# The perf fragment turns DEBUG_KERNEL off, which olddefconfig can undo for
# options that select it; the list above is authoritative either way.
[ $bad = 0 ] || { echo "build-kernel: config check failed" >&2; exit 1; }

jobs=$(nproc)
mk -j"$jobs" bzImage modules
mk INSTALL_MOD_PATH="$out/mods" INSTALL_MOD_STRIP=1 modules_install >/dev/null
cp "$out/build/arch/x86/boot/bzImage" "$out/bzImage"
touch "$out/.done"
echo "$out"
