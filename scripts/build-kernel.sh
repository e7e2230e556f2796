#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (or reuse) a zsm guest kernel from Debian's linux-source-6.12, or
# (flavours ending in 7) from Debian's linux-source-7.x.
#
#   scripts/build-kernel.sh debug|kasan|kcsan|perf|debug7|perf7|builtin7|builtin-perf7|zsmalloc-perf7|debug-arm64|debug-arm64-16k|kasan-arm64|perf-arm64-16k|perf7-arm64-16k
#
# Flavours and the config fragments they merge, in order, onto tinyconfig:
#   debug   base debug        make check: lockdep, DEBUG_VM, kmemleak, faults
#   kasan   base debug kasan  make check-kasan, make soak: debug plus KASAN
#   kcsan   base debug kcsan  make check-kcsan: debug plus KCSAN (strict)
#   perf    base perf         make bench: no checkers
#   debug7  base debug v7     debug on 7.x (make check's 7.x boots)
#   perf7   base perf v7 perf7  perf on 7.x (lazy preemption)
#   debug-arm64      base debug arm64            debug on arm64, 4 KiB pages
#   debug-arm64-16k  base debug arm64 arm64-16k  debug on arm64, 16 KiB pages
#   kasan-arm64      base debug arm64 kasan-tags debug on arm64 with KASAN's
#                                                software tags (tagged pointers)
#   perf-arm64-16k   base perf arm64 arm64-16k   make bench-arm64: perf on arm64,
#                                                16 KiB pages
#   perf7-arm64-16k  base perf v7 perf7 arm64 arm64-16k
#                             the same on 7.x: the object API benchmark on
#                             arm64 (Documentation/benchmarks.rst)
#
# The arm64 flavours are cross-built (ARCH=arm64, CROSS_COMPILE, default
# aarch64-linux-gnu-) and leave an uncompressed Image where the x86_64
# ones leave bzImage; scripts/zsm-run.py --arch arm64 boots them.
#   builtin7 base debug v7 builtin7
#                             debug7 with zsm built in where zsmalloc was
#                             (scripts/kernel-builtin.sh), zswap on it
#   builtin-perf7  base perf v7 perf7 builtin7
#                             perf7 with zsm built in, zswap on it
#   zsmalloc-perf7 base perf v7 perf7 builtin7
#                             perf7 with the kernel's own zsmalloc built
#                             in, zswap on it (make bench-builtin compares
#                             the two)
#
# A later fragment overrides an option an earlier one sets (v7.config
# drops what 7.x no longer has). The 7.x source is linux-source-$ZSM_LINUX7
# (default below), the newest version the private package lists carry
# (scripts/fetch-source.sh, scripts/apt-private.sh); 6.12's is the host's
# installed linux-source-6.12 package.
#
# The tree is cached outside the repository, under $ZSM_CACHE (default
# ~/.cache/zsm), keyed by the Debian source version, a hash of the options
# in the flavour's fragments (not their comments) and RECIPE below. A
# cached build is reused as it is; a changed option gives a new key and a
# new build. The last line printed on stdout is the build directory: it
# holds build/ (the O= tree, usable as KDIR for external modules) and
# mods/ (modules_install output).
#
# builtin7 and builtin-perf7 build from their own source tree, src/ in
# the build directory: a hard-linked copy of Debian's with zsm applied
# (kernel-builtin.sh apply), so the shared tree stays pristine. Their key
# adds the hash of the zsm sources they contain (kernel-builtin.sh hash).
# A flavour with seeds (builtin7: debug7; builtin-perf7: zsmalloc-perf7,
# then perf7; zsmalloc-perf7: builtin-perf7, then perf7) starts from a
# copy of the first seed whose build of the same source (and, for a seed
# with zsm, the same zsm sources) is cached (timestamps kept, source
# paths rewritten), so that only what the config change and mm/ touch is
# rebuilt: the two flavours of make bench-builtin have the same options,
# so the second builds little more than its allocator. The time taken is
# printed.
set -euo pipefail

