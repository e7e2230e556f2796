#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the zsm guest initramfs (gzip'd newc cpio).
#
#   scripts/mkinitramfs.sh --kernel-dir DIR --out FILE [--data]
#
# DIR is a guest kernel directory from scripts/build-kernel.sh (bzImage
# or, arm64, Image; build/, mods/). The archive holds:
#
#   /bin/busybox          busybox-static; /init runs `busybox --install -s`
#                         (arm64: Debian's arm64 package, scripts/fetch-foreign.sh)
#   /init                 guest/init (the test protocol)
#   /zsm/lib.sh           guest/lib.sh, helpers for test scripts
#   /zsm/consumer-lib.sh  guest/consumer-lib.sh, for the zram/zswap tests
#   /zsm/bench-lib.sh     guest/bench-lib.sh, for the benchmarks
#   /zsm/tests/*.sh       guest/tests/    (zsm.mode=check)
#   /zsm/selftest/*.sh    guest/selftest/ (zsm.mode=selftest)
#   /zsm/demo/*.sh        guest/demo/     (zsm.mode=demo)
#   /zsm/modules/...      every *.ko of the repository, same relative paths
#   /zsm/bin/*            guest/progs/*.c and tools/*.c (zsmstat), built
#                         with gcc -static -O2 (arm64: aarch64-linux-gnu-gcc)
#   /lib/modules/<ver>/   the guest kernel's modules (zram.ko, zsmalloc.ko)
#
# With --data (the runner passes it for --mode demo and for tests whose
# `# zsm-run:` line asks for it, e.g. zram_ext4), also mke2fs with its
# shared libraries, the kernel's mm/ and include/linux/*.h (about 20 MB)
# under /zsm/data, and /zsm/data.sha256: host-computed checksums of
# /zsm/data and /lib/modules, paths relative to /. --demo is the old name.
# mke2fs is the host's; for arm64 guests Debian's arm64 e2fsprogs
# (scripts/fetch-foreign.sh) with the libraries it needs, those of
# FOREIGN_LIBS and the cross toolchain's C library (libc6-dev-arm64-cross),
# in /lib of the guest.
#
# Nothing is written in the repository; staging happens in a temporary
# directory next to FILE.
set -euo pipefail

# arm64 packages whose libraries an arm64 mke2fs needs (--data).
FOREIGN_LIBS="libext2fs2 libcom-err2 libblkid1 libuuid1"

repo=$(cd "$(dirname "$0")/.." && pwd)
here=$repo/guest
kdir=
out=
data=0

usage() {
	echo "usage: $0 --kernel-dir DIR --out FILE [--data]" >&2
	exit 2
}

die() {
	echo "mkinitramfs: $*" >&2
	exit 1
}

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		--kernel-dir) kdir=$2; shift 2 ;;
		--out) out=$2; shift 2 ;;
		--data|--demo) data=1; shift ;;
		*) usage ;;
		esac
	done
	if [ -z "$kdir" ] || [ -z "$out" ]; then usage; fi
	if grep -qx 'CONFIG_ARM64=y' "$kdir/build/.config" 2>/dev/null; then
		[ -f "$kdir/Image" ] || die "$kdir/Image missing (scripts/build-kernel.sh)"
		cross=${CROSS_COMPILE:-aarch64-linux-gnu-}
		cc=${cross}gcc
		command -v "$cc" >/dev/null ||
			die "$cc missing: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
		busybox=$("$repo/scripts/fetch-foreign.sh" arm64 busybox-static |
			  tail -n 1)/bin/busybox
	else
		[ -f "$kdir/bzImage" ] || die "$kdir/bzImage missing (scripts/build-kernel.sh)"
		cross=
		cc=gcc
		busybox=/bin/busybox
	fi
	[ -x "$busybox" ] || die "$busybox missing: apt-get install busybox-static"
}

kernel_release() {
	cat "$kdir/build/include/config/kernel.release"
}