flavor=${1:-debug}
here=$(cd "$(dirname "$0")" && pwd)
cfgdir=$here/kconfig
series=6.12
arch=x86_64
# frags_of <flavour>: its fragments, or nothing for an unknown one.
frags_of() {
	case $1 in
	debug) echo "base debug" ;;
	kasan) echo "base debug kasan" ;;
	kcsan) echo "base debug kcsan" ;;
	perf) echo "base perf" ;;
	debug7) echo "base debug v7" ;;
	perf7) echo "base perf v7 perf7" ;;
	builtin7) echo "base debug v7 builtin7" ;;
	builtin-perf7|zsmalloc-perf7) echo "base perf v7 perf7 builtin7" ;;
	debug-arm64) echo "base debug arm64" ;;
	debug-arm64-16k) echo "base debug arm64 arm64-16k" ;;
	kasan-arm64) echo "base debug arm64 kasan-tags" ;;
	perf-arm64-16k) echo "base perf arm64 arm64-16k" ;;
	perf7-arm64-16k) echo "base perf v7 perf7 arm64 arm64-16k" ;;
	esac
}
frags=$(frags_of "$flavor")
if [ -z "$frags" ]; then
	echo "usage: $0 debug|kasan|kcsan|perf|debug7|perf7|builtin7|builtin-perf7|zsmalloc-perf7|debug-arm64|debug-arm64-16k|kasan-arm64|perf-arm64-16k|perf7-arm64-16k" >&2
	exit 2
fi
# seeds: the cached builds this one may start from, the first found;
# withzsm: zsm is applied to the flavour's own copy of the source.
seeds=
withzsm=
case $flavor in
*7|*7-arm64*) series=${ZSM_LINUX7:-7.3} ;;
esac
case $flavor in
*-arm64*) arch=arm64 ;;
builtin7) seeds=debug7 withzsm=1 ;;
builtin-perf7) seeds="zsmalloc-perf7 perf7" withzsm=1 ;;
zsmalloc-perf7) seeds="builtin-perf7 perf7" ;;
esac
# Bump RECIPE when a change below changes what a build produces; other
# edits of this script keep every cached kernel valid.
RECIPE=2
fragfiles=()
for f in $frags; do
	fragfiles+=("$cfgdir/$f.config")
done

cache=${ZSM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zsm}
if [ "$series" = 6.12 ]; then
	tarball=/usr/src/linux-source-6.12.tar.xz
	if [ ! -r "$tarball" ]; then
		echo "build-kernel: $tarball missing: apt-get install linux-source-6.12" >&2
		exit 1
	fi
	srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
	[ -n "$srcver" ] || srcver=$(stat -c %s-%Y "$tarball")
else
	{ read -r srcver; read -r tarball; } < <("$here/fetch-source.sh" "$series")
	[ -r "$tarball" ] || { echo "build-kernel: no linux-source-$series" >&2; exit 1; }
fi

# kernel_key <extra> <fragment>...: only the fragments' options count,
# comments may change freely; <extra> (zsm's hash for builtin7) is added
# when not empty.
kernel_key() {
	local extra=$1
	shift
	cat "$@" | grep -v -e '^#' -e '^[[:space:]]*$' |
		{ cat; echo "recipe $RECIPE $srcver"; [ -z "$extra" ] || echo "$extra"; } |
		sha256sum | cut -c1-12
}
zsmhash="zsm $("$here/kernel-builtin.sh" hash)"
# build_dir <flavour>: where its build is cached.
build_dir() {
	local f extra='' files=()
	for f in $(frags_of "$1"); do
		files+=("$cfgdir/$f.config")
	done
	case $1 in
	builtin*) extra=$zsmhash ;;
	esac
	echo "$cache/kernel-$series-${1%7}-$(kernel_key "$extra" "${files[@]}")"
}
out=$(build_dir "$flavor")
srcroot=$cache/src/$srcver
src=$srcroot/linux-source-$series
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

# The seed, looked up under the lock: a build of another flavour that
# held it may be one.
seed=
for f in $seeds; do
	seed=$(build_dir "$f")
	[ ! -f "$seed/.done" ] || break
	seed=
done

if [ ! -f "$srcroot/.extracted" ]; then
	echo "build-kernel: extracting $tarball (Debian $srcver)" >&2
	rm -rf "$src"
	tar -C "$srcroot" -xf "$tarball"
	touch "$srcroot/.extracted"
fi

echo "build-kernel: building $flavor kernel into $out" >&2
t0=$(date +%s)
rm -rf "$out"
mkdir -p "$out/build"
newsrc=$src
if [ -n "$withzsm" ]; then
	newsrc=$out/src
	cp -al "$src" "$newsrc"
	"$here/kernel-builtin.sh" apply "$newsrc"
fi
if [ -n "$seed" ]; then
	echo "build-kernel: starting from a copy of $seed/build" >&2
	seedsrc=$(readlink -f "$seed/build/source")
	rmdir "$out/build"
	cp -a "$seed/build" "$out/build"
	# Absolute paths (Kbuild's saved commands and dependencies, the
	# O= Makefile) now name this build's tree and directory; the seed's
	# tree first, which may be inside its directory.
	re() { printf '%s' "$1" | sed 's/[].[\*^$|]/\\&/g'; }
	grep -rlIZF -e "$seedsrc" -e "$seed/" "$out/build" |
		xargs -0 -r sed -i -e "s|$(re "$seedsrc")|$newsrc|g" \
			-e "s|$(re "$seed")/|$out/|g"
	ln -sfn "$newsrc" "$out/build/source"
fi
src=$newsrc
if [ $arch = arm64 ]; then
	cross=${CROSS_COMPILE:-aarch64-linux-gnu-}
	command -v "${cross}gcc" >/dev/null ||
		{ echo "build-kernel: no ${cross}gcc (scripts/deps.sh)" >&2; exit 1; }
	mkargs=(ARCH=arm64 "CROSS_COMPILE=$cross")
	image=Image
else
	mkargs=(ARCH=x86_64)
	image=bzImage
fi
mk() { make -s -C "$src" O="$out/build" "${mkargs[@]}" "$@"; }
mk tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$out/build" "$out/build/.config" \
	"${fragfiles[@]}" >/dev/null
mk olddefconfig >/dev/null

# Every option the fragments ask for (the last fragment's word on it) must
# have survived olddefconfig; a silently dropped option (a missing
# dependency, a renamed symbol) would make tests lie.
declare -A want=()
while IFS= read -r line; do
	case $line in
	CONFIG_*=*) want[${line%%=*}]=$line ;;
	esac
done < <(cat "${fragfiles[@]}")
bad=0
for opt in "${!want[@]}"; do
	line=${want[$opt]}
	case $line in
	CONFIG_*=n)
		if grep -q "^$opt=" "$out/build/.config"; then
			echo "build-kernel: $opt still set" >&2; bad=1
		fi ;;
	*)
		if ! grep -qx "$line" "$out/build/.config"; then
			echo "build-kernel: wanted $line, got: $(grep "^$opt=" "$out/build/.config" || echo unset)" >&2
			bad=1
		fi ;;
	esac
done
# The perf fragment turns DEBUG_KERNEL off, which olddefconfig can undo for
# options that select it; the list above is authoritative either way.
[ $bad = 0 ] || { echo "build-kernel: config check failed" >&2; exit 1; }

jobs=$(nproc)
mk -j"$jobs" $image modules
mk INSTALL_MOD_PATH="$out/mods" INSTALL_MOD_STRIP=1 modules_install >/dev/null
cp "$out/build/arch/${arch%_64}/boot/$image" "$out/$image"
touch "$out/.done"
echo "build-kernel: $flavor built in $(($(date +%s) - t0)) s" >&2
echo "$out"