add_base() {
	mkdir -p "$st"/{bin,sbin,usr/bin,usr/sbin,lib,etc,proc,sys,dev,tmp,mnt,root}
	mkdir -p "$st"/zsm/{tests,selftest,demo,modules,bin}
	cp "$busybox" "$st/bin/busybox"
	install -m 0755 "$here/init" "$st/init"
	cp "$here/lib.sh" "$st/zsm/lib.sh"
	cp "$here/consumer-lib.sh" "$st/zsm/consumer-lib.sh"
	cp "$here/bench-lib.sh" "$st/zsm/bench-lib.sh"
	local d
	for d in tests selftest demo; do
		if compgen -G "$here/$d/*.sh" >/dev/null; then
			cp "$here/$d"/*.sh "$st/zsm/$d/"
		fi
	done
}

# Every module built in the repository for the guest kernel; one built for
# another kernel (make KDIR=...) is left out with a warning.
add_our_modules() {
	local rel ver vm n=0
	ver=$(kernel_release)
	while IFS= read -r -d '' rel; do
		rel=${rel#./}
		vm=$(modinfo -F vermagic "$repo/$rel" | cut -d' ' -f1)
		if [ "$vm" != "$ver" ]; then
			echo "mkinitramfs: skipping $rel: built for $vm," \
			     "the guest runs $ver (rebuild with make)" >&2
			continue
		fi
		mkdir -p "$st/zsm/modules/$(dirname "$rel")"
		cp "$repo/$rel" "$st/zsm/modules/$rel"
		n=$((n + 1))
	done < <(cd "$repo" && find . -path ./.git -prune -o -name '*.ko' -print0)
	echo "mkinitramfs: $n module(s) of ours" >&2
}

add_kernel_modules() {
	[ -d "$kdir/mods/lib/modules" ] || die "$kdir/mods missing"
	cp -a "$kdir/mods/lib/modules" "$st/lib/"
	# build/ and source/ point back into the host's build tree.
	rm -f "$st"/lib/modules/*/build "$st"/lib/modules/*/source
}

add_progs() {
	local c
	for c in "$here"/progs/*.c "$repo"/tools/*.c; do
		[ -e "$c" ] || continue
		"$cc" -static -O2 -Wall -o "$st/zsm/bin/$(basename "$c" .c)" "$c"
	done
}

# A dynamically linked host binary with its libraries and loader.
add_dynamic() {
	local bin=$1 dest=$2 lib
	cp "$bin" "$st/$dest"
	for lib in $(ldd "$bin" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'); do
		mkdir -p "$st/$(dirname "$lib")"
		cp -L "$lib" "$st/$lib"
	done
}

# needed <elf>: the libraries an ELF file names (DT_NEEDED).
needed() {
	"${cross}readelf" -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'
}

# A dynamically linked arm64 binary with the libraries it needs, looked up
# (with theirs, recursively) in the directories of $libpath, into /lib
# (the loader's default path).
add_foreign_dynamic() {
	local bin=$1 dest=$2 lib f d i=0
	local -a todo
	local -A seen=()
	cp "$bin" "$st/$dest"
	mapfile -t todo < <(needed "$bin")
	while [ $i -lt ${#todo[@]} ]; do
		lib=${todo[i]}
		i=$((i + 1))
		[ -z "${seen[$lib]:-}" ] || continue
		seen[$lib]=1
		f=
		for d in $libpath; do
			[ ! -e "$d/$lib" ] || { f=$d/$lib; break; }
		done
		[ -n "$f" ] || die "$lib (for $bin) not found in: $libpath"
		cp -L "$f" "$st/lib/$lib"
		mapfile -t -O ${#todo[@]} todo < <(needed "$f")
	done
}

# mke2fs for the guest: the host's, or Debian's arm64 one.
add_mke2fs() {
	local p r
	if [ -z "$cross" ]; then
		command -v mke2fs >/dev/null ||
			die "mke2fs missing: apt-get install e2fsprogs"
		add_dynamic "$(command -v mke2fs)" zsm/bin/mke2fs
		return
	fi
	libpath=/usr/${cross%-}/lib
	for p in $FOREIGN_LIBS; do
		r=$("$repo/scripts/fetch-foreign.sh" arm64 "$p" | tail -n 1)
		libpath="$libpath $r/lib/aarch64-linux-gnu $r/usr/lib/aarch64-linux-gnu"
	done
	r=$("$repo/scripts/fetch-foreign.sh" arm64 e2fsprogs | tail -n 1)
	add_foreign_dynamic "$r/sbin/mke2fs" zsm/bin/mke2fs
}

add_data() {
	local src
	add_mke2fs
	if [ -f /etc/mke2fs.conf ]; then cp /etc/mke2fs.conf "$st/etc/"; fi
	src=$(readlink -f "$kdir/build/source")
	[ -d "$src/mm" ] || die "kernel source tree not found at $src"
	mkdir -p "$st/zsm/data"
	cp -a "$src/mm" "$st/zsm/data/mm"
	mkdir -p "$st/zsm/data/include/linux"
	find "$src/include/linux" -maxdepth 1 -name '*.h' \
		-exec cp -t "$st/zsm/data/include/linux" {} +
	(cd "$st" && find zsm/data lib/modules -type f -print0 | LC_ALL=C sort -z |
		xargs -0 sha256sum) >"$st/zsm/data.sha256"
	echo "mkinitramfs: demo data $(du -sh "$st/zsm/data" | cut -f1)," \
	     "$(wc -l <"$st/zsm/data.sha256") files checksummed" >&2
}

pack() {
	local tmp=$out.tmp.$$
	(cd "$st" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 >"$tmp"
	mv "$tmp" "$out"
	echo "mkinitramfs: $out ($(du -h "$out" | cut -f1))" >&2
}

main() {
	parse_args "$@"
	mkdir -p "$(dirname "$out")"
	st=$(mktemp -d "$(dirname "$out")/initramfs.XXXXXX")
	trap 'rm -rf "$st"' EXIT
	add_base
	add_our_modules
	add_kernel_modules
	add_progs
	[ $data = 0 ] || add_data
	pack
}

main "$@"
